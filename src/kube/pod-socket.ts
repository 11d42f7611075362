import net from 'node:net';
import {BackendError, errorMessage} from '../core/errors.js';
import {formatHostPort} from '../core/host-port.js';
import {describePod} from './port-forward.js';
import type {PortForwardTarget} from './port-forward.js';

/** A pod port reached straight over the pod network (the gateway runs inside the cluster). */
export interface PodAddress extends PortForwardTarget {
  /** The pod's IP from its EndpointSlice endpoint. */
  readonly address: string;
}

/**
 * A TCP connection straight to a pod's IP, for a process that runs inside the cluster (the team
 * gateway): the same face as a PortForwardStream (`target`, `remote`, `bytesReceived`), so
 * KubeBackend treats both alike.
 */
export class PodSocket extends net.Socket {
  readonly target: PortForwardTarget;
  /** `pod dev/user-rpc-7d9f:20880 (10.244.1.7)`, for logs and the UI. */
  readonly remote: string;

  constructor(target: PodAddress) {
    super({allowHalfOpen: false});
    this.target = {namespace: target.namespace, pod: target.pod, port: target.port};
    this.remote = `${describePod(target)}:${target.port} (${target.address})`;
  }

  /** Bytes received from the pod so far. */
  get bytesReceived(): number {
    return this.bytesRead;
  }
}

/** Connects to `target.address:port`; rejects with a BackendError naming the pod, within `timeoutMs` (default 10 s). */
export function dialPod(target: PodAddress, options: {signal?: AbortSignal; timeoutMs?: number} = {}): Promise<PodSocket> {
  const socket = new PodSocket(target);
  const where = `${describePod(target)} at ${formatHostPort(target.address, target.port)}`;
  return new Promise<PodSocket>((resolve, reject) => {
    const fail = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(error instanceof BackendError ? error : new BackendError(`${where}: ${errorMessage(error)}`, {cause: error}));
    };
    const onAbort = (): void => fail(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
    const onTimeout = (): void => fail(new BackendError(`${where}: no connection within ${Math.round((options.timeoutMs ?? 10_000) / 1000)} s`));
    const timer = setTimeout(onTimeout, options.timeoutMs ?? 10_000);
    const cleanup = (): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('error', fail);
    };
    if (options.signal?.aborted === true) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, {once: true});
    socket.once('error', fail);
    socket.connect({host: target.address, port: target.port, noDelay: true}, () => {
      cleanup();
      resolve(socket);
    });
  });
}
