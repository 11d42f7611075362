import type {Writable} from 'node:stream';

/** What every command gets: where to write, the environment, and whether a person is at a terminal. */
export interface CliContext {
  readonly stdout: Writable & {isTTY?: boolean; columns?: number};
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
  /** True when stdin and stdout are TTYs and CI is not set: only then may ink or a prompt be used. */
  readonly interactive: boolean;
}

export interface OptionHelp {
  /** e.g. `-p, --port <port>` */
  flags: string;
  description: string;
}

/** One subcommand. `run` returns the process exit code; it throws DubboTunnelError for user errors. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: readonly OptionHelp[];
  readonly examples: readonly string[];
  run(args: string[], context: CliContext): Promise<number>;
}

export function formatHelp(command: Command): string {
  const width = Math.max(...command.options.map((option) => option.flags.length), 10);
  const lines = [
    `${command.summary}`,
    '',
    `Usage: ${command.usage}`,
  ];
  if (command.options.length > 0) {
    lines.push('', 'Options:');
    for (const option of command.options) lines.push(`  ${option.flags.padEnd(width)}  ${option.description}`);
  }
  if (command.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const example of command.examples) lines.push(`  ${example}`);
  }
  return `${lines.join('\n')}\n`;
}
