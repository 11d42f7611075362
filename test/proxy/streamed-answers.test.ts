// Large answers are passed on as they arrive (Upstream.streamStart), with the guarantees of whole
// frames: nothing else is written into the middle of one, the payload limit still holds, and a
// provider stream that dies midway costs the consumer that one call, not its connection.
import assert from 'node:assert/strict';
import net from 'node:net';
import {describe, test} from 'node:test';
import {PAD_BYTE, STREAM_ANSWERS_FROM} from '../../src/proxy/streamed-answer.js';
import {TestProvider} from '../support/dubbo-peers.js';
import type {TestConsumer} from '../support/dubbo-peers.js';
import type {DecodedRequest, DecodedResponse, WireFrame} from '../support/dubbo-wire.js';
import {WireReader, decodeRequest, decodeResponse, encodeResponse} from '../support/dubbo-wire.js';
import {sleep, waitFor} from '../support/wait.js';
import {request, startTunnel} from './harness.js';

/** A provider whose answers the test writes itself, byte by byte if it likes. */
class ScriptedProvider {
  readonly application: string;
  readonly sockets = new Set<net.Socket>();
  readonly #server: net.Server;

  private constructor(application: string, server: net.Server) {
    this.application = application;
    this.#server = server;
  }

  static async start(application: string, onRequest: (socket: net.Socket, request: DecodedRequest) => void): Promise<ScriptedProvider> {
    const server = net.createServer((socket) => {
      provider.sockets.add(socket);
      socket.setNoDelay(true);
      const reader = new WireReader();
      socket.on('data', (chunk: Buffer) => {
        for (const frame of reader.push(chunk)) if (frame.isRequest && !frame.event) onRequest(socket, decodeRequest(frame));
      });
      socket.on('error', () => undefined);
      socket.on('close', () => provider.sockets.delete(socket));
    });
    const provider = new ScriptedProvider(application, server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return provider;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** An OK answer with a byte[] of `size` bytes, as a Dubbo 2.0.2 provider writes it (flag 4: value, then attachments). */
function bigAnswer(id: bigint, size: number, withAttachments = true): Buffer {
  const value = Buffer.alloc(size);
  for (let i = 0; i < size; i++) value[i] = (i * 7 + 3) & 0xff;
  return encodeResponse({id, result: {kind: 'value', value}, ...(withAttachments ? {attachments: {dubbo: '2.0.2'}} : {})});
}

/** Each socket's dribbles, in turn: a provider writes one answer after another, never two at once. */
const writing = new WeakMap<net.Socket, Promise<void>>();

/** Writes `bytes` in pieces of 1 to 4,000 bytes, each on its own turn of the event loop, after what the socket is writing already. */
function dribble(socket: net.Socket, bytes: Buffer, seed = 1): Promise<void> {
  const done = (writing.get(socket) ?? Promise.resolve()).then(() => dribbleNow(socket, bytes, seed));
  writing.set(socket, done);
  return done;
}

async function dribbleNow(socket: net.Socket, bytes: Buffer, seed: number): Promise<void> {
  let state = seed;
  for (let at = 0; at < bytes.length;) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const size = 1 + (state % 4000);
    socket.write(bytes.subarray(at, at + size));
    at += size;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function valueOf(answer: DecodedResponse): unknown {
  return answer.kind === 'value' ? answer.value : `${answer.kind} ${answer.status}: ${'message' in answer ? answer.message : ''}`;
}

/** The frame as the provider wrote it, but for the id the consumer asked with. */
function withId(frame: Buffer, id: bigint): Buffer {
  const copy = Buffer.from(frame);
  copy.writeBigInt64BE(id, 4);
  return copy;
}

function rawOf(frame: WireFrame): Buffer {
  const header = Buffer.alloc(16);
  header[0] = 0xda;
  header[1] = 0xbb;
  header[2] = frame.flags;
  header[3] = frame.status;
  header.writeBigInt64BE(frame.id, 4);
  header.writeInt32BE(frame.body.length, 12);
  return Buffer.concat([header, frame.body]);
}

describe('large answers are streamed through', () => {
  test('the consumer has the first bytes before the provider sent the rest; another provider\'s answer for it waits behind it, another consumer\'s does not; all byte-exact', async () => {
    const size = 300 * 1024;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let sent: Buffer | undefined;
    const big = await ScriptedProvider.start('big-rpc', (socket, req) => {
      sent = bigAnswer(req.id, size);
      const frame = sent;
      void (async () => {
        await dribble(socket, frame.subarray(0, 100_000));
        await released;
        await dribble(socket, frame.subarray(100_000), 2);
      })();
    });
    const small = await TestProvider.start({application: 'small-rpc', handler: (req) => ({value: `small:${String(req.args[0])}`, attachments: {}})});
    const tunnel = await startTunnel([big, small] as unknown as TestProvider[]);
    try {
      const [a, b] = await Promise.all([tunnel.consumer(), tunnel.consumer()]);
      const bigCall = a.call({...request('big-rpc'), args: ['big'], id: 5n}, 10_000);
      await waitFor(() => a.receivedBytes.length >= 100_000, {message: 'the first 100,000 bytes reach the consumer while the provider holds the rest'});
      assert.ok(size > STREAM_ANSWERS_FROM);
      // Meanwhile an answer for the same consumer from another provider, and one for another consumer.
      const smallCall = a.call({...request('small-rpc'), args: ['a'], id: 6n});
      assert.equal(valueOf(await b.call({...request('small-rpc'), args: ['b'], id: 6n})), 'small:b', 'the other consumer is not held up');
      await waitFor(() => tunnel.completed.filter((c) => c.application === 'small-rpc').length === 2, {message: 'both small answers reached the tunnel'});
      await sleep(50);
      assert.equal(a.frames.length, 0, 'nothing complete yet: the small answer waits behind the streamed one');
      assert.equal(a.receivedBytes.length, 100_000, 'and no byte of it was written into the middle');
      release();
      const answer = await bigCall;
      assert.equal(answer.id, 5n);
      assert.equal(valueOf(await smallCall), 'small:a');
      assert.deepEqual(a.frames.map((frame) => frame.id), [5n, 6n]);
      const first = a.frames[0] as WireFrame;
      assert.ok(rawOf(first).equals(withId(sent as Buffer, 5n)), 'the streamed answer is the provider\'s, byte for byte, under the consumer\'s id');
      assert.equal(a.receivedBytes.length, (sent as Buffer).length + rawOf(a.frames[1] as WireFrame).length);
      assert.equal(tunnel.completed.find((c) => c.application === 'big-rpc')?.ok, true);
    } finally {
      await tunnel.close();
      await big.close();
      await small.close();
    }
  });

  test('two large answers for one consumer from two providers: one is streamed, the other follows it whole', async () => {
    const size = 200 * 1024;
    const frames = new Map<string, Buffer>();
    const starts: ScriptedProvider[] = [];
    for (const application of ['one-rpc', 'two-rpc']) {
      starts.push(await ScriptedProvider.start(application, (socket, req) => {
        const frame = bigAnswer(req.id, size + application.length);
        frames.set(application, frame);
        void dribble(socket, frame, application.length);
      }));
    }
    const tunnel = await startTunnel(starts as unknown as TestProvider[]);
    try {
      const consumer = await tunnel.consumer();
      const answers = await Promise.all([
        consumer.call({...request('one-rpc'), args: ['x'], id: 1n}, 10_000),
        consumer.call({...request('two-rpc'), args: ['x'], id: 2n}, 10_000),
      ]);
      assert.deepEqual(answers.map((answer) => answer.kind), ['value', 'value']);
      for (const frame of consumer.frames) {
        const application = frame.id === 1n ? 'one-rpc' : 'two-rpc';
        assert.ok(rawOf(frame).equals(withId(frames.get(application) as Buffer, frame.id)), `${application}'s answer byte for byte`);
      }
      assert.equal(consumer.framingError, undefined);
    } finally {
      await tunnel.close();
      for (const provider of starts) await provider.close();
    }
  });

  test('an answer without attachments (an old consumer\'s) is not streamed: it is held until whole', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let sent: Buffer | undefined;
    const big = await ScriptedProvider.start('big-rpc', (socket, req) => {
      sent = bigAnswer(req.id, 200 * 1024, false);
      const frame = sent;
      void (async () => {
        socket.write(frame.subarray(0, 100_000));
        await released;
        socket.write(frame.subarray(100_000));
      })();
    });
    const tunnel = await startTunnel([big] as unknown as TestProvider[]);
    try {
      const consumer = await tunnel.consumer();
      const call = consumer.call({...request('big-rpc'), args: ['x'], id: 3n});
      await sleep(200);
      assert.equal(consumer.receivedBytes.length, 0, 'an answer that ends with its value could decode wrongly if padded, so it is never streamed');
      release();
      await call;
      assert.ok(rawOf(consumer.frames[0] as WireFrame).equals(withId(sent as Buffer, 3n)));
    } finally {
      await tunnel.close();
      await big.close();
    }
  });

  test('the payload limit is decided from the header: an answer over it is answered DT_ERR_RESPONSE_TOO_LARGE, one under it is streamed', async () => {
    const limit = 160 * 1024;
    const big = await ScriptedProvider.start('big-rpc', (socket, req) => {
      void dribble(socket, bigAnswer(req.id, String(req.args[0]) === 'over' ? limit + 1000 : limit - 1000));
    });
    const tunnel = await startTunnel([big] as unknown as TestProvider[], {maxBodyLength: limit});
    try {
      const consumer = await tunnel.consumer();
      const over = await consumer.call({...request('big-rpc'), args: ['over'], id: 1n});
      assert.equal(over.status, 50);
      assert.match(valueOf(over) as string, /DT_ERR_RESPONSE_TOO_LARGE/);
      const under = await consumer.call({...request('big-rpc'), args: ['under'], id: 2n});
      assert.equal(under.kind, 'value');
      assert.equal((under.kind === 'value' ? under.value as Buffer : Buffer.alloc(0)).length, limit - 1000);
    } finally {
      await tunnel.close();
      await big.close();
    }
  });
});

describe('a provider stream that dies in the middle of a streamed answer', () => {
  test('the consumer gets that answer padded to its length, which fails to decode; its other calls, on that stream and others, are all answered and its connection stays', async () => {
    const cutAt = 120_000;
    let answer: Buffer | undefined;
    const dying = await ScriptedProvider.start('dying-rpc', (socket, req) => {
      if (String(req.args[0]) !== 'big') return; // the other call waits, and so is in flight when the stream dies
      answer = bigAnswer(req.id, 500 * 1024);
      void dribble(socket, answer.subarray(0, cutAt));
    });
    const other = await TestProvider.start({
      application: 'other-rpc',
      handler: async (req) => {
        await sleep(300);
        return {value: `other:${String(req.args[0])}`, attachments: {}};
      },
    });
    const tunnel = await startTunnel([dying, other] as unknown as TestProvider[]);
    try {
      const consumer: TestConsumer = await tunnel.consumer();
      const calls = [
        consumer.call({...request('dying-rpc'), args: ['big'], id: 1n}, 10_000),
        consumer.call({...request('dying-rpc'), args: ['waits'], id: 2n}),
        consumer.call({...request('other-rpc'), args: ['slow'], id: 3n}),
      ];
      await waitFor(() => consumer.receivedBytes.length >= cutAt, {message: 'the consumer has the answer up to the cut'});
      for (const socket of dying.sockets) socket.resetAndDestroy();
      const [cut, waiting, slow] = await Promise.allSettled(calls) as [PromiseSettledResult<DecodedResponse>, PromiseSettledResult<DecodedResponse>, PromiseSettledResult<DecodedResponse>];
      // The cut answer: as long as announced, the provider's bytes up to the cut, padding after.
      const frame = consumer.frames.find((f) => f.id === 1n);
      assert.ok(frame, `the cut answer arrived (${cut.status})`);
      const raw = rawOf(frame);
      const sent = withId(answer as Buffer, 1n);
      assert.equal(raw.length, sent.length);
      assert.ok(raw.subarray(0, cutAt).equals(sent.subarray(0, cutAt)));
      assert.ok(raw.subarray(cutAt).every((byte) => byte === PAD_BYTE), 'padded after the cut');
      assert.throws(() => decodeResponse(frame), 'the padded answer does not decode');
      const completedCut = tunnel.completed.find((c) => c.application === 'dying-rpc' && c.code === 'DT_ERR_BACKEND_CLOSED' && /cut off after/.test(c.error ?? ''));
      assert.ok(completedCut, 'the cut call completes with DT_ERR_BACKEND_CLOSED and says where it was cut');
      // The other call on the dead stream is answered with the coded error, after the padded frame.
      assert.equal(waiting.status, 'fulfilled');
      const waitingAnswer = (waiting).value;
      assert.equal(waitingAnswer.status, 80);
      assert.match(valueOf(waitingAnswer) as string, /DT_ERR_BACKEND_CLOSED/);
      // The call on another stream is answered by its provider.
      assert.equal(slow.status, 'fulfilled');
      assert.equal(valueOf((slow).value), 'other:slow');
      assert.deepEqual(consumer.frames.map((f) => f.id), [1n, 2n, 3n]);
      assert.equal(consumer.framingError, undefined);
      assert.equal(consumer.closed, false, 'the connection stays');
      assert.equal(valueOf(await consumer.call({...request('other-rpc'), args: ['after'], id: 4n})), 'other:after');
    } finally {
      await tunnel.close();
      await dying.close();
      await other.close();
    }
  });

  test('a stop whose wait ends in the middle of a streamed answer: that answer is padded to its length, the answers behind it and the stop\'s errors follow, then the connection ends', async () => {
    const heldAt = 100_000;
    let answer: Buffer | undefined;
    const big = await ScriptedProvider.start('big-rpc', (socket, req) => {
      answer = bigAnswer(req.id, 300 * 1024);
      void dribble(socket, answer.subarray(0, heldAt)); // and the rest never comes
    });
    const small = await TestProvider.start({
      application: 'small-rpc',
      handler: async (req) => {
        if (String(req.args[0]) === 'slow') await sleep(5000);
        return {value: `small:${String(req.args[0])}`, attachments: {}};
      },
    });
    const tunnel = await startTunnel([big, small] as unknown as TestProvider[]);
    try {
      const consumer = await tunnel.consumer();
      void consumer.call({...request('big-rpc'), args: ['big'], id: 1n}, 10_000).catch(() => undefined);
      await waitFor(() => consumer.receivedBytes.length >= heldAt, {message: 'the consumer has the streamed answer up to where the provider holds it'});
      void consumer.call({...request('small-rpc'), args: ['quick'], id: 2n}).catch(() => undefined);
      void consumer.call({...request('small-rpc'), args: ['slow'], id: 3n}, 10_000).catch(() => undefined);
      await waitFor(() => tunnel.completed.some((c) => c.application === 'small-rpc'), {message: 'the quick answer reached the tunnel (it waits behind the streamed one)'});
      await tunnel.server.close(50);
      await consumer.waitForClose(3000);
      assert.equal(consumer.framingError, undefined, 'every frame the consumer got is whole');
      const answers = consumer.frames.filter((f) => !f.isRequest);
      assert.deepEqual(answers.map((f) => f.id), [1n, 2n, 3n]);
      assert.equal(consumer.frames.filter((f) => f.isRequest && f.event).length, 1, 'the READONLY event came whole, after the streamed answer');
      const raw = rawOf(answers[0] as WireFrame);
      const sent = withId(answer as Buffer, 1n);
      assert.equal(raw.length, sent.length, 'the streamed answer has its announced length');
      assert.ok(raw.subarray(0, heldAt).equals(sent.subarray(0, heldAt)));
      assert.ok(raw.subarray(heldAt).every((byte) => byte === PAD_BYTE), 'padded after what the provider sent');
      assert.throws(() => decodeResponse(answers[0] as WireFrame), 'the padded answer does not decode');
      assert.equal(valueOf(decodeResponse(answers[1] as WireFrame)), 'small:quick');
      assert.match(valueOf(decodeResponse(answers[2] as WireFrame)) as string, /DT_ERR_STOPPED_BEFORE_ANSWER/);
      const cut = tunnel.completed.find((c) => c.application === 'big-rpc');
      assert.equal(cut?.code, 'DT_ERR_STOPPED_BEFORE_ANSWER');
      assert.match(cut?.error ?? '', /cut off after 100000 of \d+ bytes/);
    } finally {
      await tunnel.close();
      await big.close();
      await small.close();
    }
  });

  test('a consumer that leaves in the middle of its streamed answer: the rest is dropped, and the stream goes on for the others', async () => {
    const big = await ScriptedProvider.start('big-rpc', (socket, req) => {
      void dribble(socket, bigAnswer(req.id, String(req.args[0]) === 'big' ? 400 * 1024 : 10));
    });
    const tunnel = await startTunnel([big] as unknown as TestProvider[]);
    try {
      const [leaver, stayer] = await Promise.all([tunnel.consumer(), tunnel.consumer()]);
      void leaver.call({...request('big-rpc'), args: ['big'], id: 1n}, 10_000).catch(() => undefined);
      await waitFor(() => leaver.receivedBytes.length > 20_000);
      await leaver.close();
      const after = await stayer.call({...request('big-rpc'), args: ['small'], id: 1n}, 10_000);
      assert.equal(after.kind, 'value');
      assert.equal(big.sockets.size, 1, 'one stream throughout');
      await waitFor(() => tunnel.completed.some((c) => c.application === 'big-rpc' && !c.ok), {message: 'the leaver\'s call completes as failed'});
    } finally {
      await tunnel.close();
      await big.close();
    }
  });
});
