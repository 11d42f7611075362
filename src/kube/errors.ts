import {DubboTunnelError, errorMessage} from '../core/errors.js';
import type {ErrorCode} from '../core/errors.js';
import type {KubeStatus} from './types.js';

/**
 * What a request was trying to do, in RBAC terms, so a 403 can say exactly which permission is
 * missing ("cannot watch endpointslices.discovery.k8s.io in namespace dev").
 */
export interface ResourceRef {
  verb: string;
  /** API group; '' for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  /** undefined for cluster-wide requests. */
  namespace?: string;
  name?: string;
}

/** A non-2xx answer from the API server (or a watch ERROR event), with the decoded Status body. */
export class KubeRequestError extends Error {
  readonly status: number;
  readonly body: KubeStatus | undefined;
  readonly ref: ResourceRef;

  constructor(status: number, body: KubeStatus | undefined, ref: ResourceRef) {
    super(`${status} ${body?.reason ?? ''}: ${body?.message ?? ''}`.trim());
    this.name = 'KubeRequestError';
    this.status = status;
    this.body = body;
    this.ref = ref;
  }
}

/** The watch received no bytes (not even a BOOKMARK) for too long; the connection may be half dead. */
export class WatchInactiveError extends Error {
  constructor(ms: number) {
    super(`no data from the API server for ${Math.round(ms / 1000)} s`);
    this.name = 'WatchInactiveError';
  }
}

/** Getting credentials failed before any request was sent (exec plugin, OIDC refresh, cert files). */
export class KubeAuthError extends Error {
  constructor(message: string, options: {cause?: unknown} = {}) {
    super(message, options);
    this.name = 'KubeAuthError';
  }
}

/** An exec credentials plugin that is not installed, or that gave no answer within its bound. */
export class ExecPluginError extends Error {
  readonly reason: 'missing' | 'timeout';
  /** The plugin as the kubeconfig names it (users[].user.exec.command). */
  readonly command: string;
  readonly timeoutMs: number | undefined;

  constructor(reason: 'missing' | 'timeout', command: string, options: {timeoutMs?: number; cause?: unknown} = {}) {
    super(reason === 'missing'
      ? `the credentials plugin ${command} was not found (not installed, or not on PATH)`
      : `the credentials plugin ${command} gave no answer within ${Math.round((options.timeoutMs ?? 0) / 1000)} s`, {cause: options.cause});
    this.name = 'ExecPluginError';
    this.reason = reason;
    this.command = command;
    this.timeoutMs = options.timeoutMs;
  }
}

/** The fix for a plugin that is not installed (doctor says the same, then "run doctor again"). */
export function execPluginMissingHint(command: string): string {
  return `install ${command} or put it on PATH (the kubeconfig's users[].user.exec.command)`;
}

/** Environment variable that sets the bound on a credentials plugin run, in milliseconds. */
export const EXEC_TIMEOUT_ENV = 'DUBBO_TUNNEL_EXEC_TIMEOUT_MS';

export interface ErrorScene {
  /** The API server URL, for "cannot reach" messages. */
  server: string;
  contextName: string;
}

/** `endpointslices.discovery.k8s.io`, `pods/portforward`, `services`: how kubectl names a resource. */
export function describeResource(ref: ResourceRef): string {
  const base = ref.group === '' ? ref.resource : `${ref.resource}.${ref.group}`;
  return ref.subresource === undefined ? base : `${base}/${ref.subresource}`;
}

function where(ref: ResourceRef): string {
  return ref.namespace === undefined ? 'cluster-wide (all namespaces)' : `in namespace ${ref.namespace}`;
}

/** A Role rule that grants `verbs` on the resource, one line of YAML flow style, for hints. */
export function roleRuleFor(ref: ResourceRef, verbs: string[] = [ref.verb]): string {
  const resource = ref.subresource === undefined ? ref.resource : `${ref.resource}/${ref.subresource}`;
  return `{apiGroups: ["${ref.group}"], resources: ["${resource}"], verbs: [${verbs.map((verb) => `"${verb}"`).join(', ')}]}`;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH',
  'EPIPE', 'ECONNABORTED', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

function errorCodeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as {code?: unknown}).code;
  if (typeof code === 'string') return code;
  return errorCodeOf((error as {cause?: unknown}).cause);
}

