import type {Writable} from 'node:stream';
import {isFailingState} from '../core/backend.js';
import type {LogLevel, TunnelEventBus, TunnelEvents} from '../core/events.js';
import {awaitedText, drainedText, drainingText, logLevelRank} from '../core/events.js';
import {RepeatFolder, foldedSuffix} from '../core/fold.js';

export interface LineReporterOptions {
  out: Writable;
  level: LogLevel;
  json: boolean;
  /** Injected in tests. */
  now?: () => Date;
  /** How long identical request failures are counted instead of printed (default 5 s). */
  foldWindowMs?: number;
}

const DEBUG_RANK = logLevelRank('debug');

/** `foldKey`: lines with the same key within a few seconds are folded into one summary (floods). */
type Line = {level: LogLevel; text: string; fields: object; foldKey?: string};

/**
 * Plain output for scripts, CI and `--no-ui`: one line per event, or one JSON object per line with
 * `--json`. Successful requests are debug-level: at thousands of requests a second a line each
 * would drown the terminal; failures answered by dubbo-tunnel itself are warnings.
 */
export function attachLineReporter(events: TunnelEventBus, options: LineReporterOptions): () => void {
  const threshold = logLevelRank(options.level);
  const now = options.now ?? (() => new Date());
  // Log events are folded by the bus already; these are the per-request and per-connection lines
  // (the same error answered to thousands of requests when every pod of an application went away).
  const folder = new RepeatFolder<{event: keyof TunnelEvents; line: Line}>(({event, line}, count, windowMs) => {
    print(event, {...line, text: `${line.text}${foldedSuffix(count, windowMs)}`, fields: {...line.fields, repeated: count, windowMs}});
  }, options.foldWindowMs);
  const write = (event: keyof TunnelEvents, line: Line | undefined) => {
    if (!line || logLevelRank(line.level) < threshold) return;
    if (line.foldKey !== undefined && !folder.admit(`${event}\u0000${line.foldKey}`, {event, line})) return;
    print(event, line);
  };
  const print = (event: keyof TunnelEvents, line: Line) => {
    if (options.json) {
      options.out.write(`${JSON.stringify({time: now().toISOString(), level: line.level, event, message: line.text, ...line.fields}, jsonReplacer)}\n`);
    } else {
      const prefix = line.level === 'warn' ? 'warning: ' : line.level === 'error' ? 'error: ' : '';
      options.out.write(`${now().toISOString().slice(11, 23)} ${prefix}${line.text}\n`);
    }
  };
  let drainingSaid = false;
  const handlers: {[K in keyof TunnelEvents]: (...args: TunnelEvents[K]) => Line | undefined} = {
    'listening': (e) => ({
      level: 'info',
      text: `listening on ${e.addresses.join(', ')}; point consumers at ${e.scheme ?? 'dubbo'}://${e.addresses[0] ?? `localhost:${e.port}`}${e.allowRemote ? ' (remote peers allowed)' : ' (only this machine may connect)'}`,
      fields: e,
    }),
    'connection-opened': (e) => ({level: 'debug', text: `consumer #${e.connectionId} connected from ${e.peer}`, fields: e}),
    'connection-closed': (e) => e.reason === undefined
      ? {level: 'debug', text: `consumer #${e.connectionId} (${e.peer}) disconnected`, fields: e}
      : {level: 'warn', text: `closed consumer #${e.connectionId} (${e.peer}): ${e.code === undefined ? '' : `[${e.code}] `}${e.reason}`, fields: e},
    'connection-refused': (e) => ({level: 'warn', text: `refused ${e.peer}: ${e.reason}`, fields: e}),
    'request-completed': (e) => {
      // Thousands a second: a successful request's line is not even built unless debug lines are shown.
      if (!e.error && threshold > DEBUG_RANK) return undefined;
      const status = e.protocol === 'triple' ? (e.statusName ?? 'grpc -') : e.status === undefined ? 'one-way' : String(e.status);
      const text = `${e.application ?? '-'} ${e.target ?? '?'} ${status} ${e.latencyMs.toFixed(1)}ms${e.error ? `: ${e.error}` : ''}`;
      return {level: e.error ? 'warn' : 'debug', text, fields: e, ...(e.error ? {foldKey: `${e.application ?? '-'} ${e.target ?? '?'} ${status} ${e.error}`} : {})};
    },
    // The payloads of calls are written by the recorder (`--json --payloads`), never as log lines.
    'call-captured': () => undefined,
    'upstream-opened': (e) => ({level: 'info', text: e.shared === true
      ? `${e.application}: shared stream to ${e.remote} opened (for every consumer; first by consumer #${e.connectionId})`
      : `${e.application}: connected to ${e.remote} for consumer #${e.connectionId}${e.shared === false ? ' alone (it passed a callback)' : ''}`, fields: e}),
    'upstream-streams': (e) => ({level: 'debug', text: `${e.application}: ${e.streams} stream${e.streams === 1 ? '' : 's'}, ${e.inFlight} request${e.inFlight === 1 ? '' : 's'} in flight`, fields: e}),
    'upstream-closed': (e) => {
      const text = `${e.application}: connection to ${e.remote} closed${e.reason ? ` (${e.reason})` : ''}`;
      return {level: 'info', text, fields: e, foldKey: text};
    },
    'backend-state-changed': (e) => ({
      level: isFailingState(e.state) ? 'warn' : 'info',
      text: `${e.application}: ${e.state}${e.pod ? ` (pod ${e.pod})` : ''}${e.detail ? `: ${e.detail}` : ''}`,
      fields: e,
    }),
    'routes-changed': (e) => {
      const names = e.applications.map((name) => (e.origins?.[name] === undefined ? name : `${name} (${e.origins[name]})`));
      return {level: 'info', text: `routing ${names.length === 0 ? 'no applications' : names.join(', ')}`, fields: e};
    },
    'backends-awaited': (e) => ({level: 'info', text: awaitedText(e), fields: e}),
    // The first line of a stop's wait says what it waits for and how to cut it short; the count going down is debug.
    'draining': (e) => {
      const first = !drainingSaid;
      drainingSaid = true;
      return {level: first ? 'info' : 'debug', text: `stopping: ${drainingText(e)}${first ? ': consumers told to send no more (READONLY, GOAWAY), waiting for the answers in flight (--drain-timeout); Ctrl-C again stops at once' : ''}`, fields: e};
    },
    'drained': (e) => ({level: e.cause === 'answered' ? 'info' : 'warn', text: `stopping: ${drainedText(e)}${e.cause === 'timeout' ? ' (--drain-timeout)' : ''}`, fields: e}),
    // The learner writes the readable info/warning lines itself (once per application); this one is for --json.
    'services-learned': (e) => ({level: 'debug', text: `${e.application}: services ${e.state}${e.keys.length > 0 ? `: ${e.keys.join(', ')}` : ''}`, fields: e}),
    'log': (e) => ({level: e.level, text: e.message, fields: {}}),
  };
  const detachers: (() => void)[] = [];
  for (const name of Object.keys(handlers) as (keyof TunnelEvents)[]) {
    const listener = (...args: unknown[]) => write(name, (handlers[name] as (...a: unknown[]) => Line | undefined)(...args));
    events.on(name, listener);
    detachers.push(() => events.off(name, listener));
  }
  return () => {
    // Failures still being counted are said before the reporter goes (the session is stopping).
    folder.flush();
    for (const detach of detachers) detach();
  };
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
