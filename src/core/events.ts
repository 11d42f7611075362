import {EventEmitter} from 'node:events';
import type {BackendState} from './backend.js';

/**
 * Everything the core tells the outside world, in one typed map. The line logger, the JSON
 * logger and the terminal UI all subscribe here; nothing in the core prints.
 * Event names are kebab-case past tense.
 */
export interface TunnelEvents {
  /** The local Dubbo port is open. `addresses` are `host:port` strings a consumer can use. */
  'listening': [{addresses: string[]; port: number; allowRemote: boolean}];
  /** A consumer connected (and passed the local-peer check). */
  'connection-opened': [{connectionId: number; peer: string}];
  /** A consumer connection ended. `reason` is set when we closed it because of bad input. */
  'connection-closed': [{connectionId: number; peer: string; reason?: string}];
  /** A peer that is not this machine tried to connect and was refused. */
  'connection-refused': [{peer: string; reason: string}];
  /** A request finished: answered by a provider, or answered by dubbo-tunnel with an error. */
  'request-completed': [RequestCompleted];
  /** An upstream stream to a backend opened or closed. */
  'upstream-opened': [{application: string; remote: string; connectionId: number}];
  'upstream-closed': [{application: string; remote: string; connectionId: number; reason?: string}];
  /** A backend's own state changed (Kubernetes backends: pod changes, no ready pods, errors). */
  'backend-state-changed': [{application: string; state: BackendState; detail?: string; pod?: string}];
  /** The set of routable applications changed (live discovery). */
  'routes-changed': [{applications: string[]}];
  /** What an application exports, as learned from its providers (src/discovery/), or why it is unknown. */
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

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RequestCompleted {
  connectionId: number;
  requestId: bigint;
  /** Application the request was routed to; undefined when no route was found. */
  application: string | undefined;
  /** `com.foo.UserService#getUser`, or undefined when the body could not be read. */
  target: string | undefined;
  /** Dubbo status byte of the answer (20 = OK); undefined for one-way requests. */
  status: number | undefined;
  /** Milliseconds from the request arriving to the answer being queued for the consumer. */
  latencyMs: number;
  /** Set when dubbo-tunnel answered itself: the message the consumer got. */
  error?: string;
  oneWay: boolean;
}

export class TunnelEventBus extends EventEmitter<TunnelEvents> {
  log(level: LogLevel, message: string): void {
    this.emit('log', {level, message});
  }
}
