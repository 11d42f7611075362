import type {KubeClient} from './client.js';
import {KubeRequestError, WatchInactiveError} from './errors.js';
import type {ResourceRef} from './errors.js';
import type {KubeList, KubeObject, WatchEvent} from './types.js';
import {objectKey} from './types.js';

/** Exponential backoff with jitter. `reset()` only after a real success (a list, or an event). */
export class Backoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: {baseMs?: number; maxMs?: number; random?: () => number} = {}) {
    this.#baseMs = options.baseMs ?? 250;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#random = options.random ?? Math.random;
  }

  /** The next delay: half fixed, half random ("equal jitter"), so retries of many clients spread out. */
  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#baseMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(ceiling / 2 + (ceiling / 2) * this.#random());
  }

  reset(): void {
    this.#attempt = 0;
  }

  get attempt(): number {
    return this.#attempt;
  }
}

export interface ListWatchOptions<T extends KubeObject> {
  /** Collection path, e.g. `/api/v1/namespaces/dev/services` or `/apis/networking.k8s.io/v1/ingresses`. */
  path: string;
  /** What is listed and watched, for error messages (verb is filled in per request). */
  resource: Omit<ResourceRef, 'verb'>;
  labelSelector?: string;
  /** Called (coalesced per tick) whenever the cache changed: after each list and after events. */
  onChange: (items: ReadonlyMap<string, T>) => void;
  /** A list or watch failed after the first successful list; the loop retries after `retryInMs`. */
  onError?: (error: unknown, retryInMs: number, ref: ResourceRef) => void;
  /** The first list or event after errors succeeded. */
  onRecovered?: () => void;
  /**
   * start() also waits for the first watch's response headers (not for events), and rejects when
   * that watch is refused with 401/403: a missing `watch` permission that retrying cannot fix.
   */
  confirmWatch?: boolean;
  /** Abort and resume a watch that sent no byte for this long. Default 60 s. */
  inactivityMs?: number;
  backoff?: Backoff;
}

/**
 * A list+watch loop keeping a cache of one collection, written for client-node 1.4.0, whose
 * informer has neither a backoff nor an inactivity timeout (and reports its own stop() as an error).
 *
 * - resumes a watch from the last resourceVersion seen (events and BOOKMARKs, which we ask for);
 * - re-lists on 410 Gone, whether it comes as the HTTP status or as a watch ERROR event;
 * - aborts and resumes a watch that is silent for `inactivityMs`;
 * - backs off exponentially with jitter on errors, and resets only after a real success;
 * - stop() ends everything quietly.
 */
export class ListWatch<T extends KubeObject> {
  readonly #client: KubeClient;
  readonly #options: ListWatchOptions<T>;
  readonly #items = new Map<string, T>();
  readonly #stop = new AbortController();
  readonly #backoff: Backoff;
  #resourceVersion: string | undefined;
  #synced = false;
  #failing = false;
  #notifyScheduled = false;
  #loop: Promise<void> | undefined;
  /** Settles start() once the first watch request was answered; undefined afterwards. */
  #firstWatch: {resolve: () => void; reject: (error: unknown) => void} | undefined;

  constructor(client: KubeClient, options: ListWatchOptions<T>) {
    this.#client = client;
    this.#options = options;
    this.#backoff = options.backoff ?? new Backoff();
  }

  /** The current cache (do not mutate). */
  get items(): ReadonlyMap<string, T> {
    return this.#items;
  }

  /** True once the first list succeeded. */
  get synced(): boolean {
    return this.#synced;
  }

