/**
 * What `up` adds around whatever publishes route tables: the ExportLearner (routing by service key) and the
 * resolve file. The session's publisher writes `published`; the tunnel reads what join() returns: the same
 * tables plus the learned service keys.
 */
import type {TunnelEventBus} from '../core/events.js';
import {ExportLearner} from '../learning/export-learner.js';
import {routeLearnedServices} from '../learning/learned-routes.js';
import {ResolveFile, expandHome} from '../learning/resolve-file.js';
import {formatHostPort} from '../core/host-port.js';
import {RouteSource, createRouteTable} from '../router/route-table.js';

export interface LearningOptions {
  events: TunnelEventBus;
  /** --no-learn */
  noLearn: boolean;
  /** --resolve-file, as typed (`~/` is expanded). */
  resolveFile: string | undefined;
}

export interface Learning {
  /** What the tunnel routes by: `published` plus learned service keys (call once). */
  join(published: RouteSource): RouteSource;
  readonly learner: ExportLearner | undefined;
  /** For the telnet shell: what discovery says about one application. */
  describe(application: string): string | undefined;
  /** The local port is open: the resolve file can name it. */
  listening(host: string, port: number): void;
  /** Stops learning, and puts the resolve file back. Safe to call more than once. */
  stop(): void;
}

/** Throws DT_ERR_RESOLVE_FILE when the resolve file cannot be taken (before anything else starts). */
export function startLearning(options: LearningOptions): Learning {
  const resolveFile = options.resolveFile === undefined ? undefined : ResolveFile.open(expandHome(options.resolveFile));
  // The last resort for a crash between here and stop(): 'exit' handlers may only do synchronous work, which close() is.
  const onExit = () => resolveFile?.close();
  process.once('exit', onExit);
  const routes = new RouteSource(createRouteTable([]));
  const learner = options.noLearn ? undefined : new ExportLearner({events: options.events});
  let stopJoining = (): void => undefined;
  let stopWriting: (() => void) | undefined;
  let stopped = false;
  return {
    join(published) {
      routes.set(published.current);
      stopJoining = learner ? routeLearnedServices(published, routes, learner) : published.subscribe((table) => routes.set(table));
      return routes;
    },
    learner,
    describe(application) {
      const state = learner?.get(application);
      if (!state) return learner ? undefined : 'not learned (--no-learn)';
      if (state.state === 'learning') return 'learning what it exports';
      if (state.state === 'learned') return `learned via ${state.via ?? 'discovery'}`;
      return `nothing learned: ${state.reason ?? 'no way answered'}`;
    },
    listening(host, port) {
      if (!resolveFile || stopped) return;
      // Java consumers connect to what the URL says; `localhost` also works when we listen on every address.
      const address = host === '::' || host === '0.0.0.0' ? `localhost:${port}` : formatHostPort(host, port);
      const write = () => {
        const table = routes.current;
        try {
          resolveFile.write([...table.servicesByInterface.keys(), ...table.interfaces.keys()], address);
        } catch (error) {
          options.events.log('error', `cannot write ${resolveFile.path}: ${(error as Error).message}`);
        }
      };
      write();
      stopWriting = routes.subscribe(write);
      options.events.log('info', `resolve file ${resolveFile.path}: consumers started now reach every learned interface through ${address}`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      stopWriting?.();
      stopJoining();
      learner?.close();
      process.off('exit', onExit);
      try {
        resolveFile?.close();
      } catch (error) {
        options.events.log('error', `cannot restore ${resolveFile?.path ?? 'the resolve file'}: ${(error as Error).message}`);
      }
    },
  };
}
