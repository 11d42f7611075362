import assert from 'node:assert/strict';
import net from 'node:net';
import {describe, test} from 'node:test';
import {TestProvider} from '../support/dubbo-peers.js';
import type {DecodedResponse, WireFrame} from '../support/dubbo-wire.js';
import {WireReader, decodeResponse, encodeReadonlyEvent, encodeRequest, encodeResponse} from '../support/dubbo-wire.js';
import {sleep, waitFor} from '../support/wait.js';
import {request, startTunnel} from './harness.js';

/** A provider that answers `<application>:<first argument>`, late for arguments that start with "slow". */
function echoProvider(application: string): Promise<TestProvider> {
  return TestProvider.start({
    application,
    handler: async (req) => {
      const argument = String(req.args[0]);
      const slow = /^slow(\d+)/.exec(argument);
      if (slow) await sleep(Number(slow[1]));
      if (argument.startsWith('never')) return {noReply: true};
      return {value: `${application}:${argument}`};
    },
  });
}

function valueOf(answer: DecodedResponse): unknown {
  return answer.kind === 'value' ? answer.value : `${answer.kind} ${answer.status}: ${'message' in answer ? answer.message : ''}`;
}

describe('one upstream per provider, shared by every consumer connection', () => {
  test('six consumers calling three applications open three streams, and each consumer gets its own answers under its own ids', async () => {
    const providers = await Promise.all(['user-rpc', 'pay-rpc', 'order-rpc'].map(echoProvider));
    const tunnel = await startTunnel(providers);
    try {
      const consumers = await Promise.all(Array.from({length: 6}, () => tunnel.consumer()));
      // Every consumer uses the same ids (1, 2, 3): only the tunnel's rewriting keeps them apart.
      // Answers come back out of order (slow ones first in, last out) and interleaved between consumers.
      const answers = await Promise.all(consumers.flatMap((consumer, c) => providers.map((provider, p) =>
        consumer.call({...request(provider.application), args: [p === 0 ? `slow${20 + 10 * (5 - c)}-c${c}` : `c${c}`], id: BigInt(p + 1)}))));
      let at = 0;
      for (let c = 0; c < consumers.length; c++) {
        for (let p = 0; p < providers.length; p++) {
          const answer = answers[at++] as DecodedResponse;
          assert.equal(answer.id, BigInt(p + 1));
          const application = providers[p]?.application ?? '';
          assert.equal(valueOf(answer), p === 0 ? `${application}:slow${20 + 10 * (5 - c)}-c${c}` : `${application}:c${c}`);
        }
      }
      for (const provider of providers) assert.equal(provider.totalConnections, 1, `${provider.application}: one stream for six consumers`);
      assert.equal(tunnel.server.upstreamCount, 3);
      // The ids the providers saw are the streams' own: all different on one stream.
      for (const provider of providers) assert.equal(new Set(provider.received.map((r) => r.id)).size, provider.received.length);
      // A new consumer's first call finds the stream open.
      const late = await tunnel.consumer();
      assert.equal(valueOf(await late.call({...request('pay-rpc'), args: ['late'], id: 1n})), 'pay-rpc:late');
      assert.equal(providers[1]?.totalConnections, 1);
    } finally {
      await tunnel.close();
      for (const provider of providers) await provider.close();
    }
  });

  test('a consumer that closes drops its pending requests; their late answers go to no one and the others keep the stream', async () => {
    const user = await echoProvider('user-rpc');
    const tunnel = await startTunnel([user]);
    try {
      // The leaver goes away at once (a reset, not a half-close, which would still be answered).
      const leaver = net.connect(tunnel.server.port, '127.0.0.1');
      await new Promise((resolve) => leaver.once('connect', resolve));
      const stayer = await tunnel.consumer();
      leaver.write(encodeRequest({...request('user-rpc'), args: ['slow150-leaver'], id: 7n}));
      const stayerCall = stayer.call({...request('user-rpc'), args: ['slow200-stayer'], id: 7n});
      await waitFor(() => user.received.length === 2);
      const failed = waitFor(() => tunnel.completed.some((c) => c.code === 'DT_ERR_BACKEND_CLOSED' && /consumer connection closed/.test(c.error ?? '')));
      leaver.resetAndDestroy();
      await failed;
      const answer = await stayerCall;
      assert.equal(valueOf(answer), 'user-rpc:slow200-stayer');
      assert.equal(answer.id, 7n);
      // The leaver's answer arrived meanwhile and was dropped: the stayer got exactly one frame.
      await sleep(50);
      assert.deepEqual(stayer.frames.map((frame) => frame.id), [7n]);
      assert.equal(user.totalConnections, 1);
      assert.equal(user.openConnections, 1, 'the stream is kept for the others');
    } finally {
      await tunnel.close();
      await user.close();
    }
  });

  test('a stream that breaks answers every consumer\'s pending requests with the coded error, under each consumer\'s id', async () => {
    const user = await echoProvider('user-rpc');
    const tunnel = await startTunnel([user]);
    try {
      const consumers = await Promise.all([tunnel.consumer(), tunnel.consumer(), tunnel.consumer()]);
      const calls = consumers.map((consumer, c) => consumer.call({...request('user-rpc'), args: [`never-${c}`], id: BigInt(40 + c)}));
      await waitFor(() => user.received.length === 3);
      user.destroyConnections();
      const answers = await Promise.all(calls);
      answers.forEach((answer, c) => {
        assert.equal(answer.id, BigInt(40 + c));
        assert.equal(answer.status, 80);
        assert.match(answer.kind === 'error' ? answer.message : '', /DT_ERR_BACKEND_CLOSED/);
      });
      // The next request opens a fresh stream, again shared.
      assert.equal(valueOf(await consumers[0].call({...request('user-rpc'), args: ['again'], id: 1n})), 'user-rpc:again');
      assert.equal(valueOf(await consumers[1].call({...request('user-rpc'), args: ['again'], id: 1n})), 'user-rpc:again');
      assert.equal(user.totalConnections, 2);
    } finally {
      await tunnel.close();
      await user.close();
    }
  });

  test('READONLY drains the shared stream for everyone: answers in flight arrive, new requests of every consumer go to one fresh stream', async () => {
    const user = await echoProvider('user-rpc');
    const tunnel = await startTunnel([user]);
    try {
      const [a, b] = await Promise.all([tunnel.consumer(), tunnel.consumer()]);
      const inFlight = a.call({...request('user-rpc'), args: ['slow150-a'], id: 9n});
      await waitFor(() => user.received.length === 1);
      user.sendToAll(encodeReadonlyEvent(-3n));
      await sleep(20);
      assert.equal(valueOf(await b.call({...request('user-rpc'), args: ['b'], id: 9n})), 'user-rpc:b');
      assert.equal(valueOf(await a.call({...request('user-rpc'), args: ['a'], id: 10n})), 'user-rpc:a');
      assert.equal(valueOf(await inFlight), 'user-rpc:slow150-a');
      assert.equal(user.totalConnections, 2, 'the drained stream and one fresh one');
      await waitFor(() => user.openConnections === 1, {message: 'the drained stream closes after its last answer'});
      assert.ok(a.frames.every((frame) => !frame.event) && b.frames.every((frame) => !frame.event), 'READONLY is never forwarded');
    } finally {
      await tunnel.close();
      await user.close();
    }
  });
});

