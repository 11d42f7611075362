import {errorMessage} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import {NO_ROUTES} from '../router/route-table.js';
import {openSources} from '../session/sources.js';
import type {SharedClusterOptions} from '../session/sources.js';
import {TunnelSession} from '../session/session.js';
import {GatewayAccess} from './access.js';
import type {Reviewer} from './access.js';
import {GatewayConnectionAdmission} from './admission.js';
import type {GatewayPolicy} from './admission.js';
import {GatewayMetrics, startAdminServer} from './admin.js';
import {GatewayCatalog} from './catalog.js';

/** The environment variable that points the gateway at another service-account directory (tests, sidecars). */
export const SERVICE_ACCOUNT_DIR_ENV = 'DUBBO_TUNNEL_SERVICEACCOUNT_DIR';
export const DEFAULT_GATEWAY_PORT = 20880;
export const DEFAULT_ADMIN_PORT = 8081;
/**
 * How long a stopping gateway lets requests in flight finish; the Deployment's
 * terminationGracePeriodSeconds is this plus a margin (manifests.ts).
 */
export const DEFAULT_DRAIN_MS = 20_000;

export interface GatewayOptions {
  port: number;
  /** Listen address (default every address). */
  host?: string;
  adminPort: number;
  /** Namespaces to discover in; empty with allNamespaces or namespaceSelector. */
  namespaces: readonly string[];
  allNamespaces: boolean;
  /** --namespace-selector: discover in the namespaces whose labels match, joining and leaving live. */
  namespaceSelector?: string;
  /** Discovery rules shared with `up` (--source, -l, --ingress-class, ...). */
  discovery: Omit<SharedClusterOptions, 'inCluster'>;
  allowAnonymous: boolean;
  noLearn: boolean;
  drainMs: number;
  maxBodyLength?: number;
  events: TunnelEventBus;
  env: NodeJS.ProcessEnv;
}

export interface RunningGateway {
  readonly port: number;
  readonly adminPort: number;
  /** SIGTERM: /readyz fails at once, the port stops accepting, requests in flight are answered (up to drainMs), then everything closes. */
  stop(): Promise<void>;
}

/**
 * `dubbo-tunnel gateway`: the router of `up`, run in a pod for a whole team. Discovery watches
 * through the pod's service account, upstreams dialled straight to pod IPs and shared by every
 * laptop, each laptop stream admitted by its developer's own token (GatewayConnectionAdmission),
 * and an admin port for probes and metrics.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const {events, env} = options;
  const serviceAccountDir = env[SERVICE_ACCOUNT_DIR_ENV] === undefined || env[SERVICE_ACCOUNT_DIR_ENV] === '' ? undefined : env[SERVICE_ACCOUNT_DIR_ENV];
  const inCluster = serviceAccountDir === undefined ? {} : {serviceAccountDir};
  // Loaded lazily, as every Kubernetes module of a session is.
  const {openInClusterReviews} = await import('../kube/reviews.js');
  const reviewer: Reviewer = openInClusterReviews({...inCluster, env});
  const access = new GatewayAccess(reviewer);
  let session: TunnelSession | undefined;
  let ready = false;
  let laptops = 0;
  const catalog = new GatewayCatalog(() => (session?.routes ?? NO_ROUTES).current);
  const policy: GatewayPolicy = {
    access,
    catalog,
    allowAnonymous: options.allowAnonymous,
    laptops: {opened: () => void laptops++, closed: () => void laptops--},
  };
  const state = {
    ready: () => ready,
    upstreams: () => session?.upstreamCount ?? 0,
    applications: () => session?.routes.current.backends.size ?? 0,
    laptops: () => laptops,
  };
  const metrics = new GatewayMetrics(events, state);
  // The admin port first: the liveness probe answers while discovery is still listing.
  const admin = await startAdminServer({port: options.adminPort, state, metrics, events});
  try {
    const sources = await openSources({
      backends: [],
      clusters: {
        shared: {...options.discovery, inCluster, ...(options.namespaceSelector === undefined ? {} : {namespaceSelector: options.namespaceSelector})},
        contexts: [],
        namespaces: options.namespaces,
        allNamespaces: options.allNamespaces,
      },
    }, {events, env, execStderr: null, interactive: false});
    session = await TunnelSession.start({
      sources,
      events,
      listen: {
        port: options.port,
        ...(options.host === undefined ? {} : {host: options.host}),
        // Laptops come from anywhere the Service is reachable; the admission decides who gets in.
        allowRemote: true,
        admission: () => new GatewayConnectionAdmission(policy),
        ...(options.maxBodyLength === undefined ? {} : {maxBodyLength: options.maxBodyLength}),
      },
      learning: {noLearn: options.noLearn, resolveFile: undefined},
    }, 'all');
  } catch (error) {
    metrics.close();
    await admin.close();
    throw error;
  }
  ready = true;
  events.log('info', `gateway ready: ${session.routes.current.backends.size} applications; admin port ${admin.port} (/healthz, /readyz, /metrics)${options.allowAnonymous ? '; --allow-anonymous: consumers without a token are routed' : ''}`);
  const running = session;
  let stopping: Promise<void> | undefined;
  return {
    port: running.port,
    adminPort: admin.port,
    stop: () => {
      stopping ??= (async () => {
        ready = false;
        try {
          await running.stop(options.drainMs);
        } catch (error) {
          events.log('error', `stopping: ${errorMessage(error)}`);
        } finally {
          metrics.close();
          await admin.close();
        }
      })();
      return stopping;
    },
  };
}
