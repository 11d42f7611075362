import {parseChoice} from '../core/applications.js';
import type {DiscoveredApplication} from '../core/applications.js';
import type {Backend} from '../core/backend.js';
import type {BackendSource, Wanted} from '../core/backend-source.js';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import type {AppSession} from '../core/app-session.js';
import {TunnelServer} from '../proxy/tunnel-server.js';
import type {TunnelServerOptions} from '../proxy/tunnel-server.js';
import {RouteSource, createRouteTable} from '../router/route-table.js';
import type {RouteTable} from '../router/route-table.js';
import {RoutePublisher} from './publisher.js';
import type {Choice} from './publisher.js';

export type {Choice} from './publisher.js';

export interface SessionOptions {
  /** In precedence order (see openSources). The session closes them when it stops. */
  sources: readonly BackendSource[];
  events: TunnelEventBus;
  /** The local listener, as for TunnelServer.start (routes and events come from the session). */
  listen: Omit<TunnelServerOptions, 'routes' | 'events'>;
  /** --route interface -> application map. */
  interfaces?: Iterable<[string, string]>;
  /** Builds each table from the chosen backends, when the table holds more than the interface map. */
  buildTable?: (backends: readonly Backend[]) => RouteTable;
  /** What the listener routes by, given the published tables (e.g. joined with learned service keys). */
  joinRoutes?: (published: RouteSource) => RouteSource;
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
  readonly routes: RouteSource;
  readonly #sources: readonly BackendSource[];
  readonly #publisher: RoutePublisher;
  readonly #server: TunnelServer;
  #choice: Choice;
  #stopping: Promise<void> | undefined;

  private constructor(input: {options: SessionOptions; sources: readonly BackendSource[]; publisher: RoutePublisher; server: TunnelServer; routes: RouteSource; choice: Choice}) {
    this.events = input.options.events;
    this.#sources = input.sources;
    this.#publisher = input.publisher;
    this.#server = input.server;
    this.routes = input.routes;
    this.#choice = input.choice;
    this.addresses = input.server.consumerAddresses();
    this.port = input.server.port;
    const only = input.options.sources.length === 1 ? input.options.sources[0] : undefined;
    if (only?.context !== undefined) this.context = only.context;
    if (only?.namespace !== undefined) this.namespace = only.namespace;
  }

  /**
   * Starts every source with its share of `choice`, then opens the port: routes first, so a
   * consumer that connects the moment "listening" is printed finds its application. A source that
   * cannot start (unreachable or forbidden context) is reported and left out while the others
   * work; when none can start, the first error is thrown.
   */
  static async start(options: SessionOptions, choice: Choice): Promise<TunnelSession> {
    const {sources, events} = options;
    const interfaces = [...(options.interfaces ?? [])];
    const build = options.buildTable ?? ((backends: readonly Backend[]) => createRouteTable(backends, interfaces));
    const routes = new RouteSource(build([]));
    const publisher = new RoutePublisher({
      routes,
      events,
      kinds: sources.map((source) => source.kind),
      build,
      choice,
    });
    const results = await Promise.allSettled(sources.map((source, index) =>
      source.start(wantedBy(source, sources, choice), (offers) => publisher.report(index, offers))));
    const failed = results.flatMap((result, index) => result.status === 'rejected' ? [{source: sources[index], error: result.reason as unknown}] : []);
    if (failed.length === sources.length && failed[0] !== undefined) {
      await Promise.all(sources.map((source) => source.close()));
      throw failed[0].error;
    }
    for (const {source, error} of failed) {
      if (source === undefined) continue;
      const hint = error instanceof DubboTunnelError && error.hint !== undefined ? ` (fix: ${error.hint})` : '';
      events.log('error', `${source.title}: ${errorMessage(error)}${hint}; routing from the other sources only`);
      await source.close();
    }
    const live = sources.filter((_, index) => results[index]?.status === 'fulfilled');
    let server: TunnelServer;
    try {
      server = await TunnelServer.start({...options.listen, routes: options.joinRoutes?.(routes) ?? routes, events});
    } catch (error) {
      await Promise.all(sources.map((source) => source.close()));
      throw error;
    }
    return new TunnelSession({options, sources: live, publisher, server, routes, choice});
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
    return Promise.resolve();
  }

  /** Every source's applications (for the picker); a source that fails is logged, unless all fail. */
  discover(): Promise<DiscoveredApplication[]> {
    return discoverAll(this.#sources, this.events);
  }

  /** Answers what is in flight, closes the port, then every source's tunnels. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#server.close();
      await Promise.all(this.#sources.map((source) => source.close()));
    })();
    return this.#stopping;
  }
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
  const results = await Promise.allSettled(sources.map((source) => source.discover()));
  const found: DiscoveredApplication[] = [];
  let firstError: unknown;
  results.forEach((result, index) => {
    if (result.status === 'fulfilled') {
      found.push(...result.value);
      return;
    }
    firstError ??= result.reason;
    if (sources.length > 1) events.log('warn', `${sources[index]?.title ?? 'a source'}: ${errorMessage(result.reason)}`);
  });
  if (found.length === 0 && firstError !== undefined) throw firstError instanceof Error ? firstError : new Error(errorMessage(firstError));
  return found;
}
