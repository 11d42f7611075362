/**
 * Where decoded calls are written as lines: the recording file of `up --record` and the `call`
 * lines of `up --json --payloads`. Both take every record the session's call log decodes, in order,
 * and write it in the one record line format (`inspect/record-line.ts`), so a `--json` line of
 * event `call` holds the same fields as a line of the recording.
 */
import type {Writable} from 'node:stream';
import type {TunnelEventBus} from '../core/events.js';
import type {CallRecord} from '../inspect/call-record.js';
import {toRecordLine} from '../inspect/record-line.js';
import type {RecordingFile} from './recording-file.js';

/** Every decoded call, in order (the session's CallLog); returns the unsubscribe. */
export interface CallRecords {
  onRecord(listener: (record: CallRecord) => void): () => void;
}

/** How often dropped lines are told: a slow disk drops many, and one line per drop would flood the log. */
const DROP_REPORT_MS = 5000;

/**
 * Appends every call to the recording until the returned stop is called; the stop writes what is
 * still buffered and closes the file (a session's stop waits for it). Lines a slow disk could not
 * take are said at most every 5 s, and once more in the last line.
 */
export function recordCalls(records: CallRecords, file: RecordingFile, events: TunnelEventBus): () => Promise<void> {
  events.log('info', `recording every call to ${file.file}`);
  const unsubscribe = records.onRecord((record) => file.write(toRecordLine(record)));
  let told = 0;
  const tellDropped = () => {
    const dropped = file.dropped - told;
    if (dropped === 0) return;
    told = file.dropped;
    events.log('warn', `recording: ${dropped} ${dropped === 1 ? 'call was' : 'calls were'} not written to ${file.file}: the disk did not keep up (calls are still routed)`);
  };
  const timer = setInterval(tellDropped, DROP_REPORT_MS);
  timer.unref();
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      unsubscribe();
      clearInterval(timer);
      await file.close();
      tellDropped();
      const dropped = file.dropped === 0 ? '' : `, ${file.dropped} not written`;
      events.log('info', `recording: ${file.written} ${file.written === 1 ? 'call' : 'calls'} written to ${file.file}${dropped}`);
    })();
    return stopping;
  };
}

/**
 * `--json --payloads`: each call as one JSON line among the others, `{"time", "level": "info",
 * "event": "call", "message", ...the fields of a recording line}`.
 */
export function printCallLines(records: CallRecords, out: Writable, now: () => Date = () => new Date()): () => void {
  return records.onRecord((record) => {
    const line = toRecordLine(record);
    const head = JSON.stringify({time: now().toISOString(), level: 'info', event: 'call', message: callSummary(record)});
    // The record's own object continues the line: its fields are written once, as the recording has them.
    out.write(line === '{}' ? `${head}\n` : `${head.slice(0, -1)},${line.slice(1)}\n`);
  });
}

/** `user-rpc com.example.UserService#getUser OK 3.1ms`, like a request line of the log. */
function callSummary(record: CallRecord): string {
  return `${record.application ?? '-'} ${record.service ?? '?'}#${record.method ?? '?'} ${record.status ?? '-'} ${record.latencyMs.toFixed(1)}ms`;
}
