// Learning what providers export, over real loopback TCP, from providers that answer with the bytes real
// Dubbo 2.7.23 / 3.2.16 providers sent; then routing consumers that send no target-application by it.
import assert from 'node:assert/strict';
import {after, describe, test} from 'node:test';
import {callOnce} from '../../src/client/dubbo-client.js';
import {TunnelEventBus} from '../../src/core/events.js';
import type {LearnedServices} from '../../src/core/events.js';
import {ExportLearner, LEARN_CONCURRENCY} from '../../src/learning/export-learner.js';
import {probeExports} from '../../src/learning/probe.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {RoutePublisher} from '../../src/session/publisher.js';
import {fixturesMissing} from '../support/discovery-fixtures.js';
import {startDiscoveryProvider} from '../support/discovery-providers.js';
import type {DiscoveryProvider, ProviderKind, ProviderProfile} from '../support/discovery-providers.js';
import {waitFor} from '../support/wait.js';

const opened: DiscoveryProvider[] = [];
after(async () => {
  await Promise.all(opened.map((provider) => provider.close()));
});

/** Backends as one local source reports them. */
function offered(...backends: StaticBackend[]): {backend: StaticBackend; where: undefined}[] {
  return backends.map((backend) => ({backend, where: undefined}));
}

async function provider(application: string, kind: ProviderKind, profile: ProviderProfile): Promise<DiscoveryProvider> {
  const started = await startDiscoveryProvider(application, kind, profile);
  opened.push(started);
  return started;
}

describe('probeExports: each way, in order', {skip: fixturesMissing}, () => {
  test('3.2 with a registry: getMetadataInfos() answers, nothing else is asked', async () => {
    const p = await provider('pay-rpc', 'pay', '32-zk');
    const result = await probeExports(new StaticBackend('pay-rpc', '127.0.0.1', p.port, {qos: {host: '127.0.0.1', port: p.qosPort ?? 0}}));
    assert.deepEqual(result.keys, ['g1/demo.PayService:1.0.0']);
    assert.equal(result.via, 'metadata-service');
    assert.equal(result.providerApplication, 'pay-rpc');
    assert.deepEqual(p.discovery, ['metadata:getMetadataInfos:pay-rpc']);
  });

  test('3.2 under another application name: the status-70 list names the real one, and it is asked again', async () => {
    const p = await provider('user-rpc', 'user', '32-zk');
    const result = await probeExports(new StaticBackend('users', '127.0.0.1', p.port));
    assert.deepEqual(result.keys, ['demo.UserService']);
    assert.equal(result.via, 'metadata-service');
    assert.equal(result.providerApplication, 'user-rpc');
    // The replayed provider answers by group presence; the second call used the group from the list.
    assert.deepEqual(p.discovery, ['metadata:getMetadataInfos:users', 'metadata:getMetadataInfos:user-rpc']);
  });

  test('3.2 without a registry: empty metadata, then QoS /ls', async () => {
    const p = await provider('user-rpc', 'user', '32-noreg');
    const result = await probeExports(new StaticBackend('user-rpc', '127.0.0.1', p.port, {qos: {host: '127.0.0.1', port: p.qosPort ?? 0}}));
    assert.deepEqual(result.keys, ['demo.UserService']);
    assert.equal(result.via, 'qos');
    // telnet is asked at the same time as QoS (and cancelled once QoS answered): whether its line got
    // to the provider first is a race, so the order is checked without it.
    assert.deepEqual(p.discovery.filter((asked) => !asked.startsWith('telnet:')), ['metadata:getMetadataInfos:user-rpc', 'metadata:serviceName:-', 'qos:GET /ls HTTP/1.1']);
  });

  test('3.2 without a registry and no QoS address: the status-70 list of serviceName() without a group', async () => {
    const p = await provider('user-rpc', 'user', '32-noreg');
    const result = await probeExports(new StaticBackend('user-rpc', '127.0.0.1', p.port));
    assert.deepEqual(result.keys, ['demo.UserService']);
    assert.equal(result.via, 'not-found-list');
    assert.match(result.misses.join('\n'), /telnet ls: Unsupported command: ls/);
  });

  test('2.7 with telnet ls enabled: telnet', async () => {
    const p = await provider('pay-rpc', 'pay', '27-telnet');
    const result = await probeExports(new StaticBackend('pay-rpc', '127.0.0.1', p.port));
    assert.deepEqual(result.keys, ['g1/demo.PayService:1.0.0']);
    assert.equal(result.via, 'telnet');
    assert.deepEqual(p.discovery, ['metadata:getMetadataInfos:pay-rpc', 'telnet:ls -l']);
  });

  test('2.7 defaults: telnet disabled, the status-70 list is the last resort', async () => {
    const p = await provider('user-rpc', 'user', '27');
    const result = await probeExports(new StaticBackend('user-rpc', '127.0.0.1', p.port));
    assert.deepEqual(result.keys, ['demo.UserService']);
    assert.equal(result.via, 'not-found-list');
    assert.match(result.misses.join('\n'), /Command: ls disabled for security reasons/);
  });

  test('a provider that answers nothing: no keys, each way timed out, nothing thrown', async () => {
    const p = await provider('mute-rpc', 'user', 'silent');
    const started = Date.now();
    const result = await probeExports(new StaticBackend('mute-rpc', '127.0.0.1', p.port), {timeoutMs: 300});
    assert.deepEqual(result.keys, []);
    assert.equal(result.via, undefined);
    assert.match(result.misses.join('\n'), /no answer within 300 ms/);
    assert.ok(Date.now() - started < 3000);
  });

  test('QoS and telnet are asked at the same time once MetadataService has had its head start', async () => {
    const p = await provider('mute-rpc', 'user', 'silent');
    const q = await provider('mute-rpc', 'user', 'silent');
    const started = Date.now();
    // Three ways that each wait out 400 ms: one after another that is 1.2 s at least.
    const result = await probeExports(new StaticBackend('mute-rpc', '127.0.0.1', p.port, {qos: {host: '127.0.0.1', port: q.port}}), {timeoutMs: 400});
    const elapsed = Date.now() - started;
    assert.deepEqual(result.keys, []);
    assert.deepEqual(result.misses.map((miss) => miss.slice(0, miss.indexOf(':'))), ['MetadataService', 'QoS /ls', 'telnet ls']);
    assert.ok(elapsed < 1000, `took ${elapsed} ms`);
  });

  test('nothing listening: no keys, says so', async () => {
    const result = await probeExports(new StaticBackend('gone-rpc', '127.0.0.1', 1), {timeoutMs: 500});
    assert.deepEqual(result.keys, []);
    assert.match(result.misses[0] ?? '', /MetadataService: cannot connect: gone-rpc: cannot connect to 127\.0\.0\.1:1: connection refused/);
  });
});

