/**
 * The few fields of Kubernetes objects dubbo-tunnel reads, typed structurally. Objects come straight
 * from the API server's JSON (list and watch bodies), so these are plain data, not client-node's model
 * classes (whose Date fields and class instances differ from what a watch delivers).
 */

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface KubeList<T extends KubeObject> {
  metadata?: {resourceVersion?: string; continue?: string};
  items?: T[];
}

/** `meta/v1 Status`, the body of every API error and of watch ERROR events. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {name?: string; group?: string; kind?: string};
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface ServicePort {
  name?: string;
  protocol?: string;
  appProtocol?: string;
  port: number;
  targetPort?: number | string;
}

export interface Service extends KubeObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    selector?: Record<string, string>;
    ports?: ServicePort[];
  };
}

export interface IngressServiceBackend {
  name?: string;
  port?: {name?: string; number?: number};
}

export interface IngressBackend {
  service?: IngressServiceBackend;
  resource?: {apiGroup?: string; kind?: string; name?: string};
}

export interface Ingress extends KubeObject {
  spec?: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    rules?: {host?: string; http?: {paths?: {path?: string; pathType?: string; backend?: IngressBackend}[]}}[];
  };
}

export interface ObjectReference {
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
}

/** discovery.k8s.io/v1 EndpointSlice. */
export interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: {
    addresses?: string[];
    conditions?: {ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null};
    targetRef?: ObjectReference;
    nodeName?: string;
  }[] | null;
  ports?: {name?: string | null; port?: number | null; protocol?: string | null}[] | null;
}

/** core/v1 Endpoints, the fallback for API servers that do not serve EndpointSlices. */
export interface Endpoints extends KubeObject {
  subsets?: {
    addresses?: {ip?: string; targetRef?: ObjectReference}[];
    notReadyAddresses?: {ip?: string; targetRef?: ObjectReference}[];
    ports?: {name?: string; port?: number; protocol?: string}[];
  }[];
}

/** `namespace/name`, the key every cache uses. */
export function objectKey(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}
