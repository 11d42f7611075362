// "ready" means reachable, for cluster applications: a context that may not port-forward shows
// "no-permission" with the Role rule to add (state, plain line and --json line) and never "ready",
// until the permission is granted; a stalled API server (stopped, not closed) turns the applications
// "stalled" and new requests are answered at once with DT_ERR_KUBE_UNREACHABLE instead of waiting for
// the consumer's timeout, until the API server answers again. Through the real router, client-node
// and the fake API server (its RBAC answers the SelfSubjectAccessReviews).
import assert from 'node:assert/strict';
import {after, afterEach, before, beforeEach, describe, it} from 'node:test';
import type {BackendState} from '../../src/core/backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {attachLineReporter} from '../../src/reporters/line-reporter.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {GrpcConsumer, GrpcProvider, ORDER_SERVICE, grpc} from '../support/grpc-peers.js';
import {collector} from '../support/output.js';
import {waitFor} from '../support/wait.js';
import {answerText as text, callWhoami as call, startKube} from './helpers.js';
import type {KubeFixture, Published} from './helpers.js';


describe('ready means reachable (cluster)', () => {
  let kube: KubeFixture;
  let provider: TestProvider;
  let handle: Published | undefined;
  let server: TunnelServer | undefined;
  let consumers: TestConsumer[];
  const states: {state: BackendState; detail?: string}[] = [];

  before(async () => {
    kube = await startKube({bookmarkIntervalMs: 200});
    kube.events.on('backend-state-changed', (event) => states.push(event));
  });
  after(async () => kube.close());
  beforeEach(async () => {
    consumers = [];
    states.length = 0;
    provider = await TestProvider.start({application: 'user-rpc', handler: () => ({value: 'user-rpc-1'})});
    kube.api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1', target: {host: '127.0.0.1', port: provider.port}}]});
  });
  afterEach(async () => {
    kube.api.delayPortForwards(0);
    await kube.api.resumeApi();
    kube.api.resetRbac();
    await Promise.all(consumers.map((connected) => connected.close()));
    await server?.close(100);
    await handle?.stop();
    await provider.close();
    kube.api.remove('Service', 'default', 'user-rpc');
    kube.api.deletePod('default', 'user-rpc-1');
  });

  async function consumer(): Promise<TestConsumer> {
    assert.ok(server);
    const connected = await TestConsumer.connect(server.port);
    consumers.push(connected);
    return connected;
  }

  it('a context denied pods/portforward shows "no-permission" with the RBAC rule, never ready, until it is granted', async () => {
    kube.api.deny({verb: 'create', resource: 'pods', subresource: 'portforward'});
    const plain = collector();
    const json = collector();
    const detachPlain = attachLineReporter(kube.events, {out: plain.stream, level: 'info', json: false});
    const detachJson = attachLineReporter(kube.events, {out: json.stream, level: 'info', json: true});
    try {
      handle = await kube.serve('all', {cluster: {timing: {permissionRecheckMs: 300}}});
      server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes: handle.routes, events: kube.events});
      await waitFor(() => states.at(-1)?.state === 'no-permission', {message: `no-permission; states: ${JSON.stringify(states)}`});
      assert.ok(!states.some((event) => event.state === 'ready'), `never ready: ${JSON.stringify(states)}`);
      const rule = '{apiGroups: [""], resources: ["pods/portforward"], verbs: ["get", "create"]}';
      assert.equal(states.at(-1)?.detail, `no port-forward permission: create on pods/portforward is not allowed in namespace default, so every port-forward would be refused; fix: add to a Role bound to you in namespace default: ${rule} (docs/kubernetes.md#permissions-rbac has the whole Role)`);
      assert.ok(plain.text().includes(`warning: user-rpc: no-permission: no port-forward permission: create on pods/portforward is not allowed in namespace default`), plain.text());
      assert.ok(plain.text().includes(`fix: add to a Role bound to you in namespace default: ${rule}`), plain.text());
      const jsonLine = json.text().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line['event'] === 'backend-state-changed' && line['state'] === 'no-permission');
      assert.match(String(jsonLine?.['detail']), /fix: add to a Role bound to you in namespace default/);

      // A call gets the refusal with its own code.
      const client = await consumer();
      assert.match(text(await call(client)), /^dubbo-tunnel \[DT_ERR_KUBE_FORBIDDEN\]: user-rpc: .*create pods\/portforward in namespace default/);

      // The Role is added: the denial is asked again, and the application turns ready by itself.
      kube.api.resetRbac();
      await waitFor(() => states.at(-1)?.state === 'ready', {timeoutMs: 5000, message: `ready once allowed; states: ${JSON.stringify(states)}`});
      assert.equal(text(await call(client)), 'value user-rpc-1');
    } finally {
      detachPlain();
      detachJson();
    }
  });

  it('a stalled API server: new requests fail at once with DT_ERR_KUBE_UNREACHABLE and the stall\'s words, and recover when it answers again', async () => {
    handle = await kube.serve('all', {cluster: {timing: {stallAfterMs: 500, portForwardTimeoutMs: 5000, watchInactivityMs: 1500}}});
    // No linger: the stream closes with its last consumer, so the next consumer needs a set-up of its own.
    server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes: handle.routes, events: kube.events, sharedStreamLingerMs: 0});
    await waitFor(() => states.at(-1)?.state === 'ready', {message: `ready; states: ${JSON.stringify(states)}`});
    const first = await consumer();
    assert.equal(text(await call(first)), 'value user-rpc-1');
    // A consumer that comes after the stall needs a port-forward of its own (nothing keeps the shared one).
    await first.close();
    await kube.api.pauseApi('stall');
    const second = await consumer();
    const startedAt = Date.now();
    const detected = text(await call(second));
    const detectedAfter = Date.now() - startedAt;
    const stallWords = /^dubbo-tunnel \[DT_ERR_KUBE_UNREACHABLE\]: user-rpc: the API server http:\/\/127\.0\.0\.1:\d+ has stalled \(no answer to the port-forward request for pod default\/user-rpc-1 within 0\.5 s\); requests fail at once until it answers again; com\.example\.UserService#whoami was not sent$/;
    assert.match(detected, stallWords);
    assert.ok(detectedAfter < 1500, `the stall was answered after ${detectedAfter} ms`);
    assert.equal(states.at(-1)?.state, 'stalled', JSON.stringify(states));
    assert.match(states.at(-1)?.detail ?? '', /has stalled .*; new requests fail at once until it answers again$/);

    // Every request from now on is answered at once, with the same code and words.
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const sentAt = Date.now();
      assert.match(text(await call(second)), stallWords);
      latencies.push(Date.now() - sentAt);
    }
    latencies.sort((a, b) => a - b);
    assert.ok((latencies[10] ?? Infinity) < 100, `median ${latencies[10]} ms: requests must fail at once (${latencies.join(', ')})`);

    await kube.api.resumeApi();
    await waitFor(async () => text(await call(second)) === 'value user-rpc-1', {timeoutMs: 8000, intervalMs: 100, message: 'calls work again'});
    await waitFor(() => states.at(-1)?.state === 'ready', {timeoutMs: 5000, message: `ready again; states: ${JSON.stringify(states)}`});
    assert.ok(kube.logs.some((entry) => entry.level === 'warn' && /has stalled .*requests to the applications of context '.*' fail at once \(DT_ERR_KUBE_UNREACHABLE\)/.test(entry.message)), 'the log says so once');
    assert.ok(kube.logs.some((entry) => /answers again; requests to the applications of context '.*' are forwarded again/.test(entry.message)), 'and when it is over');
  });

  it('a port-forward set-up that is only slow ends the stall it raised, and the next set-ups are given that long', async () => {
    handle = await kube.serve('all', {cluster: {timing: {stallAfterMs: 300, portForwardTimeoutMs: 5000}}});
    server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes: handle.routes, events: kube.events});
    await waitFor(() => states.at(-1)?.state === 'ready', {message: `ready; states: ${JSON.stringify(states)}`});
    kube.api.delayPortForwards(700);
    const client = await consumer();
    assert.match(text(await call(client)), /^dubbo-tunnel \[DT_ERR_KUBE_UNREACHABLE\]: user-rpc: the API server .* has stalled \(no answer to the port-forward request for pod default\/user-rpc-1 within 0\.3 s\)/);
    // The set-up answers after 0.7 s: not a stall after all.
    await waitFor(() => states.at(-1)?.state === 'ready', {timeoutMs: 5000, message: `ready again once the slow set-up answered; states: ${JSON.stringify(states)}`});
    const startedAt = Date.now();
    assert.equal(text(await call(client)), 'value user-rpc-1');
    assert.ok(Date.now() - startedAt >= 600, 'that call waited for a slow set-up of its own');
    assert.ok(!states.slice(-1).some((event) => event.state === 'stalled'), JSON.stringify(states));
  });

  it('a stall under a consumer that keeps its connection (streams open) is noticed by the pulse: its requests then fail at once too, and recover', async () => {
    handle = await kube.serve('all', {cluster: {timing: {stallAfterMs: 500, pulseIntervalMs: 200, portForwardTimeoutMs: 5000}}});
    server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes: handle.routes, events: kube.events});
    const client = await consumer();
    assert.equal(text(await call(client)), 'value user-rpc-1');
    await kube.api.pauseApi('stall');
    await waitFor(() => states.at(-1)?.state === 'stalled', {timeoutMs: 3000, message: `stalled; states: ${JSON.stringify(states)}`});
    assert.match(states.at(-1)?.detail ?? '', /^the API server http:\/\/127\.0\.0\.1:\d+ has stalled \(no answer to GET \/version within 0\.5 s\); new requests fail at once until it answers again$/);
    const sentAt = Date.now();
    assert.match(text(await call(client)), /^dubbo-tunnel \[DT_ERR_KUBE_UNREACHABLE\]: user-rpc: the API server .* has stalled \(no answer to GET \/version within 0\.5 s\); requests fail at once until it answers again/);
    assert.ok(Date.now() - sentAt < 300, `answered after ${Date.now() - sentAt} ms`);
    await kube.api.resumeApi();
    await waitFor(async () => text(await call(client)) === 'value user-rpc-1', {timeoutMs: 8000, intervalMs: 100, message: 'calls work again'});
    await waitFor(() => states.at(-1)?.state === 'ready', {timeoutMs: 5000, message: `ready again; states: ${JSON.stringify(states)}`});
  });

  it('a stall answers gRPC calls at once with UNAVAILABLE and the stall\'s code and words, and they recover', async () => {
    const order = await GrpcProvider.start('order-rpc');
    const orderStates: BackendState[] = [];
    const onState = (event: {application: string; state: BackendState}): void => {
      if (event.application === 'order-rpc') orderStates.push(event.state);
    };
    kube.events.on('backend-state-changed', onState);
    kube.api.addDubboApp({name: 'order-rpc', portName: 'grpc', servicePort: 50051, pods: [{name: 'order-rpc-1', target: {host: '127.0.0.1', port: order.port}}]});
    const grpcClient = {current: undefined as GrpcConsumer | undefined};
    try {
      handle = await kube.serve('all', {interfaces: [[ORDER_SERVICE, 'order-rpc']], cluster: {timing: {stallAfterMs: 500, pulseIntervalMs: 200, portForwardTimeoutMs: 5000}}});
      server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes: handle.routes, events: kube.events});
      grpcClient.current = new GrpcConsumer(`127.0.0.1:${server.port}`);
      assert.equal((await grpcClient.current.unary('OrderService', {text: 'a'})).servedBy, 'order-rpc');
      await kube.api.pauseApi('stall');
      await waitFor(() => orderStates.at(-1) === 'stalled', {timeoutMs: 3000, message: `order-rpc stalled: ${orderStates.join(', ')}`});
      const sentAt = Date.now();
      const failure = await grpcClient.current.unary('OrderService', {text: 'b'}, {deadlineMs: 5000}).then(() => undefined, (error: unknown) => error as grpc.ServiceError);
      assert.ok(failure, 'the call fails');
      assert.equal(failure.code, grpc.status.UNAVAILABLE);
      assert.match(failure.details, /^dubbo-tunnel \[DT_ERR_KUBE_UNREACHABLE\]: order-rpc: the API server .* has stalled \(.*\); requests fail at once until it answers again/);
      assert.ok(Date.now() - sentAt < 1000, `answered after ${Date.now() - sentAt} ms`);
      await kube.api.resumeApi();
      await waitFor(async () => (await grpcClient.current?.unary('OrderService', {text: 'c'}, {deadlineMs: 2000}).then((reply) => reply.servedBy, () => undefined)) === 'order-rpc', {timeoutMs: 8000, intervalMs: 100, message: 'gRPC calls work again'});
    } finally {
      kube.events.off('backend-state-changed', onState);
      grpcClient.current?.close();
      await kube.api.resumeApi();
      await server?.close(100);
      server = undefined;
      await handle?.stop();
      handle = undefined;
      await order.close();
      kube.api.remove('Service', 'default', 'order-rpc');
      kube.api.deletePod('default', 'order-rpc-1');
    }
  });
});
