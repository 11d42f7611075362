/**
 * What kube-controller-manager's endpointslice and endpoints controllers do, reduced to one
 * synchronous pass per namespace: for every Service with a selector, derive EndpointSlices
 * (one per distinct resolved port set) and the legacy Endpoints object from the matching Pods.
 *
 * Rules taken from pkg/controller/endpointslice (reconciler/utils) and pkg/controller/endpoint:
 * - only Pods with an IP and not in a terminal phase take part;
 * - a named targetPort is resolved per Pod against its container ports, so slice ports carry numbers;
 * - conditions: serving = Pod Ready, terminating = deletionTimestamp set, ready = serving && !terminating
 *   (publishNotReadyAddresses forces ready);
 * - legacy Endpoints: ready → addresses, not ready → notReadyAddresses, terminating Pods left out;
 * - a Service with no endpoints still gets one placeholder slice (endpoints and ports null after the
 *   protobuf round trip through etcd).
 */
import type {KubeObject} from './types.js';

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

interface ResolvedPort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY_CONTROLLER = 'endpointslice-controller.k8s.io';

/** Writes the controller needs; implemented by the fake's object store wrapper. */
export interface ControllerStore {
  list(kind: string, namespace: string): KubeObject[];
  put(obj: KubeObject): void;
  remove(kind: string, namespace: string, name: string): void;
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function array(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function isPodReady(pod: KubeObject): boolean {
  return array(record(pod.status).conditions).some((c) => record(c).type === 'Ready' && record(c).status === 'True');
}

function selectorMatches(selector: Record<string, unknown>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function resolvePort(sp: ServicePort, pod: KubeObject): ResolvedPort | undefined {
  const target = sp.targetPort ?? sp.port;
  let port: number | undefined;
  if (typeof target === 'number') {
    port = target;
  } else if (/^\d+$/.test(target)) {
    port = Number(target);
  } else {
    // podutil.FindPort: the first container port with that name and the Service port's protocol.
    for (const c of array(record(pod.spec).containers)) {
      for (const cp of array(record(c).ports) as ContainerPort[]) {
        if (cp.name === target && (cp.protocol ?? 'TCP') === (sp.protocol ?? 'TCP')) {
          port = cp.containerPort;
          break;
        }
      }
      if (port !== undefined) break;
    }
  }
  if (port === undefined) return undefined;
  return {name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol === undefined ? {} : {appProtocol: sp.appProtocol})};
}

const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** `names.SimpleNameGenerator`: base + 5 random characters. */
function generateName(base: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += SUFFIX_ALPHABET[Math.floor(Math.random() * SUFFIX_ALPHABET.length)];
  return `${base}-${suffix}`;
}

/** Comparable content of a slice/Endpoints, ignoring server-set metadata. */
function content(obj: KubeObject): string {
  const {endpoints, ports, addressType, subsets} = obj as Record<string, unknown>;
  return JSON.stringify([obj.metadata.labels ?? {}, endpoints, ports, addressType, subsets, obj.metadata.ownerReferences]);
}

export function reconcileEndpoints(store: ControllerStore, namespace: string): void {
  const services = store.list('Service', namespace);
  const pods = store.list('Pod', namespace);
  const existingSlices = store.list('EndpointSlice', namespace)
    .filter((s) => s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_CONTROLLER);
  const existingEndpoints = store.list('Endpoints', namespace);
  const managed = new Set<string>();

  for (const svc of services) {
    const spec = record(svc.spec);
    const selector = record(spec.selector);
    // Services without a selector have hand-made Endpoints; the controllers leave them alone.
    if (Object.keys(selector).length === 0) continue;
    const svcName = svc.metadata.name;
    managed.add(svcName);
    const servicePorts = array(spec.ports) as ServicePort[];
    const publishNotReady = spec.publishNotReadyAddresses === true;
    const ownerReferences = [{
      apiVersion: 'v1', kind: 'Service', name: svcName, uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true,
    }];

    // Group endpoints by the set of resolved ports (each group is one slice / one Endpoints subset).
    const groups = new Map<string, {ports: ResolvedPort[]; pods: KubeObject[]}>();
    for (const pod of pods) {
      const status = record(pod.status);
      if (typeof status.podIP !== 'string' || status.podIP === '') continue;
      if (status.phase === 'Succeeded' || status.phase === 'Failed') continue;
      if (!selectorMatches(selector, pod.metadata.labels)) continue;
      const ports = servicePorts.map((sp) => resolvePort(sp, pod)).filter((p): p is ResolvedPort => p !== undefined);
      const key = JSON.stringify(ports);
      const group = groups.get(key) ?? {ports, pods: []};
      group.pods.push(pod);
      groups.set(key, group);
    }

    const labels = {...(svc.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: svcName, [MANAGED_BY_LABEL]: MANAGED_BY_CONTROLLER};
    const mine = existingSlices.filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === svcName);
    const desired: KubeObject[] = [];
    const sortedPods = (list: KubeObject[]): KubeObject[] =>
      [...list].sort((a, b) => String(record(a.status).podIP).localeCompare(String(record(b.status).podIP)));
    for (const group of groups.values()) {
      desired.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {name: '', namespace, labels, ownerReferences},
        addressType: 'IPv4',
        endpoints: sortedPods(group.pods).map((pod) => {
          const serving = isPodReady(pod);
          const terminating = pod.metadata.deletionTimestamp !== undefined;
          const nodeName = record(pod.spec).nodeName;
          return {
            addresses: [String(record(pod.status).podIP)],
            conditions: {ready: publishNotReady || (serving && !terminating), serving, terminating},
            targetRef: {kind: 'Pod', namespace, name: pod.metadata.name, uid: pod.metadata.uid},
            ...(typeof nodeName === 'string' ? {nodeName} : {}),
          };
        }),
        ports: group.ports,
      });
    }
    if (desired.length === 0) {
      desired.push({
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: {name: '', namespace, labels, ownerReferences},
        addressType: 'IPv4', endpoints: null, ports: null,
      });
    }
    // Keep slice names stable: reuse an existing slice with the same port set, then any leftover one.
    const unused = [...mine];
    const takeExisting = (ports: unknown): KubeObject | undefined => {
      const same = unused.findIndex((s) => JSON.stringify(s.ports) === JSON.stringify(ports));
      const index = same >= 0 ? same : unused.length > 0 ? 0 : -1;
      return index >= 0 ? unused.splice(index, 1)[0] : undefined;
    };
    for (const slice of desired) {
      const existing = takeExisting(slice.ports);
      slice.metadata.name = existing?.metadata.name ?? generateName(svcName);
      if (existing === undefined || content(existing) !== content(slice)) store.put(slice);
    }
    for (const extra of unused) store.remove('EndpointSlice', namespace, extra.metadata.name);

    // Legacy Endpoints, same data; the endpoints controller drops terminating Pods.
    const subsets = [...groups.values()].map((group) => {
      const addresses: unknown[] = [];
      const notReady: unknown[] = [];
      for (const pod of sortedPods(group.pods)) {
        const terminating = pod.metadata.deletionTimestamp !== undefined;
        if (terminating && !publishNotReady) continue;
        const nodeName = record(pod.spec).nodeName;
        const address = {
          ip: String(record(pod.status).podIP),
          ...(typeof nodeName === 'string' ? {nodeName} : {}),
          targetRef: {kind: 'Pod', namespace, name: pod.metadata.name, uid: pod.metadata.uid},
        };
        if (publishNotReady || isPodReady(pod)) addresses.push(address);
        else notReady.push(address);
      }
      return {
        ...(addresses.length > 0 ? {addresses} : {}),
        ...(notReady.length > 0 ? {notReadyAddresses: notReady} : {}),
        ports: group.ports.map((p) => ({name: p.name, port: p.port, protocol: p.protocol})),
      };
    }).filter((s) => s.addresses !== undefined || s.notReadyAddresses !== undefined);
    const endpoints: KubeObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {name: svcName, namespace, labels: {...(svc.metadata.labels ?? {})}},
      ...(subsets.length > 0 ? {subsets} : {}),
    };
    const currentEndpoints = existingEndpoints.find((e) => e.metadata.name === svcName);
    if (currentEndpoints === undefined || content(currentEndpoints) !== content(endpoints)) store.put(endpoints);
  }

  // Garbage collection of objects whose Service is gone.
  for (const slice of existingSlices) {
    const owner = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (owner !== undefined && !managed.has(owner) && !services.some((s) => s.metadata.name === owner)) {
      store.remove('EndpointSlice', namespace, slice.metadata.name);
    }
  }
  for (const ep of existingEndpoints) {
    if (!services.some((s) => s.metadata.name === ep.metadata.name)) store.remove('Endpoints', namespace, ep.metadata.name);
  }
}
