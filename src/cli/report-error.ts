import type {CliContext} from './command.js';
import {DubboTunnelError} from '../core/errors.js';

/** Exit status for an error: 2 for a usage problem (a bad or missing argument), 1 for everything else. */
export function exitCodeFor(error: unknown): number {
  return error instanceof DubboTunnelError && (error.code === 'DT_ERR_BAD_ARGUMENT' || error.code === 'DT_ERR_NEEDS_CHOICE') ? 2 : 1;
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
