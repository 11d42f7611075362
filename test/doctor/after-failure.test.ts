// When `up` cannot start, the doctor checks that concern its error follow the error (only the failing
// ones); errors the doctor cannot explain get nothing extra.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {main} from '../../src/cli/main.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {collector} from '../support/output.js';

async function up(args: string[], env: NodeJS.ProcessEnv): Promise<{code: number; out: string; err: string}> {
  const out = collector();
  const err = collector();
  const code = await main(['up', '--no-ui', ...args], {stdout: out.stream, stderr: err.stream, env, interactive: false});
  return {code, out: out.text(), err: err.text()};
}

describe('up runs a brief doctor when it cannot start', () => {
  let api: FakeKubeApi;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let denied: string;
  let allowed: string;
  let port: number;

  before(async () => {
    const probe = net.createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((done) => probe.close(() => done()));
    dir = mkdtempSync(path.join(tmpdir(), 'dubbo-tunnel-brief-'));
    env = {DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, 'config'), HOME: dir};
    api = await FakeKubeApi.start({users: {'carol-token': 'carol'}});
    api.addDubboApp({namespace: 'dev', name: 'user-rpc', pods: [{name: 'user-rpc-0'}]});
    // carol may not list Services, nor port-forward: up fails at its first list.
    api.deny({user: 'carol', verb: 'list', resource: 'services', group: ''});
    api.deny({user: 'carol', verb: '*', resource: 'pods/portforward'});
    denied = api.writeKubeconfig(dir, {fileName: 'carol.yaml', namespace: 'dev', token: 'carol-token', user: 'carol'});
    allowed = api.writeKubeconfig(dir, {fileName: 'admin.yaml', namespace: 'dev'});
  });

  after(async () => {
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  test('RBAC: the error, then every missing permission at once with the Role rules', async () => {
    const run = await up(['--all', '--kubeconfig', denied, '--port', String(port)], env);
    assert.equal(run.code, 1);
    const lines = run.err.split('\n');
    assert.match(lines[0] ?? '', /^dubbo-tunnel \[DT_ERR_KUBE_FORBIDDEN\]: not allowed to list services in namespace dev /);
    assert.match(lines[1] ?? '', /^ {2}fix: /);
    assert.equal(lines[2], 'doctor:');
    assert.equal(lines[3], '  ✗ permissions       3 of 8 requests dubbo-tunnel makes are not allowed in namespace dev: list services, get pods/portforward, create pods/portforward');
    assert.ok(lines.includes('                      list    services                         dev        NO'), run.err);
    assert.ok(lines.includes('                      create  pods/portforward                 dev        NO'), run.err);
    assert.match(run.err, /fix: add to a Role bound to you in namespace dev: \{apiGroups: \[""\], resources: \["services"\], verbs: \["list"\]\} \{apiGroups: \[""\], resources: \["pods\/portforward"\], verbs: \["get", "create"\]\}/);
    assert.equal(lines.at(-2), '  (dubbo-tunnel doctor runs every check)');
    // Only failing checks: the passing ones (kubeconfig, credentials, API server) are not printed.
    assert.doesNotMatch(run.err, /✓/);
  });

  test('API server down: the error, then the check with the time it took', async () => {
    const gone = await FakeKubeApi.start();
    const kubeconfig = gone.writeKubeconfig(dir, {fileName: 'gone.yaml', namespace: 'dev'});
    await gone.stop();
    const run = await up(['--all', '--kubeconfig', kubeconfig, '--port', String(port)], env);
    assert.equal(run.code, 1);
    const lines = run.err.split('\n');
    assert.match(lines[0] ?? '', /^dubbo-tunnel \[DT_ERR_KUBE_UNREACHABLE\]: cannot reach the API server http:\/\/127\.0\.0\.1:\d+: connection refused$/);
    assert.equal(lines[2], 'doctor:');
    assert.match(lines[3] ?? '', /^ {2}✗ API server {8}cannot reach the API server http:\/\/127\.0\.0\.1:\d+: connection refused \(after \d+ ms\)$/);
  });

  test('a busy port: who holds it and a free port', async () => {
    const holder = net.createServer((socket) => socket.destroy());
    await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
    const busy = (holder.address() as net.AddressInfo).port;
    try {
      const run = await up(['--all', '--kubeconfig', allowed, '--port', String(busy)], env);
      assert.equal(run.code, 1);
      const lines = run.err.split('\n');
      assert.equal(lines[0], `dubbo-tunnel [DT_ERR_PORT_IN_USE]: port ${busy} is already in use by another process`);
      assert.equal(lines[2], 'doctor:');
      assert.equal(lines[3], `  ✗ local port        port ${busy} is already in use by another process`);
      assert.equal(lines[4], '                      whatever listens there closed the connection without answering in Dubbo');
      assert.match(lines[5] ?? '', new RegExp(`^ {22}fix: stop the other process \\(lsof -i :${busy} shows it\\), or use a free port: --port \\d+$`));
    } finally {
      await new Promise<void>((done) => holder.close(() => done()));
    }
  });

  test('a missing kubeconfig: the doctor would only repeat the error, so it prints nothing', async () => {
    const run = await up(['--all', '--kubeconfig', path.join(dir, 'nope.yaml'), '--port', String(port)], env);
    assert.equal(run.code, 1);
    assert.doesNotMatch(run.err, /doctor:/);
    assert.match(run.err, /^dubbo-tunnel \[DT_ERR_KUBECONFIG\]: kubeconfig file .*nope\.yaml \(from --kubeconfig\) does not exist\n {2}fix: /);
  });

  test('an error the doctor cannot explain (no choice made) gets no doctor lines', async () => {
    const run = await up(['--kubeconfig', allowed, '--port', String(port)], env);
    assert.equal(run.code, 2);
    assert.doesNotMatch(run.err, /doctor:/);
  });
});
