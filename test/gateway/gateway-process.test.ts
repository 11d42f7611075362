// `dubbo-tunnel gateway` as a process, in-cluster environment pointed at the fake API server (TLS,
// a service-account directory), pods on 127.0.0.x with real Dubbo and gRPC providers behind them:
// the laptop handshake, per-namespace authorisation, anonymous consumers, garbage, Triple with its
// token header, the admin port, and the SIGTERM drain.
import assert from 'node:assert/strict';
import type {ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, test} from 'node:test';
import {
  encodeCatalogRequest, encodeHello, parseCatalog, parseHelloAnswer,
} from '../../src/gateway/protocol.js';
import {ensureBuilt} from '../support/binary.js';
import {decodeResponse, encodeHeartbeatRequest, encodeRequest, parseFrame} from '../support/dubbo-wire.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {startGatewayProcess, type GatewayProcess} from '../support/gateway-process.js';
import type {grpc} from '../support/grpc-peers.js';
import {GrpcConsumer, GrpcProvider} from '../support/grpc-peers.js';
import {waitFor} from '../support/wait.js';
import {LaptopStream} from '../support/laptop-stream.js';
import {isReadonlyEvent} from '../support/stopping.js';

const TOKENS = {alice: 'alice-secret-token-1', bob: 'bob-secret-token-2', expired: 'carol-expired-token-3', gateway: 'gateway-sa-token-4'};

function get(port: number, path: string): Promise<{status: number; body: string}> {
  return fetch(`http://127.0.0.1:${port}${path}`).then(async (response) => ({status: response.status, body: await response.text()}));
}

