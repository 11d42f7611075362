import {endPluginProcesses} from '../kube/exec-plugin-process.js';
import type {CliContext, Command} from './command.js';
import {SUMMARIES, formatHelp} from './command.js';
import {EXIT_CODES, USAGE_EXIT_CODE, reportFatal} from './report-error.js';
import {packageVersion} from './version.js';

/**
 * Commands load lazily: `dubbo-tunnel up --no-ui` must never parse React/ink, and `--help` should be
 * instant. Add a command by adding one line here.
 */
const COMMANDS = {
  up: {load: async () => (await import('./commands/up.js')).command},
  call: {load: async () => (await import('./commands/call.js')).command},
  replay: {load: async () => (await import('./commands/replay.js')).command},
  ls: {load: async () => (await import('./commands/ls.js')).command},
  demo: {load: async () => (await import('./commands/demo.js')).command},
  doctor: {load: async () => (await import('./commands/doctor.js')).command},
  config: {load: async () => (await import('./commands/config.js')).command},
  gateway: {load: async () => (await import('./commands/gateway.js')).command},
} satisfies Record<keyof typeof SUMMARIES, {load: () => Promise<Command>}>;

function isCommand(name: string | undefined): name is keyof typeof COMMANDS {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}


function topLevelHelp(): string {
  const names = Object.keys(COMMANDS) as (keyof typeof COMMANDS)[];
  const width = Math.max(...names.map((name) => name.length));
  return [
    'dubbo-tunnel: call Dubbo providers in Kubernetes from this machine through one local port.',
    '',
    'Usage: dubbo-tunnel <command> [options]',
    '',
    'Commands:',
    ...names.map((name) => `  ${name.padEnd(width)}  ${SUMMARIES[name]}`),
    '',
    'Run `dubbo-tunnel <command> --help` for the options of a command.',
    'Options: -h, --help  show help; -v, --version  print the version',
    '',
    'Exit codes:',
    ...Object.entries(EXIT_CODES).map(([code, meaning]) => `  ${code}  ${meaning}`),
    '',
  ].join('\n');
}

export function defaultContext(): CliContext {
  const env = process.env;
  const ci = env['CI'] !== undefined && env['CI'] !== '' && env['CI'] !== '0' && env['CI'] !== 'false';
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env,
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY) && !ci,
  };
}

/** Runs the CLI and returns the exit code. The only place that turns errors into text and codes. */
export async function main(argv: string[], context: CliContext = defaultContext()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (isCommand(topic)) {
      context.stdout.write(formatHelp(await COMMANDS[topic].load()));
      return 0;
    }
    context.stdout.write(topLevelHelp());
    return first === undefined ? USAGE_EXIT_CODE : 0;
  }
  if (first === '-v' || first === '--version') {
    context.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (!isCommand(first)) {
    context.stderr.write(`dubbo-tunnel [DT_ERR_BAD_ARGUMENT]: unknown command '${first}'. Commands: ${Object.keys(COMMANDS).join(', ')}. See dubbo-tunnel --help.\n`);
    return USAGE_EXIT_CODE;
  }
  const command = await COMMANDS[first].load();
  if (rest.includes('--help') || rest.includes('-h')) {
    context.stdout.write(formatHelp(command));
    return 0;
  }
  try {
    return await command.run(rest, context);
  } catch (error) {
    return reportFatal(error, context);
  } finally {
    // A credentials plugin still running has nobody left to answer (doctor gave up on it, a
    // session stopped while it ran); its open pipes would keep the process from exiting.
    endPluginProcesses();
  }
}
