/**
 * Self-test of the fake Kubernetes API server, driven by the real @kubernetes/client-node 1.4.0
 * (generated API clients, Watch, informer, PortForward) and, where client-node hides the wire, by
 * raw http / ws clients.
 */
import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {PassThrough} from 'node:stream';
import {
  ApiException,
  AuthorizationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  makeInformer,
  NetworkingV1Api,
  PortForward,
  VersionApi,
  Watch,
  type V1Pod,
} from '@kubernetes/client-node';
import {WebSocket} from 'ws';
import {FakeKubeApi, type KubeObject} from '../support/fake-kube-api.js';

// ---------------------------------------------------------------- helpers

/** client-node returns model class instances; compare their JSON. */
function plain(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface TcpServer {
  port: number;
  /** Sockets accepted so far (open or closed). */
  accepted: net.Socket[];
  close(): Promise<void>;
}

/** A TCP echo server standing in for a pod's Dubbo port. */
async function startEcho(onConnection?: (socket: net.Socket) => void): Promise<TcpServer> {
  const accepted: net.Socket[] = [];
  const server = net.createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => undefined);
    if (onConnection !== undefined) onConnection(socket);
    else socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted,
    close: async () => {
      for (const s of accepted) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port on which nothing listens. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function kubeConfigFor(fake: FakeKubeApi, options: Parameters<FakeKubeApi['kubeconfig']>[0] = {}): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfig(options));
  return kc;
}

function statusOf(err: unknown): {code: number; body: Record<string, unknown> | undefined} {
  assert.ok(err instanceof ApiException, `expected ApiException, got ${String(err)}`);
  const body = typeof err.body === 'string' ? (JSON.parse(err.body) as Record<string, unknown>) : undefined;
  return {code: err.code, body};
}

async function rawGet(fake: FakeKubeApi, path: string, token: string | null = fake.token): Promise<{status: number; headers: http.IncomingHttpHeaders; body: string}> {
  return await new Promise((resolve, reject) => {
    const req = http.get(`${fake.url}${path}`, {headers: token === null ? {} : {Authorization: `Bearer ${token}`}}, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8')}));
    });
    req.on('error', reject);
  });
}

interface WatchEvent {
  type: string;
  object: KubeObject & {code?: number; reason?: string};
}

/** client-node's Watch, collecting events; `done` resolves with the error passed to its done callback. */
async function startWatch(kc: KubeConfig, path: string, query: Record<string, string | boolean>) {
  const events: WatchEvent[] = [];
  let resolveDone!: (err: unknown) => void;
  const done = new Promise<unknown>((resolve) => (resolveDone = resolve));
  const controller = await new Watch(kc).watch(path, query, (type, object) => events.push({type, object: object as WatchEvent['object']}), (err) => resolveDone(err));
  return {events, done, abort: () => controller.abort()};
}

interface PortForwardRun {
  ws: WebSocket;
  output: Buffer[];
  errors: Buffer[];
  input: PassThrough;
  closed: Promise<number>;
  outputText(): string;
  errorText(): string;
}

async function clientNodePortForward(kc: KubeConfig, namespace: string, pod: string, port: number): Promise<PortForwardRun> {
  const output = new PassThrough();
  const errStream = new PassThrough();
  const input = new PassThrough();
  const out: Buffer[] = [];
  const errs: Buffer[] = [];
  output.on('data', (c: Buffer) => out.push(c));
  errStream.on('data', (c: Buffer) => errs.push(c));
  const ws = (await new PortForward(kc).portForward(namespace, pod, [port], output, errStream, input)) as WebSocket;
  const closed = new Promise<number>((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve(1005);
    else ws.on('close', (code) => resolve(code));
  });
  return {
    ws, output: out, errors: errs, input, closed,
    outputText: () => Buffer.concat(out).toString('utf8'),
    errorText: () => Buffer.concat(errs).toString('utf8'),
  };
}

/** Raw ws handshake to see the HTTP status and Status body that client-node hides. */
async function rawUpgrade(fake: FakeKubeApi, path: string, options: {token?: string; protocols?: string[]} = {}):
  Promise<{ws: WebSocket; messages: {data: Buffer; binary: boolean}[]; closed: Promise<number>} | {status: number; body: string}> {
  const ws = new WebSocket(`${fake.url.replace(/^http/, 'ws')}${path}`, options.protocols ?? ['v4.channel.k8s.io'], {
    headers: {Authorization: `Bearer ${options.token ?? fake.token}`},
  });
  const messages: {data: Buffer; binary: boolean}[] = [];
  ws.on('message', (data, binary) => messages.push({data: data as Buffer, binary}));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return await new Promise((resolve, reject) => {
    ws.on('open', () => resolve({ws, messages, closed}));
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8')});
        ws.terminate();
      });
    });
    ws.on('error', (err) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(err);
    });
  });
}

// ---------------------------------------------------------------- tests

