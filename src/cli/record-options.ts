/**
 * The flags of `up` that write decoded calls somewhere: `--record <file>` (with its rotation) and
 * `--json --payloads`, plus `--redact`, the names whose values neither of them writes. Parsed here
 * so `up` and `demo` share one declaration and one set of usage errors.
 */
import {DubboTunnelError} from '../core/errors.js';
import {DEFAULT_RECORD_FILES, DEFAULT_RECORD_MAX_BYTES} from '../reporters/recording-file.js';
import type {OptionTable} from './command.js';

export const RECORD_OPTIONS = {
  'record': {type: 'string', value: 'file', description: 'append every call, decoded (arguments, attachments, answer or exception, latency), to <file> as one JSON line each; replay it with dubbo-tunnel replay <file>. Credential-like attachment values are written as "<redacted>"'},
  'record-max-size': {type: 'string', value: 'size', description: 'rotate the recording before it passes this size: <file> becomes <file>.1, <file>.1 becomes <file>.2 ... (bytes, or with k, M, G; default 64M)'},
  'record-files': {type: 'string', value: 'n', description: 'rotated recordings kept next to <file> (<file>.1 ... <file>.<n>; default 3, 0 = none)'},
  'payloads': {type: 'boolean', description: 'with --json: also print each call decoded, as a JSON line with event "call" (the fields of a --record line)'},
  'redact': {type: 'string', multiple: true, value: 'name,...', description: 'also write "<redacted>" for the values of these attachment and header names (repeatable or comma-separated; authorization, token, password, secret and cookie names always are)'},
} as const satisfies OptionTable;

export interface RecordingPlan {
  readonly file: string;
  readonly maxBytes: number;
  readonly keepFiles: number;
}

/** What a session writes of each decoded call. */
export interface CallOutputOptions {
  /** `--record <file>`, undefined when not recording. */
  readonly record: RecordingPlan | undefined;
  /** `--json --payloads`: each call as a JSON line on stdout. */
  readonly payloads: boolean;
  /** `--redact`: names added to the credential-like ones (lower case, as attachment names compare). */
  readonly redact: readonly string[];
}

type RecordValues = {
  readonly record?: string | undefined;
  readonly 'record-max-size'?: string | undefined;
  readonly 'record-files'?: string | undefined;
  readonly payloads?: boolean | undefined;
  readonly redact?: string[] | undefined;
  readonly json?: boolean | undefined;
};

export function callOutputOptionsFrom(values: RecordValues): CallOutputOptions {
  if (values.record === undefined) {
    for (const flag of ['record-max-size', 'record-files'] as const) {
      if (values[flag] !== undefined) {
        throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--${flag} applies only to a recording`, {hint: `add --record <file>, or leave --${flag} out`});
      }
    }
  } else if (values.record.trim() === '') {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--record needs a file name', {hint: 'for example --record calls.jsonl'});
  }
  if (values.payloads === true && values.json !== true) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--payloads adds the decoded calls to the --json lines', {
      hint: 'add --json (or write the calls to a file with --record <file>)',
    });
  }
  const redact = (values.redact ?? []).flatMap((list) => list.split(',')).map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  if (values.redact !== undefined && redact.length === 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--redact needs attachment or header names', {hint: 'for example --redact x-api-key,x-user-phone'});
  }
  return {
    record: values.record === undefined ? undefined : {
      file: values.record,
      maxBytes: values['record-max-size'] === undefined ? DEFAULT_RECORD_MAX_BYTES : parseSize(values['record-max-size'], '--record-max-size'),
      keepFiles: values['record-files'] === undefined ? DEFAULT_RECORD_FILES : parseCount(values['record-files'], '--record-files'),
    },
    payloads: values.payloads === true,
    redact: [...new Set(redact)],
  };
}

const UNITS: Readonly<Record<string, number>> = {'': 1, 'k': 1024, 'm': 1024 ** 2, 'g': 1024 ** 3};

/** `1048576`, `512k`, `64M`, `1GiB`: binary units, as `--record-max-size` says. */
export function parseSize(value: string, flag: string): number {
  const match = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(value.trim());
  const unit = UNITS[match?.[2]?.toLowerCase() ?? ''];
  const bytes = match?.[1] === undefined || unit === undefined ? Number.NaN : Number(match[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${flag} must be a size such as 1048576, 512k or 64M, got '${value}'`, {hint: `for example ${flag} 16M`});
  }
  return bytes;
}

function parseCount(value: string, flag: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) > 1000) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${flag} must be a whole number from 0 to 1000, got '${value}'`);
  }
  return Number(value);
}
