import assert from 'node:assert/strict';
import {PassThrough} from 'node:stream';
import {after, before, describe, it} from 'node:test';
import type {CliContext} from '../../src/cli/command.js';
import {main} from '../../src/cli/main.js';
import {gatewayManifests} from '../../src/gateway/manifests.js';
import {startKube} from './helpers.js';
import type {KubeFixture} from './helpers.js';

function capture(): {context: CliContext; stdout: () => string; stderr: () => string} {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  err.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return {context: {stdout: out, stderr: err, env: {HOME: '/nonexistent'}, interactive: false}, stdout: () => stdout, stderr: () => stderr};
}

describe('dubbo-tunnel ls', () => {
  let kube: KubeFixture;
  before(async () => {
    kube = await startKube();
    kube.api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1'}, {name: 'user-rpc-2'}]});
    kube.api.addDubboApp({name: 'order-rpc', ingress: {backendPort: 'number'}, servicePort: 20881, targetPort: 30000, pods: [{name: 'order-rpc-1', ready: false}]});
    kube.api.apply({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: {name: 'ghost', namespace: 'default'},
      spec: {ingressClassName: 'dubbo', rules: [{host: 'ghost-rpc', http: {paths: [{path: '/', pathType: 'Prefix', backend: {service: {name: 'ghost', port: {name: 'dubbo'}}}}]}}]},
    });
    kube.api.addDubboApp({namespace: 'empty-ns', name: 'placeholder', pods: []});
    kube.api.remove('Service', 'empty-ns', 'placeholder');
  });
  after(async () => kube.close());

  it('prints a table of applications', async () => {
    const io = capture();
    const code = await main(['ls', '--kubeconfig', kube.kubeconfig], io.context);
    assert.equal(code, 0, io.stderr());
    const lines = io.stdout().trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^APPLICATION\s+NAMESPACE\s+SERVICE\s+PORT\s+SOURCE\s+READY$/);
    assert.match(lines[1] ?? '', /^ghost-rpc\s+default\s+ghost\s+dubbo\s+ingress\s+-$/);
    assert.match(lines[2] ?? '', /^order-rpc\s+default\s+order-rpc\s+20881\s+ingress\s+0$/);
    assert.match(lines[3] ?? '', /^user-rpc\s+default\s+user-rpc\s+dubbo:20880\s+service\s+2$/);
    assert.equal(lines.length, 4);
    assert.match(io.stderr(), /ghost-rpc: service default\/ghost .* does not exist/);
  });

  it('does not list the team gateway\'s own Service (labelled by gateway manifests) as an application', async () => {
    // The gateway's Service exactly as `gateway manifests` prints it (20880, named `gateway`), next
    // to a provider of that namespace.
    const gatewayService = gatewayManifests({namespace: 'dubbo-tunnel', image: 'dubbo-tunnel:test', watchNamespaces: [], allNamespaces: true})
      .find((object) => (object as {kind: string}).kind === 'Service');
    assert.ok(gatewayService, 'gateway manifests has a Service');
    kube.api.apply(gatewayService);
    kube.api.addDubboApp({namespace: 'dubbo-tunnel', name: 'audit-rpc', pods: [{name: 'audit-rpc-0'}]});
    try {
      assert.ok(kube.api.list('Service', 'dubbo-tunnel').some((object) => (object as {metadata: {name: string}}).metadata.name === 'dubbo-tunnel-gateway'), 'the gateway\'s Service is in the API');
      const io = capture();
      const code = await main(['ls', '--kubeconfig', kube.kubeconfig, '-n', 'dubbo-tunnel', '--json'], io.context);
      assert.equal(code, 0, io.stderr());
      const names = (JSON.parse(io.stdout()) as {application: string}[]).map((entry) => entry.application);
      assert.deepEqual(names, ['audit-rpc']);
    } finally {
      kube.api.remove('Service', 'dubbo-tunnel', 'dubbo-tunnel-gateway');
      kube.api.remove('Service', 'dubbo-tunnel', 'audit-rpc');
    }
  });

  it('applies -l to applications found through Ingresses too (their Service\'s labels count)', async () => {
    const io = capture();
    const code = await main(['ls', '--kubeconfig', kube.kubeconfig, '-l', 'app!=order-rpc'], io.context);
    assert.equal(code, 0, io.stderr());
    const names = io.stdout().trimEnd().split('\n').slice(1).map((line) => line.split(/\s+/)[0]);
    assert.deepEqual(names, ['ghost-rpc', 'user-rpc']);
  });

  it('prints JSON with --json', async () => {
    const io = capture();
    const code = await main(['ls', '--kubeconfig', kube.kubeconfig, '--json', '--source', 'service'], io.context);
    assert.equal(code, 0, io.stderr());
    const parsed = JSON.parse(io.stdout()) as Record<string, unknown>[];
    assert.deepEqual(parsed, [
      {application: 'order-rpc', namespace: 'default', service: 'order-rpc', port: 'dubbo', servicePort: 20881, targetPort: 30000, source: 'service', origin: 'service default/order-rpc', readyPods: 0},
      {application: 'user-rpc', namespace: 'default', service: 'user-rpc', port: 'dubbo', servicePort: 20880, targetPort: 20880, source: 'service', origin: 'service default/user-rpc', readyPods: 2},
    ]);
  });

  it('lists every namespace\'s entry with -A, qualified by namespace, even when two share a name', async () => {
    kube.api.addDubboApp({namespace: 'team-b', name: 'user-rpc', pods: [{name: 'user-rpc-b'}]});
    try {
      const io = capture();
      const code = await main(['ls', '--kubeconfig', kube.kubeconfig, '-A', '--source', 'service'], io.context);
      assert.equal(code, 0, io.stderr());
      const lines = io.stdout().trimEnd().split('\n');
      assert.match(lines[0] ?? '', /^APPLICATION\s+FROM\s+NAMESPACE\s+SERVICE\s+PORT\s+SOURCE\s+READY$/);
      const rows = lines.slice(1).map((line) => line.split(/\s+/).slice(0, 3));
      assert.deepEqual(rows, [['order-rpc', 'default', 'default'], ['user-rpc', 'default', 'default'], ['user-rpc', 'team-b', 'team-b']]);
      assert.doesNotMatch(io.stderr(), /exists in namespaces/, 'nothing is hidden, so nothing to warn about');
      const json = capture();
      assert.equal(await main(['ls', '--kubeconfig', kube.kubeconfig, '-A', '--source', 'service', '--json'], json.context), 0, json.stderr());
      const parsed = JSON.parse(json.stdout()) as {application: string; where?: string; namespace: string}[];
      assert.deepEqual(parsed.map((entry) => [entry.application, entry.where, entry.namespace]), [['order-rpc', 'default', 'default'], ['user-rpc', 'default', 'default'], ['user-rpc', 'team-b', 'team-b']]);
    } finally {
      kube.api.remove('Service', 'team-b', 'user-rpc');
    }
  });

  it('fails with what was searched when nothing is found (exit 1), and on bad flags (exit 2)', async () => {
    const io = capture();
    assert.equal(await main(['ls', '--kubeconfig', kube.kubeconfig, '-n', 'empty-ns'], io.context), 1);
    assert.match(io.stderr(), /no Dubbo backends found in namespace empty-ns/);
    assert.match(io.stderr(), /fix: mark a backend/);
    const json = capture();
    assert.equal(await main(['ls', '--kubeconfig', kube.kubeconfig, '-n', 'empty-ns', '--json'], json.context), 1);
    assert.equal(json.stdout().trim(), '[]', 'scripts still get valid JSON');
    const selected = capture();
    assert.equal(await main(['ls', '--kubeconfig', kube.kubeconfig, '-l', 'team=nobody'], selected.context), 1);
    assert.match(selected.stderr(), /no Dubbo backends found in namespace default .*matching -l 'team=nobody'/);
    assert.match(selected.stderr(), /fix: check -l 'team=nobody' against the labels/);
    const bad = capture();
    assert.equal(await main(['ls', '--kubeconfig', kube.kubeconfig, '--source', 'dns'], bad.context), 2);
    assert.match(bad.stderr(), /--source must be ingress, service or auto/);
    const both = capture();
    assert.equal(await main(['ls', '--kubeconfig', kube.kubeconfig, '-A', '-n', 'x'], both.context), 2);
    const none = capture();
    none.context = {...none.context, env: {HOME: kube.dir}};
    assert.equal(await main(['ls'], none.context), 1);
    assert.match(none.stderr(), /no kubeconfig found/);
  });

  it('documents every option with examples in --help', async () => {
    const io = capture();
    assert.equal(await main(['ls', '--help'], io.context), 0);
    for (const flag of ['--kubeconfig', '--context', '-n, --namespace', '-A, --all-namespaces', '--source', '-l, --selector', '--ingress-class', '--json', '--via <ns>/<service>[:port] | <host>:<port>', 'ls --via ', 'Examples:']) {
      assert.ok(io.stdout().includes(flag), `help mentions ${flag}`);
    }
  });
});