describe('fake Kubernetes API server: REST through client-node', () => {
  let fake: FakeKubeApi;
  let kc: KubeConfig;
  let echo: TcpServer;

  before(async () => {
    fake = await FakeKubeApi.start();
    kc = kubeConfigFor(fake, {namespace: 'dev'});
    echo = await startEcho();
    fake.addDubboApp({
      namespace: 'dev', name: 'user-rpc', application: 'User_Service', targetPort: 'dubbo-port', containerPort: 20881,
      ingress: true,
      pods: [{name: 'user-rpc-a', target: {host: '127.0.0.1', port: echo.port}}, {name: 'user-rpc-b', ready: false}],
    });
    fake.addDubboApp({namespace: 'dev', name: 'order-rpc', ingress: {viaAnnotation: true, backendPort: 'number'}, pods: [{name: 'order-rpc-a'}]});
    fake.addDubboApp({namespace: 'prod', name: 'pay-rpc', pods: []});
  });
  after(async () => {
    await fake.stop();
    await echo.close();
  });

  it('lists Services, Pods, Endpoints, EndpointSlices and Ingresses as a real server formats them', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const services = await core.listNamespacedService({namespace: 'dev'});
    assert.equal(services.kind, 'ServiceList');
    assert.equal(services.apiVersion, 'v1');
    assert.match(services.metadata?.resourceVersion ?? '', /^\d+$/);
    assert.deepEqual(services.items.map((s) => s.metadata?.name), ['order-rpc', 'user-rpc']);
    const svc = services.items[1]!;
    assert.equal(svc.metadata?.annotations?.['dubbo-tunnel.io/application'], 'User_Service');
    assert.equal(svc.spec?.ports?.[0]?.name, 'dubbo');
    assert.equal(svc.spec?.ports?.[0]?.port, 20880);
    assert.equal(svc.spec?.ports?.[0]?.targetPort, 'dubbo-port');
    for (const key of ['uid', 'resourceVersion', 'creationTimestamp'] as const) assert.ok(svc.metadata?.[key] !== undefined, key);

    // Items in the raw list carry no kind/apiVersion; a single GET does.
    const raw = JSON.parse((await rawGet(fake, '/api/v1/namespaces/dev/services')).body) as {items: KubeObject[]};
    assert.equal(raw.items[0]?.kind, undefined);
    const one = await core.readNamespacedService({namespace: 'dev', name: 'user-rpc'});
    assert.equal(one.kind, 'Service');

    const pods = await core.listNamespacedPod({namespace: 'dev', labelSelector: 'app=user-rpc'});
    assert.deepEqual(pods.items.map((p) => p.metadata?.name), ['user-rpc-a', 'user-rpc-b']);
    const readyOf = (p: V1Pod): string | undefined => p.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    assert.deepEqual(pods.items.map(readyOf), ['True', 'False']);
    assert.equal(pods.items[0]?.spec?.containers[0]?.ports?.[0]?.name, 'dubbo-port');
    assert.equal(pods.items[0]?.status?.phase, 'Running');

    const slices = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({namespace: 'dev', labelSelector: 'kubernetes.io/service-name=user-rpc'});
    assert.equal(slices.items.length, 1);
    const slice = slices.items[0]!;
    assert.equal(slice.addressType, 'IPv4');
    // The named targetPort is resolved to the container port number, as real slices do.
    assert.deepEqual(plain(slice.ports), [{name: 'dubbo', port: 20881, protocol: 'TCP'}]);
    assert.deepEqual(slice.endpoints.map((e) => [e.targetRef?.name, e.conditions?.ready, e.conditions?.serving, e.conditions?.terminating]),
      [['user-rpc-a', true, true, false], ['user-rpc-b', false, false, false]]);
    assert.match(slice.endpoints[0]?.addresses[0] ?? '', /^10\.244\.\d+\.\d+$/);

    const endpoints = await core.readNamespacedEndpoints({namespace: 'dev', name: 'user-rpc'});
    assert.equal(endpoints.subsets?.[0]?.addresses?.[0]?.targetRef?.name, 'user-rpc-a');
    assert.equal(endpoints.subsets?.[0]?.notReadyAddresses?.[0]?.targetRef?.name, 'user-rpc-b');
    assert.deepEqual(plain(endpoints.subsets?.[0]?.ports), [{name: 'dubbo', port: 20881, protocol: 'TCP'}]);

    const net = kc.makeApiClient(NetworkingV1Api);
    const ingresses = await net.listNamespacedIngress({namespace: 'dev'});
    assert.deepEqual(ingresses.items.map((i) => i.metadata?.name), ['order-rpc', 'user-rpc']);
    const [orderIngress, userIngress] = ingresses.items;
    assert.equal(userIngress?.spec?.ingressClassName, 'dubbo');
    // "User_Service" is not a valid host, so the host falls back to the Service name; the annotation keeps the app name.
    assert.equal(userIngress?.spec?.rules?.[0]?.host, 'user-rpc');
    assert.equal(userIngress?.metadata?.annotations?.['dubbo-tunnel.io/application'], 'User_Service');
    assert.deepEqual(plain(userIngress?.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.port), {name: 'dubbo'});
    assert.equal(orderIngress?.spec?.ingressClassName, undefined);
    assert.equal(orderIngress?.metadata?.annotations?.['kubernetes.io/ingress.class'], 'dubbo');
    assert.deepEqual(plain(orderIngress?.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.port), {number: 20880});
    const allIngresses = await net.listIngressForAllNamespaces();
    assert.equal(allIngresses.items.length, 2);

    const namespaces = await core.listNamespace();
    assert.deepEqual(namespaces.items.map((n) => n.metadata?.name), ['default', 'dev', 'kube-node-lease', 'kube-public', 'kube-system', 'prod']);
    const allPods = await core.listPodForAllNamespaces();
    assert.equal(allPods.items.length, 3);
  });

  it('keeps a placeholder slice with null endpoints for a Service without pods', async () => {
    const slices = await kc.makeApiClient(DiscoveryV1Api).listEndpointSliceForAllNamespaces({labelSelector: 'kubernetes.io/service-name=pay-rpc'});
    assert.equal(slices.items.length, 1);
    const raw = JSON.parse((await rawGet(fake, `/apis/discovery.k8s.io/v1/namespaces/prod/endpointslices/${slices.items[0]!.metadata!.name!}`)).body) as Record<string, unknown>;
    assert.equal(raw.endpoints, null);
    const ep = JSON.parse((await rawGet(fake, '/api/v1/namespaces/prod/endpoints/pay-rpc')).body) as Record<string, unknown>;
    assert.equal(ep.subsets, undefined);
  });

  it('honours label selector operators, field selectors and pagination', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const names = async (labelSelector?: string, fieldSelector?: string): Promise<string[]> =>
      (await core.listPodForAllNamespaces({...(labelSelector === undefined ? {} : {labelSelector}), ...(fieldSelector === undefined ? {} : {fieldSelector})}))
        .items.map((p) => p.metadata?.name ?? '');
    assert.deepEqual(await names('app in (order-rpc, user-rpc),app!=user-rpc'), ['order-rpc-a']);
    assert.deepEqual(await names('app notin (user-rpc)'), ['order-rpc-a']);
    assert.deepEqual(await names('app'), ['order-rpc-a', 'user-rpc-a', 'user-rpc-b']);
    assert.deepEqual(await names('!app'), []);
    assert.deepEqual(await names('app==user-rpc,pod-template-hash'), ['user-rpc-a', 'user-rpc-b']);
    assert.deepEqual(await names(undefined, 'metadata.name=user-rpc-b'), ['user-rpc-b']);
    assert.deepEqual(await names(undefined, 'metadata.namespace=dev,metadata.name!=user-rpc-b'), ['order-rpc-a', 'user-rpc-a']);

    const bad = await rawGet(fake, '/api/v1/pods?fieldSelector=spec.bogus%3Dx');
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.body) as {message: string}).message, 'field label not supported: spec.bogus');

    const first = await core.listPodForAllNamespaces({limit: 2});
    assert.equal(first.items.length, 2);
    assert.equal(first.metadata?.remainingItemCount, 1);
    const rest = await core.listPodForAllNamespaces({limit: 2, _continue: first.metadata?._continue ?? ''});
    assert.deepEqual(rest.items.map((p) => p.metadata?.name), ['user-rpc-b']);
    assert.equal(rest.metadata?._continue, undefined);
  });

  it('answers 404 Status JSON for missing objects and unknown paths', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await assert.rejects(core.readNamespacedPod({namespace: 'dev', name: 'nope'}), (err) => {
      const {code, body} = statusOf(err);
      assert.equal(code, 404);
      assert.deepEqual(body, {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'pods "nope" not found',
        reason: 'NotFound', details: {name: 'nope', kind: 'pods'}, code: 404,
      });
      return true;
    });
    const unknown = await rawGet(fake, '/apis/example.com/v1/widgets');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers['content-type'], 'application/json');
    assert.equal((JSON.parse(unknown.body) as {reason: string}).reason, 'NotFound');
  });

  it('serves /version, discovery documents and the Endpoints deprecation warning', async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    assert.equal(version.gitVersion, 'v1.35.0');
    assert.equal(version.major, '1');
    assert.equal(version.minor, '35');
    const anonymous = await rawGet(fake, '/version', null);
    assert.equal(anonymous.status, 200);
    const groups = JSON.parse((await rawGet(fake, '/apis')).body) as {groups: {name: string}[]};
    assert.ok(groups.groups.some((g) => g.name === 'discovery.k8s.io'));
    const coreResources = JSON.parse((await rawGet(fake, '/api/v1')).body) as {resources: {name: string}[]};
    assert.ok(coreResources.resources.some((r) => r.name === 'pods/portforward'));
    const ep = await rawGet(fake, '/api/v1/namespaces/dev/endpoints');
    assert.match(String(ep.headers.warning), /v1 Endpoints is deprecated in v1\.33\+/);
  });
});

