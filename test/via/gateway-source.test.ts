// The laptop end of a team gateway against a real TCP peer that speaks the contract (a small
// loopback gateway, test/support/fake-gateway.ts): the hello carries the token, the catalog becomes
// offers (polled), a refused token is a clear coded error, and a session's consumers and
// applications all share one stream to the gateway, which is opened again when it goes.
import assert from 'node:assert/strict';
import net from 'node:net';
import {after, before, describe, test} from 'node:test';
import type {Offer} from '../../src/core/backend-source.js';
import {DubboTunnelError} from '../../src/core/errors.js';
import {TunnelEventBus} from '../../src/core/events.js';
import type {Catalog} from '../../src/gateway/protocol.js';
import {TunnelSession} from '../../src/session/session.js';
import {memoryKey, openSources} from '../../src/session/sources.js';
import {GatewaySource} from '../../src/via/gateway-source.js';
import type {GatewayCredential} from '../../src/via/gateway-link.js';
import {tcpDialer} from '../../src/via/tcp-dialer.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {FakeGateway} from '../support/fake-gateway.js';
import {waitFor} from '../support/wait.js';

const CATALOG: Catalog = {
  generation: 1,
  applications: [
    {name: 'user-rpc', namespace: 'shop', services: ['com.example.UserService'], triple: false},
    {name: 'order-rpc', namespace: 'shop', services: ['com.example.OrderService'], triple: true},
  ],
};

/** A credential with a fixed token, counting how often it was dropped. */
class FixedToken implements GatewayCredential {
  current: string | undefined;
  forgotten = 0;
  readonly #token: string;

  constructor(token: string) {
    this.#token = token;
  }

