import type {DiscoveredApplication} from '../../core/applications.js';
import {DubboTunnelError} from '../../core/errors.js';
import {TunnelEventBus} from '../../core/events.js';
import {StatsStore, showingSelection} from '../../core/stats.js';
import type {LogLevel} from '../../core/events.js';
import type {AppSession} from '../../core/session.js';
import {resolveSettings, SettingsStore} from '../../config/settings.js';
import {startLearning} from '../learning.js';
import type {KubeCluster, ServeHandle} from '../../kube/cluster.js';
import {DEFAULT_PAYLOAD} from '../../protocol/header.js';
import {StaticBackend, parseBackendSpec} from '../../proxy/static-backend.js';
import {TunnelServer} from '../../proxy/tunnel-server.js';
import {attachLineReporter} from '../../reporters/line-reporter.js';
import type {RouteSource} from '../../router/route-table.js';
import { createRouteTable} from '../../router/route-table.js';
import {parseCommandArgs, parsePositiveInt} from '../args.js';
import {KUBE_OPTIONS, KUBE_OPTIONS_HELP, checkSourceFlag, kubeOptionsFrom} from '../kube-options.js';
import type {KubeCliOptions} from '../kube-options.js';
import type {CliContext, Command} from '../command.js';
import {exitCodeFor, reportFatal} from '../report-error.js';

const OPTIONS = {
  'backend': {type: 'string', multiple: true},
  'route': {type: 'string', multiple: true},
  'port': {type: 'string', short: 'p'},
  'host': {type: 'string'},
  'allow-remote': {type: 'boolean'},
  'attachment-key': {type: 'string'},
  'max-payload': {type: 'string'},
  'log-level': {type: 'string'},
  'json': {type: 'boolean'},
  'no-ui': {type: 'boolean'},
  'no-learn': {type: 'boolean'},
  'resolve-file': {type: 'string'},
  ...KUBE_OPTIONS,
  'all': {type: 'boolean'},
  'select': {type: 'string', multiple: true},
  'last': {type: 'boolean'},
} as const;

export interface UpOptions {
  /** --backend, one entry per application: its Dubbo port, its Triple port, or both. */
  backends: StaticBackendSpec[];
  routes: [string, string][];
  port: number;
  host: string | undefined;
  allowRemote: boolean;
  attachmentKey: string;
  maxPayload: number;
  logLevel: LogLevel;
  json: boolean;
  noUi: boolean;
  /** --no-learn: do not ask providers what they export (routing by service key is then off). */
  noLearn: boolean;
  /** --resolve-file <path>: write `<interface>=dubbo://localhost:<port>` lines for stock consumers. */
  resolveFile: string | undefined;
  kube: KubeCliOptions;
  /** --all, --select a,b, --last; undefined = ask (picker) or fail in plain mode. */
  choice: {kind: 'all'} | {kind: 'select'; applications: string[]} | {kind: 'last'} | undefined;
}

/** Parses flags; settings (port, host, attachment key, ingress class, source, log level) go through the one resolver. */
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
  const settings = resolveSettings({
    flags: {
      port: values.port,
      host: values.host,
      attachmentKey: values['attachment-key'],
      ingressClass: values['ingress-class'],
      source: values.source,
      logLevel: values['log-level'],
    },
    env,
    ...(store ? {store} : {}),
  }).values;
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
    logLevel: settings.logLevel,
    json: values.json ?? false,
    noUi: values['no-ui'] ?? false,
    noLearn: values['no-learn'] ?? false,
    resolveFile: values['resolve-file'],
    kube: kubeOptionsFrom(values, env, settings),
    choice: values.all === true ? {kind: 'all'} : values.select !== undefined ? {kind: 'select', applications: selected} : values.last === true ? {kind: 'last'} : undefined,
  };
}

export interface StaticBackendSpec {
  application: string;
  dubbo?: {host: string; port: number};
  triple?: {host: string; port: number};
  /** Its QoS port (`qos://host:port`): discovery asks it `GET /ls`. */
  qos?: {host: string; port: number};
}

function staticBackendOf(spec: StaticBackendSpec): StaticBackend {
  if (spec.dubbo) return new StaticBackend(spec.application, spec.dubbo.host, spec.dubbo.port, {...(spec.triple ? {triple: spec.triple} : {}), ...(spec.qos ? {qos: spec.qos} : {})});
  if (spec.triple) return StaticBackend.tripleOnly(spec.application, spec.triple);
  throw new Error(`--backend ${spec.application}: no port`);
}

/** What serves the routes: fixed --backend addresses, or a Kubernetes context. */
interface BackendSource {
  title: string;
  context?: string;
  namespace?: string;
  discover(): Promise<DiscoveredApplication[]>;
  /** Start feeding `routes` with the chosen applications; returns how to change or stop that. */
  serve(routes: RouteSource, applications: readonly string[] | 'all'): Promise<Pick<ServeHandle, 'setSelection' | 'stop'>>;
  close(): Promise<void>;
}

