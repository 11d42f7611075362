import type {Writable} from 'node:stream';
import type {DubboTunnelError} from '../core/errors.js';

/** Per output stream (one per run), the warnings already printed: settings may be resolved more than once. */
const printed = new WeakMap<Writable, Set<string>>();

/**
 * Prints what is wrong with the config file, once per run, as `dubbo-tunnel: warning:` lines with
 * the fix. The command goes on without the broken parts.
 */
export function printSettingsWarnings(warnings: readonly DubboTunnelError[], stderr: Writable): void {
  let seen = printed.get(stderr);
  if (seen === undefined) {
    seen = new Set();
    printed.set(stderr, seen);
  }
  for (const warning of warnings) {
    if (seen.has(warning.message)) continue;
    seen.add(warning.message);
    stderr.write(`dubbo-tunnel: warning: ${warning.message}\n${warning.hint === undefined ? '' : `  fix: ${warning.hint}\n`}`);
  }
}
