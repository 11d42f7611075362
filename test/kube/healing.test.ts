// End to end through the real router: consumer -> TunnelServer -> KubeBackend -> port-forward
// WebSocket -> fake API server -> TCP test provider standing in for a pod. Pods are deleted, turn
// unready and disappear under load; no request may hang and traffic must move within 3 s.
import assert from 'node:assert/strict';
import {after, afterEach, before, beforeEach, describe, it} from 'node:test';
import type {BackendState} from '../../src/core/backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import type {RouteView} from '../../src/router/route-table.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import type {DecodedResponse} from '../support/dubbo-wire.js';
import {waitFor} from '../support/wait.js';
import {startKube} from './helpers.js';
import type {KubeFixture, Published} from './helpers.js';

const SERVICE = 'com.example.UserService';
/** How long requests in flight on a pod that stopped being ready may still finish, here. */
const DRAIN_LIMIT_MS = 1500;

function call(consumer: TestConsumer, method: string, application = 'user-rpc', timeoutMs = 8000): Promise<DecodedResponse> {
  return consumer.call({
    service: SERVICE, method, parameterTypes: 'Ljava/lang/String;', args: ['u-1'],
    attachments: {path: SERVICE, interface: SERVICE, version: '0.0.0', 'target-application': application},
  }, timeoutMs);
}

function valueOf(response: DecodedResponse): unknown {
  return response.kind === 'value' ? response.value : undefined;
}

function errorOf(response: DecodedResponse): string {
  assert.equal(response.kind, 'error', `expected an error response, got ${response.kind}`);
  return response.kind === 'error' ? response.message : '';
}

