import assert from 'node:assert/strict';
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {PassThrough} from 'node:stream';
import {after, before, describe, it} from 'node:test';
import {DubboTunnelError} from '../../src/core/errors.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {KubeClient} from '../../src/kube/client.js';
import {KubeCluster} from '../../src/kube/cluster.js';
import {toKubeError} from '../../src/kube/errors.js';
import {loadKubeconfig, routeExecPluginIo} from '../../src/kube/kubeconfig.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';

function kubeconfigYaml(input: {current?: string; clusters: [string, string][]; contexts: [string, string, string?][]; users?: string[]}): string {
  const lines = ['apiVersion: v1', 'kind: Config'];
  lines.push('clusters:');
  for (const [name, server] of input.clusters) lines.push(`- name: ${name}`, '  cluster:', `    server: ${server}`, '    insecure-skip-tls-verify: true');
  lines.push('users:');
  for (const name of input.users ?? ['u']) lines.push(`- name: ${name}`, '  user:', '    token: t');
  lines.push('contexts:');
  for (const [name, cluster, namespace] of input.contexts) {
    lines.push(`- name: ${name}`, '  context:', `    cluster: ${cluster}`, '    user: u');
    if (namespace !== undefined) lines.push(`    namespace: ${namespace}`);
  }
  if (input.current !== undefined) lines.push(`current-context: ${input.current}`);
  return `${lines.join('\n')}\n`;
}

function expectCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof DubboTunnelError, `expected DubboTunnelError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

describe('kubeconfig loading', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'dt-kubeconfig-'));
  });
  after(() => rmSync(dir, {recursive: true, force: true}));

  it('merges several KUBECONFIG files first-wins, like kubectl', () => {
    const a = path.join(dir, 'a.yaml');
    const b = path.join(dir, 'b.yaml');
    writeFileSync(a, kubeconfigYaml({current: 'alpha', clusters: [['shared', 'https://a.example:6443']], contexts: [['alpha', 'shared', 'team-a']]}));
    // b repeats cluster "shared" (client-node's own merge throws "Duplicate cluster") and sets its own current-context.
    writeFileSync(b, kubeconfigYaml({current: 'beta', clusters: [['shared', 'https://b.example:6443'], ['other', 'https://o.example']], contexts: [['beta', 'other'], ['alpha', 'other']]}));
    const env = {KUBECONFIG: [a, path.join(dir, 'missing.yaml'), b].join(path.delimiter), HOME: dir};
    const loaded = loadKubeconfig({env});
    assert.equal(loaded.contextName, 'alpha', 'current-context comes from the first file that sets one');
    assert.equal(loaded.server, 'https://a.example:6443', 'the first definition of a cluster wins');
    assert.equal(loaded.namespace, 'team-a');
    assert.deepEqual([...loaded.contexts].sort(), ['alpha', 'beta']);
    assert.deepEqual(loaded.sources, [a, b], 'missing entries are skipped');
    const beta = loadKubeconfig({env, context: 'beta'});
    assert.equal(beta.server, 'https://o.example');
    assert.equal(beta.namespace, 'default', 'no namespace in the context: default');
    // One KubeConfig per context: it holds only the chosen context.
    assert.deepEqual(beta.kc.getContexts().map((context) => context.name), ['beta']);
    assert.equal(beta.kc.getCurrentContext(), 'beta');
  });

  it('gives -n precedence over the context namespace', () => {
    const file = path.join(dir, 'ns.yaml');
    writeFileSync(file, kubeconfigYaml({current: 'c', clusters: [['k', 'https://k.example']], contexts: [['c', 'k', 'from-context']]}));
    assert.equal(loadKubeconfig({kubeconfig: file, env: {}}).namespace, 'from-context');
    assert.equal(loadKubeconfig({kubeconfig: file, namespace: 'explicit', env: {}}).namespace, 'explicit');
  });

  it('--kubeconfig wins over KUBECONFIG', () => {
    const file = path.join(dir, 'flag.yaml');
    writeFileSync(file, kubeconfigYaml({current: 'flag', clusters: [['k', 'https://flag.example']], contexts: [['flag', 'k']]}));
    const loaded = loadKubeconfig({kubeconfig: file, env: {KUBECONFIG: path.join(dir, 'a.yaml')}});
    assert.equal(loaded.contextName, 'flag');
  });

  it('refuses to run without a kubeconfig instead of falling back to localhost:8080', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'dt-home-'));
    try {
      assert.throws(() => loadKubeconfig({env: {HOME: empty}}), (error: unknown) => {
        expectCode('DT_ERR_KUBECONFIG')(error);
        assert.match((error as Error).message, /no kubeconfig found/);
        assert.match((error as DubboTunnelError).hint ?? '', /KUBECONFIG/);
        return true;
      });
      assert.throws(() => loadKubeconfig({kubeconfig: path.join(empty, 'nope'), env: {}}), expectCode('DT_ERR_KUBECONFIG'));
      assert.throws(() => loadKubeconfig({env: {KUBECONFIG: path.join(empty, 'nope')}}), expectCode('DT_ERR_KUBECONFIG'));
      mkdirSync(path.join(empty, '.kube'));
      writeFileSync(path.join(empty, '.kube', 'config'), kubeconfigYaml({current: 'home', clusters: [['k', 'https://home.example']], contexts: [['home', 'k']]}));
      assert.equal(loadKubeconfig({env: {HOME: empty}}).contextName, 'home', '~/.kube/config is the last resort');
    } finally {
      rmSync(empty, {recursive: true, force: true});
    }
  });

  it('names the known contexts when --context is unknown', () => {
    const file = path.join(dir, 'ctx.yaml');
    writeFileSync(file, kubeconfigYaml({current: 'one', clusters: [['k', 'https://k.example']], contexts: [['one', 'k'], ['two', 'k']]}));
    assert.throws(() => loadKubeconfig({kubeconfig: file, context: 'three', env: {}}), (error: unknown) => {
      expectCode('DT_ERR_KUBE_CONTEXT')(error);
      assert.match((error as Error).message, /'three'/);
      assert.match((error as DubboTunnelError).hint ?? '', /one, two/);
      return true;
    });
    const noCurrent = path.join(dir, 'nocurrent.yaml');
    writeFileSync(noCurrent, kubeconfigYaml({clusters: [['k', 'https://k.example']], contexts: [['one', 'k']]}));
    assert.throws(() => loadKubeconfig({kubeconfig: noCurrent, env: {}}), expectCode('DT_ERR_KUBE_CONTEXT'));
  });

  it('reports a broken kubeconfig file with its path', () => {
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(file, 'clusters: [this is: not: yaml\n');
    assert.throws(() => loadKubeconfig({kubeconfig: file, env: {}}), (error: unknown) => {
      expectCode('DT_ERR_KUBECONFIG')(error);
      assert.ok((error as Error).message.includes(file));
      return true;
    });
  });
});

describe('exec credential plugins', () => {
  let api: FakeKubeApi;
  let dir: string;
  before(async () => {
    api = await FakeKubeApi.start();
    dir = mkdtempSync(path.join(tmpdir(), 'dt-exec-'));
  });
  after(async () => {
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  function plugin(name: string, body: string): string {
    const file = path.join(dir, name);
    writeFileSync(file, body);
    chmodSync(file, 0o755);
    return file;
  }

  it('runs the plugin through client-node, shows its stderr as it is written, and does not hang on stdin', async () => {
    // Reads stdin to the end first: with client-node's default piped stdin this would wait forever.
    const script = plugin('login.mjs', `
      process.stderr.write('To sign in, open https://login.example/device and enter CODE-1234\\n');
      let input = '';
      process.stdin.on('data', (d) => { input += d; });
      process.stdin.on('end', () => {
        process.stdout.write(JSON.stringify({apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential',
          status: {token: ${JSON.stringify(api.token)}}}));
      });
    `);
    const file = api.writeKubeconfig(dir, {fileName: 'exec.yaml', exec: {command: process.execPath, args: [script]}});
    const loaded = loadKubeconfig({kubeconfig: file, env: {}});
    const stderr = new PassThrough();
    let seen = '';
    stderr.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
    });
    assert.equal(routeExecPluginIo(loaded.kc, {stderr, interactive: false}).installed, true, 'client-node still keeps the spawn function in execFn');
    const client = new KubeClient(loaded.kc, loaded);
    const list = await client.getJson<{items: unknown[]}>('/api/v1/namespaces/default/services', {}, {verb: 'list', group: '', resource: 'services', namespace: 'default'});
    assert.ok(Array.isArray(list.items));
    assert.match(seen, /CODE-1234/);
    // Never print tokens: the token is only in the request header.
    assert.ok(!seen.includes(api.token));
  });

  it('runs a plugin once for concurrent requests, keeps a credential without expiry until a 401, then runs it again', async () => {
    const counter = path.join(dir, 'runs');
    const tokenFile = path.join(dir, 'token');
    writeFileSync(counter, '');
    writeFileSync(tokenFile, 'not-yet-valid');
    const script = plugin('counted.mjs', `
      import fs from 'node:fs';
      fs.appendFileSync(${JSON.stringify(counter)}, 'x');
      const token = fs.readFileSync(${JSON.stringify(tokenFile)}, 'utf8');
      process.stdout.write(JSON.stringify({apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: {token}}));
    `);
    const file = api.writeKubeconfig(dir, {fileName: 'counted.yaml', context: 'counted', exec: {command: process.execPath, args: [script]}});
    const runs = (): number => readFileSync(counter, 'utf8').length;
    const cluster = await KubeCluster.open({kubeconfig: file, events: new TunnelEventBus(), env: {}, execStderr: null});
    try {
      assert.equal(runs(), 1, 'open() gets the credential once, up front');
      await assert.rejects(cluster.discover(), {code: 'DT_ERR_KUBE_UNAUTHORIZED'});
      assert.equal(runs(), 1, 'the parallel lists of discover() share the kept credential');
      writeFileSync(tokenFile, api.token);
      await cluster.discover();
      assert.equal(runs(), 2, 'the 401 dropped the kept credential, so the plugin ran again');
      await cluster.discover();
      assert.equal(runs(), 2, 'and the new one is kept (client-node alone would run the plugin for every request)');
    } finally {
      await cluster.close();
    }
  });

  it('turns a failing plugin into an error that carries its message', async () => {
    const script = plugin('fail.mjs', `process.stderr.write('error: refresh token expired, run corp-login\\n'); process.exit(1);`);
    const file = api.writeKubeconfig(dir, {fileName: 'fail.yaml', context: 'corp', exec: {command: process.execPath, args: [script]}});
    const loaded = loadKubeconfig({kubeconfig: file, env: {}});
    routeExecPluginIo(loaded.kc, {stderr: null});
    const client = new KubeClient(loaded.kc, loaded);
    await assert.rejects(client.getJson('/api/v1/namespaces/default/services', {}, {verb: 'list', group: '', resource: 'services'}), (error: unknown) => {
      const mapped = toKubeError(error, client.scene);
      assert.equal(mapped.code, 'DT_ERR_KUBE_UNAUTHORIZED');
      assert.match(mapped.message, /refresh token expired, run corp-login/);
      assert.match(mapped.message, /'corp'/);
      return true;
    });
  });
});
