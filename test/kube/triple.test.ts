import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {KubeBackend} from '../../src/kube/backend.js';
import {applicationFromService, applicationsFromIngress, triplePortOf} from '../../src/kube/discovery.js';
import type {DiscoveryRules} from '../../src/kube/discovery.js';
import type {Ingress, Service} from '../../src/kube/types.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {GrpcConsumer, GrpcProvider, ORDER_SERVICE, USER_SERVICE, collect, grpc} from '../support/grpc-peers.js';
import {waitFor} from '../support/wait.js';
import {startKube} from './helpers.js';
import type {KubeFixture, Published} from './helpers.js';

const RULES: DiscoveryRules = {source: 'auto', ingressClass: 'dubbo', applicationAnnotation: 'dubbo-tunnel.io/application'};

function service(name: string, ports: {name?: string; port: number}[]): Service {
  return {metadata: {name, namespace: 'dev'}, spec: {selector: {app: name}, ports: ports.map((port) => ({...port, protocol: 'TCP', targetPort: port.port}))}};
}

describe('discovery of Triple ports', () => {
  it('names tri, triple, grpc, tri-* and grpc-*, or the number 50051, and never takes the Dubbo port', () => {
    for (const name of ['tri', 'triple', 'grpc', 'tri-api', 'grpc-web']) {
      assert.equal(triplePortOf(service('a', [{name: 'dubbo', port: 20880}, {name, port: 9000}]))?.port, 9000, name);
    }
    assert.equal(triplePortOf(service('a', [{name: 'dubbo', port: 20880}, {name: 'http', port: 8080}, {port: 50051}]))?.port, 50051);
    assert.equal(triplePortOf(service('a', [{name: 'dubbo', port: 20880}, {name: 'http', port: 8080}])), undefined);
    assert.equal(triplePortOf(service('a', [{name: 'trip', port: 9000}])), undefined);
  });

  it('a Service with both ports is one application with both; one with only a Triple port is an application too', () => {
    const both = applicationFromService(service('user-rpc', [{name: 'dubbo', port: 20880}, {name: 'tri', port: 50051}]), RULES);
    assert.equal(both?.servicePort?.port, 20880);
    assert.equal(both?.triplePort?.port, 50051);
    const only = applicationFromService(service('order-rpc', [{name: 'grpc', port: 50051}]), RULES);
    assert.equal(only?.application, 'order-rpc');
    assert.equal(only?.servicePort, undefined);
    assert.equal(only?.triplePort?.name, 'grpc');
    assert.equal(only?.port, 'grpc');
    assert.equal(applicationFromService(service('web', [{name: 'http', port: 8080}]), RULES), undefined);
  });

  it('an Ingress that names the Triple port gets the Service\'s Dubbo port too, and the other way round', () => {
    const services = new Map([['dev/user-rpc', service('user-rpc', [{name: 'dubbo', port: 20880}, {name: 'tri', port: 50051}])]]);
    const ingress = (port: string): Ingress => ({
      metadata: {name: 'user-rpc', namespace: 'dev'},
      spec: {ingressClassName: 'dubbo', rules: [{host: 'user-rpc', http: {paths: [{path: '/', pathType: 'Prefix', backend: {service: {name: 'user-rpc', port: {name: port}}}}]}}]},
    });
    for (const port of ['tri', 'dubbo']) {
      const [found] = applicationsFromIngress(ingress(port), services, RULES).applications;
      assert.equal(found?.servicePort?.port, 20880, port);
      assert.equal(found?.triplePort?.port, 50051, port);
    }
  });
});

