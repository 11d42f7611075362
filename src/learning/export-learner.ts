/**
 * Keeps, for every routed application, the set of service keys it exports: asks each application when it
 * becomes routable and again when it gets a pod it did not have (a rollout may add services). Fed the
 * routed backends by the session's publisher (src/session/publisher.ts), which puts the keys into its
 * tables; reports through 'services-learned' events and subscribe(). Learning uses its own short-lived streams and never touches consumer traffic.
 */
import type {Backend} from '../core/backend.js';
import type {LearnedServices, TunnelEventBus} from '../core/events.js';
import {normalizeServiceKey} from '../router/service-key.js';
import {briefMiss, probeExports} from './probe.js';
import type {ProbeOptions, ProbeResult} from './probe.js';

export interface ExportLearnerOptions {
  events: TunnelEventBus;
  /** Per way (MetadataService, QoS, telnet). */
  timeoutMs?: number;
  /** Injected in tests: how one backend is asked. */
  probe?: (backend: Backend, options: ProbeOptions) => Promise<ProbeResult>;
  /** Wait before asking again after a new pod (pods come in bursts during a rollout). */
  relearnDelayMs?: number;
}

/**
 * Applications asked at once. `up --all` on a namespace of 100 applications would otherwise open
 * 100 port-forward streams in the same moment only to learn, and the process would keep the memory
 * of that burst (about 19 MiB of RSS, docs/performance.md) long after.
 */
export const LEARN_CONCURRENCY = 8;

interface Entry {
  backend: Backend;
  state: LearnedServices;
  abort: AbortController | undefined;
  pods: Set<string>;
  relearnTimer: NodeJS.Timeout | undefined;
  warned: boolean;
}

export class ExportLearner {
  readonly #options: ExportLearnerOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<() => void>();
  readonly #offState: () => void;
  /** Probes waiting for one of the LEARN_CONCURRENCY places, oldest first. */
  readonly #waiting: (() => Promise<void>)[] = [];
  #running = 0;
  #closed = false;

  constructor(options: ExportLearnerOptions) {
    this.#options = options;
    const onState = ({application, state}: {application: string; state: string}) => {
      if (state === 'ready') this.#checkPods(application);
    };
    options.events.on('backend-state-changed', onState);
    this.#offState = () => options.events.off('backend-state-changed', onState);
  }

