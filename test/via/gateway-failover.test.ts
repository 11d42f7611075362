// Two replicas of the team gateway (two startGateway instances behind the pods of one Service in
// the fake API server) serving three laptops with `--via <namespace>/<service>`, and one replica
// going the way a pod is deleted while calls flow: its endpoint turns terminating, it drains
// (what SIGTERM runs), then the pod goes. Every call is answered (by the provider, or with a coded
// error when it was still in flight on the dying stream past the drain), none hangs, and every
// laptop's stream moves to the surviving replica without its consumers reconnecting.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {after, before, describe, test} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import {startGateway} from '../../src/gateway/gateway.js';
import {encodeHello} from '../../src/gateway/protocol.js';
import {openGatewayService} from '../../src/kube/gateway-service.js';
import type {RunningGateway} from '../../src/gateway/gateway.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {callOutcome, openLaptop, startCallLoad, type CallOutcome, type Laptop} from '../support/gateway-laptops.js';

const LAPTOP_TOKEN = 'alice-laptop-token';
const GATEWAY_TOKEN = 'gateway-sa-token';
const NAMESPACE = 'dubbo-tunnel';
const SERVICE = 'dubbo-gateway';
const PODS = ['dubbo-gateway-0', 'dubbo-gateway-1'] as const;
const APPLICATIONS = ['user-rpc', 'pay-rpc'] as const;
const LAPTOPS = 3;
const CONSUMERS_PER_LAPTOP = 2;
const IN_FLIGHT_PER_CONSUMER = 8;
/** A call with no answer within this long is a hang: the scenario fails on it. */
const CALL_TIMEOUT_MS = 8000;
/** The provider holds each call this long, so calls are in flight when the replica drains. */
const PROVIDER_DELAY_MS = 15;
const DRAIN_MS = 2000;

type Outcome = CallOutcome;