describe('a shared stream no consumer uses lingers', () => {
  test('it is kept for a consumer that comes back, and READONLY or the listener stopping closes it before the linger is over', async () => {
    const user = await echoProvider('user-rpc');
    const tunnel = await startTunnel([user], {sharedStreamLingerMs: 60_000});
    try {
      const first = await tunnel.consumer();
      assert.equal(valueOf(await first.call({...request('user-rpc'), args: ['one'], id: 1n})), 'user-rpc:one');
      await first.close();
      await waitFor(() => tunnel.server.connectionCount === 0);
      assert.equal(user.openConnections, 1, 'kept while nobody uses it');
      const second = await tunnel.consumer();
      assert.equal(valueOf(await second.call({...request('user-rpc'), args: ['two'], id: 1n})), 'user-rpc:two');
      assert.equal(user.totalConnections, 1, 'the consumer that came back found it open');
      await second.close();
      await waitFor(() => tunnel.server.connectionCount === 0);
      // READONLY drains it; with nothing in flight that is at once.
      user.sendToAll(encodeReadonlyEvent(-3n));
      await waitFor(() => user.openConnections === 0 && tunnel.server.upstreamCount === 0, {message: 'READONLY closes a lingering stream'});
      // A fresh one lingers too, until the listener stops.
      const third = await tunnel.consumer();
      assert.equal(valueOf(await third.call({...request('user-rpc'), args: ['three'], id: 1n})), 'user-rpc:three');
      assert.equal(user.totalConnections, 2);
      await third.close();
      await waitFor(() => tunnel.server.connectionCount === 0);
      assert.equal(tunnel.server.upstreamCount, 1);
      await tunnel.server.close(100);
      await waitFor(() => user.openConnections === 0, {message: 'stopping the listener closes a lingering stream'});
    } finally {
      await tunnel.close();
      await user.close();
    }
  });
});

