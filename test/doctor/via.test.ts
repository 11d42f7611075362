// `dubbo-tunnel doctor --via` against a real gateway process (the binary, in-cluster environment on
// the fake API server): reached through a port-forward to its pod or over TCP, the hello with the
// developer's token, and what each developer may use; and each coded failure: no bearer token, a
// token the TokenReview refuses, a peer that is not a gateway, nothing listening.
import assert from 'node:assert/strict';
import type {ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {main} from '../../src/cli/main.js';
import type {CheckResult} from '../../src/doctor/checks.js';
import {ensureBuilt, freePort} from '../support/binary.js';
import {TestProvider} from '../support/dubbo-peers.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {startGatewayProcess} from '../support/gateway-process.js';
import {collector} from '../support/output.js';

const TOKENS = {alice: 'alice-doctor-token-1', bob: 'bob-doctor-token-2', carol: 'carol-doctor-token-3', gateway: 'gateway-doctor-sa-token-4'};
const GATEWAY_SERVICE = 'dubbo-tunnel/dubbo-tunnel-gateway';

async function doctor(args: string[]): Promise<{code: number; checks: Map<string, CheckResult>; stdout: string; stderr: string}> {
  const stdout = collector();
  const stderr = collector();
  const code = await main(['doctor', '--json', ...args], {stdout: stdout.stream, stderr: stderr.stream, env: {HOME: '/nonexistent', KUBECONFIG: '/nonexistent/kubeconfig'}, interactive: false});
  const report = JSON.parse(stdout.text()) as {checks: CheckResult[]};
  return {code, checks: new Map(report.checks.map((check) => [check.id, check])), stdout: stdout.text(), stderr: stderr.text()};
}

function check(checks: Map<string, CheckResult>, id: string): CheckResult {
  const found = checks.get(id);
  assert.ok(found, `a ${id} check`);
  return found;
}

describe('doctor --via against a real gateway process', () => {
  let api: FakeKubeApi;
  let user: TestProvider;
  let pay: TestProvider;
  let child: ChildProcess;
  let port = 0;
  let localPort = 0;
  let dir = '';
  const kubeconfigs = {alice: '', bob: '', carol: ''};

  before(async () => {
    ensureBuilt();
    api = await FakeKubeApi.start({
      tls: true,
      users: {[TOKENS.alice]: 'alice', [TOKENS.bob]: 'bob', [TOKENS.carol]: 'carol', [TOKENS.gateway]: 'system:serviceaccount:dubbo-tunnel:dubbo-tunnel-gateway'},
      namespaces: ['default', 'shop', 'billing', 'dubbo-tunnel'],
      bookmarkIntervalMs: 0,
    });
    api.expireToken(TOKENS.carol);
    // bob may use shop only, and reach the gateway's pods (what --via <namespace>/<service> needs).
    api.setRules('bob', [
      {verb: 'get', resource: 'services', namespace: 'shop'},
      {verb: 'get', resource: 'services', namespace: 'dubbo-tunnel'},
      {verb: 'list', resource: 'endpointslices', namespace: 'dubbo-tunnel'},
      {verb: 'watch', resource: 'endpointslices', namespace: 'dubbo-tunnel'},
      {verb: '*', resource: 'pods/portforward', namespace: 'dubbo-tunnel'},
    ]);
    user = await TestProvider.start({application: 'user-rpc', host: '127.0.0.2'});
    pay = await TestProvider.start({application: 'pay-rpc', host: '127.0.0.3'});
    api.addDubboApp({namespace: 'shop', name: 'user-rpc', containerPort: user.port, pods: [{name: 'user-rpc-0', podIP: '127.0.0.2'}]});
    api.addDubboApp({namespace: 'billing', name: 'pay-rpc', containerPort: pay.port, pods: [{name: 'pay-rpc-0', podIP: '127.0.0.3'}]});
    dir = mkdtempSync(path.join(tmpdir(), 'dt-doctor-via-'));
    const inCluster = api.inClusterEnv(dir, TOKENS.gateway);
    const gateway = await startGatewayProcess(['--host', '127.0.0.1', '-n', 'shop', '-n', 'billing', '--no-learn'], inCluster);
    ({child, port} = gateway);
    // The gateway's Service as `gateway manifests` makes it: port-forwards to its pod land on the process.
    api.addDubboApp({namespace: 'dubbo-tunnel', name: 'dubbo-tunnel-gateway', portName: 'gateway', containerPort: 20880, pods: [{name: 'dubbo-tunnel-gateway-0', target: {host: '127.0.0.1', port}}]});
    for (const who of ['alice', 'bob', 'carol'] as const) kubeconfigs[who] = api.writeKubeconfig(dir, {fileName: `${who}.yaml`, token: TOKENS[who], user: who});
    localPort = await freePort();
  });

  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await user.close();
    await pay.close();
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  test('through a port-forward to the gateway\'s pod: the hello passes and every application alice may use is listed', async () => {
    const served = api.portForwardsServed;
    const run = await doctor(['--via', GATEWAY_SERVICE, '--kubeconfig', kubeconfigs.alice, '--port', String(localPort)]);
    assert.equal(run.code, 0, run.stdout);
    assert.equal(check(run.checks, 'credentials').status, 'ok');
    assert.equal(check(run.checks, 'api-server').status, 'ok');
    assert.equal(check(run.checks, 'permissions').status, 'skip', 'the gateway discovers, not this machine');
    assert.equal(check(run.checks, 'backends').status, 'skip');
    const gateway = check(run.checks, 'gateway');
    assert.equal(gateway.status, 'ok', JSON.stringify(gateway));
    assert.match(gateway.summary, /knows you as alice/);
    const access = check(run.checks, 'gateway-access');
    assert.equal(access.status, 'ok', JSON.stringify(access));
    assert.deepEqual(access.data, {applications: [{application: 'pay-rpc', namespace: 'billing'}, {application: 'user-rpc', namespace: 'shop'}], refused: []});
    assert.ok(api.portForwardsServed > served, 'the gateway was reached through a port-forward');
    assert.equal(run.stdout.includes(TOKENS.alice), false, 'no token in the report');
  });

  test('bob is refused billing: a warning naming the namespace and the missing permission, without the application names', async () => {
    const run = await doctor(['--via', GATEWAY_SERVICE, '--kubeconfig', kubeconfigs.bob, '--port', String(localPort)]);
    assert.equal(run.code, 0, run.stdout);
    const access = check(run.checks, 'gateway-access');
    assert.equal(access.status, 'warn');
    assert.equal(access.problem, 'refused');
    assert.deepEqual(access.data, {applications: [{application: 'user-rpc', namespace: 'shop'}], refused: [{namespace: 'billing', applications: 1, permission: 'get services in namespace billing', unchecked: false}]});
    assert.match(access.summary, /refused in namespace billing \(1: missing get services in namespace billing\)/);
    assert.match(access.fix ?? '', /kubectl auth can-i get services -n billing/);
    assert.equal(JSON.stringify(access).includes('pay-rpc'), false, 'the name of an application bob may not use is withheld');
  });

  test('over TCP (--via host:port): the API server is not needed, the hello passes', async () => {
    const run = await doctor(['--via', `127.0.0.1:${port}`, '--kubeconfig', kubeconfigs.alice, '--port', String(localPort)]);
    assert.equal(run.code, 0, run.stdout);
    assert.equal(check(run.checks, 'api-server').status, 'skip');
    assert.equal(check(run.checks, 'gateway').status, 'ok');
    assert.equal(check(run.checks, 'gateway-access').status, 'ok');
  });

  test('coded failures: no bearer token, an expired token, a Dubbo provider or an HTTP server that is not a gateway, nothing listening', async (t) => {
    const pem = (label: string) => Buffer.from(`-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`).toString('base64');
    const certs = path.join(dir, 'certs.yaml');
    writeFileSync(certs, `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${JSON.stringify(api.url)}\n    insecure-skip-tls-verify: true\nusers:\n- name: admin\n  user:\n    client-certificate-data: ${pem('CERTIFICATE')}\n    client-key-data: ${pem('PRIVATE KEY')}\ncontexts:\n- name: kind\n  context:\n    cluster: c\n    user: admin\ncurrent-context: kind\n`);
    const closed = await freePort();
    // A server of another protocol: it answers the hello with bytes that are not Dubbo.
    const http = net.createServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const httpPort = (http.address() as net.AddressInfo).port;
    const cases = [
      {args: ['--via', `127.0.0.1:${port}`, '--kubeconfig', certs], problem: 'no-token', words: /yields no bearer token/, fix: /kubectl create token/},
      {args: ['--via', `127.0.0.1:${port}`, '--kubeconfig', kubeconfigs.carol], problem: 'unauthenticated', words: /DT_ERR_GATEWAY_UNAUTHENTICATED|did not accept the token/, fix: /kubectl auth whoami/},
      {args: ['--via', `127.0.0.2:${user.port}`, '--kubeconfig', kubeconfigs.alice], problem: 'not-a-gateway', words: /not as a dubbo-tunnel gateway of this version: unreadable gateway answer/, fix: /gateway manifests/},
      {args: ['--via', `127.0.0.1:${httpPort}`, '--kubeconfig', kubeconfigs.alice], problem: 'not-a-gateway', words: /bytes that are not Dubbo/, fix: /gateway manifests/},
      {args: ['--via', `127.0.0.1:${closed}`, '--kubeconfig', kubeconfigs.alice], problem: 'unreachable', words: /ECONNREFUSED|refused|cannot connect/i, fix: /./},
    ];
    for (const {args, problem, words, fix} of cases) {
      const run = await doctor([...args, '--port', String(localPort)]);
      assert.equal(run.code, 1, `${problem}: ${run.stdout}`);
      const gateway = check(run.checks, 'gateway');
      assert.equal(gateway.status, 'fail', problem);
      assert.equal(gateway.problem, problem, JSON.stringify(gateway));
      assert.match(gateway.summary, words, problem);
      assert.match(gateway.fix ?? '', fix, problem);
      assert.equal(check(run.checks, 'gateway-access').status, 'skip', problem);
      assert.equal(run.stdout.includes(TOKENS.carol), false, 'no token in the report');
    }
  });

  test('--via with -n is a usage error, as for up', async () => {
    const stdout = collector();
    const stderr = collector();
    const code = await main(['doctor', '--via', GATEWAY_SERVICE, '-n', 'shop'], {stdout: stdout.stream, stderr: stderr.stream, env: {HOME: '/nonexistent'}, interactive: false});
    assert.equal(code, 2);
    assert.match(stderr.text(), /DT_ERR_BAD_ARGUMENT.*--via cannot be used with --namespace/);
  });
});
