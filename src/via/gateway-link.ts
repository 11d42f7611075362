import type {Duplex} from 'node:stream';
import type {BackendStream} from '../core/backend.js';
import {BackendError, DubboTunnelError, errorMessage} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import {encodeCatalogRequest, encodeHello, parseCatalog, parseHelloAnswer} from '../gateway/protocol.js';
import type {Catalog} from '../gateway/protocol.js';
import {AnswerReader, valueOf} from './answer-reader.js';

/** How the laptop polls what the gateway routes for it. */
export const CATALOG_POLL_MS = 5000;
/** Between attempts to re-open the gateway stream after it went: doubling up to the cap. */
const REOPEN_FIRST_MS = 500;
const REOPEN_MAX_MS = 30_000;
/**
 * The ids of the link's own requests (hello, catalog). Upstreams number their requests from 1 and
 * their heartbeats from -1 down, so an answer with one of these ids is never theirs: an upstream
 * that shares the stream drops it as unknown, and the link reads it.
 */
const OWN_ID_BASE = 2n ** 52n;

/** Opens one new byte stream to the gateway: TCP to `host:port`, or a port-forward to a ready pod. */
export interface GatewayDialer {
  /** `127.0.0.1:20880`, `svc shop-gw/dubbo-gateway:20880`. */
  describe(): string;
  connect(signal?: AbortSignal): Promise<BackendStream>;
}

/** The developer's credential (src/kube/bearer-token.ts). The token itself is never logged or put in an error. */
export interface GatewayCredential {
  /** The token now (an exec plugin may run). Throws with the fix when there is none. */
  get(): Promise<string>;
  /** The token last got, for HTTP/2 headers. */
  readonly current: string | undefined;
  /** The gateway refused it: get a fresh one next time. */
  forget(): void;
  /** Who the token is, for messages: `user alice of context dev`. */
  describe(): string;
}

export interface GatewayLinkOptions {
  dialer: GatewayDialer;
  credential: GatewayCredential;
  events: TunnelEventBus;
  /** `dubbo-tunnel/<version>`, sent in the hello. */
  client: string;
  /** Shown as the place: `via shop-gw/dubbo-gateway`, `via 10.0.0.5:20880`. */
  name: string;
  /** Tests shorten it. */
  pollMs?: number;
}

/** One stream to the gateway after its hello: the stream, and what the gateway said. */
interface Greeted {
  stream: Duplex;
  remote: string;
  user: string;
  catalog: Catalog;
}

/**
 * The laptop's link to a team gateway. It keeps one authenticated Dubbo stream open (the primary)
 * and polls the catalog on it; the listener's shared upstream for every application through the
 * gateway is that same stream, so a laptop holds one stream to the gateway (one port-forward)
 * whatever its consumers and applications. A second stream (with its own hello) opens only when
 * the listener asks for more while the primary is in use: a saturated stream, or a draining one.
 *
 * The link's own requests use ids no upstream uses (OWN_ID_BASE up), written between frames (an
 * upstream writes each frame in one synchronous call, so a write from a timer never lands inside
 * one), and their answers are picked out of the stream by their ids: the upstream drops them as
 * unknown.
 */
export class GatewayLink {
  readonly name: string;
  readonly #options: GatewayLinkOptions;
  readonly #abort = new AbortController();
  readonly #listeners = new Set<(catalog: Catalog) => void>();
  readonly #stateListeners = new Set<(up: boolean, detail: string) => void>();
  #primary: (Greeted & {leased: boolean; reader: AnswerReader}) | undefined;
  /**
   * The other streams the listener uses, each read from its first frame on, so that one takes the
   * primary's place when the primary goes (the listener moved off a draining gateway pod onto one)
   * rather than a laptop keeping a stream it uses and another it only polls on.
   */
  readonly #extras = new Set<Greeted & {reader: AnswerReader}>();
  /** Hellos of streams the listener asked for, under way: the first to finish may become the primary. */
  #greeting = 0;
  #opening: Promise<Greeted> | undefined;
  #catalog: Catalog | undefined;
  #user: string | undefined;
  #nextId = OWN_ID_BASE;
  #pollTimer: NodeJS.Timeout | undefined;
  #reopenTimer: NodeJS.Timeout | undefined;
  #reopenDelay = REOPEN_FIRST_MS;
  #lastFailure: string | undefined;
  #closed = false;

  constructor(options: GatewayLinkOptions) {
    this.#options = options;
    this.name = options.name;
  }

  /** The last catalog the gateway sent; undefined before the first hello. */
  get catalog(): Catalog | undefined {
    return this.#catalog;
  }

  /** The username the gateway's TokenReview gave. */
  get user(): string | undefined {
    return this.#user;
  }

