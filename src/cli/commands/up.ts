import {DubboTunnelError} from '../../core/errors.js';
import type {TunnelEventBus} from '../../core/events.js';
import type {LogLevel} from '../../core/events.js';
import {resolveSettings, SettingsStore} from '../../config/settings.js';
import {DEFAULT_PAYLOAD} from '../../protocol/header.js';
import {parseBackendSpec} from '../../proxy/static-backend.js';
import {DEFAULT_IDLE_TIMEOUT_MS} from '../../proxy/tunnel-server.js';
import {DEFAULT_STREAMS_PER_POD} from '../../proxy/upstream-pool.js';
import type {StaticBackendSpec} from '../../session/static-source.js';
import {parseViaTarget} from '../../via/via-target.js';
import type {ViaTarget} from '../../via/via-target.js';
import {PORT_RANGE, parseCommandArgs, parsePositiveInt, parseSeconds} from '../args.js';
import {printSettingsWarnings} from '../settings-warnings.js';
import {KUBE_OPTIONS, checkSourceFlag, hasKubeOptions, kubeOptionsFrom, kubePlacesFrom} from '../kube-options.js';
import type {KubeCliOptions} from '../kube-options.js';
import type {CliContext, Command, OptionTable} from '../command.js';
import {SUMMARIES} from '../command.js';
import {reportFatal} from '../report-error.js';
import {runSession} from '../session-runner.js';
import {shellInvoker} from '../shell-invoker.js';
import {checkViaFlags} from '../via-source.js';
import {RECORD_OPTIONS, callOutputOptionsFrom} from '../record-options.js';
import type {CallOutputOptions} from '../record-options.js';
import type {SessionRunOptions} from '../session-runner.js';

export const OPTIONS = {
  'all': {type: 'boolean', description: 'route every discovered application (no picker); a name offered by several places goes to the first (--backend, then -n/--context in the order given), with a warning'},
  'select': {type: 'string', multiple: true, value: 'app,...', description: 'route these applications (no picker); repeatable or comma-separated; <app>@<place> picks one of several places (user-rpc@staging)'},
  'last': {type: 'boolean', description: 'route the applications chosen last time for these contexts, namespaces and --backend addresses'},
  ...KUBE_OPTIONS,
  'via': {type: 'string', value: '<ns>/<service>[:port] | <host>:<port>', description: 'reach the cluster through the team gateway instead of one port-forward per application: one port-forward to a ready pod of that Service (another pod when it goes), or TCP to the address a load balancer gives it; the gateway checks your kubeconfig user\'s token and offers what you may use. Mixes with --backend (local overrides); --context/--kubeconfig choose the user'},
  'backend': {type: 'string', multiple: true, value: '<app>=<host>:<port>', description: 'route application <app> to a fixed provider address instead of Kubernetes (repeatable); <app>=tri://<host>:<port> is its Triple/gRPC port, <app>=qos://<host>:<port> its QoS port (to learn its services). With -n, --context, -A or --kubeconfig: a local override, the other applications come from the cluster'},
  'route': {type: 'string', multiple: true, value: '<interface>=<app>', description: 'send requests for a Java interface to <app> when they carry no target-application (repeatable)'},
  'port': {type: 'string', short: 'p', description: 'local Dubbo port (default 20880)'},
  'host': {type: 'string', value: 'address', description: 'listen only on this address (default: all of this machine\'s addresses, local peers only)'},
  'allow-remote': {type: 'boolean', description: 'accept consumers from other machines (off by default: anyone who can reach the port could call your providers)'},
  'attachment-key': {type: 'string', value: 'key', description: 'attachment that names the target application (default target-application)'},
  'max-payload': {type: 'string', value: 'bytes', description: 'largest frame body accepted, like Dubbo\'s payload (default 8388608)'},
  'idle-timeout': {type: 'string', value: 'seconds', description: 'close a consumer connection that sent nothing (not even a heartbeat) for this long and is owed no answer (default 300; 0 = never)'},
  'drain-timeout': {type: 'string', value: 'seconds', description: 'on a stop (q, Ctrl-C, SIGTERM, SIGHUP), tell consumers (READONLY, GOAWAY) and wait this long for the answers of calls in flight; later ones get DT_ERR_STOPPED_BEFORE_ANSWER (default 10, like a Dubbo provider; 0 = do not wait)'},
  'streams-per-pod': {type: 'string', value: 'n', description: 'Dubbo streams to one pod (or --backend address), shared by every consumer; a second one opens while one has 128 requests in flight (default 2)'},
  'log-level': {type: 'string', value: 'level', description: 'debug | info | warn | error (default info; debug prints every request)'},
  'json': {type: 'boolean', description: 'print JSON lines instead of text (implies --no-ui)'},
  ...RECORD_OPTIONS,
  'no-ui': {type: 'boolean', description: 'plain line output even in a terminal (also when CI is set or output is not a terminal)'},
  'resolve-file': {type: 'string', value: 'path', description: 'write every learned interface as <interface>=dubbo://localhost:<port> for stock consumers (~/dubbo-resolve.properties needs no JVM flag); restored on exit'},
  'no-learn': {type: 'boolean', description: 'do not ask providers which services they export (consumers then need the target-application attachment or --route)'},
} as const satisfies OptionTable;

