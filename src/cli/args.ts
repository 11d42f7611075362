import {parseArgs} from 'node:util';
import type {ParseArgsConfig} from 'node:util';
import {DubboTunnelError} from '../core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs refuses `--port -1` as "ambiguous" (the value looks like an option) while it
 * takes `--port=-1`. A negative number can never be an option of ours, so it is joined to the flag
 * before parsing: both spellings then reach the same range check and the same message.
 */
function joinNegativeNumbers(args: readonly string[], options: Options): string[] {
  const takesValue = new Set<string>();
  for (const [name, option] of Object.entries(options)) {
    if (option.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (option.short !== undefined) takesValue.add(`-${option.short}`);
  }
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      joined.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (takesValue.has(arg) && next !== undefined && /^-\d/.test(next)) {
      joined.push(arg.startsWith('--') ? `${arg}=${next}` : `${arg}${next}`);
      i++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/** node:util parseArgs, with its errors turned into a usage error that points at --help. */
export function parseCommandArgs<T extends Options>(command: string, args: string[], options: T) {
  try {
    return parseArgs({args: joinNegativeNumbers(args, options), options, strict: true, allowPositionals: true});
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\. To specify a positional.*$/s, '') : String(error);
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', message, {hint: `see dubbo-tunnel ${command} --help`});
  }
}

/** The wording every port error uses (flags, --backend, settings). */
export const PORT_RANGE = 'an integer from 1 to 65535';

export function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `Invalid port '${value}' from ${flag}: expected ${PORT_RANGE}.`, {
      hint: `pass ${flag} with ${PORT_RANGE}`,
    });
  }
  return port;
}

/** A whole number of seconds where 0 means "never" (e.g. --idle-timeout). */
export function parseSeconds(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${flag} must be a whole number of seconds (0 = never), got '${value}'`);
  }
  return Number(value);
}

export function parsePositiveInt(value: string, flag: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number <= 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${flag} must be a positive whole number, got '${value}'`);
  }
  return number;
}
