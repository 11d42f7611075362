import type {Socket} from 'node:net';
import type {TunnelEventBus} from '../core/events.js';
import {IdleSockets} from './idle-sockets.js';

/** A consumer connection as the listener sees it: Dubbo, HTTP/2, telnet, or not yet known. */
export interface LocalConnection {
  /** Stops gracefully: what is in flight may finish for `graceMs`, or until `cutShort` aborts. */
  shutdown(graceMs: number, cutShort?: AbortSignal): Promise<void>;
  /** Calls still waiting for their answer (a stop waits for them). */
  readonly pendingCount?: number;
  /** Closes the connection when nothing is owed (the idle timeout fired); returns whether it did. */
  closeIfIdle?(): boolean;
}

/** What an accepted socket is handed to once its first bytes are known; it says when it closed. */
export interface HandedConnection extends LocalConnection {
  onClosed(listener: () => void): void;
}

/** One accepted socket's entry in the books, from accept until it is handed on or gone. */
export interface AcceptedSocket {
  /**
   * The socket now belongs to `connection`. `idleWatched`: the listener's idle timeout still
   * applies (false when the connection keeps itself alive or closes itself when idle).
   */
  handTo(connection: HandedConnection, idleWatched: boolean): void;
  /** The peer left before saying anything. */
  gone(): void;
}

/**
 * The listener's books: every accepted socket until it closes, as what it has become (undecided,
 * Dubbo, HTTP/2 or telnet), so that a stop reaches each one; and the idle timeout over them.
 */
export class LocalConnections {
  readonly #all = new Set<LocalConnection>();
  readonly #events: TunnelEventBus;
  readonly #idleTimeoutMs: number;
  readonly #idle: IdleSockets | undefined;
  #idleCloseSaid = false;

  /** `idleTimeoutMs`: close consumer connections that sent nothing for this long and are owed nothing (0 = never). */
  constructor(events: TunnelEventBus, idleTimeoutMs: number) {
    this.#events = events;
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#idle = idleTimeoutMs > 0 ? new IdleSockets(idleTimeoutMs) : undefined;
  }

  get size(): number {
    return this.#all.size;
  }

  /** A socket just accepted, its protocol not known yet. */
  accepted(socket: Socket, id: number, peer: string): AcceptedSocket {
    // Until its first bytes arrive, shutting down just closes the socket, and so does the idle
    // timeout: a peer that connected and never said anything is owed nothing.
    const undecided: LocalConnection = {
      shutdown: () => Promise.resolve(void socket.destroy()),
      closeIfIdle: () => {
        socket.destroy();
        return true;
      },
    };
    let current = undecided;
    this.#all.add(undecided);
    // Any byte in either direction counts as activity; a connection skipped because it was owed
    // something is looked at again at the next check.
    this.#idle?.watch(socket, () => {
      if (current.closeIfIdle?.() !== true) return false;
      this.#sayIdleClose(id, peer);
      return true;
    });
    socket.once('close', () => this.#idle?.unwatch(socket));
    return {
      handTo: (connection, idleWatched) => {
        this.#all.delete(undecided);
        this.#all.add(connection);
        current = connection;
        if (!idleWatched) this.#idle?.unwatch(socket);
        connection.onClosed(() => this.#all.delete(connection));
      },
      gone: () => {
        this.#all.delete(undecided);
      },
    };
  }

  /** Calls waiting for their answer on every connection. */
  get pendingCount(): number {
    let count = 0;
    for (const connection of this.#all) count += connection.pendingCount ?? 0;
    return count;
  }

  /** Stops every connection: each lets what is in flight finish for up to `graceMs`, or until `cutShort` aborts. */
  async shutdown(graceMs: number, cutShort?: AbortSignal): Promise<void> {
    this.#idle?.close();
    await Promise.all([...this.#all].map((connection) => connection.shutdown(graceMs, cutShort)));
  }

  /** Stops the idle checks (the listener never opened). */
  close(): void {
    this.#idle?.close();
  }

  #sayIdleClose(id: number, peer: string): void {
    if (this.#idleCloseSaid) return;
    this.#idleCloseSaid = true;
    this.#events.log('info', `closed consumer #${id} (${peer}): it sent nothing for ${Math.round(this.#idleTimeoutMs / 1000)} s (a Dubbo consumer sends a heartbeat every 60 s); idle connections are closed after --idle-timeout <seconds>, and further ones are not logged`);
  }
}
