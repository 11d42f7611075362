/**
 * The session's decoded calls and where they go: one CallLog per session (the calls view reads it,
 * and it feeds the recording and the `--json --payloads` lines), the recording file of `--record`
 * and the payload lines. A recording and `--payloads` hold the capture on for the whole session;
 * without them, and with the calls view closed, nothing is copied or decoded.
 */
import type {Writable} from 'node:stream';
import type {CallCapture} from '../core/calls.js';
import {errorMessage} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import {CallLog} from '../inspect/call-log.js';
import {Redaction} from '../inspect/redaction.js';
import {RecordingFile} from '../reporters/recording-file.js';
import {printCallLines, recordCalls} from '../reporters/recording.js';
import type {CallOutputOptions} from './record-options.js';

export interface CallOutputs {
  /** The session's recent calls (the calls view opens it). */
  readonly log: CallLog;
  /**
   * Decodes what was captured last, writes it, and closes the recording: after the session stopped
   * (its last answers are captured by then) and before the line reporter goes.
   */
  stop(): Promise<void>;
}

/**
 * Opens the recording before anything starts (a folder that is missing or not writable fails `up`
 * with DT_ERR_RECORD_FILE before it listens), then subscribes the writers to the session's call log.
 */
export async function startCallOutputs(options: CallOutputOptions | undefined, context: {events: TunnelEventBus; capture: CallCapture; stdout: Writable}): Promise<CallOutputs> {
  const {events, capture} = context;
  const file = options?.record === undefined ? undefined : await RecordingFile.open({
    file: options.record.file,
    maxBytes: options.record.maxBytes,
    keepFiles: options.record.keepFiles,
    onError: (error) => events.log('error', `${error.message}${error.hint === undefined ? '' : ` (fix: ${error.hint})`}`),
  });
  const log = new CallLog({bus: events, capture, redaction: new Redaction(options?.redact ?? [])});
  const stops: (() => Promise<void> | void)[] = [];
  if (file !== undefined) {
    stops.push(capture.hold(), recordCalls(log, file, events));
  }
  if (options?.payloads === true) {
    stops.push(capture.hold(), printCallLines(log, context.stdout));
  }
  let stopping: Promise<void> | undefined;
  return {
    log,
    stop: () => {
      stopping ??= (async () => {
        // Calls captured but not yet decoded are decoded (and written) before the writers go.
        log.close();
        for (const stop of stops) {
          try {
            await stop();
          } catch (error) {
            events.log('warn', `recording: ${errorMessage(error)}`);
          }
        }
      })();
      return stopping;
    },
  };
}
