import type {BackendSource} from '../core/backend-source.js';
import {parseChoice} from '../core/applications.js';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import {TunnelEventBus} from '../core/events.js';
import {StatsStore, showingSelection} from '../stats/stats.js';
import type {LogLevel} from '../core/events.js';
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
import {releaseMemoryWhenIdle} from './idle-memory.js';
import {startLearning} from './learning.js';
import type {Learning} from './learning.js';

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
}

/**
 * Runs one session until it is stopped and returns the exit code: opens the sources, settles the
 * choice (picker, --select, --all, --last), starts the session, renders it, and stops it on `q`,
 * SIGINT or SIGTERM alike (answer what is in flight, then exit 0; a second signal forces).
 */
export async function runSession(options: SessionRunOptions, context: CliContext): Promise<number> {
  const events = options.events ?? new TunnelEventBus();
  const interactive = options.renderer === 'terminal';
  let stopRequested: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  const controller: {quit?: () => void} = {};
  const signals = handleStopSignals(() => {
    if (controller.quit !== undefined) controller.quit();
    stopRequested?.();
  });
  // Memory a burst of traffic made V8 take is given back once the traffic stops (idle-memory.ts).
  const stopReleasingMemory = releaseMemoryWhenIdle(events);
  // In plain mode the reporter is attached before anything starts, so discovery warnings show.
  const detach = interactive ? () => undefined : attachLineReporter(events, {out: context.stdout, level: options.logLevel, json: options.renderer === 'json'});
  let sources: BackendSource[] = [];
  let session: TunnelSession | undefined;
  let learning: Learning | undefined;
  try {
    sources = await openSources(options.plan, {events, env: context.env, execStderr: context.stderr, interactive});
    const key = memoryKey(sources);
    // Only a choice of applications that were found is remembered: `--select typo` must not replace
    // a good remembered choice with one that routes nothing. A choice that cannot be saved (a
    // broken config file) is a warning, never a reason to stop.
    const remember = (applications: readonly string[]): void => {
      const routed = new Set(session?.routes.current.backends.keys());
      const unknown = applications.filter((entry) => !routed.has(parseChoice(entry).application));
      if (unknown.length > 0) {
        events.log('warn', `not remembering this choice for --last: ${unknown.join(', ')} ${unknown.length === 1 ? 'was' : 'were'} not found (dubbo-tunnel ls lists the names); the remembered choice stays as it was`);
        return;
      }
      try {
        options.store.rememberSelection(key.context, key.namespace, applications);
      } catch (error) {
        events.log('warn', `${errorMessage(error)}${error instanceof DubboTunnelError && error.hint !== undefined ? ` (fix: ${error.hint})` : ''}`);
      }
    };
    const remembered = options.store.recalledSelection(key.context, key.namespace);
    const onlyStatic = sources.every((source) => source.kind === 'local');

    let chosen: Choice | undefined;
    switch (options.choice?.kind) {
      case 'all':
        chosen = 'all';
        break;
      case 'select':
        chosen = options.choice.applications;
        break;
      case 'last':
        if (!remembered || remembered.length === 0) {
          throw new DubboTunnelError('DT_ERR_NEEDS_CHOICE', `no remembered selection for ${key.context}/${key.namespace}`, {
            hint: 'pick applications once with --select <a,b> or --all (or in the picker); --last reuses that choice',
          });
        }
        chosen = remembered;
        break;
      case undefined:
        // Static backends alone need no choice: everything given on the command line is routed.
        chosen = onlyStatic ? 'all' : undefined;
        break;
    }

    const start = async (choice: Choice): Promise<TunnelSession> => {
      learning?.stop();
      const learn = startLearning({events, noLearn: options.learning?.noLearn ?? false, resolveFile: options.learning?.resolveFile});
      learning = learn;
      try {
        session = await TunnelSession.start({
          sources, events, interfaces: options.interfaces,
          listen: {...options.listen, describeApplication: (application) => learn.describe(application)},
          joinRoutes: (published) => learn.join(published),
        }, choice);
      } catch (error) {
        learn.stop();
        throw error;
      }
      learn.listening(options.listen.host ?? '::', session.port);
      return session;
    };

    if (interactive) {
      const {runInteractiveUp} = await import('../ui/run-interactive.js');
      if (signals.received !== undefined) return 0;
      const discover = () => discoverAll(sources, events);
      // The dashboard's store subscribes before start() so the first backend states are not missed.
      const stats = new StatsStore(events, {logLevel: options.logLevel});
      const outcome = await runInteractiveUp({
        title: sessionTitle(sources),
        discover,
        preselected: chosen === undefined ? (remembered ?? []) : chosen === 'all' ? (await discover()).map((app) => app.application) : chosen,
        skipPicker: chosen !== undefined,
        // --all stays 'all' (applications discovered later are routed too); a picked list is a list.
        start: async (applications) => showingSelection(await start(chosen === 'all' ? 'all' : applications), stats),
        remember,
        stats,
        attachmentKey: options.attachmentKey,
      }, controller).finally(() => stats.dispose());
      if (outcome.kind === 'quit') return 0;
      return outcome.during === 'start' ? exitCodeFor(outcome.error) : 1;
    }
    if (chosen === undefined) {
      throw new DubboTunnelError('DT_ERR_NEEDS_CHOICE', 'no applications chosen, and there is no terminal to show the picker in', {
        hint: 'pass --all, --select <app1,app2> or --last (see dubbo-tunnel ls for the names)',
      });
    }
    if (signals.received !== undefined) return 0;
    await start(chosen);
    if (chosen !== 'all' && !onlyStatic) remember(chosen);
    await stopped;
    events.log('info', 'stopping: answering requests in flight, then closing tunnels');
    await session?.stop();
    return 0;
  } finally {
    // A session the UI started and already stopped is stopped again at no cost (stop() is idempotent).
    await session?.stop();
    // The resolve file is put back on every way out: q, SIGINT, SIGTERM, a failure.
    learning?.stop();
    await Promise.all(sources.map((source) => source.close()));
    // Lines still being counted ("… ×N in the last 5 s") are said before the reporter goes.
    events.flushFolded();
    stopReleasingMemory();
    detach();
    signals.dispose();
  }
}
