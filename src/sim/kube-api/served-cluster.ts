/**
 * What the simulated API server's connections need of the cluster they serve (src/sim/kube-api.ts),
 * and the seams the tests' subclass of that cluster overrides: access checks, request recording,
 * deferring work while stalled, extra routes.
 */
import type http from 'node:http';
import type {TcpTarget} from './port-forward.js';
import type {ObjectStore} from './store.js';
import type {RequestAttributes} from './types.js';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Raw query string without "?" ("" when none). */
  query: string;
  /** Authenticated username; undefined when authentication failed or was absent. */
  user?: string;
  /** HTTP status answered (101 for an accepted WebSocket upgrade). */
  status: number;
}

/** Set while a test has the server paused; the demo never pauses. */
export type PauseMode = 'refuse' | 'unavailable';

/** What the server needs of the cluster it serves, and the seams a subclass of the cluster overrides. */
export interface ServedCluster {
  readonly store: ObjectStore;
  /** The user a bearer token belongs to, or undefined. */
  userOf(token: string): string | undefined;
  /** Where a port-forward to `pod`'s `port` connects (a real local TCP server), or undefined. */
  podTarget(namespace: string, pod: string, port: number): TcpTarget | undefined;
  /** Throws HttpError 403 when `attrs` is not allowed. */
  checkAccess(attrs: RequestAttributes): void;
  /** The entry this request's user and status are noted in. */
  record(req: http.IncomingMessage, url: URL): RecordedRequest;
  /** True when `work` (answering a request, an upgrade, a watch event) was kept to be done later. */
  deferred(work: () => void): boolean;
  /** Answers one authenticated request; by default `KubeApiHttpServer.serve`. */
  route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, user: string, body: Buffer): void;
}
