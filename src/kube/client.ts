import http from 'node:http';
import type {ClientRequest, IncomingMessage} from 'node:http';
import https from 'node:https';
import type {KubeConfig} from '@kubernetes/client-node';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import {ExecPluginError, KubeAuthError, KubeRequestError, WatchInactiveError} from './errors.js';
import type {ErrorScene, ResourceRef} from './errors.js';
import type {KubeObject, KubeStatus, WatchEvent} from './types.js';

/** Connection options as client-node's auth layer fills them (agent, headers, TLS material). */
export interface ConnectionOptions extends https.RequestOptions {
  headers?: Record<string, string | string[] | number>;
}

export type Query = Record<string, string | undefined>;

/** How a watch request ended when it did not fail. */
export type WatchEnd = 'closed' | 'aborted';

const USER_AGENT = 'dubbo-tunnel';
const DEFAULT_TIMEOUT_MS = 30_000;
/** After this long without response headers, say that we are waiting (a server that accepts but is silent). */
const WAITING_NOTICE_MS = 3000;
const WATCH_HEADERS_TIMEOUT_MS = 10_000;

/**
 * A small GET/watch client on top of client-node's auth layer: every request gets its agent,
 * TLS material and Authorization header from `kc.applyToHTTPSOptions` (exec plugins, OIDC,
 * client certificates, proxies: all client-node's). We do the HTTP ourselves because we need what
 * client-node 1.4.0's generated clients and `Watch` do not give: the Status body of a failed watch
 * (to name the missing permission), a byte-level inactivity timeout, request timeouts, and an abort
 * that is not reported as an error.
 */
export class KubeClient {
  readonly server: string;
  readonly contextName: string;
  readonly #kc: KubeConfig;
  readonly #onUnauthorized: (() => void) | undefined;
  readonly #onWaiting: ((message: string, answered: boolean) => void) | undefined;
  readonly #onStalled: ((what: string) => void) | undefined;
  readonly #onAnswered: (() => void) | undefined;
  readonly #waitingNoticeMs: number;
  /** A "waiting for the API server" notice is out and no answer has come since (one notice per silence). */
  #waitingSaid = false;

  /**
   * `onUnauthorized` runs on every 401 (e.g. to drop a cached exec credential); `onWaiting` once when a
   * request has had no answer for `waitingNoticeMs` (default 3 s), and again only after an answer came.
   * `onStalled` runs whenever a request has had no answer for that long (`what` names it), and
   * `onAnswered` on every answer and every chunk of a watch: the signs of a stalled API server and
   * of its end (api-stall.ts).
   */
  constructor(kc: KubeConfig, info: {server: string; contextName: string; onUnauthorized?: () => void; onWaiting?: (message: string, answered: boolean) => void; onStalled?: (what: string) => void; onAnswered?: () => void; waitingNoticeMs?: number}) {
    this.#kc = kc;
    this.server = info.server.replace(/\/+$/, '');
    this.contextName = info.contextName;
    this.#onUnauthorized = info.onUnauthorized;
    this.#onWaiting = info.onWaiting;
    this.#onStalled = info.onStalled;
    this.#onAnswered = info.onAnswered;
    this.#waitingNoticeMs = info.waitingNoticeMs ?? WAITING_NOTICE_MS;
  }

  /** The server said 401: credentials kept for reuse are stale. */
  unauthorized(): void {
    this.#onUnauthorized?.();
  }

  get scene(): ErrorScene {
    return {server: this.server, contextName: this.contextName};
  }

  /** Runs client-node's authenticators; exec plugins run here (and cache their token). */
  async connectionOptions(): Promise<ConnectionOptions> {
    const options: ConnectionOptions = {};
    try {
      await this.#kc.applyToHTTPSOptions(options);
    } catch (error) {
      if (error instanceof ExecPluginError) throw error;
      // client-node puts an exec plugin's whole stderr into the message; keep it short.
      const text = errorMessage(error).trim().split('\n').filter((line) => line.trim() !== '').slice(-3).join(' / ');
      throw new KubeAuthError(text === '' ? 'the credential plugin failed without a message' : text, {cause: error});
    }
    return options;
  }

