/**
 * What a session adds around its publisher when it learns: the ExportLearner (routing by service key;
 * the publisher feeds it and puts what it knows into every table) and the resolve file, which names
 * every interface of the published tables once the port is open.
 */
import type {TunnelEventBus} from '../core/events.js';
import {formatHostPort} from '../core/host-port.js';
import {ExportLearner} from '../learning/export-learner.js';
import {ResolveFile, expandHome} from '../learning/resolve-file.js';
import type {RouteTable, RouteView} from '../router/route-table.js';

export interface LearningOptions {
  /** --no-learn */
  noLearn: boolean;
  /** --resolve-file, as typed (`~/` is expanded). */
  resolveFile: string | undefined;
}

export interface Learning {
  /** Given to the publisher; undefined with --no-learn. */
  readonly learner: ExportLearner | undefined;
  /** For the telnet shell: what learning says about one application. */
  describe(application: string): string | undefined;
  /** The local port is open: the resolve file names it for every interface `routes` knows, from now on. */
  listening(host: string, port: number, routes: RouteView): void;
  /** Stops learning, and puts the resolve file back. Safe to call more than once. */
  stop(): void;
}

/** Throws DT_ERR_RESOLVE_FILE when the resolve file cannot be taken (so before anything else starts). */
export function startLearning(options: LearningOptions & {events: TunnelEventBus}): Learning {
  const resolveFile = options.resolveFile === undefined ? undefined : ResolveFile.open(expandHome(options.resolveFile));
  // The last resort for a crash between here and stop(): 'exit' handlers may only do synchronous work, which close() is.
  const onExit = () => resolveFile?.close();
  process.once('exit', onExit);
  const learner = options.noLearn ? undefined : new ExportLearner({events: options.events});
  let stopWriting: (() => void) | undefined;
  let stopped = false;
  return {
    learner,
    describe(application) {
      const state = learner?.get(application);
      if (!state) return learner ? undefined : 'not learned (--no-learn)';
      if (state.state === 'learning') return 'learning what it exports';
      if (state.state === 'learned') return `learned via ${state.via ?? 'discovery'}`;
      return `nothing learned: ${state.reason ?? 'no way answered'}`;
    },
    listening(host, port, routes) {
      if (!resolveFile || stopped) return;
      // Java consumers connect to what the URL says; `localhost` also works when we listen on every address.
      const address = host === '::' || host === '0.0.0.0' ? `localhost:${port}` : formatHostPort(host, port);
      const write = () => {
        const table = routes.current;
        try {
          resolveFile.write([...table.servicesByInterface.keys(), ...table.interfaces.keys()], address, tripleOnlyInterfaces(table));
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

/**
 * Interfaces routed to applications that have only a Triple port (by `--route` first, as routing
 * does, else by every application learned to export them): the resolve file gives them `tri://`.
 */
function tripleOnlyInterfaces(table: RouteTable): Set<string> {
  const triple = new Set<string>();
  const isTripleOnly = (application: string) => table.backends.get(application)?.tripleOnly === true;
  for (const [name, applications] of table.servicesByInterface) {
    if (!table.interfaces.has(name) && applications.length > 0 && applications.every(isTripleOnly)) triple.add(name);
  }
  for (const [name, application] of table.interfaces) if (isTripleOnly(application)) triple.add(name);
  return triple;
}
