import type {ChildProcess, SpawnOptions} from 'node:child_process';
import {existsSync, readFileSync} from 'node:fs';
import {homedir} from 'node:os';
import path from 'node:path';
import type {Writable} from 'node:stream';
import {KubeConfig} from '@kubernetes/client-node';
import type {Cluster, Context, User} from '@kubernetes/client-node';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import {ExecPluginError} from './errors.js';
import {endPluginProcess, spawnPluginProcess} from './exec-plugin-process.js';

export interface KubeconfigOptions {
  /** --kubeconfig: one file; overrides KUBECONFIG. */
  kubeconfig?: string;
  /** --context; default: the kubeconfig's current-context. */
  context?: string;
  /** -n/--namespace; default: the context's namespace, else `default`. */
  namespace?: string;
  /** Where KUBECONFIG and HOME come from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
}

export interface LoadedKubeconfig {
  /** A KubeConfig holding exactly one context (the chosen one) and its cluster and user. */
  readonly kc: KubeConfig;
  readonly contextName: string;
  /** The namespace to use when none is given per call: -n, else the context's, else `default`. */
  readonly namespace: string;
  /** The context's own namespace (before -n), if it sets one. */
  readonly contextNamespace: string | undefined;
  readonly server: string;
  readonly clusterName: string;
  readonly userName: string | undefined;
  /** Files the configuration was read from, in merge order; `in-cluster` for a service account. */
  readonly sources: readonly string[];
  /** Every context name the merged kubeconfig knows, for error messages and pickers. */
  readonly contexts: readonly string[];
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

interface ParsedFile {
  file: string;
  /** Nothing but blanks and comments: kubectl reads it as an empty config and goes on with the others. */
  empty: boolean;
  clusters: Cluster[];
  users: User[];
  contexts: Context[];
  currentContext: string | undefined;
}

/** Which files to read, in kubectl's order: --kubeconfig, else every existing KUBECONFIG entry, else ~/.kube/config. */
export function kubeconfigFiles(options: KubeconfigOptions): {files: string[]; searched: string[]} {
  const env = options.env ?? process.env;
  if (options.kubeconfig !== undefined && options.kubeconfig !== '') {
    const file = path.resolve(options.kubeconfig);
    if (!existsSync(file)) {
      throw new DubboTunnelError('DT_ERR_KUBECONFIG', `kubeconfig file ${file} (from --kubeconfig) does not exist`, {
        hint: 'check the path, or leave out --kubeconfig to use KUBECONFIG or ~/.kube/config',
      });
    }
    return {files: [file], searched: [file]};
  }
  const fromEnv = env['KUBECONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') {
    // kubectl skips entries that do not exist and merges the rest (clientcmd ClientConfigLoadingRules).
    const listed = fromEnv.split(path.delimiter).filter((entry) => entry !== '').map((entry) => path.resolve(entry));
    const existing = [...new Set(listed)].filter((file) => existsSync(file));
    if (existing.length === 0) {
      throw new DubboTunnelError('DT_ERR_KUBECONFIG', `none of the files in KUBECONFIG exist (${listed.join(path.delimiter)})`, {
        hint: 'fix or unset KUBECONFIG, or pass --kubeconfig <file>',
      });
    }
    return {files: existing, searched: listed};
  }
  const home = env['HOME'] ?? env['USERPROFILE'] ?? homedir();
  const file = path.join(home, '.kube', 'config');
  return {files: existsSync(file) ? [file] : [], searched: [file]};
}

function parseFile(file: string): ParsedFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DubboTunnelError('DT_ERR_KUBECONFIG', `cannot read kubeconfig ${file}: ${errorMessage(error)}`, {
      hint: 'check the file\'s permissions, or point KUBECONFIG or --kubeconfig at another file',
      cause: error,
    });
  }
  if (text.split('\n').every((line) => line.trim() === '' || line.trim().startsWith('#') || line.trim() === '---')) {
    // client-node fails on it with "Cannot read properties of undefined (reading 'clusters')".
    return {file, empty: true, clusters: [], users: [], contexts: [], currentContext: undefined};
  }
  const part = new KubeConfig();
  try {
    // loadFromFile also makes certificate/key file paths absolute relative to the file.
    part.loadFromFile(file);
  } catch (error) {
    throw new DubboTunnelError('DT_ERR_KUBECONFIG', `cannot read kubeconfig ${file}: ${errorMessage(error)}`, {
      hint: 'check that the file is valid kubeconfig YAML (`kubectl config view` shows what kubectl makes of it)',
      cause: error,
    });
  }
  const current = part.getCurrentContext() as string | undefined;
  return {
    file,
    empty: false,
    clusters: part.getClusters(),
    users: part.getUsers(),
    contexts: part.getContexts(),
    currentContext: current === undefined || current === '' ? undefined : current,
  };
}

