/**
 * The recording format: one CallRecord per line, as one JSON object with the format version
 * `"v": 1` first (`up --record`, `--json --payloads`; read back by `replay` and `call --from`).
 * Fields that are undefined are left out of the line and come back as undefined.
 */
import {DubboTunnelError, ERROR_CODES} from '../core/errors.js';
import type {ErrorCode} from '../core/errors.js';
import type {CallAnswer, CallRecord, TripleDetails, UndecodedPart} from './call-record.js';

export const RECORD_FORMAT_VERSION = 1;

/** One line (no newline at the end). A bigint, should one reach a record, is written as its decimal text. */
export function toRecordLine(record: CallRecord): string {
  return JSON.stringify({v: RECORD_FORMAT_VERSION, ...record}, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

/**
 * Reads one line back. `where` names it in errors (`calls.jsonl:12`). Throws DubboTunnelError
 * DT_ERR_RECORD_LINE (not a record) or DT_ERR_RECORD_VERSION (another format version).
 */
export function parseRecordLine(text: string, where: string): CallRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw bad(where, `not JSON (${(error as Error).message})`);
  }
  const line = new Fields(asObject(parsed, where, 'the line'), where, '');
  const version = line.raw('v');
  if (version !== RECORD_FORMAT_VERSION) {
    if (typeof version === 'number') {
      throw new DubboTunnelError('DT_ERR_RECORD_VERSION', `${where}: the record is format v${version}; this dubbo-tunnel reads v${RECORD_FORMAT_VERSION}`);
    }
    throw bad(where, `"v" must be the format version ${RECORD_FORMAT_VERSION}, got ${show(version)}`);
  }
  const protocol = line.oneOf('protocol', ['dubbo', 'triple'] as const);
  const group = line.optionalString('group');
  const version_ = line.optionalString('version');
  const triple = line.raw('triple');
  const truncated = line.raw('truncated');
  if (truncated !== undefined && typeof truncated !== 'boolean') throw bad(where, `"truncated" must be true or false, got ${show(truncated)}`);
  const undecoded = line.raw('undecodedRequest');
  const argumentsValue = line.raw('arguments');
  if (argumentsValue !== undefined && !Array.isArray(argumentsValue)) throw bad(where, `"arguments" must be an array, got ${show(argumentsValue)}`);
  const answer = line.raw('answer');
  return {
    seq: line.integer('seq'),
    at: line.string('at'),
    protocol,
    origin: line.oneOf('origin', ['consumer', 'http'] as const),
    connectionId: line.integer('connectionId'),
    application: line.optionalString('application'),
    service: line.optionalString('service'),
    ...(group !== undefined ? {group} : {}),
    ...(version_ !== undefined ? {version: version_} : {}),
    method: line.optionalString('method'),
    parameterTypes: line.stringArray('parameterTypes'),
    arguments: argumentsValue as unknown[] | undefined,
    attachments: line.object('attachments'),
    status: line.optionalString('status'),
    ok: line.boolean('ok'),
    latencyMs: line.number('latencyMs'),
    requestBytes: line.number('requestBytes'),
    answerBytes: line.number('answerBytes'),
    answer: answer === undefined ? undefined : parseAnswer(answer, where),
    ...(triple !== undefined ? {triple: parseTriple(triple, where)} : {}),
    ...(truncated === true ? {truncated: true} : {}),
    ...(undecoded !== undefined ? {undecodedRequest: parseUndecoded(undecoded, where, 'undecodedRequest.')} : {}),
  };
}