  /** True while the primary stream (the one the catalog is polled on) is open. */
  get primaryOpen(): boolean {
    return this.#primary !== undefined;
  }

  /** Called with every catalog whose generation or content changed. */
  onCatalog(listener: (catalog: Catalog) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called when the primary stream goes (false, why) or is back (true). */
  onState(listener: (up: boolean, detail: string) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /** Opens the primary stream (hello) unless it is open; resolves with the catalog. Rejects with the reason it cannot. */
  async start(): Promise<Catalog> {
    if (this.#primary === undefined) await this.#openPrimary();
    const catalog = this.#catalog;
    if (catalog === undefined) throw new DubboTunnelError('DT_ERR_GATEWAY_PROTOCOL', `${this.name}: no catalog`);
    return catalog;
  }

  /**
   * A stream for the listener's Dubbo upstream: the primary when it is free, else a new stream
   * with its own hello. Rejects with a BackendError that says why (the gateway refused the token,
   * cannot be reached).
   */
  async connect(signal?: AbortSignal): Promise<BackendStream> {
    if (this.#closed) throw new BackendError(`${this.name}: dubbo-tunnel is stopping`, {code: 'DT_ERR_SHUTTING_DOWN'});
    if (this.#primary === undefined) {
      try {
        await this.#openPrimary();
      } catch (error) {
        throw asBackendError(this.name, error);
      }
    }
    const primary = this.#primary;
    if (primary !== undefined && !primary.leased && !primary.stream.destroyed) {
      primary.leased = true;
      return {stream: primary.stream, remote: primary.remote};
    }
    this.#greeting++;
    let greeted: Greeted;
    try {
      greeted = await this.#greet(signal);
    } catch (error) {
      this.#greeting--;
      if (this.#primary === undefined && this.#greeting === 0 && !this.#closed) this.#reopenSoon('the primary stream closed');
      throw asBackendError(this.name, error);
    }
    this.#greeting--;
    const extra = this.#keepAsExtra(greeted);
    // The primary went while this hello was under way: this stream, which the listener uses, takes its place.
    if (this.#primary === undefined && this.#opening === undefined) this.#promote(extra);
    return {stream: greeted.stream, remote: greeted.remote};
  }

  #promote(extra: Greeted & {reader: AnswerReader}): void {
    if (this.#closed) return;
    this.#extras.delete(extra);
    clearTimeout(this.#reopenTimer);
    this.#reopenTimer = undefined;
    this.#adopt(extra, extra);
  }

  #keepAsExtra(greeted: Greeted): Greeted & {reader: AnswerReader} {
    const extra = {...greeted, reader: new AnswerReader(greeted.stream, (id) => id >= OWN_ID_BASE)};
    this.#extras.add(extra);
    greeted.stream.once('close', () => {
      if (!this.#extras.delete(extra)) return;
      extra.reader.fail(`${this.name}: the stream closed`);
    });
    return extra;
  }

  /** A plain stream to the gateway's port (HTTP/2 is told apart by its preface there; no hello). */
  async connectRaw(signal?: AbortSignal): Promise<BackendStream> {
    if (this.#closed) throw new BackendError(`${this.name}: dubbo-tunnel is stopping`, {code: 'DT_ERR_SHUTTING_DOWN'});
    try {
      await this.#options.credential.get();
      return await this.#options.dialer.connect(signal ?? this.#abort.signal);
    } catch (error) {
      throw asBackendError(this.name, error);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    clearInterval(this.#pollTimer);
    clearTimeout(this.#reopenTimer);
    this.#primary?.stream.destroy();
    this.#primary = undefined;
    for (const extra of this.#extras) extra.reader.detach();
    this.#extras.clear();
    this.#listeners.clear();
    this.#stateListeners.clear();
  }

  #openPrimary(): Promise<Greeted> {
    this.#opening ??= this.#greet(this.#abort.signal).then((greeted) => {
      this.#adopt(greeted);
      return greeted;
    }).finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  /**
   * Takes a greeted stream as the primary: polls on it, and when it goes, takes an extra stream the
   * listener still uses in its place, or opens another.
   */
  #adopt(greeted: Greeted, promoted?: Greeted & {reader: AnswerReader}): void {
    if (this.#closed) {
      greeted.stream.destroy();
      return;
    }
    const reader = promoted?.reader ?? new AnswerReader(greeted.stream, (id) => id >= OWN_ID_BASE);
    const primary = {...greeted, leased: promoted !== undefined, reader};
    this.#primary = primary;
    this.#reopenDelay = REOPEN_FIRST_MS;
    this.#user = greeted.user;
    this.#setCatalog(greeted.catalog);
    if (this.#lastFailure !== undefined) {
      this.#lastFailure = undefined;
      this.#options.events.log('info', `${this.name}: connected again (${greeted.remote})`);
    }
    for (const listener of [...this.#stateListeners]) listener(true, greeted.remote);
    greeted.stream.once('close', () => {
      if (this.#primary !== primary) return;
      this.#primary = undefined;
      reader.fail(`${this.name}: the stream closed`);
      const successor = [...this.#extras].find((extra) => !extra.stream.destroyed);
      if (successor !== undefined && !this.#closed) {
        this.#promote(successor);
        return;
      }
      // A stream the listener asked for is being greeted: it takes the primary's place (connect()).
      if (this.#greeting > 0) return;
      // A stream whose last consumer left is closed by the listener: the normal end, opened again quietly.
      const why = primary.leased ? 'the shared stream closed' : 'the gateway closed the stream';
      if (!this.#closed) this.#reopenSoon(why, primary.leased ? 0 : undefined);
    });
    this.#pollTimer ??= setInterval(() => void this.#poll(), this.#options.pollMs ?? CATALOG_POLL_MS);
    this.#pollTimer.unref();
  }

  #reopenSoon(why: string, delayMs = this.#reopenDelay): void {
    clearTimeout(this.#reopenTimer);
    this.#reopenTimer = setTimeout(() => {
      this.#reopenTimer = undefined;
      if (this.#closed || this.#primary !== undefined) return;
      this.#openPrimary().catch((error: unknown) => {
        const text = errorMessage(error);
        if (text !== this.#lastFailure) {
          this.#lastFailure = text;
          this.#options.events.log('warn', `${this.name}: ${text}; trying again`);
          for (const listener of [...this.#stateListeners]) listener(false, text);
        }
        this.#reopenDelay = Math.min(REOPEN_MAX_MS, this.#reopenDelay * 2);
        this.#reopenSoon(text);
      });
    }, delayMs);
    this.#reopenTimer.unref();
    if (delayMs > 0) this.#options.events.log('debug', `${this.name}: ${why}; opening another in ${delayMs} ms`);
  }

  async #poll(): Promise<void> {
    const primary = this.#primary;
    if (primary === undefined || this.#closed) return;
    try {
      // Keeps the token an HTTP/2 stream's header carries fresh (exec plugins renew it as it expires).
      await this.#options.credential.get();
      const id = this.#nextId++;
      const answer = primary.reader.expect(id);
      primary.stream.write(encodeCatalogRequest(id));
      const value = valueOf(await answer, 'catalog');
      this.#setCatalog(parseCatalog(value));
    } catch (error) {
      if (this.#primary !== primary) return;
      this.#options.events.log('warn', `${this.name}: catalog poll failed: ${errorMessage(error)}`);
      // A refusal on an authenticated stream means the gateway no longer accepts it: start again.
      if (error instanceof DubboTunnelError && error.code.startsWith('DT_ERR_GATEWAY_')) primary.stream.destroy();
    }
  }

  #setCatalog(catalog: Catalog): void {
    const previous = this.#catalog;
    this.#catalog = catalog;
    if (previous !== undefined && previous.generation === catalog.generation && JSON.stringify(previous.applications) === JSON.stringify(catalog.applications)) return;
    for (const listener of [...this.#listeners]) listener(catalog);
  }

  /** Opens a stream, sends the hello with the developer's token, and reads the answer. */
  async #greet(signal?: AbortSignal): Promise<Greeted> {
    const token = await this.#options.credential.get();
    const opened = await this.#options.dialer.connect(signal);
    const {stream, remote} = opened;
    const id = this.#nextId++;
    const reader = new AnswerReader(stream, (candidate) => candidate === id);
    try {
      const answer = reader.expect(id);
      stream.write(encodeHello(id, token, this.#options.client));
      const hello = parseHelloAnswer(valueOf(await answer, 'hello'));
      return {stream, remote, user: hello.user, catalog: hello.catalog};
    } catch (error) {
      stream.destroy();
      if (error instanceof DubboTunnelError && error.code === 'DT_ERR_GATEWAY_UNAUTHENTICATED') this.#options.credential.forget();
      throw error;
    } finally {
      reader.detach();
    }
  }
}

function asBackendError(name: string, error: unknown): BackendError {
  if (error instanceof BackendError) return error;
  const code = error instanceof DubboTunnelError ? error.code : 'DT_ERR_BACKEND_UNAVAILABLE';
  const hint = error instanceof DubboTunnelError ? error.hint : undefined;
  return new BackendError(`${name}: ${errorMessage(error)}`, {code, cause: error, ...(hint === undefined ? {} : {hint})});
}
