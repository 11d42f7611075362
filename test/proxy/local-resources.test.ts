// Local resources: connections that send nothing are let go (but never one that
// is owed an answer), running out of file descriptors is said once and the others keep working,
// and the memory a connection took for large frames is given back when it closes.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import net from 'node:net';
import {after, before, describe, test} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import {ConsumerConnection} from '../../src/proxy/consumer-connection.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {RouteSource, createRouteTable} from '../../src/router/route-table.js';
import {BIN, cleanEnv, ensureBuilt, freePort} from '../support/binary.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {encodeRequest} from '../support/dubbo-wire.js';
import {waitFor, withTimeout} from '../support/wait.js';
import {request, startTunnel} from './harness.js';

/** A TCP client that connects and then says nothing. */
async function silentClient(port: number): Promise<{socket: net.Socket; closed: Promise<void>}> {
  const socket = net.connect({port, host: '127.0.0.1'});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  // The server's FIN: answer it so the connection is gone on both sides.
  socket.on('end', () => socket.end());
  // Bounded, so a connection that is never closed fails the test instead of hanging it.
  const closed = withTimeout(new Promise<void>((resolve) => socket.once('close', () => resolve())), 10_000, 'the server closing the silent connection');
  closed.catch(() => undefined);
  return {socket, closed};
}

