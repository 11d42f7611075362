// What a user sees for an API server certificate the kubeconfig does not trust, an empty kubeconfig
// file, and an API server that accepts connections but never answers: ls and doctor through the CLI
// entry, real client-node, the fake API server (or a silent TCP listener) on loopback.
import assert from 'node:assert/strict';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {main} from '../../src/cli/main.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {collector} from '../support/output.js';
import {waitFor} from '../support/wait.js';

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<{code: number; out: string; err: string}> {
  const out = collector();
  const err = collector();
  const code = await main(args, {stdout: out.stream, stderr: err.stream, env, interactive: false});
  return {code, out: out.text(), err: err.text()};
}

describe('API server and kubeconfig errors a user can act on', () => {
  let api: FakeKubeApi;
  let dir: string;
  let good: string;
  let untrusted: string;
  let empty: string;

  before(async () => {
    api = await FakeKubeApi.start({tls: true});
    api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1'}]});
    dir = mkdtempSync(path.join(tmpdir(), 'dt-api-errors-'));
    good = api.writeKubeconfig(dir, {fileName: 'good.yaml'});
    // The same cluster without its CA: the server certificate is signed by a CA nobody trusts here.
    untrusted = path.join(dir, 'untrusted.yaml');
    writeFileSync(untrusted, readFileSync(good, 'utf8').replace(/^\s*certificate-authority-data:.*\n/m, ''));
    empty = path.join(dir, 'empty.yaml');
    writeFileSync(empty, '# written by a tool that had nothing to say\n\n');
  });
  after(async () => {
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  it('an untrusted server certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE) gets the TLS message and fix', async () => {
    assert.doesNotMatch(readFileSync(untrusted, 'utf8'), /certificate-authority/);
    const ls = await run(['ls', '--kubeconfig', untrusted], {HOME: dir});
    assert.notEqual(ls.code, 0);
    assert.match(ls.err, new RegExp(`TLS to the API server ${api.url.replace(/[.]/g, '\\.')} failed: unable to verify the first certificate`));
    assert.match(ls.err, /not trusted by certificate-authority\(-data\) of the cluster of context 'fake' in your kubeconfig: fetch a fresh kubeconfig for this cluster/);
    const doctor = await run(['doctor', '--kubeconfig', untrusted, '--port', '20998', '--json'], {HOME: dir});
    const check = (JSON.parse(doctor.out) as {checks: {id: string; status: string; problem?: string; fix?: string}[]}).checks.find((candidate) => candidate.id === 'api-server');
    assert.equal(check?.status, 'fail');
    assert.equal(check?.problem, 'tls');
    assert.match(check?.fix ?? '', /fetch a fresh kubeconfig/);
  });

  it('skips an empty kubeconfig file in KUBECONFIG as kubectl does, and names it when it is the only one', async () => {
    const merged = await run(['ls', '--source', 'service'], {HOME: dir, KUBECONFIG: [empty, good].join(path.delimiter)});
    assert.equal(merged.code, 0, merged.err);
    assert.match(merged.out, /^user-rpc\s/m);
    const alone = await run(['ls'], {HOME: dir, KUBECONFIG: empty});
    assert.notEqual(alone.code, 0);
    assert.match(alone.err, new RegExp(`kubeconfig ${empty.replace(/[.]/g, '\\.')} is empty \\(no clusters, users or contexts\\)`));
    assert.doesNotMatch(alone.err, /Cannot read properties/);
    const doctor = await run(['doctor', '--kubeconfig', empty, '--port', '20998', '--json'], {HOME: dir});
    const check = (JSON.parse(doctor.out) as {checks: {id: string; problem?: string}[]}).checks.find((candidate) => candidate.id === 'kubeconfig');
    assert.equal(check?.problem, 'missing');
  });

  it('says within a few seconds that a server which accepts but never answers is being waited for', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const {port} = silent.address() as net.AddressInfo;
    const kubeconfig = path.join(dir, 'silent.yaml');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: silent',
      'clusters:', `- name: silent`, `  cluster: {server: "http://127.0.0.1:${port}"}`,
      'users:', '- name: silent', '  user: {token: "t"}',
      'contexts:', '- name: silent', '  context: {cluster: silent, user: silent}', '',
    ].join('\n'));
    const out = collector();
    const err = collector();
    const started = Date.now();
    const ls = main(['ls', '--kubeconfig', kubeconfig], {stdout: out.stream, stderr: err.stream, env: {HOME: dir}, interactive: false});
    try {
      await waitFor(() => /waiting for the API server http:\/\/127\.0\.0\.1:\d+: no answer for 3 s to GET \/api/.test(err.text()), {timeoutMs: 6000, message: `a waiting line; stderr so far: ${err.text()}`});
      assert.ok(Date.now() - started < 6000);
      assert.equal(err.text().match(/waiting for the API server/g)?.length, 1, 'one line for the parallel requests');
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
    assert.notEqual(await ls, 0);
  });
});