describe('fake Kubernetes API server: object helpers and the endpoints controller', () => {
  it('keeps EndpointSlices and Endpoints in step with pod readiness, termination, deletion and Service removal', async () => {
    const fake = await FakeKubeApi.start();
    try {
      const app = fake.addDubboApp({name: 'user-rpc', servicePort: 20880, targetPort: 20890, pods: [{name: 'a'}, {name: 'b', ready: false}]});
      assert.equal(app.containerPort, 20890);
      const slice = (): KubeObject & {endpoints: {targetRef: {name: string}; conditions: Record<string, boolean>}[] | null; ports: unknown} =>
        fake.list('EndpointSlice', 'default').find((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'user-rpc') as never;
      const conditions = (): Record<string, Record<string, boolean>> =>
        Object.fromEntries((slice().endpoints ?? []).map((e) => [e.targetRef.name, e.conditions]));
      const name = slice().metadata.name;
      assert.match(name, /^user-rpc-[a-z0-9]{5}$/);
      assert.deepEqual(slice().metadata.labels, {
        app: 'user-rpc', 'kubernetes.io/service-name': 'user-rpc', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      });
      assert.deepEqual(slice().ports, [{name: 'dubbo', port: 20890, protocol: 'TCP'}]);
      assert.deepEqual(conditions(), {a: {ready: true, serving: true, terminating: false}, b: {ready: false, serving: false, terminating: false}});

      const rvBefore = Number(slice().metadata.resourceVersion);
      fake.setPodReady('default', 'b', true);
      assert.deepEqual(conditions().b, {ready: true, serving: true, terminating: false});
      assert.ok(Number(slice().metadata.resourceVersion) > rvBefore);
      assert.equal(slice().metadata.name, name, 'the slice keeps its name');

      fake.terminatePod('default', 'a');
      assert.deepEqual(conditions().a, {ready: false, serving: true, terminating: true});
      const ep = fake.get<{subsets: {addresses?: {targetRef: {name: string}}[]}[]}>('Endpoints', 'default', 'user-rpc')!;
      assert.deepEqual(ep.subsets[0]?.addresses?.map((x) => x.targetRef.name), ['b'], 'terminating pods leave legacy Endpoints');

      fake.deletePod('default', 'a');
      assert.deepEqual(Object.keys(conditions()), ['b']);

      // Re-applying an object keeps uid and creationTimestamp, bumps resourceVersion.
      const svc = fake.get('Service', 'default', 'user-rpc')!;
      const again = fake.apply({...svc, metadata: {...svc.metadata, labels: {app: 'user-rpc', extra: 'x'}}});
      assert.equal(again.metadata.uid, svc.metadata.uid);
      assert.equal(again.metadata.creationTimestamp, svc.metadata.creationTimestamp);
      assert.ok(Number(again.metadata.resourceVersion) > Number(svc.metadata.resourceVersion));
      assert.equal(slice().metadata.labels?.extra, 'x', 'slices copy the Service labels');

      assert.equal(fake.remove('Service', 'default', 'user-rpc'), true);
      assert.equal(slice(), undefined);
      assert.equal(fake.get('Endpoints', 'default', 'user-rpc'), undefined);

      fake.addDubboApp({namespace: 'team', name: 'x', pods: [{name: 'x-1'}]});
      fake.remove('Namespace', undefined, 'team');
      assert.deepEqual(fake.list('Pod', 'team'), []);
      assert.deepEqual(fake.list('EndpointSlice', 'team'), []);
    } finally {
      await fake.stop();
    }
  });
});

describe('fake Kubernetes API server: authentication and RBAC', () => {
  let fake: FakeKubeApi;
  before(async () => {
    fake = await FakeKubeApi.start({users: {'alice-token': 'alice', 'bob-token': 'bob'}});
    fake.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-a'}]});
  });
  after(async () => fake.stop());

  it('answers 401 for a wrong token and records who asked', async () => {
    const kc = kubeConfigFor(fake, {token: 'wrong'});
    await assert.rejects(kc.makeApiClient(CoreV1Api).listNamespacedService({namespace: 'default'}), (err) => {
      assert.equal(statusOf(err).code, 401);
      return true;
    });
    const raw = await rawGet(fake, '/api/v1/namespaces/default/pods', null);
    assert.equal(raw.status, 401);
    assert.deepEqual(JSON.parse(raw.body), {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401});
    await kubeConfigFor(fake, {token: 'alice-token'}).makeApiClient(CoreV1Api).listNamespacedPod({namespace: 'default'});
    const last = fake.requests[fake.requests.length - 1];
    assert.deepEqual(last, {method: 'GET', path: '/api/v1/namespaces/default/pods', query: '', user: 'alice', status: 200});
  });

  it('denies with the API server\'s 403 message and answers SelfSubjectAccessReviews from the same rules', async () => {
    fake.deny({user: 'alice', verb: 'list', resource: 'services', namespace: 'default'});
    fake.deny({user: 'alice', verb: 'list', resource: 'ingresses', group: 'networking.k8s.io'});
    const kc = kubeConfigFor(fake, {token: 'alice-token'});
    await assert.rejects(kc.makeApiClient(CoreV1Api).listNamespacedService({namespace: 'default'}), (err) => {
      const {code, body} = statusOf(err);
      assert.equal(code, 403);
      assert.equal(body?.reason, 'Forbidden');
      assert.equal(body?.message, 'services is forbidden: User "alice" cannot list resource "services" in API group "" in the namespace "default"');
      return true;
    });
    await assert.rejects(kc.makeApiClient(NetworkingV1Api).listIngressForAllNamespaces(), (err) => {
      assert.equal(statusOf(err).body?.message,
        'ingresses.networking.k8s.io is forbidden: User "alice" cannot list resource "ingresses" in API group "networking.k8s.io" at the cluster scope');
      return true;
    });
    // Bob is not affected.
    await kubeConfigFor(fake, {token: 'bob-token'}).makeApiClient(CoreV1Api).listNamespacedService({namespace: 'default'});

    const authz = kc.makeApiClient(AuthorizationV1Api);
    const can = async (verb: string, resource: string, namespace: string, group = '', subresource?: string) =>
      (await authz.createSelfSubjectAccessReview({body: {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
        spec: {resourceAttributes: {verb, resource, namespace, group, ...(subresource === undefined ? {} : {subresource})}},
      }})).status;
    assert.equal((await can('list', 'services', 'default'))?.allowed, false);
    const allowed = await can('get', 'pods', 'default');
    assert.equal(allowed?.allowed, true);
    assert.match(allowed?.reason ?? '', /^RBAC: allowed by ClusterRoleBinding /);
    assert.equal((await can('create', 'pods', 'default', '', 'portforward'))?.allowed, true);

    // A Role-like allow list: only what it names.
    fake.setRules('bob', [{verb: 'get', resource: 'pods'}, {verb: 'list', resource: 'pods'}]);
    const bob = kubeConfigFor(fake, {token: 'bob-token'});
    await bob.makeApiClient(CoreV1Api).listNamespacedPod({namespace: 'default'});
    await assert.rejects(bob.makeApiClient(CoreV1Api).listNamespacedService({namespace: 'default'}), (err) => statusOf(err).code === 403);
    fake.resetRbac();
    await bob.makeApiClient(CoreV1Api).listNamespacedService({namespace: 'default'});
  });
});

describe('fake Kubernetes API server: watch', () => {
  let fake: FakeKubeApi;
  let kc: KubeConfig;
  before(async () => {
    fake = await FakeKubeApi.start({bookmarkIntervalMs: 50});
    kc = kubeConfigFor(fake);
    fake.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-a'}]});
  });
  after(async () => fake.stop());

  it('streams ADDED/MODIFIED/DELETED and BOOKMARKs from a resourceVersion, then 410 after compaction', async () => {
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedPod({namespace: 'default'});
    const rv = list.metadata!.resourceVersion!;
    const w = await startWatch(kc, '/api/v1/namespaces/default/pods', {resourceVersion: rv, allowWatchBookmarks: true});
    fake.addDubboPod('default', 'user-rpc', {name: 'user-rpc-b', ready: false});
    fake.setPodReady('default', 'user-rpc-b', true);
    fake.deletePod('default', 'user-rpc-b');
    await waitFor('three object events and a bookmark', () =>
      w.events.filter((e) => e.type !== 'BOOKMARK').length >= 3 && w.events.some((e) => e.type === 'BOOKMARK'));
    const objectEvents = w.events.filter((e) => e.type !== 'BOOKMARK');
    assert.deepEqual(objectEvents.map((e) => [e.type, e.object.metadata.name]),
      [['ADDED', 'user-rpc-b'], ['MODIFIED', 'user-rpc-b'], ['DELETED', 'user-rpc-b']]);
    const rvs = objectEvents.map((e) => Number(e.object.metadata.resourceVersion));
    assert.ok(rvs[0]! > Number(rv) && rvs[0]! < rvs[1]! && rvs[1]! < rvs[2]!, `increasing resourceVersions ${rvs.join(',')}`);
    assert.equal(objectEvents[0]!.object.kind, 'Pod');
    const bookmark = w.events.find((e) => e.type === 'BOOKMARK')!;
    assert.deepEqual(Object.keys(bookmark.object), ['kind', 'apiVersion', 'metadata']);

    // A resume from any RV inside the log replays what came after it.
    const replay = await startWatch(kc, '/api/v1/namespaces/default/pods', {resourceVersion: String(rvs[0])});
    await waitFor('replayed events', () => replay.events.length >= 2);
    assert.deepEqual(replay.events.map((e) => e.type), ['MODIFIED', 'DELETED']);

    fake.compact();
    fake.dropWatches();
    assert.equal(await w.done, null);
    assert.equal(await replay.done, null);
    const expired = await startWatch(kc, '/api/v1/namespaces/default/pods', {resourceVersion: String(rvs[2])});
    assert.equal(await expired.done, null);
    assert.equal(expired.events.length, 1);
    assert.equal(expired.events[0]?.type, 'ERROR');
    assert.equal(expired.events[0]?.object.code, 410);
    assert.equal(expired.events[0]?.object.reason, 'Expired');
    assert.match(String((expired.events[0]?.object as {message?: string}).message), /^too old resource version: \d+ \(\d+\)$/);
    assert.equal(fake.watchCount(), 0);
  });

  it('starts a watch without resourceVersion with synthetic ADDED events, filters by selector and turns label changes into ADDED/DELETED', async () => {
    const w = await startWatch(kc, '/api/v1/pods', {labelSelector: 'tier=backend'});
    const all = await startWatch(kc, '/api/v1/namespaces/default/pods', {resourceVersion: ''});
    await waitFor('synthetic ADDED', () => all.events.length >= 1);
    assert.deepEqual(all.events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'user-rpc-a']]);
    const pod = fake.get<KubeObject>('Pod', 'default', 'user-rpc-a')!;
    fake.apply({...pod, metadata: {...pod.metadata, labels: {...pod.metadata.labels, tier: 'backend'}}});
    fake.apply({...pod, metadata: {...pod.metadata, labels: {...pod.metadata.labels, tier: 'frontend'}}});
    await waitFor('selector transitions', () => w.events.length >= 2);
    assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'DELETED']);
    w.abort();
    all.abort();
    await waitFor('watches closed', () => fake.watchCount() === 0);
  });

  it('ends a watch after timeoutSeconds', async () => {
    const w = await startWatch(kc, '/api/v1/namespaces/default/services', {timeoutSeconds: '1', resourceVersion: fake.resourceVersion});
    const started = Date.now();
    assert.equal(await w.done, null);
    assert.ok(Date.now() - started >= 900);
  });

  it('keeps a client-node informer in sync across dropped watches, compaction (410 → relist) and an API restart', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer(kc, '/api/v1/namespaces/default/pods', () => core.listNamespacedPod({namespace: 'default'}));
    const seen: string[] = [];
    const errors: unknown[] = [];
    informer.on('add', (p) => seen.push(`add ${p.metadata?.name}`));
    informer.on('update', (p) => seen.push(`update ${p.metadata?.name}`));
    informer.on('delete', (p) => seen.push(`delete ${p.metadata?.name}`));
    informer.on('error', (e) => errors.push(e));
    await informer.start();
    await waitFor('initial add', () => seen.includes('add user-rpc-a'));
    await waitFor('informer watching', () => fake.watchCount('pods') === 1);

    fake.addDubboPod('default', 'user-rpc', {name: 'user-rpc-c'});
    await waitFor('add c', () => seen.includes('add user-rpc-c'));

    // Dropped watch: the informer resumes from its last resourceVersion.
    fake.dropWatches();
    await waitFor('re-watch', () => fake.watchCount('pods') === 1);
    fake.setPodReady('default', 'user-rpc-c', false);
    await waitFor('update c', () => seen.includes('update user-rpc-c'));

    // Compaction + drop: the resume gets ERROR 410, the informer relists; objects deleted meanwhile
    // come out of the relist as deletes.
    const lists = (): number => fake.requests.filter((r) => r.path === '/api/v1/namespaces/default/pods' && !r.query.includes('watch')).length;
    const listsBefore = lists();
    fake.deletePod('default', 'user-rpc-c');
    await waitFor('delete c', () => seen.includes('delete user-rpc-c'));
    fake.compact();
    fake.dropWatches();
    await waitFor('relist', () => lists() > listsBefore && fake.watchCount('pods') === 1);
    assert.equal(errors.length, 0, String(errors[0]));

    // An API server restart: the watch connection dies mid-stream ("Premature close" from node-fetch);
    // client-node 1.4.0's informer reports that as an error and stops. start() after the restart relists.
    await fake.pauseApi();
    await waitFor('informer error', () => errors.length > 0);
    assert.ok(errors[0] instanceof Error);
    fake.addDubboPod('default', 'user-rpc', {name: 'user-rpc-d'});
    await fake.resumeApi();
    await informer.start();
    await waitFor('add d after restart', () => seen.includes('add user-rpc-d'));
    assert.deepEqual(informer.list('default').map((p) => p.metadata?.name).sort(), ['user-rpc-a', 'user-rpc-d']);
    await informer.stop();
  });
});

