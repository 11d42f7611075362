import {TunnelEventBus} from '../../core/events.js';
import {KubeCluster} from '../../kube/cluster.js';
import type {KubeApplication} from '../../kube/cluster.js';
import {parseCommandArgs} from '../args.js';
import type {CliContext, Command, OptionTable} from '../command.js';
import {SUMMARIES} from '../command.js';
import {DubboTunnelError} from '../../core/errors.js';
import {KUBE_OPTIONS, kubeOptionsFrom} from '../kube-options.js';

const OPTIONS = {
  ...KUBE_OPTIONS,
  json: {type: 'boolean', description: 'print a JSON array (application, namespace, service, port, servicePort, targetPort, source, origin, readyPods) instead of the table'},
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

export const command: Command = {
  name: 'ls',
  summary: SUMMARIES.ls,
  usage: 'dubbo-tunnel ls [options]',
  options: OPTIONS,
  examples: [
    'dubbo-tunnel ls',
    'dubbo-tunnel ls -n payments --context staging',
    'dubbo-tunnel ls -A --source ingress',
    'dubbo-tunnel ls -l tier=rpc --json | jq -r \'.[].application\'',
  ],
  run,
};