function staticSource(options: UpOptions, events: TunnelEventBus): BackendSource {
  const backends = options.backends.map(staticBackendOf);
  const publish = (routes: RouteSource, chosen: ReadonlySet<string> | 'all') => {
    const active = backends.filter((backend) => chosen === 'all' || chosen.has(backend.application));
    routes.set(createRouteTable(active, options.routes));
    events.emit('routes-changed', {applications: active.map((backend) => backend.application)});
    for (const backend of active) events.emit('backend-state-changed', {application: backend.application, state: 'ready', detail: backend.describe()});
  };
  return {
    title: 'static backends',
    discover: () => Promise.resolve(backends.map((backend) => ({application: backend.application, service: backend.describe(), port: backend.port, source: 'static' as const}))),
    serve: (routes, applications) => {
      publish(routes, applications === 'all' ? 'all' : new Set(applications));
      return Promise.resolve({
        setSelection: (next) => publish(routes, next),
        stop: () => Promise.resolve(),
      });
    },
    close: () => Promise.resolve(),
  };
}

async function kubeSource(options: UpOptions, events: TunnelEventBus, context: CliContext, interactive: boolean): Promise<BackendSource> {
  const {KubeCluster} = await import('../../kube/cluster.js');
  const cluster: KubeCluster = await KubeCluster.open({
    ...options.kube,
    events,
    env: context.env,
    execStderr: context.stderr,
    interactive,
  });
  const namespace = cluster.namespace;
  return {
    title: `context ${cluster.contextName} · ${namespace === undefined ? 'all namespaces' : `namespace ${namespace}`}`,
    context: cluster.contextName,
    namespace: namespace ?? '*',
    discover: async () => {
      const found = await cluster.discover();
      if (found.length === 0) throw await cluster.noBackendsError();
      return found;
    },
    serve: async (routes, applications) => {
      const handle = await cluster.serve(routes, applications === 'all' ? 'all' : new Set(applications));
      return handle;
    },
    close: () => cluster.close(),
  };
}

/** The whole `up`. `events` lets a caller (the demo) add its own lines to the log and dashboard. */
export async function runUp(args: string[], context: CliContext, events = new TunnelEventBus()): Promise<number> {
  const store = SettingsStore.open(context.env);
  const options = parseUpOptions(args, context.env, store);
  const interactive = context.interactive && !options.noUi && !options.json;
  // In plain mode the reporter is attached before anything starts, so discovery warnings show.
  const detach = interactive ? () => undefined : attachLineReporter(events, {out: context.stdout, level: options.logLevel, json: options.json});
  const source = options.backends.length > 0 ? staticSource(options, events) : await kubeSource(options, events, context, interactive);
  const memoryKey = {context: source.context ?? 'static', namespace: source.namespace ?? '-'};
  const remembered = store.recalledSelection(memoryKey.context, memoryKey.namespace);

  let chosen: readonly string[] | 'all' | undefined;
  switch (options.choice?.kind) {
    case 'all':
      chosen = 'all';
      break;
    case 'select':
      chosen = options.choice.applications;
      break;
    case 'last':
      if (!remembered || remembered.length === 0) {
        throw new DubboTunnelError('DT_ERR_NEEDS_CHOICE', `no remembered selection for ${memoryKey.context}/${memoryKey.namespace}`, {
          hint: 'pick applications once with --select <a,b> or --all (or in the picker); --last reuses that choice',
        });
      }
      chosen = remembered;
      break;
    case undefined:
      // Static backends need no choice: everything given on the command line is routed.
      chosen = options.backends.length > 0 ? 'all' : undefined;
      break;
  }

  const start = async (applications: readonly string[] | 'all'): Promise<AppSession> => {
    // Sources publish to `learning.published`; the tunnel reads `learning.routes`: the same tables plus
    // what the applications were learned to export (routing by service key without the attachment).
    const learning = startLearning({events, routes: options.routes, noLearn: options.noLearn, resolveFile: options.resolveFile});
    const {routes} = learning;
    // Routes first, port second: a consumer that connects the moment "listening" is printed must
    // find its application, not "none discovered yet".
    let handle: Awaited<ReturnType<BackendSource['serve']>>;
    try {
      handle = await source.serve(learning.published, applications);
    } catch (error) {
      learning.stop();
      throw error;
    }
    let server: TunnelServer;
    try {
      server = await TunnelServer.start({
        port: options.port,
        ...(options.host === undefined ? {} : {host: options.host}),
        allowRemote: options.allowRemote,
        routes,
        events,
        attachmentKey: options.attachmentKey,
        maxBodyLength: options.maxPayload,
        describeApplication: (application) => learning.describe(application),
      });
    } catch (error) {
      learning.stop();
      await handle.stop();
      throw error;
    }
    learning.listening(server.host, server.port);
    let selection: readonly string[] = applications === 'all' ? [] : applications;
    let stopping: Promise<void> | undefined;
    return {
      events,
      addresses: server.consumerAddresses(),
      port: server.port,
      ...(source.context === undefined ? {} : {context: source.context}),
      ...(source.namespace === undefined ? {} : {namespace: source.namespace}),
      selection: () => (applications === 'all' && selection.length === 0 ? [...routes.current.backends.keys()] : selection),
      setSelection: (next) => {
        selection = next;
        handle.setSelection(new Set(next));
        return Promise.resolve();
      },
      stop: () => {
        stopping ??= (async () => {
          learning.stop();
          await server.close();
          await handle.stop();
          await source.close();
        })();
        return stopping;
      },
    };
  };

  try {
    if (interactive) {
      const {runInteractiveUp} = await import('../../ui/run-interactive.js');
      // The dashboard's store subscribes before start() so the first backend states are not missed.
      const stats = new StatsStore(events, {logLevel: options.logLevel});
      const outcome = await runInteractiveUp({
        title: source.title,
        discover: () => source.discover(),
        preselected: chosen === undefined ? (remembered ?? []) : chosen === 'all' ? (await source.discover()).map((app) => app.application) : chosen,
        skipPicker: chosen !== undefined,
        // --all stays 'all' (applications discovered later are routed too); a picked list is a list.
        start: async (applications) => showingSelection(await start(chosen === 'all' ? 'all' : applications), stats),
        remember: (applications) => store.rememberSelection(memoryKey.context, memoryKey.namespace, applications),
        stats,
        attachmentKey: options.attachmentKey,
      }).finally(() => stats.dispose());
      if (outcome.kind === 'quit') return 0;
      return outcome.during === 'start' ? exitCodeFor(outcome.error) : 1;
    }
    if (chosen === undefined) {
      throw new DubboTunnelError('DT_ERR_NEEDS_CHOICE', 'no applications chosen, and there is no terminal to show the picker in', {
        hint: 'pass --all, --select <app1,app2> or --last (see dubbo-tunnel ls for the names)',
      });
    }
    const session = await start(chosen);
    if (chosen !== 'all' && source.context !== undefined) store.rememberSelection(memoryKey.context, memoryKey.namespace, chosen);
    await waitForStopSignal();
    events.log('info', 'stopping: answering requests in flight, then closing tunnels');
    await session.stop();
    return 0;
  } catch (error) {
    await source.close();
    throw error;
  } finally {
    detach();
  }
}

