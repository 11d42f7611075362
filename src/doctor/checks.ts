/**
 * The doctor's checks, in catalogue order. The Kubernetes ones use the product's own code paths
 * (loadKubeconfig, KubeCluster.open with its exec-plugin routing, KubeClient, discover(),
 * noBackendsError()), the port check listens through TunnelServer, and the address check asks
 * LocalPeerPolicy, so a check passes exactly when `up` would get past that step.
 */
import {performance} from 'node:perf_hooks';
import {Writable} from 'node:stream';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import {TunnelEventBus} from '../core/events.js';
import {textTable} from '../core/text-table.js';
import {KubeCluster} from '../kube/cluster.js';
import type {ClusterOptions, KubeApplication} from '../kube/cluster.js';
import {describeResource, execPluginMissingHint, roleRuleFor, toKubeError} from '../kube/errors.js';
import type {ResourceRef} from '../kube/errors.js';
import {loadKubeconfig} from '../kube/kubeconfig.js';
import type {LoadedKubeconfig} from '../kube/kubeconfig.js';
import {canI} from '../kube/access-review.js';
import type {AccessQuestion} from '../kube/access-review.js';
import {CATALOGUE, MINIMUM_NODE, problemOf} from './catalogue.js';
import type {CheckId} from './catalogue.js';
import {result, skipped} from './result.js';
import type {CheckResult} from './result.js';
import {judgeConsumerAddress, readNetworkFacts} from './consumer-address.js';
import type {NetworkFacts} from './consumer-address.js';
import {gatewayChecks} from './gateway.js';
import type {ViaProbe} from './gateway.js';
import {judgePort} from './port.js';

export type {CheckResult, CheckStatus} from './result.js';

export interface DoctorOptions {
  /** The Kubernetes flags, as for `up` (kubeconfig, context, namespace, -A, source, selector, ingress class). */
  kube: Omit<ClusterOptions, 'events' | 'env' | 'execStderr' | 'interactive'>;
  port: number;
  host?: string | undefined;
  allowRemote?: boolean;
  env: NodeJS.ProcessEnv;
  /** Where exec plugins' messages go as they are printed (null: nowhere); they are also kept in the check's details. */
  execStderr: Writable | null;
  /** A person is at the terminal: exec plugins may prompt. */
  interactive: boolean;
  /**
   * `--via`: the team gateway the laptop would use. The gateway checks run instead of the
   * permissions and backends checks (the gateway discovers, not this machine).
   */
  via?: ViaProbe;
  /** Only these checks (default: all of them, in catalogue order). */
  only?: readonly CheckId[];
  /** How long the API server may take per request (default 10 s). */
  apiTimeoutMs?: number;
  /** Tests: another Node version, or another machine's network. */
  nodeVersion?: string;
  network?: NetworkFacts;
}

const elapsedSince = (started: number) => Math.round(performance.now() - started);

export function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split('.').map((part) => Number.parseInt(part, 10) || 0);
  const pb = b.replace(/^v/, '').split('.').map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

function nodeCheck(version: string): CheckResult {
  const ok = compareVersions(version, MINIMUM_NODE) >= 0;
  return result('node', ok
    ? {status: 'ok', summary: `v${version.replace(/^v/, '')} (${MINIMUM_NODE} or newer needed)`, details: [], data: {version}}
    : {status: 'fail', problem: 'too-old', summary: `v${version.replace(/^v/, '')} is older than ${MINIMUM_NODE}`, details: [], data: {version}});
}

/** Collects what an exec plugin writes to stderr, and passes it on as it arrives. */
class PluginOutput extends Writable {
  #text = '';

  constructor(readonly sink: Writable | null) {
    super();
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.#text += text;
    if (this.sink === null) callback();
    else this.sink.write(text, () => callback());
  }

  lines(max = 12): string[] {
    return this.#text.split('\n').map((line) => line.trimEnd()).filter((line) => line !== '').slice(-max).map((line) => `plugin: ${line}`);
  }
}

interface AuthMethod {
  kind: 'exec' | 'token' | 'token-file' | 'certificate' | 'password' | 'auth-provider' | 'none';
  text: string;
  command?: string;
}

