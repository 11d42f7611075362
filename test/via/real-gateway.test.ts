// `up --via` end to end against the real gateway (src/gateway, run in this process with the
// in-cluster environment pointed at the fake API server): the developer's own token, the catalog
// of what each developer may use, Dubbo and Triple calls reaching providers behind the gateway, and
// D laptops x M applications x C consumers holding D streams to it (D port-forwards with --via
// <namespace>/<service>); and a real Node Dubbo consumer (dubbo-js) pointed at a laptop's port.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {openViaSource} from '../../src/cli/via-source.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {startGateway} from '../../src/gateway/gateway.js';
import type {RunningGateway} from '../../src/gateway/gateway.js';
import {TunnelSession} from '../../src/session/session.js';
import type {ViaTarget} from '../../src/via/via-target.js';
import {loadDubboJs, registryAt} from '../support/dubbo-js.js';
import type {DubboInstance, DubboJs} from '../support/dubbo-js.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {GrpcConsumer, GrpcProvider} from '../support/grpc-peers.js';

const TOKENS = {alice: 'alice-laptop-token', bob: 'bob-laptop-token', gateway: 'gateway-sa-token'};

async function callValue(consumer: TestConsumer, application: string): Promise<string> {
  const answer = await consumer.call({service: 'com.example.UserService', method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['u-1'], attachments: {'target-application': application}});
  if (answer.kind === 'value') return String(answer.value);
  return answer.kind === 'error' ? answer.message : answer.kind;
}

