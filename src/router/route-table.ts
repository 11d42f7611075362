import type {Backend} from '../core/backend.js';

/**
 * An immutable snapshot of where requests can go. Discovery builds a new table and swaps it in
 * whole (RouteSource.set), so a request never sees a half-updated table.
 */
export interface RouteTable {
  /** application name -> backend. */
  readonly backends: ReadonlyMap<string, Backend>;
  /** Java interface (service path) -> application name, the configured fallback (routing step c). */
  readonly interfaces: ReadonlyMap<string, string>;
}

export function createRouteTable(backends: Iterable<Backend>, interfaces: Iterable<[string, string]> = []): RouteTable {
  const byName = new Map<string, Backend>();
  for (const backend of backends) byName.set(backend.application, backend);
  return Object.freeze({backends: byName, interfaces: new Map(interfaces)});
}

type Listener = (table: RouteTable) => void;

/** Holds the current table; the router reads `current` once per request. */
export class RouteSource {
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
