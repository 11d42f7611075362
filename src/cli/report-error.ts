import type {CliContext} from './command.js';
import {DubboTunnelError, isUsageError} from '../core/errors.js';

/** Every usage error, whoever finds it (parseArgs, a flag check, the settings resolver), exits with this. */
export const USAGE_EXIT_CODE = 2;

/** The exit codes of every command (shown in --help and docs/troubleshooting.md). */
export const EXIT_CODES = {
  0: 'success (and a stop that answered the requests in flight)',
  1: 'failed: the cluster, the network, the local port or a provider (the message says which)',
  [USAGE_EXIT_CODE]: 'usage error: an unknown or invalid command, flag or argument, or a setting given as a flag or DUBBO_TUNNEL_* variable (a broken config file is only a warning); nothing was started',
  3: '`call` only: no answer (nothing listening, the connection closed, or the timeout passed)',
} as const;

/** Exit status for an error: 2 for a usage problem (isUsageError), 1 for everything else. */
export function exitCodeFor(error: unknown): number {
  return isUsageError(error) ? USAGE_EXIT_CODE : 1;
}

/** Writes an error the way every command reports one (`dubbo-tunnel [CODE]: message`, then the fix), and returns the exit status. */
export function reportFatal(error: unknown, context: CliContext): number {
  if (error instanceof DubboTunnelError) {
    context.stderr.write(`dubbo-tunnel [${error.code}]: ${error.message}\n`);
    if (error.hint) context.stderr.write(`  fix: ${error.hint}\n`);
    return exitCodeFor(error);
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  context.stderr.write(`dubbo-tunnel [DT_ERR_INTERNAL]: unexpected error (please report it): ${text}\n`);
  return 1;
}
