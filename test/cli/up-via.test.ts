// `up --via`: the option and its usage errors, the developer's token from the kubeconfig (the fake
// API server's), a kubeconfig without a token, and `--via <namespace>/<service>`: one port-forward
// per laptop to a ready gateway pod, opened again on another pod when it goes.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {parseUpOptions, sessionRunOptions} from '../../src/cli/commands/up.js';
import {main} from '../../src/cli/main.js';
import {openViaSource} from '../../src/cli/via-source.js';
import {SettingsStore} from '../../src/config/settings.js';
import type {BackendSource} from '../../src/core/backend-source.js';
import {TunnelEventBus} from '../../src/core/events.js';
import type {Catalog} from '../../src/gateway/protocol.js';
import {TunnelSession} from '../../src/session/session.js';
import {TestConsumer} from '../support/dubbo-peers.js';
import {FakeGateway} from '../support/fake-gateway.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {collector} from '../support/output.js';
import {waitFor} from '../support/wait.js';

const configDir = mkdtempSync(path.join(tmpdir(), 'dt-up-via-'));
const env = {DUBBO_TUNNEL_CONFIG_DIR: configDir, KUBECONFIG: '/nonexistent/kubeconfig'};
after(() => rmSync(configDir, {recursive: true, force: true}));

const CATALOG: Catalog = {
  generation: 1,
  applications: [
    {name: 'user-rpc', namespace: 'shop', services: ['com.example.UserService'], triple: false},
    {name: 'order-rpc', namespace: 'shop', services: ['com.example.OrderService'], triple: false},
  ],
};

async function callValue(consumer: TestConsumer, application: string): Promise<unknown> {
  const answer = await consumer.call({service: 'com.example.UserService', method: 'get', parameterTypes: 'Ljava/lang/String;', args: ['x'], attachments: {'target-application': application}});
  if (answer.kind !== 'value') assert.fail(JSON.stringify(answer, (_key, value: unknown) => typeof value === 'bigint' ? String(value) : value));
  return answer.value;
}

describe('--via option', () => {
  test('a Service (with or without its port) or an address; no cluster discovery of its own', () => {
    assert.deepEqual(parseUpOptions(['--via', 'shop-gw/dubbo-gateway'], env).via, {kind: 'service', namespace: 'shop-gw', service: 'dubbo-gateway', port: undefined});
    assert.deepEqual(parseUpOptions(['--via', 'shop-gw/dubbo-gateway:20880'], env).via, {kind: 'service', namespace: 'shop-gw', service: 'dubbo-gateway', port: 20880});
    assert.deepEqual(parseUpOptions(['--via', 'shop-gw/dubbo-gateway:dubbo'], env).via, {kind: 'service', namespace: 'shop-gw', service: 'dubbo-gateway', port: 'dubbo'});
    assert.deepEqual(parseUpOptions(['--via', 'gateway.example.com:20880'], env).via, {kind: 'address', host: 'gateway.example.com', port: 20880});
    assert.deepEqual(parseUpOptions(['--via', '[::1]:20880'], env).via, {kind: 'address', host: '::1', port: 20880});
    const options = parseUpOptions(['--via', '10.0.0.5:20880', '--backend', 'user-rpc=127.0.0.1:20881', '--context', 'dev', '--kubeconfig', '/k'], env);
    assert.equal(options.cluster, false, 'the gateway is the cluster');
    assert.equal(options.backends.length, 1, '--backend mixes in as a local override');
    const run = sessionRunOptions(options, {stdout: collector().stream, stderr: collector().stream, env, interactive: false}, SettingsStore.open(env));
    assert.deepEqual(run.via, {target: {kind: 'address', host: '10.0.0.5', port: 20880}, kubeconfig: '/k', context: 'dev'});
    assert.equal(run.plan.clusters, undefined);
  });

  test('a malformed target, or discovery flags next to it, are usage errors that say what to write', async () => {
    for (const [value, words] of [['shop-gw', /host needs its port.*Service its namespace/], ['gw:http', /port must be a number/], ['gw:0', /port 0 is out of range/], ['Shop/gw', /not a namespace name/], ['', /needs <namespace>\/<service> or <host>:<port>/]] as const) {
      assert.throws(() => parseUpOptions(['--via', value], env), (error: unknown) => {
        assert.equal((error as {code?: string}).code, 'DT_ERR_BAD_ARGUMENT');
        assert.match((error as Error).message, words);
        assert.match((error as {hint?: string}).hint ?? '', /--via shop-gw\/dubbo-gateway/);
        return true;
      }, value);
    }
    assert.throws(() => parseUpOptions(['--via', 'gw:20880', '-n', 'dev', '-l', 'a=b'], env), /--via cannot be used with --namespace, --selector/);
    assert.throws(() => parseUpOptions(['--via', 'gw:20880', '--context', 'a', '--context', 'b'], env), /one --context/);
    const stderr = collector();
    const code = await main(['up', '--via', 'gw', '--no-ui'], {stdout: collector().stream, stderr: stderr.stream, env, interactive: false});
    assert.equal(code, 2);
    assert.match(stderr.text(), /^dubbo-tunnel \[DT_ERR_BAD_ARGUMENT\]: --via 'gw'/);
  });

  test('--help shows it', async () => {
    const stdout = collector();
    await main(['up', '--help'], {stdout: stdout.stream, stderr: collector().stream, env, interactive: false});
    assert.match(stdout.text(), /--via <ns>\/<service>\[:port\] \| <host>:<port>/);
  });
});