describe('routing by what was learned', {skip: fixturesMissing}, () => {
  test('consumers without the attachment reach the right application; a mute one gets one warning and nothing breaks', async () => {
    const user = await provider('user-rpc', 'user', '27');
    const pay = await provider('pay-rpc', 'pay', '32-zk');
    const mute = await provider('mute-rpc', 'user', 'silent');
    const events = new TunnelEventBus();
    const warnings: string[] = [];
    events.on('log', ({level, message}) => {
      if (level === 'warn') warnings.push(message);
    });
    const learned: LearnedServices[] = [];
    events.on('services-learned', (state) => learned.push(state));
    const learner = new ExportLearner({events, timeoutMs: 300});
    const publisher = new RoutePublisher({events, kinds: ['local'], choice: 'all', learner});
    publisher.report(0, offered(
      new StaticBackend('user-rpc', '127.0.0.1', user.port),
      new StaticBackend('pay-rpc', '127.0.0.1', pay.port),
      new StaticBackend('mute-rpc', '127.0.0.1', mute.port),
    ));
    const server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes: publisher.routes, events});
    try {
      await learner.settled();
      assert.deepEqual(learner.all().map((s) => [s.application, s.state, s.keys, s.via]).sort(), [
        ['mute-rpc', 'unknown', [], undefined],
        ['pay-rpc', 'learned', ['g1/demo.PayService:1.0.0'], 'metadata-service'],
        ['user-rpc', 'learned', ['demo.UserService'], 'not-found-list'],
      ]);
      assert.equal(warnings.filter((w) => w.startsWith('mute-rpc: could not learn')).length, 1);
      assert.match(warnings[0] ?? '', /^mute-rpc: could not learn its services \(MetadataService: no answer; QoS: no address; telnet: no answer\); fix: --route <interface>=mute-rpc, the dubbo-tunnel\.io\/interfaces annotation or the target-application Filter \(docs\/consumers\.md\)$/);

      const call = (service: string, method: string, extra: {group?: string; version?: string} = {}) => callOnce({
        host: '127.0.0.1', port: server.port, application: undefined, service, method, parameterTypes: '', args: [], timeoutMs: 3000, ...extra,
      });
      const a = await call('demo.UserService', 'whoami');
      assert.equal(a.kind === 'value' ? a.value : a, 'user-rpc:whoami');
      const b = await call('demo.PayService', 'balance', {group: 'g1', version: '1.0.0'});
      assert.equal(b.kind === 'value' ? b.value : b, 'pay-rpc:balance');
      // Interface alone (no group/version) when only one application exports it.
      const c = await call('demo.PayService', 'stats');
      assert.equal(c.kind === 'value' ? c.value : c, 'pay-rpc:stats');
      const d = await call('demo.Unknown', 'x');
      assert.equal(d.kind, 'error');
      assert.match(d.kind === 'error' ? d.message : '', /attachment 'target-application' missing; known applications: mute-rpc, pay-rpc, user-rpc/);
      assert.deepEqual(user.calls, ['demo.UserService#whoami']);
      assert.deepEqual(pay.calls, ['demo.PayService#balance', 'demo.PayService#stats']);
      assert.deepEqual(mute.calls, []);
      // Learning used its own connections: the consumer's calls were the only ordinary requests.
      assert.ok(learned.some((s) => s.application === 'user-rpc' && s.state === 'learning'));
    } finally {
      publisher.close();
      learner.close();
      await server.close();
    }
  });

  test('an application that leaves is forgotten; one that comes back is asked again', async () => {
    const pay = await provider('pay-rpc', 'pay', '32-zk');
    const events = new TunnelEventBus();
    const backend = new StaticBackend('pay-rpc', '127.0.0.1', pay.port);
    const learner = new ExportLearner({events});
    const publisher = new RoutePublisher({events, kinds: ['local'], choice: 'all', learner});
    const {routes} = publisher;
    try {
      publisher.report(0, offered(backend));
      await waitFor(() => routes.current.services.has('g1/demo.PayService:1.0.0'));
      publisher.report(0, []);
      assert.equal(routes.current.services.size, 0);
      assert.equal(learner.all().length, 0);
      publisher.report(0, offered(backend));
      await waitFor(() => routes.current.services.get('g1/demo.PayService:1.0.0')?.[0] === 'pay-rpc');
      assert.equal(pay.discovery.filter((d) => d.startsWith('metadata:getMetadataInfos')).length, 2);
    } finally {
      publisher.close();
      learner.close();
    }
  });

  test('declared services (the annotation) count even when no way answers', async () => {
    const mute = await provider('mute-rpc', 'user', 'silent');
    const events = new TunnelEventBus();
    const backend = Object.assign(new StaticBackend('mute-rpc', '127.0.0.1', mute.port), {declaredServices: ['com.foo.UserService', 'bad key!']});
    const learner = new ExportLearner({events, timeoutMs: 200});
    learner.update([backend]);
    await learner.settled();
    assert.deepEqual(learner.get('mute-rpc'), {application: 'mute-rpc', state: 'learned', keys: ['com.foo.UserService'], via: 'annotation'});
    learner.close();
  });
});

describe('ExportLearner: how many applications are asked at once', () => {
  test(`at most LEARN_CONCURRENCY (${LEARN_CONCURRENCY}) probes run at the same time; every application is still learned, and a superseded probe never runs`, async () => {
    const events = new TunnelEventBus();
    let running = 0;
    let most = 0;
    const asked: string[] = [];
    const learner = new ExportLearner({
      events,
      probe: async (backend) => {
        asked.push(backend.application);
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        return {keys: [`com.example.${backend.application}`], via: 'qos', providerApplication: backend.application, misses: []};
      },
    });
    const backends = Array.from({length: 30}, (_, i) => new StaticBackend(`app-${i}`, '127.0.0.1', 1));
    learner.update(backends);
    // app-29 is asked again before its first probe got a place: only the second one runs.
    learner.relearn('app-29');
    await learner.settled();
    assert.equal(most, LEARN_CONCURRENCY);
    assert.equal(learner.all().filter((state) => state.state === 'learned').length, 30);
    assert.equal(asked.filter((name) => name === 'app-29').length, 1);
    learner.close();
  });
});
