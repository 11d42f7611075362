/**
 * Shapes shared by the fake Kubernetes API server modules. Objects are plain JSON as the API server
 * stores them; only the fields the fake itself reads are typed, everything else passes through.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** `metav1.Status` as the API server writes it for every failure. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: {name?: string; group?: string; kind?: string};
  code: number;
}

/** Attributes the authorizer sees (k8s.io/apiserver `authorizer.Attributes`). */
export interface RequestAttributes {
  user: string;
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** The object at `value`, or an empty one: for reading the untyped parts of an object. */
export function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The string at `value`, or ''. */
export function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