function parseAnswer(value: unknown, where: string): CallAnswer {
  const answer = new Fields(asObject(value, where, '"answer"'), where, 'answer.');
  const attachments = answer.raw('attachments') === undefined ? {} : {attachments: answer.object('attachments')};
  const kind = answer.oneOf('kind', ['value', 'exception', 'error', 'undecoded'] as const);
  switch (kind) {
    case 'value':
      return {kind, value: answer.raw('value') ?? null, ...attachments};
    case 'exception':
      return {kind, className: answer.string('className'), message: answer.string('message'), ...attachments};
    case 'error': {
      const code = answer.optionalString('code');
      if (code !== undefined && !(code in ERROR_CODES)) throw bad(where, `"answer.code" ${show(code)} is not an error code of this dubbo-tunnel`);
      return {kind, message: answer.string('message'), ...(code !== undefined ? {code: code as ErrorCode} : {})};
    }
    case 'undecoded':
      return {kind, ...parseUndecoded(value, where, 'answer.')};
  }
}

function parseUndecoded(value: unknown, where: string, prefix: string): UndecodedPart {
  const part = new Fields(asObject(value, where, `"${prefix.slice(0, -1)}"`), where, prefix);
  return {reason: part.string('reason'), hexHead: part.string('hexHead')};
}

function parseTriple(value: unknown, where: string): TripleDetails {
  const triple = new Fields(asObject(value, where, '"triple"'), where, 'triple.');
  const grpcStatus = triple.raw('grpcStatus');
  if (grpcStatus !== undefined && !Number.isInteger(grpcStatus)) throw bad(where, `"triple.grpcStatus" must be a whole number, got ${show(grpcStatus)}`);
  return {
    path: triple.string('path'),
    requestHeaders: triple.stringRecord('requestHeaders'),
    responseHeaders: triple.raw('responseHeaders') === undefined ? undefined : triple.stringRecord('responseHeaders'),
    trailers: triple.raw('trailers') === undefined ? undefined : triple.stringRecord('trailers'),
    grpcStatus: grpcStatus as number | undefined,
    grpcMessage: triple.optionalString('grpcMessage'),
  };
}

/** Typed reads of one JSON object's fields; errors name the line and the field (`answer.kind`). */
class Fields {
  constructor(readonly fields: Record<string, unknown>, readonly where: string, readonly prefix: string) {}

  raw(name: string): unknown {
    return this.fields[name];
  }

  #wrong(name: string, expected: string): DubboTunnelError {
    const value = this.fields[name];
    return bad(this.where, value === undefined ? `"${this.prefix}${name}" is missing (${expected})` : `"${this.prefix}${name}" must be ${expected}, got ${show(value)}`);
  }

  string(name: string): string {
    const value = this.fields[name];
    if (typeof value !== 'string') throw this.#wrong(name, 'a string');
    return value;
  }

  optionalString(name: string): string | undefined {
    const value = this.fields[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw this.#wrong(name, 'a string');
    return value;
  }

  number(name: string): number {
    const value = this.fields[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw this.#wrong(name, 'a number');
    return value;
  }

  integer(name: string): number {
    const value = this.fields[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw this.#wrong(name, 'a whole number');
    return value;
  }

  boolean(name: string): boolean {
    const value = this.fields[name];
    if (typeof value !== 'boolean') throw this.#wrong(name, 'true or false');
    return value;
  }

  oneOf<T extends string>(name: string, choices: readonly T[]): T {
    const value = this.fields[name];
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) throw this.#wrong(name, `one of ${choices.join(', ')}`);
    return value as T;
  }

  object(name: string): Record<string, unknown> {
    const value = this.fields[name];
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw this.#wrong(name, 'an object');
    return value as Record<string, unknown>;
  }

  stringArray(name: string): string[] {
    const value = this.fields[name];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw this.#wrong(name, 'an array of strings');
    return value;
  }

  stringRecord(name: string): Record<string, string> {
    const value = this.object(name);
    if (!Object.values(value).every((item) => typeof item === 'string')) throw this.#wrong(name, 'an object of strings');
    return value as Record<string, string>;
  }
}

function asObject(value: unknown, where: string, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(where, `${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function bad(where: string, problem: string): DubboTunnelError {
  return new DubboTunnelError('DT_ERR_RECORD_LINE', `${where}: not a call record: ${problem}`, {
    hint: 'a recording has one JSON object per line, as written by dubbo-tunnel up --record',
  });
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
