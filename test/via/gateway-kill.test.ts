// Two replicas of the team gateway as processes (the binary, in-cluster environment on the fake API
// server) behind the pods of one Service, three laptops with `up --via <namespace>/<service>` under
// load, and one replica SIGKILLed: no drain, no READONLY, its endpoint still ready until the
// readiness probe would notice. Every call ends (answered by its provider, or with a coded error
// when it was on the stream that died; none hangs past its deadline), and the laptops move to the
// other replica, where later calls succeed.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {after, before, describe, test} from 'node:test';
import {ensureBuilt} from '../support/binary.js';
import {TestProvider, type TestConsumer} from '../support/dubbo-peers.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {startGatewayProcess, type GatewayProcess} from '../support/gateway-process.js';
import {callOutcome, openLaptop, startCallLoad, type CallOutcome, type Laptop} from '../support/gateway-laptops.js';

const LAPTOP_TOKEN = 'alice-kill-laptop-token';
const GATEWAY_TOKEN = 'gateway-kill-sa-token';
const NAMESPACE = 'dubbo-tunnel';
const SERVICE = 'dubbo-gateway';
const PODS = ['dubbo-gateway-0', 'dubbo-gateway-1'] as const;
const APPLICATIONS = ['user-rpc', 'pay-rpc'] as const;
const LAPTOPS = 3;
const CONSUMERS_PER_LAPTOP = 2;
const IN_FLIGHT_PER_CONSUMER = 6;
/** A call with no answer within this long is a hang: the scenario fails on it. */
const CALL_TIMEOUT_MS = 8000;
/** The provider holds each call this long, so calls are in flight when the replica dies. */
const PROVIDER_DELAY_MS = 15;
/** How long the dead pod still counts as ready (the kubelet's readiness probe has not failed yet). */
const PROBE_NOTICES_AFTER_MS = 2000;

type Outcome = CallOutcome;

describe('gateway replica SIGKILLed under load (no drain)', () => {
  let api: FakeKubeApi;
  let dir: string;
  const providers: TestProvider[] = [];
  const replicas: GatewayProcess[] = [];
  const laptops: Laptop[] = [];

  before(async () => {
    ensureBuilt();
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
    providers.push(await TestProvider.start({application: 'user-rpc', handler: delayed('user-rpc')}));
    providers.push(await TestProvider.start({application: 'pay-rpc', handler: delayed('pay-rpc')}));
    api.addDubboApp({namespace: 'shop', name: 'user-rpc', containerPort: providers[0]!.port, pods: [{name: 'user-rpc-0', podIP: '127.0.0.1'}]});
    api.addDubboApp({namespace: 'billing', name: 'pay-rpc', containerPort: providers[1]!.port, pods: [{name: 'pay-rpc-0', podIP: '127.0.0.1'}]});
    dir = mkdtempSync(path.join(tmpdir(), 'dt-gateway-kill-'));
    const inCluster = api.inClusterEnv(dir, GATEWAY_TOKEN, NAMESPACE);
    for (let replica = 0; replica < PODS.length; replica++) {
      replicas.push(await startGatewayProcess(['--host', '127.0.0.1', '-n', 'shop', '-n', 'billing', '--no-learn'], inCluster, `replica ${replica}`));
    }
    // One Service, two pods: port-forwards to each pod land on its own replica's port.
    api.addDubboApp({
      namespace: NAMESPACE, name: SERVICE, containerPort: 20880,
      pods: PODS.map((name, replica) => ({name, target: {host: '127.0.0.1', port: replicas[replica]!.port}})),
    });
  });

  after(async () => {
    for (const {session, consumers} of laptops.splice(0)) {
      await Promise.all(consumers.map((consumer) => consumer.close()));
      await session.stop();
    }
    for (const {child} of replicas) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
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


  function streamsPerPod(): number[] {
    return PODS.map((pod) => api.portForwardCount(NAMESPACE, pod));
  }

  test('every call is answered or gets a coded error, none hangs, and the laptops move to the other replica', async () => {
    const all = await Promise.all(Array.from({length: LAPTOPS}, (_, index) => laptop(index)));
    const consumers = all.flatMap((entry) => entry.consumers);
    for (const consumer of consumers) for (const application of APPLICATIONS) assert.deepEqual(await call(consumer, application), {kind: 'answered'});
    const before = streamsPerPod();
    assert.equal(before[0]! + before[1]!, LAPTOPS, `one stream per laptop (per pod: ${before.join(', ')})`);

    const load = startCallLoad(consumers, APPLICATIONS, IN_FLIGHT_PER_CONSUMER, CALL_TIMEOUT_MS);
    const {outcomes} = load;
    await sleep(500);

    // The replica most laptops use dies at once: no SIGTERM, no drain, its sockets simply go.
    const victim = before[0]! >= before[1]! ? 0 : 1;
    const survivor = 1 - victim;
    assert.ok(before[victim]! >= 2, `laptops per pod: ${before.join(', ')}`);
    const killedAt = Date.now();
    replicas[victim]!.child.kill('SIGKILL');
    const moved = (async () => {
      while (Date.now() - killedAt < 20_000) {
        const now = streamsPerPod();
        if (now[victim] === 0 && now[survivor] === LAPTOPS) return Date.now();
        await sleep(20);
      }
      return undefined;
    })();
    // Until the readiness probe fails, the dead pod is still listed as ready: a laptop may pick it.
    await sleep(PROBE_NOTICES_AFTER_MS);
    api.setPodReady(NAMESPACE, PODS[victim], false);
    const movedAt = await moved;
    // Calls counted as "after the move" start once the probe, too, has spoken.
    const movedBy = Math.max(Date.now(), killedAt + PROBE_NOTICES_AFTER_MS);
    await sleep(1000);
    await load.stop();

    const count = (kind: Outcome['kind'], from?: number, to?: number): number => load.count(kind, from, to);
    const codes = new Map<string, number>();
    for (const {outcome} of outcomes) if (outcome.kind === 'coded') codes.set(outcome.code, (codes.get(outcome.code) ?? 0) + 1);
    const summary = {
      sent: outcomes.length,
      answeredOk: count('answered'),
      codedError: count('coded'),
      lost: count('hang') + count('wrong'),
      codes: Object.fromEntries(codes),
      answeredAfterMove: count('answered', movedBy),
      moveMs: movedAt === undefined ? undefined : movedAt - killedAt,
      streams: {before, after: streamsPerPod()},
      samples: [...new Set(outcomes.filter((entry) => entry.outcome.kind !== 'answered').map((entry) => JSON.stringify(entry.outcome)))].slice(0, 4),
    };
    console.log(`gateway replica SIGKILLed: ${JSON.stringify(summary)}`);

    assert.equal(count('hang'), 0, 'no call hangs');
    assert.equal(count('wrong'), 0, 'every error is coded');
    assert.ok(movedAt !== undefined, `every laptop's stream moved to the surviving replica (per pod now: ${streamsPerPod().join(', ')})`);
    assert.equal(count('coded', movedBy), 0, 'after the move every call is answered');
    assert.ok(count('answered', movedBy) > 0, 'calls flow after the move');
    for (const consumer of consumers) for (const application of APPLICATIONS) assert.deepEqual(await call(consumer, application), {kind: 'answered'});
  });
});
