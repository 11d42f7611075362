import type {Writable} from 'node:stream';
import type {BackendStream} from '../core/backend.js';
import {DubboTunnelError} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import {KubeBackend} from './backend.js';
import type {KubeBackendDeps} from './backend.js';
import {BearerToken} from './bearer-token.js';
import {KubeClient} from './client.js';
import {dubboPortOf} from './discovery.js';
import type {KubeApplication} from './discovery.js';
import {EndpointTracker} from './endpoint-tracker.js';
import {KubeRequestError, toKubeError} from './errors.js';
import {loadKubeconfig, routeExecPluginIo} from './kubeconfig.js';
import type {Service, ServicePort} from './types.js';

export interface GatewayServiceOptions {
  namespace: string;
  service: string;
  /** The Service port (number or name); default the port named gateway, else its Dubbo port (named dubbo, or 20880), else its only port. */
  port: number | string | undefined;
  kubeconfig?: string;
  context?: string;
  events: TunnelEventBus;
  env?: NodeJS.ProcessEnv;
  execStderr?: Writable | null;
  interactive?: boolean;
  /** Time limits of the port-forwards (tests shorten them). */
  timing?: KubeBackendDeps['timing'];
}

/** What `up --via <namespace>/<service>` needs: a way to the gateway's pods, and the developer's token. */
export interface GatewayService {
  /** One port-forward to a ready pod of the Service per connect(); another ready pod when that one goes. */
  readonly dialer: {describe(): string; connect(signal?: AbortSignal): Promise<BackendStream>};
  readonly credential: BearerToken;
  close(): Promise<void>;
}

/**
 * Finds the gateway's Service and follows its ready pods (the same EndpointSlice tracking and
 * port-forward backend as an application's), and gets the developer's bearer token from the same
 * kubeconfig user, so an exec plugin runs once for both. Throws DT_ERR_GATEWAY_NO_TOKEN when the
 * user has no token, and the Kubernetes errors (unreachable, forbidden, no such Service) otherwise.
 */
export async function openGatewayService(options: GatewayServiceOptions): Promise<GatewayService> {
  const loaded = loadKubeconfig({kubeconfig: options.kubeconfig, context: options.context, namespace: options.namespace, env: options.env});
  const exec = routeExecPluginIo(loaded.kc, {stderr: options.execStderr, interactive: options.interactive});
  const client = new KubeClient(loaded.kc, {
    server: loaded.server, contextName: loaded.contextName, onUnauthorized: () => exec.forgetCredentials(),
    onWaiting: (message, answered) => options.events.log(answered ? 'info' : 'warn', message),
  });
  const credential = BearerToken.of(client, exec, loaded.userName);
  // The token first: without one the gateway cannot be used, whatever the Service says.
  await credential.get();
  const {namespace, service: name} = options;
  const ref = {verb: 'get', group: '', resource: 'services', namespace, name};
  let service: Service;
  try {
    service = await client.getJson<Service>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`, {}, ref);
  } catch (error) {
    if (error instanceof KubeRequestError && error.status === 404) {
      throw new DubboTunnelError('DT_ERR_NO_BACKENDS', `there is no Service ${namespace}/${name} in context '${loaded.contextName}' for --via`, {
        hint: `check the name with \`kubectl get services -n ${namespace}\`; the gateway's Service is the one its manifests create (docs/team-mode.md)`,
      });
    }
    throw toKubeError(error, client.scene, ref);
  }
  const port = portOf(service, options.port);
  if (port === undefined) {
    const known = (service.spec?.ports ?? []).map((entry) => entry.name ?? String(entry.port)).join(', ');
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `Service ${namespace}/${name} has no port ${options.port === undefined ? 'named dubbo (or 20880)' : String(options.port)}`, {
      hint: `name one of its ports: --via ${namespace}/${name}:<port> (it has ${known === '' ? 'none' : known})`,
    });
  }
  const target: KubeApplication = {
    application: `via ${namespace}/${name}`,
    namespace,
    service: name,
    port: port.name ?? port.port,
    source: 'service',
    origin: `service ${namespace}/${name}`,
    servicePort: {name: port.name === '' ? undefined : port.name, port: port.port, targetPort: port.targetPort},
    ...(service.spec?.selector === undefined ? {} : {podSelector: service.spec.selector}),
  };
  const endpoints = new EndpointTracker(client, {
    namespace,
    onError: (error) => options.events.log('warn', `${target.application}: ${toKubeError(error, client.scene).message}`),
  });
  const backend = new KubeBackend(target, {client, endpoints, events: options.events, ...(options.timing === undefined ? {} : {timing: options.timing})});
  return {
    dialer: {describe: () => backend.describe(), connect: (signal) => connectToAnyReplica(backend, endpoints, signal)},
    credential,
    close: async () => {
      backend.close('dubbo-tunnel is stopping');
      await endpoints.stop();
    },
  };
}

/**
 * A port-forward to a ready pod picked at random, as a Service's ClusterIP would: each laptop's
 * backend opens one stream, so its own fewest-streams choice would send every laptop to the same
 * first pod, and a second replica would only ever take laptops when the first goes.
 */
async function connectToAnyReplica(backend: KubeBackend, endpoints: EndpointTracker, signal: AbortSignal | undefined): Promise<BackendStream> {
  // The ready pods are known once the endpoint watch has listed; a failure to list is the connect's to report.
  await endpoints.start().catch(() => undefined);
  const ready = backend.readyPods();
  return backend.connect(signal, ready.length > 1 ? ready[Math.floor(Math.random() * ready.length)] : undefined);
}

/** The port asked for, else the one the gateway's manifests name `gateway`, else the Dubbo port, else the Service's only port. */
function portOf(service: Service, wanted: number | string | undefined): ServicePort | undefined {
  const ports = service.spec?.ports ?? [];
  if (wanted === undefined) return ports.find((entry) => entry.name === 'gateway') ?? dubboPortOf(service) ?? (ports.length === 1 ? ports[0] : undefined);
  return ports.find((entry) => (typeof wanted === 'number' ? entry.port === wanted : entry.name === wanted));
}
