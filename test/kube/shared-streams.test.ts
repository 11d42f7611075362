// Port-forward streams shared by consumer connections, end to end: consumer -> TunnelServer ->
// KubeBackend -> port-forward WebSocket -> fake API server -> TCP test providers, one per pod.
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import type {DecodedResponse} from '../support/dubbo-wire.js';
import {waitFor} from '../support/wait.js';
import {startKube} from './helpers.js';
import type {KubeFixture} from './helpers.js';

const SERVICE = 'com.example.UserService';

function call(consumer: TestConsumer, application: string, method: string): Promise<DecodedResponse> {
  return consumer.call({
    service: SERVICE, method, parameterTypes: 'Ljava/lang/String;', args: ['u-1'],
    attachments: {path: SERVICE, interface: SERVICE, version: '0.0.0', 'target-application': application},
  }, 10_000);
}

function text(response: DecodedResponse): string {
  return response.kind === 'value' ? String(response.value) : `${response.kind} ${response.kind === 'error' ? response.message : ''}`;
}

describe('port-forward streams shared by consumer connections', () => {
  let kube: KubeFixture;
  before(async () => {
    kube = await startKube();
  });
  after(async () => kube.close());

  it('C consumers calling M applications open M port-forwards; a busy stream makes the next request open one to another ready pod', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const providers = new Map<string, TestProvider>();
    for (const pod of ['user-rpc-1', 'user-rpc-2', 'pay-rpc-1', 'order-rpc-1']) {
      const application = pod.replace(/-\d$/, '');
      providers.set(pod, await TestProvider.start({
        application,
        handler: async (request) => {
          if (request.method === 'held') await held;
          return {value: pod};
        },
      }));
    }
    const target = (pod: string) => ({name: pod, target: {host: '127.0.0.1', port: providers.get(pod)?.port ?? 0}});
    kube.api.addDubboApp({name: 'user-rpc', pods: [target('user-rpc-1'), target('user-rpc-2')]});
    kube.api.addDubboApp({name: 'pay-rpc', pods: [target('pay-rpc-1')]});
    kube.api.addDubboApp({name: 'order-rpc', pods: [target('order-rpc-1')]});
    const handle = await kube.serve('all');
    const server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes: handle.routes, events: kube.events});
    const consumers = await Promise.all(Array.from({length: 6}, () => TestConsumer.connect(server.port)));
    const connections = () => [...providers.values()].reduce((sum, provider) => sum + provider.totalConnections, 0);
    try {
      await waitFor(() => handle.routes.current.backends.size === 3, {message: 'three applications routed'});
      for (const consumer of consumers) {
        for (const application of ['user-rpc', 'pay-rpc', 'order-rpc']) assert.match(text(await call(consumer, application, 'work')), new RegExp(`^${application}-\\d$`));
      }
      assert.equal(connections(), 3, 'six consumers x three applications: three port-forwards');
      // One request in flight on the user-rpc stream: the next one goes to the other pod, over a new stream.
      const first = call(consumers[0] as TestConsumer, 'user-rpc', 'held');
      await waitFor(() => [...providers.values()].some((provider) => provider.received.some((request) => request.method === 'held')));
      const heldPod = [...providers.entries()].find(([, provider]) => provider.received.some((request) => request.method === 'held'))?.[0];
      const other = heldPod === 'user-rpc-1' ? 'user-rpc-2' : 'user-rpc-1';
      assert.equal(text(await call(consumers[1] as TestConsumer, 'user-rpc', 'work')), other);
      assert.equal(connections(), 4, 'a second user-rpc stream, to the other pod');
      release();
      assert.equal(text(await first), heldPod);
    } finally {
      release();
      await Promise.all(consumers.map((consumer) => consumer.close()));
      await server.close(100);
      await handle.stop();
      for (const provider of providers.values()) await provider.close();
    }
  });

  it('a stream outlives its last consumer connection for the linger time: a consumer that reconnects needs no new port-forward, and it closes once the linger is over', async () => {
    const lingerMs = 1500;
    const provider = await TestProvider.start({application: 'cart-rpc', handler: () => ({value: 'cart-rpc-1'})});
    kube.api.addDubboApp({name: 'cart-rpc', pods: [{name: 'cart-rpc-1', target: {host: '127.0.0.1', port: provider.port}}]});
    const handle = await kube.serve(new Set(['cart-rpc']));
    const server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes: handle.routes, events: kube.events, sharedStreamLingerMs: lingerMs});
    const closed: {reason: string | undefined; at: number}[] = [];
    kube.events.on('upstream-closed', (event) => {
      if (event.application === 'cart-rpc') closed.push({reason: event.reason, at: Date.now()});
    });
    try {
      await waitFor(() => handle.routes.current.backends.has('cart-rpc'), {message: 'cart-rpc routed'});
      const served = kube.api.portForwardsServed;
      const first = await TestConsumer.connect(server.port);
      assert.equal(text(await call(first, 'cart-rpc', 'work')), 'cart-rpc-1');
      assert.equal(kube.api.portForwardsServed, served + 1);
      await first.close();
      // The consumer comes back (as a restarted or reconnecting one does): its stream is still there.
      await waitFor(() => server.connectionCount === 0, {message: 'the first consumer connection is gone'});
      const second = await TestConsumer.connect(server.port);
      assert.equal(text(await call(second, 'cart-rpc', 'work')), 'cart-rpc-1');
      assert.equal(kube.api.portForwardsServed, served + 1, 'the reconnected consumer used the lingering stream');
      assert.equal(provider.totalConnections, 1);
      await second.close();
      const left = Date.now();
      await waitFor(() => kube.api.portForwardCount('default', 'cart-rpc-1') === 0, {timeoutMs: lingerMs + 5000, message: 'the unused stream closes after the linger'});
      assert.equal(closed.length, 1);
      assert.ok((closed[0]?.at ?? 0) - left >= lingerMs - 50, `closed ${(closed[0]?.at ?? 0) - left} ms after the last consumer left, before the linger of ${lingerMs} ms`);
      assert.equal(closed[0]?.reason, undefined, 'an unused stream ends normally, not as a failure');
      assert.equal(server.upstreamCount, 0);
    } finally {
      await server.close(100);
      await handle.stop();
      await provider.close();
      kube.api.remove('Service', 'default', 'cart-rpc');
      kube.api.deletePod('default', 'cart-rpc-1');
    }
  });
});