  /**
   * Lists once and starts watching. Resolves after the first successful list; rejects (and stops)
   * when that first list fails, so callers can report e.g. a missing permission right away. With
   * `confirmWatch`, likewise for the first watch (any error but 401/403 is retried as usual).
   */
  async start(): Promise<void> {
    if (this.#loop) throw new Error('ListWatch already started');
    await this.#list();
    if (this.#options.confirmWatch !== true) {
      this.#loop = this.#run();
      return;
    }
    const firstWatch = new Promise<void>((resolve, reject) => {
      this.#firstWatch = {resolve, reject};
    });
    this.#loop = this.#run();
    try {
      await firstWatch;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Stops the loop and any open watch request; never reports an error. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  #ref(verb: string): ResourceRef {
    return {verb, ...this.#options.resource};
  }

  async #list(): Promise<void> {
    const list = await this.#client.getJson<KubeList<T>>(this.#options.path, {labelSelector: this.#options.labelSelector}, this.#ref('list'), {signal: this.#stop.signal});
    this.#items.clear();
    for (const item of list.items ?? []) this.#items.set(objectKey(item), item);
    this.#resourceVersion = list.metadata?.resourceVersion;
    this.#synced = true;
    this.#succeeded();
    this.#notify();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        if (this.#resourceVersion === undefined) await this.#list();
        let events = 0;
        const startedAt = Date.now();
        const end = await this.#client.watch<T>(this.#options.path, {
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: 'true',
          labelSelector: this.#options.labelSelector,
          // Ask the server to end the watch after 5-10 minutes (as client-go's reflector does), so
          // connections are recycled even where nothing is ever sent.
          timeoutSeconds: String(300 + Math.floor(Math.random() * 300)),
        }, this.#ref('watch'), {
          signal,
          inactivityMs: this.#options.inactivityMs ?? 60_000,
          onOpen: () => {
            this.#settleStart();
            // The server answers again: say so now, not at the next event (a quiet namespace on a
            // real cluster may send none, nor a bookmark, for minutes). The back-off is reset only
            // by data, so a server that closes every watch at once still backs off.
            this.#recovered();
          },
          onEvent: (event) => {
            events += 1;
            this.#apply(event);
          },
        });
        if (end === 'aborted') break;
        // A watch the server closes at once without any event, again and again, must not spin.
        if (events === 0 && Date.now() - startedAt < 1000) await this.#sleep(this.#backoff.next());
      } catch (error) {
        if (signal.aborted) break;
        // A permission refused before anyone relied on this loop is reported, not retried forever.
        if (this.#firstWatch && isRefused(error)) {
          this.#settleStart(error);
          break;
        }
        this.#settleStart();
        if (isGone(error)) {
          // Our resourceVersion is older than the server keeps: start over with a fresh list.
          this.#resourceVersion = undefined;
          continue;
        }
        if (error instanceof WatchInactiveError) continue; // resume from the last resourceVersion
        const delay = this.#backoff.next();
        this.#failing = true;
        this.#options.onError?.(error, delay, this.#ref(this.#resourceVersion === undefined ? 'list' : 'watch'));
        await this.#sleep(delay);
      }
    }
    this.#settleStart();
  }

  #settleStart(error?: unknown): void {
    const first = this.#firstWatch;
    if (!first) return;
    this.#firstWatch = undefined;
    if (error === undefined) first.resolve();
    else first.reject(error);
  }

  #apply(event: WatchEvent<T>): void {
    const version = event.object.metadata?.resourceVersion;
    if (version !== undefined && version !== '') this.#resourceVersion = version;
    this.#succeeded();
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
        this.#items.set(objectKey(event.object), event.object);
        this.#notify();
        break;
      case 'DELETED':
        this.#items.delete(objectKey(event.object));
        this.#notify();
        break;
      case 'BOOKMARK':
      case 'ERROR':
        break;
    }
  }

  #succeeded(): void {
    this.#backoff.reset();
    this.#recovered();
  }

  #recovered(): void {
    if (this.#failing) {
      this.#failing = false;
      this.#options.onRecovered?.();
    }
  }

  /** Coalesces a burst of events (one chunk of a watch, a relist) into one onChange call. */
  #notify(): void {
    if (this.#notifyScheduled) return;
    this.#notifyScheduled = true;
    queueMicrotask(() => {
      this.#notifyScheduled = false;
      if (!this.#stop.signal.aborted) this.#options.onChange(this.#items);
    });
  }

  #sleep(ms: number): Promise<void> {
    const signal = this.#stop.signal;
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, {once: true});
    });
  }
}

/** 401 or 403: credentials or a permission (here the `watch` verb) are missing, not a passing fault. */
function isRefused(error: unknown): boolean {
  return error instanceof KubeRequestError && (error.status === 401 || error.status === 403);
}

export function isGone(error: unknown): boolean {
  return error instanceof KubeRequestError && (error.status === 410 || error.body?.reason === 'Expired' || error.body?.reason === 'Gone');
}
