// Graceful pod termination and deselection, end to end through the real router: consumer ->
// TunnelServer -> KubeBackend -> port-forward WebSocket -> fake API server -> TCP test providers.
// A pod that is terminating (graceful delete) or deselected gets no new requests while another pod
// is ready, and the requests already in flight on it are answered by it. When every pod terminates
// at once, the ones that still serve take new requests until a replacement is ready (as kube-proxy
// does), and when none serves, new requests wait a moment for a ready pod instead of failing.
import assert from 'node:assert/strict';
import {after, afterEach, before, beforeEach, describe, it} from 'node:test';
import {KubeBackend} from '../../src/kube/backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import type {DecodedResponse} from '../support/dubbo-wire.js';
import {sleep, waitFor} from '../support/wait.js';
import {startKube} from './helpers.js';
import type {KubeFixture, Published} from './helpers.js';

const SERVICE = 'com.example.UserService';

function call(consumer: TestConsumer, method: string, timeoutMs = 10_000): Promise<DecodedResponse> {
  return consumer.call({
    service: SERVICE, method, parameterTypes: 'Ljava/lang/String;', args: ['u-1'],
    attachments: {path: SERVICE, interface: SERVICE, version: '0.0.0', 'target-application': 'user-rpc'},
  }, timeoutMs);
}

function describeResponse(response: DecodedResponse): string {
  return response.kind === 'value' ? `value ${String(response.value)}` : response.kind === 'error' ? `error ${response.message}` : response.kind;
}

