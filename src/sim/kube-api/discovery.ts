/** Discovery documents (/api, /apis, /api/v1, /apis/{group}[/{version}]) and /version. */
import {RESOURCE_TYPES} from './resources.js';

export interface VersionInfo {
  major: string;
  minor: string;
  emulationMajor: string;
  emulationMinor: string;
  minCompatibilityMajor: string;
  minCompatibilityMinor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

/** Shaped like a kubeadm v1.35.0 server's `GET /version`. */
export const DEFAULT_VERSION: VersionInfo = {
  major: '1', minor: '35', emulationMajor: '1', emulationMinor: '35', minCompatibilityMajor: '1',
  minCompatibilityMinor: '34', gitVersion: 'v1.35.0', gitCommit: '66452049f3d692768c39c797b21b793dce80314e',
  gitTreeState: 'clean', buildDate: '2025-12-17T12:32:06Z', goVersion: 'go1.25.5', compiler: 'gc',
  platform: 'linux/amd64',
};

const AUTHORIZATION_GROUP = 'authorization.k8s.io';

function resourceList(group: string, version: string): unknown {
  const resources: unknown[] = [];
  for (const t of RESOURCE_TYPES.filter((r) => r.group === group && r.version === version)) {
    resources.push({
      name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind,
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      ...(t.shortNames.length > 0 ? {shortNames: t.shortNames} : {}),
    });
    for (const sub of t.subresources) {
      resources.push({
        name: `${t.plural}/${sub}`, singularName: '', namespaced: t.namespaced,
        kind: sub === 'portforward' ? 'PodPortForwardOptions' : sub === 'scale' ? 'Scale' : t.kind,
        verbs: sub === 'portforward' ? ['create', 'get'] : ['get', 'patch', 'update'],
      });
    }
  }
  if (group === AUTHORIZATION_GROUP) {
    resources.push({name: 'selfsubjectaccessreviews', singularName: 'selfsubjectaccessreview', namespaced: false, kind: 'SelfSubjectAccessReview', verbs: ['create']});
  }
  return {kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources};
}

/** The document for a discovery path, or undefined when the path is not one. */
export function discoveryDocument(path: string): unknown {
  const groups = [...new Set([...RESOURCE_TYPES.filter((t) => t.group !== '').map((t) => t.group), AUTHORIZATION_GROUP])];
  const groupDoc = (group: string): Record<string, unknown> => {
    const version = RESOURCE_TYPES.find((t) => t.group === group)?.version ?? 'v1';
    const gv = {groupVersion: `${group}/${version}`, version};
    return {name: group, versions: [gv], preferredVersion: gv};
  };
  if (path === '/api') {
    return {kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{clientCIDR: '0.0.0.0/0', serverAddress: '172.18.0.2:6443'}]};
  }
  if (path === '/api/v1') return resourceList('', 'v1');
  if (path === '/apis') return {kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupDoc)};
  const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  if (m?.[1] === undefined || !groups.includes(m[1])) return undefined;
  if (m[2] === undefined) return {kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(m[1])};
  return m[2] === 'v1' ? resourceList(m[1], 'v1') : undefined;
}