describe('healing through the router', () => {
  let kube: KubeFixture;
  let providers: TestProvider[];
  let routes: RouteView;
  let handle: Published;
  let server: TunnelServer;
  let consumers: TestConsumer[];
  const states: {application: string; state: BackendState; pod?: string; detail?: string}[] = [];

  /** A provider named after its pod; method "stuck" never gets an answer (an in-flight request). */
  async function provider(pod: string): Promise<TestProvider> {
    const started = await TestProvider.start({
      application: 'user-rpc',
      handler: (request) => (request.method === 'stuck' ? {noReply: true} : {value: pod}),
    });
    providers.push(started);
    return started;
  }

  async function consumer(): Promise<TestConsumer> {
    const connected = await TestConsumer.connect(server.port);
    consumers.push(connected);
    return connected;
  }

  before(async () => {
    kube = await startKube();
    kube.events.on('backend-state-changed', (event) => states.push(event));
  });
  after(async () => kube.close());
  beforeEach(async () => {
    providers = [];
    consumers = [];
    states.length = 0;
    const one = await provider('user-rpc-1');
    const two = await provider('user-rpc-2');
    kube.api.addDubboApp({name: 'user-rpc', pods: [
      {name: 'user-rpc-1', target: {host: '127.0.0.1', port: one.port}},
      {name: 'user-rpc-2', target: {host: '127.0.0.1', port: two.port}},
    ]});
    handle = await kube.serve('all', {cluster: {timing: {drainLimitMs: DRAIN_LIMIT_MS}}});
    routes = handle.routes;
    server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes, events: kube.events});
  });
  afterEach(async () => {
    await Promise.all(consumers.map((connected) => connected.close()));
    await server.close(100);
    await handle.stop();
    await Promise.all(providers.map((started) => started.close()));
    kube.api.resetRbac();
    kube.api.remove('Service', 'default', 'user-rpc');
    for (const pod of kube.api.list<{metadata: {name: string}}>('Pod', 'default')) kube.api.deletePod('default', pod.metadata.name);
  });

  it('moves traffic to the other pod within 3 s when the serving pod is deleted under load, without a hung request', async () => {
    const client = await consumer();
    const first = valueOf(await call(client, 'whoami'));
    assert.ok(first === 'user-rpc-1' || first === 'user-rpc-2');
    const other = first === 'user-rpc-1' ? 'user-rpc-2' : 'user-rpc-1';
    // In flight on the doomed pod: must be answered with an error, not left to the consumer's timeout.
    const inFlight = call(client, 'stuck');
    await waitFor(() => providers.some((started) => started.received.some((request) => request.method === 'stuck')), {message: 'the stuck request reached a provider'});

    // Load: a steady stream of calls while the pod goes away.
    let stop = false;
    const results: {ok: boolean; pod?: unknown; at: number; error?: string}[] = [];
    const load = (async () => {
      while (!stop) {
        const response = await call(client, 'whoami');
        results.push(response.kind === 'value' ? {ok: true, pod: response.value, at: Date.now()} : {ok: false, at: Date.now(), error: errorOf(response)});
      }
    })();
    await waitFor(() => results.length >= 5, {message: 'load is flowing'});
    const deletedAt = Date.now();
    kube.api.deletePod('default', String(first));

    const stuck = await inFlight;
    assert.match(errorOf(stuck), /user-rpc/);
    await waitFor(() => results.some((result) => result.ok && result.pod === other && result.at >= deletedAt), {timeoutMs: 3000, message: `traffic moved to ${other} within 3 s`});
    const movedAt = results.find((result) => result.ok && result.pod === other && result.at >= deletedAt)?.at ?? Infinity;
    assert.ok(movedAt - deletedAt < 3000, `moved after ${movedAt - deletedAt} ms`);
    stop = true;
    await load;
    // Every call got an answer (call() rejects on a timeout, which would have failed `load`).
    assert.ok(results.filter((result) => result.at > movedAt).every((result) => result.ok && result.pod === other), 'after the move every call succeeds on the other pod');
  });

  it('drains a pod that turns unready: new requests go to the ready pod, one still in flight is cut at the drain limit', async () => {
    const client = await consumer();
    const first = String(valueOf(await call(client, 'whoami')));
    const other = first === 'user-rpc-1' ? 'user-rpc-2' : 'user-rpc-1';
    const inFlight = call(client, 'stuck');
    await waitFor(() => providers.some((started) => started.received.some((request) => request.method === 'stuck')), {message: 'the stuck request reached a provider'});
    const changedAt = Date.now();
    // The pod and its port-forward stay up; only the EndpointSlice watch can notice this.
    kube.api.setPodReady('default', first, false);
    await waitFor(() => states.some((event) => event.application === 'user-rpc' && event.state === 'reconnecting' && event.pod === first), {message: 'the UI hears about the move'});
    assert.equal(valueOf(await call(client, 'whoami')), other);
    // The stuck request is given the drain limit (DRAIN_LIMIT_MS here), then answered with an error naming the pod.
    const message = errorOf(await inFlight);
    assert.match(message, new RegExp(`pod default/${first} was still busy .* after it stopped taking new requests \\(pod default/${first} is no longer ready`));
    assert.ok(Date.now() - changedAt >= DRAIN_LIMIT_MS - 100 && Date.now() - changedAt < DRAIN_LIMIT_MS + 3000, `answered after ${Date.now() - changedAt} ms`);
    assert.ok(kube.logs.some((entry) => entry.message.startsWith(`user-rpc: pod default/${first} is no longer ready (failing its readiness probe); requests in flight on it finish, new ones go to another pod (1 request in flight finishes first)`)));
  });

  it('answers "no ready pods" while every pod is gone, and recovers when one comes back', async () => {
    const client = await consumer();
    assert.ok(valueOf(await call(client, 'whoami')));
    kube.api.deletePod('default', 'user-rpc-1');
    kube.api.deletePod('default', 'user-rpc-2');
    await waitFor(() => states.some((event) => event.state === 'no-ready-pods'), {message: 'no-ready-pods state'});
    const refused = errorOf(await call(client, 'whoami'));
    assert.match(refused, /user-rpc: service default\/user-rpc has no ready pods/);
    const third = await provider('user-rpc-3');
    kube.api.addDubboPod('default', 'user-rpc', {name: 'user-rpc-3', target: {host: '127.0.0.1', port: third.port}});
    await waitFor(async () => valueOf(await call(client, 'whoami')) === 'user-rpc-3', {timeoutMs: 3000, message: 'the new pod serves'});
    assert.equal(states.at(-1)?.state, 'ready');
  });

  it('tries the next ready pod when a port-forward fails for pod reasons', async () => {
    // user-rpc-1's container port refuses connections (no target): the kubelet reports it on the error channel.
    kube.api.setPodTarget('default', 'user-rpc-1', 20880, {host: '127.0.0.1', port: 1});
    const answers = new Set<unknown>();
    for (let index = 0; index < 4; index++) {
      const client = await consumer();
      answers.add(valueOf(await call(client, 'whoami')));
    }
    assert.deepEqual([...answers], ['user-rpc-2']);
    assert.ok(kube.logs.some((entry) => /port-forward to pod default\/user-rpc-1 failed: .*connection refused/.test(entry.message)));
  });

  it('carries on after an API server restart (streams and watches come back)', async () => {
    const client = await consumer();
    assert.ok(valueOf(await call(client, 'whoami')));
    await kube.api.restart(200);
    // The restart cut the port-forward: at most the requests in flight failed; new ones reconnect.
    await waitFor(async () => (await call(client, 'whoami')).kind === 'value', {timeoutMs: 5000, message: 'requests work again'});
    // And healing still works, so the endpoint watch resumed too.
    const first = String(valueOf(await call(client, 'whoami')));
    kube.api.setPodReady('default', first, false);
    const other = first === 'user-rpc-1' ? 'user-rpc-2' : 'user-rpc-1';
    await waitFor(async () => valueOf(await call(client, 'whoami')) === other, {timeoutMs: 3000, message: 'the endpoint watch is live after the restart'});
  });

  it('explains a port-forward refused by RBAC in the Dubbo error', async () => {
    kube.api.deny({verb: 'create', resource: 'pods', subresource: 'portforward'});
    const client = await consumer();
    const message = errorOf(await call(client, 'whoami'));
    assert.match(message, /not allowed to create pods\/portforward in namespace default/);
    assert.ok(states.some((event) => event.state === 'error'));
    kube.api.resetRbac();
    assert.ok(valueOf(await call(client, 'whoami')));
  });
});
