/**
 * Object builders for a Dubbo provider "app" as a Deployment would leave it in a cluster: a Service
 * with a named port, Pods with a matching container port, and optionally an Ingress of class dubbo.
 * Pure functions; the fake stores what they return.
 */
import {createHash, randomUUID} from 'node:crypto';
import {kubeTime} from './store.js';
import type {KubeObject} from './types.js';

export const APPLICATION_ANNOTATION = 'dubbo-tunnel.io/application';
export const LEGACY_INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

const DNS1123_SUBDOMAIN = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** What networking/validation accepts as an Ingress rule host. */
export function isDns1123Subdomain(value: string): boolean {
  return value.length <= 253 && DNS1123_SUBDOMAIN.test(value);
}

export interface TcpTarget {
  host: string;
  port: number;
}

export interface DubboPodSpec {
  name: string;
  /** Ready condition (default true). */
  ready?: boolean;
  /** Where port-forwards to the container port go; omitted = nothing listens there (connection refused). */
  target?: TcpTarget;
  /**
   * The pod's IP (default one of 10.244.x.y). A process that dials pod IPs, as the team gateway
   * does inside a cluster, reaches the pod here, so tests give 127.0.0.x addresses.
   */
  podIP?: string;
  /** Pod phase (default Running). Port-forward answers 400 unless Running; Pending pods have no IP. */
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  /** spec.nodeName (default "fake-node"); null = not scheduled. */
  nodeName?: string | null;
  labels?: Record<string, string>;
}

export interface DubboIngressOptions {
  /** Default "dubbo". */
  className?: string;
  /** Use the legacy annotation kubernetes.io/ingress.class instead of spec.ingressClassName. */
  viaAnnotation?: boolean;
  /** Rule host; default the application name, or the Service name when that is not a valid host. */
  host?: string;
  /** Ingress name (default the Service name). */
  name?: string;
  /** Refer to the Service port by name (default) or by number. */
  backendPort?: 'name' | 'number';
}

export interface DubboAppSpec {
  namespace?: string;
  /** Service name (also the `app` label and, by default, the application name). */
  name: string;
  /** Dubbo application name when it differs from the Service name (annotation dubbo-tunnel.io/application). */
  application?: string;
  ingress?: boolean | DubboIngressOptions;
  /** Service port name (default "dubbo"). */
  portName?: string;
  /** Service port (default 20880). */
  servicePort?: number;
  /** Service targetPort: a number, or a container port name (default: the container port number). */
  targetPort?: number | string;
  /** Container port number (default: targetPort when numeric, else servicePort). */
  containerPort?: number;
  /** Extra labels on the Service. */
  serviceLabels?: Record<string, string>;
  pods: DubboPodSpec[];
}

/** The resolved shape of an app, as addDubboApp returns it. */
export interface DubboAppInfo {
  namespace: string;
  service: string;
  application: string;
  portName: string;
  servicePort: number;
  /** The number a named targetPort resolves to; EndpointSlice ports carry it. */
  containerPort: number;
  containerPortName: string;
  selector: Record<string, string>;
}

export function resolveDubboApp(spec: DubboAppSpec): DubboAppInfo {
  const portName = spec.portName ?? 'dubbo';
  const servicePort = spec.servicePort ?? 20880;
  return {
    namespace: spec.namespace ?? 'default',
    service: spec.name,
    application: spec.application ?? spec.name,
    portName,
    servicePort,
    containerPort: spec.containerPort ?? (typeof spec.targetPort === 'number' ? spec.targetPort : servicePort),
    containerPortName: typeof spec.targetPort === 'string' ? spec.targetPort : portName,
    selector: {app: spec.name},
  };
}

function applicationAnnotations(app: DubboAppInfo): Record<string, string> | undefined {
  return app.application === app.service ? undefined : {[APPLICATION_ANNOTATION]: app.application};
}

export function buildService(app: DubboAppInfo, spec: DubboAppSpec, clusterIP: string): KubeObject {
  const annotations = applicationAnnotations(app);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: app.service, namespace: app.namespace, labels: {app: app.service, ...spec.serviceLabels},
      ...(annotations === undefined ? {} : {annotations}),
    },
    spec: {
      type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster', sessionAffinity: 'None', selector: {...app.selector},
      ports: [{name: app.portName, port: app.servicePort, protocol: 'TCP', targetPort: spec.targetPort ?? app.containerPort}],
    },
    status: {loadBalancer: {}},
  };
}

export function buildIngress(app: DubboAppInfo, options: DubboIngressOptions): KubeObject {
  const className = options.className ?? 'dubbo';
  const host = options.host ?? (isDns1123Subdomain(app.application) ? app.application : app.service);
  const annotations: Record<string, string> = {...applicationAnnotations(app)};
  if (options.viaAnnotation === true) annotations[LEGACY_INGRESS_CLASS_ANNOTATION] = className;
  const port = options.backendPort === 'number' ? {number: app.servicePort} : {name: app.portName};
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: options.name ?? app.service, namespace: app.namespace,
      ...(Object.keys(annotations).length === 0 ? {} : {annotations}),
    },
    spec: {
      ...(options.viaAnnotation === true ? {} : {ingressClassName: className}),
      rules: [{
        host,
        http: {paths: [{path: '/', pathType: 'ImplementationSpecific', backend: {service: {name: app.service, port}}}]},
      }],
    },
    status: {loadBalancer: {}},
  };
}

export function podConditions(ready: boolean, scheduled: boolean, now: string): Record<string, unknown>[] {
  const c = (type: string, value: boolean): Record<string, unknown> =>
    ({type, status: value ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: now});
  return [c('PodReadyToStartContainers', scheduled), c('Initialized', true), c('Ready', ready), c('ContainersReady', ready), c('PodScheduled', scheduled)];
}

export function buildPod(app: DubboAppInfo, pod: DubboPodSpec, podIP: string): KubeObject {
  const ready = pod.ready ?? true;
  const phase = pod.phase ?? 'Running';
  const nodeName = pod.nodeName === undefined ? 'fake-node' : pod.nodeName;
  const scheduled = nodeName !== null;
  const started = scheduled && phase !== 'Pending';
  const running = phase === 'Running';
  const now = kubeTime();
  const image = `registry.example.com/${app.service}:1.0.0`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: pod.name,
      namespace: app.namespace,
      labels: {...app.selector, 'pod-template-hash': createHash('sha1').update(app.service).digest('hex').slice(0, 10), ...pod.labels},
    },
    spec: {
      ...(scheduled ? {nodeName} : {}),
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      serviceAccountName: 'default',
      containers: [{
        name: 'provider',
        image,
        ports: [{name: app.containerPortName, containerPort: app.containerPort, protocol: 'TCP'}],
      }],
    },
    status: {
      phase,
      ...(scheduled ? {hostIP: '172.18.0.2', hostIPs: [{ip: '172.18.0.2'}]} : {}),
      ...(started ? {podIP, podIPs: [{ip: podIP}], startTime: now} : {}),
      qosClass: 'BestEffort',
      conditions: podConditions(ready && running, scheduled, now),
      ...(started
        ? {containerStatuses: [{
          name: 'provider', image, imageID: '', containerID: `containerd://${randomUUID().replace(/-/g, '')}`,
          ready: ready && running, started: running, restartCount: 0,
          state: running ? {running: {startedAt: now}} : {terminated: {exitCode: phase === 'Succeeded' ? 0 : 1, reason: phase === 'Succeeded' ? 'Completed' : 'Error'}},
        }]}
        : {}),
    },
  };
}
