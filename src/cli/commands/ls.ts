import {TunnelEventBus} from '../../core/events.js';
import {ExportLearner} from '../../learning/export-learner.js';
import {KubeCluster} from '../../kube/cluster.js';
import {RouteSource} from '../../router/route-table.js';
import type {KubeApplication} from '../../kube/cluster.js';
import {parseCommandArgs} from '../args.js';
import type {CliContext, Command, OptionTable} from '../command.js';
import {SUMMARIES} from '../command.js';
import {DubboTunnelError, errorMessage} from '../../core/errors.js';
import {textTable} from '../../core/text-table.js';
import {openSources} from '../../session/sources.js';
import {resolveSettings, SettingsStore} from '../../config/settings.js';
import {KUBE_OPTIONS, checkSourceFlag, kubeOptionsFrom, kubePlacesFrom} from '../kube-options.js';
import {printSettingsWarnings} from '../settings-warnings.js';

const OPTIONS = {
  ...KUBE_OPTIONS,
  json: {type: 'boolean', description: 'print a JSON array (application, namespace, service, port, servicePort, targetPort, source, origin, readyPods) instead of the table'},
  interfaces: {type: 'boolean', description: 'ask every application which services it exports (through short-lived port-forwards) and list them; with --json: application, services, via, reason'},
} as const satisfies OptionTable;

/** `dubbo` + 20880 -> `dubbo:20880`; a bare number stays a number. */
function portText(application: KubeApplication): string {
  const {servicePort} = application;
  if (typeof application.port === 'number') return String(application.port);
  return servicePort ? `${application.port}:${servicePort.port}` : application.port;
}

function readyText(application: KubeApplication): string {
  if (application.problem !== undefined) return '-';
  return application.readyPods === undefined ? '?' : String(application.readyPods);
}

export function formatTable(applications: readonly KubeApplication[]): string {
  // Several places (-n a -n b, several --context): a FROM column says where each one is.
  const places = applications.some((application) => application.where !== undefined);
  const header = ['APPLICATION', ...(places ? ['FROM'] : []), 'NAMESPACE', 'SERVICE', 'PORT', 'SOURCE', 'READY'];
  const rows = applications.map((application) => [
    application.application, ...(places ? [application.where ?? ''] : []), application.namespace, application.service, portText(application), application.source, readyText(application),
  ]);
  return textTable([header, ...rows], '   ').join('\n') + '\n';
}

/** What --json prints per application: stable field names for scripts. */
export function toJson(application: KubeApplication & {context?: string}): Record<string, unknown> {
  return {
    application: application.application,
    // With several places: the context and the qualifier (`user-rpc@<where>`) of each entry.
    ...(application.where === undefined ? {} : {context: application.context, where: application.where}),
    namespace: application.namespace,
    service: application.service,
    port: application.port,
    servicePort: application.servicePort?.port ?? null,
    targetPort: application.servicePort?.targetPort ?? null,
    source: application.source,
    origin: application.origin,
    readyPods: application.readyPods ?? null,
    ...(application.problem === undefined ? {} : {problem: application.problem}),
  };
}

async function run(args: string[], context: CliContext): Promise<number> {
  const {values, positionals} = parseCommandArgs('ls', args, OPTIONS);
  if (positionals.length > 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `unexpected argument '${positionals[0]}'`, {hint: 'see dubbo-tunnel ls --help'});
  }
  checkSourceFlag(values);
  const settings = resolveSettings({flags: {source: values.source, ingressClass: values['ingress-class']}, env: context.env, store: SettingsStore.open(context.env)});
  printSettingsWarnings(settings.warnings, context.stderr);
  const kube = kubeOptionsFrom(values, settings.values);
  const json = values.json ?? false;
  const events = new TunnelEventBus();
  events.on('log', ({level, message}) => {
    if (level === 'warn' || level === 'error') context.stderr.write(`dubbo-tunnel: ${level === 'warn' ? 'warning' : 'error'}: ${message}\n`);
  });
  const places = kubePlacesFrom(values);
  if (places.contexts.length > 1 || places.namespaces.length > 1) return listSeveral(values, kube, places, events, context, json);
  const cluster = await KubeCluster.open({...kube, events, env: context.env, execStderr: context.stderr, interactive: context.interactive});
  if (values.interfaces === true) {
    try {
      return await listInterfaces(cluster, events, json, context);
    } finally {
      await cluster.close();
    }
  }
  try {
    const applications = await cluster.discover();
    if (json) context.stdout.write(`${JSON.stringify(applications.map(toJson), null, 2)}\n`);
    if (applications.length === 0) throw await cluster.noBackendsError();
    if (!json) {
      context.stdout.write(formatTable(applications));
      for (const application of applications) {
        if (application.problem !== undefined) context.stderr.write(`dubbo-tunnel: warning: ${application.application}: ${application.problem}\n`);
      }
    }
    return 0;
  } finally {
    await cluster.close();
  }
}

