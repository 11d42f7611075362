// `dubbo-tunnel doctor` through the CLI entry (main), against the fake Kubernetes API server: an allowed
// user, a user whose Role lacks port-forward, an API server that is down or silent, no kubeconfig, a
// busy port. Every line is asserted, and the exit code.
import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {main} from '../../src/cli/main.js';
import {DemoProvider} from '../../src/sim/demo-provider.js';
import {USER_SERVICE} from '../../src/sim/demo-services.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {collector} from '../support/output.js';

interface Run {
  code: number;
  out: string;
  err: string;
  lines: string[];
}

async function doctor(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const out = collector();
  const err = collector();
  const code = await main(['doctor', ...args], {stdout: out.stream, stderr: err.stream, env, interactive: false});
  return {code, out: out.text(), err: err.text(), lines: out.text().split('\n')};
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const {port} = server.address() as net.AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** `✓ title` pairs of the check lines, in order. */
function verdicts(run: Run): string[] {
  return run.lines.filter((line) => /^[✓✗!-] /.test(line)).map((line) => `${line[0]} ${line.slice(2, 18).trim()}`);
}

/** The line of one check and the indented lines under it. */
function block(run: Run, title: string): string[] {
  const start = run.lines.findIndex((line) => line.slice(2, 18).trim() === title && /^[✓✗!-] /.test(line));
  assert.notEqual(start, -1, `no line for ${title} in:\n${run.out}`);
  const rest = run.lines.slice(start + 1);
  const end = rest.findIndex((line) => !line.startsWith(' '.repeat(20)));
  return [run.lines[start] ?? '', ...rest.slice(0, end === -1 ? rest.length : end).map((line) => line.slice(20))];
}

const NODE_LINE = /^✓ Node\.js {11}v\d+\.\d+\.\d+ \(20\.19 or newer needed\)$/;
const ADDRESS_LINE = /^✓ consumer address {2}Java consumers told localhost connect to [\d.]+; the listener \(all addresses, local peers only\) accepts it$/;

describe('dubbo-tunnel doctor', () => {
  let api: FakeKubeApi;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let port: number;
  let allowed: string;
  let denied: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dubbo-tunnel-doctor-'));
    mkdirSync(path.join(dir, 'home'));
    env = {DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, 'config'), HOME: path.join(dir, 'home')};
    api = await FakeKubeApi.start({users: {'bob-token': 'bob'}});
    api.addDubboApp({namespace: 'dev', name: 'user-rpc', ingress: true, pods: [{name: 'user-rpc-0'}, {name: 'user-rpc-1'}]});
    api.addDubboApp({namespace: 'dev', name: 'order-rpc', pods: [{name: 'order-rpc-0'}]});
    // bob's Role: everything for discovery, but nothing on pods/portforward.
    api.setRules('bob', [
      {verb: 'list', resource: 'ingresses', group: 'networking.k8s.io'}, {verb: 'watch', resource: 'ingresses', group: 'networking.k8s.io'},
      {verb: 'list', resource: 'services', group: ''}, {verb: 'watch', resource: 'services', group: ''},
      {verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io'}, {verb: 'watch', resource: 'endpointslices', group: 'discovery.k8s.io'},
      {verb: 'get', resource: 'pods', group: ''},
    ]);
    allowed = api.writeKubeconfig(dir, {context: 'kind-dev', namespace: 'dev', fileName: 'allowed.yaml'});
    denied = api.writeKubeconfig(dir, {context: 'bob-dev', namespace: 'dev', token: 'bob-token', user: 'bob', fileName: 'bob.yaml'});
    port = await freePort();
  });

  after(async () => {
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  test('an allowed user: every check passes, exit 0', async () => {
    const run = await doctor(['--kubeconfig', allowed, '--port', String(port)], env);
    assert.equal(run.code, 0, run.out);
    assert.equal(run.err, '');
    assert.deepEqual(verdicts(run), ['✓ Node.js', '✓ kubeconfig', '✓ credentials', '✓ API server', '✓ permissions', '✓ Dubbo backends', '✓ local port', '✓ consumer address']);
    assert.match(block(run, 'Node.js')[0] ?? '', NODE_LINE);
    assert.deepEqual(block(run, 'kubeconfig'), [`✓ kubeconfig        ${allowed} · context kind-dev · namespace dev · server ${api.url}`]);
    assert.deepEqual(block(run, 'credentials'), ['✓ credentials       bearer token from the kubeconfig (user kind-dev-user)']);
    assert.match(block(run, 'API server')[0] ?? '', new RegExp(`^✓ API server {8}${api.url.replace(/\./g, '\\.')} answered in \\d+ ms · Kubernetes v1\\.35\\.0$`));
    assert.deepEqual(block(run, 'permissions'), [
      '✓ permissions       all 8 requests dubbo-tunnel makes are allowed in namespace dev',
      'VERB    RESOURCE                         NAMESPACE  ALLOWED',
      'list    ingresses.networking.k8s.io      dev        yes',
      'watch   ingresses.networking.k8s.io      dev        yes',
      'list    services                         dev        yes',
      'watch   services                         dev        yes',
      'list    endpointslices.discovery.k8s.io  dev        yes',
      'watch   endpointslices.discovery.k8s.io  dev        yes',
      'get     pods/portforward                 dev        yes',
      'create  pods/portforward                 dev        yes',
    ]);
    assert.deepEqual(block(run, 'Dubbo backends'), [
      '✓ Dubbo backends    2 found in namespace dev: order-rpc (1 ready pod), user-rpc (2 ready pods)',
      'APPLICATION  NAMESPACE  FOUND BY               READY',
      'order-rpc    dev        service dev/order-rpc  1',
      'user-rpc     dev        ingress dev/user-rpc   2',
    ]);
    assert.match(block(run, 'local port')[0] ?? '', new RegExp(`^✓ local port {8}port ${port} is free: dubbo-tunnel could listen on (\\[::\\]|0\\.0\\.0\\.0):${port}$`));
    const address = block(run, 'consumer address');
    assert.match(address[0] ?? '', ADDRESS_LINE);
    assert.match(address[1] ?? '', /^why: /);
    assert.equal(run.lines.at(-2), 'all 8 checks passed');
    assert.equal(await canListen(port), true, 'doctor closed the port it tried');
  });

  test('a user whose Role lacks port-forward: the table marks get and create pods/portforward, the fix names the rule, exit 1', async () => {
    const run = await doctor(['--kubeconfig', denied, '--port', String(port)], env);
    assert.equal(run.code, 1);
    assert.deepEqual(verdicts(run), ['✓ Node.js', '✓ kubeconfig', '✓ credentials', '✓ API server', '✗ permissions', '✓ Dubbo backends', '✓ local port', '✓ consumer address']);
    assert.deepEqual(block(run, 'credentials'), ['✓ credentials       bearer token from the kubeconfig (user bob)']);
    assert.deepEqual(block(run, 'permissions'), [
      '✗ permissions       2 of 8 requests dubbo-tunnel makes are not allowed in namespace dev: get pods/portforward, create pods/portforward',
      'VERB    RESOURCE                         NAMESPACE  ALLOWED',
      'list    ingresses.networking.k8s.io      dev        yes',
      'watch   ingresses.networking.k8s.io      dev        yes',
      'list    services                         dev        yes',
      'watch   services                         dev        yes',
      'list    endpointslices.discovery.k8s.io  dev        yes',
      'watch   endpointslices.discovery.k8s.io  dev        yes',
      'get     pods/portforward                 dev        NO',
      'create  pods/portforward                 dev        NO',
      'fix: add to a Role bound to you in namespace dev: {apiGroups: [""], resources: ["pods/portforward"], verbs: ["get", "create"]} '
        + '(port-forward needs both get and create; Kubernetes 1.35+ checks create); docs/kubernetes.md#permissions-rbac has the whole Role',
    ]);
    assert.equal(run.lines.at(-2), '1 check failed: the fix is under each line (docs/troubleshooting.md explains every check)');
  });

  test('with -A the table is cluster-wide and the fix asks for a ClusterRole', async () => {
    const run = await doctor(['--kubeconfig', denied, '--port', String(port), '-A'], env);
    assert.equal(run.code, 1);
    const lines = block(run, 'permissions');
    assert.match(lines[0] ?? '', /not allowed cluster-wide \(-A\): /);
    assert.ok(lines.includes('get     pods/portforward                 *          NO'), lines.join('\n'));
    assert.match(lines.at(-1) ?? '', /^fix: add to a ClusterRole bound to you with a ClusterRoleBinding: /);
  });

  test('an API server that is down: ✗ with its URL and the time taken, the checks after it skipped, exit 1', async () => {
    const gone = await FakeKubeApi.start();
    const kubeconfig = gone.writeKubeconfig(dir, {fileName: 'gone.yaml', namespace: 'dev'});
    const url = gone.url;
    await gone.stop();
    const run = await doctor(['--kubeconfig', kubeconfig, '--port', String(port)], env);
    assert.equal(run.code, 1);
    assert.deepEqual(verdicts(run), ['✓ Node.js', '✓ kubeconfig', '✓ credentials', '✗ API server', '- permissions', '- Dubbo backends', '✓ local port', '✓ consumer address']);
    const lines = block(run, 'API server');
    assert.match(lines[0] ?? '', new RegExp(`^✗ API server {8}cannot reach the API server ${url.replace(/\./g, '\\.')}: connection refused \\(after \\d+ ms\\)$`));
    assert.deepEqual(lines.slice(1), ['fix: check that the cluster of context \'fake\' is running and reachable (VPN, proxy), or pick another with --context']);
    assert.deepEqual(block(run, 'permissions'), ['- permissions       skipped: the API server did not answer']);
    assert.deepEqual(block(run, 'Dubbo backends'), ['- Dubbo backends    skipped: the API server did not answer']);
  });

  test('an API server that accepts but never answers: ✗ after --timeout', async () => {
    const silent = net.createServer(() => undefined);
    const sockets = new Set<net.Socket>();
    silent.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const silentUrl = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const kubeconfig = api.writeKubeconfig(dir, {fileName: 'silent.yaml', server: silentUrl});
    try {
      const run = await doctor(['--kubeconfig', kubeconfig, '--port', String(port), '--timeout', '300'], env);
      assert.equal(run.code, 1);
      const line = block(run, 'API server')[0] ?? '';
      const match = new RegExp(`^✗ API server {8}cannot reach the API server ${silentUrl.replace(/\./g, '\\.')}: request timed out \\(after (\\d+) ms\\)$`).exec(line);
      assert.ok(match, line);
      assert.ok(Number(match[1]) >= 290, `waited about --timeout: ${match[1]} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => silent.close(() => done()));
    }
  });

  test('no kubeconfig at all: ✗ names where it looked, the Kubernetes checks are skipped, exit 1', async () => {
    const run = await doctor(['--port', String(port)], env);
    assert.equal(run.code, 1);
    assert.deepEqual(verdicts(run), ['✓ Node.js', '✗ kubeconfig', '- credentials', '- API server', '- permissions', '- Dubbo backends', '✓ local port', '✓ consumer address']);
    assert.deepEqual(block(run, 'kubeconfig'), [
      `✗ kubeconfig        no kubeconfig found (looked at ${path.join(dir, 'home', '.kube', 'config')})`,
      'fix: point KUBECONFIG or --kubeconfig at your cluster\'s kubeconfig, or create ~/.kube/config (e.g. with your cloud CLI\'s get-credentials command)',
    ]);
    assert.deepEqual(block(run, 'credentials'), ['- credentials       skipped: needs a kubeconfig']);
    const missing = await doctor(['--port', String(port), '--kubeconfig', path.join(dir, 'nope.yaml')], env);
    assert.equal(missing.code, 1);
    assert.equal(block(missing, 'kubeconfig')[0], `✗ kubeconfig        kubeconfig file ${path.join(dir, 'nope.yaml')} (from --kubeconfig) does not exist`);
  });

  test('an unknown context: ✗ lists the known ones', async () => {
    const run = await doctor(['--kubeconfig', allowed, '--context', 'prod', '--port', String(port)], env);
    assert.equal(run.code, 1);
    assert.deepEqual(block(run, 'kubeconfig'), [
      `✗ kubeconfig        context 'prod' is not in the kubeconfig (${allowed})`,
      'fix: known contexts: kind-dev; pass one of them with --context',
    ]);
  });

  test('a busy port: ✗, whether a Dubbo server holds it, and a free port to use instead; exit 1', async () => {
    const busy = await freePort();
    const held = new Set<net.Socket>();
    const holder = net.createServer((socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((done) => holder.listen(busy, '127.0.0.1', done));
    try {
      const run = await doctor(['--kubeconfig', allowed, '--port', String(busy)], env);
      assert.equal(run.code, 1);
      assert.deepEqual(verdicts(run), ['✓ Node.js', '✓ kubeconfig', '✓ credentials', '✓ API server', '✓ permissions', '✓ Dubbo backends', '✗ local port', '✓ consumer address']);
      const lines = block(run, 'local port');
      assert.equal(lines[0], `✗ local port        port ${busy} is already in use by another process`);
      assert.equal(lines[1], 'whatever listens there did not answer a Dubbo heartbeat within 1000 ms');
      const free = new RegExp(`^fix: stop the other process \\(lsof -i :${busy} shows it\\), or use a free port: --port (\\d+)$`).exec(lines[2] ?? '');
      assert.ok(free, lines.join('\n'));
      assert.equal(await canListen(Number(free[1])), true, 'the suggested port is free');
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise<void>((done) => holder.close(() => done()));
    }

    // Held by a Dubbo server (an earlier `up`, a local provider): doctor says so.
    const provider = await DemoProvider.start({application: 'local', pod: 'local', services: [USER_SERVICE], port: busy});
    try {
      const run = await doctor(['--kubeconfig', allowed, '--port', String(busy)], env);
      assert.equal(block(run, 'local port')[1], 'a Dubbo server answers on it (an earlier dubbo-tunnel up, or a Dubbo provider started on this machine?)');
    } finally {
      await provider.close();
    }
  });

  test('--json prints every check with its status, and the exit code follows', async () => {
    const out = collector();
    const code = await main(['doctor', '--kubeconfig', denied, '--port', String(port), '--json'], {stdout: out.stream, stderr: collector().stream, env, interactive: false});
    assert.equal(code, 1);
    const report = JSON.parse(out.text()) as {ok: boolean; checks: {id: string; status: string; fix?: string; data?: Record<string, unknown>}[]};
    assert.equal(report.ok, false);
    assert.deepEqual(report.checks.map((check) => `${check.id}:${check.status}`), [
      'node:ok', 'kubeconfig:ok', 'credentials:ok', 'api-server:ok', 'permissions:fail', 'backends:ok', 'port:ok', 'consumer-address:ok',
    ]);
    const permissions = report.checks.find((check) => check.id === 'permissions');
    assert.match(permissions?.fix ?? '', /resources: \["pods\/portforward"\], verbs: \["get", "create"\]/);
    const rows = permissions?.data?.['rows'] as {verb: string; resource: string; allowed: boolean}[];
    assert.deepEqual(rows.filter((row) => !row.allowed).map((row) => `${row.verb} ${row.resource}`), ['get pods/portforward', 'create pods/portforward']);
  });

  test('an exec plugin: its messages are shown and kept under the credentials line; a failing one is ✗ with them', async () => {
    const good = path.join(dir, 'good-plugin.mjs');
    writeFileSync(good, `process.stderr.write('Opening the browser to sign in...\\n');
      process.stdout.write(JSON.stringify({apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: {token: ${JSON.stringify(api.token)}}}));`);
    const bad = path.join(dir, 'bad-plugin.mjs');
    writeFileSync(bad, `process.stderr.write('error: refresh token expired, run corp-login\\n'); process.exit(1);`);
    const goodConfig = api.writeKubeconfig(dir, {fileName: 'exec-good.yaml', context: 'corp', namespace: 'dev', exec: {command: process.execPath, args: [good]}});
    const badConfig = api.writeKubeconfig(dir, {fileName: 'exec-bad.yaml', context: 'corp', namespace: 'dev', exec: {command: process.execPath, args: [bad]}});
    const missingConfig = api.writeKubeconfig(dir, {fileName: 'exec-missing.yaml', context: 'corp', namespace: 'dev', exec: {command: 'dubbo-tunnel-no-such-plugin'}});

    const ok = await doctor(['--kubeconfig', goodConfig, '--port', String(port)], env);
    assert.equal(ok.code, 0);
    const okLines = block(ok, 'credentials');
    assert.match(okLines[0] ?? '', new RegExp(`^✓ credentials {7}exec plugin ${process.execPath.replace(/[/.]/g, '\\$&')} \\(user corp-user\\) gave a token in \\d+ ms$`));
    assert.deepEqual(okLines.slice(1), ['plugin: Opening the browser to sign in...']);
    assert.match(ok.err, /Opening the browser to sign in/, 'shown as it is written, on stderr');

    const failed = await doctor(['--kubeconfig', badConfig, '--port', String(port)], env);
    assert.equal(failed.code, 1);
    assert.deepEqual(verdicts(failed).slice(0, 6), ['✓ Node.js', '✓ kubeconfig', '✗ credentials', '- API server', '- permissions', '- Dubbo backends']);
    const failedLines = block(failed, 'credentials');
    assert.match(failedLines[0] ?? '', /^✗ credentials {7}cannot get credentials for context 'corp': .*refresh token expired, run corp-login/);
    assert.equal(failedLines[1], 'plugin: error: refresh token expired, run corp-login');
    assert.equal(failedLines.at(-1), 'fix: run `kubectl --context corp get ns` to log in or see the credential plugin\'s error, then retry');

    const missing = await doctor(['--kubeconfig', missingConfig, '--port', String(port)], env);
    assert.equal(missing.code, 1);
    const missingLines = block(missing, 'credentials');
    assert.match(missingLines[0] ?? '', /^✗ credentials {7}cannot get credentials for context 'corp': /);
    assert.equal(missingLines.at(-1), 'fix: install dubbo-tunnel-no-such-plugin or put it on PATH (the kubeconfig\'s users[].user.exec.command), then run doctor again');
  });
});

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({port, host: '::', ipv6Only: false, exclusive: true}, () => server.close(() => resolve(true)));
  });
}