describe('fake Kubernetes API server: port-forward over WebSocket', () => {
  let fake: FakeKubeApi;
  let kc: KubeConfig;
  let echo: TcpServer;
  let refusedPort: number;
  before(async () => {
    fake = await FakeKubeApi.start({users: {'alice-token': 'alice'}});
    kc = kubeConfigFor(fake);
    echo = await startEcho();
    refusedPort = await closedPort();
    fake.addDubboApp({
      name: 'user-rpc', pods: [
        {name: 'user-rpc-a', target: {host: '127.0.0.1', port: echo.port}},
        {name: 'user-rpc-refused', target: {host: '127.0.0.1', port: refusedPort}},
        {name: 'user-rpc-pending', phase: 'Pending'},
        {name: 'user-rpc-unscheduled', phase: 'Pending', nodeName: null},
      ],
    });
  });
  after(async () => {
    await fake.stop();
    await echo.close();
  });

  it('round-trips bytes through client-node PortForward with the port prefix stripped', async () => {
    const run = await clientNodePortForward(kc, 'default', 'user-rpc-a', 20880);
    assert.equal(run.ws.protocol, 'v4.channel.k8s.io');
    run.input.write('hello dubbo');
    await waitFor('echo', () => run.outputText() === 'hello dubbo');
    assert.equal(fake.portForwardCount('default', 'user-rpc-a'), 1);
    // client-node closes the WebSocket when its input ends; the pod-side socket follows.
    run.input.end();
    await run.closed;
    await waitFor('pod socket closed', () => echo.accepted.every((s) => s.destroyed));
    await waitFor('session gone', () => fake.portForwardCount() === 0);
    assert.equal(run.errorText(), '');
  });

  it('writes the kubelet error text on the error channel when the pod port refuses, then closes', async () => {
    const run = await clientNodePortForward(kc, 'default', 'user-rpc-refused', 20880);
    await run.closed;
    assert.match(run.errorText(), new RegExp(
      '^error forwarding port 20880 to pod [0-9a-f]{64}, uid : failed to execute portforward in network namespace ' +
      '"/var/run/netns/cni-[0-9a-f-]{36}": failed to connect to localhost:20880 inside namespace "[0-9a-f]{64}", ' +
      'IPv4: dial tcp4 127.0.0.1:20880: connect: connection refused IPv6 dial tcp6 \\[::1\\]:20880: connect: connection refused $'));
    assert.equal(run.outputText(), '');

    // A port no target is mapped for behaves the same (nothing listens there in the pod).
    const unmapped = await clientNodePortForward(kc, 'default', 'user-rpc-a', 8080);
    await unmapped.closed;
    assert.match(unmapped.errorText(), /^error forwarding port 8080 to pod .*connection refused $/);
  });

  it('sends the port as uint16 little-endian first on both channels, and speaks the base64 protocol', async () => {
    const binary = await rawUpgrade(fake, '/api/v1/namespaces/default/pods/user-rpc-a/portforward?ports=20880',
      {protocols: ['v5.channel.k8s.io', 'v4.channel.k8s.io']});
    assert.ok('ws' in binary);
    assert.equal(binary.ws.protocol, 'v4.channel.k8s.io');
    await waitFor('prefixes', () => binary.messages.length >= 2);
    // 20880 = 0x5190, little-endian 90 51.
    assert.deepEqual(binary.messages.slice(0, 2).map((m) => [...m.data]), [[0, 0x90, 0x51], [1, 0x90, 0x51]]);
    binary.ws.send(Buffer.from([0, 0x41, 0x42]));
    binary.ws.send(Buffer.from([1, 0x43])); // writes to the error channel are dropped
    await waitFor('echo', () => binary.messages.length >= 3);
    assert.deepEqual([...binary.messages[2]!.data], [0, 0x41, 0x42]);
    binary.ws.close();
    await binary.closed;

    const b64 = await rawUpgrade(fake, '/api/v1/namespaces/default/pods/user-rpc-a/portforward?ports=20880',
      {protocols: ['v4.base64.channel.k8s.io', 'v4.channel.k8s.io']});
    assert.ok('ws' in b64);
    assert.equal(b64.ws.protocol, 'v4.base64.channel.k8s.io');
    await waitFor('prefixes', () => b64.messages.length >= 2);
    assert.deepEqual(b64.messages.slice(0, 2).map((m) => [m.binary, m.data.toString()]), [[false, '0kFE='], [false, '1kFE=']]);
    b64.ws.send('0' + Buffer.from('xyz').toString('base64'));
    await waitFor('echo', () => b64.messages.length >= 3);
    assert.equal(b64.messages[2]!.data.toString(), '0' + Buffer.from('xyz').toString('base64'));
    b64.ws.close();
    await b64.closed;

    const unsupported = await rawUpgrade(fake, '/api/v1/namespaces/default/pods/user-rpc-a/portforward?ports=20880', {protocols: ['v5.channel.k8s.io']});
    assert.ok('status' in unsupported);
    assert.equal(unsupported.status, 403);
  });

  it('refuses the upgrade with 404/400/403/401 Status bodies like the API server', async () => {
    const path = (pod: string): string => `/api/v1/namespaces/default/pods/${pod}/portforward?ports=20880`;
    const missing = await rawUpgrade(fake, path('nope'));
    assert.ok('status' in missing);
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(missing.body) as {message: string}).message, 'pods "nope" not found');
    const unscheduled = await rawUpgrade(fake, path('user-rpc-unscheduled'));
    assert.ok('status' in unscheduled);
    assert.equal(unscheduled.status, 400);
    assert.equal((JSON.parse(unscheduled.body) as {message: string}).message, 'pod user-rpc-unscheduled does not have a host assigned');
    const pending = await rawUpgrade(fake, path('user-rpc-pending'));
    assert.ok('status' in pending);
    assert.equal(pending.status, 400);
    const unauthorized = await rawUpgrade(fake, path('user-rpc-a'), {token: 'nope'});
    assert.ok('status' in unauthorized);
    assert.equal(unauthorized.status, 401);

    // 1.35: the GET upgrade needs create as well as get on pods/portforward.
    fake.deny({user: 'alice', verb: 'create', resource: 'pods/portforward'});
    const forbidden = await rawUpgrade(fake, path('user-rpc-a'), {token: 'alice-token'});
    assert.ok('status' in forbidden);
    assert.equal(forbidden.status, 403);
    assert.equal((JSON.parse(forbidden.body) as {message: string}).message,
      'pods "user-rpc-a" is forbidden: User "alice" cannot create resource "pods/portforward" in API group "" in the namespace "default"');
    const aliceKc = kubeConfigFor(fake, {token: 'alice-token'});
    await assert.rejects(clientNodePortForward(aliceKc, 'default', 'user-rpc-a', 20880));
    fake.resetRbac();
    fake.deny({user: 'alice', verb: 'get', resource: 'pods', subresource: 'portforward'});
    const forbiddenGet = await rawUpgrade(fake, path('user-rpc-a'), {token: 'alice-token'});
    assert.ok('status' in forbiddenGet);
    assert.match((JSON.parse(forbiddenGet.body) as {message: string}).message, /cannot get resource "pods\/portforward"/);
    fake.resetRbac();
  });

  it('closes the WebSocket when the pod side closes, and on killPodConnections / deletePod', async () => {
    let podSide: net.Socket | undefined;
    const closer = await startEcho((socket) => (podSide = socket));
    fake.setPodTarget('default', 'user-rpc-a', 20881, {host: '127.0.0.1', port: closer.port});
    const run = await clientNodePortForward(kc, 'default', 'user-rpc-a', 20881);
    await waitFor('pod connection', () => podSide !== undefined);
    podSide!.end('bye');
    assert.equal(await run.closed, 1000);
    assert.equal(run.outputText(), 'bye');

    const killed = await clientNodePortForward(kc, 'default', 'user-rpc-a', 20880);
    await waitFor('session', () => fake.portForwardCount('default', 'user-rpc-a') === 1);
    assert.equal(fake.killPodConnections('default', 'user-rpc-a'), 1);
    assert.equal(await killed.closed, 1006);

    const reset = await clientNodePortForward(kc, 'default', 'user-rpc-a', 20880);
    await waitFor('session', () => fake.portForwardCount('default', 'user-rpc-a') === 1);
    fake.killPodConnections('default', 'user-rpc-a', 'reset');
    await reset.closed;
    assert.match(reset.errorText(), /read: connection reset by peer$/);

    fake.addDubboPod('default', 'user-rpc', {name: 'user-rpc-z', target: {host: '127.0.0.1', port: echo.port}});
    const doomed = await clientNodePortForward(kc, 'default', 'user-rpc-z', 20880);
    await waitFor('session', () => fake.portForwardCount('default', 'user-rpc-z') === 1);
    fake.deletePod('default', 'user-rpc-z');
    assert.equal(await doomed.closed, 1006);
    await closer.close();
  });

  it('forwards several ports on one WebSocket with a channel pair each', async () => {
    const second = await startEcho((socket) => socket.end('second'));
    fake.setPodTarget('default', 'user-rpc-a', 9000, {host: '127.0.0.1', port: second.port});
    const run = await rawUpgrade(fake, '/api/v1/namespaces/default/pods/user-rpc-a/portforward?ports=20880&ports=9000');
    assert.ok('ws' in run);
    await waitFor('prefixes and second port data', () => run.messages.some((m) => m.data[0] === 2 && m.data.length > 3));
    assert.deepEqual(run.messages.slice(0, 4).map((m) => [...m.data]), [[0, 0x90, 0x51], [1, 0x90, 0x51], [2, 0x28, 0x23], [3, 0x28, 0x23]]);
    // After its prefix message, channel 2 carries the second port's bytes.
    assert.equal(run.messages.filter((m) => m.data[0] === 2).slice(1).map((m) => m.data.subarray(1).toString()).join(''), 'second');
    run.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('first')]));
    await waitFor('echo on channel 0', () => run.messages.some((m) => m.data[0] === 0 && m.data.subarray(1).toString() === 'first'));
    run.ws.close();
    await run.closed;
    await second.close();
  });

  it('counts the port-forward upgrades it served and delays them when asked', async () => {
    const path = '/api/v1/namespaces/default/pods/user-rpc-a/portforward?ports=20880';
    const before = fake.portForwardsServed;
    const refused = await rawUpgrade(fake, '/api/v1/namespaces/default/pods/user-rpc-pending/portforward?ports=20880');
    assert.ok('status' in refused && refused.status === 400);
    assert.equal(fake.portForwardsServed, before, 'a refused upgrade is not a served one');
    const prompt = await rawUpgrade(fake, path);
    assert.ok('ws' in prompt);
    assert.equal(fake.portForwardsServed, before + 1);
    fake.delayPortForwards(150);
    try {
      const started = Date.now();
      const delayed = await rawUpgrade(fake, path);
      assert.ok('ws' in delayed);
      assert.ok(Date.now() - started >= 140, `upgraded after ${Date.now() - started} ms, expected the 150 ms delay`);
      assert.equal(fake.portForwardsServed, before + 2);
      delayed.ws.close();
      await delayed.closed;
    } finally {
      fake.delayPortForwards(0);
    }
    prompt.ws.close();
    await prompt.closed;
    // Closed sessions stay counted: the counter is of upgrades served, not of open sessions.
    await waitFor('sessions gone', () => fake.portForwardCount() === 0);
    assert.equal(fake.portForwardsServed, before + 2);
  });

  it('applies backpressure both ways instead of buffering without bound', async () => {
    const total = 64 << 20;
    const chunk = Buffer.alloc(1 << 20, 7);
    /** Polls until the sample stops changing for quietMs. */
    const settle = async (sample: () => number, quietMs = 300): Promise<number> => {
      let last = sample();
      let since = Date.now();
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const now = sample();
        if (now !== last) {
          last = now;
          since = Date.now();
        } else if (Date.now() - since >= quietMs) {
          return now;
        }
      }
    };

    // Pod → client: the client stops reading; the pod's writes must stall well before 64 MiB.
    let written = 0;
    // The pod starts writing only once the client has stopped reading; otherwise, on a busy
    // machine, the client may already have swallowed everything before pause() runs.
    let go!: () => void;
    const clientPaused = new Promise<void>((resolve) => (go = resolve));
    const flood = await startEcho((socket) => {
      const pump = (): void => {
        while (written < total) {
          written += chunk.length;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
        socket.end();
      };
      void clientPaused.then(pump);
    });
    fake.setPodTarget('default', 'user-rpc-a', 20882, {host: '127.0.0.1', port: flood.port});
    const down = await rawUpgrade(fake, '/api/v1/namespaces/default/pods/user-rpc-a/portforward?ports=20882');
    assert.ok('ws' in down);
    down.ws.pause();
    go();
    const stalledAt = await settle(() => written);
    assert.ok(stalledAt < 48 << 20, `pod wrote ${stalledAt} bytes into a client that reads nothing`);
    down.ws.resume();
    const receivedDown = (): number => down.messages.filter((m) => m.data[0] === 0).reduce((n, m) => n + m.data.length - 1, 0) - 2;
    await waitFor('all bytes delivered', () => receivedDown() === total, 30_000);
    await down.closed;
    await flood.close();

    // Client → pod: the pod stops reading; the fake must stop reading the WebSocket, so the bytes stay
    // queued at the client (ws.bufferedAmount) instead of piling up inside the fake.
    let podSocket: net.Socket | undefined;
    let receivedUp = 0;
    const sink = await startEcho((socket) => {
      podSocket = socket;
      socket.pause();
      socket.on('data', (d: Buffer) => (receivedUp += d.length));
    });
    fake.setPodTarget('default', 'user-rpc-a', 20883, {host: '127.0.0.1', port: sink.port});
    const up = await rawUpgrade(fake, '/api/v1/namespaces/default/pods/user-rpc-a/portforward?ports=20883');
    assert.ok('ws' in up);
    await waitFor('pod connection', () => podSocket !== undefined);
    const frame = Buffer.concat([Buffer.from([0]), chunk]);
    for (let sent = 0; sent < total; sent += chunk.length) up.ws.send(frame);
    // Watch the fake's own queue towards the pod for a while: it must stay near one WebSocket frame.
    let maxQueued = 0;
    const observeUntil = Date.now() + 1500;
    await settle(() => {
      maxQueued = Math.max(maxQueued, fake.portForwardStats('default', 'user-rpc-a')[0]?.queuedToPod ?? 0);
      return Date.now() < observeUntil ? Date.now() : up.ws.bufferedAmount;
    });
    assert.ok(maxQueued <= 4 << 20, `the fake queued ${maxQueued} bytes for a pod that reads nothing`);
    assert.ok(up.ws.bufferedAmount > 16 << 20, `only ${up.ws.bufferedAmount} bytes still queued at the client`);
    podSocket!.resume();
    await waitFor('all bytes at the pod', () => receivedUp === total, 30_000);
    up.ws.close();
    await up.closed;
    await sink.close();
  });
  it('reads the WebSocket again once a pod that stopped reading drains, however many messages came meanwhile', async () => {
    // A small message in the same TCP read as the end of a large one is handed over after reading
    // has stopped, so two pod writes report a full buffer; the pod socket says 'drain' once for both.
    let podSocket: net.Socket | undefined;
    let receivedUp = 0;
    const sink = await startEcho((socket) => {
      podSocket = socket;
      socket.pause();
      socket.on('data', (d: Buffer) => (receivedUp += d.length));
    });
    fake.setPodTarget('default', 'user-rpc-a', 20884, {host: '127.0.0.1', port: sink.port});
    const up = await rawUpgrade(fake, '/api/v1/namespaces/default/pods/user-rpc-a/portforward?ports=20884');
    assert.ok('ws' in up);
    await waitFor('pod connection', () => podSocket !== undefined);
    const large = Buffer.concat([Buffer.from([0]), Buffer.alloc(1 << 20, 5)]);
    const small = Buffer.concat([Buffer.from([0]), Buffer.alloc(16, 6)]);
    const total = 32 * (large.length - 1 + small.length - 1);
    for (let i = 0; i < 32; i++) {
      up.ws.send(large);
      up.ws.send(small);
    }
    await waitFor('the fake stops reading', () => up.ws.bufferedAmount > 0 && (fake.portForwardStats('default', 'user-rpc-a').at(-1)?.queuedToPod ?? 0) > 0, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    podSocket!.resume();
    await waitFor('all bytes at the pod', () => receivedUp === total, 20_000);
    up.ws.close();
    await up.closed;
    await sink.close();
  });
});