function authMethod(loaded: LoadedKubeconfig): AuthMethod {
  const user = loaded.kc.getCurrentUser();
  const who = loaded.userName === undefined ? '' : ` (user ${loaded.userName})`;
  if (!user) return {kind: 'none', text: 'no user'};
  // client-node types exec and authProvider as any.
  const exec = user.exec as {command?: unknown} | undefined;
  if (exec) {
    const command = typeof exec.command === 'string' ? exec.command : '(no command)';
    return {kind: 'exec', text: `exec plugin ${command}${who}`, command};
  }
  if (user.token !== undefined && user.token !== '') return {kind: 'token', text: `bearer token from the kubeconfig${who}`};
  // client-node's User carries tokenFile although its type does not say so.
  if (typeof (user as {tokenFile?: unknown}).tokenFile === 'string') return {kind: 'token-file', text: `token file${who}`};
  if (user.certData !== undefined || user.certFile !== undefined) return {kind: 'certificate', text: `client certificate${who}`};
  const provider = user.authProvider as {name?: unknown} | undefined;
  if (provider) return {kind: 'auth-provider', text: `auth provider ${typeof provider.name === 'string' ? provider.name : '(unnamed)'}${who}`};
  if (user.username !== undefined && user.username !== '') return {kind: 'password', text: `user name and password${who}`};
  return {kind: 'none', text: `no credentials${who}`};
}

/** The requests dubbo-tunnel makes (cluster.ts, endpoint-tracker.ts, port-forward.ts), as access-review questions. */
export function requiredAccess(source: ClusterOptions['source'], namespace: string | undefined): (AccessQuestion & {optional: boolean})[] {
  const ns = namespace ?? '';
  const rows: (AccessQuestion & {optional: boolean})[] = [];
  if (source !== 'service') {
    // With --source auto, Ingresses that may not be read are skipped with a warning.
    for (const verb of ['list', 'watch']) rows.push({verb, group: 'networking.k8s.io', resource: 'ingresses', namespace: ns, optional: source !== 'ingress'});
  }
  for (const verb of ['list', 'watch']) rows.push({verb, group: '', resource: 'services', namespace: ns, optional: false});
  for (const verb of ['list', 'watch']) rows.push({verb, group: 'discovery.k8s.io', resource: 'endpointslices', namespace: ns, optional: false});
  for (const verb of ['get', 'create']) rows.push({verb, group: '', resource: 'pods', subresource: 'portforward', namespace: ns, optional: false});
  return rows;
}

function refOf(question: AccessQuestion): ResourceRef {
  return {verb: question.verb, group: question.group, resource: question.resource, ...(question.subresource === undefined ? {} : {subresource: question.subresource}), ...(question.namespace ? {namespace: question.namespace} : {})};
}

/** The permissions check on an open cluster (also what `up` runs once it is serving: after-start.ts). */
export async function permissionsCheck(cluster: KubeCluster, source: ClusterOptions['source'], timeoutMs: number): Promise<CheckResult> {
  const namespace = cluster.namespace;
  const where = namespace === undefined ? 'cluster-wide (-A)' : `in namespace ${namespace}`;
  const questions = requiredAccess(source ?? 'auto', namespace);
  let answers: {allowed: boolean; reason?: string}[];
  try {
    answers = await Promise.all(questions.map((question) => canI(cluster.client, question, timeoutMs)));
  } catch (error) {
    return result('permissions', {status: 'warn', problem: 'unchecked', summary: `cannot check permissions: ${toKubeError(error, cluster.client.scene).message}`, details: []});
  }
  const rows = questions.map((question, i) => ({question, allowed: answers[i]?.allowed === true, reason: answers[i]?.reason}));
  const lines = textTable([
    ['VERB', 'RESOURCE', 'NAMESPACE', 'ALLOWED'],
    ...rows.map(({question, allowed}) => [question.verb, describeResource(refOf(question)), question.namespace === '' ? '*' : (question.namespace ?? '*'), allowed ? 'yes' : 'NO']),
  ], '  ');
  const data = {rows: rows.map(({question, allowed, reason}) => ({verb: question.verb, resource: describeResource(refOf(question)), namespace: question.namespace || null, allowed, ...(reason === undefined ? {} : {reason})}))};
  const denied = rows.filter((row) => !row.allowed);
  if (denied.length === 0) {
    return result('permissions', {status: 'ok', summary: `all ${rows.length} requests dubbo-tunnel makes are allowed ${where}`, details: lines, data});
  }
  // One Role rule per resource, with every verb it lacks; port-forward always asks for get and create.
  const byResource = new Map<string, {question: AccessQuestion; verbs: string[]}>();
  for (const {question} of denied) {
    const key = describeResource(refOf(question));
    const entry = byResource.get(key) ?? {question, verbs: []};
    entry.verbs.push(question.verb);
    byResource.set(key, entry);
  }
  const rules = [...byResource.values()].map(({question, verbs}) => roleRuleFor(refOf(question), question.subresource === 'portforward' ? ['get', 'create'] : verbs));
  const required = denied.filter((row) => !row.question.optional);
  const portForward = required.some((row) => row.question.subresource === 'portforward');
  const scope = namespace === undefined ? 'a ClusterRole bound to you with a ClusterRoleBinding' : `a Role bound to you in namespace ${namespace}`;
  const missing = denied.map(({question}) => `${question.verb} ${describeResource(refOf(question))}`).join(', ');
  if (required.length === 0) {
    return result('permissions', {
      status: 'warn', problem: 'ingresses', details: lines, data,
      summary: `not allowed ${where}: ${missing}; discovery falls back to Services`,
      fix: `add to ${scope}: ${rules.join(' ')}, or pass --source service`,
    });
  }
  return result('permissions', {
    status: 'fail', problem: portForward ? 'port-forward' : 'denied', details: lines, data,
    summary: `${denied.length} of ${rows.length} requests dubbo-tunnel makes are not allowed ${where}: ${missing}`,
    fix: `add to ${scope}: ${rules.join(' ')}${portForward ? ' (port-forward needs both get and create; Kubernetes 1.35+ checks create)' : ''}; docs/kubernetes.md#permissions-rbac has the whole Role`,
  });
}