describe('up --via against dubbo-tunnel gateway', () => {
  let api: FakeKubeApi;
  let user: TestProvider;
  let pay: TestProvider;
  let greeter: GrpcProvider;
  let gateway: RunningGateway;
  let dir: string;
  const gatewayEvents = new TunnelEventBus();
  let gatewayConnections = 0;
  const laptops: {session: TunnelSession; consumers: TestConsumer[]}[] = [];

  before(async () => {
    api = await FakeKubeApi.start({
      tls: true,
      users: {[TOKENS.alice]: 'alice', [TOKENS.bob]: 'bob', [TOKENS.gateway]: 'system:serviceaccount:dubbo-tunnel:dubbo-tunnel-gateway'},
      namespaces: ['default', 'shop', 'billing', 'dubbo-tunnel'],
      bookmarkIntervalMs: 0,
    });
    // bob may use shop only, and reach the gateway's pods (what --via <namespace>/<service> needs in
    // the gateway's namespace); alice and the gateway's service account may do everything.
    api.setRules('bob', [
      {verb: 'get', resource: 'services', namespace: 'shop'},
      {verb: 'get', resource: 'services', namespace: 'dubbo-tunnel'},
      {verb: 'list', resource: 'endpointslices', namespace: 'dubbo-tunnel'},
      {verb: 'watch', resource: 'endpointslices', namespace: 'dubbo-tunnel'},
      {verb: '*', resource: 'pods/portforward', namespace: 'dubbo-tunnel'},
    ]);
    user = await TestProvider.start({application: 'user-rpc'});
    pay = await TestProvider.start({application: 'pay-rpc'});
    greeter = await GrpcProvider.start('greeter');
    api.addDubboApp({namespace: 'shop', name: 'user-rpc', containerPort: user.port, pods: [{name: 'user-rpc-0', podIP: '127.0.0.1'}]});
    api.addDubboApp({namespace: 'billing', name: 'pay-rpc', containerPort: pay.port, pods: [{name: 'pay-rpc-0', podIP: '127.0.0.1'}]});
    api.addDubboApp({namespace: 'billing', name: 'greeter', portName: 'tri', servicePort: 50051, containerPort: greeter.port, pods: [{name: 'greeter-0', podIP: '127.0.0.1'}]});
    dir = mkdtempSync(path.join(tmpdir(), 'dt-real-gateway-'));
    const inCluster = api.inClusterEnv(dir, TOKENS.gateway);
    gatewayEvents.on('connection-opened', () => gatewayConnections++);
    gateway = await startGateway({
      port: 0, host: '127.0.0.1', adminPort: 0, namespaces: ['shop', 'billing'], allNamespaces: false, discovery: {},
      allowAnonymous: false, noLearn: true, drainMs: 500, events: gatewayEvents,
      env: inCluster,
    });
    // The gateway's own Service, for --via <namespace>/<service> (port-forwards land on its port).
    api.addDubboApp({namespace: 'dubbo-tunnel', name: 'dubbo-gateway', containerPort: gateway.port, pods: [{name: 'dubbo-gateway-0', target: {host: '127.0.0.1', port: gateway.port}}]});
  });

  after(async () => {
    for (const {session, consumers} of laptops.splice(0)) {
      await Promise.all(consumers.map((consumer) => consumer.close()));
      await session.stop();
    }
    await gateway.stop();
    await Promise.all([user.close(), pay.close(), greeter.close()]);
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  async function laptop(who: 'alice' | 'bob', target: ViaTarget, consumers = 1): Promise<{session: TunnelSession; consumers: TestConsumer[]}> {
    const kubeconfig = api.writeKubeconfig(dir, {fileName: `${who}.yaml`, token: TOKENS[who], user: who});
    const events = new TunnelEventBus();
    const source = await openViaSource({target, kubeconfig}, {events, env: {}, execStderr: null, interactive: false});
    const session = await TunnelSession.start({sources: [source], events, listen: {port: 0, host: '127.0.0.1'}}, 'all');
    const entry = {session, consumers: await Promise.all(Array.from({length: consumers}, () => TestConsumer.connect(session.port)))};
    laptops.push(entry);
    return entry;
  }

  test('D laptops x M applications x C consumers: every call reaches its provider over D streams to the gateway', async () => {
    const before = gatewayConnections;
    const address: ViaTarget = {kind: 'address', host: '127.0.0.1', port: gateway.port};
    const alice = [await laptop('alice', address, 3), await laptop('alice', address, 3)];
    for (const {consumers, session} of alice) {
      assert.deepEqual([...session.routes.current.backends.keys()].sort(), ['greeter', 'pay-rpc', 'user-rpc']);
      for (const consumer of consumers) {
        assert.equal(await callValue(consumer, 'user-rpc'), 'user-rpc:getUser');
        assert.equal(await callValue(consumer, 'pay-rpc'), 'pay-rpc:getUser');
      }
    }
    assert.equal(gatewayConnections - before, alice.length, 'one stream per laptop');
  });

  test('each developer sees and reaches only what RBAC gives them', async () => {
    const bob = await laptop('bob', {kind: 'address', host: '127.0.0.1', port: gateway.port});
    assert.deepEqual([...bob.session.routes.current.backends.keys()], ['user-rpc']);
    const consumer = bob.consumers[0] as TestConsumer;
    assert.equal(await callValue(consumer, 'user-rpc'), 'user-rpc:getUser');
    const refused = await callValue(consumer, 'pay-rpc');
    assert.match(refused, /DT_ERR_NO_ROUTE/, 'an application bob may not use is not even offered');
    assert.match(refused, /the gateway 127\.0\.0\.1:\d+ withholds the 2 applications in namespace billing from you: you lack get services in namespace billing/, 'and the answer says why, without the names');
    assert.doesNotMatch(refused, /greeter/);
    // A Triple consumer reads the same words in its gRPC status.
    const grpc = new GrpcConsumer(`127.0.0.1:${bob.session.port}`);
    try {
      await assert.rejects(grpc.unary('UserService', {text: 'hi'}, {metadata: {'target-application': 'greeter'}}), (error: {code?: number; details?: string}) => {
        assert.equal(error.code, 12, 'UNIMPLEMENTED, as gRPC answers an unknown service');
        assert.match(error.details ?? '', /you lack get services in namespace billing/);
        return true;
      });
    } finally {
      grpc.close();
    }
  });

  test('Triple through the gateway: the token header admits the stream and it reaches the gRPC provider', async () => {
    const alice = await laptop('alice', {kind: 'address', host: '127.0.0.1', port: gateway.port}, 0);
    const consumer = new GrpcConsumer(`127.0.0.1:${alice.session.port}`);
    try {
      const reply = await consumer.unary('UserService', {text: 'hi'}, {metadata: {'target-application': 'greeter'}});
      assert.equal(reply.servedBy, 'greeter');
      assert.equal(reply.text, 'hi');
    } finally {
      consumer.close();
    }
  });

  test('--via <namespace>/<service>: one port-forward per laptop to the gateway pod', async () => {
    const served = api.portForwardsServed;
    const target: ViaTarget = {kind: 'service', namespace: 'dubbo-tunnel', service: 'dubbo-gateway', port: undefined};
    const both = [await laptop('alice', target, 2), await laptop('bob', target, 2)];
    for (const {consumers} of both) for (const consumer of consumers) assert.equal(await callValue(consumer, 'user-rpc'), 'user-rpc:getUser');
    assert.equal(api.portForwardsServed - served, both.length);
  });

  test('a real Node Dubbo consumer (dubbo-js) at a laptop\'s --via port calls providers behind the gateway', async (t) => {
    const load = loadDubboJs();
    if (typeof load === 'string') {
      t.skip(load);
      return;
    }
    const {Dubbo, java} = load('apache-dubbo-consumer') as DubboJs<{users: {getUser(id: string): Promise<{res: unknown; err: unknown}>}}>;
    const alice = await laptop('alice', {kind: 'service', namespace: 'dubbo-tunnel', service: 'dubbo-gateway', port: undefined}, 0);
    const userBefore = user.received.length;
    const payBefore = pay.received.length;
    let application = 'user-rpc';
    // docs/consumers.md: every interface is at the tunnel's port, the application named by attachment.
    const dubbo = Dubbo.from({
      application: {name: 'via-gateway-test-consumer'},
      registry: registryAt(`127.0.0.1:${alice.session.port}`),
      services: {
        users: (d: DubboInstance) => d.proxyService({dubboInterface: 'com.example.UserService', methods: {getUser: (id: string) => [java.String(id)]}}),
      },
    });
    dubbo.use(async (ctx: {attachments: Record<string, string>}, next: () => Promise<void>) => {
      ctx.attachments = {'target-application': application};
      await next();
    });
    try {
      assert.deepEqual(await dubbo.service.users.getUser('u-1'), {res: 'user-rpc:getUser', err: null});
      const many = await Promise.all(Array.from({length: 8}, (_, index) => dubbo.service.users.getUser(`u-${index}`)));
      assert.deepEqual(many, Array.from({length: 8}, () => ({res: 'user-rpc:getUser', err: null})));
      application = 'pay-rpc';
      assert.deepEqual(await dubbo.service.users.getUser('u-2'), {res: 'pay-rpc:getUser', err: null});
      assert.equal(user.received.length - userBefore, 9, 'each call reached user-rpc behind the gateway');
      assert.deepEqual(user.received.slice(userBefore).map((request) => String(request.args[0])).sort(), ['u-0', 'u-1', 'u-1', 'u-2', 'u-3', 'u-4', 'u-5', 'u-6', 'u-7']);
      assert.equal(pay.received.length - payBefore, 1);
      assert.deepEqual(pay.received.at(-1)?.args, ['u-2']);
    } finally {
      dubbo.close();
    }
  });
});
