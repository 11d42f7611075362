import type {BackendSource} from '../core/backend-source.js';
import {parseChoice} from '../core/applications.js';
import {CallCapture} from '../core/calls.js';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import {TunnelEventBus} from '../core/events.js';
import {showingSelection} from '../stats/showing-selection.js';
import {StatsStore} from '../stats/stats.js';
import type {LogLevel} from '../core/events.js';
import type {AppController} from '../ui/run-interactive.js';
import type {SettingsStore} from '../config/settings.js';
import {attachLineReporter} from '../reporters/line-reporter.js';
import {TunnelSession, discoverAll} from '../session/session.js';
import type {Choice} from '../session/session.js';
import {memoryKey, openSources, sessionTitle} from '../session/sources.js';
import type {SourcePlan} from '../session/sources.js';
import type {TunnelServerOptions} from '../proxy/tunnel-server.js';
import type {CliContext} from './command.js';
import {exitCodeFor} from './report-error.js';
import {handleStopSignals} from './stop-signals.js';
import type {StopSignals} from './stop-signals.js';
import {releaseMemoryWhenIdle} from './idle-memory.js';
import {letGoOfLostTerminal, surviveLostTerminal} from './lost-terminal.js';
import {openViaSource} from './via-source.js';
import type {ViaPlan} from './via-source.js';
import type {CallOutputOptions} from './record-options.js';
import {startCallOutputs} from './call-outputs.js';
import type {CallOutputs} from './call-outputs.js';
import type {CallLogView} from '../inspect/call-record.js';

/** Everything a session run needs, already parsed: `up` builds it from flags, the demo from its own cluster. */
export interface SessionRunOptions {
  plan: SourcePlan;
  /** --all, --select a,b@where, --last; undefined = ask (picker) or fail in plain mode. */
  choice: {kind: 'all'} | {kind: 'select'; applications: string[]} | {kind: 'last'} | undefined;
  listen: Omit<TunnelServerOptions, 'routes' | 'events'>;
  interfaces: readonly [string, string][];
  attachmentKey: string;
  logLevel: LogLevel;
  /** `terminal`: picker and dashboard (ink); `lines` or `json`: plain output for scripts and CI. */
  renderer: 'terminal' | 'lines' | 'json';
  store: SettingsStore;
  /** Lets a caller (the demo) add its own lines to the log and dashboard. */
  events?: TunnelEventBus;
  /** Learning what applications export (--no-learn) and the resolve file (--resolve-file). */
  learning?: {noLearn: boolean; resolveFile: string | undefined};
  /** `up --via`: a team gateway, after the plan's sources in precedence (so --backend overrides it). */
  via?: ViaPlan;
  /** `--record`, `--json --payloads`, `--redact`: where decoded calls are written (none when absent). */
  calls?: CallOutputOptions;
}

/**
 * Runs one session until it is stopped and returns the exit code: opens the sources, settles the
 * choice (picker, --select, --all, --last), starts the session, renders it, and stops it on `q`,
 * SIGINT, SIGTERM or SIGHUP alike (tell the consumers, answer what is in flight within
 * --drain-timeout, then exit 0; a second signal stops at once).
 */
