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
export interface Backend extends BackendPort {
  /** The Dubbo application name requests are routed by (the `target-application` value). */
  readonly application: string;
  /**
   * The application's Triple port (HTTP/2, gRPC-compatible: `dubbo.protocol.name=tri`), when it
   * has one; HTTP/2 streams routed to the application go there. `connect()` itself is always the
   * Dubbo port: an application with only a Triple port rejects it with a message saying so.
   */
  readonly triple?: BackendPort;
  /**
   * Optional: true when the application has only its Triple port (no Dubbo port), so a session
   * that routes only such applications tells consumers a `tri://` address, not a `dubbo://` one.
   */
  readonly tripleOnly?: boolean;
  /**
   * Open one new stream to one provider of this application; `pod`, when given and still ready, is
   * the pod it goes to (the router keeps one shared stream per pod), else the backend chooses.
   */
  connect(signal?: AbortSignal, pod?: string): Promise<BackendStream>;
  /**
   * Optional: the backend whose streams carry this one's Dubbo requests. A team gateway routes
   * every application it offers over the same stream, so each application's backend names the one
   * gateway backend here, and the listener shares that backend's streams between all of them
   * instead of opening one per application.
   */
  readonly carrier?: Backend;
}

/** One port of an application: what a Dubbo upstream or a Triple session opens streams to. */
export interface BackendPort {
  /** Where it goes, for logs and the UI: `127.0.0.1:20881`, `svc default/user-rpc:dubbo`. */
  describe(): string;
  /**
   * Open one new stream to one provider of this application. Rejects with a BackendError whose
   * message tells the user what is wrong and what to do (it is sent to the consumer verbatim).
   */
  connect(signal?: AbortSignal): Promise<BackendStream>;
  /**
   * Optional: the QoS port (default 22222) of one provider of this application, for learning what it
   * exports (src/learning/). Absent when the backend cannot reach it.
   */
  readonly qos?: BackendPort;
  /** Optional: service keys the user declared for this application (the `dubbo-tunnel.io/interfaces` annotation). */
  readonly declaredServices?: readonly string[];
  /**
   * Optional: who listed `declaredServices` as the complete answer (`gateway catalog`): the
   * application is then not asked what it exports (a gateway already knows, and probing through it
   * would only load it).
   */
  readonly servicesListedBy?: string;
  /** Optional: the pods behind it right now; a new one makes discovery ask again (a rollout may add services). */
  readyPods?(): string[];
  /**
   * Optional, HTTP/2 ports: headers added to every stream sent to this port (a team gateway's
   * `dubbo-tunnel-authorization`); asked per stream, so a refreshed credential is used at once.
   */
  requestHeaders?(): Readonly<Record<string, string>>;
}

export interface BackendStream {
  readonly stream: Duplex;
  /** The concrete peer behind the stream, e.g. `127.0.0.1:20881` or `pod default/user-rpc-7d9f:20880`. */
  readonly remote: string;
  /** Optional: the pod behind the stream (Kubernetes); the router keeps its shared streams per pod. */
  readonly pod?: string;
  /**
   * Optional: the backend calls `listener` (once, at once if it already happened) when it wants no
   * new requests on this stream, e.g. its pod is terminating or the application was deselected. The
   * router drains the stream as it does after a provider's READONLY: requests in flight finish, the
   * next ones open a new stream. `reason` completes "<application>: …" in the log. The backend
   * bounds the wait itself by destroying the stream.
   */
  onRetire?(listener: (reason: string) => void): void;
}

/**
 * The state a backend reports for status displays. `ready` is said only once the application was
 * found reachable: a static address accepted a TCP connection, a cluster application has a ready
 * pod and the `pods/portforward` permission. `unreachable`: nothing accepts connections at a static
 * address (probed again until it does); `no-permission`: port-forwards in its namespace will be
 * refused (the detail has the RBAC rule to add); `stalled`: the API server accepts connections but
 * does not answer, so new requests fail at once until it answers again.
 */
export type BackendState = 'connecting' | 'ready' | 'reconnecting' | 'no-ready-pods' | 'unreachable' | 'no-permission' | 'stalled' | 'error';

/** States in which requests fail: logged as warnings, and shown with their detail under the row. */
export function isFailingState(state: BackendState): boolean {
  return state === 'error' || state === 'no-ready-pods' || state === 'unreachable' || state === 'no-permission' || state === 'stalled';
}
