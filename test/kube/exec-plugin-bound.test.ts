// Exec credentials plugins cannot hang a command: a plugin that never answers is announced after a
// few seconds and stopped at the bound with an error that names the fix; a plugin that is not
// installed is named as such. Real client-node runs the plugins, against the fake API server.
import assert from 'node:assert/strict';
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {PassThrough} from 'node:stream';
import {after, before, describe, it} from 'node:test';
import {main} from '../../src/cli/main.js';
import {DubboTunnelError} from '../../src/core/errors.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {KubeClient} from '../../src/kube/client.js';
import {KubeCluster} from '../../src/kube/cluster.js';
import {toKubeError} from '../../src/kube/errors.js';
import {loadKubeconfig, routeExecPluginIo} from '../../src/kube/kubeconfig.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {collector} from '../support/output.js';
import {waitFor} from '../support/wait.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('exec credentials plugins are bounded', () => {
  let api: FakeKubeApi;
  let dir: string;
  let hanging: string;
  let pidFile: string;
  let missing: string;
  const childPidFiles: string[] = [];

  before(async () => {
    api = await FakeKubeApi.start();
    dir = mkdtempSync(path.join(tmpdir(), 'dt-exec-bound-'));
    pidFile = path.join(dir, 'pid');
    const script = path.join(dir, 'sso-login.mjs');
    // A login that nobody completes: it prints its prompt and waits forever.
    writeFileSync(script, `
      import fs from 'node:fs';
      fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
      process.stderr.write('open https://login.example/device and enter CODE-42\\n');
      setInterval(() => {}, 1000);
    `);
    chmodSync(script, 0o755);
    hanging = api.writeKubeconfig(dir, {fileName: 'hanging.yaml', context: 'sso', exec: {command: process.execPath, args: [script]}});
    missing = api.writeKubeconfig(dir, {fileName: 'missing.yaml', context: 'corp', exec: {command: 'dubbo-tunnel-test-no-such-login'}});
  });
  after(async () => {
    // A child left running by a failing run is not left to the machine.
    for (const file of childPidFiles.filter((each) => existsSync(each))) {
      const pid = Number(readFileSync(file, 'utf8'));
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  it('says it is waiting, then stops the plugin at the bound with an error naming the fix', async () => {
    const loaded = loadKubeconfig({kubeconfig: hanging, env: {}});
    const stderr = new PassThrough();
    let seen = '';
    stderr.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
    });
    routeExecPluginIo(loaded.kc, {stderr, noticeAfterMs: 200, timeoutMs: 1500});
    const client = new KubeClient(loaded.kc, loaded);
    const started = Date.now();
    let noticedAfter = -1;
    stderr.on('data', () => {
      if (noticedAfter === -1 && seen.includes('waiting for')) noticedAfter = Date.now() - started;
    });
    await assert.rejects(client.connectionOptions(), (error: unknown) => {
      const mapped = toKubeError(error, client.scene);
      assert.equal(mapped.code, 'DT_ERR_KUBE_UNAUTHORIZED');
      assert.equal(mapped.message, 'cannot get credentials for context \'sso\': the credentials plugin node gave no answer within 2 s');
      assert.equal(mapped.hint, 'run `kubectl --context sso get ns` to see what the plugin waits for (a login, a prompt, the network), then retry; DUBBO_TUNNEL_EXEC_TIMEOUT_MS=<ms> gives it longer');
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1400 && elapsed < 15_000, `gave up after ${elapsed} ms`);
    assert.match(seen, /CODE-42/, 'the plugin\'s prompt is shown live');
    assert.match(seen, /^dubbo-tunnel: waiting for the credentials plugin node \(a login may be waiting for you; giving up after 2 s\)…$/m);
    assert.ok(noticedAfter >= 150 && noticedAfter < elapsed, `the waiting line came after ${noticedAfter} ms, before the give-up`);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await waitFor(() => !alive(pid), {message: 'the plugin process is stopped'});
  });

  /** A shell plugin that starts `sleep 1000` (holding the plugin's stdout and stderr), writes its pid, then does `then`. */
  function leavesAChild(name: string, then: string): {kubeconfig: string; childPid(): number} {
    const script = path.join(dir, `${name}.sh`);
    const childPidFile = path.join(dir, `${name}.pid`);
    writeFileSync(script, `#!/bin/sh\nsleep 1000 &\necho $! > '${childPidFile}'\n${then}\n`);
    chmodSync(script, 0o755);
    childPidFiles.push(childPidFile);
    return {
      kubeconfig: api.writeKubeconfig(dir, {fileName: `${name}.yaml`, context: name, exec: {command: script}}),
      childPid: () => Number(readFileSync(childPidFile, 'utf8')),
    };
  }

  it('takes the answer of a plugin that exited while a child it left holds its pipes, and ends that child', async () => {
    const credential = JSON.stringify({apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: {token: api.token}});
    const plugin = leavesAChild('answered', `echo '${credential}'\nexit 0`);
    const loaded = loadKubeconfig({kubeconfig: plugin.kubeconfig, env: {}});
    routeExecPluginIo(loaded.kc, {stderr: null, timeoutMs: 20_000});
    const client = new KubeClient(loaded.kc, loaded);
    const started = Date.now();
    const options = await client.connectionOptions();
    assert.ok(Date.now() - started < 15_000, `the answer took ${Date.now() - started} ms`);
    assert.equal((options.headers as Record<string, string> | undefined)?.['Authorization'], `Bearer ${api.token}`);
    await waitFor(() => !alive(plugin.childPid()), {message: 'the child the plugin left is stopped'});
  });

  it('reports a plugin that failed while a child it left holds its pipes, long before the bound, and ends that child', async () => {
    const plugin = leavesAChild('refused', 'echo "login refused: account locked" >&2\nexit 3');
    const loaded = loadKubeconfig({kubeconfig: plugin.kubeconfig, env: {}});
    routeExecPluginIo(loaded.kc, {stderr: null, timeoutMs: 60_000});
    const client = new KubeClient(loaded.kc, loaded);
    const started = Date.now();
    await assert.rejects(client.connectionOptions(), /login refused: account locked/);
    assert.ok(Date.now() - started < 15_000, `the failure took ${Date.now() - started} ms`);
    await waitFor(() => !alive(plugin.childPid()), {message: 'the child the plugin left is stopped'});
  });

  it('ends `ls` in bounded time (DUBBO_TUNNEL_EXEC_TIMEOUT_MS) with the error and its fix', async () => {
    const out = collector();
    const err = collector();
    const started = Date.now();
    const code = await main(['ls', '--kubeconfig', hanging], {stdout: out.stream, stderr: err.stream, env: {HOME: dir, DUBBO_TUNNEL_EXEC_TIMEOUT_MS: '1000'}, interactive: false});
    const elapsed = Date.now() - started;
    assert.notEqual(code, 0);
    // Bounded, not fast: loading the CLI takes a few seconds on a busy machine.
    assert.ok(elapsed < 30_000, `ls took ${elapsed} ms`);
    assert.match(err.text(), /cannot get credentials for context 'sso': the credentials plugin node gave no answer within 1 s/);
    assert.match(err.text(), /kubectl --context sso get ns/);
  });

  it('names a plugin that is not installed, with doctor\'s fix, for open() and for doctor', async () => {
    await assert.rejects(KubeCluster.open({kubeconfig: missing, events: new TunnelEventBus(), env: {}, execStderr: null}), (error: unknown) => {
      assert.ok(error instanceof DubboTunnelError);
      assert.equal(error.code, 'DT_ERR_KUBE_UNAUTHORIZED');
      assert.equal(error.message, 'cannot get credentials for context \'corp\': the credentials plugin dubbo-tunnel-test-no-such-login was not found (not installed, or not on PATH)');
      assert.equal(error.hint, 'install dubbo-tunnel-test-no-such-login or put it on PATH (the kubeconfig\'s users[].user.exec.command)');
      return true;
    });
    const out = collector();
    const code = await main(['doctor', '--kubeconfig', missing, '--port', '20999'], {stdout: out.stream, stderr: collector().stream, env: {HOME: dir}, interactive: false});
    assert.equal(code, 1);
    assert.match(out.text(), /install dubbo-tunnel-test-no-such-login or put it on PATH \(the kubeconfig's users\[\]\.user\.exec\.command\), then run doctor again/);
  });

  it('keeps doctor within its --timeout when the plugin hangs', async () => {
    const out = collector();
    const started = Date.now();
    const code = await main(['doctor', '--kubeconfig', hanging, '--timeout', '1000', '--port', '20999'], {stdout: out.stream, stderr: collector().stream, env: {HOME: dir}, interactive: false});
    const elapsed = Date.now() - started;
    assert.equal(code, 1);
    assert.ok(elapsed < 30_000, `doctor took ${elapsed} ms`);
    assert.match(out.text(), /the credentials plugin node gave no answer within 1 s/);
    assert.ok(existsSync(pidFile));
  });
});
