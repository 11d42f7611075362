// The session layer against real parts: the fake API server (client-node unmodified), TCP Dubbo
// providers and a consumer on loopback. Local overrides next to a cluster, re-picks under load,
// two contexts (one of them forbidden), and name clashes under -A.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import type {LogLevel} from '../../src/core/events.js';
import type {BackendSource} from '../../src/core/backend-source.js';
import {TunnelSession} from '../../src/session/session.js';
import type {Choice} from '../../src/session/session.js';
import {memoryKey, openSources} from '../../src/session/sources.js';
import type {SourcePlan} from '../../src/session/sources.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {waitFor} from '../support/wait.js';

const CALL = {service: 'com.example.UserService', method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['u-1']};

async function callValue(consumer: TestConsumer, application: string): Promise<unknown> {
  const answer = await consumer.call({...CALL, attachments: {'target-application': application}});
  if (answer.kind !== 'value') assert.fail(`${application}: ${JSON.stringify(answer, (_key, value: unknown) => typeof value === 'bigint' ? String(value) : value)}`);
  return answer.value;
}

interface Harness {
  events: TunnelEventBus;
  logs: {level: LogLevel; message: string}[];
  changes: {applications: string[]; origins?: Record<string, string>}[];
  start(plan: SourcePlan, choice: Choice, env: NodeJS.ProcessEnv): Promise<{session: TunnelSession; sources: BackendSource[]}>;
  close(): Promise<void>;
}

function harness(): Harness {
  const events = new TunnelEventBus();
  const logs: {level: LogLevel; message: string}[] = [];
  const changes: Harness['changes'] = [];
  events.on('log', (entry) => logs.push(entry));
  if (process.env['DEBUG_SESSION']) {
    for (const name of ['request-completed', 'log', 'connection-closed', 'upstream-closed', 'upstream-opened', 'backend-state-changed'] as const) events.on(name, (e: object) => console.error(name, JSON.stringify(e, (_k, v: unknown) => typeof v === 'bigint' ? String(v) : v)));
  }
  events.on('routes-changed', (change) => changes.push(change));
  const sessions: TunnelSession[] = [];
  return {
    events,
    logs,
    changes,
    async start(plan, choice, env) {
      const sources = await openSources(plan, {events, env, execStderr: null, interactive: false});
      const session = await TunnelSession.start({sources, events, listen: {port: 0, host: '127.0.0.1'}}, choice);
      sessions.push(session);
      return {session, sources};
    },
    async close() {
      await Promise.all(sessions.map((session) => session.stop()));
    },
  };
}

