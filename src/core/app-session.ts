import type {TunnelEventBus} from './events.js';

/**
 * A running `up`: the listener plus whatever feeds its route table. The terminal UI and the
 * plain reporter see only this and the event bus; they never touch sockets or Kubernetes.
 */
export interface AppSession {
  readonly events: TunnelEventBus;
  /** `host:port` strings consumers can use, and the port. */
  readonly addresses: readonly string[];
  readonly port: number;
  /** Kubernetes context and namespace when serving a cluster; undefined for static backends. */
  readonly context?: string;
  readonly namespace?: string;
  /** Applications currently routed. */
  selection(): readonly string[];
  /** Change which applications are routed without restarting the listener. */
  setSelection(applications: readonly string[]): Promise<void>;
  /** Answer what is in flight (waiting at most --drain-timeout), close tunnels and the listener. Idempotent. */
  stop(): Promise<void>;
  /**
   * A stop waits no longer (a second `q` or Ctrl-C): what is still in flight is answered with an
   * error now, and the stop() under way finishes.
   */
  stopNow(): void;
}