describe('fake Kubernetes API server: outages, TLS and exec credentials', () => {
  it('refuses connections while paused and keeps its state across a restart on the same port', async () => {
    const fake = await FakeKubeApi.start();
    try {
      fake.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-a'}]});
      const kc = kubeConfigFor(fake);
      const core = kc.makeApiClient(CoreV1Api);
      const port = fake.port;
      const w = await startWatch(kc, '/api/v1/namespaces/default/pods', {resourceVersion: fake.resourceVersion});
      await fake.pauseApi();
      assert.notEqual(await w.done, undefined);
      await assert.rejects(core.listNamespacedPod({namespace: 'default'}), /ECONNREFUSED/);
      await fake.resumeApi();
      assert.equal(fake.port, port);
      assert.equal((await core.listNamespacedPod({namespace: 'default'})).items.length, 1);

      await fake.pauseApi('unavailable');
      await assert.rejects(core.listNamespacedPod({namespace: 'default'}), (err) => statusOf(err).code === 503);
      await fake.restart();
      assert.equal((await core.listNamespacedPod({namespace: 'default'})).items.length, 1);
    } finally {
      await fake.stop();
    }
  });

  it('serves https with a generated CA that client-node trusts through the kubeconfig', async () => {
    const fake = await FakeKubeApi.start({tls: true});
    const echo = await startEcho();
    try {
      assert.match(fake.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.match(fake.kubeconfig(), /certificate-authority-data: "/);
      fake.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-a', target: {host: '127.0.0.1', port: echo.port}}]});
      const kc = kubeConfigFor(fake);
      const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({namespace: 'default'});
      assert.equal(pods.items.length, 1);
      const run = await clientNodePortForward(kc, 'default', 'user-rpc-a', 20880);
      run.input.write('over tls');
      await waitFor('echo', () => run.outputText() === 'over tls');
      run.ws.close();
      await run.closed;
    } finally {
      await fake.stop();
      await echo.close();
    }
  });

  it('writes kubeconfigs with exec credential plugins and several contexts', async () => {
    const fake = await FakeKubeApi.start({users: {'exec-token': 'carol'}});
    const dir = mkdtempSync(join(tmpdir(), 'fake-kube-'));
    try {
      const credential = JSON.stringify({apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: {token: 'exec-token'}});
      const path = fake.writeKubeconfig(dir, {
        context: 'exec-ctx', namespace: 'dev',
        exec: {command: process.execPath, args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`]},
        extraContexts: [{name: 'other', namespace: 'prod'}],
      });
      const kc = new KubeConfig();
      kc.loadFromFile(path);
      assert.deepEqual(kc.getContexts().map((c) => [c.name, c.namespace]), [['exec-ctx', 'dev'], ['other', 'prod']]);
      assert.equal(kc.getCurrentContext(), 'exec-ctx');
      await kc.makeApiClient(CoreV1Api).listNamespacedPod({namespace: 'dev'});
      assert.equal(fake.requests[fake.requests.length - 1]?.user, 'carol');
    } finally {
      rmSync(dir, {recursive: true, force: true});
      await fake.stop();
    }
  });

  it('rejects Ingress hosts the real API server would reject', async () => {
    const fake = await FakeKubeApi.start();
    try {
      assert.throws(() => fake.addDubboApp({name: 'x', ingress: {host: 'User_Service'}, pods: []}), /spec\.rules\[0\]\.host: Invalid value: "User_Service"/);
    } finally {
      await fake.stop();
    }
  });
});
