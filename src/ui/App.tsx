import {useEffect, useRef, useState} from 'react';
import {Box, Text, useApp} from 'ink';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import type {AppSession} from '../core/app-session.js';
import {Dashboard} from './components/Dashboard.js';
import {useKeys} from './hooks/use-keys.js';
import {ErrorNotice} from './components/ErrorNotice.js';
import {KeyRouter} from './components/KeyRouter.js';
import {Picker} from './components/Picker.js';
import {Spinner} from './components/Spinner.js';
import type {InteractiveOutcome, InteractiveUpOptions} from './interactive-options.js';

/**
 * The interactive `up` as a small state machine:
 *
 *   picking ──enter──> starting ──ok──> running ──p──> repicking ──enter/esc──> running
 *      │ esc/q            │ rejects        │ q, ctrl-c, signal
 *      v                  v                v
 *    exit 0          failed (exit 1)    stopping ──session.stop()──> exit 0
 *                                          q, ctrl-c again: session.stopNow() (stop() no longer waits)
 *
 * `skipPicker` begins at `starting`. Every path to the exit goes through `finish`, and a running
 * session is always stopped first.
 */
type Phase =
  | {readonly name: 'picking'}
  | {readonly name: 'starting'; readonly applications: readonly string[]}
  | {readonly name: 'running'}
  | {readonly name: 'repicking'}
  | {readonly name: 'stopping'}
  | {readonly name: 'failed'; readonly error: unknown; readonly during: 'start' | 'stop'};

/** Lets the owner (runInteractiveUp's signal handlers) ask for the same graceful quit as `q`. */
export interface AppController {
  quit?: () => void;
}

export interface AppProps {
  options: InteractiveUpOptions;
  /** Called once with how it ended, right before the ink app exits (the CLI decides the exit status). */
  onExit: (outcome: InteractiveOutcome) => void;
  controller?: AppController;
}

function describe(error: unknown): string {
  const hint = error instanceof DubboTunnelError && error.hint !== undefined ? ` (fix: ${error.hint})` : '';
  return `${errorMessage(error)}${hint}`;
}

const QUIT: InteractiveOutcome = {kind: 'quit'};

/** The interactive `up`; one KeyRouter makes sure each key reaches the screen that is showing. */
export function App(props: AppProps) {
  return (
    <KeyRouter>
      <UpFlow {...props} />
    </KeyRouter>
  );
}

function UpFlow({options, onExit, controller}: AppProps) {
  const {exit} = useApp();
  const [phase, setPhase] = useState<Phase>(() =>
    options.skipPicker ? {name: 'starting', applications: options.preselected} : {name: 'picking'});
  const [status, setStatus] = useState<{text: string; tone: 'info' | 'error'} | undefined>();
  const store = options.stats;
  const session = useRef<AppSession | undefined>(undefined);
  const quitting = useRef(false);
  /** A second q or Ctrl-C made the stop stop waiting. */
  const [atOnce, setAtOnce] = useState(false);
  const finished = useRef(false);

  const finish = (outcome: InteractiveOutcome): void => {
    if (finished.current) return;
    finished.current = true;
    onExit(outcome);
    exit();
  };

  const quit = (): void => {
    if (quitting.current) {
      // A second q or Ctrl-C while the stop waits for answers: it waits no longer (the calls
      // still in flight are answered with an error, and the dashboard says so).
      if (phase.name === 'stopping' && session.current !== undefined && !atOnce) {
        session.current.stopNow();
        setAtOnce(true);
      }
      return;
    }
    quitting.current = true;
    const running = session.current;
    // Still starting: begin() sees `quitting` and stops the session as soon as it exists.
    if (running === undefined) {
      if (phase.name !== 'starting') finish(QUIT);
      else setPhase({name: 'stopping'});
      return;
    }
    setPhase({name: 'stopping'});
    running.stop().then(
      () => finish(QUIT),
      (error: unknown) => setPhase({name: 'failed', error, during: 'stop'}),
    );
  };
  if (controller !== undefined) controller.quit = quit;

  const remember = (applications: readonly string[]): void => {
    try {
      options.remember(applications);
    } catch (error) {
      setStatus({text: `could not remember the selection: ${describe(error)}`, tone: 'error'});
    }
  };

  const begin = async (applications: readonly string[]): Promise<void> => {
    setPhase({name: 'starting', applications});
    let started: AppSession;
    try {
      started = await options.start(applications);
    } catch (error) {
      setPhase({name: 'failed', error, during: 'start'});
      return;
    }
    session.current = started;
    if (quitting.current) {
      // q or a signal arrived while starting: stop right away.
      quitting.current = false;
      quit();
      return;
    }
    remember(applications);
    setPhase({name: 'running'});
  };

  const change = (applications: readonly string[]): void => {
    const running = session.current;
    if (running === undefined) return;
    setPhase({name: 'running'});
    setStatus({text: `applying: ${applications.join(', ')}…`, tone: 'info'});
    running.setSelection(applications).then(
      () => {
        setStatus(undefined);
        remember(applications);
      },
      (error: unknown) => setStatus({text: `could not change the applications: ${describe(error)}`, tone: 'error'}),
    );
  };

  useEffect(() => {
    if (options.skipPicker) void begin(options.preselected);
    // Mount only: skipPicker starts once.
  }, []);

  useEffect(() => {
    if (phase.name === 'failed') finish({kind: 'failed', error: phase.error, during: phase.during});
  }, [phase]);

  // Keys for the phases that have no component of their own handling them (the dashboard takes no
  // keys while stopping: a second q or Ctrl-C is the stop-at-once, handled here).
  useKeys((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) quit();
  }, phase.name === 'starting' || phase.name === 'stopping');

  switch (phase.name) {
    case 'picking':
      return (
        <Picker title={options.title} discover={options.discover} preselected={options.preselected} mode="start"
          onSubmit={(applications) => void begin(applications)} onCancel={() => finish(QUIT)} />
      );
    case 'repicking':
      return (
        <Picker title={options.title} discover={options.discover} preselected={session.current?.selection() ?? []} mode="change"
          onSubmit={change} onCancel={() => setPhase({name: 'running'})} onInterrupt={quit} />
      );
    case 'starting':
      return (
        <Box flexDirection="column">
          <Text bold wrap="truncate-end">dubbo-tunnel <Text dimColor>· {options.title}</Text></Text>
          <Spinner label={`starting: ${phase.applications.join(', ')}`} />
        </Box>
      );
    case 'failed':
      return (
        <ErrorNotice error={phase.error} title={phase.during === 'start' ? 'dubbo-tunnel could not start' : 'dubbo-tunnel could not stop cleanly'} />
      );
    case 'running':
    case 'stopping':
      return (
        <Dashboard title={options.title} store={store} attachmentKey={options.attachmentKey ?? 'target-application'}
          status={phase.name !== 'stopping' ? status : atOnce
            ? {text: 'stopping… at once: calls in flight get DT_ERR_STOPPED_BEFORE_ANSWER', tone: 'info'}
            : {text: 'stopping… answering requests in flight, closing tunnels and the port', tone: 'info'}}
          stopping={phase.name !== 'stopping' ? false : atOnce ? 'at-once' : true} onQuit={quit} onPick={() => setPhase({name: 'repicking'})}
          calls={options.calls} />
      );
  }
}
