import assert from 'node:assert/strict';
import {createHash, randomBytes} from 'node:crypto';
import {mkdtempSync, rmSync} from 'node:fs';
import {Agent as HttpAgent} from 'node:http';
import {Agent as HttpsAgent} from 'node:https';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, afterEach, before, describe, it} from 'node:test';
import {DubboTunnelError} from '../../src/core/errors.js';
import {KubeClient} from '../../src/kube/client.js';
import {refusedRef, toKubeError} from '../../src/kube/errors.js';
import {loadKubeconfig} from '../../src/kube/kubeconfig.js';
import {maskingProtectsNothing, openPortForward} from '../../src/kube/port-forward.js';
import type {PortForwardStream} from '../../src/kube/port-forward.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {waitFor} from '../support/wait.js';

/** A pod port: echoes everything, closes on the line "bye". */
async function startEchoServer(): Promise<{server: net.Server; port: number; sockets: Set<net.Socket>}> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', (data) => {
      if (data.toString() === 'bye\n') socket.end();
    });
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return {server, port: address.port, sockets};
}

/** Waits for the stream's end of life: resolves with its error (or undefined) once 'close' fired. */
function closed(stream: PortForwardStream): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let failure: Error | undefined;
    stream.on('error', (error) => {
      failure = error;
    });
    if (stream.closed) resolve(stream.errored ?? undefined);
    else stream.on('close', () => resolve(failure));
  });
}

