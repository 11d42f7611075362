import {resolveSettings, SettingsStore} from '../../config/settings.js';
import {DubboTunnelError} from '../../core/errors.js';
import {runDoctor} from '../../doctor/checks.js';
import {doctorExitCode, doctorJson, formatResult, formatSummary} from '../../doctor/report.js';
import {parseCommandArgs, parsePositiveInt} from '../args.js';
import type {CliContext, Command} from '../command.js';
import {KUBE_OPTIONS, KUBE_OPTIONS_HELP, kubeOptionsFrom} from '../kube-options.js';

const OPTIONS = {
  ...KUBE_OPTIONS,
  'port': {type: 'string', short: 'p'},
  'host': {type: 'string'},
  'allow-remote': {type: 'boolean'},
  'timeout': {type: 'string'},
  'json': {type: 'boolean'},
} as const;

async function run(args: string[], context: CliContext): Promise<number> {
  const {values, positionals} = parseCommandArgs('doctor', args, OPTIONS);
  if (positionals.length > 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `unexpected argument '${positionals[0]}'`, {hint: 'see dubbo-tunnel doctor --help'});
  }
  // The same port and host `up` would use: flag, then DUBBO_TUNNEL_PORT/HOST, then the saved setting.
  const settings = resolveSettings({flags: {port: values.port, host: values.host}, env: context.env, store: SettingsStore.open(context.env)}).values;
  const json = values.json ?? false;
  const results = await runDoctor({
    kube: kubeOptionsFrom(values, context.env),
    port: settings.port,
    host: settings.host,
    allowRemote: values['allow-remote'] ?? false,
    env: context.env,
    // A login prompt of an exec plugin must be seen; stderr keeps --json output clean.
    execStderr: context.stderr,
    interactive: context.interactive && !json,
    ...(values.timeout === undefined ? {} : {apiTimeoutMs: parsePositiveInt(values.timeout, '--timeout')}),
  }, json ? undefined : (result) => context.stdout.write(formatResult(result)));
  context.stdout.write(json ? `${JSON.stringify(doctorJson(results), null, 2)}\n` : formatSummary(results));
  return doctorExitCode(results);
}

export const command: Command = {
  name: 'doctor',
  summary: 'Check everything `up` needs (Node, kubeconfig, credentials, API server, RBAC, backends, local port, consumer address) and say how to fix what fails',
  usage: 'dubbo-tunnel doctor [options]',
  options: [
    ...KUBE_OPTIONS_HELP,
    {flags: '-p, --port <port>', description: 'local port to check (default: as up: DUBBO_TUNNEL_PORT, the saved setting, else 20880)'},
    {flags: '--host <address>', description: 'listen address to check, as up --host (default: all of this machine\'s addresses)'},
    {flags: '--allow-remote', description: 'check as for up --allow-remote'},
    {flags: '--timeout <ms>', description: 'how long the API server, and a credentials plugin, may take to answer (default 10000; a plugin 60000)'},
    {flags: '--json', description: 'print the checks as JSON: {ok, checks: [{id, title, status, summary, details, fix, data}]}'},
  ],
  examples: [
    'dubbo-tunnel doctor',
    'dubbo-tunnel doctor --context kind-dev -n dev --port 20990',
    'dubbo-tunnel doctor --json',
    '',
    'Each line starts with ✓ (fine), ! (works, but look), ✗ (fails: the fix follows) or - (skipped: an',
    'earlier check failed). Exit status: 0 when nothing failed, 1 when a check failed.',
  ],
  run,
};
