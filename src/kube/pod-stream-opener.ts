import {BackendError} from '../core/errors.js';
import {PORT_FORWARD_STALL_MS} from './api-stall.js';
import type {ApiStall} from './api-stall.js';
import type {KubeClient} from './client.js';
import type {PodTarget} from './endpoints.js';
import {toKubeError} from './errors.js';
import {openPortForward} from './port-forward.js';
import type {PortForwardStream, PortForwardTarget} from './port-forward.js';
import {dialPod} from './pod-socket.js';
import type {PodSocket} from './pod-socket.js';
import type {PodStream} from './pod-streams.js';

/** openPortForward's own limit when the timing sets none: a set-up is never given longer to count as slow. */
const PORT_FORWARD_TIMEOUT_MS = 10_000;
/**
 * Wait this long after the kubelet announces the port for a refused dial to show up on the error
 * channel, so connect() can try another pod instead of handing out a stream that is about to die.
 * Paid once per stream (the router shares one per pod between its consumer connections).
 */
const SETTLE_MS = 100;

export interface PodStreamOpenerDeps {
  client: KubeClient;
  namespace: string;
  /** Whether the cluster's API server stalled: a set-up without an answer in time is reported to it. */
  stall?: ApiStall;
  /** Read at each set-up: portForwardTimeoutMs also bounds a dial. stallAfterMs: the first stall limit. */
  timing?: {portForwardTimeoutMs?: number; stallAfterMs?: number};
  /** Dial the pods' IPs instead of port-forwarding (a process inside the cluster). */
  podNetwork?: boolean;
}

/**
 * Opens the streams to one backend's pods: port-forwards through the API server (timed against the
 * stall limit), or TCP connections to the pods' IPs inside the cluster.
 */
export class PodStreamOpener {
  readonly #deps: PodStreamOpenerDeps;
  /**
   * How long a port-forward set-up may go without an answer before the API server counts as
   * stalled; raised when a set-up that took longer did succeed (a slow path, not a stalled one).
   */
  #stallAfterMs: number;

  constructor(deps: PodStreamOpenerDeps) {
    this.#deps = deps;
    this.#stallAfterMs = deps.timing?.stallAfterMs ?? PORT_FORWARD_STALL_MS;
  }

  /** A TCP connection to the pod's IP (podNetwork). */
  dial(pick: PodTarget, signal: AbortSignal | undefined, port = pick.port): Promise<PodSocket> {
    const {namespace} = this.#deps;
    if (pick.address === undefined) return Promise.reject(new BackendError(`pod ${namespace}/${pick.pod} has no IP in its endpoints yet`));
    return dialPod({namespace, pod: pick.pod, port, address: pick.address}, {signal, ...(this.#deps.timing?.portForwardTimeoutMs === undefined ? {} : {timeoutMs: this.#deps.timing.portForwardTimeoutMs})});
  }

  /**
   * One port-forward set-up; undefined when it had no answer within the stall limit, which is then
   * reported as a stall of the API server. The set-up goes on without the caller, up to its own
   * time limit: when it does succeed the API server was only slow, so the stall ends, the next
   * set-ups get that long, and the stream is let go (the next request opens its own).
   */
  async portForward(target: PortForwardTarget, signal: AbortSignal | undefined): Promise<PortForwardStream | undefined> {
    const timeoutMs = this.#deps.timing?.portForwardTimeoutMs;
    const stall = this.#deps.stall;
    const own = new AbortController();
    const onAbort = (): void => own.abort();
    signal?.addEventListener('abort', onAbort, {once: true});
    const startedAt = Date.now();
    const attempt = openPortForward(this.#deps.client, target, {signal: own.signal, settleMs: SETTLE_MS, ...(timeoutMs === undefined ? {} : {timeoutMs})});
    let timer: NodeJS.Timeout | undefined;
    try {
      const first = stall === undefined ? await attempt : await Promise.race([attempt, new Promise<'stalled'>((resolve) => {
        timer = setTimeout(() => resolve('stalled'), this.#stallAfterMs);
      })]);
      if (first !== 'stalled') return first;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    stall?.report('port-forward', `no answer to the port-forward request for pod ${target.namespace}/${target.pod} within ${(this.#stallAfterMs / 1000).toFixed(1)} s`);
    attempt.then((late) => {
      this.#stallAfterMs = Math.min(Math.max(this.#stallAfterMs, 2 * (Date.now() - startedAt)), timeoutMs ?? PORT_FORWARD_TIMEOUT_MS);
      stall?.answered('port-forward');
      late.destroy();
    }, () => {});
    return undefined;
  }

  /**
   * A stream to the QoS port of `pick`, dialled or port-forwarded like the backend's others. Not
   * timed against the stall limit: it is short-lived and says nothing about the pod's health.
   */
  async qos(application: string, pick: PodTarget, port: number, signal: AbortSignal | undefined): Promise<PodStream> {
    if (this.#deps.podNetwork === true) return await this.dial(pick, signal, port);
    try {
      return await openPortForward(this.#deps.client, {namespace: this.#deps.namespace, pod: pick.pod, port}, {signal, settleMs: SETTLE_MS});
    } catch (error) {
      throw new BackendError(`${application}: no QoS port ${port} on pod ${this.#deps.namespace}/${pick.pod}: ${toKubeError(error, this.#deps.client.scene).message}`, {cause: error});
    }
  }
}