function describeApplication(application: KubeApplication): string {
  if (application.problem !== undefined) return `${application.application} (${application.problem})`;
  const pods = application.readyPods;
  return `${application.application} (${pods === undefined ? 'ready pods unknown' : `${pods} ready ${pods === 1 ? 'pod' : 'pods'}`})`;
}

/** The backends check on an open cluster (also what `up` runs once it is serving: after-start.ts). */
export async function backendsCheck(cluster: KubeCluster, warnings: string[]): Promise<CheckResult> {
  let applications: KubeApplication[];
  try {
    applications = await cluster.discover();
  } catch (error) {
    const mapped = toKubeError(error, cluster.client.scene);
    return result('backends', {status: 'fail', problem: 'failed', summary: `discovery failed: ${mapped.message}`, details: [], ...(mapped.hint === undefined ? {} : {fix: mapped.hint})});
  }
  const where = cluster.namespace === undefined ? 'all namespaces' : `namespace ${cluster.namespace}`;
  if (applications.length === 0) {
    const error = await cluster.noBackendsError();
    return result('backends', {
      status: 'fail', problem: /does not exist/.test(error.message) ? 'no-namespace' : 'none', summary: error.message, details: [...warnings],
      ...(error.hint === undefined ? {} : {fix: error.hint}),
    });
  }
  const data = {applications: applications.map((app) => ({application: app.application, namespace: app.namespace, service: app.service, source: app.source, readyPods: app.readyPods ?? null, ...(app.problem === undefined ? {} : {problem: app.problem})}))};
  const details = [
    ...textTable([
      ['APPLICATION', 'NAMESPACE', 'FOUND BY', 'READY'],
      ...applications.map((app) => [app.application, app.namespace, app.origin, app.problem === undefined ? String(app.readyPods ?? '?') : `- (${app.problem})`]),
    ], '  '),
    ...warnings.map((warning) => `warning: ${warning}`),
  ];
  const summary = `${applications.length} found in ${where}: ${applications.map(describeApplication).join(', ')}`;
  const unready = applications.filter((app) => app.problem !== undefined || app.readyPods === 0);
  if (unready.length > 0) {
    const first = unready[0];
    const selector = first?.podSelector === undefined ? '' : ` -l ${Object.entries(first.podSelector).map(([key, value]) => `${key}=${value}`).join(',')}`;
    return result('backends', {
      status: 'warn', problem: 'not-ready', summary, details, data,
      fix: first?.problem === undefined
        ? `check the pods: kubectl get pods -n ${first?.namespace ?? ''}${selector} (crashing, not ready, or scaled to zero)`
        : `fix what discovery reports for ${first.application}: ${first.problem}`,
    });
  }
  return result('backends', {status: 'ok', summary, details, data});
}