describe('a session with a local override next to a cluster', () => {
  let api: FakeKubeApi;
  let dir: string;
  let kubeconfig: string;
  const providers: TestProvider[] = [];
  let local: TestProvider;
  before(async () => {
    api = await FakeKubeApi.start({bookmarkIntervalMs: 0});
    dir = mkdtempSync(path.join(tmpdir(), 'dt-session-'));
    kubeconfig = api.writeKubeconfig(dir, {namespace: 'dev'});
    for (const application of ['user-rpc', 'order-rpc']) {
      const provider = await TestProvider.start({application: `${application}-cluster`});
      providers.push(provider);
      api.addDubboApp({namespace: 'dev', name: application, pods: [{name: `${application}-1`, target: {host: '127.0.0.1', port: provider.port}}]});
    }
    local = await TestProvider.start({application: 'user-rpc-local'});
  });
  after(async () => {
    await Promise.all([...providers, local].map((provider) => provider.close()));
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  test('the override wins, the rest comes from the cluster, and a re-pick switches live under load with nothing lost', async () => {
    const h = harness();
    try {
      const plan: SourcePlan = {
        backends: [{application: 'user-rpc', dubbo: {host: '127.0.0.1', port: local.port}}],
        clusters: {shared: {kubeconfig}, contexts: [], namespaces: [], allNamespaces: false},
      };
      const {session, sources} = await h.start(plan, 'all', {});
      assert.deepEqual(memoryKey(sources), {context: 'static + fake/dev', namespace: '-'});
      assert.deepEqual(h.changes.at(-1), {applications: ['user-rpc', 'order-rpc'], origins: {'user-rpc': 'local', 'order-rpc': 'dev'}});
      assert.equal(api.requests.filter((request) => request.path.includes('portforward')).length, 0, 'no tunnel opened yet');

      const consumer = await TestConsumer.connect(session.port);
      assert.equal(await callValue(consumer, 'user-rpc'), 'user-rpc-local:getUser');
      assert.equal(await callValue(consumer, 'order-rpc'), 'order-rpc-cluster:getUser');

      // Calls keep flowing while the choice swaps user-rpc to the cluster and back.
      const answers: unknown[] = [];
      let running = true;
      const load = Array.from({length: 4}, async () => {
        while (running) answers.push(await callValue(consumer, 'user-rpc'));
      });
      await waitFor(() => answers.length >= 20, {message: 'load is running'});
      await session.setSelection(['user-rpc@dev', 'order-rpc']);
      assert.deepEqual(h.changes.at(-1), {applications: ['order-rpc', 'user-rpc'], origins: {'order-rpc': 'dev', 'user-rpc': 'dev'}});
      const swapped = answers.length;
      await waitFor(() => answers.slice(swapped).includes('user-rpc-cluster:getUser'), {message: 'calls reach the cluster after the re-pick'});
      await session.setSelection(['user-rpc', 'order-rpc']);
      const back = answers.length;
      await waitFor(() => answers.length > back + 20 && answers.slice(-5).every((value) => value === 'user-rpc-local:getUser'), {message: 'back to the override'});
      running = false;
      await Promise.all(load);
      assert.ok(answers.every((value) => value === 'user-rpc-local:getUser' || value === 'user-rpc-cluster:getUser'), 'every call was answered by one of the two');
      // The cluster is never asked for an overridden name: no clash to report, no tunnel opened for it.
      assert.equal(h.logs.filter((entry) => entry.message.includes('is offered by')).length, 0);
      await consumer.close();
    } finally {
      await h.close();
    }
  });

  test('a named choice of a place that does not offer the name routes nothing for it (never the other place silently)', async () => {
    const h = harness();
    try {
      const plan: SourcePlan = {
        backends: [{application: 'user-rpc', dubbo: {host: '127.0.0.1', port: local.port}}],
        clusters: {shared: {kubeconfig}, contexts: [], namespaces: [], allNamespaces: false},
      };
      const {session} = await h.start(plan, ['user-rpc@nowhere', 'order-rpc'], {});
      assert.deepEqual([...session.routes.current.backends.keys()], ['order-rpc']);
    } finally {
      await h.close();
    }
  });
});

describe('a session over two contexts', () => {
  let alpha: FakeKubeApi;
  let beta: FakeKubeApi;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const providers: TestProvider[] = [];
  before(async () => {
    alpha = await FakeKubeApi.start({bookmarkIntervalMs: 0});
    beta = await FakeKubeApi.start({bookmarkIntervalMs: 0});
    dir = mkdtempSync(path.join(tmpdir(), 'dt-session-contexts-'));
    const files = [
      alpha.writeKubeconfig(dir, {fileName: 'alpha.yaml', context: 'alpha'}),
      beta.writeKubeconfig(dir, {fileName: 'beta.yaml', context: 'beta'}),
    ];
    env = {KUBECONFIG: files.join(path.delimiter)};
    for (const [api, name, application] of [[alpha, 'user-rpc', 'user-rpc-alpha'], [beta, 'user-rpc', 'user-rpc-beta'], [beta, 'billing-rpc', 'billing-rpc-beta']] as const) {
      const provider = await TestProvider.start({application});
      providers.push(provider);
      api.addDubboApp({name, pods: [{name: `${application}-1`, target: {host: '127.0.0.1', port: provider.port}}]});
    }
  });
  after(async () => {
    await Promise.all(providers.map((provider) => provider.close()));
    await Promise.all([alpha.stop(), beta.stop()]);
    rmSync(dir, {recursive: true, force: true});
  });

  const plan = (): SourcePlan => ({backends: [], clusters: {shared: {}, contexts: ['alpha', 'beta'], namespaces: [], allNamespaces: false}});

  test('routes from both, warns once about the clash naming the one left out, and a qualified choice swaps', async () => {
    const h = harness();
    try {
      const {session} = await h.start(plan(), 'all', env);
      const consumer = await TestConsumer.connect(session.port);
      assert.equal(await callValue(consumer, 'user-rpc'), 'user-rpc-alpha:getUser');
      assert.equal(await callValue(consumer, 'billing-rpc'), 'billing-rpc-beta:getUser');
      const clashes = h.logs.filter((entry) => entry.level === 'warn' && entry.message.startsWith('user-rpc is offered by'));
      assert.equal(clashes.length, 1, JSON.stringify(h.logs));
      assert.match(clashes[0]?.message ?? '', /routing user-rpc@alpha .*not user-rpc@beta; choose with --select user-rpc@beta/);
      assert.deepEqual(h.changes.at(-1)?.origins, {'user-rpc': 'alpha', 'billing-rpc': 'beta'});

      await session.setSelection(['user-rpc@beta']);
      assert.equal(await callValue(consumer, 'user-rpc'), 'user-rpc-beta:getUser');
      assert.deepEqual([...session.routes.current.backends.keys()], ['user-rpc']);
      const discovered = await session.discover();
      assert.deepEqual(discovered.map((app) => `${app.application}@${app.where ?? ''}`).sort(), ['billing-rpc@beta', 'user-rpc@alpha', 'user-rpc@beta']);
      await consumer.close();
    } finally {
      await h.close();
    }
  });

  test('--select with a name only one context has warns about neither; a name in no context is said once, naming both', async () => {
    const h = harness();
    const unseen = () => h.logs.filter((entry) => entry.level === 'warn' && / is selected but not discovered /.test(entry.message)).map((entry) => entry.message);
    try {
      const {session} = await h.start(plan(), ['billing-rpc', 'later-rpc'], env);
      const consumer = await TestConsumer.connect(session.port);
      assert.equal(await callValue(consumer, 'billing-rpc'), 'billing-rpc-beta:getUser');
      assert.deepEqual(unseen(), ['application later-rpc is selected but not discovered in namespace default of context alpha or namespace default of context beta; it will be routed once it appears']);

      await session.setSelection(['user-rpc@beta', 'billing-rpc']);
      assert.equal(await callValue(consumer, 'user-rpc'), 'user-rpc-beta:getUser');
      await session.setSelection(['user-rpc@alpha', 'billing-rpc@alpha']);
      assert.deepEqual(unseen().slice(1), ['application billing-rpc@alpha is selected but not discovered in namespace default of context alpha; it will be routed once it appears']);
      await consumer.close();
    } finally {
      await h.close();
    }
  });

  test('a forbidden context is reported and the other keeps working', async () => {
    beta.deny({verb: 'list', resource: 'services'});
    const h = harness();
    try {
      const {session} = await h.start(plan(), 'all', env);
      const consumer = await TestConsumer.connect(session.port);
      assert.equal(await callValue(consumer, 'user-rpc'), 'user-rpc-alpha:getUser');
      assert.deepEqual([...session.routes.current.backends.keys()], ['user-rpc']);
      assert.ok(h.logs.some((entry) => entry.level === 'error' && /^context beta · namespace default: .*list services.*routing from the other sources only/.test(entry.message)), JSON.stringify(h.logs));
      await consumer.close();
    } finally {
      beta.resetRbac();
      await h.close();
    }
  });

  test('when every context fails, the start fails with the first error', async () => {
    alpha.deny({verb: 'list', resource: 'services'});
    beta.deny({verb: 'list', resource: 'services'});
    const h = harness();
    try {
      await assert.rejects(h.start(plan(), 'all', env), {code: 'DT_ERR_KUBE_FORBIDDEN'});
    } finally {
      alpha.resetRbac();
      beta.resetRbac();
      await h.close();
    }
  });
});

describe('a clash under -A', () => {
  let api: FakeKubeApi;
  let dir: string;
  let kubeconfig: string;
  const providers: TestProvider[] = [];
  before(async () => {
    api = await FakeKubeApi.start({bookmarkIntervalMs: 0});
    dir = mkdtempSync(path.join(tmpdir(), 'dt-session-all-'));
    kubeconfig = api.writeKubeconfig(dir, {namespace: 'staging'});
    for (const namespace of ['dev', 'staging']) {
      const provider = await TestProvider.start({application: `user-rpc-${namespace}`});
      providers.push(provider);
      api.addDubboApp({namespace, name: 'user-rpc', pods: [{name: `user-rpc-${namespace}-1`, target: {host: '127.0.0.1', port: provider.port}}]});
    }
  });
  after(async () => {
    await Promise.all(providers.map((provider) => provider.close()));
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  const plan = (): SourcePlan => ({backends: [], clusters: {shared: {kubeconfig}, contexts: [], namespaces: [], allNamespaces: true}});

  test('--all routes the context\'s own namespace and warns once naming the other', async () => {
    const h = harness();
    try {
      const {session} = await h.start(plan(), 'all', {});
      const consumer = await TestConsumer.connect(session.port);
      assert.equal(await callValue(consumer, 'user-rpc'), 'user-rpc-staging:getUser');
      const warnings = h.logs.filter((entry) => entry.level === 'warn' && entry.message.includes('user-rpc is offered by'));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]?.message ?? '', /routing user-rpc@staging .*not user-rpc@dev/);
      const discovered = await session.discover();
      assert.deepEqual(discovered.map((app) => app.where), ['staging', 'dev']);
      await consumer.close();
    } finally {
      await h.close();
    }
  });

  test('--select user-rpc@dev routes that namespace and says nothing about a clash', async () => {
    const h = harness();
    try {
      const {session} = await h.start(plan(), ['user-rpc@dev'], {});
      const consumer = await TestConsumer.connect(session.port);
      assert.equal(await callValue(consumer, 'user-rpc'), 'user-rpc-dev:getUser');
      assert.equal(h.logs.filter((entry) => entry.message.includes('is offered by')).length, 0);
      await consumer.close();
    } finally {
      await h.close();
    }
  });
});