/**
 * kubectl's merge: for clusters, users and contexts the first file that defines a name wins, and so
 * does the first file that sets current-context. client-node's own mergeConfig throws on duplicate
 * names instead (kubernetes-client/javascript#1306), so we merge here and hand client-node the result.
 */
export function mergeKubeconfigs(parts: readonly ParsedFile[]): {clusters: Cluster[]; users: User[]; contexts: Context[]; currentContext: string | undefined} {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let currentContext: string | undefined;
  for (const part of parts) {
    for (const cluster of part.clusters) if (!clusters.has(cluster.name)) clusters.set(cluster.name, cluster);
    for (const user of part.users) if (!users.has(user.name)) users.set(user.name, user);
    for (const context of part.contexts) if (!contexts.has(context.name)) contexts.set(context.name, context);
    currentContext ??= part.currentContext;
  }
  return {clusters: [...clusters.values()], users: [...users.values()], contexts: [...contexts.values()], currentContext};
}

/**
 * Loads the kubeconfig the way kubectl does and returns a KubeConfig for one context. Throws
 * DT_ERR_KUBECONFIG when there is no kubeconfig (client-node would silently fall back to
 * http://localhost:8080) and DT_ERR_KUBE_CONTEXT for an unknown context, listing the known ones.
 */
export function loadKubeconfig(options: KubeconfigOptions = {}): LoadedKubeconfig {
  const env = options.env ?? process.env;
  const {files, searched} = kubeconfigFiles(options);
  if (files.length === 0) {
    const inCluster = env['KUBERNETES_SERVICE_HOST'] !== undefined && existsSync(IN_CLUSTER_TOKEN);
    if (inCluster) return inClusterConfig(options);
    throw new DubboTunnelError('DT_ERR_KUBECONFIG', `no kubeconfig found (looked at ${searched.join(', ')})`, {
      hint: 'point KUBECONFIG or --kubeconfig at your cluster\'s kubeconfig, or create ~/.kube/config (e.g. with your cloud CLI\'s get-credentials command)',
    });
  }
  const parts = files.map(parseFile);
  if (parts.every((part) => part.empty)) {
    throw new DubboTunnelError('DT_ERR_KUBECONFIG', `kubeconfig ${files.join(', ')} ${files.length === 1 ? 'is' : 'are'} empty (no clusters, users or contexts)`, {
      hint: 'point KUBECONFIG or --kubeconfig at your cluster\'s kubeconfig, or fill this file (e.g. with your cloud CLI\'s get-credentials command)',
    });
  }
  const merged = mergeKubeconfigs(parts);
  const known = merged.contexts.map((context) => context.name);
  const contextName = options.context ?? merged.currentContext;
  const knownText = known.length === 0 ? 'the kubeconfig defines no contexts' : `known contexts: ${known.join(', ')}`;
  if (contextName === undefined || contextName === '') {
    throw new DubboTunnelError('DT_ERR_KUBE_CONTEXT', `the kubeconfig (${files.join(', ')}) sets no current-context`, {
      hint: `pass --context <name> (${knownText}) or run \`kubectl config use-context <name>\``,
    });
  }
  const context = merged.contexts.find((candidate) => candidate.name === contextName);
  if (!context) {
    throw new DubboTunnelError('DT_ERR_KUBE_CONTEXT', `context '${contextName}' is not in the kubeconfig (${files.join(', ')})`, {
      hint: `${knownText}; pass one of them with --context`,
    });
  }
  const cluster = merged.clusters.find((candidate) => candidate.name === context.cluster);
  if (!cluster) {
    throw new DubboTunnelError('DT_ERR_KUBECONFIG', `context '${contextName}' refers to cluster '${context.cluster}', which the kubeconfig does not define`, {
      hint: 'fix the context with `kubectl config set-context` or add the cluster entry',
    });
  }
  if (!cluster.server) {
    throw new DubboTunnelError('DT_ERR_KUBECONFIG', `cluster '${cluster.name}' in the kubeconfig has no server URL`, {
      hint: 'set it with `kubectl config set-cluster <name> --server=https://...`',
    });
  }
  const user = merged.users.find((candidate) => candidate.name === context.user);
  return build({
    cluster,
    user,
    context,
    namespace: options.namespace,
    sources: files,
    contexts: known,
  });
}

function inClusterConfig(options: KubeconfigOptions): LoadedKubeconfig {
  const probe = new KubeConfig();
  probe.loadFromCluster();
  const context = probe.getContexts()[0];
  const cluster = probe.getCurrentCluster();
  if (!context || !cluster) throw new DubboTunnelError('DT_ERR_KUBECONFIG', 'cannot load the in-cluster service account configuration');
  return build({cluster, user: probe.getCurrentUser() ?? undefined, context, namespace: options.namespace, sources: ['in-cluster'], contexts: [context.name]});
}

