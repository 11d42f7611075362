import type {Backend, BackendPort, BackendState, BackendStream} from '../core/backend.js';
import {BackendError} from '../core/errors.js';
import type {DubboTunnelError} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import {ApiOutage} from './api-outage.js';
import type {ApiStall} from './api-stall.js';
import {BackendStateReporter} from './backend-state-reporter.js';
import type {KubeClient} from './client.js';
import type {KnownDenials} from './denials.js';
import type {KubeApplication, ResolvedServicePort} from './discovery.js';
import type {EndpointTracker} from './endpoint-tracker.js';
import type {ServiceTargets} from './endpoints.js';
import {usableTargets} from './endpoints.js';
import {DEFAULT_QOS_PORT} from './discovery.js';
import {KubeRequestError, toKubeError} from './errors.js';
import type {Backoff} from './list-watch.js';
import {noReadyPodsError, PodChoice} from './pod-choice.js';
import {PodStreamOpener} from './pod-stream-opener.js';
import {PodStreams} from './pod-streams.js';
import type {PodStream} from './pod-streams.js';

/**
 * How long a new stream waits for a pod to become ready when none is (nor a terminating one that
 * still serves), before its requests are answered DT_ERR_NO_READY_PODS: a rollout that replaced
 * every pod at once is usually ready again within a moment, and the requests wait queued. Below a
 * Java consumer's default timeout (1 s), so a consumer still gets our answer rather than its own
 * timeout.
 */
export const NO_READY_POD_WAIT_MS = 750;

export interface KubeBackendDeps {
  client: KubeClient;
  endpoints: EndpointTracker;
  events: TunnelEventBus;
  /** Delays between port-forward attempts while the API server cannot be reached (default like the watches'). */
  backoff?: Backoff;
  /** Permissions known to be refused (pods/portforward): the backend then shows no-permission, not "ready". */
  denials?: KnownDenials;
  /** Whether the cluster's API server stalled (shared by its backends): requests then fail at once. */
  stall?: ApiStall;
  /**
   * drainLimitMs: bound for requests in flight on a retired stream (default DEFAULT_DRAIN_LIMIT_MS);
   * portForwardTimeoutMs: for a port-forward to start; noReadyPodWaitMs: how long a new stream waits
   * for a ready pod when there is none (default NO_READY_POD_WAIT_MS); stallAfterMs: how long a
   * set-up may go without an answer before the API server counts as stalled (PORT_FORWARD_STALL_MS).
   */
  timing?: {drainLimitMs?: number; portForwardTimeoutMs?: number; noReadyPodWaitMs?: number; stallAfterMs?: number};
  /**
   * Dial pod IPs from the EndpointSlices instead of port-forwarding (a process inside the cluster,
   * the team gateway): a refused dial is that pod's failure, never the API server's.
   */
  podNetwork?: boolean;
}

/**
 * One discovered application reached through port-forwards to the ready pods of its Service.
 *
 * connect() picks a ready pod from the shared endpoint cache (fewest open streams first, pods that
 * just failed last) and opens one port-forward stream to it; when that fails for pod reasons (pod
 * gone, nothing listening) it tries the next ready pod at once. While no pod is ready, the terminating
 * pods that still serve take new streams (usableTargets, as kube-proxy does); while there is none of
 * those either, a new stream waits up to NO_READY_POD_WAIT_MS for a pod to become ready. When the
 * endpoints say a pod with open streams is no longer usable (terminating after a graceful delete
 * while another pod is ready, failing its probe), its streams are retired: the router sends no new
 * requests on them and lets the ones in flight finish, for at most the drain limit. A pod that
 * vanished from the endpoints altogether is gone: its streams are destroyed, and the router answers
 * their in-flight requests with a Dubbo error.
 *
 * The backend decides when; its parts each keep one concern: which pod (PodChoice), opening a
 * stream to it (PodStreamOpener), the open and retired streams (PodStreams), the API server being
 * down (ApiOutage) and the state the application shows (BackendStateReporter).
 */
export class KubeBackend implements Backend {
  readonly application: string;
  readonly target: KubeApplication;
  /** The Service's Triple port, reached through the same pods and port-forward machinery. */
  readonly triple: BackendPort | undefined;
  readonly declaredServices: readonly string[] | undefined;
  /** The QoS port (22222, or the dubbo-tunnel.io/qos-port annotation) of one ready pod, for learning its services. */
  readonly qos: BackendPort = {
    describe: () => `qos port ${this.target.qosPort ?? DEFAULT_QOS_PORT} of svc ${this.target.namespace}/${this.target.service}`,
    connect: (signal) => this.#connectQos(signal),
  };
  readonly #deps: KubeBackendDeps;
  readonly #streams: PodStreams;
  readonly #pods = new PodChoice();
  readonly #opener: PodStreamOpener;
  readonly #outage: ApiOutage;
  readonly #status: BackendStateReporter;
  readonly #unsubscribe: () => void;
  #closed = false;
  #closedBecause = '';
  /** Closed with `drain`: a stream still being opened then is drained rather than destroyed. */
  #closedDraining = false;

