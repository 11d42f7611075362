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
  /**
   * The set of routable applications changed (live discovery, a new choice). `origins` says where
   * each one comes from (`local`, a namespace or context) when the session has several places.
   */
  'routes-changed': [{applications: string[]; origins?: Record<string, string>}];
  /** Free-form diagnostics with a level; loggers filter by --log-level. */
  'log': [{level: LogLevel; message: string}];
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
