// Which pods new streams use (usableTargets): the ready ones; while none is ready, the terminating
// ones that still serve, as kube-proxy does since Kubernetes 1.26 (KEP-1669). And the fake cluster's
// EndpointSlice controller publishes the conditions that rule reads during a graceful delete.
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {targetsFromEndpoints, targetsFromSlices, usableTargets} from '../../src/kube/endpoints.js';
import type {EndpointSlice} from '../../src/kube/types.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';

type Conditions = NonNullable<NonNullable<EndpointSlice['endpoints']>[number]['conditions']>;

const PORT = {name: 'dubbo', port: 20880, targetPort: 'dubbo'};

function slice(name: string, endpoints: [pod: string, conditions: Conditions][], addressType = 'IPv4'): EndpointSlice {
  return {
    metadata: {name, namespace: 'default', labels: {'kubernetes.io/service-name': 'user-rpc'}},
    addressType,
    ports: [{name: 'dubbo', port: 30001, protocol: 'TCP'}],
    endpoints: endpoints.map(([pod, conditions]) => ({conditions, targetRef: {kind: 'Pod', name: pod}})),
  };
}

function usable(...slices: EndpointSlice[]): string[] {
  return usableTargets(targetsFromSlices(slices, 'default', 'user-rpc', PORT)).map((target) => target.pod);
}

describe('usableTargets', () => {
  it('uses only the ready pods while there is one, even when terminating pods still serve', () => {
    assert.deepEqual(usable(slice('s', [
      ['old-1', {ready: false, serving: true, terminating: true}],
      ['new-1', {ready: true, serving: true, terminating: false}],
      ['starting', {ready: false, serving: false, terminating: false}],
    ])), ['new-1']);
  });

  it('falls back to the terminating pods that still serve when no pod is ready', () => {
    assert.deepEqual(usable(slice('s', [
      ['old-2', {ready: false, serving: true, terminating: true}],
      ['old-1', {ready: false, serving: true, terminating: true}],
      ['quitting', {ready: false, serving: false, terminating: true}],
      ['starting', {ready: false, serving: false, terminating: false}],
    ])), ['old-1', 'old-2']);
  });

  it('never uses a pod failing its readiness probe, terminating or not: nothing is usable then', () => {
    assert.deepEqual(usable(slice('s', [
      ['quitting', {ready: false, serving: false, terminating: true}],
      ['starting', {ready: false, serving: false, terminating: false}],
    ])), []);
    // Not terminating, not ready: `serving` alone does not make a pod usable.
    assert.deepEqual(usable(slice('s', [['odd', {ready: false, serving: true, terminating: false}]])), []);
  });

  it('reads nil conditions as kube-proxy does: ready and serving when nil, terminating only when true', () => {
    assert.deepEqual(usable(slice('s', [['nil', {ready: null, serving: null, terminating: null}]])), ['nil']);
    assert.deepEqual(usable(slice('s', [['old', {ready: false, serving: null, terminating: true}]])), ['old']);
    const targets = targetsFromSlices([slice('s', [['old', {ready: false, terminating: true}]])], 'default', 'user-rpc', PORT);
    assert.deepEqual(targets.all.map((target) => [target.pod, target.ready, target.serving, target.terminating]), [['old', false, true, true]]);
  });

  it('counts a dual-stack pod as serving when one of its slices says so', () => {
    assert.deepEqual(usable(
      slice('v4', [['old', {ready: false, serving: false, terminating: true}]]),
      slice('v6', [['old', {ready: false, serving: true, terminating: true}]], 'IPv6'),
    ), ['old']);
  });

  it('has no fallback from core/v1 Endpoints, which leave terminating pods out', () => {
    const targets = targetsFromEndpoints({subsets: [{notReadyAddresses: [{targetRef: {kind: 'Pod', name: 'b'}}], ports: [{name: 'dubbo', port: 30002}]}]}, PORT);
    assert.deepEqual(usableTargets(targets), []);
  });
});

describe('the fake EndpointSlice controller during a graceful delete', () => {
  let api: FakeKubeApi;
  before(async () => {
    api = await FakeKubeApi.start();
  });
  after(async () => api.stop());

  it('publishes ready=false, serving=<Ready>, terminating=true for a pod being deleted', () => {
    api.addDubboApp({name: 'user-rpc', pods: [
      {name: 'user-rpc-1', target: {host: '127.0.0.1', port: 1}},
      {name: 'user-rpc-2', target: {host: '127.0.0.1', port: 2}},
    ]});
    const conditions = (): Record<string, unknown> => {
      const endpoints = api.list<EndpointSlice>('EndpointSlice', 'default')
        .filter((each) => each.metadata?.labels?.['kubernetes.io/service-name'] === 'user-rpc')
        .flatMap((each) => each.endpoints ?? []);
      return Object.fromEntries(endpoints.map((endpoint): [string, unknown] => [endpoint.targetRef?.name ?? '', endpoint.conditions]));
    };
    assert.deepEqual(conditions(), {
      'user-rpc-1': {ready: true, serving: true, terminating: false},
      'user-rpc-2': {ready: true, serving: true, terminating: false},
    });
    api.terminatePod('default', 'user-rpc-1');
    api.setPodReady('default', 'user-rpc-2', false);
    api.terminatePod('default', 'user-rpc-2');
    assert.deepEqual(conditions(), {
      'user-rpc-1': {ready: false, serving: true, terminating: true},
      'user-rpc-2': {ready: false, serving: false, terminating: true},
    });
  });
});