  get(): Promise<string> {
    this.current = this.#token;
    return Promise.resolve(this.#token);
  }

  forget(): void {
    this.forgotten++;
  }

  describe(): string {
    return 'user alice of context test';
  }
}

function sourceFor(gateway: FakeGateway, token: string, events = new TunnelEventBus()): GatewaySource {
  return new GatewaySource({target: `127.0.0.1:${gateway.port}`, dialer: tcpDialer('127.0.0.1', gateway.port), credential: new FixedToken(token), events, client: 'dubbo-tunnel/test', pollMs: 50});
}

describe('GatewaySource', () => {
  let gateway: FakeGateway;
  before(async () => {
    gateway = await FakeGateway.start({catalog: CATALOG, users: {'alice-token': 'alice'}});
  });
  after(async () => {
    await gateway.close();
  });

  test('offers each catalog application with its namespace as the place, its services, and one shared carrier', async () => {
    const source = sourceFor(gateway, 'alice-token');
    const reports: (readonly Offer[])[] = [];
    try {
      await source.start('all', (offers) => reports.push(offers));
      const offers = reports.at(-1) ?? [];
      assert.deepEqual(offers.map((offer) => [offer.backend.application, offer.where]), [['user-rpc', 'shop'], ['order-rpc', 'shop']]);
      const [user, order] = offers.map((offer) => offer.backend);
      assert.deepEqual(user?.declaredServices, ['com.example.UserService']);
      assert.equal(user?.servicesListedBy, 'gateway catalog');
      assert.ok(user?.carrier !== undefined && user.carrier === order?.carrier, 'every application is carried by the same backend');
      assert.equal(user?.triple, undefined);
      assert.ok(order?.triple !== undefined);
      const discovered = await source.discover();
      assert.deepEqual(discovered.map((entry) => `${entry.application}@${entry.where ?? ''}`), ['user-rpc@shop', 'order-rpc@shop']);
      assert.equal(source.title, `via 127.0.0.1:${gateway.port}`);
      assert.deepEqual(memoryKey([source]), {context: `via 127.0.0.1:${gateway.port}`, namespace: '-'}, 'remembered choices are the gateway\'s own');
    } finally {
      await source.close();
    }
  });

  test('the HTTP/2 port adds the developer\'s token to every stream', async () => {
    const source = sourceFor(gateway, 'alice-token');
    const reports: (readonly Offer[])[] = [];
    try {
      await source.start('all', (offers) => reports.push(offers));
      const order = reports.at(-1)?.find((offer) => offer.backend.application === 'order-rpc');
      assert.deepEqual(order?.backend.triple?.requestHeaders?.(), {'dubbo-tunnel-authorization': 'Bearer alice-token'});
    } finally {
      await source.close();
    }
  });

  test('polls the catalog and reports a change; an unchanged application keeps its backend', async () => {
    const source = sourceFor(gateway, 'alice-token');
    const reports: (readonly Offer[])[] = [];
    try {
      await source.start(new Set(['user-rpc', 'pay-rpc']), (offers) => reports.push(offers));
      assert.deepEqual(reports.at(-1)?.map((offer) => offer.backend.application), ['user-rpc']);
      const before = reports.at(-1)?.[0]?.backend;
      gateway.catalog = {generation: 2, applications: [...CATALOG.applications, {name: 'pay-rpc', namespace: 'billing', services: ['com.example.PayService'], triple: false}]};
      await waitFor(() => reports.at(-1)?.length === 2, {message: 'the new application is offered'});
      assert.deepEqual(reports.at(-1)?.map((offer) => [offer.backend.application, offer.where]), [['user-rpc', 'shop'], ['pay-rpc', 'billing']]);
      assert.equal(reports.at(-1)?.[0]?.backend, before, 'user-rpc did not change, so its backend stays');
      assert.ok(gateway.catalogPolls > 0);
    } finally {
      gateway.catalog = CATALOG;
      await source.close();
    }
  });

  test('a namespace the catalog refuses is reported as unrouted, in words with the missing permission (names withheld), and said once in the log', async () => {
    const events = new TunnelEventBus();
    const logs: string[] = [];
    events.on('log', ({level, message}) => logs.push(`${level} ${message}`));
    const source = sourceFor(gateway, 'alice-token', events);
    const reports: (readonly string[] | undefined)[] = [];
    try {
      gateway.catalog = {...CATALOG, refused: [{namespace: 'billing', applications: 2, permission: 'get services in namespace billing', unchecked: false}]};
      await source.start('all', (_offers, unrouted) => reports.push(unrouted));
      const expected = `the gateway 127.0.0.1:${gateway.port} withholds the 2 applications in namespace billing from you: you lack get services in namespace billing (ask a cluster admin for it; dubbo-tunnel doctor --via 127.0.0.1:${gateway.port} shows what you may use)`;
      assert.deepEqual(reports.at(-1), [expected]);
      assert.deepEqual(logs.filter((line) => line.includes('withholds')), [`warn via 127.0.0.1:${gateway.port}: ${expected}`]);
      gateway.catalog = {...CATALOG, generation: 3, refused: [{namespace: 'billing', applications: 1, permission: 'get services in namespace billing', unchecked: true}]};
      await waitFor(() => reports.at(-1)?.[0]?.includes('could not check') === true, {message: 'the poll reports the change'});
      assert.match(reports.at(-1)?.[0] ?? '', /could not check whether you may use the 1 application in namespace billing \(get services in namespace billing\)/);
      gateway.catalog = {...CATALOG, generation: 4};
      await waitFor(() => reports.at(-1)?.length === 0, {message: 'nothing refused any more'});
      assert.equal(logs.filter((line) => line.includes('withholds') || line.includes('could not check')).length, 2, 'each change said once');
    } finally {
      gateway.catalog = CATALOG;
      await source.close();
    }
  });

  test('the listener gets the primary stream first, and a stream of its own (with its own hello) while that one is in use', async () => {
    const source = sourceFor(gateway, 'alice-token');
    try {
      await source.start('all', () => undefined);
      const [connections, hellos] = [gateway.connections, gateway.hellos];
      const first = await source.link.connect();
      assert.equal(gateway.connections, connections, 'the primary is handed out, no new stream');
      const second = await source.link.connect();
      assert.equal(gateway.connections, connections + 1);
      assert.equal(gateway.hellos, hellos + 1, 'a second stream says hello itself');
      assert.notEqual(first.stream, second.stream);
      first.stream.destroy();
      second.stream.destroy();
      await waitFor(() => source.link.primaryOpen && gateway.connections === connections + 2, {message: 'a new primary replaces the one the listener closed'});
    } finally {
      await source.close();
    }
  });

  test('a token the gateway refuses fails the start with the gateway\'s coded words, never the token', async () => {
    const events = new TunnelEventBus();
    const logs: string[] = [];
    events.on('log', ({message}) => logs.push(message));
    const token = new FixedToken('stolen-or-expired');
    const source = new GatewaySource({target: 'gw', dialer: tcpDialer('127.0.0.1', gateway.port), credential: token, events, client: 'dubbo-tunnel/test'});
    try {
      await assert.rejects(source.start('all', () => undefined), (error: unknown) => {
        assert.ok(error instanceof DubboTunnelError);
        assert.equal(error.code, 'DT_ERR_GATEWAY_UNAUTHENTICATED');
        assert.match(error.message, /token was not accepted/);
        assert.match(error.hint ?? '', /log in again/);
        assert.doesNotMatch(`${error.message} ${error.hint ?? ''}`, /stolen-or-expired/);
        return true;
      });
      assert.equal(token.forgotten, 1, 'a refused token is not reused');
      assert.ok(logs.every((line) => !line.includes('stolen-or-expired')));
    } finally {
      await source.close();
    }
  });
});

/** One telnet command on the local port; resolves with what the shell wrote before it closed. */
function telnet(port: number, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({host: '127.0.0.1', port});
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.on('connect', () => socket.end(input));
  });
}

