import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {KubeClient} from '../../src/kube/client.js';
import {loadKubeconfig} from '../../src/kube/kubeconfig.js';
import {Backoff, ListWatch} from '../../src/kube/list-watch.js';
import type {Service} from '../../src/kube/types.js';
import {waitFor} from '../support/wait.js';
import {startKube} from './helpers.js';
import type {KubeFixture} from './helpers.js';

describe('Backoff', () => {
  it('doubles with jitter up to the cap and starts over only on reset()', () => {
    const low = new Backoff({baseMs: 100, maxMs: 1000, random: () => 0});
    const high = new Backoff({baseMs: 100, maxMs: 1000, random: () => 1});
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => low.next()), [50, 100, 200, 400, 500, 500]);
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => high.next()), [100, 200, 400, 800, 1000, 1000]);
    low.reset();
    assert.equal(low.next(), 50);
  });
});

describe('ListWatch', () => {
  let kube: KubeFixture;
  let client: KubeClient;
  before(async () => {
    kube = await startKube();
    const loaded = loadKubeconfig({kubeconfig: kube.kubeconfig, env: {}});
    client = new KubeClient(loaded.kc, loaded);
  });
  after(async () => kube.close());

  function services(options: {inactivityMs?: number; errors?: {delay: number; error: unknown}[]; recovered?: () => void; backoff?: Backoff} = {}): ListWatch<Service> {
    return new ListWatch<Service>(client, {
      path: '/api/v1/namespaces/default/services',
      resource: {group: '', resource: 'services', namespace: 'default'},
      onChange: () => {},
      onError: (error, delay) => options.errors?.push({delay, error}),
      onRecovered: options.recovered,
      inactivityMs: options.inactivityMs,
      backoff: options.backoff,
    });
  }

  const watchRequests = (): number => kube.api.requests.filter((request) => request.path === '/api/v1/namespaces/default/services' && request.query.includes('watch=true')).length;

  it('resumes a silent watch after the inactivity timeout, from its resourceVersion, without reporting an error', async () => {
    const errors: {delay: number; error: unknown}[] = [];
    const watch = services({inactivityMs: 300, errors});
    await watch.start();
    const before = watchRequests();
    await waitFor(() => watchRequests() >= before + 2, {timeoutMs: 3000, message: 'the silent watch was replaced'});
    const last = kube.api.requests.filter((request) => request.query.includes('watch=true')).at(-1);
    assert.match(last?.query ?? '', /resourceVersion=\d+/);
    assert.match(last?.query ?? '', /allowWatchBookmarks=true/);
    kube.api.addDubboApp({name: 'quiet-rpc', pods: []});
    await waitFor(() => watch.items.has('default/quiet-rpc'), {message: 'still receives events'});
    await watch.stop();
    assert.deepEqual(errors, [], 'neither the timeouts nor stop() count as errors');
    await waitFor(() => kube.api.watchCount('Service') === 0, {message: 'stop() closes the watch'});
  });

  it('backs off while the API server fails, and resets only after a real success', async () => {
    const errors: {delay: number; error: unknown}[] = [];
    let recovered = 0;
    const backoff = new Backoff({baseMs: 40, maxMs: 400, random: () => 1});
    const watch = services({errors, recovered: () => recovered++, backoff});
    await watch.start();
    await kube.api.pauseApi('unavailable');
    kube.api.dropWatches({abrupt: true});
    await waitFor(() => errors.length >= 4, {timeoutMs: 5000, message: 'several failed attempts'});
    assert.deepEqual(errors.slice(0, 4).map((entry) => entry.delay), [40, 80, 160, 320], 'exponential while failing');
    assert.equal(recovered, 0);
    await kube.api.resumeApi();
    kube.api.addDubboApp({name: 'back-rpc', pods: []});
    await waitFor(() => watch.items.has('default/back-rpc'), {timeoutMs: 5000, message: 'recovers'});
    assert.equal(recovered, 1);
    assert.equal(backoff.attempt, 0, 'reset after the successful list/event');
    await watch.stop();
  });

  it('says it recovered as soon as its watch is open again, even when nothing changes (real servers send few bookmarks)', async () => {
    const errors: {delay: number; error: unknown}[] = [];
    let recovered = 0;
    const backoff = new Backoff({baseMs: 40, maxMs: 400, random: () => 1});
    const watch = services({errors, recovered: () => recovered++, backoff});
    await watch.start();
    await kube.api.pauseApi('unavailable');
    kube.api.dropWatches({abrupt: true});
    await waitFor(() => errors.length >= 2, {timeoutMs: 5000, message: 'failed attempts'});
    const before = watchRequests();
    await kube.api.resumeApi();
    await waitFor(() => watchRequests() > before && kube.api.watchCount('Service') > 0, {timeoutMs: 5000, message: 'the watch is open again'});
    await waitFor(() => recovered === 1, {timeoutMs: 2000, message: 'recovery said without waiting for an event'});
    await watch.stop();
  });

  it('rejects start() with the first list error (so watch() can report a 403 at once)', async () => {
    kube.api.deny({verb: 'list', resource: 'services'});
    try {
      await assert.rejects(services().start(), {name: 'KubeRequestError', status: 403});
    } finally {
      kube.api.resetRbac();
    }
  });
});