describe('gateway failover: two replicas, three laptops, one replica deleted under load', () => {
  let api: FakeKubeApi;
  let dir: string;
  const providers: TestProvider[] = [];
  const gateways: RunningGateway[] = [];
  const laptops: Laptop[] = [];

  before(async () => {
    api = await FakeKubeApi.start({
      tls: true,
      users: {[LAPTOP_TOKEN]: 'alice', [GATEWAY_TOKEN]: 'system:serviceaccount:dubbo-tunnel:dubbo-tunnel-gateway'},
      namespaces: ['shop', 'billing', NAMESPACE],
      bookmarkIntervalMs: 0,
    });
    const delayed = (application: string) => async (): Promise<{value: string}> => {
      await sleep(PROVIDER_DELAY_MS);
      return {value: `${application}:getUser`};
    };
    const user = await TestProvider.start({application: 'user-rpc', handler: delayed('user-rpc')});
    const pay = await TestProvider.start({application: 'pay-rpc', handler: delayed('pay-rpc')});
    providers.push(user, pay);
    api.addDubboApp({namespace: 'shop', name: 'user-rpc', containerPort: user.port, pods: [{name: 'user-rpc-0', podIP: '127.0.0.1'}]});
    api.addDubboApp({namespace: 'billing', name: 'pay-rpc', containerPort: pay.port, pods: [{name: 'pay-rpc-0', podIP: '127.0.0.1'}]});
    dir = mkdtempSync(path.join(tmpdir(), 'dt-gateway-failover-'));
    const inCluster = api.inClusterEnv(dir, GATEWAY_TOKEN, NAMESPACE);
    for (let replica = 0; replica < PODS.length; replica++) {
      gateways.push(await startGateway({
        port: 0, host: '127.0.0.1', adminPort: 0, namespaces: ['shop', 'billing'], allNamespaces: false, discovery: {},
        allowAnonymous: false, noLearn: true, drainMs: DRAIN_MS, events: new TunnelEventBus(),
        env: inCluster,
      }));
    }
    // One Service, two pods: port-forwards to each pod land on its own replica's port.
    api.addDubboApp({
      namespace: NAMESPACE, name: SERVICE, containerPort: 20880,
      pods: PODS.map((name, replica) => ({name, target: {host: '127.0.0.1', port: (gateways[replica] as RunningGateway).port}})),
    });
  });

  after(async () => {
    for (const {session, consumers} of laptops.splice(0)) {
      await Promise.all(consumers.map((consumer) => consumer.close()));
      await session.stop();
    }
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await Promise.all(providers.map((provider) => provider.close()));
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  async function laptop(index: number): Promise<Laptop> {
    const entry = await openLaptop(api, {dir, index, token: LAPTOP_TOKEN, namespace: NAMESPACE, service: SERVICE, consumers: CONSUMERS_PER_LAPTOP});
    laptops.push(entry);
    return entry;
  }

  function call(consumer: TestConsumer, application: string): Promise<Outcome> {
    return callOutcome(consumer, application, CALL_TIMEOUT_MS);
  }


  /** Laptop port-forwards open to each gateway pod now. */
  function streamsPerPod(): number[] {
    return PODS.map((pod) => api.portForwardCount(NAMESPACE, pod));
  }

  test('the laptops\' streams spread over the replicas, as a ClusterIP would spread them', async () => {
    const kubeconfig = api.writeKubeconfig(dir, {fileName: 'spread.yaml', token: LAPTOP_TOKEN, user: 'alice'});
    const DIALS = 40;
    const perPod = new Map<string, number>();
    for (let n = 0; n < DIALS; n++) {
      // A laptop's first stream: each comes from a fresh laptop, with no stream of its own yet.
      const service = await openGatewayService({namespace: NAMESPACE, service: SERVICE, port: undefined, kubeconfig, events: new TunnelEventBus(), env: {}, execStderr: null, interactive: false});
      try {
        const opened = await service.dialer.connect();
        perPod.set(opened.pod ?? '?', (perPod.get(opened.pod ?? '?') ?? 0) + 1);
        opened.stream.destroy();
      } finally {
        await service.close();
      }
    }
    // Picked at random, both pods take some of 40 first streams (all on one: 2^-39).
    assert.deepEqual([...perPod.keys()].sort(), [...PODS], JSON.stringify(Object.fromEntries(perPod)));
  });

  test('a stopping replica forwards what a laptop sends before it reads READONLY, and waits for the laptop to leave', async () => {
    const gateway = await startGateway({
      port: 0, host: '127.0.0.1', adminPort: 0, namespaces: ['shop'], allNamespaces: false, discovery: {},
      allowAnonymous: false, noLearn: true, drainMs: DRAIN_MS, events: new TunnelEventBus(),
      env: api.inClusterEnv(dir, GATEWAY_TOKEN, NAMESPACE),
    });
    gateways.push(gateway);
    const laptopStream = await TestConsumer.connect(gateway.port);
    laptopStream.send(encodeHello(2n ** 52n, LAPTOP_TOKEN, 'dubbo-tunnel/test'));
    const hello = await laptopStream.waitForFrame((frame) => !frame.isRequest && frame.id === 2n ** 52n);
    assert.equal(hello.status, 20);
    assert.deepEqual(await call(laptopStream, 'user-rpc'), {kind: 'answered'});
    const stopping = gateway.stop();
    await laptopStream.waitForFrame((frame) => frame.isRequest && frame.event);
    // On the wire before the laptop read READONLY: forwarded, not refused with DT_ERR_SHUTTING_DOWN.
    assert.deepEqual(await call(laptopStream, 'user-rpc'), {kind: 'answered'});
    assert.equal(await Promise.race([stopping.then(() => 'stopped'), sleep(300).then(() => 'waiting')]), 'waiting', 'the connection stays while the laptop is on it');
    const leftAt = Date.now();
    await laptopStream.close();
    await stopping;
    assert.ok(Date.now() - leftAt < DRAIN_MS, 'the drain ends when the laptop leaves, not at its bound');
  });

  test('calls in flight are answered, and every laptop moves to the surviving replica', async () => {
    const all = await Promise.all(Array.from({length: LAPTOPS}, (_, index) => laptop(index)));
    const consumers = all.flatMap((entry) => entry.consumers);
    // Each consumer reaches both applications (two namespaces) through the gateway before the load.
    for (const consumer of consumers) for (const application of APPLICATIONS) assert.deepEqual(await call(consumer, application), {kind: 'answered'});
    const before = streamsPerPod();
    assert.equal(before[0]! + before[1]!, LAPTOPS, `one stream per laptop (per pod: ${before.join(', ')})`);

    // Load: every consumer keeps IN_FLIGHT_PER_CONSUMER calls outstanding, alternating applications.
    const load = startCallLoad(consumers, APPLICATIONS, IN_FLIGHT_PER_CONSUMER, CALL_TIMEOUT_MS);
    const {outcomes} = load;
    await sleep(500);

    // The replica most laptops use goes the way a deleted pod does: its endpoint turns terminating
    // (the EndpointSlice no longer lists it ready), SIGTERM runs its drain, then the pod is gone.
    const victim = before[0]! >= before[1]! ? 0 : 1;
    const survivor = 1 - victim;
    const moving = before[victim]!;
    // Three laptops over two replicas: at least two on the one that goes.
    assert.ok(moving >= 2, `laptops per pod: ${before.join(', ')}`);
    const killedAt = Date.now();
    api.terminatePod(NAMESPACE, PODS[victim]);
    const drained = (gateways[victim] as RunningGateway).stop();
    // The laptops move while the replica drains: every stream is on the survivor before the pod goes.
    let movedAt: number | undefined;
    while (Date.now() - killedAt < DRAIN_MS + 5000) {
      const now = streamsPerPod();
      if (now[victim] === 0 && now[survivor] === LAPTOPS) {
        movedAt = Date.now();
        break;
      }
      await sleep(20);
    }
    await drained;
    api.deletePod(NAMESPACE, PODS[victim]);
    const stoppedAt = Date.now();
    await sleep(1000);
    await load.stop();

    const count = (kind: Outcome['kind'], from?: number, to?: number): number => load.count(kind, from, to);
    const lost = outcomes.filter((entry) => entry.outcome.kind !== 'answered');
    const summary = {
      sent: outcomes.length,
      answered: count('answered'),
      coded: count('coded'),
      hung: count('hang'),
      wrong: count('wrong'),
      answeredAfterStop: count('answered', stoppedAt),
      moveMs: movedAt === undefined ? undefined : movedAt - killedAt,
      drainMs: stoppedAt - killedAt,
      streams: {before, after: streamsPerPod()},
      lost: [...new Set(lost.map((entry) => JSON.stringify({...entry.outcome, afterKillMs: entry.at - killedAt})))].slice(0, 6),
    };
    console.log(`gateway failover: ${JSON.stringify(summary)}`);

    assert.equal(count('hang'), 0, 'no call hangs');
    assert.equal(count('wrong'), 0, 'every error is coded');
    assert.equal(lost.length, 0, 'with a drain, no call is lost');
    assert.ok(movedAt !== undefined, `every laptop's stream moved to the surviving replica (per pod now: ${streamsPerPod().join(', ')})`);
    assert.deepEqual(streamsPerPod(), victim === 0 ? [0, LAPTOPS] : [LAPTOPS, 0]);
    assert.ok(count('answered', stoppedAt) > 0, 'calls flow after the replica is gone');
    // Afterwards, every consumer of every laptop (the same connections) reaches both applications.
    for (const consumer of consumers) for (const application of APPLICATIONS) assert.deepEqual(await call(consumer, application), {kind: 'answered'});
  });
});