describe('up --via with the developer\'s kubeconfig', () => {
  let api: FakeKubeApi;
  let gateways: FakeGateway[];
  let dir: string;
  let kubeconfig: string;
  const deps = {events: new TunnelEventBus(), env: {}, execStderr: null, interactive: false};
  before(async () => {
    api = await FakeKubeApi.start({token: 'alice-kube-token', user: 'alice', bookmarkIntervalMs: 0});
    dir = mkdtempSync(path.join(tmpdir(), 'dt-via-'));
    kubeconfig = api.writeKubeconfig(dir, {namespace: 'dev'});
    // Two gateway pods behind one Service; the token is what the fake gateway's TokenReview knows.
    gateways = await Promise.all([0, 1].map(() => FakeGateway.start({catalog: CATALOG, users: {'alice-kube-token': 'alice'}})));
    api.addDubboApp({namespace: 'shop-gw', name: 'dubbo-gateway', pods: gateways.map((gateway, index) => ({name: `dubbo-gateway-${index}`, target: {host: '127.0.0.1', port: gateway.port}}))});
  });
  after(async () => {
    await Promise.all(gateways.map((gateway) => gateway.close()));
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  async function laptop(via: string): Promise<{session: TunnelSession; source: BackendSource}> {
    const options = parseUpOptions(['--via', via, '--kubeconfig', kubeconfig], env);
    assert.ok(options.via !== undefined);
    const events = new TunnelEventBus();
    const source = await openViaSource({target: options.via, kubeconfig, pollMs: 100}, {...deps, events});
    const session = await TunnelSession.start({sources: [source], events, listen: {port: 0, host: '127.0.0.1'}}, 'all');
    return {session, source};
  }

  test('--via <host>:<port>: the hello carries the kubeconfig user\'s token, and consumers reach the applications', async () => {
    const gateway = gateways[0] as FakeGateway;
    const {session, source} = await laptop(`127.0.0.1:${gateway.port}`);
    const consumer = await TestConsumer.connect(session.port);
    try {
      assert.equal(source.title, `via 127.0.0.1:${gateway.port}`);
      assert.equal(await callValue(consumer, 'user-rpc'), 'user-rpc:get');
      assert.ok(gateway.served.includes('alice user-rpc:get'), 'the gateway knew the developer as alice');
    } finally {
      await consumer.close();
      await session.stop();
    }
  });

  test('a kubeconfig user without a token gets DT_ERR_GATEWAY_NO_TOKEN with the fix, before anything listens', async () => {
    const pem = (label: string) => Buffer.from(`-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`).toString('base64');
    const certs = path.join(dir, 'certs.yaml');
    writeFileSync(certs, `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${JSON.stringify(api.url)}\n    insecure-skip-tls-verify: true\nusers:\n- name: admin\n  user:\n    client-certificate-data: ${pem('CERTIFICATE')}\n    client-key-data: ${pem('PRIVATE KEY')}\ncontexts:\n- name: kind\n  context:\n    cluster: c\n    user: admin\ncurrent-context: kind\n`);
    const stderr = collector();
    const code = await main(['up', '--via', `127.0.0.1:${(gateways[0] as FakeGateway).port}`, '--kubeconfig', certs, '--all', '--no-ui', '--port', '20999'], {stdout: collector().stream, stderr: stderr.stream, env, interactive: false});
    assert.equal(code, 1, stderr.text());
    assert.match(stderr.text(), /dubbo-tunnel \[DT_ERR_GATEWAY_NO_TOKEN\]: user admin of context kind yields no bearer token/);
    assert.match(stderr.text(), /kubectl create token/);
  });

  test('--via <namespace>/<service>: D laptops x M applications x C consumers open D port-forwards; a gateway pod that goes is replaced by the other', async () => {
    const served = api.portForwardsServed;
    const laptops = [await laptop('shop-gw/dubbo-gateway'), await laptop('shop-gw/dubbo-gateway')];
    const consumers: TestConsumer[][] = [];
    try {
      for (const {session} of laptops) consumers.push(await Promise.all([1, 2, 3].map(() => TestConsumer.connect(session.port))));
      for (const group of consumers) {
        for (const consumer of group) {
          for (const application of ['user-rpc', 'order-rpc']) assert.equal(await callValue(consumer, application), `${application}:get`);
        }
      }
      assert.equal(api.portForwardsServed - served, laptops.length, 'one port-forward per laptop');
      // The pod the first laptop's stream goes to goes away: the stream is opened on the other pod.
      const busy = gateways.findIndex((gateway) => gateway.openConnections > 0);
      assert.ok(busy >= 0);
      api.deletePod('shop-gw', `dubbo-gateway-${busy}`);
      (gateways[busy] as FakeGateway).dropConnections();
      const other = gateways[1 - busy] as FakeGateway;
      await waitFor(() => other.openConnections >= laptops.length, {timeoutMs: 10_000, message: 'both laptops reconnected to the other pod'});
      for (const group of consumers) assert.equal(await callValue(group[0] as TestConsumer, 'user-rpc'), 'user-rpc:get');
    } finally {
      await Promise.all(consumers.flat().map((consumer) => consumer.close()));
      for (const {session} of laptops) await session.stop();
    }
  });
});
