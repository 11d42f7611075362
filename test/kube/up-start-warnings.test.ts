// `up` says at start-up what `ls` and doctor would say (the same words and fixes): a namespace without
// backends (and that it waits for them), a user without the pods/portforward right (whose applications
// are then not shown as ready). An `up` that could never route anything (a namespace that does not
// exist, a --select place no source owns) fails instead of listening. The real binary against the fake API server.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {BIN, cleanEnv, ensureBuilt, freePort} from '../support/binary.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {waitFor} from '../support/wait.js';

describe('up says at start-up what doctor would say', () => {
  let api: FakeKubeApi;
  let dir: string;
  let allowed: string;
  let bob: string;

  before(async () => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'dt-up-warnings-'));
    api = await FakeKubeApi.start({users: {'bob-token': 'bob'}});
    api.addDubboApp({namespace: 'dev', name: 'user-rpc', pods: [{name: 'user-rpc-0'}]});
    api.addDubboApp({namespace: 'quiet', name: 'placeholder', pods: []});
    api.remove('Service', 'quiet', 'placeholder');
    // bob may discover everything but not port-forward.
    api.setRules('bob', [
      {verb: 'list', resource: 'ingresses', group: 'networking.k8s.io'}, {verb: 'watch', resource: 'ingresses', group: 'networking.k8s.io'},
      {verb: 'list', resource: 'services', group: ''}, {verb: 'watch', resource: 'services', group: ''},
      {verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io'}, {verb: 'watch', resource: 'endpointslices', group: 'discovery.k8s.io'},
    ]);
    allowed = api.writeKubeconfig(dir, {context: 'kind-dev', namespace: 'dev', fileName: 'allowed.yaml'});
    bob = api.writeKubeconfig(dir, {context: 'bob-dev', namespace: 'dev', token: 'bob-token', user: 'bob', fileName: 'bob.yaml'});
  });
  after(async () => {
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  /** Runs `up --all --no-ui` until `until` matches its output, then stops it with SIGINT. */
  async function up(args: string[], until: RegExp): Promise<string> {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'up', '--all', '--no-ui', '--port', String(port), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cleanEnv({CI: 'true', HOME: dir, DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, 'config')}),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => until.test(output), {timeoutMs: 20_000, message: `no ${String(until)} in:\n${output}`});
    } finally {
      child.kill('SIGINT');
    }
    await exited;
    return output;
  }

  /** Runs `up --no-ui` with `args` until it exits by itself (it must: it can never route anything). */
  async function upFails(args: string[]): Promise<{code: number | null; output: string}> {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'up', '--no-ui', '--port', String(port), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cleanEnv({CI: 'true', HOME: dir, DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, 'config')}),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const timer = setTimeout(() => child.kill('SIGINT'), 20_000);
    const code = await exited;
    clearTimeout(timer);
    return {code, output};
  }

  it('fails like ls on a namespace that does not exist, without listening', async () => {
    const {code, output} = await upFails(['--all', '--kubeconfig', allowed, '-n', 'nope']);
    assert.equal(code, 1, output);
    assert.match(output, /dubbo-tunnel \[DT_ERR_NO_BACKENDS\]: namespace nope does not exist in context 'kind-dev'/);
    assert.match(output, /fix: check the name with `kubectl get namespaces`, or pass another -n\/--namespace \(or -A for all\)/);
    assert.doesNotMatch(output, /listening on/);
  });

  it('refuses a --select place that no source owns, naming the places there are', async () => {
    const {code, output} = await upFails(['--select', 'user-rpc@nowhere', '--kubeconfig', allowed, '-n', 'dev', '-n', 'quiet']);
    assert.equal(code, 2, output);
    assert.match(output, /dubbo-tunnel \[DT_ERR_BAD_ARGUMENT\]: --select user-rpc@nowhere: no place 'nowhere' in this session \(places: dev, quiet\)/);
    assert.doesNotMatch(output, /listening on/);
  });

  it('refuses a qualified --select when the session has only one place', async () => {
    const {code, output} = await upFails(['--select', 'user-rpc@nowhere', '--kubeconfig', allowed, '-n', 'dev']);
    assert.equal(code, 2, output);
    assert.match(output, /--select user-rpc@nowhere: no place 'nowhere' in this session \(it has only context kind-dev · namespace dev; select user-rpc\)/);
  });

  it('says it waits for backends in a namespace that has none yet', async () => {
    const output = await up(['--kubeconfig', allowed, '-n', 'quiet'], /waiting for Dubbo backends/);
    assert.match(output, /waiting for Dubbo backends in namespace quiet/);
  });

  it('says that a namespace has no backends, and how to mark one', async () => {
    const output = await up(['--kubeconfig', allowed, '-n', 'quiet'], /doctor: Dubbo backends/);
    assert.match(output, /warning: doctor: Dubbo backends: no Dubbo backends found in namespace quiet of context 'kind-dev' \(searched .*\); fix: mark a backend: name its Service port `dubbo`/);
  });

  it('names the missing pods/portforward right and does not show the applications as ready', async () => {
    const output = await up(['--kubeconfig', bob], /^(?=[\s\S]*warning: doctor: permissions)(?=[\s\S]*user-rpc: no-permission)/);
    assert.match(output, /warning: doctor: permissions: 2 of 8 requests dubbo-tunnel makes are not allowed in namespace dev: get pods\/portforward, create pods\/portforward; fix: add to a Role bound to you in namespace dev: .*"pods\/portforward".*get.*create/);
    // Checked before anything is said ready: no line ever says so.
    assert.doesNotMatch(output, /user-rpc: ready/, output);
    const lastState = output.split('\n').filter((line) => /user-rpc: (ready|error|no-permission)/.test(line)).at(-1) ?? '';
    assert.match(lastState, /user-rpc: no-permission: no port-forward permission: get and create on pods\/portforward is not allowed in namespace dev, so every port-forward would be refused; fix: add to a Role bound to you in namespace dev: \{apiGroups: \[""\], resources: \["pods\/portforward"\], verbs: \["get", "create"\]\}/);
  });
});
