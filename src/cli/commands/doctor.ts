import {resolveSettings, SettingsStore} from '../../config/settings.js';
import {DubboTunnelError} from '../../core/errors.js';
import {TunnelEventBus} from '../../core/events.js';
import {runDoctor} from '../../doctor/checks.js';
import type {CheckResult} from '../../doctor/checks.js';
import type {ViaProbe} from '../../doctor/gateway.js';
import {describeViaTarget, parseViaTarget} from '../../via/via-target.js';
import type {ViaTarget} from '../../via/via-target.js';
import {doctorExitCode, doctorJson, formatResult, formatSummary} from '../../doctor/report.js';
import {parseCommandArgs, parsePositiveInt} from '../args.js';
import type {CliContext, Command, OptionTable} from '../command.js';
import {SUMMARIES} from '../command.js';
import {KUBE_OPTIONS, checkSourceFlag, kubeOptionsFrom, kubePlacesFrom} from '../kube-options.js';
import {printSettingsWarnings} from '../settings-warnings.js';
import {checkViaFlags, openViaSource} from '../via-source.js';

const OPTIONS = {
  ...KUBE_OPTIONS,
  'port': {type: 'string', short: 'p', description: 'local port to check (default: as up: DUBBO_TUNNEL_PORT, the saved setting, else 20880)'},
  'host': {type: 'string', value: 'address', description: 'listen address to check, as up --host (default: all of this machine\'s addresses)'},
  'allow-remote': {type: 'boolean', description: 'check as for up --allow-remote'},
  'timeout': {type: 'string', value: 'ms', description: 'how long the API server, and a credentials plugin, may take to answer (default 10000; a plugin 60000)'},
  'via': {type: 'string', value: '<ns>/<service>[:port] | <host>:<port>', description: 'check the team gateway `up --via` would use: reachable, the hello with your kubeconfig user\'s token accepted, and which applications you may use (and which namespaces you may not, with the missing permission)'},
  'json': {type: 'boolean', description: 'print the checks as JSON: {ok, checks: [{id, title, status, summary, details, fix, data}]}'},
} as const satisfies OptionTable;

async function run(args: string[], context: CliContext): Promise<number> {
  const {values, positionals} = parseCommandArgs('doctor', args, OPTIONS);
  if (positionals.length > 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `unexpected argument '${positionals[0]}'`, {hint: 'see dubbo-tunnel doctor --help'});
  }
  const via = values.via === undefined ? undefined : parseViaTarget(values.via);
  if (via !== undefined) checkViaFlags(values, '`up --via` offers what this check lists');
  // The same port and host `up` would use: flag, then DUBBO_TUNNEL_PORT/HOST, then the saved setting.
  checkSourceFlag(values);
  const resolved = resolveSettings({
    flags: {port: values.port, host: values.host, source: values.source, ingressClass: values['ingress-class']},
    env: context.env,
    store: SettingsStore.open(context.env),
  });
  printSettingsWarnings(resolved.warnings, context.stderr);
  const settings = resolved.values;
  const json = values.json ?? false;
  const kube = kubeOptionsFrom(values, settings);
  // Every --context given (an `up` with several reads each); one run when none or one is given.
  const contexts = kubePlacesFrom(values).contexts;
  const runs: {context: string | undefined; results: CheckResult[]}[] = [];
  for (const kubeContext of contexts.length > 1 ? contexts : [kube.context]) {
    if (contexts.length > 1 && !json) context.stdout.write(`${runs.length === 0 ? '' : '\n'}context ${kubeContext ?? ''}:\n`);
    const results = await runDoctor({
      kube: {...kube, ...(kubeContext === undefined ? {} : {context: kubeContext})},
      port: settings.port,
      host: settings.host,
      allowRemote: values['allow-remote'] ?? false,
      ...(via === undefined ? {} : {via: viaProbe(via, {...kube, ...(kubeContext === undefined ? {} : {context: kubeContext})}, context)}),
      env: context.env,
      // A login prompt of an exec plugin must be seen; stderr keeps --json output clean.
      execStderr: context.stderr,
      interactive: context.interactive && !json,
      ...(values.timeout === undefined ? {} : {apiTimeoutMs: parsePositiveInt(values.timeout, '--timeout')}),
    }, json ? undefined : (result) => context.stdout.write(formatResult(result)));
    runs.push({context: kubeContext, results});
  }
  const all = runs.flatMap((run) => run.results);
  if (json) {
    const report = runs.length === 1 ? doctorJson(all) : {ok: doctorExitCode(all) === 0, contexts: runs.map((run) => ({context: run.context, ...doctorJson(run.results)}))};
    context.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    context.stdout.write(formatSummary(all));
  }
  return doctorExitCode(all);
}

/**
 * `doctor --via`: the hello `up --via` sends, through the same source (the same way to the
 * gateway, the same token), and the link closed after it.
 */
function viaProbe(target: ViaTarget, kube: {kubeconfig?: string | undefined; context?: string | undefined}, context: CliContext): ViaProbe {
  return {
    target: describeViaTarget(target),
    throughApiServer: target.kind === 'service',
    hello: async () => {
      const source = await openViaSource({
        target,
        ...(kube.kubeconfig === undefined ? {} : {kubeconfig: kube.kubeconfig}),
        ...(kube.context === undefined ? {} : {context: kube.context}),
      }, {events: new TunnelEventBus(), env: context.env, execStderr: context.stderr, interactive: false});
      try {
        const catalog = await source.catalog();
        return {user: source.user, applications: catalog.applications, refused: catalog.refused ?? []};
      } finally {
        await source.close();
      }
    },
  };
}

export const command: Command = {
  name: 'doctor',
  summary: SUMMARIES.doctor,
  usage: 'dubbo-tunnel doctor [options]',
  options: OPTIONS,
  examples: [
    'dubbo-tunnel doctor',
    'dubbo-tunnel doctor --context kind-dev -n dev --port 20990',
    'dubbo-tunnel doctor --json',
    'dubbo-tunnel doctor --via dubbo-tunnel/dubbo-tunnel-gateway   # the team gateway: reachable, your token, what you may use',
    'dubbo-tunnel doctor --context dev --context staging   # each context in turn (--json: {ok, contexts: [...]})',
    '',
    'Each line starts with ✓ (fine), ! (works, but look), ✗ (fails: the fix follows) or - (skipped: an',
    'earlier check failed). Exit status: 0 when nothing failed, 1 when a check failed.',
  ],
  run,
};