/** Where a pod's service account files are mounted (client-node's SERVICEACCOUNT_*_PATH). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The pod's own service account, as client-node's loadFromCluster reads it (KUBERNETES_SERVICE_HOST
 * and _PORT, the token re-read as kubelet rotates it, the CA), with the files taken from
 * `serviceAccountDir` when given. Throws DT_ERR_KUBECONFIG when not inside a pod.
 */
export function loadInClusterConfig(options: {namespace?: string; env?: NodeJS.ProcessEnv; serviceAccountDir?: string}): LoadedKubeconfig {
  const env = options.env ?? process.env;
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (host === undefined || host === '' || port === undefined || port === '') {
    throw new DubboTunnelError('DT_ERR_KUBECONFIG', 'not running inside a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set', {
      hint: 'run the gateway in the cluster (`dubbo-tunnel gateway manifests` prints a Deployment)',
    });
  }
  const token = path.join(dir, 'token');
  if (!existsSync(token)) {
    throw new DubboTunnelError('DT_ERR_KUBECONFIG', `no service account token at ${token}`, {
      hint: 'mount the service account token (automountServiceAccountToken must not be false)',
    });
  }
  // loadFromCluster's rules: plain http only on the API server's insecure ports; IPv6 in brackets.
  const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
  const server = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const namespaceFile = path.join(dir, 'namespace');
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined;
  const user: User = {name: 'inClusterUser', authProvider: {name: 'tokenFile', config: {tokenFile: token}}};
  const context: Context = {name: 'inClusterContext', cluster: 'inCluster', user: user.name, ...(namespace === undefined || namespace === '' ? {} : {namespace})};
  return build({
    cluster: {name: 'inCluster', server, caFile: path.join(dir, 'ca.crt'), skipTLSVerify: false},
    user,
    context,
    namespace: options.namespace,
    sources: ['in-cluster'],
    contexts: [context.name],
  });
}

function build(input: {cluster: Cluster; user: User | undefined; context: Context; namespace: string | undefined; sources: string[]; contexts: string[]}): LoadedKubeconfig {
  const {context, user} = input;
  // client-node refuses plain http:// unless skip-TLS-verify is set ("HTTP protocol is not allowed when
  // skipTLSVerify is not set"), yet there is no TLS to verify (e.g. `kubectl proxy` on :8001).
  const server = input.cluster.server.replace(/\/+$/, '');
  const cluster: Cluster = server.startsWith('http://') ? {...input.cluster, server, skipTLSVerify: true} : {...input.cluster, server};
  const kc = new KubeConfig();
  // One KubeConfig per context: client-node reads the *current* user at request time, so sharing one
  // instance and switching contexts would send one user's credentials to another server.
  kc.loadFromOptions({clusters: [cluster], users: user ? [user] : [], contexts: [context], currentContext: context.name});
  const contextNamespace = context.namespace === undefined || context.namespace === '' ? undefined : context.namespace;
  return {
    kc,
    contextName: context.name,
    namespace: input.namespace ?? contextNamespace ?? 'default',
    contextNamespace,
    server,
    clusterName: cluster.name,
    userName: user?.name,
    sources: input.sources,
    contexts: input.contexts,
  };
}

export interface ExecPluginIo {
  /** Where the plugin's stderr goes as it is written (prompts, device codes). Default: process.stderr. */
  stderr?: Writable | null;
  /** Give the plugin our terminal as stdin (for password prompts). Only when nothing else reads stdin. */
  interactive?: boolean;
  /** Give up on one plugin run after this long (default DEFAULT_EXEC_TIMEOUT_MS): it is stopped and the request fails. */
  timeoutMs?: number;
  /** Say that we are waiting for the plugin after this long (default 3 s), on `stderr`. */
  noticeAfterMs?: number;
}

/** Long enough for an interactive browser or device-code login, short enough that a stuck plugin ends. */
export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
const EXEC_NOTICE_MS = 3000;

type SpawnFn = (command: string, args: readonly string[] | undefined, options: SpawnOptions) => ChildProcess;
interface ExecCredential {
  status?: {expirationTimestamp?: string};
}
interface ExecUser {
  name: string;
  exec?: {command?: unknown};
  authProvider?: {config?: {exec?: {command?: unknown}}};
}
type GetCredential = (user: ExecUser) => Promise<ExecCredential | null>;

function pluginName(user: ExecUser): string {
  const command = user.exec?.command ?? user.authProvider?.config?.exec?.command;
  return typeof command === 'string' && command !== '' ? command : 'of the kubeconfig';
}