describe('a session through a gateway', () => {
  let gateway: FakeGateway;
  before(async () => {
    gateway = await FakeGateway.start({catalog: CATALOG, users: {'alice-token': 'alice', 'bob-token': 'bob'}});
  });
  after(async () => {
    await gateway.close();
  });

  async function callValue(consumer: TestConsumer, attachments: Record<string, string>, service = 'com.example.UserService'): Promise<unknown> {
    const answer = await consumer.call({service, method: 'get', parameterTypes: 'Ljava/lang/String;', args: ['x'], attachments});
    if (answer.kind !== 'value') assert.fail(JSON.stringify(answer, (_key, value: unknown) => typeof value === 'bigint' ? String(value) : value));
    return answer.value;
  }

  test('D laptops x M applications x C consumers open D streams to the gateway', async () => {
    const before = gateway.connections;
    const laptops: {session: TunnelSession; consumers: TestConsumer[]}[] = [];
    try {
      for (const token of ['alice-token', 'bob-token']) {
        const events = new TunnelEventBus();
        const session = await TunnelSession.start({sources: [sourceFor(gateway, token, events)], events, listen: {port: 0, host: '127.0.0.1'}, learning: {noLearn: false, resolveFile: undefined}}, 'all');
        const consumers = await Promise.all([1, 2, 3].map(() => TestConsumer.connect(session.port)));
        laptops.push({session, consumers});
      }
      for (const {consumers} of laptops) {
        for (const consumer of consumers) {
          assert.equal(await callValue(consumer, {'target-application': 'user-rpc'}), 'user-rpc:get');
          assert.equal(await callValue(consumer, {'target-application': 'order-rpc'}, 'com.example.OrderService'), 'order-rpc:get');
        }
      }
      // Routed by the catalog's services, without the attachment and without probing the gateway.
      const first = laptops[0];
      assert.ok(first !== undefined);
      await waitFor(() => first.session.routes.current.services.has('com.example.OrderService'), {message: 'the catalog services are routable'});
      assert.equal(await callValue(first.consumers[0] as TestConsumer, {}, 'com.example.OrderService'), 'order-rpc:get');
      // The telnet shell lists what the gateway offers, with the catalog's services and the gateway as the place.
      const listing = await telnet(first.session.port, 'ls -l\r\n');
      assert.match(listing, new RegExp(`user-rpc -> via 127\\.0\\.0\\.1:${gateway.port} \\(shop\\): 1 service \\(learned via gateway catalog\\)`));
      assert.match(listing, /\n {4}com\.example\.OrderService\r\n/);
      assert.equal(gateway.connections - before, laptops.length, 'one stream per laptop: the hello, the catalog polls and every request share it');
      assert.ok(gateway.served.some((line) => line.startsWith('bob ')), 'each laptop speaks as its own user');
    } finally {
      for (const {session, consumers} of laptops) {
        await Promise.all(consumers.map((consumer) => consumer.close()));
        await session.stop();
      }
    }
  });

  test('--backend overrides one application locally; the others go through the gateway', async () => {
    const local = await TestProvider.start({application: 'user-rpc-local'});
    const events = new TunnelEventBus();
    const changes: {applications: string[]; origins?: Record<string, string>}[] = [];
    events.on('routes-changed', (change) => changes.push(change));
    const sources = await openSources({backends: [{application: 'user-rpc', dubbo: {host: '127.0.0.1', port: local.port}}], otherPlaces: 1}, {events});
    sources.push(sourceFor(gateway, 'alice-token', events));
    const session = await TunnelSession.start({sources, events, listen: {port: 0, host: '127.0.0.1'}}, 'all');
    const consumer = await TestConsumer.connect(session.port);
    const served = gateway.served.length;
    try {
      assert.equal(await callValue(consumer, {'target-application': 'user-rpc'}), 'user-rpc-local:get');
      assert.equal(await callValue(consumer, {'target-application': 'order-rpc'}, 'com.example.OrderService'), 'order-rpc:get');
      assert.deepEqual(gateway.served.slice(served), ['alice order-rpc:get'], 'the overridden application never reaches the gateway');
      assert.deepEqual(changes.at(-1)?.origins, {'user-rpc': 'local', 'order-rpc': 'shop'});
    } finally {
      await consumer.close();
      await session.stop();
      await local.close();
    }
  });

  test('the stream is opened again when the gateway drops it, and requests go on', async () => {
    const events = new TunnelEventBus();
    const source = sourceFor(gateway, 'alice-token', events);
    const session = await TunnelSession.start({sources: [source], events, listen: {port: 0, host: '127.0.0.1'}}, 'all');
    const consumer = await TestConsumer.connect(session.port);
    try {
      assert.equal(await callValue(consumer, {'target-application': 'user-rpc'}), 'user-rpc:get');
      gateway.dropConnections();
      await waitFor(() => source.link.primaryOpen && gateway.openConnections > 0, {message: 'the link is open again'});
      assert.equal(await callValue(consumer, {'target-application': 'user-rpc'}), 'user-rpc:get');
    } finally {
      await consumer.close();
      await session.stop();
    }
  });
});