/**
 * OpenSSL's verification errors as Node names them (UNABLE_TO_VERIFY_LEAF_SIGNATURE for a server
 * certificate signed by a CA the kubeconfig does not hold, CERT_HAS_EXPIRED, HOSTNAME_MISMATCH, ...)
 * and Node's own TLS errors.
 */
function isTlsError(code: string | undefined): boolean {
  return code !== undefined && (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT')
    || code.startsWith('UNABLE_TO_') || code === 'HOSTNAME_MISMATCH' || code === 'INVALID_CA'
    || code === 'INVALID_PURPOSE' || code === 'PATH_LENGTH_EXCEEDED');
}

/**
 * Turns whatever a Kubernetes call threw into a DubboTunnelError whose message says what failed and
 * whose hint names the fix. Already-mapped errors pass through.
 */
export function toKubeError(error: unknown, scene: ErrorScene, ref?: ResourceRef): DubboTunnelError {
  if (error instanceof DubboTunnelError) return error;
  const plugin = error instanceof ExecPluginError ? error : error instanceof KubeAuthError && error.cause instanceof ExecPluginError ? error.cause : undefined;
  if (plugin) {
    return new DubboTunnelError('DT_ERR_KUBE_UNAUTHORIZED', `cannot get credentials for context '${scene.contextName}': ${plugin.message}`, {
      hint: plugin.reason === 'missing'
        ? execPluginMissingHint(plugin.command)
        : `run \`kubectl --context ${scene.contextName} get ns\` to see what the plugin waits for (a login, a prompt, the network), then retry; ${EXEC_TIMEOUT_ENV}=<ms> gives it longer`,
      cause: error,
    });
  }
  if (error instanceof KubeAuthError) {
    return new DubboTunnelError('DT_ERR_KUBE_UNAUTHORIZED', `cannot get credentials for context '${scene.contextName}': ${error.message}`, {
      hint: `run \`kubectl --context ${scene.contextName} get ns\` to log in or see the credential plugin's error, then retry`,
      cause: error,
    });
  }
  if (error instanceof KubeRequestError) return fromStatus(error, scene, ref ?? error.ref);
  if (error instanceof WatchInactiveError) {
    return new DubboTunnelError('DT_ERR_KUBE_UNREACHABLE', `the API server ${scene.server} stopped sending data (${error.message})`, {
      hint: 'check the network path to the cluster (VPN, proxy); dubbo-tunnel keeps retrying',
      cause: error,
    });
  }
  const code = errorCodeOf(error);
  const name = error instanceof Error ? error.name : '';
  if (isTlsError(code)) {
    return new DubboTunnelError('DT_ERR_KUBE_UNREACHABLE', `TLS to the API server ${scene.server} failed: ${errorMessage(error)}`, {
      hint: `the API server's certificate is not trusted by certificate-authority(-data) of the cluster of context '${scene.contextName}' in your kubeconfig: fetch a fresh kubeconfig for this cluster (or fix that entry)`,
      cause: error,
    });
  }
  if ((code !== undefined && NETWORK_CODES.has(code)) || name === 'TimeoutError' || name === 'FetchError') {
    return new DubboTunnelError('DT_ERR_KUBE_UNREACHABLE', `cannot reach the API server ${scene.server}: ${describeNetworkError(code, error)}`, {
      hint: `check that the cluster of context '${scene.contextName}' is running and reachable (VPN, proxy), or pick another with --context`,
      cause: error,
    });
  }
  return new DubboTunnelError('DT_ERR_KUBE_API', `Kubernetes API call failed: ${errorMessage(error)}`, {cause: error});
}

