// Learning what Triple-only applications export, over real HTTP/2 on loopback: a provider that serves
// MetadataService on its Triple port the way Dubbo 3.2.16 does (wrapper mode, the captured Hessian
// values), and a grpc-js server with server reflection; then stock Triple and gRPC consumers that name
// no application, routed by what was learned. Also: a tri:// backend keeps its qos:// address, and a
// session of Triple-only applications tells consumers a tri:// address.
import assert from 'node:assert/strict';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import http2 from 'node:http2';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {PassThrough} from 'node:stream';
import {after, describe, test} from 'node:test';
import hessian from 'hessian.js';
import {TunnelEventBus} from '../../src/core/events.js';
import type {Offer} from '../../src/core/backend-source.js';
import {ExportLearner} from '../../src/learning/export-learner.js';
import {briefMiss, probeExports} from '../../src/learning/probe.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {attachLineReporter} from '../../src/reporters/line-reporter.js';
import {RoutePublisher} from '../../src/session/publisher.js';
import {startLearning} from '../../src/session/learning.js';
import {StaticSource} from '../../src/session/static-source.js';
import {fixturesMissing} from '../support/discovery-fixtures.js';
import {startDiscoveryProvider} from '../support/discovery-providers.js';
import {GrpcProvider, ORDER_SERVICE, USER_SERVICE, grpc} from '../support/grpc-peers.js';
import {startTripleMetadataProvider} from '../support/triple-metadata-provider.js';
import {waitFor} from '../support/wait.js';
import {encodeGrpcMessageFrame} from '../../src/protocol/grpc.js';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.all(closers.map((close) => close()));
});

async function tripleProvider(...args: Parameters<typeof startTripleMetadataProvider>) {
  const provider = await startTripleMetadataProvider(...args);
  closers.push(() => provider.close());
  return provider;
}

async function grpcProvider(application: string, reflection: boolean): Promise<GrpcProvider> {
  const provider = await GrpcProvider.start(application, 0, {reflection});
  closers.push(() => provider.close());
  return provider;
}

const tripleOnly = (application: string, port: number) => StaticBackend.tripleOnly(application, {host: '127.0.0.1', port});

describe('probeExports on a Triple-only application', {skip: fixturesMissing}, () => {
  test('Dubbo 3.2 over Triple: MetadataService.getMetadataInfos() in wrapper mode, group = the application', async () => {
    const p = await tripleProvider('pay-rpc', 'pay', 'zk');
    const result = await probeExports(tripleOnly('pay-rpc', p.port), {timeoutMs: 2000});
    assert.deepEqual(result.keys, ['g1/demo.PayService:1.0.0']);
    assert.equal(result.via, 'triple-metadata-service');
    assert.equal(result.providerApplication, 'pay-rpc');
    assert.deepEqual(p.asked, ['org.apache.dubbo.metadata.MetadataService/getMetadataInfos:pay-rpc']);
  });

  test('under another application name: the provider falls back to the bare interface name and names itself', async () => {
    const p = await tripleProvider('user-rpc', 'user', 'zk');
    const result = await probeExports(tripleOnly('users', p.port), {timeoutMs: 2000});
    assert.deepEqual(result.keys, ['demo.UserService']);
    assert.equal(result.via, 'triple-metadata-service');
    assert.equal(result.providerApplication, 'user-rpc');
    assert.deepEqual(p.asked, ['org.apache.dubbo.metadata.MetadataService/getMetadataInfos:users']);
  });
});

