// KubeCluster with a namespace selector (the gateway's --namespace-selector), on the fake API
// server: one-shot discovery and the live watch see only the namespaces whose labels match, a
// namespace joins and leaves as its labels change, and the selector excludes -n and -A.
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';
import {DubboTunnelError} from '../../src/core/errors.js';
import {waitFor} from '../support/wait.js';
import {startKube} from './helpers.js';
import type {KubeFixture} from './helpers.js';

const LABEL = 'team';

describe('KubeCluster --namespace-selector', () => {
  let kube: KubeFixture;

  function label(namespace: string, team: string | undefined): void {
    kube.api.apply({apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace, labels: team === undefined ? {} : {[LABEL]: team}}});
  }

  before(async () => {
    kube = await startKube({namespaces: ['default', 'shop', 'billing', 'ops']});
    kube.api.addDubboApp({namespace: 'shop', name: 'user-rpc', pods: [{name: 'user-rpc-0'}]});
    kube.api.addDubboApp({namespace: 'billing', name: 'pay-rpc', pods: [{name: 'pay-rpc-0'}]});
    kube.api.addDubboApp({namespace: 'ops', name: 'audit-rpc', pods: [{name: 'audit-rpc-0'}]});
    label('shop', 'a');
    label('billing', 'a');
    label('ops', 'b');
  });

  after(() => kube.close());

  test('discover() lists only the applications of matching namespaces', async () => {
    const cluster = await kube.open({namespaceSelector: `${LABEL}=a`});
    assert.equal(cluster.namespace, undefined);
    assert.deepEqual((await cluster.discover()).map((application) => `${application.namespace}/${application.application}`).sort(), ['billing/pay-rpc', 'shop/user-rpc']);
    const none = await kube.open({namespaceSelector: `${LABEL}=nobody`});
    assert.deepEqual(await none.discover(), []);
    assert.match((await none.noBackendsError()).message, /namespaces matching --namespace-selector 'team=nobody'/);
  });

  test('the live watch follows the labels: a namespace that gains them joins, one that loses them leaves', async () => {
    const served = await kube.serve('all', {cluster: {namespaceSelector: `${LABEL}=a`}});
    try {
      const routed = () => [...served.routes.current.backends.keys()].sort();
      assert.deepEqual(routed(), ['pay-rpc', 'user-rpc']);
      label('ops', 'a');
      await waitFor(() => routed().includes('audit-rpc'), {timeoutMs: 5000, message: 'ops never joined'});
      label('billing', undefined);
      await waitFor(() => !routed().includes('pay-rpc'), {timeoutMs: 5000, message: 'billing never left'});
      assert.deepEqual(routed(), ['audit-rpc', 'user-rpc']);
      assert.ok(kube.logs.some((entry) => /namespace billing no longer matches --namespace-selector 'team=a'/.test(entry.message)));
    } finally {
      await served.stop();
      label('ops', 'b');
      label('billing', 'a');
    }
  });

  test('with -n or -A, or a selector kubectl could not read, it is a usage error', async () => {
    for (const options of [{namespace: 'shop'}, {allNamespaces: true}, {}]) {
      await assert.rejects(kube.open({...options, namespaceSelector: Object.keys(options).length === 0 ? 'team in a,b)' : `${LABEL}=a`}), (error: unknown) => {
        assert.ok(error instanceof DubboTunnelError);
        assert.equal(error.code, 'DT_ERR_BAD_ARGUMENT');
        return true;
      });
    }
  });
});
