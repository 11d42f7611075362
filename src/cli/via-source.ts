import type {Writable} from 'node:stream';
import type {BackendSource} from '../core/backend-source.js';
import type {TunnelEventBus} from '../core/events.js';
import type {KubeBackendDeps} from '../kube/backend.js';
import type {ViaTarget} from '../via/via-target.js';
import {describeViaTarget} from '../via/via-target.js';
import {packageVersion} from './version.js';

/** `up --via`: where the gateway is, and the kubeconfig user whose token it checks. */
export interface ViaPlan {
  target: ViaTarget;
  /** --kubeconfig and --context: the developer's credential (and, for a Service, the cluster it is in). */
  kubeconfig?: string;
  context?: string;
  /** Catalog poll interval and port-forward limits (tests shorten them). */
  pollMs?: number;
  timing?: KubeBackendDeps['timing'];
}

export interface ViaDeps {
  events: TunnelEventBus;
  env: NodeJS.ProcessEnv;
  execStderr: Writable | null;
  interactive: boolean;
}

/**
 * Opens the team gateway as a route source: the developer's token first (a clear error when the
 * kubeconfig user has none), then, for `<namespace>/<service>`, the Service's ready pods to
 * port-forward to. Kubernetes code loads only here, as for cluster sources.
 */
export async function openViaSource(plan: ViaPlan, deps: ViaDeps): Promise<BackendSource> {
  const [{GatewaySource}, {tcpDialer}] = await Promise.all([import('../via/gateway-source.js'), import('../via/tcp-dialer.js')]);
  const common = {target: describeViaTarget(plan.target), events: deps.events, client: `dubbo-tunnel/${packageVersion()}`, ...(plan.pollMs === undefined ? {} : {pollMs: plan.pollMs})};
  const kubeconfig = {
    ...(plan.kubeconfig === undefined ? {} : {kubeconfig: plan.kubeconfig}),
    ...(plan.context === undefined ? {} : {context: plan.context}),
    env: deps.env,
    execStderr: deps.execStderr,
    interactive: deps.interactive,
  };
  const {target} = plan;
  if (target.kind === 'address') {
    const {BearerToken} = await import('../kube/bearer-token.js');
    const credential = BearerToken.open(kubeconfig);
    // Asked now, so a user without a token learns it before anything listens.
    await credential.get();
    return new GatewaySource({...common, dialer: tcpDialer(target.host, target.port), credential});
  }
  const {openGatewayService} = await import('../kube/gateway-service.js');
  const gateway = await openGatewayService({
    ...kubeconfig,
    namespace: target.namespace,
    service: target.service,
    port: target.port,
    events: deps.events,
    ...(plan.timing === undefined ? {} : {timing: plan.timing}),
  });
  return new GatewaySource({...common, dialer: gateway.dialer, credential: gateway.credential, onClose: () => gateway.close()});
}
