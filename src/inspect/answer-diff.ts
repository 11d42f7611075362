/**
 * How a replayed call's answer differs from the recorded one, path by path
 * (`$.items[2].price: 10.5 → 11`), for `dubbo-tunnel replay`. Both answers are in the recording's
 * value form (call-record.ts), so a POJO is an object with `"$class"` and a difference in a class
 * name shows as `$.$class`. The answers' own attachments are left out: providers put trace ids and
 * times there, which differ on every call.
 */
import type {CallAnswer} from './call-record.js';

/** One difference: where, and the recorded and replayed values as short JSON (`(none)` when absent). */
export interface AnswerDifference {
  readonly path: string;
  readonly recorded: string;
  readonly replayed: string;
}

/** Values longer than this are cut in a difference line (the path already says where). */
const SHOWN_CHARS = 80;
/** A diff of two very different answers stops here; the count says how many more there were. */
export const MAX_DIFFERENCES = 50;

/** The differences between two answers; empty when they are the same. */
export function diffAnswers(recorded: CallAnswer | undefined, replayed: CallAnswer | undefined): AnswerDifference[] {
  const found: AnswerDifference[] = [];
  if (recorded === undefined || replayed === undefined) {
    if (recorded !== replayed) found.push({path: 'answer', recorded: describeAnswer(recorded), replayed: describeAnswer(replayed)});
    return found;
  }
  if (recorded.kind !== replayed.kind) {
    found.push({path: 'answer', recorded: describeAnswer(recorded), replayed: describeAnswer(replayed)});
    return found;
  }
  switch (recorded.kind) {
    case 'value':
      diffValues(recorded.value, (replayed as typeof recorded).value, '$', found);
      break;
    case 'exception': {
      const other = replayed as typeof recorded;
      if (recorded.className !== other.className) found.push({path: 'exception class', recorded: recorded.className, replayed: other.className});
      if (recorded.message !== other.message) found.push({path: 'exception message', recorded: show(recorded.message), replayed: show(other.message)});
      break;
    }
    case 'error': {
      const other = replayed as typeof recorded;
      if (recorded.code !== other.code || recorded.message !== other.message) found.push({path: 'error', recorded: describeAnswer(recorded), replayed: describeAnswer(other)});
      break;
    }
    case 'undecoded': {
      const other = replayed as typeof recorded;
      if (recorded.hexHead !== other.hexHead) found.push({path: 'bytes', recorded: recorded.hexHead, replayed: other.hexHead});
      break;
    }
  }
  return found;
}

/** `$.items[2].price: 10.5 → 11`, one line per difference. */
export function formatDifference(difference: AnswerDifference): string {
  return `${difference.path}: ${difference.recorded} → ${difference.replayed}`;
}

/** An answer in one short phrase: `value {"id":1}`, `exception java.lang.IllegalStateException: gone`. */
export function describeAnswer(answer: CallAnswer | undefined): string {
  if (answer === undefined) return '(no answer)';
  switch (answer.kind) {
    case 'value':
      return `value ${show(answer.value)}`;
    case 'exception':
      return `exception ${answer.className}${answer.message === '' ? '' : `: ${answer.message}`}`;
    case 'error':
      return `error ${answer.code === undefined ? '' : `[${answer.code}] `}${answer.message}`;
    case 'undecoded':
      return `undecoded (${answer.reason})`;
  }
}

const ABSENT = Symbol('absent');

function diffValues(recorded: unknown, replayed: unknown, path: string, found: AnswerDifference[]): void {
  if (found.length > MAX_DIFFERENCES) return;
  if (Object.is(recorded, replayed)) return;
  if (Array.isArray(recorded) && Array.isArray(replayed)) {
    const length = Math.max(recorded.length, replayed.length);
    for (let i = 0; i < length; i++) {
      diffValues(i < recorded.length ? recorded[i] : ABSENT, i < replayed.length ? replayed[i] : ABSENT, `${path}[${i}]`, found);
    }
    return;
  }
  if (isRecord(recorded) && isRecord(replayed)) {
    const keys = [...Object.keys(recorded), ...Object.keys(replayed).filter((key) => !Object.hasOwn(recorded, key))];
    for (const key of keys) {
      diffValues(Object.hasOwn(recorded, key) ? recorded[key] : ABSENT, Object.hasOwn(replayed, key) ? replayed[key] : ABSENT, `${path}${member(key)}`, found);
    }
    return;
  }
  if (found.length === MAX_DIFFERENCES) {
    found.push({path: '…', recorded: 'more differences', replayed: 'not shown'});
    return;
  }
  found.push({path, recorded: show(recorded), replayed: show(replayed)});
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `.price`, or `["unit price"]` for a key that is not an identifier. */
function member(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function show(value: unknown): string {
  if (value === ABSENT) return '(none)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS - 1)}…` : text;
}
