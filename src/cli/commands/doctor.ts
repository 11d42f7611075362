import {resolveSettings, SettingsStore} from '../../config/settings.js';
import {DubboTunnelError} from '../../core/errors.js';
import {runDoctor} from '../../doctor/checks.js';
import type {CheckResult} from '../../doctor/checks.js';
import {doctorExitCode, doctorJson, formatResult, formatSummary} from '../../doctor/report.js';
import {parseCommandArgs, parsePositiveInt} from '../args.js';
import type {CliContext, Command, OptionTable} from '../command.js';
import {SUMMARIES} from '../command.js';
import {KUBE_OPTIONS, kubeOptionsFrom, kubePlacesFrom} from '../kube-options.js';

const OPTIONS = {
  ...KUBE_OPTIONS,
  'port': {type: 'string', short: 'p', description: 'local port to check (default: as up: DUBBO_TUNNEL_PORT, the saved setting, else 20880)'},
  'host': {type: 'string', value: 'address', description: 'listen address to check, as up --host (default: all of this machine\'s addresses)'},
  'allow-remote': {type: 'boolean', description: 'check as for up --allow-remote'},
  'timeout': {type: 'string', value: 'ms', description: 'how long the API server, and a credentials plugin, may take to answer (default 10000; a plugin 60000)'},
  'json': {type: 'boolean', description: 'print the checks as JSON: {ok, checks: [{id, title, status, summary, details, fix, data}]}'},
} as const satisfies OptionTable;

async function run(args: string[], context: CliContext): Promise<number> {
  const {values, positionals} = parseCommandArgs('doctor', args, OPTIONS);
  if (positionals.length > 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `unexpected argument '${positionals[0]}'`, {hint: 'see dubbo-tunnel doctor --help'});
  }
  // The same port and host `up` would use: flag, then DUBBO_TUNNEL_PORT/HOST, then the saved setting.
  const settings = resolveSettings({flags: {port: values.port, host: values.host}, env: context.env, store: SettingsStore.open(context.env)}).values;
  const json = values.json ?? false;
  const kube = kubeOptionsFrom(values, context.env);
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

export const command: Command = {
  name: 'doctor',
  summary: SUMMARIES.doctor,
  usage: 'dubbo-tunnel doctor [options]',
  options: OPTIONS,
  examples: [
    'dubbo-tunnel doctor',
    'dubbo-tunnel doctor --context kind-dev -n dev --port 20990',
    'dubbo-tunnel doctor --json',
    'dubbo-tunnel doctor --context dev --context staging   # each context in turn (--json: {ok, contexts: [...]})',
    '',
    'Each line starts with ✓ (fine), ! (works, but look), ✗ (fails: the fix follows) or - (skipped: an',
    'earlier check failed). Exit status: 0 when nothing failed, 1 when a check failed.',
  ],
  run,
};