export async function runSession(options: SessionRunOptions, context: CliContext): Promise<number> {
  const events = options.events ?? new TunnelEventBus();
  // One per session: the listener copies calls only while something inspecting them holds it on.
  const capture = new CallCapture();
  const interactive = options.renderer === 'terminal';
  let stopRequested: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  const controller: AppController = {};
  // A terminal closed under the session must not crash it before it has stopped (lost-terminal.ts).
  surviveLostTerminal();
  let session: TunnelSession | undefined;
  const signals = handleStopSignals(() => {
    if (controller.quit !== undefined) controller.quit();
    stopRequested?.();
  }, undefined, async () => {
    // A second signal: the stop waits no longer; the exit follows once its error answers are out.
    session?.stopNow();
    await session?.stop();
  });
  // Memory a burst of traffic made V8 take is given back once the traffic stops (idle-memory.ts).
  const stopReleasingMemory = releaseMemoryWhenIdle(events);
  // In plain mode the reporter is attached before anything starts, so discovery warnings show.
  const detach = interactive ? () => undefined : attachLineReporter(events, {out: context.stdout, level: options.logLevel, json: options.renderer === 'json'});
  let sources: BackendSource[] = [];
  let calls: CallOutputs | undefined;
  try {
    // Before any source or listener: a recording that cannot be written stops `up` here.
    calls = await startCallOutputs(options.calls, {events, capture, stdout: context.stdout});
    sources = await openSources(options.via === undefined ? options.plan : {...options.plan, otherPlaces: 1}, {events, env: context.env, execStderr: context.stderr, interactive});
    if (options.via !== undefined) sources.push(await openViaSource(options.via, {events, env: context.env, execStderr: context.stderr, interactive}));
    const key = memoryKey(sources);
    const remembered = options.store.recalledSelection(key.context, key.namespace);
    const onlyStatic = sources.every((source) => source.kind === 'local');
    const run: Run = {
      options, events, sources, remembered, onlyStatic, capture, calls: calls.log,
      chosen: settleChoice(options.choice, remembered, key, onlyStatic, sources),
      start: async (choice) => {
        session = await TunnelSession.start({
          sources, events, interfaces: options.interfaces, listen: {...options.listen, capture},
          learning: {noLearn: options.learning?.noLearn ?? false, resolveFile: options.learning?.resolveFile},
        }, choice);
        return session;
      },
      remember: rememberer(options.store, key, events, () => session?.routes.current.backends.keys() ?? []),
    };
    return interactive ? await runInteractive(run, signals, controller) : await runPlain(run, signals, stopped);
  } finally {
    // A session the UI started and already stopped is stopped again at no cost (stop() is idempotent);
    // stopping it also puts the resolve file back, on every way out: q, SIGINT, SIGTERM, a failure.
    await session?.stop();
    await Promise.all(sources.map((source) => source.close()));
    // The last answers were captured as the session stopped: decoded and written before the reporter goes.
    await calls?.stop();
    // Lines still being counted ("… ×N in the last 5 s") are said before the reporter goes.
    events.flushFolded();
    stopReleasingMemory();
    detach();
    signals.dispose();
    // Stopped because the terminal closed: the process must not abort on it as it exits.
    if (signals.received === 'SIGHUP') letGoOfLostTerminal();
  }
}

/** What both renderers work with once the sources are open. */
interface Run {
  options: SessionRunOptions;
  events: TunnelEventBus;
  sources: readonly BackendSource[];
  /** Whether the session's listener copies calls: what inspects calls (the calls view, a recording) holds it on. */
  capture: CallCapture;
  /** The session's recent calls, decoded (the calls view; the recording and --payloads lines are fed from it). */
  calls: CallLogView;
  /** The choice the command line made; undefined = ask (picker). */
  chosen: Choice | undefined;
  /** The remembered choice for these sources (--last, and what the picker ticks). */
  remembered: readonly string[] | undefined;
  /** --backend alone: everything given is routed, and there is no choice to remember. */
  onlyStatic: boolean;
  start: (choice: Choice) => Promise<TunnelSession>;
  remember: (applications: readonly string[]) => void;
}

/** --all, --select or --last as a choice; undefined when nothing was said and someone must pick. */
function settleChoice(given: SessionRunOptions['choice'], remembered: readonly string[] | undefined, key: {context: string; namespace: string}, onlyStatic: boolean, sources: readonly BackendSource[]): Choice | undefined {
  switch (given?.kind) {
    case 'all':
      return 'all';
    case 'select':
      for (const entry of given.applications) checkPlace(entry, sources);
      return given.applications;
    case 'last':
      if (!remembered || remembered.length === 0) {
        throw new DubboTunnelError('DT_ERR_NEEDS_CHOICE', `no remembered selection for ${key.context}/${key.namespace}`, {
          hint: 'pick applications once with --select <a,b> or --all (or in the picker); --last reuses that choice',
        });
      }
      return remembered;
    case undefined:
      // Static backends alone need no choice: everything given on the command line is routed.
      return onlyStatic ? 'all' : undefined;
  }
}

