import type {BackendState} from '../core/backend.js';
import type {TunnelEventBus, TunnelEvents} from '../core/events.js';

/** What a consumer connection turned out to speak (`undecided` until its first bytes came). */
export type ConsumerProtocol = 'undecided' | 'dubbo' | 'triple' | 'telnet' | 'http';

/** One open consumer connection, as the telnet shell's `ps` shows it. */
export interface ConsumerActivity {
  readonly id: number;
  readonly peer: string;
  readonly protocol: ConsumerProtocol;
  /** Milliseconds since the epoch when it was accepted. */
  readonly since: number;
  /** Requests (Dubbo frames, Triple streams) it got answers to, and how many of those failed. */
  readonly requests: number;
  readonly errors: number;
}

/** One application as the telnet shell's `status` shows it. */
export interface ApplicationActivity {
  /** Its backend's last word; undefined when it never reported one (static backends before their first request). */
  readonly state: BackendState | undefined;
  readonly detail: string | undefined;
  readonly requests: number;
  readonly errors: number;
  /** Dubbo streams open and requests waiting on them (the last 'upstream-streams' event). */
  readonly streams: number;
  readonly inFlight: number;
}

interface MutableConsumer {
  id: number;
  peer: string;
  protocol: ConsumerProtocol;
  since: number;
  requests: number;
  errors: number;
}

type MutableApplication = {-readonly [K in keyof ApplicationActivity]: ApplicationActivity[K]};

/**
 * The tunnel's own books for the telnet shell (`ps`, `status`), folded from the event bus: every
 * open consumer connection and every application's state and counts. It has to listen from the
 * start of a session, before any source reports a backend state, so the session creates it before
 * its sources start and hands it to the listener. Per request the work is two counter increments.
 */
export class TunnelActivity {
  readonly #consumers = new Map<number, MutableConsumer>();
  readonly #applications = new Map<string, MutableApplication>();
  readonly #now: () => number;
  readonly #off: () => void;

  constructor(events: TunnelEventBus, now: () => number = Date.now) {
    this.#now = now;
    const opened = ({connectionId, peer}: TunnelEvents['connection-opened'][0]) => {
      this.#consumers.set(connectionId, {id: connectionId, peer, protocol: 'undecided', since: this.#now(), requests: 0, errors: 0});
    };
    const closed = ({connectionId}: TunnelEvents['connection-closed'][0]) => {
      this.#consumers.delete(connectionId);
    };
    const completed = ({connectionId, application, ok}: TunnelEvents['request-completed'][0]) => {
      const consumer = this.#consumers.get(connectionId);
      if (consumer !== undefined) {
        consumer.requests++;
        if (!ok) consumer.errors++;
      }
      if (application === undefined) return;
      const entry = this.#application(application);
      entry.requests++;
      if (!ok) entry.errors++;
    };
    const stateChanged = ({application, state, detail}: TunnelEvents['backend-state-changed'][0]) => {
      const entry = this.#application(application);
      entry.state = state;
      entry.detail = detail;
    };
    const streams = ({application, streams: open, inFlight}: TunnelEvents['upstream-streams'][0]) => {
      const entry = this.#application(application);
      entry.streams = open;
      entry.inFlight = inFlight;
    };
    events.on('connection-opened', opened);
    events.on('connection-closed', closed);
    events.on('request-completed', completed);
    events.on('backend-state-changed', stateChanged);
    events.on('upstream-streams', streams);
    this.#off = () => {
      events.off('connection-opened', opened);
      events.off('connection-closed', closed);
      events.off('request-completed', completed);
      events.off('backend-state-changed', stateChanged);
      events.off('upstream-streams', streams);
    };
  }

  /** The listener learned what connection `id` speaks. */
  handedTo(id: number, protocol: Exclude<ConsumerProtocol, 'undecided'>): void {
    const consumer = this.#consumers.get(id);
    if (consumer !== undefined) consumer.protocol = protocol;
  }

  /** Open consumer connections, oldest first. */
  consumers(): ConsumerActivity[] {
    return [...this.#consumers.values()].map((consumer) => ({...consumer}));
  }

  application(name: string): ApplicationActivity | undefined {
    const entry = this.#applications.get(name);
    return entry === undefined ? undefined : {...entry};
  }

  /** Stops listening to the bus. */
  close(): void {
    this.#off();
  }

  #application(name: string): MutableApplication {
    let entry = this.#applications.get(name);
    if (entry === undefined) {
      entry = {state: undefined, detail: undefined, requests: 0, errors: 0, streams: 0, inFlight: 0};
      this.#applications.set(name, entry);
    }
    return entry;
  }
}
