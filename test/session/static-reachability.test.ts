// "ready" means reachable for --backend addresses: a session whose static backend has nothing
// listening says so (state, plain line and --json line) instead of "ready", answers calls with the
// coded connect error, and turns ready by itself once a listener appears on the address.
import assert from 'node:assert/strict';
import net from 'node:net';
import {after, describe, it} from 'node:test';
import type {BackendState} from '../../src/core/backend.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {attachLineReporter} from '../../src/reporters/line-reporter.js';
import {TunnelSession} from '../../src/session/session.js';
import {StaticSource} from '../../src/session/static-source.js';
import {TestConsumer} from '../support/dubbo-peers.js';
import {collector} from '../support/output.js';
import {waitFor} from '../support/wait.js';

/** A loopback port nothing listens on (bound once, then let go). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('static backends are ready only once reachable', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('shows "unreachable (nothing listening on host:port)" instead of ready, answers calls with the code, and turns ready when a listener appears', async () => {
    const port = await freePort();
    const events = new TunnelEventBus();
    const states: {application: string; state: BackendState; detail?: string}[] = [];
    events.on('backend-state-changed', (event) => states.push(event));
    const plain = collector();
    const json = collector();
    const detachPlain = attachLineReporter(events, {out: plain.stream, level: 'info', json: false});
    const detachJson = attachLineReporter(events, {out: json.stream, level: 'info', json: true});
    closers.push(() => Promise.resolve(detachPlain()), () => Promise.resolve(detachJson()));
    const source = new StaticSource([{application: 'user-rpc', dubbo: {host: '127.0.0.1', port}}], events, undefined, {retryFirstMs: 50, retryMaxMs: 200});
    const session = await TunnelSession.start({sources: [source], events, listen: {port: 0, host: '127.0.0.1'}}, 'all');
    closers.push(() => session.stop());

    // start() resolved after the first probe: its state is already known, and it is not "ready".
    assert.deepEqual(states.map((event) => event.state), ['unreachable'], JSON.stringify(states));
    assert.match(states[0]?.detail ?? '', new RegExp(`^nothing listening on 127\\.0\\.0\\.1:${port}; `));
    assert.match(plain.text(), new RegExp(`warning: user-rpc: unreachable: nothing listening on 127\\.0\\.0\\.1:${port}`));
    const jsonLine = json.text().split('\n').map((line) => (line === '' ? undefined : JSON.parse(line) as Record<string, unknown>)).find((line) => line?.['event'] === 'backend-state-changed');
    assert.equal(jsonLine?.['state'], 'unreachable', json.text());

    const consumer = await TestConsumer.connect(session.port);
    closers.push(() => consumer.close());
    const answer = await consumer.call({service: 'com.example.UserService', method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['u-1'], attachments: {'target-application': 'user-rpc'}});
    assert.equal(answer.kind, 'error');
    assert.match(answer.kind === 'error' ? answer.message : '', new RegExp(`^dubbo-tunnel \\[DT_ERR_BACKEND_UNAVAILABLE\\]: user-rpc: cannot connect to 127\\.0\\.0\\.1:${port}: connection refused`));

    // Probed again with a back-off: no flood of identical states while it stays unreachable.
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(states.length, 1, JSON.stringify(states));

    const listener = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener.listen(port, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => listener.close(() => resolve())));
    await waitFor(() => states.at(-1)?.state === 'ready', {timeoutMs: 3000, message: `ready once something listens; states: ${JSON.stringify(states)}`});
    assert.equal(states.at(-1)?.detail, `127.0.0.1:${port}`);
    assert.match(plain.text(), new RegExp(`user-rpc: ready: 127\\.0\\.0\\.1:${port}`));
  });

  it('says ready at once for an address that accepts connections', async () => {
    const listener = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => listener.close(() => resolve())));
    const {port} = listener.address() as net.AddressInfo;
    const events = new TunnelEventBus();
    const states: BackendState[] = [];
    events.on('backend-state-changed', (event) => states.push(event.state));
    const source = new StaticSource([{application: 'order-rpc', dubbo: {host: '127.0.0.1', port}}], events, undefined);
    await source.start('all', () => {});
    closers.push(() => source.close());
    assert.deepEqual(states, ['ready']);
  });

  it('a provider that goes away after ready: the next call\'s failed connect turns the state unreachable, and it is ready again when the provider is back', async () => {
    let listener = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const {port} = listener.address() as net.AddressInfo;
    const events = new TunnelEventBus();
    const states: BackendState[] = [];
    events.on('backend-state-changed', (event) => states.push(event.state));
    const source = new StaticSource([{application: 'user-rpc', dubbo: {host: '127.0.0.1', port}}], events, undefined, {retryFirstMs: 50, retryMaxMs: 200});
    const session = await TunnelSession.start({sources: [source], events, listen: {port: 0, host: '127.0.0.1', sharedStreamLingerMs: 0}}, 'all');
    closers.push(() => session.stop());
    assert.deepEqual(states, ['ready']);

    await new Promise<void>((resolve) => listener.close(() => resolve()));
    const consumer = await TestConsumer.connect(session.port);
    closers.push(() => consumer.close());
    const answer = await consumer.call({service: 'com.example.UserService', method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['u-1'], attachments: {'target-application': 'user-rpc'}});
    assert.equal(answer.kind, 'error');
    await waitFor(() => states.at(-1) === 'unreachable', {timeoutMs: 3000, message: `unreachable after a failed connect; states: ${JSON.stringify(states)}`});

    listener = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener.listen(port, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => listener.close(() => resolve())));
    await waitFor(() => states.at(-1) === 'ready', {timeoutMs: 3000, message: `ready again; states: ${JSON.stringify(states)}`});
    assert.deepEqual(states, ['ready', 'unreachable', 'ready']);
  });
});
