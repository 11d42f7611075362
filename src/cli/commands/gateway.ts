import {DubboTunnelError} from '../../core/errors.js';
import {TunnelEventBus} from '../../core/events.js';
import {DEFAULT_ADMIN_PORT, DEFAULT_DRAIN_MS, DEFAULT_GATEWAY_PORT, SERVICE_ACCOUNT_DIR_ENV, startGateway} from '../../gateway/gateway.js';
import {gatewayManifests} from '../../gateway/manifests.js';
import {DEFAULT_PAYLOAD} from '../../protocol/header.js';
import {attachLineReporter} from '../../reporters/line-reporter.js';
import {parseCommandArgs, parsePort, parsePositiveInt} from '../args.js';
import type {CliContext, Command, OptionTable} from '../command.js';
import {SUMMARIES} from '../command.js';
import {handleStopSignals} from '../stop-signals.js';

const OPTIONS = {
  'port': {type: 'string', short: 'p', description: `port for laptops (Dubbo and Triple/gRPC; default ${DEFAULT_GATEWAY_PORT})`},
  'host': {type: 'string', value: 'address', description: 'listen address (default: every address of the pod)'},
  'admin-port': {type: 'string', value: 'port', description: `port of /healthz, /readyz and /metrics (default ${DEFAULT_ADMIN_PORT})`},
  'namespace': {type: 'string', short: 'n', multiple: true, value: 'ns', description: 'namespace to discover applications in (default: the pod\'s own); repeat for several. With `manifests`: where the gateway runs (default dubbo-tunnel)'},
  'all-namespaces': {type: 'boolean', short: 'A', description: 'discover in every namespace'},
  'namespace-selector': {type: 'string', value: 'labels', description: 'discover in the namespaces with these labels, kubectl syntax (e.g. dubbo-tunnel.io/gateway=team-a); namespaces join and leave as their labels change. With `manifests`: also grants list/watch on namespaces'},
  'source': {type: 'string', description: 'ingress | service | auto: where backends come from (default auto), as for up'},
  'selector': {type: 'string', short: 'l', description: 'only Services with these labels, kubectl syntax (e.g. tier=rpc)'},
  'ingress-class': {type: 'string', value: 'class', description: 'Ingress class that marks Dubbo backends (default dubbo)'},
  'allow-anonymous': {type: 'boolean', description: 'route consumers that send no hello and HTTP/2 streams without a token (no authentication: anyone who reaches the port may call every application)'},
  'no-learn': {type: 'boolean', description: 'do not learn what the applications export (routing by attachment and --route only)'},
  'drain-timeout': {type: 'string', value: 'ms', description: `on SIGTERM, how long requests in flight may finish (default ${DEFAULT_DRAIN_MS})`},
  'max-payload': {type: 'string', value: 'bytes', description: `largest request or answer body (default ${DEFAULT_PAYLOAD})`},
  'watch-namespace': {type: 'string', multiple: true, value: 'ns', description: 'with `manifests`: the namespaces the gateway discovers in (default: every namespace)'},
  'image': {type: 'string', value: 'image', description: 'with `manifests`: the gateway image (default dubbo-tunnel:<version>)'},
} as const satisfies OptionTable;

declare const DUBBO_TUNNEL_VERSION: string | undefined;

