import {parseChoice} from '../core/applications.js';
import type {DiscoveredApplication} from '../core/applications.js';
import type {BackendSource, Wanted} from '../core/backend-source.js';
import type {CallCapture} from '../core/calls.js';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import {TunnelEventBus} from '../core/events.js';
import type {AppSession} from '../core/app-session.js';
import {TunnelServer} from '../proxy/tunnel-server.js';
import type {TunnelServerOptions} from '../proxy/tunnel-server.js';
import {TunnelActivity} from '../proxy/tunnel-activity.js';
import {NO_ROUTES} from '../router/route-table.js';
import type {RouteView} from '../router/route-table.js';
import {startLearning} from './learning.js';
import type {Learning, LearningOptions} from './learning.js';
import {RoutePublisher} from './publisher.js';
import type {Choice} from './publisher.js';

export type {Choice} from './publisher.js';

export interface SessionOptions {
  /** In precedence order (see openSources). The session closes them when it stops. */
  sources: readonly BackendSource[];
  events: TunnelEventBus;
  /** The local listener, as for TunnelServer.start (routes, events and the shell's notes come from the session). */
  listen: Omit<TunnelServerOptions, 'routes' | 'events' | 'describeApplication' | 'activity'>;
  /** --route interface -> application map. */
  interfaces?: Iterable<[string, string]>;
  /**
   * Learning what the routed applications export (routing by service key) and the resolve file;
   * without it the tables hold only backends and the interface map.
   */
  learning?: LearningOptions;
}

/**
 * A running session: one local listener and one route table, fed by any number of sources
 * through one publisher. The terminal UI and the plain reporter see it as an AppSession.
 */
export class TunnelSession implements AppSession {
  readonly events: TunnelEventBus;
  readonly addresses: readonly string[];
  readonly port: number;
  readonly context?: string;
  readonly namespace?: string;
  /** What the listener routes by (read only: the publisher writes it). */
  readonly routes: RouteView;
  /** Whether the listener copies calls for the call inspector (`listen.capture`): held on by whoever inspects them. */
  readonly capture: CallCapture | undefined;
  readonly #sources: readonly BackendSource[];
  readonly #publisher: RoutePublisher;
  readonly #learning: Learning | undefined;
  readonly #server: TunnelServer;
  #choice: Choice;
  #stopping: Promise<void> | undefined;

  private constructor(input: {options: SessionOptions; sources: readonly BackendSource[]; publisher: RoutePublisher; learning: Learning | undefined; server: TunnelServer; choice: Choice}) {
    this.events = input.options.events;
    this.#sources = input.sources;
    this.#publisher = input.publisher;
    this.#learning = input.learning;
    this.#server = input.server;
    this.routes = input.publisher.routes;
    this.capture = input.options.listen.capture;
    this.#choice = input.choice;
    this.addresses = input.server.consumerAddresses();
    this.port = input.server.port;
    const only = input.options.sources.length === 1 ? input.options.sources[0] : undefined;
    if (only?.context !== undefined) this.context = only.context;
    if (only?.namespace !== undefined) this.namespace = only.namespace;
  }