describe('probeExports on a gRPC server (the Triple port of a non-Dubbo application)', () => {
  test('a gRPC server: server reflection list_services, its own plumbing left out', async () => {
    const p = await grpcProvider('echo-rpc', true);
    const result = await probeExports(tripleOnly('echo-rpc', p.port), {timeoutMs: 2000});
    assert.deepEqual(result.keys, [ORDER_SERVICE, USER_SERVICE]);
    assert.equal(result.via, 'grpc-reflection');
    assert.match(result.misses.join('\n'), /Triple MetadataService: not exported \(UNIMPLEMENTED: /);
  });

  test('a gRPC server without reflection: nothing learned, each way says why', async () => {
    const p = await grpcProvider('plain-rpc', false);
    const result = await probeExports(tripleOnly('plain-rpc', p.port), {timeoutMs: 2000});
    assert.deepEqual(result.keys, []);
    assert.equal(result.via, undefined);
    // Nothing is asked on the Dubbo port it does not have.
    assert.deepEqual(result.misses.map(briefMiss), ['Triple MetadataService: not exported', 'gRPC reflection: not enabled', 'QoS: no address']);
  });
});

describe('--backend app=tri://… with qos://…', {skip: fixturesMissing}, () => {
  test('the static source keeps the QoS address, and learning uses it when Triple metadata is empty', async () => {
    const triple = await tripleProvider('user-rpc', 'user', 'noreg');
    const qos = await startDiscoveryProvider('user-rpc', 'user', '32-noreg');
    closers.push(() => qos.close());
    const events = new TunnelEventBus();
    const source = new StaticSource([{application: 'user-rpc', triple: {host: '127.0.0.1', port: triple.port}, qos: {host: '127.0.0.1', port: qos.qosPort ?? 0}}], events, undefined);
    let offers: readonly Offer[] = [];
    await source.start('all', (reported) => (offers = reported));
    const backend = offers[0]?.backend;
    assert.ok(backend);
    assert.equal(backend.qos?.describe(), `qos://127.0.0.1:${qos.qosPort ?? 0}`);
    assert.equal(backend.tripleOnly, true);
    const result = await probeExports(backend, {timeoutMs: 2000});
    assert.deepEqual(result.keys, ['demo.UserService']);
    assert.equal(result.via, 'qos');
    assert.match(result.misses.join('\n'), /Triple MetadataService: its metadata is empty/);
    await source.close();
  });
});

/** A Triple call as a stock Dubbo 3.2 consumer writes it (RequestMetadata.toHeaders), with no target-application. */
function stockTripleCall(port: number, service: string, method: string): Promise<{status: string | undefined; value: unknown}> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({
      ':method': 'POST', ':path': `/${service}/${method}`, 'content-type': 'application/grpc+proto', 'te': 'trailers',
      'grpc-timeout': '3000m', 'tri-consumer-appname': 'order-web', 'grpc-accept-encoding': 'identity',
    });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    stream.on('response', (headers) => (status ??= headers['grpc-status'] as string | undefined));
    stream.on('trailers', (trailers: http2.IncomingHttpHeaders) => (status = trailers['grpc-status'] as string | undefined));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('close', () => {
      session.close();
      const body = Buffer.concat(chunks);
      if (body.length < 5) {
        resolve({status, value: undefined});
        return;
      }
      // TripleResponseWrapper: field 1 serializeType, field 2 data (a hessian2 string here), field 3 type.
      const wrapper = body.subarray(5);
      let offset = 0;
      let value: unknown;
      while (offset < wrapper.length) {
        const tag = wrapper[offset++] ?? 0;
        const length = wrapper[offset++] ?? 0;
        if (tag >> 3 === 2) value = new hessian.DecoderV2(wrapper.subarray(offset, offset + length)).read();
        offset += length;
      }
      resolve({status, value});
    });
    // TripleRequestWrapper {serializeType: "hessian4"}: a method without parameters.
    const message = Buffer.concat([Buffer.from([0x0a, 8]), Buffer.from('hessian4')]);
    stream.end(encodeGrpcMessageFrame(message));
  });
}