describe('port-forward stream', () => {
  let api: FakeKubeApi;
  let dir: string;
  let client: KubeClient;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  const streams: PortForwardStream[] = [];

  before(async () => {
    api = await FakeKubeApi.start();
    dir = mkdtempSync(path.join(tmpdir(), 'dt-pf-'));
    echo = await startEchoServer();
    api.addDubboApp({name: 'echo', pods: [{name: 'echo-1', target: {host: '127.0.0.1', port: echo.port}}, {name: 'echo-dead'}]});
    const loaded = loadKubeconfig({kubeconfig: api.writeKubeconfig(dir), env: {}});
    client = new KubeClient(loaded.kc, loaded);
  });
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.destroy();
  });
  after(async () => {
    await api.stop();
    for (const socket of echo.sockets) socket.destroy();
    await new Promise((resolve) => echo.server.close(resolve));
    rmSync(dir, {recursive: true, force: true});
  });

  async function open(pod = 'echo-1'): Promise<PortForwardStream> {
    const stream = await openPortForward(client, {namespace: 'default', pod, port: 20880});
    streams.push(stream);
    return stream;
  }

  it('round-trips bytes with the port prefix stripped', async () => {
    const stream = await open();
    assert.equal(stream.remote, 'pod default/echo-1:20880');
    const received: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => received.push(chunk));
    stream.write('hello, pod\n');
    await waitFor(() => Buffer.concat(received).toString() === 'hello, pod\n', {message: 'echo'});
    assert.equal(api.portForwardCount('default', 'echo-1'), 1);
    stream.destroy();
    await waitFor(() => api.portForwardCount('default', 'echo-1') === 0, {message: 'destroy closes the WebSocket'});
  });

  // write() reporting backpressure is the next test's: here the kernel's socket buffers may take all 5 MiB.
  it('carries 5 MiB both ways without loss, pausing the WebSocket while nobody reads', async () => {
    const stream = await open();
    const payload = randomBytes(5 * 1024 * 1024);
    const chunk = 64 * 1024;
    const writer = (async () => {
      for (let offset = 0; offset < payload.length; offset += chunk) {
        if (!stream.write(payload.subarray(offset, offset + chunk))) {
          await new Promise((resolve) => stream.once('drain', resolve));
        }
      }
    })();
    // Nobody reads yet: the WebSocket must be paused instead of buffering the echo in memory.
    await waitFor(() => stream.wsPaused, {timeoutMs: 10_000, message: 'the WebSocket pauses when the readable buffer is full'});
    const bufferedWhilePaused = stream.readableLength;
    assert.ok(bufferedWhilePaused < 2 * 1024 * 1024, `readable buffer stays bounded (${bufferedWhilePaused} bytes)`);
    const hash = createHash('sha256');
    let received = 0;
    stream.on('data', (data: Buffer) => {
      hash.update(data);
      received += data.length;
    });
    await writer;
    await waitFor(() => received === payload.length, {timeoutMs: 20_000, message: `all bytes back (${received})`});
    assert.equal(hash.digest('hex'), createHash('sha256').update(payload).digest('hex'));
  });

  it('reports backpressure once the API server stops reading, holding at most about 2 MiB itself', async () => {
    const stream = await open();
    const hash = createHash('sha256');
    let received = 0;
    stream.on('data', (data: Buffer) => {
      hash.update(data);
      received += data.length;
    });
    const sent = createHash('sha256');
    let written = 0;
    const chunk = 64 * 1024;
    await api.pauseApi('stall');
    try {
      let flowing = true;
      // The kernel's socket buffers take the first few MiB; the cap only ends a test that fails.
      while (flowing && written < 64 * 1024 * 1024) {
        const piece = randomBytes(chunk);
        sent.update(piece);
        written += piece.length;
        flowing = stream.write(piece);
        if (written % (1024 * 1024) === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(flowing, false, `write() reported backpressure within ${written} bytes`);
      const held = stream.writableLength + stream.wsBufferedAmount;
      assert.ok(held <= 2 * 1024 * 1024 + chunk, `bytes held in the process stay bounded (${held})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(stream.writableNeedDrain, 'no drain while the API server reads nothing');
    } finally {
      await api.resumeApi();
    }
    await new Promise((resolve) => stream.once('drain', resolve));
    await waitFor(() => received === written, {timeoutMs: 20_000, message: `all bytes back (${received}/${written})`});
    assert.equal(hash.digest('hex'), sent.digest('hex'));
  });

  it('sends one large write and a batch of corked writes whole, split into messages of at most 1 MiB', async () => {
    const stream = await open();
    const received: Buffer[] = [];
    stream.on('data', (data: Buffer) => received.push(data));
    const large = randomBytes(2 * 1024 * 1024 + 3);
    const pieces = [randomBytes(700 * 1024), randomBytes(1), Buffer.alloc(0), randomBytes(1536 * 1024 + 5), randomBytes(17)];
    stream.write(large);
    stream.cork();
    for (const piece of pieces) stream.write(piece);
    stream.uncork();
    const expected = Buffer.concat([large, ...pieces]);
    await waitFor(() => received.reduce((n, data) => n + data.length, 0) >= expected.length, {timeoutMs: 10_000, message: 'all bytes back'});
    assert.ok(Buffer.concat(received).equals(expected), 'the echo is byte-exact');
    const [stats] = api.portForwardStats('default', 'echo-1');
    assert.equal(stats?.fromClient, expected.length, 'the API server got exactly the data bytes (no channel byte among them)');
  });

  it('ends the stream when the pod side closes', async () => {
    const stream = await open();
    const ended = new Promise<void>((resolve) => stream.once('end', resolve));
    const done = closed(stream);
    stream.resume();
    stream.write('bye\n');
    await ended;
    assert.equal(await done, undefined, 'a clean close is not an error');
  });

  it('reports error-channel text as a DT_ERR_PORT_FORWARD error', async () => {
    // echo-dead has no target: the kubelet's dial is refused and says so on the error channel.
    let error: unknown;
    try {
      const stream = await open('echo-dead');
      error = await closed(stream);
    } catch (caught) {
      error = caught;
    }
    assert.ok(error instanceof DubboTunnelError, String(error));
    assert.equal(error.code, 'DT_ERR_PORT_FORWARD');
    assert.match(error.message, /^pod default\/echo-dead: error forwarding port 20880 to pod .*connection refused/);
  });

  it('closes the local stream when the WebSocket drops without a close frame', async () => {
    const stream = await open();
    stream.resume();
    const done = closed(stream);
    assert.equal(api.killPodConnections('default', 'echo-1', 'terminate'), 1);
    await done;
    assert.ok(stream.destroyed);
  });

  it('explains a refused upgrade: 403 names get+create on pods/portforward, 404 the pod', async () => {
    api.deny({verb: 'create', resource: 'pods', subresource: 'portforward'});
    try {
      await assert.rejects(open(), (error: unknown) => {
        const mapped = toKubeError(error, client.scene);
        assert.equal(mapped.code, 'DT_ERR_KUBE_FORBIDDEN');
        assert.match(mapped.message, /create pods\/portforward in namespace default/);
        assert.match(mapped.hint ?? '', /both `get` and `create` on pods\/portforward/);
        assert.match(mapped.hint ?? '', /1\.35/);
        return true;
      });
    } finally {
      api.resetRbac();
    }
    await assert.rejects(open('no-such-pod'), (error: unknown) => {
      const mapped = toKubeError(error, client.scene);
      assert.equal(mapped.code, 'DT_ERR_KUBE_API');
      assert.equal(mapped.message, 'pod default/no-such-pod not found (deleted?)');
      return true;
    });
  });
});

describe('WebSocket masking', () => {
  it('leaves frames unmasked only where no cleartext intermediary can read them', () => {
    const proxy = new (class ProxyAgent extends HttpAgent {})();
    assert.equal(maskingProtectsNothing(new URL('wss://api.example.com:6443/x'), new HttpsAgent()), true, 'TLS');
    assert.equal(maskingProtectsNothing(new URL('wss://api.example.com:6443/x'), proxy), true, 'TLS through a proxy is tunnelled');
    assert.equal(maskingProtectsNothing(new URL('ws://127.0.0.1:8001/x'), new HttpAgent()), true, 'loopback, direct');
    assert.equal(maskingProtectsNothing(new URL('ws://localhost:8001/x'), undefined), true, 'localhost, direct');
    assert.equal(maskingProtectsNothing(new URL('ws://[::1]:8001/x'), new HttpAgent()), true, 'IPv6 loopback, direct');
    assert.equal(maskingProtectsNothing(new URL('ws://127.0.0.1:8001/x'), proxy), false, 'cleartext through a proxy');
    assert.equal(maskingProtectsNothing(new URL('ws://10.0.0.5:8080/x'), new HttpAgent()), false, 'cleartext over the network');
    assert.equal(maskingProtectsNothing(new URL('ws://127.example.com:8080/x'), new HttpAgent()), false, 'a name that only looks like loopback');
  });
});

describe('403 wording', () => {
  it('names the verb the authorizer refused, from the API server text', () => {
    const requested = {verb: 'create', group: '', resource: 'pods', subresource: 'portforward', namespace: 'dev', name: 'p'};
    assert.deepEqual(refusedRef('pods "p" is forbidden: User "jane" cannot get resource "pods/portforward" in API group "" in the namespace "dev"', requested),
      {...requested, verb: 'get'});
    assert.deepEqual(refusedRef('endpointslices.discovery.k8s.io is forbidden: User "jane" cannot watch resource "endpointslices" in API group "discovery.k8s.io" in the namespace "dev"',
      {verb: 'list', group: 'discovery.k8s.io', resource: 'endpointslices', namespace: 'dev'}),
    {verb: 'watch', group: 'discovery.k8s.io', resource: 'endpointslices', subresource: undefined, namespace: 'dev'});
    assert.deepEqual(refusedRef(undefined, requested), requested);
  });
});