  /** The routed backends now: new ones are asked, removed ones forgotten. */
  update(backends: Iterable<Backend>): void {
    if (this.#closed) return;
    const seen = new Set<string>();
    for (const backend of backends) {
      seen.add(backend.application);
      const entry = this.#entries.get(backend.application);
      if (entry?.backend === backend) continue;
      if (entry) this.#forget(entry);
      this.#start(backend);
    }
    let removed = false;
    for (const [application, entry] of this.#entries) {
      if (seen.has(application)) continue;
      this.#forget(entry);
      this.#entries.delete(application);
      removed = true;
    }
    if (removed) this.#changed();
  }

  /** Ask one application again now (e.g. from the UI). */
  relearn(application: string): void {
    const entry = this.#entries.get(application);
    if (entry) this.#learn(entry);
  }

  get(application: string): LearnedServices | undefined {
    return this.#entries.get(application)?.state;
  }

  /** Every routed application's current state. */
  all(): LearnedServices[] {
    return [...this.#entries.values()].map((entry) => entry.state);
  }

  /** application -> keys, for building a route table. */
  keysByApplication(): Map<string, readonly string[]> {
    const map = new Map<string, readonly string[]>();
    for (const [application, entry] of this.#entries) if (entry.state.keys.length > 0) map.set(application, entry.state.keys);
    return map;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once nothing is being learned (tests, `ls --interfaces`). */
  async settled(): Promise<void> {
    while ([...this.#entries.values()].some((entry) => entry.state.state === 'learning')) {
      await new Promise<void>((resolve) => {
        const off = this.subscribe(() => {
          off();
          resolve();
        });
      });
    }
  }

  close(): void {
    this.#closed = true;
    this.#offState();
    for (const entry of this.#entries.values()) this.#forget(entry);
    this.#entries.clear();
    this.#listeners.clear();
    this.#waiting.length = 0;
  }

  #start(backend: Backend): void {
    const entry: Entry = {
      backend,
      state: {application: backend.application, state: 'learning', keys: declaredKeys(backend)},
      abort: undefined,
      pods: new Set(backend.readyPods?.() ?? []),
      relearnTimer: undefined,
      warned: false,
    };
    this.#entries.set(backend.application, entry);
    this.#options.events.emit('services-learned', entry.state);
    this.#learn(entry);
  }

  #checkPods(application: string): void {
    const entry = this.#entries.get(application);
    if (!entry?.backend.readyPods) return;
    const pods = entry.backend.readyPods();
    const fresh = pods.some((pod) => !entry.pods.has(pod));
    entry.pods = new Set(pods);
    if (!fresh || entry.relearnTimer) return;
    entry.relearnTimer = setTimeout(() => {
      entry.relearnTimer = undefined;
      if (this.#entries.get(application) === entry) this.#learn(entry);
    }, this.#options.relearnDelayMs ?? 1000);
    entry.relearnTimer.unref();
  }

  #learn(entry: Entry): void {
    entry.abort?.abort();
    const abort = new AbortController();
    entry.abort = abort;
    const declared = declaredKeys(entry.backend);
    const listedBy = entry.backend.servicesListedBy;
    if (listedBy !== undefined) {
      this.#set(entry, declared.length === 0
        ? {application: entry.backend.application, state: 'unknown', keys: [], reason: `${listedBy} lists no services`}
        : {application: entry.backend.application, state: 'learned', keys: [...declared].sort(), via: listedBy});
      return;
    }
    if (entry.state.state !== 'learning') this.#set(entry, {...entry.state, state: 'learning'});
    const probe = this.#options.probe ?? probeExports;
    // Asked when a place is free; a probe superseded while it waited (a newer #learn, forget) never runs.
    this.#schedule(() => abort.signal.aborted ? Promise.resolve() : probe(entry.backend, {signal: abort.signal, ...(this.#options.timeoutMs === undefined ? {} : {timeoutMs: this.#options.timeoutMs})})
      .catch((error: unknown): ProbeResult => ({keys: [], via: undefined, providerApplication: undefined, misses: [String(error)]}))
      .then((result) => {
        if (abort.signal.aborted || this.#entries.get(entry.backend.application) !== entry) return;
        entry.abort = undefined;
        const keys = [...new Set([...result.keys, ...declared])].sort();
        const via = result.via ?? (declared.length > 0 ? 'annotation' : undefined);
        if (keys.length === 0) {
          const reason = result.misses.join('; ');
          this.#set(entry, {application: entry.backend.application, state: 'unknown', keys: [], reason});
          if (!entry.warned) {
            entry.warned = true;
            // One short line (a namespace of old providers gives one per application); the ways' own
            // words (kubelet's port-forward errors run to hundreds of characters) are a debug line.
            const application = entry.backend.application;
            this.#options.events.log('warn', `${application}: could not learn its services (${result.misses.map(briefMiss).join('; ')}); fix: --route <interface>=${application}, the dubbo-tunnel.io/interfaces annotation or the target-application Filter (docs/consumers.md)`);
            this.#options.events.log('debug', `${application}: ways tried: ${reason}`);
          }
          return;
        }
        this.#set(entry, {application: entry.backend.application, state: 'learned', keys, ...(via === undefined ? {} : {via})});
        this.#options.events.log('info', `${entry.backend.application}: exports ${keys.length} service${keys.length === 1 ? '' : 's'} (${via ?? 'declared'}): ${keys.join(', ')}`);
      }));
  }

  #schedule(run: () => Promise<void>): void {
    this.#waiting.push(run);
    this.#pump();
  }

  #pump(): void {
    while (!this.#closed && this.#running < LEARN_CONCURRENCY && this.#waiting.length > 0) {
      const run = this.#waiting.shift() as () => Promise<void>;
      this.#running++;
      void run().finally(() => {
        this.#running--;
        this.#pump();
      });
    }
  }

  #set(entry: Entry, state: LearnedServices): void {
    entry.state = state;
    this.#options.events.emit('services-learned', state);
    this.#changed();
  }

  #changed(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #forget(entry: Entry): void {
    entry.abort?.abort();
    entry.abort = undefined;
    if (entry.relearnTimer) clearTimeout(entry.relearnTimer);
    entry.relearnTimer = undefined;
  }
}

function declaredKeys(backend: Backend): string[] {
  const keys: string[] = [];
  for (const raw of backend.declaredServices ?? []) {
    const key = normalizeServiceKey(raw);
    if (key !== undefined && !keys.includes(key)) keys.push(key);
  }
  return keys;
}
