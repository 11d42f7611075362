import {TunnelEventBus} from '../../core/events.js';
import {ExportLearner} from '../../discovery/export-learner.js';
import {KubeCluster} from '../../kube/cluster.js';
import {RouteSource} from '../../router/route-table.js';
import type {KubeApplication} from '../../kube/cluster.js';
import {parseCommandArgs} from '../args.js';
import type {CliContext, Command} from '../command.js';
import {DubboTunnelError} from '../../core/errors.js';
import {KUBE_OPTIONS, KUBE_OPTIONS_HELP, kubeOptionsFrom} from '../kube-options.js';

const OPTIONS = {
  ...KUBE_OPTIONS,
  json: {type: 'boolean'},
  interfaces: {type: 'boolean'},
} as const;

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
  const header = ['APPLICATION', 'NAMESPACE', 'SERVICE', 'PORT', 'SOURCE', 'READY'];
  const rows = applications.map((application) => [
    application.application, application.namespace, application.service, portText(application), application.source, readyText(application),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('   ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** What --json prints per application: stable field names for scripts. */
export function toJson(application: KubeApplication): Record<string, unknown> {
  return {
    application: application.application,
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
  const kube = kubeOptionsFrom(values, context.env);
  const json = values.json ?? false;
  const events = new TunnelEventBus();
  events.on('log', ({level, message}) => {
    if (level === 'warn' || level === 'error') context.stderr.write(`dubbo-tunnel: ${level === 'warn' ? 'warning' : 'error'}: ${message}\n`);
  });
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
  summary: 'List the Dubbo applications discovered in the cluster (Ingresses of class dubbo, Services with a dubbo port)',
  usage: 'dubbo-tunnel ls [options]',
  options: [
    ...KUBE_OPTIONS_HELP,
    {flags: '--json', description: 'print a JSON array (application, namespace, service, port, servicePort, targetPort, source, origin, readyPods) instead of the table'},
    {flags: '--interfaces', description: 'ask every application which services it exports (through short-lived port-forwards) and list them; with --json: application, services, via, reason'},
  ],
  examples: [
    'dubbo-tunnel ls',
    'dubbo-tunnel ls -n payments --context staging',
    'dubbo-tunnel ls -A --source ingress',
    'dubbo-tunnel ls --interfaces                # what each application exports',
    'dubbo-tunnel ls -l tier=rpc --json | jq -r \'.[].application\'',
  ],
  run,
};
