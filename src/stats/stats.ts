import {isFailingState} from '../core/backend.js';
import type {BackendState} from '../core/backend.js';
import type {LearnedServices, LogLevel, RequestCompleted, TunnelEventBus, TunnelEvents} from '../core/events.js';
import {awaitedText, drainedText, drainingText, logLevelRank} from '../core/events.js';
import {LatencyWindow} from './latency-window.js';
import {LogRing, buildEventEntry, buildRequestEntry, mergeBySeq} from './recent-log.js';
import type {EventInput, EventLogEntry, LogEntry, RequestLogEntry} from './recent-log.js';

export type {EventLogEntry, LogEntry, RequestLogEntry} from './recent-log.js';

/**
 * Live statistics for displays, fed only by the TunnelEventBus.
 *
 * Built for `useSyncExternalStore`: `subscribe(listener)` and `getSnapshot()`, where the snapshot is
 * an immutable object whose identity changes only when something changed. Two rules keep it cheap
 * at thousands of requests per second:
 * - per request the work is O(1) and allocates nothing of its own (counters, a Float64Array ring of
 *   latencies, a ring of references to the event payloads);
 * - listeners are notified at most once per `throttleMs` (trailing edge), and the snapshot (sorting
 *   latencies for percentiles, building log entries) is built lazily when someone asks for it.
 */

/** `idle`: routed, but the backend has not reported a state yet (static backends never do). */
export type ApplicationState = BackendState | 'idle';

export interface ApplicationRow {
  readonly application: string;
  readonly state: ApplicationState;
  /** Why the state is what it is (e.g. the error), when the backend said. */
  readonly detail: string | undefined;
  /** The pod (or `host:port`) currently serving, when known. */
  readonly pod: string | undefined;
  readonly requests: number;
  readonly errors: number;
  /** Percentiles over the last `latencyWindow` requests; undefined before the first request. */
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  /** Milliseconds since the epoch of the last request or upstream change; undefined when none yet. */
  readonly lastActivity: number | undefined;
  /** Upstream streams open right now. */
  readonly upstreams: number;
  /** Dubbo requests waiting for their answers on its streams (the last 'upstream-streams' event). */
  readonly inFlight: number;
  /** Where it is routed from (`local`, a namespace or context) when the session has several places. */
  readonly origin?: string;
  /** What `up` learned it exports (the last 'services-learned' event); undefined before learning started. */
  readonly services: LearnedServices | undefined;
}

export interface StatsTotals {
  readonly requests: number;
  readonly errors: number;
  readonly connectionsOpen: number;
  readonly connections: number;
  readonly refused: number;
}

export interface StatsSnapshot {
  /** `host:port` strings consumers can use. */
  readonly addresses: readonly string[];
  readonly port: number | undefined;
  /** What consumers put before the address: `tri` when every routed application has only a Triple port. */
  readonly scheme: 'dubbo' | 'tri';
  /** One row per routed application, in the order they were routed. */
  readonly applications: readonly ApplicationRow[];
  /** Recent requests and events, oldest first (at most `requestLogSize + eventLogSize`). */
  readonly log: readonly LogEntry[];
  readonly totals: StatsTotals;
  /** What the session waits for while it routes nothing (`waiting for Dubbo backends in …`); undefined once something is routed. */
  readonly awaiting: string | undefined;
  /**
   * While a stop waits for the answers in flight: `draining 16 calls (…)`, then how the wait ended
   * (`ended`); undefined before a stop, or when nothing was in flight.
   */
  readonly drain: {readonly text: string; readonly ended: boolean} | undefined;
}

export interface StatsStoreOptions {
  /** Minimum interval between listener notifications. Default 150 ms. */
  throttleMs?: number;
  /** Latencies kept per application for percentiles. Default 1024. */
  latencyWindow?: number;
  /** Recent requests kept for the log. Default 500. */
  requestLogSize?: number;
  /** Recent events kept for the log (separately, so a request flood cannot push them out). Default 200. */
  eventLogSize?: number;
  /** Lowest `log` event level that goes into the event log. Default 'info'. */
  logLevel?: LogLevel;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
  /** What is known before the first event (a session that started before the store subscribed). */
  initial?: {addresses?: readonly string[]; port?: number; applications?: readonly string[]};
}


interface MutableApp {
  application: string;
  state: ApplicationState;
  detail: string | undefined;
  pod: string | undefined;
  requests: number;
  errors: number;
  lastActivity: number | undefined;
  upstreams: number;
  inFlight: number;
  services: LearnedServices | undefined;
  latencies: LatencyWindow;
  /** The row built for the last snapshot; reused while nothing changed. */
  row: ApplicationRow | undefined;
}