  /**
   * Takes the resolve file (when asked to), starts every source with its share of `choice`, then
   * opens the port: routes first, so a consumer that connects the moment "listening" is printed
   * finds its application. A source that cannot start (unreachable or forbidden context) is
   * reported and left out while the others work; when none can start, the first error is thrown.
   */
  static async start(options: SessionOptions, choice: Choice): Promise<TunnelSession> {
    const {sources, events} = options;
    await checkPortFree(options.listen);
    const learning = options.learning === undefined ? undefined : startLearning({...options.learning, events});
    // Listening before the sources start: the telnet shell's `status` shows their first backend states too.
    const activity = new TunnelActivity(events);
    const publisher = new RoutePublisher({
      events,
      kinds: sources.map((source) => source.kind),
      ...(options.interfaces === undefined ? {} : {interfaces: options.interfaces}),
      learner: learning?.learner,
      choice,
    });
    const giveUp = async (error: unknown): Promise<never> => {
      await Promise.all(sources.map((source) => source.close()));
      publisher.close();
      learning?.stop();
      activity.close();
      throw error;
    };
    const results = await Promise.allSettled(sources.map((source, index) =>
      source.start(wantedBy(source, sources, choice), (offers, unrouted) => publisher.report(index, offers, unrouted))));
    const failed = results.flatMap((result, index) => result.status === 'rejected' ? [{source: sources[index], error: result.reason as unknown}] : []);
    if (failed.length === sources.length && failed[0] !== undefined) return giveUp(failed[0].error);
    for (const {source, error} of failed) {
      if (source === undefined) continue;
      const hint = error instanceof DubboTunnelError && error.hint !== undefined ? ` (fix: ${error.hint})` : '';
      events.log('error', `${source.title}: ${errorMessage(error)}${hint}; routing from the other sources only`);
      await source.close();
    }
    const live = sources.filter((_, index) => results[index]?.status === 'fulfilled');
    let server: TunnelServer;
    try {
      server = await TunnelServer.start({
        ...options.listen,
        ...(learning === undefined ? {} : {describeApplication: (application: string) => learning.describe(application)}),
        routes: publisher.routes,
        events,
        activity,
      });
    } catch (error) {
      return giveUp(error);
    }
    learning?.listening(options.listen.host ?? '::', server.port, publisher.routes);
    announceWaiting(live, publisher.routes, choice, events);
    warnUnseen(live, publisher, choice, events);
    return new TunnelSession({options, sources: live, publisher, learning, server, choice});
  }

  /** Dubbo streams open to providers, shared by every consumer connection. */
  get upstreamCount(): number {
    return this.#server.upstreamCount;
  }