  url(pathname: string, query: Query = {}): URL {
    const url = new URL(this.server + pathname);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
    return url;
  }

  /** GET a JSON document. Non-2xx answers throw KubeRequestError with the decoded Status. */
  async getJson<T>(pathname: string, query: Query, ref: ResourceRef, options: {signal?: AbortSignal; timeoutMs?: number} = {}): Promise<T> {
    return this.#json<T>(pathname, query, ref, options, undefined);
  }

  /** POST a JSON body (e.g. a SelfSubjectAccessReview) and read the JSON answer; errors as getJson. */
  async postJson<T>(pathname: string, body: unknown, ref: ResourceRef, options: {signal?: AbortSignal; timeoutMs?: number} = {}): Promise<T> {
    return this.#json<T>(pathname, {}, ref, options, JSON.stringify(body));
  }

  async #json<T>(pathname: string, query: Query, ref: ResourceRef, options: {signal?: AbortSignal; timeoutMs?: number}, body: string | undefined): Promise<T> {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const {response, done} = await this.#open(pathname, query, signal, body);
    let text: string;
    try {
      text = await readBody(response);
    } finally {
      done();
    }
    const status = response.statusCode ?? 0;
    if (status === 401) this.unauthorized();
    if (status < 200 || status > 299) throw new KubeRequestError(status, parseStatus(text), ref);
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new DubboTunnelError('DT_ERR_KUBE_API', `the API server sent invalid JSON for ${pathname}: ${errorMessage(error)}`, {
        hint: 'check that the kubeconfig\'s server URL points at a Kubernetes API server, not a proxy or web page',
        cause: error,
      });
    }
  }

  /**
   * One watch request. Calls `onEvent` per event line, resolves 'closed' when the response ends
   * (cleanly or not) and 'aborted' when `signal` fires. Rejects with KubeRequestError for an HTTP error or a
   * watch ERROR event (410 Gone included), and with WatchInactiveError when no byte arrives for
   * `inactivityMs` (a half-dead connection otherwise hangs forever).
   */
  async watch<T extends KubeObject>(pathname: string, query: Query, ref: ResourceRef, options: {
    signal: AbortSignal;
    inactivityMs: number;
    onEvent: (event: WatchEvent<T>) => void;
    /** The server accepted the watch (status 200 headers), before any event. */
    onOpen?: () => void;
  }): Promise<WatchEnd> {
    const {signal} = options;
    if (signal.aborted) return 'aborted';
    // The wait for response headers gets the same limit as the silence between events, at most 10 s:
    // a healthy server answers a watch at once, so a silent one is a stalled server (reported).
    const headersTimeout = AbortSignal.timeout(Math.min(options.inactivityMs, WATCH_HEADERS_TIMEOUT_MS));
    let opened: Opened;
    try {
      opened = await this.#open(pathname, {...query, watch: 'true'}, AbortSignal.any([signal, headersTimeout]));
    } catch (error) {
      if (signal.aborted) return 'aborted';
      throw error;
    }
    const {request, response} = opened;
    // From here on only `signal` (stop) and our own inactivity timer end the watch.
    opened.done();
    const status = response.statusCode ?? 0;
    if (status !== 200) {
      if (status === 401) this.unauthorized();
      const body = await readBody(response).catch(() => '');
      throw new KubeRequestError(status, parseStatus(body), ref);
    }
    options.onOpen?.();
    return await new Promise<WatchEnd>((resolve, reject) => {
      let settled = false;
      let pending = '';
      let timer: NodeJS.Timeout | undefined;
      const finish = (error: Error | undefined, end: WatchEnd = 'closed'): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        request.destroy();
        if (signal.aborted) resolve('aborted');
        else if (error) reject(error);
        else resolve(end);
      };
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(new WatchInactiveError(options.inactivityMs)), options.inactivityMs);
      };
      const onAbort = (): void => finish(undefined, 'aborted');
      signal.addEventListener('abort', onAbort, {once: true});
      arm();
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        arm();
        this.#onAnswered?.();
        pending += chunk;
        let newline = pending.indexOf('\n');
        while (newline !== -1 && !settled) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          newline = pending.indexOf('\n');
          if (line === '') continue;
          let event: WatchEvent<T>;
          try {
            event = JSON.parse(line) as WatchEvent<T>;
          } catch {
            continue; // a garbled line is skipped; the next list/watch repairs the cache
          }
          if (event.type === 'ERROR') {
            const body = event.object as KubeStatus;
            finish(new KubeRequestError(body.code ?? 500, body, ref));
            return;
          }
          options.onEvent(event);
        }
      });
      // Once the watch is established, its end is normal whichever way it comes (the server's
      // timeoutSeconds, a load balancer cutting the connection, an API server restart): the caller
      // resumes from its resourceVersion, and reconnect errors are reported from there.
      response.on('end', () => finish(undefined));
      response.on('error', () => finish(undefined));
      response.on('close', () => finish(undefined));
    });
  }

  /**
   * Sends a GET (a POST when there is a body) and resolves on the response headers. `signal`
   * aborting destroys the request (and the response body) until `done()` is called.
   */
  async #open(pathname: string, query: Query, signal: AbortSignal, body?: string): Promise<Opened> {
    const options = await this.connectionOptions();
    signal.throwIfAborted();
    const url = this.url(pathname, query);
    const transport = url.protocol === 'https:' ? https : http;
    return await new Promise((resolve, reject) => {
      const request = transport.request(url, {
        method: body === undefined ? 'GET' : 'POST',
        agent: options.agent,
        auth: options.auth,
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        rejectUnauthorized: options.rejectUnauthorized,
        servername: options.servername,
        headers: {
          ...options.headers,
          'Accept': 'application/json',
          'User-Agent': USER_AGENT,
          ...(body === undefined ? {} : {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)}),
        },
      });
      const onAbort = (): void => {
        request.destroy(abortReason(signal, url));
      };
      const started = Date.now();
      const waiting = this.#onWaiting === undefined && this.#onStalled === undefined ? undefined : setTimeout(() => {
        const what = `no answer for ${Math.round((Date.now() - started) / 1000)} s to ${body === undefined ? 'GET' : 'POST'} ${pathname}`;
        this.#onStalled?.(what);
        if (this.#waitingSaid) return;
        this.#waitingSaid = true;
        this.#onWaiting?.(`waiting for the API server ${this.server}: ${what}`, false);
      }, this.#waitingNoticeMs);
      waiting?.unref();
      const done = (): void => signal.removeEventListener('abort', onAbort);
      signal.addEventListener('abort', onAbort, {once: true});
      request.on('response', (response) => {
        clearTimeout(waiting);
        this.#onAnswered?.();
        if (this.#waitingSaid) {
          this.#waitingSaid = false;
          this.#onWaiting?.(`the API server ${this.server} answers again (after ${((Date.now() - started) / 1000).toFixed(1)} s)`, true);
        }
        resolve({request, response, done});
      });
      request.on('error', (error) => {
        clearTimeout(waiting);
        done();
        reject(error);
      });
      request.end(body);
    });
  }
}

interface Opened {
  request: ClientRequest;
  response: IncomingMessage;
  /** Stop tying the request to the signal. */
  done: () => void;
}

/** The signal's reason as an Error: TimeoutError from AbortSignal.timeout, else AbortError. */
function abortReason(signal: AbortSignal, url: URL): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    const error = new Error(`no answer from ${url.origin} in time`);
    error.name = 'TimeoutError';
    return error;
  }
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}

async function readBody(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  for await (const chunk of response) text += chunk as string;
  return text;
}

/** The Status object of an error body; undefined when the body is not JSON (e.g. a proxy's HTML page). */
export function parseStatus(text: string): KubeStatus | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    return value;
  } catch {
    return text.trim() === '' ? undefined : {message: text.trim().slice(0, 200)};
  }
}
