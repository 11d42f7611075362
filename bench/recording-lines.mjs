// The check of the inspector section (bench/inspector.mjs) that a recording kept every call: the
// lines in the recording and its rotated files, against the calls the tunnel answered and what the
// recording itself said it wrote and dropped. Apart from the bench so a test can feed it a
// recording that lost a line and see the check fail.
import {createReadStream, existsSync, statSync} from 'node:fs';

/** The recording and its rotated files that exist (`<file>`, `<file>.1`, ...), newest first. */
export function recordingFiles(file) {
  const files = [];
  if (existsSync(file)) files.push(file);
  for (let n = 1; existsSync(`${file}.${n}`); n++) files.push(`${file}.${n}`);
  return files;
}

/** Bytes on disk of the recording and its rotated files. */
export function recordingBytes(file) {
  return recordingFiles(file).reduce((sum, path) => sum + statSync(path).size, 0);
}

/** Lines (newline bytes) in the recording and its rotated files, read as a stream: a recording can be gigabytes. */
export async function countRecordedLines(file) {
  let lines = 0;
  for (const path of recordingFiles(file)) {
    for await (const chunk of createReadStream(path)) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    }
  }
  return lines;
}

/**
 * The recording's last words as `up --record` logs them when it stops:
 * `recording: <written> call(s) written to <file>[, <dropped> not written]`. Undefined when it did
 * not say them (it did not stop cleanly).
 */
export function recordingSummary(messages) {
  for (const message of [...messages].reverse()) {
    const match = /^recording: (\d+) calls? written to .*?(?:, (\d+) not written)?$/.exec(message);
    if (match) return {written: Number(match[1]), dropped: Number(match[2] ?? 0)};
  }
  return undefined;
}

/**
 * One line per call answered: the lines on disk are what the recording says it wrote, and what it
 * wrote and dropped together are every call the tunnel answered. A line missing without being
 * told, a line too many, or a recording that never said its summary fails the check.
 */
export function recordingVerdict({answered, lines, messages}) {
  const said = recordingSummary(messages);
  if (said === undefined) return {pass: false, value: `${lines} lines for ${answered} calls answered; the recording never said how many it wrote`};
  const told = said.dropped === 0 ? 'none dropped' : `${said.dropped} dropped and told`;
  const value = `${lines} lines for ${answered} calls answered (recording says ${said.written} written, ${told})`;
  return {pass: lines === said.written && said.written + said.dropped === answered && answered > 0, value};
}
