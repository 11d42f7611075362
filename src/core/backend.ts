import type {Duplex} from 'node:stream';

/**
 * The seam between the router and whatever reaches a provider application.
 *
 * A backend is "something that opens a duplex byte stream to one application": a static
 * `host:port` (src/proxy/static-backend.ts), a Kubernetes port-forward stream to a ready pod
 * (src/kube/), or the demo's simulated cluster. The router never knows which.
 *
 * Stream contract (what the router relies on):
 * - `write()` returning false means "stop writing until 'drain'" (backpressure is honoured).
 * - 'data' delivers provider bytes; 'close' (always emitted eventually, after 'error' if any)
 *   means the stream is gone for good. The router then answers every request still in
 *   flight on it with a Dubbo error response and reconnects on the next request.
 * - `destroy(err?)` tears the stream down from the router's side.
 */
export interface Backend {
  /** The Dubbo application name requests are routed by (the `target-application` value). */
  readonly application: string;
  /** Where it goes, for logs and the UI: `127.0.0.1:20881`, `svc default/user-rpc:dubbo`. */
  describe(): string;
  /**
   * Open one new stream to one provider of this application. Rejects with a BackendError whose
   * message tells the user what is wrong and what to do (it is sent to the consumer verbatim).
   */
  connect(signal?: AbortSignal): Promise<BackendStream>;
  /**
   * Optional: open a stream to the QoS port (default 22222) of one provider of this application, for
   * learning what it exports (src/discovery/). Absent when the backend cannot reach it.
   */
  connectQos?(signal?: AbortSignal): Promise<BackendStream>;
  /** Optional: service keys the user declared for this application (the `dubbo-tunnel.io/interfaces` annotation). */
  readonly declaredServices?: readonly string[];
  /** Optional: the pods behind it right now; a new one makes discovery ask again (a rollout may add services). */
  readyPods?(): string[];
}

export interface BackendStream {
  readonly stream: Duplex;
  /** The concrete peer behind the stream, e.g. `127.0.0.1:20881` or `pod default/user-rpc-7d9f:20880`. */
  readonly remote: string;
}

/** The state a backend reports for status displays (Kubernetes backends change it over time). */
export type BackendState = 'connecting' | 'ready' | 'reconnecting' | 'no-ready-pods' | 'error';
