// A seeded property test of the whole router on real loopback sockets. Six consumers send a random
// mix of valid requests for three applications (random sizes up to the payload limit, bursts over
// 1 MiB, one-way and two-way, random write chunking, heartbeats), mutated frames (flipped body
// bytes, unknown serialization ids, stray responses and events) and oversized frames; two consumers
// end with garbage framing, two read slowly. Request ids overlap across consumers, as those of
// separate JVMs do. Providers answer after random delays, some with 100 KB answers and some over the
// payload limit; backends connect after a random delay. Three phases disturb the providers:
//   0. all up; at the end gamma is killed while it still owes answers;
//   1. gamma is down (connections refused); midway alpha writes garbage on all its connections;
//   2. gamma is back on a new port; midway beta announces READONLY (the tunnel must drain, not fail).
// Then the tunnel is shut down gracefully while answers are still owed.
//
// Properties:
// - nothing in the process throws (uncaughtException / unhandledRejection);
// - on every connection that was not closed for bad framing, every two-way request with a valid
//   header gets exactly one answer with its id: an OK answer from the right application for that
//   very request, or a Dubbo error response (which statuses are allowed is predicted per frame);
//   nothing else arrives;
// - connections sent garbage framing are closed, and they too never get a duplicate or stray answer;
// - providers get each intact request at most once, only the application it names, with its id,
//   and exactly once when that provider was up; damaged bodies only reach the application they named;
// - at shutdown every owed answer is delivered once (the provider's, a shutdown error, or a large
//   answer cut by the end of the wait, padded to its length) before the tunnel closes the connection;
// - at the end the tunnel holds no consumer connections and no provider holds an upstream socket.
//
// Replay a failure with FUZZ_SEED=<seed>; FUZZ_SEED=<from>-<to> runs many; FUZZ_VERBOSE=1 prints
// how often each kind of frame got each status.
import assert from 'node:assert/strict';
import type {Socket} from 'node:net';
import {inspect} from 'node:util';
import {after, before, describe, test} from 'node:test';
import type {Backend, BackendStream} from '../../src/core/backend.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {PAD_BYTE, STREAM_ANSWERS_FROM} from '../../src/proxy/streamed-answer.js';
import {TestProvider} from '../support/dubbo-peers.js';
import type {TestConsumer} from '../support/dubbo-peers.js';
import {decodeResponse, encodeFrame, encodeHeartbeatRequest, encodeReadonlyEvent, encodeRequestBody, encodeResponse} from '../support/dubbo-wire.js';
import type {DecodedRequest, WireFrame} from '../support/dubbo-wire.js';
import {sleep, waitFor} from '../support/wait.js';
import {prng} from '../protocol/fixtures.js';
import {startTunnel} from './harness.js';
import type {Tunnel} from './harness.js';

const APPS = ['alpha', 'beta', 'gamma'] as const;
type App = (typeof APPS)[number];
/** The provider killed after phase 0 and restarted for phase 2. */
const VICTIM: App = 'gamma';
/** The provider that sends garbage on its connections in the middle of phase 1. */
const MADMAN: App = 'alpha';
/** The provider that announces READONLY in the middle of phase 2. */
const LEAVER: App = 'beta';

/**
 * How an application's provider is during a phase: 'up' (every request is answered by it),
 * 'disturbed' (requests in flight may fail with status 80), 'down' (every request fails).
 */
function backendState(app: App, phase: number): 'up' | 'disturbed' | 'down' {
  if (app === VICTIM) return phase === 0 ? 'disturbed' : phase === 1 ? 'down' : 'up';
  if (app === MADMAN && phase === 1) return 'disturbed';
  return 'up';
}

const MAX_BODY = 256 * 1024;
const CONSUMERS = 6;
const ACTIONS_PER_PHASE = 28;
const SERVICE = 'com.example.FuzzService';

// Status bytes (Response.java) as the tunnel uses them (src/router/local-answer.ts ANSWER_STATUS).
const OK = 20;
const BAD_REQUEST = 40;
const BAD_RESPONSE = 50;
const SERVICE_NOT_FOUND = 60;
const SERVICE_ERROR = 70;
const SERVER_ERROR = 80;

/** What a two-way frame may be answered with. */
type Expect =
  | {kind: 'ok-or-throw'; app: App; backend: 'up' | 'disturbed' | 'down'}
  | {kind: 'error'; statuses: number[] | 'any'}
  | {kind: 'ok-from-or-error'; app: App}
  | {kind: 'heartbeat'};

