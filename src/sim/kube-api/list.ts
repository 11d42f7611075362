/**
 * List answers of the simulated API server: the objects of one type matching the selectors, and
 * pagination by `limit` and `continue` tokens as the API server does it.
 */
import {apiVersionOf, type ResourceType} from './resources.js';
import {HttpError, status} from './responses.js';
import {matchesFields, matchesLabels, type FieldSelector, type LabelSelector} from './selectors.js';
import type {ObjectStore} from './store.js';
import type {KubeObject} from './types.js';

/** Items in a list response carry no kind/apiVersion (the list's TypeMeta covers them). */
function listItem(obj: KubeObject): KubeObject {
  const {kind: _kind, apiVersion: _apiVersion, ...rest} = obj;
  return rest;
}

/**
 * The body of a list answer: the matching objects at the store's resourceVersion, or one page of
 * them after `continue` (410 Expired once the store no longer keeps that version).
 */
export function listBody(store: ObjectStore, type: ResourceType, namespace: string, labels: LabelSelector,
  fields: FieldSelector, q: URLSearchParams): Record<string, unknown> {
  let items = store.list(type, namespace === '' ? undefined : namespace)
    .filter((o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o));
  let listRv = store.resourceVersion;
  const continueToken = q.get('continue');
  if (continueToken !== null && continueToken !== '') {
    let decoded: {rv: number; after: string};
    try {
      decoded = JSON.parse(Buffer.from(continueToken, 'base64url').toString('utf8')) as {rv: number; after: string};
    } catch {
      throw new HttpError(status(400, 'BadRequest', 'continue key is not valid: illegal base64 data at input byte 0'));
    }
    if (decoded.rv < store.oldestResumableVersion) {
      throw new HttpError(status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'));
    }
    listRv = decoded.rv;
    items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > decoded.after);
  }
  const limit = Number(q.get('limit') ?? '0');
  const metadata: Record<string, unknown> = {resourceVersion: String(listRv)};
  if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
    const last = items[limit - 1]!;
    metadata.continue = Buffer.from(JSON.stringify({rv: listRv, after: `${last.metadata.namespace ?? ''}/${last.metadata.name}`})).toString('base64url');
    metadata.remainingItemCount = items.length - limit;
    items = items.slice(0, limit);
  }
  return {kind: type.listKind, apiVersion: apiVersionOf(type), metadata, items: items.map(listItem)};
}
