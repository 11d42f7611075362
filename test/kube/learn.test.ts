// Learning through Kubernetes: the Dubbo port and the QoS port (22222) of a pod, both over port-forward
// through the fake API server to providers that answer with real 2.7/3.2 bytes; the annotation; new pods.
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {main} from '../../src/cli/main.js';
import {ExportLearner} from '../../src/learning/export-learner.js';
import {collector} from '../support/output.js';
import {fixturesMissing} from '../support/discovery-fixtures.js';
import {startDiscoveryProvider} from '../support/discovery-providers.js';
import {GrpcProvider, ORDER_SERVICE, USER_SERVICE} from '../support/grpc-peers.js';
import {startTripleMetadataProvider} from '../support/triple-metadata-provider.js';
import type {DiscoveryProvider} from '../support/discovery-providers.js';
import {waitFor} from '../support/wait.js';
import {startKube} from './helpers.js';
import type {KubeFixture, Published} from './helpers.js';

describe('learning what Kubernetes applications export', {skip: fixturesMissing}, () => {
  let kube: KubeFixture;
  const providers: DiscoveryProvider[] = [];
  before(async () => {
    kube = await startKube();
  });
  after(async () => {
    await kube.close();
    await Promise.all(providers.map((provider) => provider.close()));
  });

  it('asks MetadataService, then the pod\'s QoS port; adds annotated interfaces; asks again when a new pod appears', async () => {
    const user = await startDiscoveryProvider('user-rpc', 'user', '32-noreg');
    const pay = await startDiscoveryProvider('pay-rpc', 'pay', '27');
    const user2 = await startDiscoveryProvider('user-rpc', 'user', '32-noreg');
    providers.push(user, pay, user2);
    kube.api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1', target: {host: '127.0.0.1', port: user.port}}]});
    kube.api.setPodTarget('default', 'user-rpc-1', 22222, {host: '127.0.0.1', port: user.qosPort ?? 0});
    kube.api.addDubboApp({name: 'pay-rpc', pods: [{name: 'pay-rpc-1', target: {host: '127.0.0.1', port: pay.port}}]});
    const service = kube.api.get<{metadata: {annotations?: Record<string, string>}}>('Service', 'default', 'pay-rpc');
    assert.ok(service);
    kube.api.apply({...service, metadata: {...service.metadata, annotations: {...service.metadata.annotations, 'dubbo-tunnel.io/interfaces': 'com.example.LegacyService, g2/com.example.Other:2.0'}}});

    const learner = new ExportLearner({events: kube.events, relearnDelayMs: 10});
    let handle: Published | undefined;
    try {
      handle = await kube.serve('all', {learner});
      const {routes} = handle;
      await waitFor(() => learner.all().length === 2 && learner.all().every((state) => state.state !== 'learning'), {timeoutMs: 15000, message: 'both learned'});
      assert.deepEqual(learner.get('user-rpc'), {application: 'user-rpc', state: 'learned', keys: ['demo.UserService'], via: 'qos'});
      assert.deepEqual(learner.get('pay-rpc'), {application: 'pay-rpc', state: 'learned', keys: ['com.example.LegacyService', 'g1/demo.PayService:1.0.0', 'g2/com.example.Other:2.0'], via: 'not-found-list'});
      assert.deepEqual(routes.current.services.get('demo.UserService'), ['user-rpc']);
      assert.deepEqual(routes.current.servicesByInterface.get('com.example.Other'), ['pay-rpc']);
      // telnet is asked at the same time as QoS (and cancelled once QoS answered): whether its line got
      // to the provider first is a race, so the order is checked without it.
      assert.deepEqual(user.discovery.filter((asked) => !asked.startsWith('telnet:')), ['metadata:getMetadataInfos:user-rpc', 'metadata:serviceName:-', 'qos:GET /ls HTTP/1.1']);

      kube.api.addDubboPod('default', 'user-rpc', {name: 'user-rpc-2', target: {host: '127.0.0.1', port: user2.port}});
      kube.api.setPodTarget('default', 'user-rpc-2', 22222, {host: '127.0.0.1', port: user2.qosPort ?? 0});
      await waitFor(() => user.discovery.length + user2.discovery.length >= 6, {timeoutMs: 15000, message: 'asked again after the new pod'});
      await waitFor(() => learner.get('user-rpc')?.state === 'learned');
    } finally {
      await handle?.stop();
      learner.close();
    }

    // `dubbo-tunnel ls --interfaces` asks the same way, through its own short-lived port-forwards.
    const out = collector();
    const err = collector();
    const code = await main(['ls', '--interfaces', '--json', '--kubeconfig', kube.kubeconfig], {stdout: out.stream, stderr: err.stream, env: {HOME: '/nonexistent'}, interactive: false});
    assert.equal(code, 0, err.text());
    assert.deepEqual(JSON.parse(out.text()), [
      {application: 'pay-rpc', services: ['com.example.LegacyService', 'g1/demo.PayService:1.0.0', 'g2/com.example.Other:2.0'], via: 'not-found-list'},
      {application: 'user-rpc', services: ['demo.UserService'], via: 'qos'},
    ]);
    const text = collector();
    assert.equal(await main(['ls', '--interfaces', '--kubeconfig', kube.kubeconfig], {stdout: text.stream, stderr: err.stream, env: {HOME: '/nonexistent'}, interactive: false}), 0);
    assert.match(text.text(), /^pay-rpc \(3 services, via not-found-list\)\n {4}com\.example\.LegacyService\n[\s\S]*user-rpc \(1 service, via qos\)\n {4}demo\.UserService\n$/);
  });

  it('a Service with only a Triple port: its MetadataService over Triple, or gRPC reflection, through port-forwards', async () => {
    const billing = await startTripleMetadataProvider('billing-rpc', 'pay', 'zk');
    const echo = await GrpcProvider.start('echo-rpc', 0, {reflection: true});
    try {
      kube.api.addDubboApp({name: 'billing-rpc', portName: 'tri', servicePort: 50051, pods: [{name: 'billing-rpc-1', target: {host: '127.0.0.1', port: billing.port}}]});
      kube.api.addDubboApp({name: 'echo-rpc', portName: 'grpc', servicePort: 50051, pods: [{name: 'echo-rpc-1', target: {host: '127.0.0.1', port: echo.port}}]});
      const learner = new ExportLearner({events: kube.events});
      let handle: Published | undefined;
      const servedBefore = kube.api.portForwardsServed;
      try {
        handle = await kube.serve(new Set(['billing-rpc', 'echo-rpc']), {learner});
        await waitFor(() => learner.all().length === 2 && learner.all().every((state) => state.state !== 'learning'), {timeoutMs: 15000, message: 'both learned'});
        assert.deepEqual(learner.get('billing-rpc'), {application: 'billing-rpc', state: 'learned', keys: ['g1/demo.PayService:1.0.0'], via: 'triple-metadata-service'});
        assert.deepEqual(learner.get('echo-rpc'), {application: 'echo-rpc', state: 'learned', keys: [ORDER_SERVICE, USER_SERVICE], via: 'grpc-reflection'});
        assert.deepEqual(handle.routes.current.services.get(USER_SERVICE), ['echo-rpc']);
        // The probes' streams may be closed by now: count the upgrades served, one per application at least.
        assert.ok(kube.api.portForwardsServed - servedBefore >= 2, 'MetadataService and reflection were asked over port-forwards');
      } finally {
        await handle?.stop();
        learner.close();
      }
    } finally {
      await Promise.all([billing.close(), echo.close()]);
    }
  });

  it('ls --interfaces: one short warning line per application (details with --verbose), the ways asked at once', async () => {
    // Providers that answer nothing and have no QoS port: every way fails, QoS with kubelet's long error.
    const names = ['a-rpc', 'b-rpc', 'c-rpc'];
    for (const name of names) {
      const started = await startDiscoveryProvider(name, 'user', 'silent');
      providers.push(started);
      kube.api.addDubboApp({namespace: 'legacy', name, pods: [{name: `${name}-0`, target: {host: '127.0.0.1', port: started.port}}]});
    }
    const out = collector();
    const err = collector();
    const started = Date.now();
    const code = await main(['ls', '--interfaces', '-n', 'legacy', '--kubeconfig', kube.kubeconfig], {stdout: out.stream, stderr: err.stream, env: {HOME: '/nonexistent'}, interactive: false});
    const elapsed = Date.now() - started;
    assert.equal(code, 0, err.text());
    const warnings = err.text().trimEnd().split('\n');
    assert.equal(warnings.length, names.length, err.text());
    for (const line of warnings) {
      assert.ok(line.length <= 260, `short: ${line}`);
      assert.doesNotMatch(line, /network namespace|netns|uid/);
    }
    assert.match(warnings[0] ?? '', /^dubbo-tunnel: warning: [abc]-rpc: could not learn its services \(MetadataService: no answer; QoS: port closed; telnet: no answer\); fix: --route <interface>=[abc]-rpc/);
    // Silent providers: MetadataService and telnet each wait out their 3 s limit. One after the other
    // that is over 6 s; asked at the same time, a little over 3 s.
    assert.ok(elapsed < 5000, `ls --interfaces took ${elapsed} ms`);

    const verbose = collector();
    assert.equal(await main(['ls', '--interfaces', '--verbose', '-n', 'legacy', '--kubeconfig', kube.kubeconfig], {stdout: out.stream, stderr: verbose.stream, env: {HOME: '/nonexistent'}, interactive: false}), 0);
    assert.match(verbose.text(), /^dubbo-tunnel: a-rpc: ways tried: .*QoS \/ls: .*network namespace/m);
  });
});