describe('Triple through a (simulated) cluster', () => {
  let kube: KubeFixture;
  let handle: Published;
  let server: TunnelServer;
  let dubboUser: TestProvider;
  let user: GrpcProvider;
  let order: GrpcProvider;
  let client: GrpcConsumer;

  before(async () => {
    kube = await startKube();
    dubboUser = await TestProvider.start({application: 'user-rpc'});
    user = await GrpcProvider.start('user-rpc');
    order = await GrpcProvider.start('order-rpc');
    // user-rpc: a Dubbo port and a Triple port on the same pod; order-rpc: only a port named grpc.
    kube.api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1', target: {host: '127.0.0.1', port: dubboUser.port}}]});
    const userService = kube.api.get<{spec: {ports: unknown[]}}>('Service', 'default', 'user-rpc');
    assert.ok(userService);
    userService.spec.ports.push({name: 'tri', port: 50051, protocol: 'TCP', targetPort: 50051});
    kube.api.apply(userService);
    kube.api.setPodTarget('default', 'user-rpc-1', 50051, {host: '127.0.0.1', port: user.port});
    kube.api.addDubboApp({name: 'order-rpc', portName: 'grpc', servicePort: 50051, pods: [{name: 'order-rpc-1', target: {host: '127.0.0.1', port: order.port}}]});

    handle = await kube.serve('all', {interfaces: [[USER_SERVICE, 'user-rpc'], [ORDER_SERVICE, 'order-rpc']]});
    const {routes} = handle;
    await waitFor(() => (routes.current.backends.get('user-rpc') as KubeBackend | undefined)?.triple !== undefined, {message: 'user-rpc is routed with its Triple port'});
    server = await TunnelServer.start({host: '127.0.0.1', port: 0, routes, events: kube.events});
    client = new GrpcConsumer(`127.0.0.1:${server.port}`);
  });

  after(async () => {
    client.close();
    await server.close(200);
    await handle.stop();
    await kube.close();
    await Promise.all([user.close(), order.close(), dubboUser.close()]);
  });

  it('calls both applications over one connection, by header and by service, next to a Dubbo consumer', async () => {
    assert.equal((await client.unary('UserService', {text: 'a'})).servedBy, 'user-rpc');
    assert.equal((await client.unary('OrderService', {text: 'b'})).servedBy, 'order-rpc');
    assert.equal((await client.unary('UserService', {text: 'c'}, {metadata: {'target-application': 'order-rpc'}})).servedBy, 'order-rpc');
    const {replies, status} = await collect(client.serverStream('OrderService', {count: 3}));
    assert.equal(status.code, grpc.status.OK);
    assert.equal(replies.length, 3);

    const dubbo = await TestConsumer.connect(server.port);
    try {
      const answer = await dubbo.call({service: 'com.example.UserService', method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['u-1'], attachments: {'target-application': 'user-rpc'}});
      assert.equal(answer.kind, 'value');
    } finally {
      await dubbo.close();
    }
    const backend = handle.routes.current.backends.get('order-rpc');
    assert.ok(backend instanceof KubeBackend);
    assert.equal(backend.target.port, 'grpc');
    // A Service with only a Triple port says so (a session of such applications prints tri://).
    assert.equal(backend.tripleOnly, true);
    assert.equal(handle.routes.current.backends.get('user-rpc')?.tripleOnly, false);
    // order-rpc's pod has only its Triple port to forward to.
    assert.ok(kube.api.portForwardCount('default', 'order-rpc-1') > 0, 'the HTTP/2 session runs over a port-forward');
  });

  it('a pod that goes away ends its streams with UNAVAILABLE; new streams go to the replacement pod', async () => {
    const stream = client.serverStream('OrderService', {count: 100_000, delayMs: 20});
    const first = new Promise<void>((resolve) => stream.once('data', () => resolve()));
    const running = collect(stream);
    await first;
    kube.api.addDubboPod('default', 'order-rpc', {name: 'order-rpc-2', target: {host: '127.0.0.1', port: order.port}});
    kube.api.deletePod('default', 'order-rpc-1');
    const {status} = await running;
    assert.equal(status.code, grpc.status.UNAVAILABLE);
    assert.match(status.details, /^dubbo-tunnel \[DT_ERR_BACKEND_CLOSED\]: order-rpc: connection to pod default\/order-rpc-1:50051 failed: pod default\/order-rpc-1 is gone \(deleted\); tunnel\.test\.OrderService#ServerStream got no complete answer/);
    assert.equal((await client.unary('OrderService', {text: 'again'})).servedBy, 'order-rpc');
    assert.ok(kube.api.portForwardCount('default', 'order-rpc-2') > 0, 'the new stream went to the replacement pod');
  });
});
