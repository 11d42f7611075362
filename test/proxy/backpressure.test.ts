// Backpressure end to end: a backend or a consumer that stops reading must make the tunnel stop
// reading too, so bytes pile up in the sender's own buffers instead of in the tunnel's memory.
import assert from 'node:assert/strict';
import net from 'node:net';
import {describe, test} from 'node:test';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {TestProvider} from '../support/dubbo-peers.js';
import {encodeRequest, encodeResponse, WireReader} from '../support/dubbo-wire.js';
import {sleep, waitFor} from '../support/wait.js';
import {request, startTunnel} from './harness.js';

const MiB = 1024 * 1024;

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** Waits until `bytes()` stops changing for `quietMs`: the pipeline has settled. */
async function settle(bytes: () => number, quietMs = 400): Promise<void> {
  let last = -1;
  for (;;) {
    const now = bytes();
    if (now === last) return;
    last = now;
    await sleep(quietMs);
  }
}

describe('backpressure', () => {
  test('a backend that stops reading stops the tunnel reading its consumer', async () => {
    const stalled = new Set<net.Socket>();
    const backend = net.createServer((socket) => {
      stalled.add(socket);
      socket.pause(); // never reads
    });
    const port = await listen(backend);
    const tunnel = await startTunnel([new StaticBackend('user-rpc', '127.0.0.1', port)]);
    const consumer = net.connect(tunnel.server.port, '127.0.0.1');
    await new Promise((resolve) => consumer.once('connect', resolve));
    try {
      const frame = encodeRequest({...request('user-rpc'), id: 1n, args: ['x'.repeat(256 * 1024)]});
      const total = 64 * MiB;
      for (let sent = 0, id = 1n; sent < total; sent += frame.length, id++) {
        frame.writeBigInt64BE(id, 4);
        consumer.write(Buffer.from(frame));
      }
      await settle(() => consumer.writableLength);
      // Kernel buffers on loopback hold a few MiB per hop; everything else must still be with the sender.
      assert.ok(consumer.writableLength > 40 * MiB, `only ${(consumer.writableLength / MiB).toFixed(1)} MiB left in the consumer: the tunnel kept reading`);
    } finally {
      consumer.destroy();
      for (const socket of stalled) socket.destroy();
      await tunnel.close();
      await new Promise<void>((resolve) => backend.close(() => resolve()));
    }
  });

  test('a consumer that stops reading stops the tunnel reading its backends', async () => {
    const providerSockets = new Set<net.Socket>();
    const bigAnswer = (id: bigint) => encodeResponse({id, result: {kind: 'value', value: 'y'.repeat(MiB)}});
    const backend = net.createServer((socket) => {
      providerSockets.add(socket);
      const reader = new WireReader();
      socket.on('data', (chunk: Buffer) => {
        for (const frame of reader.push(chunk)) if (frame.isRequest && !frame.event) socket.write(bigAnswer(frame.id));
      });
    });
    const port = await listen(backend);
    const tunnel = await startTunnel([new StaticBackend('user-rpc', '127.0.0.1', port)]);
    const consumer = net.connect(tunnel.server.port, '127.0.0.1');
    await new Promise((resolve) => consumer.once('connect', resolve));
    consumer.pause(); // never reads
    try {
      for (let id = 1n; id <= 64n; id++) consumer.write(encodeRequest({...request('user-rpc'), id}));
      const providerBacklog = () => [...providerSockets].reduce((sum, socket) => sum + socket.writableLength, 0);
      await waitFor(() => providerSockets.size === 1);
      await settle(providerBacklog);
      assert.ok(providerBacklog() > 40 * MiB, `only ${(providerBacklog() / MiB).toFixed(1)} MiB left in the provider: the tunnel kept reading`);
    } finally {
      consumer.destroy();
      for (const socket of providerSockets) socket.destroy();
      await tunnel.close();
      await new Promise<void>((resolve) => backend.close(() => resolve()));
    }
  });

  test('a burst larger than the connect queue on a fresh connection is delivered in full', async () => {
    const user = await TestProvider.start({application: 'user-rpc'});
    const tunnel = await startTunnel([user]);
    try {
      const consumer = await tunnel.consumer();
      const calls = Array.from({length: 48}, (_, i) => consumer.call({...request('user-rpc'), id: BigInt(i + 1), args: ['z'.repeat(64 * 1024)]}, 10_000));
      const answers = await Promise.all(calls);
      assert.equal(answers.filter((answer) => answer.kind === 'value').length, 48);
    } finally {
      await tunnel.close();
      await user.close();
    }
  });
});