const KUBE_CHECKS: readonly CheckId[] = ['kubeconfig', 'credentials', 'api-server', 'permissions', 'backends'];

async function kubeChecks(options: DoctorOptions, wanted: (id: CheckId) => boolean, emit: (result: CheckResult) => void): Promise<void> {
  const skipRest = (from: CheckId, why: string) => {
    for (const id of KUBE_CHECKS.slice(KUBE_CHECKS.indexOf(from))) if (wanted(id)) emit(skipped(id, why));
  };
  let loaded: LoadedKubeconfig;
  try {
    loaded = loadKubeconfig({kubeconfig: options.kube.kubeconfig, context: options.kube.context, namespace: options.kube.namespace, env: options.env});
  } catch (error) {
    if (!(error instanceof DubboTunnelError)) throw error;
    const problem = error.code === 'DT_ERR_KUBE_CONTEXT' ? 'context'
      : /does not exist|no kubeconfig found|none of the files|empty \(no clusters/.test(error.message) ? 'missing'
        : /cannot read/.test(error.message) ? 'unreadable' : 'cluster';
    if (wanted('kubeconfig')) emit(result('kubeconfig', {status: 'fail', problem, summary: error.message, details: [], ...(error.hint === undefined ? {} : {fix: error.hint})}));
    skipRest('credentials', 'needs a kubeconfig');
    return;
  }
  const namespace = options.kube.allNamespaces === true ? 'all namespaces (-A)'
    : `namespace ${loaded.namespace}${options.kube.namespace !== undefined ? ' (-n)' : loaded.contextNamespace !== undefined ? '' : ' (the context sets none)'}`;
  if (wanted('kubeconfig')) {
    emit(result('kubeconfig', {
      status: 'ok', summary: `${loaded.sources.join(', ')} · context ${loaded.contextName} · ${namespace} · server ${loaded.server}`, details: [],
      data: {files: loaded.sources, context: loaded.contextName, namespace: options.kube.allNamespaces === true ? null : loaded.namespace, server: loaded.server, contexts: loaded.contexts},
    }));
  }

  const method = authMethod(loaded);
  const plugin = new PluginOutput(options.execStderr);
  const warnings: string[] = [];
  const events = new TunnelEventBus();
  events.on('log', ({level, message}) => {
    if (level === 'warn' || level === 'error') warnings.push(message);
  });
  let cluster: KubeCluster;
  const started = performance.now();
  try {
    cluster = await KubeCluster.open({
      ...options.kube, events, env: options.env, execStderr: plugin, interactive: options.interactive,
      // --timeout bounds a credentials plugin too; without it, up's bound (long enough for a login).
      ...(options.apiTimeoutMs === undefined ? {} : {execTimeoutMs: options.apiTimeoutMs}),
    });
  } catch (error) {
    if (error instanceof DubboTunnelError && error.code === 'DT_ERR_BAD_ARGUMENT') throw error;
    const mapped = error instanceof DubboTunnelError ? error : new DubboTunnelError('DT_ERR_KUBE_UNAUTHORIZED', errorMessage(error));
    const missing = method.kind === 'exec' && /ENOENT|not found|no such file/i.test(mapped.message);
    const timedOut = method.kind === 'exec' && /gave no answer within/.test(mapped.message);
    if (wanted('credentials')) {
      emit(result('credentials', {
        status: 'fail', problem: missing ? 'plugin-missing' : timedOut ? 'plugin-timeout' : 'plugin-failed', summary: mapped.message, details: plugin.lines(), elapsedMs: elapsedSince(started),
        fix: missing ? `${execPluginMissingHint(method.command ?? 'the exec plugin')}, then run doctor again` : timedOut ? problemOf('credentials', 'plugin-timeout').fix : (mapped.hint ?? problemOf('credentials', 'plugin-failed').fix),
      }));
    }
    skipRest('api-server', 'no credentials');
    return;
  }
  const credentialsMs = elapsedSince(started);
  try {
    if (wanted('credentials')) {
      emit(result('credentials', method.kind === 'none'
        ? {status: 'warn', problem: 'anonymous', summary: `the context has ${method.text}: requests are anonymous`, details: plugin.lines()}
        : {
          status: 'ok', details: plugin.lines(), elapsedMs: credentialsMs, data: {method: method.kind},
          summary: method.kind === 'exec' ? `${method.text} gave a token in ${credentialsMs} ms` : method.text,
        }));
    }

    if (options.via !== undefined && !options.via.throughApiServer) {
      // `--via host:port` never talks to the API server: only the token is taken from the kubeconfig.
      for (const id of ['api-server', 'permissions', 'backends'] as const) if (wanted(id)) emit(skipped(id, 'not used with --via <host:port>'));
      return;
    }
    const apiStarted = performance.now();
    let version: {gitVersion?: string; platform?: string};
    try {
      version = await cluster.client.getJson('/version', {}, {verb: 'get', group: '', resource: 'version'}, {timeoutMs: options.apiTimeoutMs ?? 10_000});
    } catch (error) {
      const elapsed = elapsedSince(apiStarted);
      const mapped = toKubeError(error, cluster.client.scene);
      const problem = mapped.code === 'DT_ERR_KUBE_UNAUTHORIZED' ? 'unauthorized'
        : mapped.code === 'DT_ERR_KUBE_UNREACHABLE' ? (mapped.message.startsWith('TLS') ? 'tls' : 'unreachable') : 'error';
      if (wanted('api-server')) {
        emit(result('api-server', {
          status: 'fail', problem, summary: `${mapped.message} (after ${elapsed} ms)`, details: [], elapsedMs: elapsed,
          data: {server: cluster.server}, ...(mapped.hint === undefined ? {} : {fix: mapped.hint}),
        }));
      }
      skipRest('permissions', 'the API server did not answer');
      return;
    }
    const apiMs = elapsedSince(apiStarted);
    if (wanted('api-server')) {
      emit(result('api-server', {
        status: 'ok', summary: `${cluster.server} answered in ${apiMs} ms · Kubernetes ${version.gitVersion ?? '(version unknown)'}`, details: [], elapsedMs: apiMs,
        data: {server: cluster.server, version: version.gitVersion ?? null},
      }));
    }
    if (options.via !== undefined) {
      for (const id of ['permissions', 'backends'] as const) if (wanted(id)) emit(skipped(id, 'with --via the gateway discovers the applications (see team gateway below)'));
      return;
    }
    if (wanted('permissions')) emit(await permissionsCheck(cluster, options.kube.source, options.apiTimeoutMs ?? 10_000));
    if (wanted('backends')) emit(await backendsCheck(cluster, warnings));
  } finally {
    await cluster.close();
  }
}

/**
 * Runs the checks in catalogue order and returns their results; `onResult` sees each one as soon as
 * it is known (the terminal output is printed from there, so a slow API server shows progress).
 * Throws only for bad arguments (DT_ERR_BAD_ARGUMENT); every other problem is a check's result.
 */
export async function runDoctor(options: DoctorOptions, onResult: (result: CheckResult) => void = () => undefined): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const only = options.only === undefined ? undefined : new Set(options.only);
  const wanted = (id: CheckId) => only === undefined || only.has(id);
  const emit = (checkResult: CheckResult) => {
    results.push(checkResult);
    onResult(checkResult);
  };
  if (wanted('node')) emit(nodeCheck(options.nodeVersion ?? process.versions.node));
  if (KUBE_CHECKS.some(wanted)) await kubeChecks(options, wanted, emit);
  if (options.via !== undefined && (wanted('gateway') || wanted('gateway-access'))) {
    for (const checkResult of await gatewayChecks(options.via, wanted)) emit(checkResult);
  }
  if (wanted('port')) {
    const verdict = await judgePort({port: options.port, host: options.host, allowRemote: options.allowRemote ?? false});
    const {listenedOn, freePort, ...rest} = verdict;
    emit(result('port', {...rest, data: {port: options.port, ...(listenedOn === undefined ? {} : {listenedOn}), ...(freePort === undefined ? {} : {freePort})}}));
  }
  if (wanted('consumer-address')) {
    const facts = options.network ?? await readNetworkFacts();
    const {javaAddress, ...verdict} = judgeConsumerAddress(facts, {host: options.host, allowRemote: options.allowRemote ?? false});
    emit(result('consumer-address', {...verdict, data: {javaAddress}}));
  }
  // Keep the catalogue order even if a future check finishes out of turn.
  const order = CATALOGUE.map((check) => check.id);
  return results.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
}
