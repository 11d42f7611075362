/**
 * The resource types the fake serves: REST mapping (group/version/plural), scope and list kind,
 * as `kubectl api-resources` shows them on a v1.35 cluster.
 */

export interface ResourceType {
  kind: string;
  listKind: string;
  /** REST path segment and the RBAC resource name. */
  plural: string;
  singular: string;
  group: string;
  version: string;
  namespaced: boolean;
  shortNames: string[];
  /** Subresources the fake knows (for discovery documents and path parsing). */
  subresources: string[];
}

const core = (kind: string, plural: string, namespaced: boolean, shortNames: string[] = [], subresources: string[] = []): ResourceType => ({
  kind,
  listKind: `${kind}List`,
  plural,
  singular: kind.toLowerCase(),
  group: '',
  version: 'v1',
  namespaced,
  shortNames,
  subresources,
});

export const RESOURCE_TYPES: readonly ResourceType[] = [
  core('Namespace', 'namespaces', false, ['ns'], ['status']),
  core('Service', 'services', true, ['svc'], ['status']),
  core('Pod', 'pods', true, ['po'], ['status', 'portforward']),
  core('Endpoints', 'endpoints', true, ['ep']),
  core('Node', 'nodes', false, ['no'], ['status']),
  {
    kind: 'EndpointSlice', listKind: 'EndpointSliceList', plural: 'endpointslices', singular: 'endpointslice',
    group: 'discovery.k8s.io', version: 'v1', namespaced: true, shortNames: [], subresources: [],
  },
  {
    kind: 'Ingress', listKind: 'IngressList', plural: 'ingresses', singular: 'ingress',
    group: 'networking.k8s.io', version: 'v1', namespaced: true, shortNames: ['ing'], subresources: ['status'],
  },
  {
    kind: 'IngressClass', listKind: 'IngressClassList', plural: 'ingressclasses', singular: 'ingressclass',
    group: 'networking.k8s.io', version: 'v1', namespaced: false, shortNames: [], subresources: [],
  },
  {
    kind: 'Deployment', listKind: 'DeploymentList', plural: 'deployments', singular: 'deployment',
    group: 'apps', version: 'v1', namespaced: true, shortNames: ['deploy'], subresources: ['status', 'scale'],
  },
];

export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** `schema.GroupResource.String()`: "pods", "ingresses.networking.k8s.io". */
export function qualifiedResource(type: ResourceType): string {
  return type.group === '' ? type.plural : `${type.plural}.${type.group}`;
}

/** Accepts a kind ("Pod"), a plural ("pods"), a singular ("pod") or a short name ("po"), any case. */
export function resolveResourceType(kindOrResource: string): ResourceType {
  const wanted = kindOrResource.toLowerCase();
  const found = RESOURCE_TYPES.find(
    (t) => t.kind.toLowerCase() === wanted || t.plural === wanted || t.singular === wanted || t.shortNames.includes(wanted),
  );
  if (found === undefined) throw new Error(`fake-kube-api: unknown resource type "${kindOrResource}"`);
  return found;
}

export function findResourceType(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
}