describe('Triple consumers without --route', {skip: fixturesMissing}, () => {
  test('a stock Triple consumer and a gRPC client reach the application that was learned to export the service', async () => {
    const user = await tripleProvider('user-rpc', 'user', 'zk');
    const echo = await grpcProvider('echo-rpc', true);
    const events = new TunnelEventBus();
    const learner = new ExportLearner({events, timeoutMs: 2000});
    const publisher = new RoutePublisher({events, kinds: ['local'], choice: 'all', learner});
    publisher.report(0, [tripleOnly('user-rpc', user.port), tripleOnly('echo-rpc', echo.port)].map((backend) => ({backend, where: undefined})));
    let scheme: string | undefined;
    events.on('listening', (e) => (scheme = e.scheme));
    const out = new PassThrough();
    let printed = '';
    out.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const detach = attachLineReporter(events, {level: 'info', json: false, out});
    const server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes: publisher.routes, events});
    try {
      // Only Triple ports are routed: consumers are told a tri:// address, never dubbo://.
      assert.equal(scheme, 'tri');
      assert.match(printed, new RegExp(`point consumers at tri://127\\.0\\.0\\.1:${server.port} `));
      assert.doesNotMatch(printed, /dubbo:\/\//);
      await learner.settled();
      assert.deepEqual(learner.all().map((s) => [s.application, s.state, s.keys, s.via]).sort(), [
        ['echo-rpc', 'learned', [ORDER_SERVICE, USER_SERVICE], 'grpc-reflection'],
        ['user-rpc', 'learned', ['demo.UserService'], 'triple-metadata-service'],
      ]);

      const answer = await stockTripleCall(server.port, 'demo.UserService', 'whoami');
      assert.deepEqual(answer, {status: '0', value: 'user-rpc demo.UserService'});

      const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
      try {
        const reply = await new Promise<Buffer>((resolve, reject) => {
          client.makeUnaryRequest(`/${USER_SERVICE}/Unary`, (value: Buffer) => value, (value: Buffer) => value, Buffer.from([0x0a, 2, 0x68, 0x69]), new grpc.Metadata(), (error, value) => (error || !value ? reject(error ?? new Error('no reply')) : resolve(value)));
        });
        // EchoReply field 2 (served_by) names the application the tunnel chose.
        assert.match(reply.toString('latin1'), /echo-rpc/);
      } finally {
        client.close();
      }
    } finally {
      detach();
      publisher.close();
      learner.close();
      await server.close();
    }
  });

  test('a session that also routes a Dubbo port keeps telling consumers dubbo://', async () => {
    const events = new TunnelEventBus();
    let scheme: string | undefined;
    events.on('listening', (e) => (scheme = e.scheme));
    const publisher = new RoutePublisher({events, kinds: ['local'], choice: 'all'});
    publisher.report(0, [tripleOnly('a-rpc', 1), new StaticBackend('b-rpc', '127.0.0.1', 2)].map((backend) => ({backend, where: undefined})));
    const server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes: publisher.routes, events});
    try {
      assert.equal(scheme, 'dubbo');
    } finally {
      publisher.close();
      await server.close();
    }
  });
});

describe('the resolve file for Triple-only applications', {skip: fixturesMissing}, () => {
  test('their interfaces are written as tri:// lines, the others stay dubbo://', async () => {
    const user = await tripleProvider('user-rpc', 'user', 'zk');
    const dir = mkdtempSync(path.join(tmpdir(), 'dt-triple-resolve-'));
    closers.push(() => Promise.resolve(rmSync(dir, {recursive: true, force: true})));
    const file = path.join(dir, 'dubbo-resolve.properties');
    const events = new TunnelEventBus();
    const learning = startLearning({events, noLearn: false, resolveFile: file});
    const publisher = new RoutePublisher({events, kinds: ['local'], interfaces: [['com.example.Mapped', 'pay-rpc']], choice: 'all', learner: learning.learner});
    try {
      publisher.report(0, [tripleOnly('user-rpc', user.port), new StaticBackend('pay-rpc', '127.0.0.1', 1)].map((backend) => ({backend, where: undefined})));
      learning.listening('::', 20992, publisher.routes);
      await waitFor(() => readFileSync(file, 'utf8').includes('demo.UserService='), {message: 'the learned interface'});
      const lines = readFileSync(file, 'utf8').split('\n').filter((line) => line !== '' && !line.startsWith('#'));
      assert.deepEqual(lines, [
        'com.example.Mapped=dubbo://localhost:20992?serialization=hessian2&prefer.serialization=hessian2',
        'demo.UserService=tri://localhost:20992',
      ]);
    } finally {
      publisher.close();
      learning.stop();
    }
  });
});