/** `ls` over several contexts or namespaces: every place's applications, each with where it is. */
async function listSeveral(values: {'all-namespaces'?: boolean}, kube: ReturnType<typeof kubeOptionsFrom>, places: {contexts: string[]; namespaces: string[]},
  events: TunnelEventBus, context: CliContext, json: boolean): Promise<number> {
  const {context: _context, namespace: _namespace, allNamespaces: _all, ...shared} = kube;
  const sources = await openSources({backends: [], clusters: {shared, ...places, allNamespaces: values['all-namespaces'] === true}},
    {events, env: context.env, execStderr: context.stderr, interactive: context.interactive});
  try {
    const results = await Promise.allSettled(sources.map((source) => source.discover()));
    const applications: (KubeApplication & {context?: string})[] = [];
    let firstError: unknown;
    results.forEach((result, index) => {
      const source = sources[index];
      if (result.status === 'rejected') {
        firstError ??= result.reason;
        context.stderr.write(`dubbo-tunnel: warning: ${source?.title ?? 'a source'}: ${errorMessage(result.reason)}\n`);
        return;
      }
      for (const found of result.value as KubeApplication[]) applications.push({...found, ...(source?.context === undefined ? {} : {context: source.context})});
    });
    if (applications.length === 0 && firstError !== undefined) throw firstError instanceof Error ? firstError : new Error(errorMessage(firstError));
    context.stdout.write(json ? `${JSON.stringify(applications.map(toJson), null, 2)}\n` : formatTable(applications));
    return 0;
  } finally {
    await Promise.all(sources.map((source) => source.close()));
  }
}

/**
 * `ls --interfaces`: every discovered application is asked what it exports, through short-lived
 * port-forwards (the same learning `up` does), and the answers are printed.
 */
async function listInterfaces(cluster: KubeCluster, events: TunnelEventBus, json: boolean, context: CliContext): Promise<number> {
  const routes = new RouteSource();
  const handle = await cluster.serve(routes, 'all');
  const learner = new ExportLearner({events});
  try {
    if (routes.current.backends.size === 0) throw await cluster.noBackendsError();
    learner.update(routes.current.backends.values());
    await learner.settled();
    const states = learner.all().sort((a, b) => a.application.localeCompare(b.application));
    if (json) {
      context.stdout.write(`${JSON.stringify(states.map((state) => ({application: state.application, services: state.keys, via: state.via ?? null, ...(state.reason === undefined ? {} : {reason: state.reason})})), null, 2)}\n`);
    } else {
      for (const state of states) {
        context.stdout.write(state.keys.length > 0
          ? `${state.application} (${state.keys.length} service${state.keys.length === 1 ? '' : 's'}, via ${state.via ?? 'discovery'})\n${state.keys.map((key) => `    ${key}\n`).join('')}`
          : `${state.application}: nothing learned\n`);
      }
    }
    return 0;
  } finally {
    learner.close();
    await handle.stop();
  }
}

export const command: Command = {
  name: 'ls',
  summary: SUMMARIES.ls,
  usage: 'dubbo-tunnel ls [options]',
  options: OPTIONS,
  examples: [
    'dubbo-tunnel ls',
    'dubbo-tunnel ls -n payments --context staging',
    'dubbo-tunnel ls -A --source ingress',
    'dubbo-tunnel ls -n dev -n staging             # several namespaces: a FROM column (--json: context, where)',
    'dubbo-tunnel ls --interfaces                # what each application exports',
    'dubbo-tunnel ls -l tier=rpc --json | jq -r \'.[].application\'',
  ],
  run,
};