describe('callbacks on shared streams', () => {
  test('a consumer that passes a callback gets a stream of its own, and the provider\'s callback reaches that consumer only', async () => {
    const user = await echoProvider('user-rpc');
    const tunnel = await startTunnel([user]);
    try {
      const [listener, bystander] = await Promise.all([tunnel.consumer(), tunnel.consumer()]);
      assert.equal(valueOf(await bystander.call({...request('user-rpc'), args: ['b'], id: 1n})), 'user-rpc:b');
      // Dubbo's CallbackServiceCodec marks each callback argument with sys_callback_arg-<argument index>.
      const subscribe = {...request('user-rpc', 'subscribe'), args: ['listen'], id: 1n};
      subscribe.attachments['sys_callback_arg-0'] = '1';
      assert.equal(valueOf(await listener.call(subscribe)), 'user-rpc:listen');
      assert.equal(user.totalConnections, 2, 'the shared stream and the listener\'s own');
      // Later calls of the listener stay on its stream (the provider calls back where it was exported).
      assert.equal(valueOf(await listener.call({...request('user-rpc'), args: ['l'], id: 2n})), 'user-rpc:l');
      assert.equal(user.totalConnections, 2);
      user.sendToAll(encodeRequest({id: 7001n, service: 'com.example.UserListener', method: 'changed', parameterTypes: 'Ljava/lang/String;', args: ['u-1'], attachments: {}}));
      const callback = await listener.waitForFrame((f) => f.isRequest && f.id === 7001n);
      assert.equal(callback.twoWay, true);
      listener.send(encodeResponse({id: 7001n, result: {kind: 'null'}}));
      await waitFor(() => user.responsesReceived.some((f) => f.id === 7001n && !f.event && f.status === 20));
      // On the shared stream, with one consumer left on it (the bystander), the callback went to it:
      // the only consumer a callback there can belong to.
      assert.ok(bystander.frames.some((f) => f.isRequest && f.id === 7001n));
    } finally {
      await tunnel.close();
      await user.close();
    }
  });

  test('a callback on a stream several consumers share goes to none of them: the provider gets an error answer', async () => {
    const user = await echoProvider('user-rpc');
    const tunnel = await startTunnel([user]);
    try {
      const [a, b] = await Promise.all([tunnel.consumer(), tunnel.consumer()]);
      await a.call({...request('user-rpc'), args: ['a'], id: 1n});
      await b.call({...request('user-rpc'), args: ['b'], id: 1n});
      user.sendToAll(encodeRequest({id: 7002n, service: 'com.example.UserListener', method: 'changed', parameterTypes: 'Ljava/lang/String;', args: ['u-1'], attachments: {}}));
      await waitFor(() => user.responsesReceived.some((f) => f.id === 7002n && f.status === 70));
      assert.ok(![...a.frames, ...b.frames].some((f) => f.isRequest), 'no consumer got the callback');
    } finally {
      await tunnel.close();
      await user.close();
    }
  });
});

/** A small seeded generator: the same run every time, a different one per seed. */
function seeded(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % below;
  };
}