export interface UpOptions {
  /** --backend, one entry per application: its Dubbo port, its Triple port, or both. */
  backends: StaticBackendSpec[];
  routes: [string, string][];
  port: number;
  host: string | undefined;
  allowRemote: boolean;
  attachmentKey: string;
  maxPayload: number;
  /** Close consumer connections silent for this long (0 = never). */
  idleTimeoutMs: number;
  /** Most Dubbo streams to one pod or address (--streams-per-pod). */
  streamsPerPod: number;
  /** How long a stop waits for the answers in flight (--drain-timeout). */
  drainTimeoutMs: number;
  /** What is wrong with the config file (ignored parts), to print before starting. */
  settingsWarnings: readonly DubboTunnelError[];
  logLevel: LogLevel;
  json: boolean;
  noUi: boolean;
  /** --no-learn: do not ask providers what they export (routing by service key is then off). */
  noLearn: boolean;
  /** --resolve-file <path>: write `<interface>=dubbo://localhost:<port>` lines for stock consumers. */
  resolveFile: string | undefined;
  kube: KubeCliOptions;
  /** Every --context and -n given, in order (empty: the current context, its namespace). */
  contexts: string[];
  namespaces: string[];
  /** Read Kubernetes: no --backend, or --backend next to Kubernetes flags (local overrides). */
  cluster: boolean;
  /** --all, --select a,b, --last; undefined = ask (picker) or fail in plain mode. */
  choice: {kind: 'all'} | {kind: 'select'; applications: string[]} | {kind: 'last'} | undefined;
  /** --via: the team gateway (then no application is port-forwarded on its own). */
  via: ViaTarget | undefined;
  /** --record, --json --payloads, --redact: where decoded calls are written. */
  calls: CallOutputOptions;
}