  /** The choice as given (names, qualified names), or what is routed when everything was chosen. */
  selection(): readonly string[] {
    if (this.#choice !== 'all') return this.#choice;
    return [...this.routes.current.backends.keys()];
  }

  /** Changes what is routed without restarting the listener; a swap between places never drops the name. */
  setSelection(applications: readonly string[]): Promise<void> {
    const choice = [...applications];
    this.#choice = choice;
    this.#publisher.batch(() => {
      this.#publisher.setChoice(choice);
      for (const source of this.#sources) source.setWanted(wantedBy(source, this.#sources, choice));
    });
    warnUnseen(this.#sources, this.#publisher, choice, this.events);
    return Promise.resolve();
  }

  /** Every source's applications (for the picker); a source that fails is logged, unless all fail. */
  discover(): Promise<DiscoveredApplication[]> {
    return discoverAll(this.#sources, this.events);
  }

  /**
   * Closes the port, tells the consumers (READONLY, GOAWAY) and answers what is in flight (waiting
   * at most `graceMs`, the listener's drain timeout when not given), then closes every source's
   * tunnels, then puts the resolve file back. Idempotent.
   */
  stop(graceMs?: number): Promise<void> {
    this.#stopping ??= (async () => {
      try {
        await this.#server.close(graceMs);
        await Promise.all(this.#sources.map((source) => source.close()));
      } finally {
        this.#publisher.close();
        this.#learning?.stop();
      }
    })();
    return this.#stopping;
  }

  /** The stop waits no longer: what is still in flight is answered with DT_ERR_STOPPED_BEFORE_ANSWER. */
  stopNow(): void {
    this.#server.stopWaiting();
  }
}

/**
 * Binds the port and lets it go at once, before any source starts: a port that is taken (or an
 * address that is not this machine's) fails here, before backends have said `ready` for a session
 * that never ran. The real listener opens once the routes are there (see start()).
 */
async function checkPortFree(listen: SessionOptions['listen']): Promise<void> {
  if (listen.port === 0) return;
  const trial = await TunnelServer.start({...listen, routes: NO_ROUTES, events: new TunnelEventBus()});
  await trial.close(0);
}

/**
 * A session that listens but routes nothing (a namespace without backends yet, chosen names not
 * there yet) says so: the log and the dashboard show what it waits for, instead of a silent port.
 */
function announceWaiting(live: readonly BackendSource[], routes: RouteView, choice: Choice, events: TunnelEventBus): void {
  if (routes.current.backends.size > 0) return;
  const clusters = live.filter((source) => source.kind === 'cluster');
  if (clusters.length === 0) return;
  const places = clusters.map(describePlace);
  events.emit('backends-awaited', {applications: choice === 'all' ? 'all' : choice.map((entry) => parseChoice(entry).application), places});
}

/**
 * In a session with several places, a chosen name that no place offers is said once per choice,
 * naming every place it was looked for in. (A session's only place says it itself; with several, a
 * place that lacks a name another place has is no news, so the places do not warn on their own.)
 */
function warnUnseen(sources: readonly BackendSource[], publisher: RoutePublisher, choice: Choice, events: TunnelEventBus): void {
  if (sources.length < 2 || choice === 'all') return;
  for (const entry of choice) {
    const {application, where} = parseChoice(entry);
    if (publisher.isOffered(application, where)) continue;
    const places = sources.filter((source) => (where === undefined ? true : source.owns(where))).map(describePlace);
    if (places.length === 0) continue; // a place no source owns is a usage error (session-runner checkPlace)
    events.log('warn', `application ${entry} is selected but not discovered in ${places.join(' or ')}; it will be routed once it appears`);
  }
}

/** `namespace dev of context kind-dev`, `all namespaces of context kind-dev`, `the --backend addresses`. */
function describePlace(source: BackendSource): string {
  if (source.kind === 'local') return 'the --backend addresses';
  if (source.context === undefined) return source.title;
  return `${source.namespace === '*' ? 'all namespaces' : `namespace ${source.namespace ?? 'default'}`} of context ${source.context ?? '?'}`;
}

/**
 * What one source should offer for a choice. A name that a local source always offers (its
 * --backend) is left to it unless chosen qualified, so a cluster never opens tunnels for an
 * application overridden locally; a qualified name goes only to the source that owns the place.
 */
export function wantedBy(source: BackendSource, sources: readonly BackendSource[], choice: Choice): Wanted {
  const overridden = new Set(sources.filter((other) => other.kind === 'local' && other !== source).flatMap((other) => other.fixed ?? []));
  if (choice === 'all') return overridden.size === 0 || source.kind === 'local' ? 'all' : {except: overridden};
  const names = new Set<string>();
  for (const entry of choice) {
    const {application, where} = parseChoice(entry);
    if (where === undefined ? source.kind === 'local' || !overridden.has(application) : source.owns(where)) names.add(application);
  }
  return names;
}

/** Lists every source's applications, in precedence order; failures are logged unless every source fails. */
export async function discoverAll(sources: readonly BackendSource[], events: TunnelEventBus): Promise<DiscoveredApplication[]> {
  return (await discoverEach(sources, events)).flatMap(({applications}) => applications);
}

/**
 * discoverAll, with each source's applications apart (`ls` says which context each comes from). A
 * source that fails has none and is logged as a warning; when every source fails, the first error
 * is thrown.
 */
export async function discoverEach(sources: readonly BackendSource[], events: TunnelEventBus): Promise<{source: BackendSource; applications: DiscoveredApplication[]}[]> {
  const results = await Promise.allSettled(sources.map((source) => source.discover()));
  const found: {source: BackendSource; applications: DiscoveredApplication[]}[] = [];
  let firstError: unknown;
  results.forEach((result, index) => {
    const source = sources[index];
    if (result.status === 'fulfilled') {
      if (source !== undefined) found.push({source, applications: result.value});
      return;
    }
    firstError ??= result.reason;
    if (sources.length > 1) events.log('warn', `${source?.title ?? 'a source'}: ${errorMessage(result.reason)}`);
  });
  if (found.every(({applications}) => applications.length === 0) && firstError !== undefined) throw firstError instanceof Error ? firstError : new Error(errorMessage(firstError));
  return found;
}
