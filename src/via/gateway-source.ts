import type {DiscoveredApplication} from '../core/applications.js';
import type {Backend, BackendPort, BackendStream} from '../core/backend.js';
import type {BackendSource, SourceReport, Wanted} from '../core/backend-source.js';
import type {TunnelEventBus} from '../core/events.js';
import {AUTHORIZATION_HEADER, bearer} from '../gateway/protocol.js';
import type {Catalog, CatalogApplication, RefusedNamespace} from '../gateway/protocol.js';
import {GatewayLink} from './gateway-link.js';
import type {GatewayCredential, GatewayDialer} from './gateway-link.js';

export interface GatewaySourceOptions {
  /** `shop-gw/dubbo-gateway` or `10.0.0.5:20880`, as given to --via. */
  target: string;
  dialer: GatewayDialer;
  credential: GatewayCredential;
  events: TunnelEventBus;
  /** `dubbo-tunnel/<version>`, sent in the hello. */
  client: string;
  /** Stops what the dialer holds (the endpoint watch of `--via ns/svc`) when the source closes. */
  onClose?: () => Promise<void>;
  /** Catalog poll interval (tests shorten it). */
  pollMs?: number;
}

/** What the listener's shared upstreams use for every application through the gateway: the link's streams. */
class GatewayCarrier implements Backend {
  readonly application: string;
  readonly #link: GatewayLink;
  readonly #describe: string;

  constructor(link: GatewayLink, describe: string) {
    this.#link = link;
    this.application = link.name;
    this.#describe = describe;
  }

  describe(): string {
    return this.#describe;
  }

  connect(signal?: AbortSignal): Promise<BackendStream> {
    return this.#link.connect(signal);
  }
}

/** The gateway's port as an HTTP/2 (Triple, gRPC) target: every stream carries the developer's token. */
class GatewayTriplePort implements BackendPort {
  readonly #link: GatewayLink;
  readonly #credential: GatewayCredential;
  readonly #describe: string;

  constructor(link: GatewayLink, credential: GatewayCredential, describe: string) {
    this.#link = link;
    this.#credential = credential;
    this.#describe = describe;
  }

  describe(): string {
    return `${this.#describe} (tri)`;
  }

  connect(signal?: AbortSignal): Promise<BackendStream> {
    return this.#link.connectRaw(signal);
  }

  requestHeaders(): Readonly<Record<string, string>> {
    const token = this.#credential.current;
    return token === undefined ? {} : {[AUTHORIZATION_HEADER]: bearer(token)};
  }
}

/** One application the gateway routes for this user: its requests go over the gateway's shared stream. */
class GatewayApplication implements Backend {
  readonly application: string;
  readonly namespace: string;
  readonly carrier: Backend;
  readonly triple: BackendPort | undefined;
  readonly declaredServices: readonly string[];
  readonly servicesListedBy = 'gateway catalog';
  readonly #entry: string;

  constructor(entry: CatalogApplication, carrier: Backend, triple: BackendPort) {
    this.application = entry.name;
    this.namespace = entry.namespace;
    this.carrier = carrier;
    this.triple = entry.triple ? triple : undefined;
    this.declaredServices = entry.services;
    this.#entry = JSON.stringify(entry);
  }

  /** True when the catalog still says the same about it (then the same backend stays routed). */
  sameAs(entry: CatalogApplication): boolean {
    return this.#entry === JSON.stringify(entry);
  }

  describe(): string {
    return `${this.carrier.describe()} (${this.namespace})`;
  }

  connect(signal?: AbortSignal): Promise<BackendStream> {
    return this.carrier.connect(signal);
  }
}

/**
 * A team gateway as a session's route source (`up --via`): one offer per application of the
 * gateway's catalog (what the developer may use), each qualified by its namespace, all carried by
 * the link's one shared stream. The catalog is polled, and a change is reported at once.
 */
export class GatewaySource implements BackendSource {
  readonly id: string;
  readonly title: string;
  readonly kind = 'cluster' as const;
  /** Applications come from several namespaces: like -A, each is qualified by its own. */
  readonly place = '<namespace>';
  readonly #options: GatewaySourceOptions;
  readonly #link: GatewayLink;
  readonly #carrier: GatewayCarrier;
  readonly #triple: GatewayTriplePort;
  /** The backend of each application, kept while the catalog says the same about it. */
  #backends = new Map<string, GatewayApplication>();
  #wanted: Wanted = 'all';
  #report: SourceReport | undefined;
  /** What the catalog says this developer may not use (RouteTable.unrouted), and its last words in the log. */
  #unrouted: readonly string[] = [];
  #unroutedSaid = '';
  #offered = new Set<string>();
  #closing: Promise<void> | undefined;