describe('idle consumer connections', () => {
  let provider: TestProvider;
  let release: () => void = () => undefined;
  before(async () => {
    provider = await TestProvider.start({
      application: 'user-rpc',
      handler: async (req) => {
        if (req.method === 'slow') await new Promise<void>((resolve) => (release = resolve));
        return {value: `user-rpc:${req.method}`};
      },
    });
  });
  after(async () => provider.close());

  test('connections that send nothing are closed after the idle timeout; it is logged once', async () => {
    const tunnel = await startTunnel([provider], {idleTimeoutMs: 300});
    const logs: string[] = [];
    tunnel.events.on('log', ({message}) => logs.push(message));
    try {
      const clients = await Promise.all([1, 2, 3].map(() => silentClient(tunnel.server.port)));
      await Promise.all(clients.map((client) => client.closed));
      await waitFor(() => tunnel.server.connectionCount === 0, {message: 'the server still counts the idle connections'});
      const idleLines = logs.filter((line) => line.includes('sent nothing for'));
      assert.equal(idleLines.length, 1, logs.join('\n'));
      assert.match(idleLines[0] ?? '', /closed consumer #\d+ \(127\.0\.0\.1:\d+\): it sent nothing for 0 s .*--idle-timeout <seconds>/);

      // A Dubbo consumer that went quiet after a call is let go the same way.
      const consumer = await tunnel.consumer();
      assert.equal((await consumer.call(request('user-rpc'))).status, 20);
      await consumer.waitForClose();
    } finally {
      await tunnel.close();
    }
  });

  test('a connection with a request in flight is never closed for being idle; once answered it is', async () => {
    const tunnel = await startTunnel([provider], {idleTimeoutMs: 300});
    try {
      const consumer = await tunnel.consumer();
      const answer = consumer.call(request('user-rpc', 'slow'), 30_000);
      await waitFor(() => provider.received.some((req) => req.method === 'slow'), {message: 'the slow call reached the provider'});
      // A witness that connected after the call was sent: its idle deadline comes later, so once
      // it is closed, the busy connection's idle timeout has fired too.
      const witness = await silentClient(tunnel.server.port);
      await witness.closed;
      assert.equal(consumer.closed, false, 'the consumer with a call in flight was closed');
      release();
      assert.equal((await answer).status, 20);
      await consumer.waitForClose();
    } finally {
      release();
      await tunnel.close();
    }
  });

  test('--idle-timeout 0 (idleTimeoutMs 0) keeps silent connections', async () => {
    const never = await startTunnel([provider], {idleTimeoutMs: 0});
    const quick = await startTunnel([provider], {idleTimeoutMs: 200});
    try {
      const kept = await silentClient(never.server.port);
      const witness = await silentClient(quick.server.port);
      await witness.closed;
      assert.equal(kept.socket.destroyed, false);
      assert.equal(never.server.connectionCount, 1);
      kept.socket.destroy();
    } finally {
      await never.close();
      await quick.close();
    }
  });
});

describe('memory of large frames', () => {
  test('the partial frame is released when the connection closes; a large request is read through the listener\'s buffer, not one per connection', async () => {
    const provider = await TestProvider.start({application: 'user-rpc'});
    const events = new TunnelEventBus();
    const routes = new RouteSource(createRouteTable([new StaticBackend('user-rpc', '127.0.0.1', provider.port)]));
    let connection: ConsumerConnection | undefined;
    const server = net.createServer({allowHalfOpen: true}, (socket) => {
      connection = new ConsumerConnection(socket, {id: 1, peer: 'test', routes, events, attachmentKey: 'target-application', maxBodyLength: 8 * 1024 * 1024});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const {port} = server.address() as net.AddressInfo;
    const consumer = await TestConsumer.connect(port);
    try {
      // A 600 KB request arrives in many chunks: it is read through the listener's read buffer
      // (UpstreamPool.readBuffer), which the connection does not hold.
      const big = {...request('user-rpc'), args: ['x'.repeat(600_000)]};
      assert.equal((await consumer.call(big)).status, 20);
      assert.equal(connection?.heldBytes, 0, 'nothing held for the connection between requests');
      // Half of a 2 MB request, and then nothing: the decoder holds what came.
      const partial = encodeRequest({...request('user-rpc'), args: ['y'.repeat(2_000_000)], id: 99n});
      consumer.send(partial.subarray(0, 1_000_000));
      await waitFor(() => (connection?.heldBytes ?? 0) >= 1_000_000, {message: 'the connection holds the partial frame'});
      const closed = new Promise<void>((resolve) => events.on('connection-closed', () => resolve()));
      await consumer.close();
      await closed;
      assert.equal(connection?.heldBytes, 0, 'bytes still held after close');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await provider.close();
    }
  });
});

describe('out of file descriptors (the binary under ulimit -n)', () => {
  test('says so once, refuses what it cannot take, and serves the others', async (t) => {
    ensureBuilt();
    const provider = await TestProvider.start({application: 'user-rpc'});
    const port = await freePort();
    const child = spawn('sh', ['-c', `ulimit -n 64 && exec "${process.execPath}" "${BIN}" up --no-ui --port ${port} --host 127.0.0.1 --backend user-rpc=127.0.0.1:${provider.port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cleanEnv({CI: 'true', DUBBO_TUNNEL_CONFIG_DIR: '/nonexistent-dubbo-tunnel-test'}),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const sockets: net.Socket[] = [];
    try {
      await waitFor(() => output.includes('listening on') || child.exitCode !== null, {timeoutMs: 20_000, message: 'no listening line'});
      if (!output.includes('listening on')) {
        t.skip(`the binary did not start under ulimit -n 64: ${output}`);
        return;
      }
      // More connections than descriptors: the ones past the limit are accepted and closed at once.
      // Keep connecting (bounded) until the limit is hit and said: the listener checks every 2 s, and
      // on a busy machine the first burst can be taken in before the descriptors run out.
      const connectMore = (count: number): void => {
        for (let i = 0; i < count; i++) {
          const socket = net.connect({port, host: '127.0.0.1'});
          socket.on('error', () => undefined);
          sockets.push(socket);
        }
      };
      connectMore(120);
      await waitFor(() => {
        if (output.includes('out of file descriptors')) return true;
        if (sockets.length < 600) connectMore(40);
        return false;
      }, {timeoutMs: 30_000, intervalMs: 1000, message: `no out-of-descriptors line:\n${output}`});
      assert.equal(output.split('out of file descriptors').length - 1, 1, output);
      assert.match(output, /error: out of file descriptors \(EMFILE\): new consumer connections are turned away while \d+ are open; raise the limit \(ulimit -n\)/);
      for (const socket of sockets.splice(0)) socket.destroy();
      // The process is still there and serves a consumer once descriptors are free again.
      await waitFor(async () => {
        try {
          const consumer = await TestConsumer.connect(port);
          try {
            return (await consumer.call(request('user-rpc'), 2000)).status === 20;
          } finally {
            await consumer.close();
          }
        } catch {
          return false;
        }
      }, {timeoutMs: 15_000, message: 'no consumer could call after the flood'});
      assert.equal(child.exitCode, null, 'the process is still running');
    } finally {
      for (const socket of sockets) socket.destroy();
      child.kill('SIGINT');
      await exited;
      await provider.close();
    }
  });
});
