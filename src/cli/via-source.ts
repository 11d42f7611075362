import type {Writable} from 'node:stream';
import {DubboTunnelError} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import type {KubeBackendDeps} from '../kube/backend.js';
import type {GatewaySource} from '../via/gateway-source.js';
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
export async function openViaSource(plan: ViaPlan, deps: ViaDeps): Promise<GatewaySource> {
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

/** The discovery flags `up` and `ls` take, as parsed. */
interface DiscoveryFlags {
  'namespace'?: string[];
  'all-namespaces'?: boolean;
  'source'?: string;
  'selector'?: string;
  'ingress-class'?: string;
  'context'?: string[];
}

/**
 * --via reaches the gateway, which discovers on its own: the flags that steer this machine's
 * discovery would be silently ignored, so they are a usage error. --context and --kubeconfig stay:
 * they choose whose token the gateway checks (and where its Service is). `choose` says how the
 * command narrows what the gateway offers.
 */
export function checkViaFlags(values: DiscoveryFlags, choose: string): void {
  const discovery = (['namespace', 'all-namespaces', 'source', 'selector', 'ingress-class'] as const).filter((flag) => values[flag] !== undefined);
  if (discovery.length > 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--via cannot be used with ${discovery.map((flag) => `--${flag}`).join(', ')}: the gateway decides which applications it routes`, {
      hint: `leave them out (the gateway offers every application you may use; ${choose}), or drop --via to port-forward from this machine`,
    });
  }
  if ((values.context?.length ?? 0) > 1) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--via takes one --context (the kubeconfig user whose token the gateway checks)');
  }
}
