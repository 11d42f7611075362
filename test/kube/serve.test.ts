import assert from 'node:assert/strict';
import {after, afterEach, before, beforeEach, describe, it} from 'node:test';
import {DubboTunnelError} from '../../src/core/errors.js';
import {KubeBackend} from '../../src/kube/backend.js';
import {openKubeSource} from '../../src/kube/session-source.js';
import type {RouteView} from '../../src/router/route-table.js';
import {RoutePublisher} from '../../src/session/publisher.js';
import {StaticSource} from '../../src/session/static-source.js';
import {waitFor} from '../support/wait.js';
import {startKube, startNoSlicesProxy} from './helpers.js';
import type {KubeFixture, Published} from './helpers.js';

function names(routes: RouteView): string[] {
  return [...routes.current.backends.keys()].sort();
}

/** The application and its ready pods, for every routed KubeBackend. */
function readyPods(routes: RouteView): [string, number][] {
  return [...routes.current.backends.values()].map((backend): [string, number] => [backend.application, backend instanceof KubeBackend ? backend.readyPods().length : -1]).sort(([a], [b]) => a.localeCompare(b));
}

// A cluster's live routes, through the path `up` takes: a KubeSource reporting to the session's
// RoutePublisher. Which place wins a name offered twice is the publisher's and is tested with the
// session (test/session/session.test.ts).
describe('live routes (a cluster source through the publisher)', () => {
  let kube: KubeFixture;
  let served: Published | undefined;
  const changes: string[][] = [];

  before(async () => {
    kube = await startKube();
    kube.events.on('routes-changed', ({applications}) => changes.push(applications));
  });
  after(async () => kube.close());
  beforeEach(() => {
    for (const service of kube.api.list<{metadata: {name: string; namespace: string}}>('Service', 'default')) {
      if (service.metadata.name !== 'kubernetes') kube.api.remove('Service', 'default', service.metadata.name);
    }
    for (const ingress of kube.api.list<{metadata: {name: string}}>('Ingress', 'default')) kube.api.remove('Ingress', 'default', ingress.metadata.name);
    changes.length = 0;
    kube.api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1'}]});
  });
  afterEach(async () => {
    await served?.stop();
    served = undefined;
  });

  it('routes every discovered application and follows Services and Ingresses as they come and go', async () => {
    served = await kube.serve('all');
    const {routes} = served;
    assert.deepEqual(names(routes), ['user-rpc']);
    assert.deepEqual(changes.at(-1), ['user-rpc']);
    const userBackend = routes.current.backends.get('user-rpc');
    assert.ok(userBackend instanceof KubeBackend);
    assert.equal(userBackend.describe(), 'svc default/user-rpc:dubbo');

    kube.api.addDubboApp({name: 'order-rpc', pods: [{name: 'order-rpc-1'}]});
    await waitFor(() => names(routes).includes('order-rpc'), {message: 'a new Service is routed'});
    assert.equal(routes.current.backends.get('user-rpc'), userBackend, 'unchanged applications keep their backend (and its streams)');

    kube.api.addDubboApp({name: 'pay', application: 'Pay_Service', ingress: true, pods: [{name: 'pay-1'}]});
    // The Service (which carries the annotation too) may show up first; the Ingress then takes over.
    await waitFor(() => (routes.current.backends.get('Pay_Service') as KubeBackend | undefined)?.target.source === 'ingress', {message: 'an Ingress is routed'});

    kube.api.remove('Service', 'default', 'order-rpc');
    await waitFor(() => !names(routes).includes('order-rpc'), {message: 'a deleted Service is unrouted'});
    kube.api.remove('Ingress', 'default', 'pay');
    // The Service of "pay" still carries the annotation, so the application stays, now from the Service.
    await waitFor(() => (routes.current.backends.get('Pay_Service') as KubeBackend | undefined)?.target.source === 'service', {message: 'falls back to the Service'});
    assert.deepEqual(changes.at(-1), ['Pay_Service', 'user-rpc']);
    assert.deepEqual(readyPods(routes), [['Pay_Service', 1], ['user-rpc', 1]]);
  });

  it('routes only the selection, and changes it live', async () => {
    kube.api.addDubboApp({name: 'order-rpc', pods: [{name: 'order-rpc-1'}]});
    const handle = served = await kube.serve(new Set(['order-rpc', 'later-rpc']));
    const {routes} = handle;
    assert.deepEqual(names(routes), ['order-rpc']);
    assert.ok(kube.logs.some((entry) => /later-rpc is selected but not discovered/.test(entry.message)));
    kube.api.addDubboApp({name: 'later-rpc', pods: [{name: 'later-rpc-1'}]});
    await waitFor(() => names(routes).includes('later-rpc'), {message: 'a selected application that appears later is routed'});
    handle.setSelection('all');
    assert.deepEqual(names(routes), ['later-rpc', 'order-rpc', 'user-rpc']);
    handle.setSelection(new Set(['user-rpc']));
    assert.deepEqual(names(routes), ['user-rpc']);
  });

  it('keeps the --route interface map and the other sources\' routes, and a closed source withdraws only its own', async () => {
    kube.api.addDubboApp({name: 'order-rpc', pods: [{name: 'order-rpc-1'}]});
    const publisher = new RoutePublisher({events: kube.events, kinds: ['local', 'cluster'], interfaces: [['com.example.Foo', 'local-only']], choice: 'all'});
    const local = new StaticSource([{application: 'local-only', dubbo: {host: '127.0.0.1', port: 2}}], kube.events, undefined);
    const source = await openKubeSource({kubeconfig: kube.kubeconfig, events: kube.events, env: {}, execStderr: null, qualify: 'none'});
    try {
      await local.start('all', (offers) => publisher.report(0, offers));
      await source.start('all', (offers) => publisher.report(1, offers));
      assert.deepEqual(names(publisher.routes), ['local-only', 'order-rpc', 'user-rpc']);
      assert.equal(publisher.routes.current.interfaces.get('com.example.Foo'), 'local-only');
      assert.deepEqual(changes.at(-1), ['local-only', 'order-rpc', 'user-rpc']);
      await source.close();
      assert.deepEqual(names(publisher.routes), ['local-only']);
      assert.equal(publisher.routes.current.interfaces.get('com.example.Foo'), 'local-only');
      assert.deepEqual(changes.at(-1), ['local-only']);
    } finally {
      await source.close();
      await local.close();
      publisher.close();
    }
  });

  it('stays live when watches are dropped and when its resourceVersion is compacted away (410)', async () => {
    served = await kube.serve('all');
    const {routes} = served;
    await waitFor(() => kube.api.watchCount('Service') === 1, {message: 'the Service watch is open'});
    kube.api.dropWatches();
    kube.api.addDubboApp({name: 'after-drop', pods: [{name: 'after-drop-1'}]});
    await waitFor(() => names(routes).includes('after-drop'), {message: 'changes made while the watch was down arrive'});

    await waitFor(() => kube.api.watchCount('Service') === 1, {message: 'watch resumed'});
    const lists = (): number => kube.api.requests.filter((request) => request.path === '/api/v1/namespaces/default/services' && !request.query.includes('watch=')).length;
    const before = lists();
    kube.api.compact();
    kube.api.dropWatches({abrupt: true});
    kube.api.addDubboApp({name: 'after-compact', pods: [{name: 'after-compact-1'}]});
    await waitFor(() => names(routes).includes('after-compact'), {message: 'after a 410 the cache is rebuilt from a fresh list'});
    assert.ok(lists() > before, 'a 410 leads to a re-list');
    kube.api.remove('Service', 'default', 'after-drop');
    await waitFor(() => !names(routes).includes('after-drop'), {message: 'still live after the re-list'});
  });

  it('survives an API server restart', async () => {
    served = await kube.serve('all');
    const {routes} = served;
    await kube.api.restart(300);
    kube.api.addDubboApp({name: 'after-restart', pods: [{name: 'after-restart-1'}]});
    await waitFor(() => names(routes).includes('after-restart'), {timeoutMs: 10_000, message: 'watches come back after the API server does'});
  });

  it('fails to start with the mapped error when the first list is not allowed', async () => {
    kube.api.deny({verb: 'watch', resource: 'endpointslices', group: 'discovery.k8s.io'});
    kube.api.deny({verb: 'list', resource: 'services'});
    served = await kube.published();
    const {routes} = served;
    try {
      await assert.rejects(served.start('all'), (error: unknown) => {
        assert.ok(error instanceof DubboTunnelError);
        assert.equal(error.code, 'DT_ERR_KUBE_FORBIDDEN');
        assert.match(error.message, /list services in namespace default/);
        return true;
      });
      assert.deepEqual(names(routes), []);
    } finally {
      kube.api.resetRbac();
    }
  });
});

