import type {Writable} from 'node:stream';

/** What every command gets: where to write, the environment, and whether a person is at a terminal. */
export interface CliContext {
  readonly stdout: Writable & {isTTY?: boolean; columns?: number};
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
  /** True when stdin and stdout are TTYs and CI is not set: only then may ink or a prompt be used. */
  readonly interactive: boolean;
}

/**
 * One option, declared once: node:util parseArgs reads type/short/multiple (and ignores the rest),
 * and `--help` is generated from the same entry.
 */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** The value's name in help: `bytes` shows `--max-payload <bytes>`; a value with its own `<…>` (`<app>=<host>:<port>`) shows as is. Default: the option's name. */
  readonly value?: string;
  readonly description: string;
}

/** A command's options by long name, in the order `--help` lists them. */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** A help line that is not an option (a subcommand, a group of options described together). */
export interface OptionHelp {
  /** e.g. `get <key>` */
  flags: string;
  description: string;
}

/** `-p, --port <port>` */
export function optionFlags(name: string, spec: OptionSpec): string {
  const shown = spec.value ?? name;
  const value = spec.type === 'string' ? ` ${shown.includes('<') ? shown : `<${shown}>`}` : '';
  return `${spec.short === undefined ? '' : `-${spec.short}, `}--${name}${value}`;
}

/** Each command's one-line summary: the first line of its --help and its line in `dubbo-tunnel --help`. */
export const SUMMARIES = {
  up: 'Open the local Dubbo port and route each request to its provider application',
  call: 'Call one provider method through the local port (a built-in Dubbo consumer)',
  replay: 'Send the calls of a recording (up --record) again and show which answers changed',
  ls: 'List the Dubbo applications discovered in the cluster (Ingresses of class dubbo, Services with a dubbo port)',
  doctor: 'Check everything `up` needs (Node, kubeconfig, credentials, API server, RBAC, backends, local port, consumer address) and say how to fix what fails',
  demo: 'Try dubbo-tunnel without a cluster: a simulated Kubernetes cluster with three Dubbo applications, then the real `up`',
  config: 'Show or change saved settings (port, attachment key, discovery source...)',
  gateway: 'Run the team gateway in a pod (laptops connect with up --via), or print its manifests',
} as const;

/** One subcommand. `run` returns the process exit code; it throws DubboTunnelError for user errors. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** What `run` parses, and what `--help` lists. */
  readonly options: OptionTable;
  /** Help lines after the options (subcommands, options shared with another command). */
  readonly notes?: readonly OptionHelp[];
  readonly examples: readonly string[];
  run(args: string[], context: CliContext): Promise<number>;
}

export function formatHelp(command: Command): string {
  const rows: OptionHelp[] = [
    ...Object.entries(command.options).map(([name, spec]) => ({flags: optionFlags(name, spec), description: spec.description})),
    ...(command.notes ?? []),
  ];
  const width = Math.max(...rows.map((row) => row.flags.length), 10);
  const lines = [
    `${command.summary}`,
    '',
    `Usage: ${command.usage}`,
  ];
  if (rows.length > 0) {
    lines.push('', 'Options:');
    for (const row of rows) lines.push(`  ${row.flags.padEnd(width)}  ${row.description}`);
  }
  if (command.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const example of command.examples) lines.push(`  ${example}`);
  }
  return `${lines.join('\n')}\n`;
}