describe('a consumer that stops reading', () => {
  test('is cut off alone once its held answers pass the limit; the others on the same stream keep flowing', async () => {
    const MiB = 1024 * 1024;
    const user = await TestProvider.start({
      application: 'user-rpc',
      handler: (req) => ({value: String(req.args[0]) === 'big' ? 'x'.repeat(MiB) : `user-rpc:${String(req.args[0])}`}),
    });
    const tunnel = await startTunnel([user]);
    const closedWith: (string | undefined)[] = [];
    tunnel.events.on('connection-closed', (event) => closedWith.push(event.code));
    const reader = await tunnel.consumer();
    const stalled = net.connect(tunnel.server.port, '127.0.0.1');
    try {
      await new Promise((resolve) => stalled.once('connect', resolve));
      assert.equal(valueOf(await reader.call({...request('user-rpc'), args: ['first'], id: 1n})), 'user-rpc:first');
      stalled.pause(); // never reads
      for (let id = 1n; id <= 16n; id++) stalled.write(encodeRequest({...request('user-rpc'), args: ['big'], id}));
      // The reader's calls keep being answered while the stalled consumer's answers pile up.
      for (let n = 0; n < 20; n++) assert.equal(valueOf(await reader.call({...request('user-rpc'), args: [`r${n}`], id: BigInt(100 + n)}, 3000)), `user-rpc:r${n}`);
      await waitFor(() => closedWith.includes('DT_ERR_CONSUMER_TOO_SLOW'), {message: 'the stalled consumer was cut off'});
      // Its requests still in flight completed with the code; the reader's stream was never cut.
      const gaveUp = tunnel.completed.filter((c) => c.code === 'DT_ERR_CONSUMER_TOO_SLOW');
      assert.ok(gaveUp.every((c) => /cut off: it stopped reading/.test(c.error ?? '')));
      assert.equal(user.totalConnections, 1, 'one stream, never cut');
      assert.equal(valueOf(await reader.call({...request('user-rpc'), args: ['after'], id: 200n})), 'user-rpc:after');
    } finally {
      stalled.destroy();
      await tunnel.close();
      await user.close();
    }
  });
});

describe('no answer reaches the wrong consumer (seeded fuzz)', () => {
  for (const seed of [1, 2, 3]) {
    test(`seed ${seed}: consumers reusing the same ids, random chunking, random resets`, async () => {
      const random = seeded(seed);
      const APPS = ['alpha', 'beta', 'gamma'] as const;
      const providers = await Promise.all(APPS.map((application) => TestProvider.start({
        application,
        handler: async (req) => {
          const token = String(req.args[0]);
          await sleep(Number(token.split('-')[2] ?? 0));
          return {value: `${application}|${token}`};
        },
      })));
      const tunnel = await startTunnel(providers);
      const CONSUMERS = 10;
      const IDS = 40;
      type Plan = {socket: net.Socket; frames: WireFrame[]; expect: Map<bigint, string>; app: Map<bigint, string>; resetAfter: number | undefined};
      const plans: Plan[] = [];
      try {
        for (let c = 0; c < CONSUMERS; c++) {
          const socket = net.connect(tunnel.server.port, '127.0.0.1');
          await new Promise((resolve) => socket.once('connect', resolve));
          const plan: Plan = {socket, frames: [], expect: new Map(), app: new Map(), resetAfter: random(3) === 0 ? 5 + random(IDS - 10) : undefined};
          const wire = new WireReader();
          socket.on('data', (chunk: Buffer) => plan.frames.push(...wire.push(chunk)));
          socket.on('error', () => undefined);
          plans.push(plan);
        }
        // Each consumer's requests, ids 1..IDS like every other's, one in eight one-way, in random chunks.
        await Promise.all(plans.map(async (plan, c) => {
          const bytes: Buffer[] = [];
          for (let n = 1; n <= IDS; n++) {
            const id = BigInt(n);
            const app = APPS[random(APPS.length)] as string;
            const token = `c${c}-${n}-${random(15)}`;
            const twoWay = random(8) !== 0;
            if (twoWay) {
              plan.expect.set(id, `${app}|${token}`);
              plan.app.set(id, app);
            }
            bytes.push(encodeRequest({...request(app), args: [token], id, twoWay}));
          }
          const all = Buffer.concat(bytes);
          const resetAt = plan.resetAfter === undefined ? undefined : Math.floor(all.length * plan.resetAfter / IDS);
          for (let at = 0; at < all.length;) {
            const end = Math.min(all.length, at + 1 + random(700));
            plan.socket.write(all.subarray(at, end));
            at = end;
            if (resetAt !== undefined && at >= resetAt) {
              await sleep(random(10));
              plan.socket.resetAndDestroy();
              return;
            }
            if (random(4) === 0) await sleep(random(3));
          }
        }));
        const survivors = plans.filter((plan) => plan.resetAfter === undefined);
        await waitFor(() => survivors.every((plan) => plan.frames.length >= plan.expect.size), {timeoutMs: 10_000, message: 'every survivor got its answers'});
        await sleep(50);
        for (const [c, plan] of plans.entries()) {
          const seen = new Set<bigint>();
          for (const frame of plan.frames) {
            assert.equal(frame.isRequest, false, `consumer ${c} got a request`);
            assert.ok(!seen.has(frame.id), `consumer ${c}: two answers to id ${frame.id}`);
            seen.add(frame.id);
            const expected = plan.expect.get(frame.id);
            assert.ok(expected !== undefined, `consumer ${c} got an answer to id ${frame.id}, which it is owed none`);
            assert.equal(valueOf(decodeResponse(frame)), expected, `consumer ${c}, id ${frame.id}: the answer of another request`);
          }
          if (plan.resetAfter === undefined) assert.equal(seen.size, plan.expect.size, `consumer ${c} is missing answers`);
        }
        for (const provider of providers) assert.equal(provider.totalConnections, 1, `${provider.application}: one stream`);
      } finally {
        for (const plan of plans) plan.socket.destroy();
        await tunnel.close();
        for (const provider of providers) await provider.close();
      }
    });
  }
});

