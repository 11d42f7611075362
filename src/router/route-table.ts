import type {Backend} from '../core/backend.js';
import {interfaceOf} from './service-key.js';

/**
 * An immutable snapshot of where requests can go. Discovery builds a new table and swaps it in
 * whole (RouteSource.set), so a request never sees a half-updated table.
 */
export interface RouteTable {
  /** application name -> backend. */
  readonly backends: ReadonlyMap<string, Backend>;
  /** Java interface (service path) -> application name, the configured fallback (routing step c). */
  readonly interfaces: ReadonlyMap<string, string>;
  /** Learned service key `[group/]interface[:version]` -> the routed applications that export it (routing step d). */
  readonly services: ReadonlyMap<string, readonly string[]>;
  /** Learned interface -> the routed applications exporting it under any group or version (step e, on a miss of d). */
  readonly servicesByInterface: ReadonlyMap<string, readonly string[]>;
  /**
   * What the sources know they do not route, each a sentence with its fix (a team gateway's
   * namespaces withheld from this developer): said in every answer that finds no route, so the
   * consumer reads why rather than only what is routed.
   */
  readonly unrouted: readonly string[];
}

/**
 * `learned` is application -> the service keys it exports (src/learning/export-learner.ts); entries for
 * applications that are not in `backends` are left out, so the maps only ever name routable applications.
 */
export function createRouteTable(
  backends: Iterable<Backend>,
  interfaces: Iterable<[string, string]> = [],
  learned: Iterable<[string, Iterable<string>]> = [],
  unrouted: readonly string[] = [],
): RouteTable {
  const byName = new Map<string, Backend>();
  for (const backend of backends) byName.set(backend.application, backend);
  const services = new Map<string, string[]>();
  const servicesByInterface = new Map<string, string[]>();
  const add = (map: Map<string, string[]>, key: string, application: string) => {
    const list = map.get(key);
    if (!list) map.set(key, [application]);
    else if (!list.includes(application)) list.push(application);
  };
  for (const [application, keys] of learned) {
    if (!byName.has(application)) continue;
    for (const key of keys) {
      add(services, key, application);
      add(servicesByInterface, interfaceOf(key), application);
    }
  }
  for (const list of services.values()) list.sort();
  for (const list of servicesByInterface.values()) list.sort();
  return Object.freeze({backends: byName, interfaces: new Map(interfaces), services, servicesByInterface, unrouted: Object.freeze([...unrouted])});
}

type Listener = (table: RouteTable) => void;

/**
 * What a listener routes by: the current table, and word of every new one. A running session hands
 * out only this read side; the one RouteSource it writes belongs to its publisher
 * (src/session/publisher.ts).
 */
export interface RouteView {
  readonly current: RouteTable;
  subscribe(listener: Listener): () => void;
}

/** Holds the current table; the router reads `current` once per request. */
export class RouteSource implements RouteView {
  #table: RouteTable;
  readonly #listeners = new Set<Listener>();

  constructor(table: RouteTable = createRouteTable([])) {
    this.#table = table;
  }

  get current(): RouteTable {
    return this.#table;
  }

  set(table: RouteTable): void {
    this.#table = table;
    for (const listener of this.#listeners) listener(table);
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** For a listener that routes nothing (the doctor's check that `up` can take the port). */
export const NO_ROUTES: RouteView = new RouteSource();