/** Parses flags; settings (port, host, attachment key, ingress class, source, log level, drain timeout) go through the one resolver. */
export function parseUpOptions(args: string[], env: NodeJS.ProcessEnv = process.env, store?: SettingsStore): UpOptions {
  const {values, positionals} = parseCommandArgs('up', args, OPTIONS);
  if (positionals.length > 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `unexpected argument '${positionals[0]}'`, {hint: 'see dubbo-tunnel up --help'});
  }
  const backends: StaticBackendSpec[] = [];
  for (const spec of values.backend ?? []) {
    const parsed = parseBackendSpec(spec);
    if (!parsed) {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--backend '${spec}' is not <application>=<host>:<port> (or =tri://<host>:<port> for a Triple port)`, {
        hint: 'for example --backend user-rpc=127.0.0.1:20881 --backend user-rpc=tri://127.0.0.1:50051',
      });
    }
    if (parsed.port < 1 || parsed.port > 65535) {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--backend '${spec}': port ${parsed.port} is out of range: expected ${PORT_RANGE}`, {
        hint: 'for example --backend user-rpc=127.0.0.1:20881',
      });
    }
    let entry = backends.find((backend) => backend.application === parsed.application);
    if (!entry) {
      entry = {application: parsed.application};
      backends.push(entry);
    }
    const {host, port} = parsed;
    if (entry[parsed.protocol] !== undefined) {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--backend names the ${parsed.protocol === 'triple' ? 'Triple' : parsed.protocol === 'qos' ? 'QoS' : 'Dubbo'} port of '${parsed.application}' twice`);
    }
    entry[parsed.protocol] = {host, port};
  }
  for (const entry of backends) {
    if (!entry.dubbo && !entry.triple) {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--backend gives only the QoS port of '${entry.application}'`, {
        hint: `add its Dubbo port too: --backend ${entry.application}=<host>:<port>`,
      });
    }
  }
  const routes = (values.route ?? []).map((spec): [string, string] => {
    const match = /^([\w.$]+)=([^=\s]+)$/.exec(spec);
    if (!match?.[1] || !match[2]) {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--route '${spec}' is not <interface>=<application>`, {
        hint: 'for example --route com.example.UserService=user-rpc',
      });
    }
    return [match[1], match[2]];
  });
  checkSourceFlag(values);
  const via = values.via === undefined ? undefined : parseViaTarget(values.via);
  if (via !== undefined) checkViaFlags(values, 'choose with --select <app>@<namespace>');
  const resolved = resolveSettings({
    flags: {
      port: values.port,
      host: values.host,
      attachmentKey: values['attachment-key'],
      ingressClass: values['ingress-class'],
      source: values.source,
      logLevel: values['log-level'],
      drainTimeout: values['drain-timeout'],
    },
    env,
    ...(store ? {store} : {}),
  });
  const settings = resolved.values;
  const chosen = [values.all === true, values.select !== undefined, values.last === true].filter(Boolean).length;
  if (chosen > 1) throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', 'use only one of --all, --select and --last');
  const selected = (values.select ?? []).flatMap((list) => list.split(',')).map((name) => name.trim()).filter((name) => name !== '');
  return {
    backends,
    routes,
    port: settings.port,
    host: settings.host,
    allowRemote: values['allow-remote'] ?? false,
    attachmentKey: settings.attachmentKey,
    maxPayload: values['max-payload'] === undefined ? DEFAULT_PAYLOAD : parsePositiveInt(values['max-payload'], '--max-payload'),
    idleTimeoutMs: values['idle-timeout'] === undefined ? DEFAULT_IDLE_TIMEOUT_MS : parseSeconds(values['idle-timeout'], '--idle-timeout') * 1000,
    streamsPerPod: values['streams-per-pod'] === undefined ? DEFAULT_STREAMS_PER_POD : parsePositiveInt(values['streams-per-pod'], '--streams-per-pod'),
    drainTimeoutMs: settings.drainTimeout * 1000,
    settingsWarnings: resolved.warnings,
    logLevel: settings.logLevel,
    json: values.json ?? false,
    noUi: values['no-ui'] ?? false,
    noLearn: values['no-learn'] ?? false,
    resolveFile: values['resolve-file'],
    kube: kubeOptionsFrom(values, settings),
    ...kubePlacesFrom(values),
    // --backend alone stays a session without a cluster (no kubeconfig read, no API call); with
    // --via the gateway is the cluster.
    cluster: via === undefined && (backends.length === 0 || hasKubeOptions(values)),
    via,
    choice: values.all === true ? {kind: 'all'} : values.select !== undefined ? {kind: 'select', applications: selected} : values.last === true ? {kind: 'last'} : undefined,
    calls: callOutputOptionsFrom(values),
  };
}

/** Once a cluster serves: what `ls`/doctor would say (missing namespace, no backends, no port-forward right), in the log. */
function warnWhatDoctorWouldSay(options: UpOptions): NonNullable<KubeCliOptions['onWatching']> {
  return (cluster, events) => {
    void import('../../doctor/after-start.js').then(({warnAtStart}) => warnAtStart(cluster, options.kube.source, events), () => undefined);
  };
}

