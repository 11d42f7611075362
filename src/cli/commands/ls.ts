import type {BackendSource} from '../../core/backend-source.js';
import {TunnelEventBus} from '../../core/events.js';
import {ExportLearner} from '../../learning/export-learner.js';
import {KubeCluster} from '../../kube/cluster.js';
import type {KubeApplication} from '../../kube/cluster.js';
import {parseCommandArgs} from '../args.js';
import type {CliContext, Command, OptionTable} from '../command.js';
import {SUMMARIES} from '../command.js';
import {DubboTunnelError} from '../../core/errors.js';
import {textTable} from '../../core/text-table.js';
import {RoutePublisher} from '../../session/publisher.js';
import {discoverAll, discoverEach} from '../../session/session.js';
import {openSources} from '../../session/sources.js';
import {resolveSettings, SettingsStore} from '../../config/settings.js';
import {KUBE_OPTIONS, checkSourceFlag, kubeOptionsFrom, kubePlacesFrom} from '../kube-options.js';
import {printSettingsWarnings} from '../settings-warnings.js';
import {checkViaFlags, openViaSource} from '../via-source.js';
import type {CatalogApplication} from '../../gateway/protocol.js';
import {withheldSentence} from '../../via/gateway-source.js';
import {describeViaTarget, parseViaTarget} from '../../via/via-target.js';
import type {ViaTarget} from '../../via/via-target.js';

const OPTIONS = {
  ...KUBE_OPTIONS,
  json: {type: 'boolean', description: 'print a JSON array (application, namespace, service, port, servicePort, targetPort, source, origin, readyPods) instead of the table'},
  verbose: {type: 'boolean', description: 'also print the details behind warnings (with --interfaces: what each way of asking answered)'},
  interfaces: {type: 'boolean', description: 'ask every application which services it exports (through short-lived port-forwards) and list them; with --json: application, services, via, reason'},
  via: {type: 'string', value: '<ns>/<service>[:port] | <host>:<port>', description: 'list what the team gateway routes for you (its catalog, checked against your kubeconfig user\'s token), reached as `up --via` reaches it: APPLICATION, NAMESPACE, SERVICES (how many it exports), TRIPLE; with --json: application, namespace, services, triple. --context/--kubeconfig choose the user'},
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
  const via = values.via === undefined ? undefined : parseViaTarget(values.via);
  if (via !== undefined) {
    checkViaFlags(values, '`up --via` picks with --select <app>@<namespace>');
    if (values.interfaces === true) {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--via cannot be used with --interfaces: the gateway\'s catalog already says what each application exports', {hint: 'use dubbo-tunnel ls --via <gateway> --json (its services field)'});
    }
  }
  checkSourceFlag(values);
  const settings = resolveSettings({flags: {source: values.source, ingressClass: values['ingress-class']}, env: context.env, store: SettingsStore.open(context.env)});
  printSettingsWarnings(settings.warnings, context.stderr);
  const kube = kubeOptionsFrom(values, settings.values);
  const json = values.json ?? false;
  const events = new TunnelEventBus();
  const verbose = values.verbose ?? false;
  events.on('log', ({level, message}) => {
    if (level === 'warn' || level === 'error') context.stderr.write(`dubbo-tunnel: ${level === 'warn' ? 'warning' : 'error'}: ${message}\n`);
    else if (verbose) context.stderr.write(`dubbo-tunnel: ${message}\n`);
  });
  if (via !== undefined) return listVia(via, kube, events, context, json);
  const places = kubePlacesFrom(values);
  // -A is listed as several places too: two namespaces may offer one name, and a listing hides none.
  const several = places.contexts.length > 1 || places.namespaces.length > 1 || values['all-namespaces'] === true;
  if (several || values.interfaces === true) {
    const sources = await openPlaces(values, kube, places, events, context);
    try {
      return several ? await listSeveral(sources, events, context, json) : await listInterfaces(sources, events, json, context);
    } finally {
      await Promise.all(sources.map((source) => source.close()));
    }
  }
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

/** `ls --via` as a table: the gateway's catalog for this developer. */
export function formatCatalogTable(applications: readonly CatalogApplication[]): string {
  const header = ['APPLICATION', 'NAMESPACE', 'SERVICES', 'TRIPLE'];
  const rows = applications.map((entry) => [entry.name, entry.namespace, String(entry.services.length), entry.triple ? 'yes' : 'no']);
  return textTable([header, ...rows], '   ').join('\n') + '\n';
}