describe('dubbo-tunnel gateway (the process, in-cluster environment on a fake API server)', () => {
  let api: FakeKubeApi;
  let user: TestProvider;
  let pay: TestProvider;
  let greeter: GrpcProvider;
  let child: ChildProcess;
  let gateway: GatewayProcess;
  let exited: Promise<number | null>;
  let port = 0;
  let adminPort = 0;
  let serviceAccountDir = '';

  before(async () => {
    ensureBuilt();
    api = await FakeKubeApi.start({
      tls: true,
      users: {[TOKENS.alice]: 'alice', [TOKENS.bob]: 'bob', [TOKENS.expired]: 'carol', [TOKENS.gateway]: 'system:serviceaccount:dubbo-tunnel:dubbo-tunnel-gateway'},
      groups: {alice: ['developers']},
      namespaces: ['default', 'shop', 'billing', 'dubbo-tunnel'],
    });
    api.expireToken(TOKENS.expired);
    // bob may use shop only; alice and the gateway's service account may do everything.
    api.setRules('bob', [{verb: 'get', resource: 'services', namespace: 'shop'}]);
    user = await TestProvider.start({
      application: 'user-rpc', host: '127.0.0.2',
      handler: async (req) => {
        if (req.args[0] === 'slow') await new Promise((resolve) => setTimeout(resolve, 1500));
        return {value: `user-rpc:${req.method}`};
      },
    });
    pay = await TestProvider.start({application: 'pay-rpc', host: '127.0.0.3'});
    greeter = await GrpcProvider.start('greeter', 0, {host: '127.0.0.4'});
    api.addDubboApp({namespace: 'shop', name: 'user-rpc', containerPort: user.port, pods: [{name: 'user-rpc-0', podIP: '127.0.0.2'}]});
    api.addDubboApp({namespace: 'billing', name: 'pay-rpc', containerPort: pay.port, pods: [{name: 'pay-rpc-0', podIP: '127.0.0.3'}]});
    api.addDubboApp({namespace: 'billing', name: 'greeter', portName: 'tri', servicePort: 50051, containerPort: greeter.port, pods: [{name: 'greeter-0', podIP: '127.0.0.4'}]});
    serviceAccountDir = mkdtempSync(join(tmpdir(), 'dt-gateway-sa-'));
    const inCluster = api.inClusterEnv(serviceAccountDir, TOKENS.gateway);
    gateway = await startGatewayProcess(['-n', 'shop', '-n', 'billing', '--no-learn', '--drain-timeout', '5000'], inCluster);
    ({child, port, adminPort} = gateway);
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  });

  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await user.close();
    await pay.close();
    await greeter.close();
    await api.stop();
    rmSync(serviceAccountDir, {recursive: true, force: true});
  });

  test('/healthz answers, and /readyz is 200 once discovery completed', async () => {
    assert.equal((await get(adminPort, '/healthz')).status, 200);
    assert.equal((await get(adminPort, '/readyz')).status, 200);
  });

  test('a hello with a good token gets the user and their catalog; requests then go straight to the pod IPs', async () => {
    const laptop = await LaptopStream.connect(port);
    try {
      const answer = await laptop.ask(encodeHello(1n, TOKENS.alice, 'dubbo-tunnel/test'));
      assert.equal(answer.kind, 'value', JSON.stringify(answer));
      const hello = parseHelloAnswer(answer.kind === 'value' ? answer.value : undefined);
      assert.equal(hello.user, 'alice');
      assert.deepEqual(hello.catalog.applications.map((application) => `${application.namespace}/${application.name}:${String(application.triple)}`), ['billing/greeter:true', 'billing/pay-rpc:false', 'shop/user-rpc:false']);
      const reply = await laptop.call(2n, 'user-rpc');
      assert.equal(reply.kind === 'value' && reply.value, 'user-rpc:getUser');
      assert.equal(user.received.at(-1)?.method, 'getUser', 'the provider on 127.0.0.2 got it');
      const catalog = await laptop.ask(encodeCatalogRequest(3n));
      assert.equal(catalog.kind === 'value' && parseCatalog(catalog.value).applications.length, 3);
      // Heartbeats are answered as always.
      laptop.socket.write(encodeHeartbeatRequest(4n));
      const heartbeat = parseFrame(await laptop.frame());
      assert.equal(heartbeat.event, true);
      assert.equal(api.portForwardsServed, 0, 'no port-forward: pods are dialled by IP');
    } finally {
      laptop.close();
    }
  });

  test('a user denied one namespace gets DT_ERR_GATEWAY_FORBIDDEN naming the permission; the other namespace works on the same stream', async () => {
    const laptop = await LaptopStream.connect(port);
    try {
      const answer = await laptop.ask(encodeHello(1n, TOKENS.bob, 'dubbo-tunnel/test'));
      const hello = parseHelloAnswer(answer.kind === 'value' ? answer.value : undefined);
      assert.equal(hello.user, 'bob');
      assert.deepEqual(hello.catalog.applications.map((application) => application.name), ['user-rpc'], 'only what bob may use');
      assert.deepEqual(hello.catalog.refused, [{namespace: 'billing', applications: 2, permission: 'get services in namespace billing', unchecked: false}], 'what bob may not use: how many, and the permission, without the names');
      const denied = await laptop.call(2n, 'pay-rpc');
      assert.equal(denied.status, 70);
      const message = denied.kind === 'error' ? denied.message : '';
      assert.match(message, /^dubbo-tunnel \[DT_ERR_GATEWAY_FORBIDDEN\]: /);
      assert.match(message, /get services in namespace billing/);
      assert.match(message, /kubectl auth can-i get services -n billing/);
      assert.equal(pay.received.length, 0, 'nothing reached pay-rpc');
      const allowed = await laptop.call(3n, 'user-rpc');
      assert.equal(allowed.kind === 'value' && allowed.value, 'user-rpc:getUser');
      const reviews = api.subjectAccessReviews.filter((review) => review.user === 'bob' && review.namespace === 'billing');
      const again = await laptop.call(4n, 'pay-rpc');
      assert.equal(again.status, 70);
      assert.equal(api.subjectAccessReviews.filter((review) => review.user === 'bob' && review.namespace === 'billing').length, reviews.length, 'the decision is cached');
    } finally {
      laptop.close();
    }
  });

  for (const [name, token, words] of [['an unknown token', 'not-a-token-anyone-knows', /did not accept the token/], ['an expired token', TOKENS.expired, /expired/]] as const) {
    test(`a hello with ${name} gets DT_ERR_GATEWAY_UNAUTHENTICATED without the token in it, and the stream is closed`, async () => {
      const laptop = await LaptopStream.connect(port);
      const answer = await laptop.ask(encodeHello(1n, token, 'dubbo-tunnel/test'));
      assert.equal(answer.kind, 'refused');
      assert.equal(answer.kind === 'refused' && answer.code, 'DT_ERR_GATEWAY_UNAUTHENTICATED');
      const message = answer.kind === 'refused' ? answer.message : '';
      assert.match(message, words);
      assert.equal(message.includes(token), false, 'the token is not in the answer');
      await laptop.waitClosed();
    });
  }

  test('a hello of another protocol version gets DT_ERR_GATEWAY_PROTOCOL; garbage bytes are dropped; the gateway keeps serving', async () => {
    const laptop = await LaptopStream.connect(port);
    const bad = encodeRequest({id: 1n, service: 'dubbo-tunnel.Gateway', method: 'hello', parameterTypes: 'Ljava/lang/String;', args: ['{"protocolVersion":99,"client":"x"}'], attachments: {authorization: `Bearer ${TOKENS.alice}`}});
    const answer = await laptop.ask(bad);
    assert.equal(answer.kind === 'refused' && answer.code, 'DT_ERR_GATEWAY_PROTOCOL');
    await laptop.waitClosed();
    const garbage = await LaptopStream.connect(port);
    garbage.socket.write(Buffer.from([0x00, 0x01, 0x02, 0xfe, ...Buffer.from(' is not Dubbo, HTTP/2 or a telnet line\r\n')]));
    await garbage.waitClosed();
    const next = await LaptopStream.connect(port);
    const ok = await next.ask(encodeHello(1n, TOKENS.alice, 'dubbo-tunnel/test'));
    assert.equal(ok.kind, 'value');
    next.close();
  });

  test('a plain consumer without a hello gets DT_ERR_GATEWAY_UNAUTHENTICATED for every request; its connection stays', async () => {
    const consumer = await TestConsumer.connect(port);
    try {
      for (const id of [1n, 2n]) {
        const reply = await consumer.call({id, service: 'com.example.UserService', method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['u-1'], attachments: {'target-application': 'user-rpc'}});
        assert.equal(reply.status, 70);
        assert.match(reply.kind === 'error' ? reply.message : '', /^dubbo-tunnel \[DT_ERR_GATEWAY_UNAUTHENTICATED\]: .*no hello/);
      }
    } finally {
      await consumer.close();
    }
  });

  test('Triple/gRPC: the token header is checked and stripped; no token is UNAUTHENTICATED (16), a denied namespace PERMISSION_DENIED (7)', async () => {
    const consumer = new GrpcConsumer(`127.0.0.1:${port}`);
    try {
      const reply = await consumer.unary('UserService', {text: 'hi'}, {metadata: {'dubbo-tunnel-authorization': `Bearer ${TOKENS.alice}`, 'target-application': 'greeter'}});
      assert.equal(reply.servedBy, 'greeter', 'alice reaches greeter');
      const keys = greeter.metadataKeys.at(-1) ?? [];
      assert.ok(keys.includes('target-application'), 'the other headers pass');
      assert.equal(keys.includes('dubbo-tunnel-authorization'), false, 'the token header is stripped before the provider');
      const missing = await consumer.unary('UserService', {text: 'hi'}, {metadata: {'target-application': 'greeter'}}).then(() => undefined, (error: grpc.ServiceError) => error);
      assert.equal(missing?.code, 16);
      assert.match(missing?.details ?? '', /DT_ERR_GATEWAY_UNAUTHENTICATED/);
      const denied = await consumer.unary('UserService', {text: 'hi'}, {metadata: {'dubbo-tunnel-authorization': `Bearer ${TOKENS.bob}`, 'target-application': 'greeter'}}).then(() => undefined, (error: grpc.ServiceError) => error);
      assert.equal(denied?.code, 7);
      assert.match(denied?.details ?? '', /DT_ERR_GATEWAY_FORBIDDEN.*get services in namespace billing/);
    } finally {
      consumer.close();
    }
  });

  test('/metrics is Prometheus text with requests, errors by code, latency, upstreams and laptops; no token anywhere', async () => {
    const laptop = await LaptopStream.connect(port);
    await laptop.ask(encodeHello(1n, TOKENS.alice, 'dubbo-tunnel/test'));
    const reply = await laptop.call(2n, 'user-rpc');
    assert.equal(reply.kind, 'value');
    const {status, body} = await get(adminPort, '/metrics');
    assert.equal(status, 200);
    const samples = new Map<string, number>();
    for (const line of body.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
      assert.ok(match, `not a Prometheus sample line: ${line}`);
      samples.set(match[1] as string, Number(match[2]));
    }
    assert.ok((samples.get('dubbo_tunnel_gateway_requests_total{protocol="dubbo",outcome="ok"}') ?? 0) >= 2);
    assert.ok((samples.get('dubbo_tunnel_gateway_errors_total{code="DT_ERR_GATEWAY_FORBIDDEN"}') ?? 0) >= 2);
    assert.ok((samples.get('dubbo_tunnel_gateway_errors_total{code="DT_ERR_GATEWAY_UNAUTHENTICATED"}') ?? 0) >= 2);
    assert.ok((samples.get('dubbo_tunnel_gateway_request_duration_seconds_count{protocol="dubbo"}') ?? 0) >= 2);
    assert.ok(samples.has('dubbo_tunnel_gateway_request_duration_seconds_bucket{le="+Inf",protocol="dubbo"}'));
    assert.ok((samples.get('dubbo_tunnel_gateway_upstreams') ?? 0) >= 1, 'the shared upstream to user-rpc');
    assert.equal(samples.get('dubbo_tunnel_gateway_laptops_connected'), 1);
    assert.equal(samples.get('dubbo_tunnel_gateway_applications'), 3);
    laptop.close();
    for (const token of Object.values(TOKENS)) {
      assert.equal(body.includes(token), false, 'no token in the metrics');
      assert.equal(gateway.output().includes(token), false, 'no token in the log');
    }
  });

  test('SIGTERM drains: /readyz fails, new connections are refused, the request in flight is answered, exit 0', async () => {
    const laptop = await LaptopStream.connect(port);
    await laptop.ask(encodeHello(1n, TOKENS.alice, 'dubbo-tunnel/test'));
    laptop.socket.write(encodeRequest({id: 9n, service: 'com.example.UserService', method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['slow'], attachments: {'target-application': 'user-rpc'}}));
    await waitFor(() => user.received.some((req) => req.args[0] === 'slow'), {timeoutMs: 5000, message: 'the slow request did not arrive'});
    child.kill('SIGTERM');
    await waitFor(async () => (await get(adminPort, '/readyz').catch(() => ({status: 0}))).status !== 200, {timeoutMs: 5000, message: 'still ready after SIGTERM'});
    await waitFor(async () => !(await new Promise<boolean>((resolve) => {
      const socket = net.connect({port, host: '127.0.0.1'}, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    })), {timeoutMs: 5000, message: 'still accepting after SIGTERM'});
    // Like a Dubbo provider, the gateway first says READONLY (so the laptop sends no more), then answers.
    assert.ok(isReadonlyEvent(parseFrame(await laptop.frame())), 'the READONLY event comes first');
    const answer = decodeResponse(parseFrame(await laptop.frame()));
    assert.equal(answer.kind === 'value' && answer.value, 'user-rpc:getUser');
    assert.equal(await exited, 0, gateway.output());
  });
});
