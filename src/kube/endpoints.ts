import type {ResolvedServicePort} from './discovery.js';
import type {EndpointSlice, Endpoints} from './types.js';

/** The label tying an EndpointSlice to its Service (discovery.k8s.io/v1 LabelServiceName). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** One pod behind a Service port, as the endpoints say. */
export interface PodTarget {
  pod: string;
  /** The container port to forward to (what kube-proxy would use). */
  port: number;
  /** Ready and not terminating. */
  ready: boolean;
  /** Passing its readiness probe, terminating or not (discovery/v1 `serving`). */
  serving: boolean;
  terminating: boolean;
  /** The pod's IP as the endpoint lists it (its first address); what a process inside the cluster dials. */
  address?: string;
}

export interface ServiceTargets {
  /** Every pod with an endpoint for the port, ready or not, one entry per pod. */
  all: PodTarget[];
  /** The ready ones, sorted by pod name. */
  ready: PodTarget[];
  /** Endpoints without a Pod behind them (selector-less Services): port-forward cannot reach those. */
  withoutPod: number;
}

/**
 * The pods new streams use: the ready ones; when there are none, the terminating ones that still
 * serve. kube-proxy does the same since Kubernetes 1.26 (KEP-1669, ProxyTerminatingEndpoints): when
 * every pod of a rollout is terminating at once, the old pods keep answering until a new one is
 * ready, instead of nothing answering at all. A terminating pod that fails its readiness probe never
 * gets new requests (that is how an application opts out).
 */
export function usableTargets(targets: ServiceTargets): PodTarget[] {
  return targets.ready.length > 0 ? targets.ready : targets.all.filter((target) => target.terminating && target.serving);
}

function samePortName(a: string | null | undefined, b: string | undefined): boolean {
  return (a ?? '') === (b ?? '');
}

/** The port when the endpoints do not list it: a numeric targetPort, or the Service port itself. */
function fallbackPort(servicePort: ResolvedServicePort): number | undefined {
  if (typeof servicePort.targetPort === 'number') return servicePort.targetPort;
  if (servicePort.targetPort === undefined) return servicePort.port;
  return /^\d+$/.test(servicePort.targetPort) ? Number(servicePort.targetPort) : undefined;
}

function collect(entries: Iterable<PodTarget>, withoutPod: number): ServiceTargets {
  const byPod = new Map<string, PodTarget>();
  const rank = (target: PodTarget): number => (target.ready ? 2 : target.serving ? 1 : 0);
  for (const entry of entries) {
    const existing = byPod.get(entry.pod);
    // Dual-stack Services list a pod once per address family; ready (or serving) in any slice counts.
    if (!existing || rank(entry) > rank(existing)) byPod.set(entry.pod, entry);
  }
  const all = [...byPod.values()].sort((a, b) => a.pod.localeCompare(b.pod));
  return {all, ready: all.filter((target) => target.ready), withoutPod};
}

/**
 * Pods behind `service`'s `servicePort` according to its EndpointSlices. Slices name their ports after
 * the Service port and carry the resolved target port number, so a named targetPort needs no pod
 * lookup. Endpoint conditions (discovery/v1 EndpointConditions): ready nil means ready, terminating
 * nil means not terminating, serving nil means serving (kube-proxy reads them so). A terminating endpoint is never
 * ready; it is used for new streams only while no pod is ready and it still serves (usableTargets).
 */
export function targetsFromSlices(slices: Iterable<EndpointSlice>, namespace: string, service: string, servicePort: ResolvedServicePort): ServiceTargets {
  const entries: PodTarget[] = [];
  let withoutPod = 0;
  for (const slice of slices) {
    if (slice.metadata?.namespace !== namespace || slice.metadata.labels?.[SERVICE_NAME_LABEL] !== service) continue;
    if (slice.addressType === 'FQDN') continue;
    const ports = slice.ports ?? [];
    const matched = ports.find((port) => samePortName(port.name, servicePort.name) && (port.protocol ?? 'TCP') === 'TCP');
    const number = matched?.port ?? (ports.length === 0 ? fallbackPort(servicePort) : undefined);
    if (number === undefined || number === null) continue;
    for (const endpoint of slice.endpoints ?? []) {
      const conditions = endpoint.conditions;
      const terminating = conditions?.terminating === true;
      const ready = conditions?.ready !== false && !terminating;
      const serving = conditions?.serving !== false;
      if (endpoint.targetRef?.kind !== 'Pod' || endpoint.targetRef.name === undefined) {
        if (ready) withoutPod++;
        continue;
      }
      const address = endpoint.addresses?.[0];
      entries.push({pod: endpoint.targetRef.name, port: number, ready, serving, terminating, ...(address === undefined ? {} : {address})});
    }
  }
  return collect(entries, withoutPod);
}

/** The same from core/v1 Endpoints (addresses = ready, notReadyAddresses = not ready). */
export function targetsFromEndpoints(endpoints: Endpoints | undefined, servicePort: ResolvedServicePort): ServiceTargets {
  const entries: PodTarget[] = [];
  let withoutPod = 0;
  for (const subset of endpoints?.subsets ?? []) {
    const ports = subset.ports ?? [];
    const matched = ports.find((port) => samePortName(port.name, servicePort.name) && (port.protocol ?? 'TCP') === 'TCP');
    const number = matched?.port ?? (ports.length === 0 ? fallbackPort(servicePort) : undefined);
    if (number === undefined) continue;
    for (const [list, ready] of [[subset.addresses ?? [], true], [subset.notReadyAddresses ?? [], false]] as const) {
      for (const address of list) {
        if (address.targetRef?.kind !== 'Pod' || address.targetRef.name === undefined) {
          if (ready) withoutPod++;
          continue;
        }
        // core/v1 Endpoints leave terminating pods out: no fallback to them is possible here.
        entries.push({pod: address.targetRef.name, port: number, ready, serving: ready, terminating: false, ...(address.ip === undefined ? {} : {address: address.ip})});
      }
    }
  }
  return collect(entries, withoutPod);
}