/** What routeExecPluginIo installed. */
export interface ExecPluginHooks {
  /** False when this client-node has no exec authenticator we recognise (stderr then shows only on failure). */
  readonly installed: boolean;
  /** Drop credentials kept without an expiry (call on 401, so the next request runs the plugin again). */
  forgetCredentials(): void;
}

/**
 * client-node 1.4.0 runs exec credential plugins (`dist/exec_auth.js`) with all three stdio streams
 * piped and shows stderr only as the error text after a non-zero exit, so device-code prompts
 * (kubelogin, cloud CLIs) stay invisible and a plugin reading stdin waits forever. It keeps the spawn
 * function in an instance field, `execFn`; we wrap it so the plugin still runs inside client-node's
 * ExecAuth (same parsing, caching and env handling) but its stderr is copied to the user as it is
 * written, and stdin is the terminal (interactive) or /dev/null (never a pipe nobody writes to).
 *
 * Two more gaps of the same class, closed around its `getCredential`: concurrent requests each
 * started the plugin (now they share one run), and a credential without `expirationTimestamp` was
 * thrown away after every request (`Date.parse(undefined) > now` is false), so the plugin ran for
 * every single request; now it is kept until a 401 (kubectl's rule: valid until the server says no).
 */
export function routeExecPluginIo(kc: KubeConfig, io: ExecPluginIo = {}): ExecPluginHooks {
  const kept = new Map<string, ExecCredential>();
  const hooks: ExecPluginHooks = {installed: false, forgetCredentials: () => kept.clear()};
  const authenticators: unknown = Reflect.get(kc, 'authenticators');
  if (!Array.isArray(authenticators)) return hooks;
  const execAuth = authenticators.find((candidate: unknown) => typeof candidate === 'object' && candidate !== null
    && typeof Reflect.get(candidate, 'execFn') === 'function' && typeof Reflect.get(candidate, 'getCredential') === 'function') as object | undefined;
  if (!execAuth) return hooks;
  const sink = io.stderr === undefined ? process.stderr : io.stderr;
  const stdin = io.interactive === true ? 'inherit' : 'ignore';
  const children = new Set<ChildProcess>();
  const spawnPlugin: SpawnFn = (command, args, options) => {
    const child = spawnPluginProcess(command, args ?? [], {...options, stdio: [stdin, 'pipe', 'pipe']});
    if (sink !== null) child.stderr?.on('data', (chunk: Buffer | string) => sink.write(chunk));
    children.add(child);
    child.once('close', () => children.delete(child));
    child.once('error', () => children.delete(child));
    return child;
  };
  const timeoutMs = io.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const noticeAfterMs = io.noticeAfterMs ?? EXEC_NOTICE_MS;
  /**
   * client-node waits for the plugin without a limit: a plugin that never exits (a login nobody
   * completes, a hung network call) would hang every command. Say we are waiting after a few
   * seconds, and stop the plugin at the bound.
   */
  const bounded = (run: Promise<ExecCredential | null>, user: ExecUser): Promise<ExecCredential | null> => {
    const command = pluginName(user);
    const shown = path.basename(command);
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const notice = setTimeout(() => {
        sink?.write(`dubbo-tunnel: waiting for the credentials plugin ${shown} (a login may be waiting for you; giving up after ${Math.round(timeoutMs / 1000)} s)…\n`);
      }, Math.min(noticeAfterMs, timeoutMs));
      const limit = setTimeout(() => {
        for (const child of children) endPluginProcess(child);
        reject(new ExecPluginError('timeout', shown, {timeoutMs: Date.now() - started}));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(notice);
        clearTimeout(limit);
      };
      run.then((credential) => {
        done();
        resolve(credential);
      }, (error: unknown) => {
        done();
        const code = typeof error === 'object' && error !== null ? (error as {code?: unknown}).code : undefined;
        reject(code === 'ENOENT' ? new ExecPluginError('missing', command, {cause: error}) : error instanceof Error ? error : new Error(String(error)));
      });
    });
  };
  Reflect.set(execAuth, 'execFn', spawnPlugin);
  const original = (Reflect.get(execAuth, 'getCredential') as GetCredential).bind(execAuth);
  const running = new Map<string, Promise<ExecCredential | null>>();
  const getCredential: GetCredential = (user) => {
    const keptCredential = kept.get(user.name);
    if (keptCredential) return Promise.resolve(keptCredential);
    let run = running.get(user.name);
    if (!run) {
      run = bounded(original(user), user).then((credential) => {
        if (credential && !credential.status?.expirationTimestamp) kept.set(user.name, credential);
        return credential;
      }).finally(() => running.delete(user.name));
      running.set(user.name, run);
    }
    return run;
  };
  Reflect.set(execAuth, 'getCredential', getCredential);
  return {...hooks, installed: true};
}