/** Resolves on the first SIGINT/SIGTERM; a second one exits at once. */
export function waitForStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const force = () => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export const command: Command = {
  name: 'up',
  summary: 'Open the local Dubbo port and route each request to its provider application',
  usage: 'dubbo-tunnel up [options]',
  options: [
    {flags: '--all', description: 'route every discovered application (no picker)'},
    {flags: '--select <app,...>', description: 'route these applications (no picker); repeatable or comma-separated'},
    {flags: '--last', description: 'route the applications chosen last time for this context and namespace'},
    ...KUBE_OPTIONS_HELP,
    {flags: '--backend <app>=<host>:<port>', description: 'route application <app> to a fixed provider address instead of Kubernetes (repeatable); <app>=tri://<host>:<port> is its Triple/gRPC port, <app>=qos://<host>:<port> its QoS port (to learn its services)'},
    {flags: '--route <interface>=<app>', description: 'send requests for a Java interface to <app> when they carry no target-application (repeatable)'},
    {flags: '-p, --port <port>', description: 'local Dubbo port (default 20880)'},
    {flags: '--host <address>', description: 'listen only on this address (default: all of this machine\'s addresses, local peers only)'},
    {flags: '--allow-remote', description: 'accept consumers from other machines (off by default: anyone who can reach the port could call your providers)'},
    {flags: '--attachment-key <key>', description: 'attachment that names the target application (default target-application)'},
    {flags: '--max-payload <bytes>', description: 'largest frame body accepted, like Dubbo\'s payload (default 8388608)'},
    {flags: '--log-level <level>', description: 'debug | info | warn | error (default info; debug prints every request)'},
    {flags: '--json', description: 'print JSON lines instead of text (implies --no-ui)'},
    {flags: '--resolve-file <path>', description: 'write every learned interface as <interface>=dubbo://localhost:<port> for stock consumers (~/dubbo-resolve.properties needs no JVM flag); restored on exit'},
    {flags: '--no-learn', description: 'do not ask providers which services they export (consumers then need the target-application attachment or --route)'},
    {flags: '--no-ui', description: 'plain line output even in a terminal (also when CI is set or output is not a terminal)'},
  ],
  examples: [
    'dubbo-tunnel up                                   # pick applications in the terminal UI',
    'dubbo-tunnel up --all --no-ui                     # every discovered application, plain output',
    'dubbo-tunnel up -n dev --select user-rpc,pay-rpc  # these two from namespace dev',
    'dubbo-tunnel up --last                            # what you picked last time here',
    'dubbo-tunnel up --all --resolve-file ~/dubbo-resolve.properties   # unchanged Java consumers reach every learned interface',
    'dubbo-tunnel up --backend user-rpc=127.0.0.1:20881 --backend pay-rpc=127.0.0.1:20882',
    'dubbo-tunnel up --backend user-rpc=127.0.0.1:20881 --route com.example.UserService=user-rpc --port 20990',
    'dubbo-tunnel up --backend user-rpc=127.0.0.1:20881 --backend user-rpc=tri://127.0.0.1:50051   # Dubbo and Triple ports',
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
