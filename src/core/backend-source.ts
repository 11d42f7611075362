import type {DiscoveredApplication} from './applications.js';
import type {Backend} from './backend.js';

/**
 * The seam between a session and the places its applications come from: `--backend` addresses,
 * one Kubernetes context with its namespaces, the demo's simulated cluster. A source *reports* what
 * it offers; it never writes the route table. The session's publisher (src/session/publisher.ts)
 * merges every source's report into one table by precedence.
 */
export interface BackendSource {
  /** Stable identity for remembered choices: `static`, or `<context>/<namespace>` (`*` with -A). */
  readonly id: string;
  /** Shown in headers: `static backends`, `context kind-dev · namespace dev`. */
  readonly title: string;
  /** `local` sources (fixed addresses) come before every cluster source in the precedence. */
  readonly kind: 'local' | 'cluster';
  /** Kubernetes context and namespace (`*` for all namespaces) of a cluster source. */
  readonly context?: string;
  readonly namespace?: string;
  /** Names a local source always offers (its --backend list); cluster sources leave these to it. */
  readonly fixed?: readonly string[];
  /**
   * What `<app>@<place>` calls this source in a session with several places (`local`, `dev`,
   * `kind-dev`, `kind-dev/dev`; with -A `<namespace>` stands for any); undefined when it is the
   * session's only place. Usage errors name these.
   */
  readonly place: string | undefined;
  /** True when `where` (the part after `@` in `user-rpc@staging`) names a place of this source. */
  owns(where: string): boolean;
  /** One-shot list for pickers and `ls`; each entry's `where` is set when the session has several places. */
  discover(): Promise<DiscoveredApplication[]>;
  /**
   * Start offering backends for the wanted applications; calls `report` (synchronously, possibly
   * many times) with everything it offers whenever that changes, and what it knows it cannot offer
   * (`unrouted`, sentences that name the fix: RouteTable.unrouted). Resolves once the first report
   * is complete; rejects when the source cannot start (the error says why and how to fix it).
   */
  start(wanted: Wanted, report: SourceReport): Promise<void>;
  /** Change which applications are wanted; reports synchronously before it returns. */
  setWanted(wanted: Wanted): void;
  /** Stop offering (reports nothing more), close its backends and connections to the cluster. Idempotent. */
  close(): Promise<void>;
}

/** How a source reports: everything it offers now, and what it knows it does not (none when omitted). */
export type SourceReport = (offers: readonly Offer[], unrouted?: readonly string[]) => void;

/** Application names a source should offer backends for: these, every one it finds, or every one but these. */
export type Wanted = ReadonlySet<string> | 'all' | {readonly except: ReadonlySet<string>};

/** One backend a source can route an application to. */
export interface Offer {
  readonly backend: Backend;
  /** Where it comes from (see DiscoveredApplication.where); set when the session has several places. */
  readonly where: string | undefined;
}
