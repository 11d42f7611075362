import {readFileSync} from 'node:fs';
import type {CliContext, Command} from './command.js';
import {formatHelp} from './command.js';
import {reportFatal} from './report-error.js';

/**
 * Commands load lazily: `dubbo-tunnel up --no-ui` must never parse React/ink, and `--help` should be
 * instant. Add a command by adding one line here.
 */
const COMMANDS: Record<string, {summary: string; load: () => Promise<Command>}> = {
  up: {summary: 'Open the local Dubbo port and route requests to providers', load: async () => (await import('./commands/up.js')).command},
  call: {summary: 'Call one provider method through the local port (a built-in Dubbo consumer)', load: async () => (await import('./commands/call.js')).command},
  ls: {summary: 'List the Dubbo applications discovered in the cluster', load: async () => (await import('./commands/ls.js')).command},
  demo: {summary: 'Try it without a cluster: a simulated cluster with demo providers, then the real up', load: async () => (await import('./commands/demo.js')).command},
  doctor: {summary: 'Check kubeconfig, credentials, API server, RBAC, backends and the local port; say how to fix what fails', load: async () => (await import('./commands/doctor.js')).command},
  config: {summary: 'Show or change saved settings (get, set, unset, list, path)', load: async () => (await import('./commands/config.js')).command},
};

/** The package version, put in by the bundler (scripts/build.mjs); undefined when running the TypeScript sources. */
declare const DUBBO_TUNNEL_VERSION: string | undefined;

function packageVersion(): string {
  if (typeof DUBBO_TUNNEL_VERSION === 'string') return DUBBO_TUNNEL_VERSION;
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as {version: string}).version;
}

function topLevelHelp(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((name) => name.length));
  return [
    'dubbo-tunnel: call Dubbo providers in Kubernetes from this machine through one local port.',
    '',
    'Usage: dubbo-tunnel <command> [options]',
    '',
    'Commands:',
    ...names.map((name) => `  ${name.padEnd(width)}  ${COMMANDS[name]?.summary ?? ''}`),
    '',
    'Run `dubbo-tunnel <command> --help` for the options of a command.',
    'Options: -h, --help  show help; -v, --version  print the version',
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
    if (topic !== undefined && COMMANDS[topic]) {
      context.stdout.write(formatHelp(await COMMANDS[topic].load()));
      return 0;
    }
    context.stdout.write(topLevelHelp());
    return first === undefined ? 2 : 0;
  }
  if (first === '-v' || first === '--version') {
    context.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const entry = COMMANDS[first];
  if (!entry) {
    context.stderr.write(`dubbo-tunnel [DT_ERR_BAD_ARGUMENT]: unknown command '${first}'. Commands: ${Object.keys(COMMANDS).join(', ')}. See dubbo-tunnel --help.\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    context.stdout.write(formatHelp(command));
    return 0;
  }
  try {
    return await command.run(rest, context);
  } catch (error) {
    return reportFatal(error, context);
  }
}