/**
 * `--select user-rpc@nowhere` where no source owns `nowhere` could never route anything: a usage
 * error naming the places this session has, before anything listens.
 */
function checkPlace(entry: string, sources: readonly BackendSource[]): void {
  const {application, where} = parseChoice(entry);
  if (where === undefined || sources.some((source) => source.owns(where))) return;
  const places = sources.flatMap((source) => source.place ?? []);
  const only = sources.length === 1 ? sources[0] : undefined;
  const known = only !== undefined ? `it has only ${only.title}; select ${application}` : `places: ${places.join(', ')}`;
  throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--select ${entry}: no place '${where}' in this session (${known})`, {
    hint: only !== undefined ? `drop @${where}, or add the place with -n/--context` : `use one of ${places.map((place) => `${application}@${place}`).join(', ')}, or add the place with -n/--context`,
  });
}

/**
 * Only a choice of applications that were found is remembered: `--select typo` must not replace
 * a good remembered choice with one that routes nothing. A choice that cannot be saved (a broken
 * config file) is a warning, never a reason to stop.
 */
function rememberer(store: SettingsStore, key: {context: string; namespace: string}, events: TunnelEventBus, routedNow: () => Iterable<string>): (applications: readonly string[]) => void {
  return (applications) => {
    const routed = new Set(routedNow());
    const unknown = applications.filter((entry) => !routed.has(parseChoice(entry).application));
    if (unknown.length > 0) {
      events.log('warn', `not remembering this choice for --last: ${unknown.join(', ')} ${unknown.length === 1 ? 'was' : 'were'} not found (dubbo-tunnel ls lists the names); the remembered choice stays as it was`);
      return;
    }
    try {
      store.rememberSelection(key.context, key.namespace, applications);
    } catch (error) {
      events.log('warn', `${errorMessage(error)}${error instanceof DubboTunnelError && error.hint !== undefined ? ` (fix: ${error.hint})` : ''}`);
    }
  };
}

/** The picker (unless the command line chose) and the dashboard, until `q` or a signal. */
async function runInteractive(run: Run, signals: StopSignals, controller: AppController): Promise<number> {
  const {runInteractiveUp} = await import('../ui/run-interactive.js');
  if (signals.received !== undefined) return 0;
  const {chosen, events, sources} = run;
  const discover = () => discoverAll(sources, events);
  // The dashboard's store subscribes before start() so the first backend states are not missed.
  const stats = new StatsStore(events, {logLevel: run.options.logLevel});
  const outcome = await runInteractiveUp({
    title: sessionTitle(sources),
    discover,
    preselected: chosen === undefined ? (run.remembered ?? []) : chosen === 'all' ? (await discover()).map((app) => app.application) : chosen,
    skipPicker: chosen !== undefined,
    // --all stays 'all' (applications discovered later are routed too); a picked list is a list.
    start: async (applications) => showingSelection(await run.start(chosen === 'all' ? 'all' : applications), stats),
    remember: run.remember,
    stats,
    attachmentKey: run.options.attachmentKey,
    // The calls view (c): the session's one call log, which --record and --payloads also read.
    calls: run.calls,
  }, controller).finally(() => stats.dispose());
  if (outcome.kind === 'quit') return 0;
  return outcome.during === 'start' ? exitCodeFor(outcome.error) : 1;
}

/** Plain output: routes the command line's choice until a signal, then stops gracefully. */
async function runPlain(run: Run, signals: StopSignals, stopped: Promise<void>): Promise<number> {
  const {chosen} = run;
  if (chosen === undefined) {
    throw new DubboTunnelError('DT_ERR_NEEDS_CHOICE', 'no applications chosen, and there is no terminal to show the picker in', {
      hint: 'pass --all, --select <app1,app2> or --last (see dubbo-tunnel ls for the names)',
    });
  }
  if (signals.received !== undefined) return 0;
  const session = await run.start(chosen);
  if (chosen !== 'all' && !run.onlyStatic) run.remember(chosen);
  await stopped;
  run.events.log('info', 'stopping: answering requests in flight, then closing tunnels');
  await session.stop();
  return 0;
}
