// A user who may list but not watch gets the missing verb as an error, not endless retries.
import assert from 'node:assert/strict';
import {PassThrough} from 'node:stream';
import {after, afterEach, before, describe, it} from 'node:test';
import type {CliContext} from '../../src/cli/command.js';
import {main} from '../../src/cli/main.js';
import {DubboTunnelError} from '../../src/core/errors.js';
import {freePort} from '../support/binary.js';
import {waitFor} from '../support/wait.js';
import {startKube} from './helpers.js';
import type {KubeFixture, Published} from './helpers.js';

function forbidden(pattern: RegExp, rule: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof DubboTunnelError, String(error));
    assert.equal(error.code, 'DT_ERR_KUBE_FORBIDDEN');
    assert.match(error.message, pattern);
    assert.match(error.hint ?? '', rule);
    return true;
  };
}

describe('a watch refused with 403', () => {
  let kube: KubeFixture;
  let kubeconfig: string;
  let handle: Published | undefined;

  before(async () => {
    kube = await startKube();
    kube.api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1'}]});
    kube.api.addUser('dana-token', 'dana');
    kubeconfig = kube.api.writeKubeconfig(kube.dir, {fileName: 'dana.yaml', token: 'dana-token', user: 'dana'});
  });
  afterEach(async () => {
    await handle?.stop();
    handle = undefined;
    kube.api.resetRbac();
  });
  after(async () => kube.close());

  it('fails to start when Services may be listed but not watched', async () => {
    kube.api.deny({user: 'dana', verb: 'watch', resource: 'services'});
    const served = await kube.published({cluster: {kubeconfig}});
    await assert.rejects(served.start('all'), forbidden(
      /^not allowed to watch services in namespace default \(.*cannot watch resource "services"/,
      /\{apiGroups: \[""\], resources: \["services"\], verbs: \["get", "list", "watch"\]\}/,
    ));
    assert.deepEqual([...served.routes.current.backends.keys()], []);
    await waitFor(() => kube.api.watchCount('Service') === 0, {message: 'the refused Service watch is not retried'});
  });

  it('fails to start when EndpointSlices may be listed but not watched', async () => {
    kube.api.deny({user: 'dana', verb: 'watch', resource: 'endpointslices', group: 'discovery.k8s.io'});
    await assert.rejects(kube.serve('all', {cluster: {kubeconfig}}), forbidden(
      /^not allowed to watch endpointslices\.discovery\.k8s\.io in namespace default /,
      /\{apiGroups: \["discovery\.k8s\.io"\], resources: \["endpointslices"\], verbs: \["get", "list", "watch"\]\}/,
    ));
  });

  it('treats Ingresses like a refused list: skipped with --source auto, an error with --source ingress', async () => {
    kube.api.deny({user: 'dana', verb: 'watch', resource: 'ingresses', group: 'networking.k8s.io'});
    handle = await kube.serve('all', {cluster: {kubeconfig}});
    assert.deepEqual([...handle.routes.current.backends.keys()], ['user-rpc']);
    assert.ok(kube.logs.some(({level, message}) => level === 'warn' && /^skipping Ingresses: not allowed to watch ingresses\.networking\.k8s\.io/.test(message)), JSON.stringify(kube.logs));
    await assert.rejects(kube.serve('all', {cluster: {kubeconfig, source: 'ingress'}}), forbidden(/^not allowed to watch ingresses\.networking\.k8s\.io /, /verbs: \["get", "list", "watch"\]/));
  });

  it('after the start (permission revoked while running): warns with the verb and the fix, retries, recovers', async () => {
    handle = await kube.serve('all', {cluster: {kubeconfig}});
    const {routes} = handle;
    const seen = kube.logs.length;
    kube.api.deny({user: 'dana', verb: 'watch', resource: 'services'});
    kube.api.dropWatches();
    await waitFor(() => kube.logs.slice(seen).some(({message}) => message.includes('watch services')), {message: 'a warning about the refused watch'});
    const warning = kube.logs.slice(seen).find(({message}) => message.includes('watch services'));
    assert.equal(warning?.level, 'warn');
    assert.match(warning?.message ?? '', /^not allowed to watch services in namespace default \(.*\); retrying in \d+\.\d s \(ask for a Role with \{apiGroups: \[""\], resources: \["services"\], verbs: \["get", "list", "watch"\]\}/);
    kube.api.resetRbac();
    kube.api.addDubboApp({name: 'late-rpc', pods: [{name: 'late-rpc-1'}]});
    await waitFor(() => routes.current.backends.has('late-rpc'), {timeoutMs: 10_000, message: 'the watch comes back once allowed'});
  });
});

describe('dubbo-tunnel up with a refused watch', () => {
  let kube: KubeFixture;
  before(async () => {
    kube = await startKube();
    kube.api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1'}]});
    kube.api.addUser('erin-token', 'erin');
    kube.api.deny({user: 'erin', verb: 'watch', resource: 'services'});
  });
  after(async () => kube.close());

  it('exits 1 with the missing verb, the Role rule and the brief doctor', async () => {
    const kubeconfig = kube.api.writeKubeconfig(kube.dir, {fileName: 'erin.yaml', token: 'erin-token', user: 'erin'});
    const out = new PassThrough();
    const err = new PassThrough();
    let stderr = '';
    out.resume();
    err.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const context: CliContext = {stdout: out, stderr: err, env: {HOME: kube.dir, DUBBO_TUNNEL_CONFIG_DIR: `${kube.dir}/config`}, interactive: false};
    const code = await main(['up', '--all', '--no-ui', '--kubeconfig', kubeconfig, '--port', String(await freePort())], context);
    assert.equal(code, 1, stderr);
    const lines = stderr.split('\n');
    assert.match(lines[0] ?? '', /^dubbo-tunnel \[DT_ERR_KUBE_FORBIDDEN\]: not allowed to watch services in namespace default /);
    assert.match(lines[1] ?? '', /^ {2}fix: ask for a Role with \{apiGroups: \[""\], resources: \["services"\], verbs: \["get", "list", "watch"\]\}/);
    assert.equal(lines[2], 'doctor:');
    assert.match(stderr, /not allowed in namespace default: watch services/);
  });
});
