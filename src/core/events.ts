import {EventEmitter} from 'node:events';
import type {BackendState} from './backend.js';
import type {CapturedCall} from './calls.js';
import type {RequestCompleted} from './request-completed.js';
import type {ErrorCode} from './errors.js';
import {RepeatFolder, foldedSuffix} from './fold.js';

/**
 * Everything the core tells the outside world, in one typed map. The line logger, the JSON
 * logger and the terminal UI all subscribe here; nothing in the core prints.
 * Event names are kebab-case past tense.
 */
export type {RequestCompleted} from './request-completed.js';

export interface TunnelEvents {
  /**
   * The local Dubbo port is open. `addresses` are `host:port` strings a consumer can use; `scheme`
   * is what to put before them: `tri` when every routed application has only a Triple port, else
   * (or when absent) `dubbo`. The port serves both either way.
   */
  'listening': [{addresses: string[]; port: number; allowRemote: boolean; scheme?: 'dubbo' | 'tri'}];
  /** A consumer connected (and passed the local-peer check). */
  'connection-opened': [{connectionId: number; peer: string}];
  /** A consumer connection ended. `reason` is set when we closed it because of bad input. */
  'connection-closed': [{connectionId: number; peer: string; reason?: string; code?: ErrorCode}];
  /** A peer that is not this machine tried to connect and was refused. */
  'connection-refused': [{peer: string; reason: string}];
  /** A request finished: answered by a provider, or answered by dubbo-tunnel with an error. */
  'request-completed': [RequestCompleted];
  /**
   * A call finished while calls were captured (`CallCapture.on`): the bytes of its request and
   * answer, emitted right after its `request-completed`. Never emitted while capture is off.
   */
  'call-captured': [CapturedCall];
  /**
   * An upstream stream to a backend opened or closed. A Dubbo stream is `shared` by every consumer
   * connection (`connectionId`: the one whose request opened it; 0 on close), unless a consumer
   * with callbacks has it to itself; a Triple session is always shared.
   */
  'upstream-opened': [{application: string; remote: string; connectionId: number; shared?: boolean}];
  'upstream-closed': [{application: string; remote: string; connectionId: number; reason?: string; shared?: boolean}];
  /**
   * The Dubbo streams of an application (shared and exclusive, draining ones included) and the
   * requests in flight on them: when a stream opens or closes, and at most once a second while the
   * numbers change.
   */
  'upstream-streams': [{application: string; streams: number; inFlight: number}];
  /**
   * A stop waits for the answers of `inFlight` calls (Dubbo requests and HTTP/2 streams), at most
   * `timeoutMs` (--drain-timeout): when the wait starts, and again while the number goes down. Not
   * emitted when nothing is in flight.
   */
  'draining': [{inFlight: number; timeoutMs: number}];
  /**
   * The wait of a stop is over: every answer came (`answered`), or `givenUp` calls were answered
   * with DT_ERR_STOPPED_BEFORE_ANSWER because the bound passed (`timeout`) or a second stop asked
   * not to wait (`at-once`). Follows a 'draining'.
   */
  'drained': [{cause: 'answered' | 'timeout' | 'at-once'; givenUp: number; timeoutMs: number}];
  /** A backend's own state changed (Kubernetes backends: pod changes, no ready pods, errors). */
  'backend-state-changed': [{application: string; state: BackendState; detail?: string; pod?: string}];
  /**
   * The set of routable applications changed (live discovery, a new choice). `origins` says where
   * each one comes from (`local`, a namespace or context) when the session has several places.
   */
  'routes-changed': [{applications: string[]; origins?: Record<string, string>}];
  /**
   * The session listens but routes nothing yet: the chosen applications (`all` = any) are not offered
   * in these places (`namespace quiet of context kind-dev`). Routing starts when one appears.
   */
  'backends-awaited': [{applications: 'all' | string[]; places: string[]}];
  /** What an application exports, as learned from its providers (src/learning/), or why it is unknown. */
  'services-learned': [LearnedServices];
  /** Free-form diagnostics with a level; loggers filter by --log-level. */
  'log': [{level: LogLevel; message: string}];
}

export interface LearnedServices {
  application: string;
  /** learning: asking its providers now; learned: `keys` is what it exports; unknown: no way answered (`reason`). */
  state: 'learning' | 'learned' | 'unknown';
  /** Service keys `[group/]interface[:version]`, sorted (declared ones included). */
  keys: readonly string[];
  /** How they were learned: metadata-service, qos, telnet, not-found-list, annotation. */
  via?: string;
  /** Why nothing was learned (one line per way tried). */
  reason?: string;
}

/** `waiting for Dubbo backends in namespace quiet of context kind-dev`: the line and the dashboard say the same. */
export function awaitedText({applications, places}: TunnelEvents['backends-awaited'][0]): string {
  const what = applications === 'all' ? 'Dubbo backends' : applications.join(', ');
  return `waiting for ${what} in ${places.join(' and ')}; routing starts as soon as one appears`;
}

/** `draining 16 calls (at most 10 s)`: the line and the dashboard say the same (short: the dashboard adds a hint). */
export function drainingText({inFlight, timeoutMs}: TunnelEvents['draining'][0]): string {
  return `draining ${inFlight} ${inFlight === 1 ? 'call' : 'calls'} (at most ${timeoutMs / 1000} s)`;
}

/** How the wait of a stop ended, in the words of the line and the dashboard. */
export function drainedText({cause, givenUp, timeoutMs}: TunnelEvents['drained'][0]): string {
  const calls = `${givenUp} ${givenUp === 1 ? 'call' : 'calls'}`;
  switch (cause) {
    case 'answered':
      return 'every call in flight was answered';
    case 'timeout':
      return `${calls} got no answer within ${timeoutMs / 1000} s: answered DT_ERR_STOPPED_BEFORE_ANSWER`;
    case 'at-once':
      return `stopped at once: ${calls} answered DT_ERR_STOPPED_BEFORE_ANSWER`;
  }
}

/** Log levels from least to most severe; the one ordering every logger and the dashboard use. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = typeof LOG_LEVELS[number];

/** 0 for debug up to 3 for error: a line is shown when its rank is at least the threshold's. */
export function logLevelRank(level: LogLevel): number {
  return LOG_LEVELS.indexOf(level);
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}


export class TunnelEventBus extends EventEmitter<TunnelEvents> {
  /** Identical lines within a few seconds become one summary, for every logger and the dashboard alike. */
  readonly #folder: RepeatFolder<{level: LogLevel; message: string}>;

  /** `foldWindowMs`: how long identical log lines are counted instead of emitted (tests shorten it). */
  constructor(options: {foldWindowMs?: number} = {}) {
    super();
    this.#folder = new RepeatFolder((sample, count, windowMs) => {
      this.emit('log', {level: sample.level, message: `${sample.message}${foldedSuffix(count, windowMs)}`});
    }, options.foldWindowMs);
  }

  log(level: LogLevel, message: string): void {
    if (this.#folder.admit(`${level}\u0000${message}`, {level, message})) this.emit('log', {level, message});
  }

  /** Emits the summaries of lines still being counted (before the process exits). */
  flushFolded(): void {
    this.#folder.flush();
  }
}