/**
 * `ls --via`: what the team gateway routes for this developer, from the answer to the hello `up
 * --via` sends (the same link, the same token, the same coded errors), then the link is closed.
 */
async function listVia(target: ViaTarget, kube: ReturnType<typeof kubeOptionsFrom>, events: TunnelEventBus, context: CliContext, json: boolean): Promise<number> {
  const source = await openViaSource({
    target,
    ...(kube.kubeconfig === undefined ? {} : {kubeconfig: kube.kubeconfig}),
    ...(kube.context === undefined ? {} : {context: kube.context}),
  }, {events, env: context.env, execStderr: context.stderr, interactive: context.interactive});
  try {
    const catalog = await source.catalog();
    const applications = [...catalog.applications].sort((a, b) => a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace));
    events.log('info', `${source.title}: the gateway knows you as ${source.user ?? '?'}`);
    if (json) {
      context.stdout.write(`${JSON.stringify(applications.map((entry) => ({application: entry.name, namespace: entry.namespace, services: entry.services, triple: entry.triple})), null, 2)}\n`);
    } else {
      context.stdout.write(formatCatalogTable(applications));
    }
    // Withheld namespaces on stderr: the table and the JSON stay what can be routed.
    for (const entry of catalog.refused ?? []) context.stderr.write(`dubbo-tunnel: warning: ${withheldSentence(describeViaTarget(target), entry)}\n`);
    if (applications.length === 0) {
      // Not an error: the gateway answered, and this user may use nothing (or it discovers nothing).
      context.stderr.write(`dubbo-tunnel: warning: the gateway at ${describeViaTarget(target)} routes no application for ${source.user ?? 'you'}; see docs/team-mode.md (Access)\n`);
    }
    return 0;
  } finally {
    await source.close();
  }
}

/** The places of the command line as a session's sources, opened the way `up` opens them. */
function openPlaces(values: {'all-namespaces'?: boolean}, kube: ReturnType<typeof kubeOptionsFrom>, places: {contexts: string[]; namespaces: string[]},
  events: TunnelEventBus, context: CliContext): Promise<BackendSource[]> {
  const {context: _context, namespace: _namespace, allNamespaces: _all, ...shared} = kube;
  return openSources({backends: [], clusters: {shared, ...places, allNamespaces: values['all-namespaces'] === true}},
    {events, env: context.env, execStderr: context.stderr, interactive: context.interactive});
}

/**
 * `ls` over several contexts or namespaces, or all of them (-A): every place's applications, each
 * with where it is; a name offered by two namespaces is two rows (`user-rpc@dev`, `user-rpc@team-b`).
 */
async function listSeveral(sources: readonly BackendSource[], events: TunnelEventBus, context: CliContext, json: boolean): Promise<number> {
  const applications = (await discoverEach(sources, events)).flatMap(({source, applications: found}) =>
    (found as KubeApplication[]).map((application): KubeApplication & {context?: string} => ({...application, ...(source.context === undefined ? {} : {context: source.context})})));
  context.stdout.write(json ? `${JSON.stringify(applications.map(toJson), null, 2)}\n` : formatTable(applications));
  if (!json) {
    for (const application of applications) {
      if (application.problem !== undefined) context.stderr.write(`dubbo-tunnel: warning: ${application.application}@${application.where ?? application.namespace}: ${application.problem}\n`);
    }
  }
  return 0;
}

/**
 * `ls --interfaces`: every discovered application is asked what it exports, through short-lived
 * port-forwards, learned the way `up` learns: the sources report their backends to a publisher,
 * which feeds the ExportLearner.
 */
async function listInterfaces(sources: readonly BackendSource[], events: TunnelEventBus, json: boolean, context: CliContext): Promise<number> {
  const learner = new ExportLearner({events});
  const publisher = new RoutePublisher({events, kinds: sources.map((source) => source.kind), choice: 'all', learner});
  try {
    await Promise.all(sources.map((source, index) => source.start('all', (offers) => publisher.report(index, offers))));
    // Nothing to ask: discovery says what was searched and how to mark a backend (DT_ERR_NO_BACKENDS).
    if (publisher.routes.current.backends.size === 0) await discoverAll(sources, events);
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
    publisher.close();
    learner.close();
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
    'dubbo-tunnel ls --via dubbo-tunnel/dubbo-tunnel-gateway   # what the team gateway routes for you',
  ],
  run,
};
