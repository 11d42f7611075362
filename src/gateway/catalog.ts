import type {Backend} from '../core/backend.js';
import type {RouteTable} from '../router/route-table.js';
import type {Catalog, CatalogApplication, RefusedNamespace} from './protocol.js';

/** The namespace of a backend discovered in the cluster; undefined for any other (a static address). */
export function namespaceOf(backend: Backend): string | undefined {
  const target = (backend as {target?: {namespace?: unknown}}).target;
  return typeof target?.namespace === 'string' ? target.namespace : undefined;
}

/**
 * Every routed application with its namespace, learned interfaces and whether it serves Triple,
 * and a generation that grows with each new route table, so a laptop polling the catalog can tell
 * a change without comparing lists.
 */
export class GatewayCatalog {
  /** The table routed now (tables are immutable: a new one is a change). */
  readonly #current: () => RouteTable;
  #generation = 0;
  #table: RouteTable | undefined;
  #applications: readonly CatalogApplication[] | undefined;

  constructor(current: () => RouteTable) {
    this.#current = current;
  }

  #changed(): void {
    const table = this.#current();
    if (table === this.#table) return;
    this.#table = table;
    this.#generation++;
    this.#applications = undefined;
  }

  /** Every application on offer (before any permission check). */
  get applications(): readonly CatalogApplication[] {
    this.#changed();
    this.#applications ??= this.#table === undefined ? [] : applicationsOf(this.#table);
    return this.#applications;
  }

  /** The namespaces of the applications on offer. */
  namespaces(): string[] {
    return [...new Set(this.applications.map((application) => application.namespace))];
  }

  /**
   * The catalog limited to the namespaces `access` says yes to, and the others with what `access`
   * says is missing there (a permission, or undefined when allowed).
   */
  catalogFor(access: (namespace: string) => {allowed: true} | {allowed: false; permission: string; unchecked: boolean}): Catalog {
    const applications: CatalogApplication[] = [];
    const refused = new Map<string, {applications: number; permission: string; unchecked: boolean}>();
    for (const application of this.applications) {
      const verdict = access(application.namespace);
      if (verdict.allowed) {
        applications.push(application);
        continue;
      }
      const entry = refused.get(application.namespace) ?? {applications: 0, permission: verdict.permission, unchecked: verdict.unchecked};
      entry.applications++;
      refused.set(application.namespace, entry);
    }
    const refusedList: RefusedNamespace[] = [...refused].map(([namespace, entry]) => ({namespace, ...entry}));
    return {applications, generation: this.#generation, ...(refusedList.length === 0 ? {} : {refused: refusedList})};
  }
}

function applicationsOf(table: RouteTable): CatalogApplication[] {
  const services = new Map<string, string[]>();
  for (const [service, applications] of table.servicesByInterface) {
    for (const application of applications) {
      let list = services.get(application);
      if (list === undefined) services.set(application, list = []);
      list.push(service);
    }
  }
  const result: CatalogApplication[] = [];
  for (const [name, backend] of table.backends) {
    const namespace = namespaceOf(backend);
    if (namespace === undefined) continue;
    result.push({name, namespace, services: (services.get(name) ?? []).sort(), triple: backend.triple !== undefined});
  }
  return result.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}
