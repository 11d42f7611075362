// The developer's credential for a team gateway: the bearer token client-node's authenticators
// yield for the kubeconfig user (static, exec plugin with expiry), and a clear error without one.
import assert from 'node:assert/strict';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {DubboTunnelError} from '../../src/core/errors.js';
import {BearerToken, bearerOf} from '../../src/kube/bearer-token.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';

describe('BearerToken', () => {
  let api: FakeKubeApi;
  let dir: string;

  before(async () => {
    api = await FakeKubeApi.start({token: 'static-secret-token'});
    dir = mkdtempSync(path.join(tmpdir(), 'dt-bearer-'));
  });
  after(async () => {
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  it('gives the static token of the kubeconfig user', async () => {
    const token = BearerToken.open({kubeconfig: api.writeKubeconfig(dir, {fileName: 'static.yaml', context: 'dev'}), env: {}});
    assert.equal(token.current, undefined);
    assert.equal(await token.get(), 'static-secret-token');
    assert.equal(token.current, 'static-secret-token');
    assert.equal(token.contextName, 'dev');
    assert.doesNotMatch(token.describe(), /static-secret-token/);
  });

  it('gives an exec plugin\'s token, and runs the plugin again once that token expired', async () => {
    const counter = path.join(dir, 'runs');
    writeFileSync(counter, '0');
    const script = path.join(dir, 'plugin.mjs');
    // Each run counts itself and hands out a token that expires in one second.
    writeFileSync(script, `
      import fs from 'node:fs';
      const runs = Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8')) + 1;
      fs.writeFileSync(${JSON.stringify(counter)}, String(runs));
      process.stdout.write(JSON.stringify({apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential',
        status: {token: 'exec-token-' + runs, expirationTimestamp: new Date(Date.now() + 1000).toISOString()}}));
    `);
    const kubeconfig = api.writeKubeconfig(dir, {fileName: 'exec.yaml', context: 'sso', exec: {command: process.execPath, args: [script]}});
    const token = BearerToken.open({kubeconfig, env: {PATH: process.env.PATH ?? ''}, execStderr: null});
    assert.equal(await token.get(), 'exec-token-1');
    assert.equal(await token.get(), 'exec-token-1', 'a token that has not expired is reused');
    assert.equal(readFileSync(counter, 'utf8'), '1');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal(await token.get(), 'exec-token-2');
    assert.equal(token.current, 'exec-token-2');
  });

  it('says what to do when the user authenticates with a client certificate', async () => {
    const pem = (label: string) => Buffer.from(`-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`).toString('base64');
    const kubeconfig = path.join(dir, 'cert.yaml');
    writeFileSync(kubeconfig, [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: kind\n  cluster:\n    server: ${JSON.stringify(api.url)}\n    insecure-skip-tls-verify: true`,
      'users:',
      `- name: kind-admin\n  user:\n    client-certificate-data: ${pem('CERTIFICATE')}\n    client-key-data: ${pem('PRIVATE KEY')}`,
      'contexts:',
      '- name: kind-dev\n  context:\n    cluster: kind\n    user: kind-admin',
      'current-context: kind-dev',
      '',
    ].join('\n'));
    const token = BearerToken.open({kubeconfig, env: {}});
    await assert.rejects(token.get(), (error: unknown) => {
      assert.ok(error instanceof DubboTunnelError);
      assert.equal(error.code, 'DT_ERR_GATEWAY_NO_TOKEN');
      assert.match(error.message, /user kind-admin of context kind-dev/);
      assert.match(error.hint ?? '', /kubectl create token/);
      assert.match(error.hint ?? '', /exec or OIDC/);
      return true;
    });
  });

  it('reads only the Bearer scheme', () => {
    assert.equal(bearerOf('Bearer abc.def'), 'abc.def');
    assert.equal(bearerOf(['bearer xyz']), 'xyz');
    assert.equal(bearerOf('Basic dXNlcjpwYXNz'), undefined);
    assert.equal(bearerOf(undefined), undefined);
  });
});