describe('what the session shows of shared streams', () => {
  test('upstream-streams says how many streams an application has and how many requests are in flight on them', async () => {
    const user = await echoProvider('user-rpc');
    const tunnel = await startTunnel([user], {sharedStreamLingerMs: 0});
    const reports: {streams: number; inFlight: number}[] = [];
    const opened: boolean[] = [];
    tunnel.events.on('upstream-streams', (event) => reports.push({streams: event.streams, inFlight: event.inFlight}));
    tunnel.events.on('upstream-opened', (event) => opened.push(event.shared === true));
    try {
      const [a, b] = await Promise.all([tunnel.consumer(), tunnel.consumer()]);
      const slow = [a.call({...request('user-rpc'), args: ['slow1600'], id: 1n}), b.call({...request('user-rpc'), args: ['slow1600'], id: 1n})];
      await waitFor(() => reports.some((report) => report.streams === 1 && report.inFlight === 2), {timeoutMs: 3000, message: "a report of two requests in flight on one stream"}).catch((error: unknown) => assert.fail(`${String(error)}: ${JSON.stringify(reports)}`));
      await Promise.all(slow);
      await waitFor(() => reports.at(-1)?.inFlight === 0, {timeoutMs: 3000});
      assert.deepEqual(opened, [true], 'one shared stream opened');
      await a.close();
      await b.close();
      await waitFor(() => reports.at(-1)?.streams === 0, {message: 'the stream closes when no consumer uses it'});
    } finally {
      await tunnel.close();
      await user.close();
    }
  });
});

describe('more than one stream per pod when it helps', () => {
  test('a saturated stream makes the next request open a second one to the same address, up to --streams-per-pod', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const user = await TestProvider.start({
      application: 'user-rpc',
      handler: async (req) => {
        await held;
        return {value: `user-rpc:${String(req.args[0])}`};
      },
    });
    const tunnel = await startTunnel([user], {streamsPerPod: 2});
    try {
      const [a, b] = await Promise.all([tunnel.consumer(), tunnel.consumer()]);
      // 128 in flight saturate the first stream; the 129th request opens the second; more stay on those two.
      const calls = Array.from({length: 300}, (_, n) => (n % 2 === 0 ? a : b).call({...request('user-rpc'), args: [`n${n}`], id: BigInt(1000 + n)}, 10_000));
      await waitFor(() => user.received.length === 300, {message: `${user.received.length} of 300 requests reached the provider`});
      assert.equal(user.totalConnections, 2);
      assert.equal(tunnel.server.upstreamCount, 2);
      release();
      const answers = await Promise.all(calls);
      answers.forEach((answer, n) => assert.equal(valueOf(answer), `user-rpc:n${n}`));
    } finally {
      release();
      await tunnel.close();
      await user.close();
    }
  });
});