/** One frame a consumer sent. Ids repeat across consumers (separate JVMs count alike); tokens do not. */
interface Sent {
  id: bigint;
  what: string;
  phase: number;
  twoWay: boolean;
  token: string;
  /** The application it may reach, if any (all other frames must reach no provider). */
  route: App | undefined;
  /** It must reach `route` exactly once (healthy connection, provider up). */
  mustArrive: boolean;
  /** For two-way frames with a valid header: the answer owed. */
  expect: Expect | undefined;
}

interface Plan {
  index: number;
  /** The bytes to write per phase, already cut into random chunks. */
  phases: Buffer[][];
  sent: Map<bigint, Sent>;
  /** The phase in which garbage framing is sent (nothing after it), or undefined. */
  poisonPhase: number | undefined;
  poison: string | undefined;
}

function hashOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * Every frame carries a token `<c|m><consumer>-<id>-<check>` as its argument's prefix. Only tokens
 * of intact bodies ('c') have the right check value, so a body whose flipped bytes hit its token can
 * never pass for another request's.
 */
function tokenFor(index: number, id: bigint, intact: boolean): string {
  const base = `${intact ? 'c' : 'm'}${index}-${id}`;
  return `${base}-${(hashOf(base) % 46656).toString(36)}`;
}

function isIntactToken(token: string): boolean {
  const match = /^(c\d+-\d+)-([0-9a-z]+)$/.exec(token);
  return match !== null && (hashOf(match[1] as string) % 46656).toString(36) === match[2];
}

/** Providers decide delay and failure from the token alone, so the test can predict the answer. */
const throwsFor = (token: string): boolean => hashOf(token) % 11 === 0;
const delayFor = (app: string, token: string): number => hashOf(`${token}/d`) % (app === VICTIM ? 60 : 25);
/** Padding of the answer: mostly none, sometimes 100 KB, sometimes over the payload limit (the tunnel must answer status 50 instead). */
const paddingFor = (token: string): number => {
  const h = hashOf(`${token}/p`) % 40;
  return h === 0 ? MAX_BODY + 40_000 : h < 4 ? 100_000 : 0;
};
const tooLarge = (token: string): boolean => paddingFor(token) > MAX_BODY;

function requestBody(app: string | undefined, token: string, argLength: number): Buffer {
  const attachments: Record<string, unknown> = {
    path: SERVICE, interface: SERVICE, version: '0.0.0', timeout: '3000', 'remote.application': 'fuzz-consumer',
  };
  if (app !== undefined) attachments['target-application'] = app;
  // The token is the argument's prefix; '#' and padding give the size.
  const arg = `${token}#${'x'.repeat(argLength)}`;
  return encodeRequestBody({service: SERVICE, method: 'call', parameterTypes: 'Ljava/lang/String;', args: [arg], attachments});
}

function frame(flags: number, id: bigint, body: Buffer, lengthField?: number): Buffer {
  return encodeFrame({id, flags, status: 0, body, ...(lengthField === undefined ? {} : {lengthField})});
}

type Random = ReturnType<typeof prng>;

