// doctor with several --context checks each one in turn: one allowed, one without pods/portforward.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {main} from '../../src/cli/main.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {collector} from '../support/output.js';
import {freePort} from '../support/binary.js';

let api: FakeKubeApi;
let dir: string;
let kubeconfig: string;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dt-doctor-contexts-'));
  api = await FakeKubeApi.start({users: {'bob-token': 'bob'}});
  api.addDubboApp({namespace: 'dev', name: 'user-rpc', pods: [{name: 'user-rpc-0'}]});
  api.setRules('bob', [
    {verb: 'list', resource: 'ingresses', group: 'networking.k8s.io'}, {verb: 'watch', resource: 'ingresses', group: 'networking.k8s.io'},
    {verb: 'list', resource: 'services', group: ''}, {verb: 'watch', resource: 'services', group: ''},
    {verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io'}, {verb: 'watch', resource: 'endpointslices', group: 'discovery.k8s.io'},
    {verb: 'get', resource: 'pods', group: ''},
  ]);
  kubeconfig = api.writeKubeconfig(dir, {context: 'kind-dev', namespace: 'dev', extraContexts: [{name: 'bob-dev', namespace: 'dev', token: 'bob-token', user: 'bob'}]});
});
after(async () => {
  await api.stop();
  rmSync(dir, {recursive: true, force: true});
});

test('doctor --context a --context b: a block per context, the failing one named, exit 1', async () => {
  const env = {DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, 'config'), HOME: path.join(dir, 'home')};
  const port = String(await freePort());
  const out = collector();
  const code = await main(['doctor', '--kubeconfig', kubeconfig, '--context', 'kind-dev', '--context', 'bob-dev', '--port', port], {stdout: out.stream, stderr: collector().stream, env, interactive: false});
  const text = out.text();
  assert.equal(code, 1, text);
  const [first = '', second = ''] = text.split(/^context bob-dev:$/m);
  assert.match(first, /^context kind-dev:\n/);
  assert.match(first, /✓ permissions\s+all 8 requests/);
  assert.match(second, /✗ permissions/);
  assert.match(second, /pods\/portforward/);

  const json = collector();
  assert.equal(await main(['doctor', '--kubeconfig', kubeconfig, '--context', 'kind-dev', '--context', 'bob-dev', '--port', port, '--json'], {stdout: json.stream, stderr: collector().stream, env, interactive: false}), 1);
  const report = JSON.parse(json.text()) as {ok: boolean; contexts: {context: string; ok: boolean}[]};
  assert.deepEqual([report.ok, report.contexts.map((entry) => [entry.context, entry.ok])], [false, [['kind-dev', true], ['bob-dev', false]]]);
});
