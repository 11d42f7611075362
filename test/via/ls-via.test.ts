// `ls --via` against the real gateway (src/gateway, run in this process with the in-cluster
// environment pointed at the fake API server): the catalog the hello answers for each developer, as
// a table and as JSON; the coded errors `up --via` gives (no token, refused, unreachable); and the
// gateway's own Service (labelled as `gateway manifests` labels it, in a namespace the gateway
// discovers in) never listed nor served as an application.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {main} from '../../src/cli/main.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {startGateway} from '../../src/gateway/gateway.js';
import type {RunningGateway} from '../../src/gateway/gateway.js';
import {gatewayManifests} from '../../src/gateway/manifests.js';
import {TestProvider} from '../support/dubbo-peers.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {collector} from '../support/output.js';
import {waitFor} from '../support/wait.js';

const TOKENS = {alice: 'alice-laptop-token', bob: 'bob-laptop-token', gateway: 'gateway-sa-token'};
const env = {HOME: '/nonexistent', KUBECONFIG: '/nonexistent/kubeconfig'};

interface Listed {
  application: string;
  namespace: string;
  services: string[];
  triple: boolean;
}

async function ls(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  const stdout = collector();
  const stderr = collector();
  const code = await main(['ls', ...args], {stdout: stdout.stream, stderr: stderr.stream, env, interactive: false});
  return {code, stdout: stdout.text(), stderr: stderr.text()};
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('ls --via against dubbo-tunnel gateway', () => {
  let api: FakeKubeApi;
  let user: TestProvider;
  let pay: TestProvider;
  let gateway: RunningGateway;
  let dir: string;
  let address: string;
  const kubeconfigs = {alice: '', bob: ''};

  before(async () => {
    api = await FakeKubeApi.start({
      tls: true,
      users: {[TOKENS.alice]: 'alice', [TOKENS.bob]: 'bob', [TOKENS.gateway]: 'system:serviceaccount:dubbo-tunnel:dubbo-tunnel-gateway'},
      namespaces: ['default', 'shop', 'billing', 'dubbo-tunnel'],
      bookmarkIntervalMs: 0,
    });
    api.setRules('bob', [{verb: 'get', resource: 'services', namespace: 'shop'}]);
    user = await TestProvider.start({application: 'user-rpc'});
    pay = await TestProvider.start({application: 'pay-rpc'});
    api.addDubboApp({namespace: 'shop', name: 'user-rpc', containerPort: user.port, pods: [{name: 'user-rpc-0', podIP: '127.0.0.1'}]});
    api.addDubboApp({namespace: 'billing', name: 'pay-rpc', portName: 'tri', servicePort: 50051, containerPort: pay.port, pods: [{name: 'pay-rpc-0', podIP: '127.0.0.1'}]});
    dir = mkdtempSync(path.join(tmpdir(), 'dt-ls-via-'));
    const inCluster = api.inClusterEnv(dir, TOKENS.gateway);
    // The gateway discovers in its own namespace too.
    gateway = await startGateway({
      port: 0, host: '127.0.0.1', adminPort: 0, namespaces: ['shop', 'billing', 'dubbo-tunnel'], allNamespaces: false, discovery: {},
      allowAnonymous: false, noLearn: true, drainMs: 500, events: new TunnelEventBus(),
      env: inCluster,
    });
    address = `127.0.0.1:${gateway.port}`;
    // Its own Service, with the labels `gateway manifests` gives it and a Dubbo-looking port (20880).
    const manifest = gatewayManifests({namespace: 'dubbo-tunnel', image: 'dubbo-tunnel:test', watchNamespaces: [], allNamespaces: true})
      .find((object) => (object as {kind: string}).kind === 'Service') as {metadata: {labels: Record<string, string>}} | undefined;
    assert.ok(manifest);
    api.addDubboApp({
      namespace: 'dubbo-tunnel', name: 'dubbo-tunnel-gateway', servicePort: 20880, containerPort: gateway.port, serviceLabels: manifest.metadata.labels,
      pods: [{name: 'dubbo-tunnel-gateway-0', target: {host: '127.0.0.1', port: gateway.port}}],
    });
    // An application of that namespace added after it: once the gateway routes this one, its watch
    // has seen the gateway's Service too (one watch, in order).
    api.addDubboApp({namespace: 'dubbo-tunnel', name: 'audit-rpc', containerPort: user.port, pods: [{name: 'audit-rpc-0', podIP: '127.0.0.1'}]});
    kubeconfigs.alice = api.writeKubeconfig(dir, {fileName: 'alice.yaml', token: TOKENS.alice, user: 'alice'});
    kubeconfigs.bob = api.writeKubeconfig(dir, {fileName: 'bob.yaml', token: TOKENS.bob, user: 'bob'});
    await waitFor(async () => (await ls(['--via', address, '--kubeconfig', kubeconfigs.alice, '--json'])).stdout.includes('audit-rpc'));
  });

  after(async () => {
    await gateway.stop();
    await Promise.all([user.close(), pay.close()]);
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  test('prints the applications the gateway routes for this developer: application, namespace, services, triple', async () => {
    const alice = await ls(['--via', address, '--kubeconfig', kubeconfigs.alice]);
    assert.equal(alice.code, 0, alice.stderr);
    const lines = alice.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^APPLICATION\s+NAMESPACE\s+SERVICES\s+TRIPLE$/);
    assert.deepEqual(lines.slice(1).map((line) => line.split(/\s+/)), [
      ['audit-rpc', 'dubbo-tunnel', '0', 'no'],
      ['pay-rpc', 'billing', '0', 'yes'],
      ['user-rpc', 'shop', '0', 'no'],
    ]);
    const bob = await ls(['--via', address, '--kubeconfig', kubeconfigs.bob]);
    assert.equal(bob.code, 0, bob.stderr);
    assert.deepEqual(bob.stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/\s+/)[0]), ['user-rpc'], 'RBAC decides what each developer sees');
    assert.match(bob.stderr, /dubbo-tunnel: warning: the gateway 127\.0\.0\.1:\d+ withholds the 1 application in namespace billing from you: you lack get services in namespace billing/, 'and says what is withheld and why, on stderr');
    assert.doesNotMatch(bob.stderr, /pay-rpc/, 'without the names');
    assert.doesNotMatch(alice.stderr, /withholds/);
  });

  test('--json: application, namespace, services, triple', async () => {
    const alice = await ls(['--via', address, '--kubeconfig', kubeconfigs.alice, '--json']);
    assert.equal(alice.code, 0, alice.stderr);
    const listed = JSON.parse(alice.stdout) as Listed[];
    assert.deepEqual(listed, [
      {application: 'audit-rpc', namespace: 'dubbo-tunnel', services: [], triple: false},
      {application: 'pay-rpc', namespace: 'billing', services: [], triple: true},
      {application: 'user-rpc', namespace: 'shop', services: [], triple: false},
    ]);
  });

  test('the gateway\'s own Service is neither listed by ls in its namespace nor served by the gateway', async () => {
    const direct = await ls(['--kubeconfig', kubeconfigs.alice, '-n', 'dubbo-tunnel', '--json']);
    assert.equal(direct.code, 0, direct.stderr);
    assert.deepEqual((JSON.parse(direct.stdout) as {application: string}[]).map((entry) => entry.application), ['audit-rpc']);
    const through = await ls(['--via', address, '--kubeconfig', kubeconfigs.alice, '--json']);
    assert.ok(!(JSON.parse(through.stdout) as Listed[]).some((entry) => entry.application === 'dubbo-tunnel-gateway'), through.stdout);
  });

  test('--via <namespace>/<service> reaches the gateway through one port-forward, as up --via does', async () => {
    const served = api.portForwardsServed;
    const alice = await ls(['--via', 'dubbo-tunnel/dubbo-tunnel-gateway', '--kubeconfig', kubeconfigs.alice, '--json']);
    assert.equal(alice.code, 0, alice.stderr);
    assert.deepEqual((JSON.parse(alice.stdout) as Listed[]).map((entry) => entry.application), ['audit-rpc', 'pay-rpc', 'user-rpc']);
    assert.equal(api.portForwardsServed - served, 1);
  });

  test('the coded errors of up --via: no token, a refused token, an unreachable gateway', async () => {
    const pem = (label: string) => Buffer.from(`-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`).toString('base64');
    const certs = path.join(dir, 'certs.yaml');
    writeFileSync(certs, `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${JSON.stringify(api.url)}\n    insecure-skip-tls-verify: true\nusers:\n- name: admin\n  user:\n    client-certificate-data: ${pem('CERTIFICATE')}\n    client-key-data: ${pem('PRIVATE KEY')}\ncontexts:\n- name: kind\n  context:\n    cluster: c\n    user: admin\ncurrent-context: kind\n`);
    const noToken = await ls(['--via', address, '--kubeconfig', certs]);
    assert.equal(noToken.code, 1, noToken.stderr);
    assert.match(noToken.stderr, /dubbo-tunnel \[DT_ERR_GATEWAY_NO_TOKEN\]: user admin of context kind yields no bearer token/);
    assert.match(noToken.stderr, /kubectl create token/);
    assert.equal(noToken.stdout, '');

    const stolen = api.writeKubeconfig(dir, {fileName: 'stolen.yaml', token: 'not-a-known-token', user: 'mallory'});
    const refused = await ls(['--via', address, '--kubeconfig', stolen, '--json']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /dubbo-tunnel \[DT_ERR_GATEWAY_UNAUTHENTICATED\]: the gateway refused the hello/);
    assert.doesNotMatch(refused.stderr, /not-a-known-token/, 'the token is never printed');
    assert.equal(refused.stdout, '');

    const unreachable = await ls(['--via', `127.0.0.1:${await closedPort()}`, '--kubeconfig', kubeconfigs.alice]);
    assert.equal(unreachable.code, 1, unreachable.stderr);
    assert.match(unreachable.stderr, /dubbo-tunnel \[DT_ERR_BACKEND_UNAVAILABLE\]: cannot connect to the gateway at 127\.0\.0\.1:\d+: ECONNREFUSED/);
  });

  test('discovery flags and --interfaces next to --via are usage errors', async () => {
    const flags = await ls(['--via', address, '-n', 'shop']);
    assert.equal(flags.code, 2);
    assert.match(flags.stderr, /\[DT_ERR_BAD_ARGUMENT\]: --via cannot be used with --namespace/);
    const interfaces = await ls(['--via', address, '--interfaces']);
    assert.equal(interfaces.code, 2);
    assert.match(interfaces.stderr, /--via cannot be used with --interfaces/);
    const malformed = await ls(['--via', 'gw']);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /--via 'gw'/);
  });
});