/** Random cuts of `bytes`: single bytes, small and large pieces, sometimes all at once. */
function chunked(random: Random, bytes: Buffer): Buffer[] {
  if (random.int(8) === 0) return [bytes];
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = 1 + (random.int(4) === 0 ? random.int(8) : random.int(6000));
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function makePlan(seed: number, index: number, poisoned: boolean): Plan {
  const random = prng(seed * 1000 + index);
  const plan: Plan = {index, phases: [[], [], []], sent: new Map(), poisonPhase: undefined, poison: undefined};
  // Ids are unique per connection only, and overlap across consumers: separate Java consumers each
  // count from 0, and the router must never mix up their answers.
  let nextId = BigInt(random.int(6));
  if (poisoned) plan.poisonPhase = random.int(3);

  for (let phase = 0; phase < 3; phase++) {
    const frames: Buffer[] = [];
    const add = (bytes: Buffer, info: Omit<Sent, 'phase' | 'mustArrive'> & {mustArrive?: boolean}): void => {
      frames.push(bytes);
      plan.sent.set(info.id, {...info, phase, mustArrive: info.mustArrive ?? false});
    };
    const count = plan.poisonPhase === phase ? 1 + random.int(ACTIONS_PER_PHASE) : ACTIONS_PER_PHASE;
    for (let n = 0; n < count; n++) {
      const id = nextId++;
      const token = tokenFor(index, id, true);
      const roll = random.int(100);
      // Mostly small; sometimes up to the payload limit (a burst of those fills an upstream's connect queue).
      const argLength = random.int(10) === 0 ? random.int(MAX_BODY - 1024) : random.int(300);
      if (roll < 2) {
        // A burst of large requests to one application, back to back: over 1 MiB, more than an
        // upstream queues while it connects, so the tunnel stops reading this consumer until the
        // upstream opens, or fails (in phase 1 the victim refuses: reading must resume anyway).
        const app = APPS[random.int(APPS.length)] as App;
        const backend = backendState(app, phase);
        for (let k = 5 + random.int(3), burstId = id; k > 0; k--, burstId = nextId++) {
          const burstToken = tokenFor(index, burstId, true);
          add(frame(0xc2, burstId, requestBody(app, burstToken, MAX_BODY - 60_000 + random.int(50_000))), {
            id: burstId, token: burstToken, twoWay: true, what: `burst to ${app}`, route: app,
            mustArrive: !poisoned && backend === 'up', expect: {kind: 'ok-or-throw', app, backend},
          });
        }
      } else if (roll < 45) {
        // A valid request to one of the applications.
        const app = APPS[random.int(APPS.length)] as App;
        const twoWay = random.int(4) !== 0;
        const backend = backendState(app, phase);
        add(frame(twoWay ? 0xc2 : 0x82, id, requestBody(app, token, argLength)), {
          id, token, twoWay, what: `valid ${twoWay ? 'two-way' : 'one-way'} to ${app}`, route: app,
          mustArrive: !poisoned && backend === 'up', expect: twoWay ? {kind: 'ok-or-throw', app, backend} : undefined,
        });
      } else if (roll < 52) {
        add(frame(0xc2, id, requestBody('nowhere', token, argLength)), {
          id, token, twoWay: true, what: 'no such application', route: undefined, expect: {kind: 'error', statuses: [SERVICE_NOT_FOUND]},
        });
      } else if (roll < 60) {
        add(encodeHeartbeatRequest(id), {id, token, twoWay: true, what: 'heartbeat', route: undefined, expect: {kind: 'heartbeat'}});
      } else if (roll < 72) {
        // Flipped body bytes; the header is intact, so an answer is still owed (OK only from the app it named).
        const app = APPS[random.int(2)] as App; // not the victim, so that provider is up
        const damaged = tokenFor(index, id, false);
        const body = Buffer.from(requestBody(app, damaged, random.int(200)));
        const flips = 1 + random.int(3);
        for (let f = 0; f < flips; f++) {
          const at = random.int(body.length);
          body[at] = (body[at] as number) ^ (1 + random.int(255));
        }
        add(frame(0xc2, id, body), {id, token: damaged, twoWay: true, what: `mutated body for ${app}`, route: app, expect: {kind: 'ok-from-or-error', app}});
      } else if (roll < 78) {
        // A serialization id the tunnel cannot read (the body is hessian2 all the same).
        const serialization = [3, 4, 6, 7, 8, 9, 21, 22, 23, 25, 31][random.int(11)] as number;
        add(frame(0xc0 | serialization, id, requestBody('alpha', token, argLength)), {
          id, token, twoWay: true, what: `serialization id ${serialization}`, route: undefined, expect: {kind: 'error', statuses: 'any'},
        });
      } else if (roll < 84) {
        // Over the payload limit: skipped as it arrives, answered with status 40 if two-way.
        const twoWay = random.int(3) !== 0;
        add(frame(twoWay ? 0xc2 : 0x82, id, requestBody('alpha', token, MAX_BODY + random.int(100_000))), {
          id, token, twoWay, what: 'oversize', route: undefined, expect: twoWay ? {kind: 'error', statuses: [BAD_REQUEST]} : undefined,
        });
      } else if (roll < 90) {
        // Noise that must get no answer: a stray response, a READONLY event, an empty one-way event.
        const which = random.int(3);
        const bytes = which === 0
          ? encodeResponse({id, result: {kind: 'value', value: 'stray'}})
          : which === 1 ? encodeReadonlyEvent(id) : frame(0xa2, id, Buffer.alloc(0));
        add(bytes, {id, token, twoWay: false, what: ['stray response', 'READONLY event', 'empty one-way event'][which] as string, route: undefined, expect: undefined});
      } else {
        // One-way with no target attachment: no route, and no answer because it is one-way.
        add(frame(0x82, id, requestBody(undefined, token, argLength)), {id, token, twoWay: false, what: 'one-way without target', route: undefined, expect: undefined});
      }
    }
    if (plan.poisonPhase === phase) {
      const id = nextId++;
      const token = tokenFor(index, id, true);
      const body = requestBody('beta', token, random.int(500));
      const kind = random.int(5);
      if (kind === 0) {
        plan.poison = 'bytes that are not a Dubbo frame';
        frames.push(Buffer.concat([Buffer.from([random.int(0xda)]), random.bytes(20 + random.int(200))]));
      } else if (kind === 1) {
        plan.poison = 'a negative body length';
        frames.push(frame(0xc2, id, body, -1 - random.int(1000)));
      } else if (kind === 2) {
        // The length says less than is sent: the rest of the body is read as the next header. It
        // cannot start with 0xda 0xbb (ASCII strings, short length bytes, 'H', 'Z').
        const cut = 2 + random.int(body.length - 2);
        plan.poison = `a body length ${cut} bytes short`;
        add(frame(0xc2, id, body, body.length - cut), {
          id, token, twoWay: true, what: 'short-length frame (may be answered before the close)', route: undefined, expect: {kind: 'error', statuses: 'any'},
        });
      } else if (kind === 3) {
        // The length says more: the next bytes are taken as body (trailing bytes are allowed), then garbage.
        const extra = 1 + random.int(50);
        plan.poison = `a body length ${extra} bytes long, then garbage`;
        add(frame(0xc2, id, body, body.length + extra), {
          id, token, twoWay: true, what: 'long-length frame (may be answered before the close)', route: 'beta', expect: {kind: 'ok-from-or-error', app: 'beta'},
        });
        frames.push(Buffer.alloc(extra, 0x4e), Buffer.from('ZZ garbage'));
      } else {
        plan.poison = 'an HTTP request';
        frames.push(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
      }
    }
    (plan.phases[phase] as Buffer[]).push(...chunked(random, Buffer.concat(frames)));
    if (plan.poisonPhase === phase) break;
  }
  return plan;
}

/**
 * A backend that dials the CURRENT port of an application's provider (the victim moves when
 * restarted), after a random delay like a port-forward's set-up, so frames queue on connecting upstreams.
 */
class MovableBackend implements Backend {
  readonly application: string;
  port: number;
  /** Connection attempts under way. */
  connecting = 0;
  readonly #random: Random;

  constructor(application: string, port: number, random: Random) {
    this.application = application;
    this.port = port;
    this.#random = random;
  }

  describe(): string {
    return `127.0.0.1:${this.port}`;
  }

  async connect(signal?: AbortSignal): Promise<BackendStream> {
    // The address is chosen when the connection is asked for, as a port-forward picks its pod.
    const target = new StaticBackend(this.application, '127.0.0.1', this.port);
    const delay = this.#random.int(4) === 0 ? 0 : this.#random.int(40);
    this.connecting++;
    try {
      if (delay > 0) await sleep(delay);
      return await target.connect(signal);
    } finally {
      this.connecting--;
    }
  }
}

/** Writes every plan's chunks of one phase, interleaved across consumers, yielding to the event loop now and then. */
async function writePhase(consumers: TestConsumer[], plans: Plan[], phase: number, random: Random, midway?: () => void): Promise<void> {
  const queues = plans.map((plan) => [...(plan.phases[phase] ?? [])]);
  const total = queues.reduce((n, queue) => n + queue.length, 0);
  let written = 0;
  while (queues.some((queue) => queue.length > 0)) {
    if (written++ === Math.floor(total / 2)) midway?.();
    const index = random.int(queues.length);
    const chunk = (queues[index] as Buffer[]).shift();
    if (chunk) (consumers[index] as TestConsumer).send(chunk);
    if (random.int(4) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

function checkAnswer(plan: Plan, sent: Sent, expect: Expect, answer: WireFrame): void {
  const where = `consumer ${plan.index}, id ${sent.id} (${sent.what}, phase ${sent.phase})`;
  if (expect.kind === 'heartbeat') {
    assert.ok(answer.event && answer.status === OK, `${where}: heartbeat answer ${inspect(answer)}`);
    return;
  }
  assert.equal(answer.event, false, `${where}: an event as the answer`);
  const response = decodeResponse(answer);
  if (answer.status === OK) {
    assert.notEqual(expect.kind, 'error', `${where}: expected an error, got ${inspect(response)}`);
    assert.equal(response.kind, 'value', `${where}: ${inspect(response)}`);
    const [app, token] = String((response as {value: unknown}).value).split('|');
    assert.equal(app, (expect as {app: App}).app, `${where}: answered by ${app}`);
    if (expect.kind === 'ok-or-throw') {
      assert.equal(token, sent.token, `${where}: the answer of another request`);
      assert.equal(throwsFor(sent.token), false, `${where}: the provider was to fail this one`);
      assert.equal(tooLarge(sent.token), false, `${where}: an answer over the payload limit was delivered`);
      assert.notEqual(expect.backend, 'down', `${where}: answered while ${app} was down`);
    }
    return;
  }
  assert.equal(response.kind, 'error', `${where}: ${inspect(response)}`);
  const message = (response as {message: string}).message;
  if (expect.kind === 'error' && expect.statuses !== 'any') {
    assert.ok(expect.statuses.includes(answer.status), `${where}: status ${answer.status} (${message})`);
  }
  if (expect.kind === 'ok-or-throw') {
    const allowed = [
      ...(throwsFor(sent.token) ? [SERVICE_ERROR] : tooLarge(sent.token) ? [BAD_RESPONSE] : []),
      ...(expect.backend === 'up' ? [] : [SERVER_ERROR]),
    ];
    assert.ok(allowed.includes(answer.status), `${where}: status ${answer.status} (${message})`);
  }
}

function seeds(): number[] {
  // FUZZ_SEED=7 replays one seed; FUZZ_SEED=1-200 runs a range (for bug hunting, not CI).
  const match = /^(\d+)(?:-(\d+))?$/.exec(process.env.FUZZ_SEED ?? '');
  if (!match) return [1, 2];
  const from = Number(match[1]);
  const to = Number(match[2] ?? match[1]);
  return Array.from({length: to - from + 1}, (_, i) => from + i);
}

describe('router fuzz (seeded)', () => {
  const problems: unknown[] = [];
  const onProblem = (error: unknown): void => {
    problems.push(error);
  };
  before(() => {
    process.on('uncaughtException', onProblem);
    process.on('unhandledRejection', onProblem);
  });
  after(() => {
    process.off('uncaughtException', onProblem);
    process.off('unhandledRejection', onProblem);
  });

  for (const seed of seeds()) {
    test(`seed ${seed}`, {timeout: 30_000}, async (t) => {
      problems.length = 0;
      const providers = new Map<App, TestProvider>();
      const retired: TestProvider[] = [];
      /** Every request a provider's handler saw (those its hessian.js decoder could read). */
      const receipts: {app: App; token: string; req: DecodedRequest}[] = [];
      const startProvider = async (app: App): Promise<TestProvider> => {
        const provider = await TestProvider.start({
          application: app,
          handler: async (req) => {
            const token = String(req.args[0]).split('#')[0] ?? '';
            receipts.push({app, token, req});
            await sleep(delayFor(app, token));
            if (throwsFor(token)) throw new Error(`${app} fails ${token} on purpose`);
            const padding = paddingFor(token);
            return {value: padding > 0 ? `${app}|${token}|${'y'.repeat(padding)}` : `${app}|${token}`, attachments: {dubbo: '2.0.2'}};
          },
        });
        providers.set(app, provider);
        return provider;
      };
      for (const app of APPS) await startProvider(app);
      const backends = APPS.map((app, i) => new MovableBackend(app, (providers.get(app) as TestProvider).port, prng(seed * 31 + i)));
      const tunnel: Tunnel = await startTunnel(backends, {maxBodyLength: MAX_BODY});
      const random = prng(seed);
      const poisoned = new Set<number>();
      while (poisoned.size < 2) poisoned.add(random.int(CONSUMERS));
      const plans = Array.from({length: CONSUMERS}, (_, i) => makePlan(seed, i, poisoned.has(i)));
      const healthy = plans.filter((plan) => plan.poisonPhase === undefined);
      const consumers: TestConsumer[] = [];
      for (let i = 0; i < CONSUMERS; i++) consumers.push(await tunnel.consumer());
      const consumerOf = (plan: Plan): TestConsumer => consumers[plan.index] as TestConsumer;
      // Two healthy consumers are slow readers: their sockets stop reading for random spells, so the
      // tunnel's writes back up and it must stop reading their upstreams, then resume.
      const slowReaders = healthy.slice(0, 2).map((plan) => {
        const socket = (consumerOf(plan) as unknown as {socket?: Socket}).socket;
        assert.ok(socket, 'TestConsumer keeps its socket in `socket`');
        return socket;
      });
      const pauseRandom = prng(seed * 13);
      let pausing = true;
      const pauser = (async () => {
        while (pausing) {
          for (const socket of slowReaders) if (pauseRandom.int(2) === 0) socket.pause();
          await sleep(pauseRandom.int(40));
          for (const socket of slowReaders) socket.resume();
          await sleep(pauseRandom.int(20));
        }
      })();
      const stopPausing = async (): Promise<void> => {
        pausing = false;
        await pauser;
      };
      /** Every answer owed for frames of phases up to `phase`, on connections that the poison has not closed by then. */
      const unanswered = (phase: number): string[] => plans
        .filter((plan) => plan.poisonPhase === undefined || plan.poisonPhase > phase)
        .flatMap((plan) => {
          const ids = new Set(consumerOf(plan).frames.map((f) => f.id));
          return [...plan.sent.values()]
            .filter((sent) => sent.phase <= phase && sent.expect !== undefined && !ids.has(sent.id))
            .map((sent) => `consumer ${plan.index} id ${sent.id} (${sent.what}, phase ${sent.phase})`);
        });
      const waitForAnswers = async (phase: number): Promise<void> => {
        await waitFor(() => unanswered(phase).length === 0, {timeoutMs: 8000}).catch(() => {
          const missing = unanswered(phase);
          throw new Error(`after phase ${phase}, ${missing.length} answers are missing: ${missing.slice(0, 5).join('; ')}`);
        });
      };
      const stats = {frames: 0, answers: 0, bytes: 0, statuses: new Map<string, number>()};
      /** One more two-way request to `app` from every healthy consumer, awaited (recorded like any other frame). */
      const callFromEach = async (app: App, phase: number, id: bigint, what: string): Promise<void> => {
        await Promise.all(healthy.map(async (plan) => {
          const token = tokenFor(plan.index, id, true);
          plan.sent.set(id, {id, token, twoWay: true, what, phase, route: app, mustArrive: true, expect: {kind: 'ok-or-throw', app, backend: 'up'}});
          await consumerOf(plan).call({
            id, service: SERVICE, method: 'call', parameterTypes: 'Ljava/lang/String;', args: [`${token}#`],
            attachments: {path: SERVICE, 'target-application': app},
          });
        }));
      };

      try {
        // Phase 0: all providers up; the victim is killed while it still has slow answers pending.
        await writePhase(consumers, plans, 0, random);
        const victim = providers.get(VICTIM) as TestProvider;
        await waitFor(() => receipts.some((r) => r.app === VICTIM), {timeoutMs: 3000}).catch(() => undefined);
        await victim.close();
        retired.push(victim);
        await waitForAnswers(0);

        // Phase 1: the victim is down (connections are refused); midway the madman breaks framing on all its connections.
        const madman = providers.get(MADMAN) as TestProvider;
        await writePhase(consumers, plans, 1, random, () => madman.sendToAll(Buffer.from('this is not a Dubbo frame')));
        await waitForAnswers(1);
        await callFromEach(MADMAN, 1, 900_001n, `call to ${MADMAN} after its garbage`);

        // Phase 2: the victim is back, on a new port; midway the leaver announces READONLY. One-way
        // requests owe no answer, so a connection attempt to the dead port may still be under way:
        // requests joining it would fail, which is right, but not what this phase is about.
        const victimBackend = backends[APPS.indexOf(VICTIM)] as MovableBackend;
        await waitFor(() => victimBackend.connecting === 0, {message: `connection attempts to the dead ${VICTIM}`});
        const restarted = await startProvider(VICTIM);
        victimBackend.port = restarted.port;
        const leaver = providers.get(LEAVER) as TestProvider;
        const drained: string[] = [];
        tunnel.events.on('upstream-closed', (event) => {
          if (event.application === LEAVER && /READONLY/.test(event.reason ?? '')) drained.push(event.remote);
        });
        let leaverConnections = 0;
        await writePhase(consumers, plans, 2, random, () => {
          leaverConnections = leaver.openConnections;
          leaver.sendToAll(encodeReadonlyEvent(-5n));
        });
        await waitForAnswers(2);
        await stopPausing();
        // Upstreams that got READONLY are closed once their answers are in, and every consumer still
        // reaches the leaver (over a fresh upstream where its old one drained).
        if (leaverConnections > 0) await waitFor(() => drained.length > 0, {message: `no ${LEAVER} upstream was drained after READONLY`});
        await callFromEach(LEAVER, 2, 900_002n, `call to ${LEAVER} after READONLY`);

        // Garbage framing closed exactly the poisoned connections.
        for (const plan of plans) {
          if (plan.poisonPhase === undefined) continue;
          await consumerOf(plan).waitForClose(3000).catch(() => assert.fail(`consumer ${plan.index} sent ${plan.poison} and is still open`));
        }
        // Give late or duplicate answers time to show (longer than any provider delay) before judging.
        await sleep(100);
        for (const plan of healthy) assert.equal(consumerOf(plan).closed, false, `healthy consumer ${plan.index} was closed`);

        for (const plan of plans) {
          const consumer = consumerOf(plan);
          if (plan.poison === 'an HTTP request') {
            assert.match(consumer.receivedBytes.toString('latin1'), /HTTP\/1\.1 400 Bad Request/);
          } else {
            assert.equal(consumer.framingError, undefined, `consumer ${plan.index} got bytes that are not Dubbo frames`);
          }
          const seen = new Map<bigint, number>();
          for (const answer of consumer.frames) {
            stats.answers++;
            assert.equal(answer.isRequest, false, `consumer ${plan.index} got a request ${inspect(answer)}`);
            seen.set(answer.id, (seen.get(answer.id) ?? 0) + 1);
            const sent = plan.sent.get(answer.id);
            assert.ok(sent?.expect, `consumer ${plan.index} got an answer to id ${answer.id} (${sent?.what ?? 'never sent'}), which is owed none`);
            checkAnswer(plan, sent, sent.expect, answer);
            const key = `${sent.what.replace(/ \d+$/, '')}/p${sent.phase}=${answer.event ? 'event' : answer.status}`;
            stats.statuses.set(key, (stats.statuses.get(key) ?? 0) + 1);
          }
          for (const [id, count] of seen) assert.equal(count, 1, `consumer ${plan.index}: ${count} answers to id ${id}`);
          for (const sent of plan.sent.values()) {
            stats.frames++;
            if (plan.poisonPhase === undefined && sent.expect) assert.ok(seen.has(sent.id), `consumer ${plan.index}: no answer to id ${sent.id} (${sent.what})`);
          }
          for (const chunk of plan.phases.flat()) stats.bytes += chunk.length;
        }
        // Providers: an intact request reaches only the application it names, at most once, and
        // exactly once when that provider was up, under an id no other request in flight on that
        // stream has (consumers reuse each other's ids; the tunnel rewrites them); a damaged body can
        // only have come from a mutated frame meant for that provider.
        const byToken = new Map<string, Sent>();
        for (const plan of plans) for (const sent of plan.sent.values()) byToken.set(sent.token, sent);
        const arrivals = new Map<string, number>();
        for (const receipt of receipts) {
          if (isIntactToken(receipt.token)) {
            const sent = byToken.get(receipt.token);
            assert.ok(sent, `${receipt.app} got ${receipt.token}, which no consumer sent`);
            assert.equal(receipt.app, sent.route, `${sent.what} (${receipt.token}) reached ${receipt.app}`);
            assert.equal(receipt.req.twoWay, sent.twoWay, `${receipt.token}: two-way bit`);
            arrivals.set(receipt.token, (arrivals.get(receipt.token) ?? 0) + 1);
          } else {
            const origin = plans.some((plan) => [...plan.sent.values()].some((sent) => sent.what.startsWith('mutated') && sent.route === receipt.app));
            assert.ok(origin, `${receipt.app} got id ${receipt.req.id} with token ${JSON.stringify(receipt.token)}, from no mutated frame meant for it`);
          }
        }
        for (const sent of byToken.values()) {
          const count = arrivals.get(sent.token) ?? 0;
          assert.ok(count <= 1, `${sent.token} (${sent.what}) reached a provider ${count} times`);
          if (sent.mustArrive) assert.equal(count, 1, `${sent.token} (${sent.what}, phase ${sent.phase}) never reached ${sent.route}`);
          if (sent.route && backendState(sent.route, sent.phase) === 'down') assert.equal(count, 0, `${sent.token} reached ${sent.route} while it was down`);
        }
        assert.ok(restarted.received.length > 0, 'the restarted provider was used');

        // A provider's heartbeat requests are answered by the tunnel on every upstream.
        const alpha = providers.get('alpha') as TestProvider;
        const upstreams = alpha.openConnections;
        assert.ok(upstreams > 0);
        alpha.sendToAll(encodeHeartbeatRequest(-77n));
        await waitFor(() => alpha.responsesReceived.filter((f) => f.id === -77n && f.event).length === upstreams, {message: 'heartbeat answers'});

        // Last, the tunnel shuts down while answers are still owed (provider delays exceed the grace
        // period): each request is answered exactly once, by its provider or with a shutdown error,
        // and then the tunnel closes every consumer connection itself.
        const owed = new Map<TestConsumer, {from: number; requests: Map<bigint, {app: App; token: string}>}>();
        for (const plan of healthy) {
          const consumer = consumerOf(plan);
          const requests = new Map<bigint, {app: App; token: string}>();
          const frames: Buffer[] = [];
          for (let n = 0n; n < 12n; n++) {
            const id = 3_000_000n + n;
            const app = APPS[random.int(APPS.length)] as App;
            const token = tokenFor(plan.index, id, true);
            frames.push(frame(0xc2, id, requestBody(app, token, random.int(3000))));
            requests.set(id, {app, token});
          }
          owed.set(consumer, {from: consumer.frames.length, requests});
          for (const chunk of chunked(random, Buffer.concat(frames))) consumer.send(chunk);
        }
        const arrived = (token: string): boolean => receipts.some((r) => r.token === token);
        await waitFor(() => [...owed.values()].every(({requests}) => [...requests.values()].every((r) => arrived(r.token))), {message: 'the last requests reach their providers'});
        await tunnel.server.close(15);
        for (const [consumer, {from, requests}] of owed) {
          await consumer.waitForClose(3000);
          // The stop first tells the consumer to send no more (a READONLY event, as a Dubbo provider does).
          const told = consumer.frames.slice(from).filter((f) => f.isRequest);
          assert.deepEqual(told.map((f) => [f.flags, f.body.toString('latin1')]), [[0xa2, '\x01R']], 'one READONLY event at shutdown');
          const answers = consumer.frames.slice(from).filter((f) => !f.isRequest);
          assert.deepEqual(answers.map((f) => f.id).sort(), [...requests.keys()].sort(), 'one answer per request owed at shutdown');
          for (const answer of answers) {
            const {app, token} = requests.get(answer.id) as {app: App; token: string};
            if (answer.body.at(-1) === PAD_BYTE) {
              // A large answer passing through when the wait ended: completed to its length, padded
              // so that it fails to decode (streamed-answers.test.ts shows it byte by byte).
              assert.ok(answer.body.length > STREAM_ANSWERS_FROM && !tooLarge(token), `${token}: only a streamed answer is padded`);
              assert.throws(() => decodeResponse(answer));
              stats.statuses.set('shutdown=padded', (stats.statuses.get('shutdown=padded') ?? 0) + 1);
              continue;
            }
            const response = decodeResponse(answer);
            if (response.kind === 'value') assert.equal(String(response.value).split('|').slice(0, 2).join('|'), `${app}|${token}`);
            else if (answer.status === SERVICE_ERROR) assert.ok(throwsFor(token));
            else if (answer.status === BAD_RESPONSE) assert.ok(tooLarge(token));
            else assert.match(response.kind === 'error' ? response.message : inspect(response), /^dubbo-tunnel \[DT_ERR_STOPPED_BEFORE_ANSWER\]: dubbo-tunnel stopped: no answer within the 0\.015 s it waits on a stop/);
            const key = `shutdown=${answer.status}`;
            stats.statuses.set(key, (stats.statuses.get(key) ?? 0) + 1);
          }
        }
      } finally {
        await stopPausing();
        await Promise.all(consumers.map((consumer) => consumer.close()));
        await waitFor(() => tunnel.server.connectionCount === 0, {timeoutMs: 3000, message: 'the tunnel still holds consumer connections'})
          .catch((error: unknown) => problems.push(error));
        await waitFor(() => [...providers.values()].every((provider) => provider.openConnections === 0), {timeoutMs: 3000, message: 'a provider still holds an upstream socket'})
          .catch((error: unknown) => problems.push(error));
        await tunnel.close();
        await Promise.all([...providers.values(), ...retired].map((provider) => provider.close()));
      }
      assert.deepEqual(problems, []);
      // Not a property: shows that the run did something (visible with --test-reporter=spec).
      t.diagnostic(`seed ${seed}: ${stats.frames} frames, ${stats.answers} answers, ${stats.bytes} bytes`);
      if (process.env.FUZZ_VERBOSE) t.diagnostic(inspect(new Map([...stats.statuses].sort())));
    });
  }
});
