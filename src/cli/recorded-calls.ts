/**
 * Reading a recording back: the lines of `up --record <file>` (or the `call` lines of
 * `up --json --payloads`) as CallRecords with their line numbers, for `replay` and
 * `call --from <file>:<line>`. A line that is not a recorded call fails with its file and line
 * number; a `--json` line of another event (a log line next to the calls) is passed over.
 */
import {readFile} from 'node:fs/promises';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import type {CallRecord} from '../inspect/call-record.js';
import {parseRecordLine} from '../inspect/record-line.js';

export interface RecordedCall {
  /** 1-based, as an editor shows it and `call --from <file>:<line>` names it. */
  readonly line: number;
  readonly record: CallRecord;
}

/** Every recorded call of `file`, in order. */
export async function readRecording(file: string): Promise<RecordedCall[]> {
  const text = await readText(file);
  const calls: RecordedCall[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const record = recordOf(lines[i] ?? '', file, i + 1);
    if (record !== undefined) calls.push({line: i + 1, record});
  }
  return calls;
}

/** The call recorded on line `line` of `file` (1-based). */
export async function readRecordedLine(file: string, line: number): Promise<RecordedCall> {
  const lines = (await readText(file)).split('\n');
  const text = lines[line - 1];
  if (text === undefined || (line === lines.length && text === '')) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${file} has no line ${line} (it has ${lines.at(-1) === '' ? lines.length - 1 : lines.length})`, {
      hint: 'line numbers start at 1, as an editor shows them',
    });
  }
  const record = recordOf(text, file, line);
  if (record === undefined) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${file}:${line} is not a recorded call`, {hint: 'name a line of event "call", or a line of a --record file'});
  }
  return {line, record};
}

/**
 * `--filter`: a call matches when the text is its `#seq`, or is part of its application, interface
 * or method (`user-rpc`, `UserService`, `getUser`, `UserService#getUser`).
 */
export function matchesFilter(record: CallRecord, filter: string): boolean {
  if (/^#\d+$/.test(filter)) return record.seq === Number(filter.slice(1));
  const names = [record.application, record.service, record.method, record.service !== undefined && record.method !== undefined ? `${record.service}#${record.method}` : undefined];
  return names.some((name) => name?.includes(filter) === true);
}

/** `calls.jsonl:12` into the file and the 1-based line. */
export function parseFileLine(spec: string, flag: string): {file: string; line: number} {
  const colon = spec.lastIndexOf(':');
  const line = colon < 0 ? Number.NaN : Number(spec.slice(colon + 1));
  if (colon <= 0 || !/^\d+$/.test(spec.slice(colon + 1)) || line < 1) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${flag} '${spec}' is not <file>:<line>`, {hint: `for example ${flag} calls.jsonl:12 (line numbers start at 1)`});
  }
  return {file: spec.slice(0, colon), line};
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : errorMessage(error)}`, {
      hint: 'give a file written by dubbo-tunnel up --record <file>',
    });
  }
}

/** The record on one line; undefined for an empty line or a `--json` line of another event. */
function recordOf(text: string, file: string, line: number): CallRecord | undefined {
  if (text.trim() === '') return undefined;
  let event: unknown;
  try {
    event = (JSON.parse(text) as {event?: unknown} | null)?.event;
  } catch {
    // Not JSON at all: parseRecordLine below says so in its own words.
  }
  if (event !== undefined && event !== 'call') return undefined;
  return parseRecordLine(text, `${file}:${line}`);
}
