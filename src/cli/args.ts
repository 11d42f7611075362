import {parseArgs} from 'node:util';
import type {ParseArgsConfig} from 'node:util';
import {DubboTunnelError} from '../core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, with its errors turned into a usage error that points at --help. */
export function parseCommandArgs<T extends Options>(command: string, args: string[], options: T) {
  try {
    return parseArgs({args, options, strict: true, allowPositionals: true});
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\. To specify a positional.*$/s, '') : String(error);
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', message, {hint: `see dubbo-tunnel ${command} --help`});
  }
}

export function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 0 || port > 65535) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${flag} must be a port number from 0 to 65535, got '${value}'`);
  }
  return port;
}

export function parsePositiveInt(value: string, flag: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number <= 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${flag} must be a positive whole number, got '${value}'`);
  }
  return number;
}