describe('a cluster source over core Endpoints and over TLS', () => {
  let kube: KubeFixture;
  before(async () => {
    kube = await startKube({tls: true});
    kube.api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1'}, {name: 'user-rpc-2'}]});
  });
  after(async () => kube.close());

  it('follows readiness through core Endpoints where EndpointSlices are not served', async () => {
    // A plain-http fake behind a proxy that answers 404 for discovery.k8s.io.
    const plain = await startKube();
    plain.api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1'}, {name: 'user-rpc-2'}]});
    const proxy = await startNoSlicesProxy(plain.api.url);
    try {
      const file = plain.api.writeKubeconfig(plain.dir, {fileName: 'proxy.yaml', server: proxy.url});
      const handle = await plain.serve('all', {cluster: {kubeconfig: file}});
      const {routes} = handle;
      const backend = routes.current.backends.get('user-rpc');
      assert.ok(backend instanceof KubeBackend);
      assert.deepEqual(backend.readyPods(), ['user-rpc-1', 'user-rpc-2']);
      plain.api.setPodReady('default', 'user-rpc-1', false);
      await waitFor(() => backend.readyPods().join() === 'user-rpc-2', {message: 'the Endpoints watch sees readiness'});
      assert.ok(plain.api.requests.some((request) => request.path === '/api/v1/namespaces/default/endpoints' && request.query.includes('watch=true')));
      await handle.stop();
    } finally {
      await proxy.close();
      await plain.close();
    }
  });

  it('lists, watches and port-forwards over https with the kubeconfig CA', async () => {
    assert.ok(kube.api.url.startsWith('https://'));
    const handle = await kube.serve('all');
    const backend = handle.routes.current.backends.get('user-rpc');
    assert.ok(backend instanceof KubeBackend);
    // No target behind the pods: the wss upgrade works and the kubelet's refusal comes back as text.
    await assert.rejects(backend.connect(), /error forwarding port 20880 .*connection refused/);
    kube.api.setPodReady('default', 'user-rpc-2', false);
    await waitFor(() => backend.readyPods().join() === 'user-rpc-1', {message: 'the https watch is live'});
    await handle.stop();
  });
});