function describeNetworkError(code: string | undefined, error: unknown): string {
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'host name not found';
    case 'ETIMEDOUT': case 'UND_ERR_CONNECT_TIMEOUT': case 'ERR_SOCKET_CONNECTION_TIMEOUT': return 'connection timed out';
    case 'ECONNRESET': return 'connection reset';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'network unreachable';
    case undefined:
    default:
      if (error instanceof Error && error.name === 'TimeoutError') return 'request timed out';
      return errorMessage(error);
  }
}

/**
 * The verb and resource the authorizer actually refused, from the API server's 403 text
 * (`User "u" cannot watch resource "endpointslices" in API group "discovery.k8s.io" in the namespace "dev"`,
 * apiserver responsewriters/errors.go forbiddenMessage). Our own idea of the request is the fallback.
 */
export function refusedRef(message: string | undefined, ref: ResourceRef): ResourceRef {
  const match = /cannot (\S+) resource "([^"/]+)(?:\/([^"]+))?"(?: in API group "([^"]*)")?/.exec(message ?? '');
  if (!match?.[1] || !match[2]) return ref;
  return {...ref, verb: match[1], resource: match[2], subresource: match[3], group: match[4] ?? ref.group};
}

function fromStatus(error: KubeRequestError, scene: ErrorScene, requested: ResourceRef): DubboTunnelError {
  const serverMessage = error.body?.message;
  const ref = error.status === 403 ? refusedRef(serverMessage, requested) : requested;
  const resource = describeResource(ref);
  let code: ErrorCode = 'DT_ERR_KUBE_API';
  let message: string;
  let hint: string | undefined;
  switch (error.status) {
    case 401:
      code = 'DT_ERR_KUBE_UNAUTHORIZED';
      message = `the API server ${scene.server} rejected the credentials of context '${scene.contextName}' (401 Unauthorized)`;
      hint = 'credentials expired? log in again (e.g. your cloud CLI\'s get-credentials, kubelogin, or a fresh token) and retry';
      break;
    case 403:
      code = 'DT_ERR_KUBE_FORBIDDEN';
      message = `not allowed to ${ref.verb} ${resource} ${where(ref)}${serverMessage ? ` (${serverMessage})` : ''}`;
      hint = ref.resource === 'pods' && ref.subresource === 'portforward'
        ? `port-forward needs both \`get\` and \`create\` on pods/portforward (Kubernetes 1.35+ checks \`create\` for WebSocket upgrades); add to your Role: ${roleRuleFor(ref, ['get', 'create'])}`
        : `ask for a Role${ref.namespace === undefined ? ' (ClusterRole for all namespaces)' : ''} with ${roleRuleFor(ref, ['get', 'list', 'watch'])}; see docs/kubernetes.md for the full Role`;
      break;
    case 404:
      if (error.body?.details?.kind === 'namespaces' || /namespaces? "[^"]*" not found/.test(serverMessage ?? '')) {
        message = `namespace ${ref.namespace ?? error.body?.details?.name ?? ''} does not exist in context '${scene.contextName}'`;
        hint = 'check the name with `kubectl get namespaces`, or pass another -n/--namespace';
      } else if (ref.subresource !== undefined && ref.name !== undefined) {
        // A subresource of a missing object (pods/portforward of a deleted pod): name the object.
        message = `${ref.resource === 'pods' ? 'pod' : ref.resource} ${ref.namespace ?? ''}/${ref.name} not found (deleted?)`;
      } else {
        message = `${resource}${ref.name === undefined ? '' : ` ${ref.namespace ?? ''}/${ref.name}`} not found${serverMessage ? ` (${serverMessage})` : ''}`;
      }
      break;
    case 410:
      message = `resource version expired while watching ${resource}`;
      break;
    default:
      message = `${ref.verb} ${resource} ${where(ref)} failed: HTTP ${error.status}${serverMessage ? ` ${serverMessage}` : ''}`;
      if (error.status >= 500) hint = 'the API server reported an internal error; dubbo-tunnel retries, check the cluster if it persists';
  }
  return new DubboTunnelError(code, message, {hint, cause: error});
}