/** The sources, listener and renderer of an `up` with these options (the demo builds its own from them too). */
export function sessionRunOptions(options: UpOptions, context: CliContext, store: SettingsStore, events?: TunnelEventBus): SessionRunOptions {
  const {context: _context, namespace: _namespace, allNamespaces, ...shared} = options.kube;
  return {
    plan: {
      backends: options.backends,
      ...(options.cluster ? {clusters: {shared: {...shared, onWatching: warnWhatDoctorWouldSay(options)}, contexts: options.contexts, namespaces: options.namespaces, allNamespaces: allNamespaces === true}} : {}),
    },
    choice: options.choice,
    listen: {
      port: options.port,
      ...(options.host === undefined ? {} : {host: options.host}),
      allowRemote: options.allowRemote,
      attachmentKey: options.attachmentKey,
      maxBodyLength: options.maxPayload,
      idleTimeoutMs: options.idleTimeoutMs,
      streamsPerPod: options.streamsPerPod,
      drainTimeoutMs: options.drainTimeoutMs,
      telnetInvoke: shellInvoker(options.attachmentKey),
    },
    interfaces: options.routes,
    attachmentKey: options.attachmentKey,
    logLevel: options.logLevel,
    renderer: options.json ? 'json' : context.interactive && !options.noUi ? 'terminal' : 'lines',
    store,
    learning: {noLearn: options.noLearn, resolveFile: options.resolveFile},
    calls: options.calls,
    ...(events === undefined ? {} : {events}),
    ...(options.via === undefined ? {} : {via: {
      target: options.via,
      ...(options.kube.kubeconfig === undefined ? {} : {kubeconfig: options.kube.kubeconfig}),
      ...(options.kube.context === undefined ? {} : {context: options.kube.context}),
    }}),
  };
}

/** The whole `up`: options, then the session runner (sources, choice, renderer, signals). */
export async function runUp(args: string[], context: CliContext): Promise<number> {
  const store = SettingsStore.open(context.env);
  const options = parseUpOptions(args, context.env, store);
  printSettingsWarnings(options.settingsWarnings, context.stderr);
  return runSession(sessionRunOptions(options, context, store), context);
}

export const command: Command = {
  name: 'up',
  summary: SUMMARIES.up,
  usage: 'dubbo-tunnel up [options]',
  options: OPTIONS,
  examples: [
    'dubbo-tunnel up                                   # pick applications in the terminal UI',
    'dubbo-tunnel up --all --no-ui                     # every discovered application, plain output',
    'dubbo-tunnel up -n dev --select user-rpc,pay-rpc  # these two from namespace dev',
    'dubbo-tunnel up --last                            # what you picked last time here',
    'dubbo-tunnel up --all --resolve-file ~/dubbo-resolve.properties   # unchanged Java consumers reach every learned interface',
    'dubbo-tunnel up --backend user-rpc=127.0.0.1:20881 --backend pay-rpc=127.0.0.1:20882',
    'dubbo-tunnel up --backend user-rpc=127.0.0.1:20881 -n dev --all   # user-rpc local, the rest from dev',
    'dubbo-tunnel up -n dev -n staging --select user-rpc@dev,billing-rpc',
    'dubbo-tunnel up --context dev --context staging --all',
    'dubbo-tunnel up --backend user-rpc=127.0.0.1:20881 --route com.example.UserService=user-rpc --port 20990',
    'dubbo-tunnel up --backend user-rpc=127.0.0.1:20881 --backend user-rpc=tri://127.0.0.1:50051   # Dubbo and Triple ports',
    'dubbo-tunnel up --via shop-gw/dubbo-gateway --all                 # every application the team gateway lets you use',
    'dubbo-tunnel up --via gateway.example.com:20880 --backend user-rpc=127.0.0.1:20881 --all   # user-rpc local, the rest through the gateway',
    'dubbo-tunnel up --all --record calls.jsonl --redact x-api-key   # every call, decoded, one JSON line each (dubbo-tunnel replay calls.jsonl)',
    'dubbo-tunnel up --all --json --payloads                         # JSON lines, each call decoded among them',
  ],
  run: runDiagnosed,
};

/** `up` from the command line: when it cannot start, the doctor checks that concern the error follow it. */
async function runDiagnosed(args: string[], context: CliContext): Promise<number> {
  try {
    return await runUp(args, context);
  } catch (error) {
    const code = reportFatal(error, context);
    const {explainStartFailure} = await import('../../doctor/after-failure.js');
    await explainStartFailure(error, () => parseUpOptions(args, context.env), context);
    return code;
  }
}