async function run(args: string[], context: CliContext): Promise<number> {
  const {values, positionals} = parseCommandArgs('gateway', args, OPTIONS);
  const [subcommand, ...rest] = positionals;
  if (rest.length > 0 || (subcommand !== undefined && subcommand !== 'manifests')) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `unexpected argument '${rest[0] ?? subcommand ?? ''}'`, {hint: 'see dubbo-tunnel gateway --help'});
  }
  if (subcommand === 'manifests') return printManifests(values, context);
  if (values['all-namespaces'] === true && (values.namespace?.length ?? 0) > 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '-n/--namespace and -A/--all-namespaces cannot be used together');
  }
  const namespaceSelector = values['namespace-selector'];
  if (namespaceSelector !== undefined && (values['all-namespaces'] === true || (values.namespace?.length ?? 0) > 0)) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--namespace-selector cannot be used with -n/--namespace or -A/--all-namespaces', {hint: 'pick one: the namespaces by name, every namespace, or the namespaces whose labels match'});
  }
  const source = values.source;
  if (source !== undefined && source !== 'auto' && source !== 'ingress' && source !== 'service') {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--source must be ingress, service or auto, got '${source}'`);
  }
  const events = new TunnelEventBus();
  const detach = attachLineReporter(events, {out: context.stdout, level: 'info', json: false});
  let stopRequested: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    stopRequested = resolve;
  });
  const signals = handleStopSignals(() => stopRequested?.());
  try {
    const gateway = await startGateway({
      port: values.port === undefined ? DEFAULT_GATEWAY_PORT : parsePort(values.port, '--port'),
      ...(values.host === undefined ? {} : {host: values.host}),
      adminPort: values['admin-port'] === undefined ? DEFAULT_ADMIN_PORT : parsePort(values['admin-port'], '--admin-port'),
      namespaces: values.namespace ?? [],
      allNamespaces: values['all-namespaces'] ?? false,
      ...(namespaceSelector === undefined ? {} : {namespaceSelector}),
      discovery: {
        ...(source === undefined ? {} : {source}),
        ...(values.selector === undefined ? {} : {selector: values.selector}),
        ...(values['ingress-class'] === undefined ? {} : {ingressClass: values['ingress-class']}),
      },
      allowAnonymous: values['allow-anonymous'] ?? false,
      noLearn: values['no-learn'] ?? false,
      drainMs: values['drain-timeout'] === undefined ? DEFAULT_DRAIN_MS : parsePositiveInt(values['drain-timeout'], '--drain-timeout'),
      ...(values['max-payload'] === undefined ? {} : {maxBodyLength: parsePositiveInt(values['max-payload'], '--max-payload')}),
      events,
      env: context.env,
    });
    context.stdout.write(`gateway listening on port ${gateway.port}, admin port ${gateway.adminPort}\n`);
    await stopped;
    events.log('info', `${signals.received ?? 'stop'}: draining (no new connections; requests in flight are answered)`);
    await gateway.stop();
    return 0;
  } finally {
    signals.dispose();
    detach();
  }
}

async function printManifests(values: {namespace?: string[]; 'watch-namespace'?: string[]; 'namespace-selector'?: string; 'all-namespaces'?: boolean; image?: string}, context: CliContext): Promise<number> {
  const namespaces = values.namespace ?? [];
  if (namespaces.length > 1) throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', 'gateway manifests takes one --namespace (where the gateway runs)');
  const version = typeof DUBBO_TUNNEL_VERSION === 'string' ? DUBBO_TUNNEL_VERSION : 'latest';
  const watched = values['watch-namespace'] ?? [];
  const selector = values['namespace-selector'];
  if (selector !== undefined && watched.length > 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--namespace-selector cannot be used with --watch-namespace', {hint: 'pick one: the namespaces by name, or the namespaces whose labels match'});
  }
  // A typo is a usage error here, not a Deployment whose watch the API server refuses.
  if (selector !== undefined) (await import('../../kube/label-selector.js')).parseLabelSelector(selector);
  const objects = gatewayManifests({
    namespace: namespaces[0] ?? 'dubbo-tunnel',
    image: values.image ?? `dubbo-tunnel:${version}`,
    watchNamespaces: watched,
    allNamespaces: watched.length === 0 && selector === undefined,
    ...(selector === undefined ? {} : {namespaceSelector: selector.trim()}),
  });
  const {toYamlDocuments} = await import('../../kube/reviews.js');
  context.stdout.write(toYamlDocuments(objects));
  return 0;
}

export const command: Command = {
  name: 'gateway',
  summary: SUMMARIES.gateway,
  usage: 'dubbo-tunnel gateway [options] | dubbo-tunnel gateway manifests [--namespace <ns>] [--watch-namespace <ns>... | --namespace-selector <labels>] [--image <image>]',
  options: OPTIONS,
  notes: [{flags: 'manifests', description: 'print ServiceAccount, ClusterRole/Binding, Deployment, Service and PodDisruptionBudget as YAML (kubectl apply -f -)'}],
  examples: [
    'dubbo-tunnel gateway manifests --namespace dubbo-tunnel | kubectl apply -f -',
    'dubbo-tunnel gateway -n shop -n billing          # inside a pod: discovery in two namespaces',
    'dubbo-tunnel gateway --namespace-selector team=payments   # the namespaces labelled team=payments, live',
    '',
    'Runs inside a pod with its service account (KUBERNETES_SERVICE_HOST/PORT and the mounted token;',
    `${SERVICE_ACCOUNT_DIR_ENV} points at another token/ca.crt/namespace directory). Laptops connect`,
    'with `dubbo-tunnel up --via <namespace>/<service>`; see docs/team-mode.md.',
  ],
  run,
};
