// An API server outage under a running consumer, end to end through the real router and client-node
// against the fake API server: port-forward attempts back off (requests meanwhile fail at once and
// say why), floods of identical lines are folded, and a stalled server (stopped, not closed) is
// visible per application and in the log, with port-forward starts that time out.
import assert from 'node:assert/strict';
import {after, afterEach, before, beforeEach, describe, it} from 'node:test';
import type {BackendState} from '../../src/core/backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {attachLineReporter} from '../../src/reporters/line-reporter.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {collector} from '../support/output.js';
import {sleep, waitFor} from '../support/wait.js';
import {answerText as text, callWhoami as call, startKube} from './helpers.js';
import type {KubeFixture, Published} from './helpers.js';


describe('API server outages', () => {
  let kube: KubeFixture;
  let provider: TestProvider;
  let handle: Published;
  let server: TunnelServer;
  let consumers: TestConsumer[];
  const states: {state: BackendState; detail?: string}[] = [];

  before(async () => {
    // Bookmarks every 200 ms keep healthy watches talking, so a 1.5 s silence means a stall.
    kube = await startKube({bookmarkIntervalMs: 200});
    kube.events.on('backend-state-changed', (event) => states.push(event));
  });
  after(async () => kube.close());
  beforeEach(async () => {
    consumers = [];
    states.length = 0;
    kube.logs.length = 0;
    provider = await TestProvider.start({application: 'user-rpc', handler: () => ({value: 'user-rpc-1'})});
    kube.api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1', target: {host: '127.0.0.1', port: provider.port}}]});
    handle = await kube.serve('all', {cluster: {timing: {portForwardTimeoutMs: 1000, watchInactivityMs: 1500}}});
    // No linger: a consumer connection that leaves takes its stream with it, so the next one needs
    // a new port-forward (what the stalled-server case is about).
    server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes: handle.routes, events: kube.events, sharedStreamLingerMs: 0});
  });
  afterEach(async () => {
    await kube.api.resumeApi();
    await Promise.all(consumers.map((connected) => connected.close()));
    await server.close(100);
    await handle.stop();
    await provider.close();
    kube.api.remove('Service', 'default', 'user-rpc');
    kube.api.deletePod('default', 'user-rpc-1');
  });

  async function consumer(): Promise<TestConsumer> {
    const connected = await TestConsumer.connect(server.port);
    consumers.push(connected);
    return connected;
  }

  it('backs off port-forward attempts while the API server is down, fails requests at once saying why, and folds the flood', async () => {
    const out = collector();
    const events = kube.events;
    const detach = attachLineReporter(events, {out: out.stream, level: 'info', json: false, foldWindowMs: 1000});
    try {
      const client = await consumer();
      assert.equal(text(await call(client)), 'value user-rpc-1');
      await kube.api.pauseApi('unavailable');
      // The pod's stream breaks with the outage (as when an API server restarts); every request after
      // that needs a new port-forward.
      kube.api.killPodConnections('default', 'user-rpc-1');
      const before = kube.api.requests.length;
      const answers: string[] = [];
      const started = Date.now();
      const loops = [0, 1, 2, 3].map(async () => {
        while (Date.now() - started < 3000) answers.push(text(await call(client)));
      });
      await Promise.all(loops);
      const attempts = kube.api.requests.slice(before).filter((request) => request.path.endsWith('/portforward')).length;
      assert.ok(answers.length > 200, `only ${answers.length} requests were answered in 3 s: they must fail at once`);
      assert.ok(attempts <= 12, `${attempts} port-forward attempts for ${answers.length} requests in 3 s (back-off expected)`);
      const failFast = answers.filter((answer) => /^dubbo-tunnel( \[DT_ERR_\w+\])?: user-rpc: the API server is unreachable \(.*HTTP 503.*\); requests fail at once while port-forward attempts back off/.test(answer));
      const kinds = new Map<string, number>();
      for (const answer of answers) kinds.set(answer.slice(0, 90), (kinds.get(answer.slice(0, 90)) ?? 0) + 1);
      assert.ok(failFast.length > answers.length / 2, `${JSON.stringify([...kinds])} most answers say the API server is unreachable: ${answers.slice(0, 3).join(' | ')}`);
      await kube.api.resumeApi();
      await waitFor(async () => text(await call(client)) === 'value user-rpc-1', {timeoutMs: 8000, intervalMs: 100, message: 'calls work again after the outage (the back-off resets)'});
      await sleep(1200);
      const lines = out.text().split('\n').filter((line) => line !== '');
      assert.ok(lines.length < 60, `${lines.length} lines for ${answers.length} failed requests:\n${lines.slice(0, 20).join('\n')}`);
      assert.ok(lines.some((line) => /the API server is unreachable .* … ×[\d,]+ in the last 1 s$/.test(line)), `a folded summary line:\n${lines.join('\n')}`);
    } finally {
      detach();
    }
  });

  it('shows a stalled API server per application and in the log; port-forward starts time out with a clear error', async () => {
    const client = await consumer();
    assert.equal(text(await call(client)), 'value user-rpc-1');
    // Streams are shared while a consumer connection uses them: with none left (and no linger), the
    // next consumer connection needs a new port-forward, which the stalled server never answers.
    await client.close();
    await kube.api.pauseApi('stall');
    const second = await consumer();
    const startedAt = Date.now();
    const answer = text(await call(second));
    assert.match(answer, /the API server http:\/\/127\.0\.0\.1:\d+ did not answer the port-forward request for pod default\/user-rpc-1 within 1 s/);
    assert.ok(Date.now() - startedAt < 4000, `answered after ${Date.now() - startedAt} ms`);
    // The endpoint watch goes silent (no BOOKMARK) and its resumption gets no answer, nor does the
    // pulse: the application is no longer shown as ready but as stalled.
    await waitFor(() => states.at(-1)?.state === 'stalled' && /^the API server http:\/\/127\.0\.0\.1:\d+ has stalled \(.*\); new requests fail at once until it answers again$/.test(states.at(-1)?.detail ?? ''), {timeoutMs: 8000, message: `a stalled state for user-rpc; states: ${JSON.stringify(states)}`});
    await waitFor(() => kube.logs.some((entry) => entry.level === 'warn' && /cannot reach the API server .*: request timed out; retrying in/.test(entry.message)), {timeoutMs: 8000, message: 'the log says the endpoint watch fails'});
    await kube.api.resumeApi();
    await waitFor(async () => text(await call(second)) === 'value user-rpc-1', {timeoutMs: 8000, intervalMs: 100, message: 'calls work again'});
    await waitFor(() => states.at(-1)?.state === 'ready', {timeoutMs: 8000, message: 'ready again after the stall'});
  });
});

