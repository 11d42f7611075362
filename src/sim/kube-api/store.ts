/**
 * In-memory object storage with etcd-like semantics: one global, monotonically increasing
 * resourceVersion, every write bumps it, and an event log lets a watch resume from any version newer
 * than the compaction point (older ones get "410 Expired", as from the watch cache).
 */
import {randomUUID} from 'node:crypto';
import {apiVersionOf, type ResourceType} from './resources.js';
import type {KubeObject, WatchEventType} from './types.js';

export interface StoreChange {
  rv: number;
  type: WatchEventType;
  resource: ResourceType;
  /** The object after the change (for DELETED: the last state, carrying the deletion's resourceVersion). */
  object: KubeObject;
  /** The object before a MODIFIED change; a watch uses it to turn label changes into ADDED/DELETED. */
  previous?: KubeObject;
}

/** A resume point older than the compaction point. */
export class ExpiredError extends Error {
  constructor(readonly requested: number, readonly oldest: number) {
    // Wording of storage/cacher `errors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", ...))`.
    super(`too old resource version: ${requested} (${oldest})`);
  }
}

function key(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** RFC 3339 without fractional seconds, as metav1.Time serialises. */
export function kubeTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class ObjectStore {
  private rv = 0;
  /** Resume points below this number are expired. */
  private compactedBelow = 0;
  private readonly log: StoreChange[] = [];
  private readonly objects = new Map<ResourceType, Map<string, KubeObject>>();
  private readonly listeners = new Set<(change: StoreChange) => void>();

  constructor(private readonly maxLogEntries = 10_000) {}

  get resourceVersion(): number {
    return this.rv;
  }

  get oldestResumableVersion(): number {
    return this.compactedBelow;
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(resource: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.objects.get(resource)?.get(key(resource.namespaced ? namespace : undefined, name));
    return obj === undefined ? undefined : structuredClone(obj);
  }

  /** Sorted by namespace then name, like an etcd range read over `/registry/<resource>/<ns>/<name>`. */
  list(resource: ResourceType, namespace?: string): KubeObject[] {
    const all = [...(this.objects.get(resource)?.values() ?? [])];
    return all
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .sort((a, b) => {
        // Byte order of the etcd keys, not locale order.
        const ka = key(a.metadata.namespace, a.metadata.name);
        const kb = key(b.metadata.namespace, b.metadata.name);
        return ka < kb ? -1 : ka > kb ? 1 : 0;
      })
      .map((o) => structuredClone(o));
  }

  /** Create or replace; keeps uid/creationTimestamp of an existing object. Returns the stored copy. */
  put(resource: ResourceType, input: KubeObject): {type: 'ADDED' | 'MODIFIED'; object: KubeObject} {
    const obj = structuredClone(input);
    if (typeof obj.metadata?.name !== 'string' || obj.metadata.name === '') {
      throw new Error(`fake-kube-api: ${resource.kind} needs metadata.name`);
    }
    if (resource.namespaced) obj.metadata.namespace = obj.metadata.namespace ?? 'default';
    else delete obj.metadata.namespace;
    const bucket = this.bucket(resource);
    const k = key(obj.metadata.namespace, obj.metadata.name);
    const previous = bucket.get(k);
    obj.apiVersion = apiVersionOf(resource);
    obj.kind = resource.kind;
    obj.metadata.uid = previous?.metadata.uid ?? obj.metadata.uid ?? randomUUID();
    obj.metadata.creationTimestamp = previous?.metadata.creationTimestamp ?? obj.metadata.creationTimestamp ?? kubeTime();
    const rv = ++this.rv;
    obj.metadata.resourceVersion = String(rv);
    bucket.set(k, obj);
    const type = previous === undefined ? 'ADDED' : 'MODIFIED';
    this.record({rv, type, resource, object: obj, ...(previous === undefined ? {} : {previous})});
    return {type, object: structuredClone(obj)};
  }

  delete(resource: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const bucket = this.bucket(resource);
    const k = key(resource.namespaced ? namespace : undefined, name);
    const previous = bucket.get(k);
    if (previous === undefined) return undefined;
    bucket.delete(k);
    const rv = ++this.rv;
    const object = structuredClone(previous);
    object.metadata.resourceVersion = String(rv);
    this.record({rv, type: 'DELETED', resource, object});
    return structuredClone(object);
  }

  /** Changes after `since`, or ExpiredError when some of them were compacted away. */
  changesSince(since: number): StoreChange[] {
    if (since < this.compactedBelow) throw new ExpiredError(since, this.compactedBelow);
    return this.log.filter((c) => c.rv > since);
  }

  /**
   * Makes every resourceVersion handed out so far too old to resume from. The counter moves one step so
   * that even the newest version a client holds is below the compaction point.
   */
  compact(): void {
    this.rv++;
    this.compactedBelow = this.rv;
    this.log.length = 0;
  }

  private bucket(resource: ResourceType): Map<string, KubeObject> {
    let bucket = this.objects.get(resource);
    if (bucket === undefined) {
      bucket = new Map();
      this.objects.set(resource, bucket);
    }
    return bucket;
  }

  private record(change: StoreChange): void {
    this.log.push(change);
    if (this.log.length > this.maxLogEntries) {
      const dropped = this.log.splice(0, this.log.length - this.maxLogEntries);
      const last = dropped[dropped.length - 1];
      // A resume from the last dropped version would miss nothing, anything older would.
      if (last !== undefined) this.compactedBelow = last.rv;
    }
    for (const listener of [...this.listeners]) listener(change);
  }
}