  constructor(target: KubeApplication, deps: KubeBackendDeps) {
    this.application = target.application;
    this.target = target;
    this.declaredServices = target.interfaces;
    this.#deps = deps;
    this.#status = new BackendStateReporter(target.application, deps.events);
    this.#streams = new PodStreams(target.namespace, deps.timing?.drainLimitMs);
    const {triplePort} = target;
    this.triple = triplePort === undefined ? undefined : {
      describe: () => `svc ${target.namespace}/${target.service}:${String(triplePort.name ?? triplePort.port)} (tri)`,
      connect: (signal?: AbortSignal) => this.#connect(triplePort, signal),
    };
    this.#outage = new ApiOutage(target.application, deps.events, deps.backoff);
    this.#opener = new PodStreamOpener({client: deps.client, namespace: target.namespace, stall: deps.stall, timing: deps.timing, podNetwork: deps.podNetwork});
    const unsubscribeEndpoints = deps.endpoints.subscribe(() => this.#onEndpoints());
    const unsubscribeDenials = deps.denials?.subscribe(() => this.#onEndpoints());
    const unsubscribeStall = deps.stall?.subscribe(() => this.#onStall());
    this.#unsubscribe = () => {
      unsubscribeEndpoints();
      unsubscribeDenials?.();
      unsubscribeStall?.();
    };
    // Asked once per namespace, before any application of it is said to be ready.
    if (target.problem === undefined) deps.denials?.review(target.namespace);
    if (target.problem !== undefined) this.#status.set('error', target.problem);
    else if (deps.endpoints.started) this.#onEndpoints();
    else this.#status.set('connecting', 'waiting for the endpoint list');
  }

  describe(): string {
    return `svc ${this.target.namespace}/${this.target.service}:${String(this.target.port)}`;
  }

  /** A Service with a Triple port and no Dubbo port. */
  get tripleOnly(): boolean {
    return this.target.servicePort === undefined && this.triple !== undefined;
  }

  /** Streams open right now (for status displays and tests). */
  get openStreams(): number {
    return this.#streams.openCount;
  }

  get state(): BackendState | undefined {
    return this.#status.state;
  }

  /** Ready pods behind the Service port right now. */
  readyPods(): string[] {
    return this.#targets().ready.map((target) => target.pod);
  }

  connect(signal?: AbortSignal, pod?: string): Promise<BackendStream> {
    const {servicePort} = this.target;
    if (servicePort === undefined && this.triple !== undefined && this.target.problem === undefined) {
      return Promise.reject(new BackendError(`${this.application} has only a Triple port (${this.triple.describe()}), no dubbo:// port`, {
        hint: 'call it with a Triple or gRPC client, or give the Service a port named dubbo',
      }));
    }
    return this.#connect(servicePort, signal, pod);
  }

  /** One port-forward stream to `servicePort` (the Dubbo or the Triple port) of a ready pod. */
  async #connect(servicePort: ResolvedServicePort | undefined, signal?: AbortSignal, pod?: string): Promise<BackendStream> {
    const {target} = this;
    if (this.#closed) throw new BackendError(`${this.application}: ${this.#closedBecause}`, {code: 'DT_ERR_BACKEND_UNAVAILABLE'});
    if (target.problem !== undefined) {
      throw new BackendError(`${this.application}: ${target.problem}`, {hint: 'fix the Ingress backend or create the Service; see docs/kubernetes.md'});
    }
    try {
      await this.#deps.endpoints.start();
    } catch (error) {
      throw this.#fail(toKubeError(error, this.#deps.client.scene));
    }
    return await this.#outage.attempt(this.#deps.stall?.current, () => this.#connectToAPod(servicePort, signal, pod));
  }

  /** `wanted`: the pod to try first while it is ready (the router asks for a pod it has no stream to yet). */
  async #connectToAPod(servicePort: ResolvedServicePort | undefined, signal: AbortSignal | undefined, wanted?: string): Promise<BackendStream> {
    const {target} = this;
    const tried = new Set<string>();
    let lastError: DubboTunnelError | undefined;
    let waitedMs: number | undefined;
    for (;;) {
      let targets = this.#targets(servicePort);
      if (usableTargets(targets).length === 0 && waitedMs === undefined) {
        waitedMs = this.#deps.timing?.noReadyPodWaitMs ?? NO_READY_POD_WAIT_MS;
        targets = await this.#waitForAPod(servicePort, waitedMs, signal);
        signal?.throwIfAborted();
        if (this.#closed) throw new BackendError(`${this.application}: ${this.#closedBecause}`, {code: 'DT_ERR_BACKEND_UNAVAILABLE'});
      }
      const usable = usableTargets(targets);
      if (usable.length === 0) {
        const error = noReadyPodsError(this.application, this.target, targets, waitedMs);
        this.#status.set('no-ready-pods', error.message);
        throw error;
      }
      const untried = usable.filter((candidate) => !tried.has(candidate.pod));
      const pick = untried.find((candidate) => candidate.pod === wanted) ?? this.#pods.choose(untried, this.#streams.load());
      if (!pick) {
        const reason = lastError?.message ?? 'unknown error';
        throw this.#fail(lastError, `${this.application}: no ready pod of service ${target.namespace}/${target.service} accepted a port-forward (last error: ${reason})`);
      }
      tried.add(pick.pod);
      if (this.#streams.openCount === 0 && this.#status.state !== 'ready') this.#status.set('connecting', `opening a port-forward to pod ${target.namespace}/${pick.pod}`, pick.pod);
      let stream: PodStream | undefined;
      if (this.#deps.podNetwork === true) {
        try {
          stream = await this.#opener.dial(pick, signal);
        } catch (error) {
          if (signal?.aborted === true) throw error;
          this.#pods.failed(pick.pod);
          lastError = error instanceof BackendError ? error : new BackendError(String(error));
          this.#deps.events.log('warn', `${this.application}: ${lastError.message}`);
          continue;
        }
      } else {
        try {
          stream = await this.#opener.portForward({namespace: target.namespace, pod: pick.pod, port: pick.port}, signal);
        } catch (error) {
          if (signal?.aborted === true) throw error;
          const mapped = toKubeError(error, this.#deps.client.scene);
          // Credentials, permissions and an unreachable API server are the same for every pod.
          const serverDown = mapped.code === 'DT_ERR_KUBE_UNREACHABLE' || (error instanceof KubeRequestError && error.status >= 500);
          if (serverDown) {
            this.#outage.unreachable(mapped);
            throw this.#fail(mapped);
          }
          if ((error instanceof KubeRequestError && (error.status === 401 || error.status === 403)) || mapped.code === 'DT_ERR_KUBE_UNAUTHORIZED') {
            throw this.#fail(mapped);
          }
          this.#pods.failed(pick.pod);
          lastError = mapped;
          this.#deps.events.log('warn', `${this.application}: port-forward to pod ${target.namespace}/${pick.pod} failed: ${mapped.message}`);
          continue;
        }
      }
      if (stream === undefined) {
        // No answer in time: the API server stalled. This attempt's requests and the next ones get
        // the stall's answer now rather than their own timeout.
        const stalled = this.#deps.stall?.current;
        if (stalled !== undefined) this.#outage.stalled(stalled);
        this.#onEndpoints();
        throw this.#outage.answer() ?? this.#fail(stalled);
      }
      if (this.#closed && !this.#closedDraining) {
        stream.destroy();
        throw new BackendError(`${this.application}: ${this.#closedBecause}`);
      }
      this.#track(stream, pick.pod);
      // Withdrawn while this stream was being opened (a re-pick, the application gone): the requests
      // that asked for it wait for it and the pod may well still answer, so they go, and the stream
      // drains like the others (retired at once: nothing new is routed to it).
      if (this.#closed) this.#streams.retire(stream, `${this.#closedBecause}; requests in flight on ${stream.remote} finish, new ones are not routed to it`);
      return {stream, remote: stream.remote, pod: pick.pod, onRetire: (listener) => this.#streams.onRetire(stream, listener)};
    }
  }

  /** The API server stalled (every stream is retired: new requests fail at once), or answers again. */
  #onStall(): void {
    if (this.#closed) return;
    const stalled = this.#deps.stall?.current;
    if (stalled === undefined) {
      this.#outage.stallEnded();
    } else {
      // Its streams go through the stalled API server too: requests sent on them would wait for the
      // consumer's timeout. Those in flight may still be answered when it wakes up.
      for (const [stream] of this.#streams.open()) this.#streams.retire(stream, `${stalled.message}; new requests fail at once until it answers again`);
    }
    this.#onEndpoints();
  }

  /**
   * Resolves with the targets once a pod is usable, or after `waitMs`, or when `signal` aborts or the
   * backend closes. Meanwhile the router keeps the stream's requests queued.
   */
  #waitForAPod(servicePort: ResolvedServicePort | undefined, waitMs: number, signal: AbortSignal | undefined): Promise<ServiceTargets> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', done);
        resolve(this.#targets(servicePort));
      };
      const timer = setTimeout(done, waitMs);
      const unsubscribe = this.#deps.endpoints.subscribe(() => {
        if (this.#closed || usableTargets(this.#targets(servicePort)).length > 0) done();
      });
      signal?.addEventListener('abort', done, {once: true});
    });
  }

  /**
   * A port-forward to the QoS port of one ready pod (22222, or the dubbo-tunnel.io/qos-port annotation),
   * for learning what the application exports. Not tracked with the Dubbo streams: it is short-lived
   * and says nothing about the pod's health for consumers.
   */
  async #connectQos(signal?: AbortSignal): Promise<BackendStream> {
    if (this.#closed || this.target.problem !== undefined) throw new BackendError(`${this.application}: not reachable`);
    const pod = this.#pods.choose(usableTargets(this.#targets()), this.#streams.load());
    if (!pod) throw new BackendError(`${this.application}: no ready pod`, {code: 'DT_ERR_NO_READY_PODS'});
    const stream = await this.#opener.qos(this.application, pod, this.target.qosPort ?? DEFAULT_QOS_PORT, signal);
    return {stream, remote: stream.remote};
  }

  /**
   * Stops following the endpoints. With `drain` (the application was deselected or is no longer
   * discovered, but its pods may still be answering) every open stream is retired: requests in flight
   * finish, bounded by the drain limit. Without it (shutting down) every stream is destroyed now.
   * `reason` completes "<application>: …", e.g. "deselected".
   */
  close(reason = 'no longer discovered in the cluster', options: {drain?: boolean} = {}): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#status.withdraw();
    this.#closedBecause = reason;
    this.#closedDraining = options.drain === true;
    this.#unsubscribe();
    if (options.drain === true) {
      for (const [stream] of this.#streams.open()) this.#streams.retire(stream, `${reason}; requests in flight on ${stream.remote} finish, new ones are not routed to it`);
      return;
    }
    this.#streams.destroyAll(() => new BackendError(`${this.application}: ${reason}`, {code: 'DT_ERR_BACKEND_CLOSED'}));
  }

  /** Streams being drained right now (for status displays and tests). */
  get drainingStreams(): number {
    return this.#streams.drainingCount;
  }

  /** Pods behind a port of the Service; by default the port the backend's state is about (Dubbo, else Triple). */
  #targets(servicePort = this.target.servicePort ?? this.target.triplePort): ServiceTargets {
    if (!servicePort) return {all: [], ready: [], withoutPod: 0};
    return this.#deps.endpoints.targets(this.target.namespace, this.target.service, servicePort);
  }

  #track(stream: PodStream, pod: string): void {
    this.#outage.worked();
    this.#deps.denials?.portForwardWorked(this.target.namespace);
    this.#deps.stall?.answered('port-forward');
    this.#streams.add(stream, pod);
    this.#pods.opened(stream, pod);
    this.#status.streamOpened(this.target.namespace, pod);
  }

  #onEndpoints(): void {
    if (this.#closed || this.target.problem !== undefined) return;
    const targets = this.#targets();
    const usable = usableTargets(targets);
    const inUse = new Set(usable.map((target) => target.pod));
    const listed = new Map(targets.all.map((target) => [target.pod, target]));
    const gone = this.#streams.followEndpoints(inUse, listed);
    this.#pods.keepOnly(inUse);
    this.#status.fromEndpoints({
      namespace: this.target.namespace,
      targets,
      usable,
      gone,
      stalled: this.#deps.stall?.current,
      watchProblem: this.#deps.endpoints.problem,
      denied: this.#deps.denials?.portForward(this.target.namespace),
      openStreams: this.#streams.openCount,
      apiDown: this.#outage.isDown,
      noReadyPods: () => noReadyPodsError(this.application, this.target, targets).message,
    });
  }

  #fail(error: DubboTunnelError | undefined, message?: string): BackendError {
    const text = message ?? `${this.application}: ${error?.message ?? 'port-forward failed'}`;
    this.#status.set('error', error?.message ?? text);
    return new BackendError(text, {hint: error?.hint, code: error?.code, cause: error});
  }
}
