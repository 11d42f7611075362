// `ls` over several namespaces lists every place's applications and says where each one is.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import {main} from '../../src/cli/main.js';
import type {CliContext} from '../../src/cli/command.js';
import {collector} from '../support/output.js';
import {startKube} from '../kube/helpers.js';
import type {KubeFixture} from '../kube/helpers.js';

function capture(): {context: CliContext; stdout: () => string; stderr: () => string} {
  const out = collector();
  const err = collector();
  return {context: {stdout: out.stream, stderr: err.stream, env: {HOME: '/nonexistent'}, interactive: false}, stdout: out.text, stderr: err.text};
}

let kube: KubeFixture;
before(async () => {
  kube = await startKube();
  kube.api.addDubboApp({namespace: 'dev', name: 'user-rpc', pods: [{name: 'user-rpc-1'}]});
  kube.api.addDubboApp({namespace: 'staging', name: 'user-rpc', pods: [{name: 'user-rpc-2'}, {name: 'user-rpc-3'}]});
  kube.api.addDubboApp({namespace: 'staging', name: 'billing-rpc', pods: [{name: 'billing-rpc-1'}]});
});
after(async () => kube.close());

test('ls -n dev -n staging: a FROM column, and --json with context and where', async () => {
  const table = capture();
  assert.equal(await main(['ls', '--kubeconfig', kube.kubeconfig, '-n', 'dev', '-n', 'staging'], table.context), 0, table.stderr());
  const lines = table.stdout().trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^APPLICATION\s+FROM\s+NAMESPACE\s+SERVICE\s+PORT\s+SOURCE\s+READY$/);
  assert.deepEqual(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 2).join(' ')), ['user-rpc dev', 'billing-rpc staging', 'user-rpc staging']);

  const json = capture();
  assert.equal(await main(['ls', '--kubeconfig', kube.kubeconfig, '-n', 'dev', '-n', 'staging', '--json'], json.context), 0, json.stderr());
  const parsed = JSON.parse(json.stdout()) as {application: string; context: string; where: string; readyPods: number}[];
  assert.deepEqual(parsed.map((entry) => [entry.application, entry.context, entry.where, entry.readyPods]),
    [['user-rpc', 'fake', 'dev', 1], ['billing-rpc', 'fake', 'staging', 1], ['user-rpc', 'fake', 'staging', 2]]);
});
