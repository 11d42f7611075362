/**
 * The watch streams of the simulated API server: chunked newline-delimited events for one
 * resource type and selection, replayed from a resourceVersion (410 Expired past what the store
 * keeps), then every change of the store as it happens, with bookmarks and timeoutSeconds.
 */
import {randomUUID} from 'node:crypto';
import type http from 'node:http';
import {apiVersionOf, type ResourceType} from './resources.js';
import {HttpError, status} from './responses.js';
import {matchesFields, matchesLabels, type FieldSelector, type LabelSelector} from './selectors.js';
import type {ServedCluster} from './served-cluster.js';
import {ExpiredError, type StoreChange} from './store.js';
import type {KubeObject, WatchEventType} from './types.js';

export interface OpenWatch {
  res: http.ServerResponse;
  type: ResourceType;
  namespace: string;
  labels: LabelSelector;
  fields: FieldSelector;
  bookmarks: boolean;
  timers: NodeJS.Timeout[];
}

export class WatchStreams {
  /** Open watch streams. */
  readonly open = new Set<OpenWatch>();
  readonly #cluster: Pick<ServedCluster, 'store' | 'deferred'>;
  readonly #bookmarkIntervalMs: number;

  constructor(cluster: Pick<ServedCluster, 'store' | 'deferred'>, bookmarkIntervalMs: number) {
    this.#cluster = cluster;
    this.#bookmarkIntervalMs = bookmarkIntervalMs;
    cluster.store.subscribe((change) => this.#dispatch(change));
  }

  serve(res: http.ServerResponse, type: ResourceType, namespace: string, labels: LabelSelector,
    fields: FieldSelector, q: URLSearchParams, headers: Record<string, string>): void {
    const rvParam = q.get('resourceVersion') ?? '';
    if (rvParam !== '' && !/^\d+$/.test(rvParam)) {
      throw new HttpError(status(400, 'BadRequest', `invalid resource version: ${rvParam}`));
    }
    // Headers go out at once: clients wait for them before reading events.
    res.writeHead(200, {'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Audit-Id': randomUUID(), ...headers});
    res.flushHeaders();
    const w: OpenWatch = {res, type, namespace, labels, fields, bookmarks: q.get('allowWatchBookmarks') === 'true', timers: []};
    const matches = (o: KubeObject): boolean =>
      (namespace === '' || o.metadata.namespace === namespace) && matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o);

    if (rvParam === '' || rvParam === '0') {
      // "Start at most recent"/"any": synthetic ADDED events for the current state, then changes.
      for (const obj of this.#cluster.store.list(type, namespace === '' ? undefined : namespace)) {
        if (matches(obj)) this.#writeEvent(w, 'ADDED', obj);
      }
    } else {
      let backlog: StoreChange[];
      try {
        backlog = this.#cluster.store.changesSince(Number(rvParam));
      } catch (err) {
        if (!(err instanceof ExpiredError)) throw err;
        res.end(JSON.stringify({type: 'ERROR', object: status(410, 'Expired', err.message)}) + '\n');
        return;
      }
      for (const change of backlog) this.#deliver(w, change);
    }
    this.open.add(w);
    res.on('close', () => this.close(w, false));
    if (w.bookmarks && this.#bookmarkIntervalMs > 0) {
      w.timers.push(setInterval(() => this.writeBookmark(w), this.#bookmarkIntervalMs));
    }
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? '0');
    if (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) {
      w.timers.push(setTimeout(() => this.close(w, false), timeoutSeconds * 1000));
    }
  }

  close(w: OpenWatch, abrupt: boolean): void {
    if (!this.open.delete(w)) return;
    for (const t of w.timers) clearTimeout(t);
    if (abrupt) w.res.socket?.destroy();
    else w.res.end();
  }

  #dispatch(change: StoreChange): void {
    for (const w of this.open) this.#deliver(w, change);
  }

  /** watch cache semantics: a label change moving an object in/out of the selection is ADDED/DELETED. */
  #deliver(w: OpenWatch, change: StoreChange): void {
    if (change.resource !== w.type) return;
    const matches = (o: KubeObject): boolean =>
      (w.namespace === '' || o.metadata.namespace === w.namespace) && matchesLabels(w.labels, o.metadata.labels) && matchesFields(w.fields, o);
    const now = matches(change.object);
    if (change.type !== 'MODIFIED' || change.previous === undefined) {
      if (now) this.#writeEvent(w, change.type, change.object);
      return;
    }
    const before = matches(change.previous);
    if (before && now) this.#writeEvent(w, 'MODIFIED', change.object);
    else if (!before && now) this.#writeEvent(w, 'ADDED', change.object);
    else if (before && !now) {
      const gone = structuredClone(change.previous);
      gone.metadata.resourceVersion = change.object.metadata.resourceVersion;
      this.#writeEvent(w, 'DELETED', gone);
    }
  }

  #writeEvent(w: OpenWatch, type: WatchEventType, object: KubeObject): void {
    if (this.#cluster.deferred(() => this.#writeEvent(w, type, object))) return;
    if (w.res.writableEnded) return;
    w.res.write(JSON.stringify({type, object}) + '\n');
  }

  writeBookmark(w: OpenWatch): void {
    if (w.res.writableEnded || this.#cluster.deferred(() => undefined)) return;
    const object = {kind: w.type.kind, apiVersion: apiVersionOf(w.type), metadata: {resourceVersion: String(this.#cluster.store.resourceVersion)}};
    w.res.write(JSON.stringify({type: 'BOOKMARK', object}) + '\n');
  }
}
