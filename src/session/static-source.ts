import type {DiscoveredApplication} from '../core/applications.js';
import type {BackendSource, Offer, Wanted} from '../core/backend-source.js';
import type {TunnelEventBus} from '../core/events.js';
import {StaticBackend} from '../proxy/static-backend.js';
import {StaticReachability} from './static-reachability.js';
import type {ReachabilityTiming} from './static-reachability.js';

/** One --backend application: its Dubbo port, its Triple port, or both. */
export interface StaticBackendSpec {
  application: string;
  dubbo?: {host: string; port: number};
  triple?: {host: string; port: number};
  /** Its QoS port (`qos://host:port`): discovery asks it `GET /ls`. */
  qos?: {host: string; port: number};
}

function staticBackendOf(spec: StaticBackendSpec): StaticBackend {
  const qos = spec.qos ? {qos: spec.qos} : {};
  if (spec.dubbo) return new StaticBackend(spec.application, spec.dubbo.host, spec.dubbo.port, {...(spec.triple ? {triple: spec.triple} : {}), ...qos});
  // A Triple-only application keeps its QoS address too: learning asks it when the Triple port says nothing.
  if (spec.triple) return new StaticBackend(spec.application, spec.triple.host, spec.triple.port, {triple: spec.triple, tripleOnly: true, ...qos});
  throw new Error(`--backend ${spec.application}: no port`);
}

/**
 * `--backend <app>=<host>:<port>`: fixed addresses, local overrides in a mixed session; each is
 * `ready` once it accepts a TCP connection (static-reachability.ts).
 */
export class StaticSource implements BackendSource {
  readonly id = 'static';
  readonly title = 'static backends';
  readonly kind = 'local' as const;
  readonly fixed: readonly string[];
  readonly #backends: readonly StaticBackend[];
  readonly #where: string | undefined;
  readonly #reachability: StaticReachability;
  #report: ((offers: readonly Offer[]) => void) | undefined;
  #probed: Promise<void> = Promise.resolve();

  /** `where` is `local` in a session that also has cluster sources, else undefined. */
  constructor(specs: readonly StaticBackendSpec[], events: TunnelEventBus, where: string | undefined, reachability: ReachabilityTiming = {}) {
    this.#backends = specs.map(staticBackendOf);
    this.fixed = this.#backends.map((backend) => backend.application);
    this.#where = where;
    this.#reachability = new StaticReachability(events, reachability);
  }

  get place(): string | undefined {
    return this.#where;
  }

  owns(where: string): boolean {
    return where === this.#where;
  }

  discover(): Promise<DiscoveredApplication[]> {
    return Promise.resolve(this.#backends.map((backend) => ({
      application: backend.application,
      service: backend.describe(),
      port: backend.port,
      source: 'static' as const,
      ...(this.#where === undefined ? {} : {where: this.#where}),
    })));
  }

  start(wanted: Wanted, report: (offers: readonly Offer[]) => void): Promise<void> {
    this.#report = report;
    this.setWanted(wanted);
    // The first states are the probed ones: nothing is said ready before its address answered.
    return this.#probed;
  }

  setWanted(wanted: Wanted): void {
    const active = this.#backends.filter((backend) => wanted === 'all' || ('except' in wanted ? !wanted.except.has(backend.application) : wanted.has(backend.application)));
    this.#report?.(active.map((backend) => ({backend, where: this.#where})));
    this.#probed = this.#reachability.follow(active);
  }

  close(): Promise<void> {
    this.#report = undefined;
    this.#reachability.close();
    return Promise.resolve();
  }
}