  constructor(options: GatewaySourceOptions) {
    this.#options = options;
    const name = `via ${options.target}`;
    this.id = name;
    this.title = name;
    this.#link = new GatewayLink({
      dialer: options.dialer, credential: options.credential, events: options.events, client: options.client, name,
      ...(options.pollMs === undefined ? {} : {pollMs: options.pollMs}),
    });
    this.#carrier = new GatewayCarrier(this.#link, name);
    this.#triple = new GatewayTriplePort(this.#link, options.credential, name);
    this.#link.onCatalog((catalog) => this.#catalogChanged(catalog));
    this.#link.onState((up, detail) => {
      for (const application of this.#offered) {
        options.events.emit('backend-state-changed', {application, state: up ? 'ready' : 'reconnecting', detail: up ? name : `${name}: ${detail}`});
      }
    });
  }

  /** The link (tests look at its streams). */
  get link(): GatewayLink {
    return this.#link;
  }

  owns(where: string): boolean {
    return where !== 'local';
  }

  /** The username the gateway's TokenReview gave (after the first hello). */
  get user(): string | undefined {
    return this.#link.user;
  }

  /**
   * What the gateway routes for this developer now (`ls --via`): opens the link (the hello) unless
   * it is open. Rejects with the coded reason it cannot (no token, refused, unreachable).
   */
  catalog(): Promise<Catalog> {
    return this.#link.start();
  }

  async discover(): Promise<DiscoveredApplication[]> {
    const catalog = await this.#link.start();
    return catalog.applications.map((entry) => ({
      application: entry.name,
      namespace: entry.namespace,
      service: this.title,
      port: this.#options.target,
      source: 'service' as const,
      where: entry.namespace,
    }));
  }

  async start(wanted: Wanted, report: SourceReport): Promise<void> {
    this.#wanted = wanted;
    const catalog = await this.#link.start();
    this.#options.events.log('info', `${this.title}: the gateway knows you as ${this.#link.user ?? '?'} and routes ${catalog.applications.length} application${catalog.applications.length === 1 ? '' : 's'} for you`);
    this.#report = report;
    this.#catalogChanged(catalog);
  }

  setWanted(wanted: Wanted): void {
    this.#wanted = wanted;
    this.#publish();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#report = undefined;
      this.#link.close();
      await this.#options.onClose?.();
    })();
    return this.#closing;
  }

  #catalogChanged(catalog: Catalog): void {
    const next = new Map<string, GatewayApplication>();
    for (const entry of catalog.applications) {
      const key = `${entry.namespace}/${entry.name}`;
      const kept = this.#backends.get(key);
      next.set(key, kept?.sameAs(entry) === true ? kept : new GatewayApplication(entry, this.#carrier, this.#triple));
    }
    this.#backends = next;
    this.#unrouted = (catalog.refused ?? []).map((entry) => withheldSentence(this.#options.target, entry));
    this.#publish();
  }

  #publish(): void {
    const report = this.#report;
    if (report === undefined) return;
    const wanted = this.#wanted;
    const offers = [...this.#backends.values()]
      .filter((backend) => wanted === 'all' || ('except' in wanted ? !wanted.except.has(backend.application) : wanted.has(backend.application)))
      .map((backend) => ({backend, where: backend.namespace}));
    report(offers, this.#unrouted);
    const said = this.#unrouted.join('\n');
    if (said !== this.#unroutedSaid) {
      this.#unroutedSaid = said;
      for (const sentence of this.#unrouted) this.#options.events.log('warn', `${this.title}: ${sentence}`);
    }
    const offered = new Set(offers.map((offer) => offer.backend.application));
    for (const application of offered) {
      if (!this.#offered.has(application)) this.#options.events.emit('backend-state-changed', {application, state: 'ready', detail: this.title});
    }
    this.#offered = offered;
  }
}

/**
 * A namespace the gateway withholds from this developer, in the words a consumer reads when it asks
 * for one of its applications (no route): how many there are, the permission that is missing and
 * where to see it. The names stay withheld, as the gateway withholds them.
 */
export function withheldSentence(target: string, entry: RefusedNamespace): string {
  const applications = `${entry.applications} application${entry.applications === 1 ? '' : 's'} in namespace ${entry.namespace}`;
  if (entry.unchecked) {
    return `the gateway ${target} could not check whether you may use the ${applications} (${entry.permission}) and holds them back until it can; dubbo-tunnel doctor --via ${target} shows it`;
  }
  return `the gateway ${target} withholds the ${applications} from you: you lack ${entry.permission} (ask a cluster admin for it; dubbo-tunnel doctor --via ${target} shows what you may use)`;
}
