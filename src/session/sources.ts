import type {Writable} from 'node:stream';
import type {BackendSource} from '../core/backend-source.js';
import type {TunnelEventBus} from '../core/events.js';
import type {ClusterOptions} from '../kube/cluster.js';
import type {KubeSourceOptions} from '../kube/session-source.js';
import {StaticSource} from './static-source.js';
import type {StaticBackendSpec} from './static-source.js';

/** Cluster options shared by every context and namespace of a session. */
export type SharedClusterOptions = Omit<ClusterOptions, 'context' | 'namespace' | 'allNamespaces' | 'events' | 'env' | 'execStderr' | 'interactive' | 'everyNamespace'>;

/** Where a session's applications come from, before anything is opened. */
export interface SourcePlan {
  /** --backend: local overrides (or the whole session when `clusters` is undefined). */
  backends: readonly StaticBackendSpec[];
  /** Kubernetes: each context (none = the current one) with each namespace (none = its default), or -A. */
  clusters?: {
    shared: SharedClusterOptions;
    contexts: readonly string[];
    namespaces: readonly string[];
    allNamespaces: boolean;
  };
  /** Places the caller opens besides these (a team gateway, `up --via`): with them, names are qualified. */
  otherPlaces?: number;
}

export interface OpenDeps {
  events: TunnelEventBus;
  env?: NodeJS.ProcessEnv;
  execStderr?: Writable | null;
  interactive?: boolean;
}

/**
 * Opens every source of the plan, in precedence order: the local --backend addresses first, then
 * each context in the order given with each namespace in the order given. Kubernetes code is loaded
 * only when the plan has a cluster. Contexts are opened one after another so credential plugins
 * never prompt at the same time. If one fails to open (unknown context, bad kubeconfig), the ones
 * already open are closed and the error is thrown: that is a mistake in the command line.
 */
export async function openSources(plan: SourcePlan, deps: OpenDeps): Promise<BackendSource[]> {
  const clusters = plan.clusters;
  const contexts: (string | undefined)[] = clusters === undefined ? [] : clusters.contexts.length === 0 ? [undefined] : [...clusters.contexts];
  const namespaces: (string | undefined)[] = clusters === undefined || clusters.allNamespaces || clusters.namespaces.length === 0 ? [undefined] : [...clusters.namespaces];
  const places = contexts.length * namespaces.length + (plan.backends.length > 0 ? 1 : 0) + (plan.otherPlaces ?? 0);
  const several = places > 1;
  const sources: BackendSource[] = [];
  if (plan.backends.length > 0) sources.push(new StaticSource(plan.backends, deps.events, several ? 'local' : undefined));
  if (clusters === undefined) return sources;
  const qualify: KubeSourceOptions['qualify'] = !several ? 'none'
    : contexts.length === 1 ? 'namespace'
      : namespaces.length === 1 && !clusters.allNamespaces ? 'context' : 'both';
  const {openKubeSource} = await import('../kube/session-source.js');
  try {
    for (const context of contexts) {
      for (const namespace of namespaces) {
        sources.push(await openKubeSource({
          ...clusters.shared,
          ...(context === undefined ? {} : {context}),
          ...(namespace === undefined ? {} : {namespace}),
          ...(clusters.allNamespaces ? {allNamespaces: true} : {}),
          qualify,
          events: deps.events,
          ...(deps.env === undefined ? {} : {env: deps.env}),
          ...(deps.execStderr === undefined ? {} : {execStderr: deps.execStderr}),
          ...(deps.interactive === undefined ? {} : {interactive: deps.interactive}),
        }));
      }
    }
  } catch (error) {
    await Promise.all(sources.map((source) => source.close()));
    throw error;
  }
  return sources;
}

/** The title of a session: its only source's, or every source's joined. */
export function sessionTitle(sources: readonly BackendSource[]): string {
  if (sources.length === 1) return sources[0]?.title ?? '';
  return sources.map((source) => source.kind === 'local' ? `local ${source.fixed?.join(', ') ?? ''}` : source.title.replace(/^context /, '')).join(' + ');
}

/**
 * The key remembered choices are stored under: `<context>/<namespace>` for one cluster source (as
 * before sessions had several), `static/-` for --backend alone, `via <gateway>/-` for a team
 * gateway alone, else every source's id joined.
 */
export function memoryKey(sources: readonly BackendSource[]): {context: string; namespace: string} {
  const only = sources.length === 1 ? sources[0] : undefined;
  // A source without a context of its own (a team gateway) is remembered by its id, never as `static`.
  if (only !== undefined) return {context: only.context ?? (only.kind === 'local' ? 'static' : only.id), namespace: only.namespace ?? '-'};
  return {context: sources.map((source) => source.id).join(' + '), namespace: '-'};
}
