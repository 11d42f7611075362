/**
 * Resource paths of the simulated API server: which type, namespace, name and subresource a
 * request path names (/api/v1/..., /apis/<group>/<version>/...), and the verb a request on it is
 * authorised for.
 */
import {findResourceType, type ResourceType} from './resources.js';

export interface ParsedResourcePath {
  type: ResourceType;
  namespace: string;
  name: string;
  subresource: string;
}

export function parseResourcePath(path: string): ParsedResourcePath | undefined {
  const parts = path.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const [plural, name = '', subresource = '', ...extra] = rest;
  if (plural === undefined || extra.length > 0) return undefined;
  const type = findResourceType(group, version, plural);
  if (type === undefined) return undefined;
  // A namespaced path for a cluster-scoped type (or the reverse, except all-namespace lists) does not exist.
  if (namespace !== '' && !type.namespaced) return undefined;
  if (namespace === '' && type.namespaced && name !== '') return undefined;
  if (subresource !== '' && !type.subresources.includes(subresource)) return undefined;
  return {type, namespace, name, subresource};
}

/** The authorisation verb of a request on a resource path, as the API server's RequestInfo names it. */
export function requestVerb(method: string, name: string, watch: boolean): string {
  if (method === 'GET') return name === '' ? (watch ? 'watch' : 'list') : watch ? 'watch' : 'get';
  if (method === 'POST') return 'create';
  if (method === 'PUT') return 'update';
  if (method === 'PATCH') return 'patch';
  if (method === 'DELETE') return name === '' ? 'deletecollection' : 'delete';
  return method.toLowerCase();
}