export class StatsStore {
  readonly #bus: TunnelEventBus;
  readonly #throttleMs: number;
  readonly #latencyWindow: number;
  readonly #minLevel: number;
  readonly #now: () => number;
  readonly #listeners = new Set<() => void>();
  readonly #apps = new Map<string, MutableApp>();
  /** Applications shown, in routing order; rows outside it are kept (stats survive re-selection) but hidden. */
  #routed: string[] = [];
  #origins: Readonly<Record<string, string>> = {};
  #awaiting: string | undefined;
  #drain: StatsSnapshot['drain'];
  #addresses: readonly string[] = [];
  #port: number | undefined;
  #scheme: 'dubbo' | 'tri' = 'dubbo';
  readonly #requests: LogRing<RequestCompleted, RequestLogEntry>;
  readonly #events: LogRing<EventInput, EventLogEntry>;
  #seq = 0;
  #totalRequests = 0;
  #totalErrors = 0;
  #connectionsOpen = 0;
  #connections = 0;
  #refused = 0;
  #dirty = true;
  #snapshot: StatsSnapshot | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastNotify = Number.NEGATIVE_INFINITY;
  #disposed = false;
  readonly #unsubscribers: (() => void)[] = [];

  constructor(bus: TunnelEventBus, options: StatsStoreOptions = {}) {
    this.#bus = bus;
    this.#throttleMs = options.throttleMs ?? 150;
    this.#latencyWindow = options.latencyWindow ?? 1024;
    this.#minLevel = logLevelRank(options.logLevel ?? 'info');
    this.#now = options.now ?? Date.now;
    this.#requests = new LogRing(options.requestLogSize ?? 500, buildRequestEntry);
    this.#events = new LogRing(options.eventLogSize ?? 200, buildEventEntry);
    const initial = options.initial ?? {};
    this.#addresses = [...(initial.addresses ?? [])];
    this.#port = initial.port;
    if (initial.applications) this.setApplications(initial.applications);

    this.#on('listening', ({addresses, port, scheme}) => {
      this.#addresses = [...addresses];
      this.#port = port;
      this.#scheme = scheme ?? 'dubbo';
      this.#changed();
    });
    this.#on('connection-opened', () => {
      this.#connectionsOpen++;
      this.#connections++;
      this.#changed();
    });
    this.#on('connection-closed', ({peer, reason}) => {
      this.#connectionsOpen = Math.max(0, this.#connectionsOpen - 1);
      if (reason !== undefined) this.#event('warn', undefined, `closed consumer ${peer}: ${reason}`);
      this.#changed();
    });
    this.#on('connection-refused', ({peer, reason}) => {
      this.#refused++;
      this.#event('warn', undefined, `refused connection from ${peer}: ${reason}`);
      this.#changed();
    });
    this.#on('request-completed', (request) => this.#request(request));
    this.#on('upstream-opened', ({application, remote}) => {
      const app = this.#app(application);
      app.upstreams++;
      app.lastActivity = this.#now();
      app.row = undefined;
      this.#event('info', application, `connected to ${remote}`);
      this.#changed();
    });
    this.#on('upstream-closed', ({application, remote, reason}) => {
      const app = this.#app(application);
      app.upstreams = Math.max(0, app.upstreams - 1);
      app.row = undefined;
      if (reason !== undefined) this.#event('warn', application, `closed ${remote}: ${reason}`);
      this.#changed();
    });
    this.#on('upstream-streams', ({application, inFlight}) => {
      const app = this.#app(application);
      if (app.inFlight === inFlight) return;
      app.inFlight = inFlight;
      app.row = undefined;
      this.#changed();
    });
    this.#on('backend-state-changed', ({application, state, detail, pod}) => {
      const app = this.#app(application);
      const previousPod = app.pod;
      const previousState = app.state;
      app.state = state;
      app.detail = detail;
      if (pod !== undefined) app.pod = pod;
      app.row = undefined;
      if (pod !== undefined && previousPod !== undefined && pod !== previousPod) {
        this.#event('info', application, `pod changed: ${previousPod} -> ${pod}`);
      }
      if (state !== previousState) {
        const level: LogLevel = isFailingState(state) ? 'warn' : 'info';
        const reconnected = state === 'ready' && previousState === 'reconnecting';
        const text = reconnected ? 'tunnel reconnected' : state;
        this.#event(level, application, detail === undefined ? text : `${text}: ${detail}`);
      }
      this.#changed();
    });
    this.#on('services-learned', (learned) => {
      const app = this.#app(learned.application);
      app.services = Object.freeze({...learned, keys: Object.freeze([...learned.keys])});
      app.row = undefined;
      this.#changed();
    });
    this.#on('backends-awaited', (awaited) => {
      this.#awaiting = awaitedText(awaited);
      this.#changed();
    });
    this.#on('draining', (draining) => {
      this.#drain = Object.freeze({text: drainingText(draining), ended: false});
      this.#changed();
    });
    this.#on('drained', (drained) => {
      this.#drain = Object.freeze({text: drainedText(drained), ended: true});
      this.#changed();
    });
    this.#on('routes-changed', ({applications, origins}) => {
      this.#origins = origins ?? {};
      if (applications.length > 0) this.#awaiting = undefined;
      this.setApplications(applications);
    });
    this.#on('log', ({level, message}) => {
      if (logLevelRank(level) < this.#minLevel) return;
      this.#event(level, undefined, message);
      this.#changed();
    });
  }

  /** Listener is called (throttled) after changes; returns the unsubscribe function. */
  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  };

  /** The current immutable snapshot; the same object until something changes. */
  getSnapshot = (): StatsSnapshot => {
    if (this.#dirty || this.#snapshot === undefined) {
      this.#snapshot = this.#build();
      this.#dirty = false;
    }
    return this.#snapshot;
  };

  /** Show exactly these applications (showingSelection calls it when the selection changes). */
  setApplications(applications: readonly string[]): void {
    this.#routed = [...new Set(applications)];
    for (const application of this.#routed) this.#app(application);
    this.#changed();
  }

  /** Stops listening to the bus and drops listeners and the pending notification. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const off of this.#unsubscribers) off();
    this.#unsubscribers.length = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  #on<K extends keyof TunnelEvents>(name: K, handler: (...args: TunnelEvents[K]) => void): void {
    // The bus's typings want the listener in its generic form; the handler matches TunnelEvents[K].
    const listener = handler as unknown as Parameters<TunnelEventBus['on']>[1];
    this.#bus.on(name, listener);
    this.#unsubscribers.push(() => this.#bus.off(name, listener));
  }

  /** Hot path: runs once per request. */
  #request(request: RequestCompleted): void {
    const now = this.#now();
    const failed = !request.ok;
    this.#totalRequests++;
    if (failed) this.#totalErrors++;
    if (request.application !== undefined) {
      const app = this.#app(request.application);
      app.requests++;
      if (failed) app.errors++;
      app.latencies.record(request.latencyMs);
      app.lastActivity = now;
      app.row = undefined;
    }
    this.#requests.push(request, this.#seq++, now);
    this.#changed();
  }

  #app(application: string): MutableApp {
    let app = this.#apps.get(application);
    if (app === undefined) {
      app = {
        application,
        state: 'idle',
        detail: undefined,
        pod: undefined,
        requests: 0,
        errors: 0,
        lastActivity: undefined,
        upstreams: 0,
        inFlight: 0,
        services: undefined,
        latencies: new LatencyWindow(this.#latencyWindow),
        row: undefined,
      };
      this.#apps.set(application, app);
    }
    return app;
  }

  #event(level: LogLevel, application: string | undefined, message: string): void {
    this.#events.push({level, application, message}, this.#seq++, this.#now());
  }

  #changed(): void {
    this.#dirty = true;
    if (this.#timer !== undefined || this.#disposed || this.#listeners.size === 0) return;
    const wait = Math.max(0, this.#lastNotify + this.#throttleMs - this.#now());
    this.#timer = setTimeout(this.#notify, wait);
    // A pending repaint must never keep the process alive after the session stopped.
    this.#timer.unref();
  }

  #notify = (): void => {
    this.#timer = undefined;
    this.#lastNotify = this.#now();
    for (const listener of [...this.#listeners]) listener();
  };

  #build(): StatsSnapshot {
    const rows: ApplicationRow[] = [];
    // Before any selection is known, show whatever has been seen.
    const names = this.#routed.length > 0 ? this.#routed : [...this.#apps.keys()];
    for (const name of names) {
      const app = this.#app(name);
      if (app.row === undefined) {
        const percentiles = app.latencies.percentiles();
        app.row = Object.freeze({
          application: app.application,
          state: app.state,
          detail: app.detail,
          pod: app.pod,
          requests: app.requests,
          errors: app.errors,
          p50Ms: percentiles?.p50,
          p99Ms: percentiles?.p99,
          lastActivity: app.lastActivity,
          upstreams: app.upstreams,
          inFlight: app.inFlight,
          services: app.services,
        });
      }
      const origin = this.#origins[name];
      rows.push(origin === undefined ? app.row : Object.freeze({...app.row, origin}));
    }
    return Object.freeze({
      addresses: this.#addresses,
      port: this.#port,
      scheme: this.#scheme,
      applications: Object.freeze(rows),
      log: Object.freeze(mergeBySeq(this.#requests.entries(), this.#events.entries())),
      totals: Object.freeze({
        requests: this.#totalRequests,
        errors: this.#totalErrors,
        connectionsOpen: this.#connectionsOpen,
        connections: this.#connections,
        refused: this.#refused,
      }),
      awaiting: this.#awaiting,
      drain: this.#drain,
    });
  }
}