describe('graceful pod termination and deselection', () => {
  let kube: KubeFixture;
  let providers: TestProvider[];
  const byPod = new Map<string, TestProvider>();
  let handle: Published;
  let server: TunnelServer;
  let consumers: TestConsumer[];
  /** Releases every "held" request (they wait for it before being answered). */
  let release: () => void;
  let held: Promise<void>;

  /** A provider named after its pod: "work" answers after 100 ms, "held" once the test releases it. */
  async function provider(pod: string): Promise<TestProvider> {
    const started = await TestProvider.start({
      application: 'user-rpc',
      handler: async (request) => {
        if (request.method === 'held') await held;
        else await new Promise((resolve) => setTimeout(resolve, 100));
        return {value: pod};
      },
    });
    providers.push(started);
    byPod.set(pod, started);
    return started;
  }

  async function consumer(): Promise<TestConsumer> {
    const connected = await TestConsumer.connect(server.port);
    consumers.push(connected);
    return connected;
  }

  async function serve(selection: ReadonlySet<string> | 'all'): Promise<void> {
    handle = await kube.serve(selection);
    server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes: handle.routes, events: kube.events});
  }

  before(async () => {
    kube = await startKube();
  });
  after(async () => kube.close());
  beforeEach(async () => {
    providers = [];
    consumers = [];
    kube.logs.length = 0;
    held = new Promise((resolve) => {
      release = resolve;
    });
    const one = await provider('user-rpc-1');
    const two = await provider('user-rpc-2');
    kube.api.addDubboApp({name: 'user-rpc', pods: [
      {name: 'user-rpc-1', target: {host: '127.0.0.1', port: one.port}},
      {name: 'user-rpc-2', target: {host: '127.0.0.1', port: two.port}},
    ]});
  });
  afterEach(async () => {
    release();
    await Promise.all(consumers.map((connected) => connected.close()));
    await server.close(100);
    await handle.stop();
    await Promise.all(providers.map((started) => started.close()));
    kube.api.remove('Service', 'default', 'user-rpc');
    for (const pod of kube.api.list<{metadata: {name: string}}>('Pod', 'default')) kube.api.deletePod('default', pod.metadata.name);
  });

  it('a rolling restart under a running consumer loses no call (each is answered by an old or a new pod)', async () => {
    await serve('all');
    const clients = [await consumer(), await consumer(), await consumer()];
    let stop = false;
    const results: string[] = [];
    // Every client keeps three calls in flight all the time, each taking 100 ms at the provider.
    const loops = clients.flatMap((client) => [0, 1, 2].map(async () => {
      while (!stop) results.push(describeResponse(await call(client, 'work')));
    }));
    await waitFor(() => results.length >= 20, {message: 'load is flowing'});
    // The Deployment controller's order: a new pod becomes ready, then an old one is deleted with a
    // grace period (terminating: not ready, still running), and is gone once its process exits.
    for (const [old, replacement] of [['user-rpc-1', 'user-rpc-3'], ['user-rpc-2', 'user-rpc-4']] as const) {
      const started = await provider(replacement);
      kube.api.addDubboPod('default', 'user-rpc', {name: replacement, target: {host: '127.0.0.1', port: started.port}});
      await waitFor(() => {
        const backend = handle.routes.current.backends.get('user-rpc');
        return backend instanceof KubeBackend && backend.readyPods().length === 3;
      }, {timeoutMs: 5000, message: `${replacement} is ready`});
      kube.api.terminatePod('default', old);
      // A Java provider waits for its calls in flight before it exits; the tunnel must close its
      // port-forwards to the terminating pod once their answers are in, and send nothing new there.
      await waitFor(() => kube.api.portForwardCount('default', old) === 0, {timeoutMs: 8000, message: `the tunnel drains ${old}`});
      kube.api.deletePod('default', old);
      await byPod.get(old)?.close();
    }
    await waitFor(() => results.includes('value user-rpc-4') && results.includes('value user-rpc-3'), {message: 'both new pods answer'});
    const before = results.length;
    await waitFor(() => results.length >= before + 20, {message: 'load goes on after the rollout'});
    stop = true;
    await Promise.all(loops);
    const failed = results.filter((result) => !result.startsWith('value '));
    assert.deepEqual(failed, [], `${failed.length} of ${results.length} calls failed`);
    assert.ok(results.includes('value user-rpc-1') && results.includes('value user-rpc-2'), 'the old pods answered before the rollout');
  });

  /** Three consumers keep three calls each in flight; returns the results so far and a stop(). */
  async function loadLoop(): Promise<{results: string[]; stop(): Promise<void>}> {
    const clients = [await consumer(), await consumer(), await consumer()];
    let stopped = false;
    const results: string[] = [];
    const loops = clients.flatMap((client) => [0, 1, 2].map(async () => {
      while (!stopped) results.push(describeResponse(await call(client, 'work')));
    }));
    await waitFor(() => results.length >= 20, {message: 'load is flowing'});
    return {results, stop: async () => {
      stopped = true;
      await Promise.all(loops);
    }};
  }

  /** The old pods finish what they were given, then are gone; the load goes on. */
  async function finishRollout(results: string[], old: readonly string[]): Promise<void> {
    for (const pod of old) {
      await waitFor(() => kube.api.portForwardCount('default', pod) === 0, {timeoutMs: 8000, message: `the tunnel drains ${pod}`});
      kube.api.deletePod('default', pod);
      await byPod.get(pod)?.close();
    }
    const before = results.length;
    await waitFor(() => results.length >= before + 20, {message: 'load goes on after the rollout'});
  }

  for (const gapMs of [150, 1500]) {
    it(`every pod deleted at once, the replacement ready ${gapMs} ms later: no call fails (terminating pods that still serve take them)`, async (t) => {
      await serve('all');
      const states: string[] = [];
      const onState = (event: {state: string; detail?: string}): void => {
        states.push(`${event.state}: ${event.detail ?? ''}`);
      };
      kube.events.on('backend-state-changed', onState);
      t.after(() => kube.events.off('backend-state-changed', onState));
      const load = await loadLoop();
      // The ReplicaSet controller's replacement exists at once but is ready only a moment later; until
      // then both old pods are terminating and still pass their readiness probe (serving).
      const started = await provider('user-rpc-3');
      kube.api.addDubboPod('default', 'user-rpc', {name: 'user-rpc-3', ready: false, target: {host: '127.0.0.1', port: started.port}});
      kube.api.terminatePod('default', 'user-rpc-1');
      kube.api.terminatePod('default', 'user-rpc-2');
      const terminatedAt = load.results.length;
      // 1500 ms is longer than a new stream waits for a ready pod: only the terminating pods can answer.
      await sleep(gapMs);
      kube.api.setPodReady('default', 'user-rpc-3', true);
      await waitFor(() => load.results.includes('value user-rpc-3'), {message: 'the replacement answers'});
      const meanwhile = load.results.slice(terminatedAt, load.results.indexOf('value user-rpc-3'));
      await finishRollout(load.results, ['user-rpc-1', 'user-rpc-2']);
      await load.stop();
      const failed = load.results.filter((result) => !result.startsWith('value '));
      assert.deepEqual(failed, [], `${failed.length} of ${load.results.length} calls failed`);
      assert.ok(meanwhile.some((result) => result === 'value user-rpc-1' || result === 'value user-rpc-2'), 'the terminating pods answered new calls while no pod was ready');
      assert.ok(states.includes('reconnecting: no pod is ready; new requests go to terminating pods default/user-rpc-1, default/user-rpc-2, which still serve, until one is'), `the state says why: ${states.join(' | ')}`);
    });
  }

  it('every pod deleted at once and failing its readiness probe, the replacement ready 150 ms later: new calls wait for it, none fails', async () => {
    await serve('all');
    const load = await loadLoop();
    const started = await provider('user-rpc-3');
    kube.api.addDubboPod('default', 'user-rpc', {name: 'user-rpc-3', ready: false, target: {host: '127.0.0.1', port: started.port}});
    // An application that fails its readiness probe on SIGTERM opts out of new requests while it
    // terminates; what it has in flight it still answers.
    for (const pod of ['user-rpc-1', 'user-rpc-2']) {
      kube.api.setPodReady('default', pod, false);
      kube.api.terminatePod('default', pod);
    }
    await sleep(150);
    kube.api.setPodReady('default', 'user-rpc-3', true);
    await waitFor(() => load.results.includes('value user-rpc-3'), {message: 'the replacement answers'});
    await finishRollout(load.results, ['user-rpc-1', 'user-rpc-2']);
    await load.stop();
    const failed = load.results.filter((result) => !result.startsWith('value '));
    assert.deepEqual(failed, [], `${failed.length} of ${load.results.length} calls failed`);
  });

  it('no pod comes back: a new call is answered DT_ERR_NO_READY_PODS after the short wait, not at once and not never', async () => {
    await serve('all');
    const client = await consumer();
    assert.match(describeResponse(await call(client, 'work')), /^value user-rpc-\d$/);
    kube.api.deletePod('default', 'user-rpc-1');
    kube.api.deletePod('default', 'user-rpc-2');
    await waitFor(() => handle.routes.current.backends.get('user-rpc')?.readyPods?.().length === 0, {message: 'the endpoints say no pod'});
    const started = Date.now();
    const answer = await call(client, 'work');
    const elapsed = Date.now() - started;
    assert.match(describeResponse(answer), /^error .*\[DT_ERR_NO_READY_PODS\].*user-rpc: service default\/user-rpc has no ready pods; none became ready within 750 ms/);
    assert.ok(elapsed >= 700 && elapsed < 5000, `answered after ${elapsed} ms`);
  });

  it('a call whose port-forward is still being opened when its application is deselected is sent and answered, and that stream drains', async () => {
    await serve(new Set(['user-rpc']));
    const client = await consumer();
    const forwards = kube.api.portForwardsServed;
    kube.api.delayPortForwards(300);
    try {
      const waiting = call(client, 'work');
      await sleep(100); // the request waits for its port-forward, being set up
      assert.equal(kube.api.portForwardsServed, forwards, 'the port-forward is not open yet');
      const states: string[] = [];
      kube.events.on('backend-state-changed', (event) => states.push(event.state));
      handle.setSelection(new Set());
      const answered = await waiting;
      assert.match(describeResponse(answered), /^value user-rpc-\d$/, 'the request it queued is sent when the stream opens, not answered "deselected; was not sent"');
      await waitFor(() => kube.logs.some((entry) => /^user-rpc: deselected; requests in flight on pod default\/user-rpc-\d:20880 finish, new ones are not routed to it/.test(entry.message)), {message: 'the late stream is drained'});
      const refused = await call(client, 'work');
      assert.match(describeResponse(refused), /DT_ERR_NO_ROUTE/, 'a new call is not routed');
      assert.deepEqual(states, [], 'a withdrawn backend says nothing more about the application\'s row');
    } finally {
      kube.api.delayPortForwards(0);
    }
  });

  it('drains an application deselected while a call is in flight, and says "deselected"', async () => {
    await serve(new Set(['user-rpc']));
    const closed: string[] = [];
    kube.events.on('upstream-closed', (event) => closed.push(event.reason ?? ''));
    const client = await consumer();
    const inFlight = call(client, 'held');
    await waitFor(() => providers.some((started) => started.received.some((request) => request.method === 'held')), {message: 'the held request reached a provider'});
    handle.setSelection(new Set());
    await waitFor(() => kube.logs.some((entry) => /^user-rpc: deselected; requests in flight on pod default\/user-rpc-\d:20880 finish, new ones are not routed to it \(1 request in flight finishes first\)( … ×\d+ in the last 5 s)?$/.test(entry.message)), {message: 'the drain is logged (folded into the same line of the test before when it comes within 5 s)'});
    const refused = await call(client, 'work');
    assert.equal(refused.kind, 'error', 'a new call is not routed');
    release();
    const answered = await inFlight;
    assert.match(describeResponse(answered), /^value user-rpc-\d$/);
    await waitFor(() => closed.length > 0, {message: 'the drained upstream closes'});
    assert.match(closed[0] ?? '', /deselected/);
    assert.ok(!kube.logs.some((entry) => /no longer discovered/.test(entry.message)), 'nothing claims the application vanished');
  });
});
