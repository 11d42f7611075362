// Seeded property tests: random and mutated streams and bodies. The frame decoder must agree with a
// whole-buffer reference framer under any chunking and never throw; peekRequest may only throw
// ProtocolError and must never read past the body (checked through a guarding Proxy).
import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {ProtocolError} from '../../src/core/errors.js';
import {peekRequest} from '../../src/protocol/request-peek.js';
import {encodeHeartbeatRequest, encodeReadonlyEvent, encodeResponse, java} from '../support/dubbo-wire.js';
import {decodeChunks, fastjson2RequestBody, frameOf, guarded, hessianRequestBody, jsonb, prng, type DecodeResult} from './fixtures.js';

const SEED = 20240611;

const HESSIAN_BODIES: Buffer[] = [
  hessianRequestBody({desc: '', attachments: {'target-application': 'user-rpc'}}),
  hessianRequestBody({
    desc: 'Lcom/example/User;Lcom/example/User;JD',
    args: [java.pojo('com.example.User', {name: 'a', age: 1}), java.pojo('com.example.User', {name: 'b', age: 2}), java.long(5_000_000_000), 10.5],
    attachments: {k: 'v', n: 3000, l: java.long('9007199254740993'), x: null},
  }),
  hessianRequestBody({
    desc: '[I[Ljava/lang/String;Ljava/util/Map;Ljava/util/Date;Ljava/util/Date;',
    args: [
      java.typedList('[int', [1, 2, 3, 4, 5, 6, 7, 8, 9]),
      java.typedList('[string', ['x', 'y']),
      java.typedMap('java.util.TreeMap', {a: [1, 2], b: {$class: 'java.util.HashMap', $: {c: 'd'}}}),
      java.date(Date.UTC(2024, 0, 1)),
      java.date(1700000000123),
    ],
    attachments: {t: true, f: false, d: 1.25},
  }),
  hessianRequestBody({
    desc: 'Ljava/lang/Throwable;[BLjava/lang/String;',
    args: [java.exception('java.lang.RuntimeException', 'x'), java.bytes(300), 'é😀中'],
    attachments: {'target-application': '服务'},
  }),
  // Multi-byte ints where the skipper reads lengths, class indexes and refs: a 300-item list
  // (length 0xc9 0x2c), 'Q' refs past 47 and an 'O' class index, next to a cut.
  hessianRequestBody({
    desc: '[ILjava/util/List;',
    args: [
      java.typedList('[int', Array.from({length: 300}, (_, i) => i * 1000)),
      (() => {
        const items = Array.from({length: 60}, (_, i) => java.pojo(`com.example.K${i % 20}`, {i}));
        return [...items, items[55], items[3]];
      })(),
    ],
    attachments: {'target-application': 'x'},
  }),
];

const FASTJSON2_BODIES: Buffer[] = [
  fastjson2RequestBody({
    service: 'com.example.S', method: 'm', desc: 'Ljava/lang/String;I', args: [jsonb.string('a'), jsonb.int(5)],
    attachments: jsonb.object([[jsonb.string('k'), jsonb.string('v')], [jsonb.string('n'), jsonb.int(3000)], [jsonb.string('o'), jsonb.object([[jsonb.string('a'), jsonb.array([jsonb.int(1)])]])]]),
  }),
];

const INTERESTING = [0x00, 0x01, 0x1f, 0x30, 0x34, 0x41, 0x42, 0x43, 0x48, 0x4d, 0x4e, 0x4f, 0x51, 0x52, 0x53, 0x55, 0x56, 0x57, 0x58, 0x5a, 0x60, 0x6f, 0x70, 0x78, 0x7f, 0x80, 0x90, 0xa6, 0xa5, 0xc8, 0xd4, 0xda, 0xbb, 0xff];

type Rng = ReturnType<typeof prng>;

function mutate(rng: Rng, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const edits = 1 + rng.int(4);
  for (let e = 0; e < edits; e++) {
    const at = b.length === 0 ? 0 : rng.int(b.length);
    switch (rng.int(5)) {
      case 0:
        if (b.length > 0) b[at] = rng.int(256);
        break;
      case 1:
        if (b.length > 0) b[at] = INTERESTING[rng.int(INTERESTING.length)] as number;
        break;
      case 2:
        b = b.subarray(0, at);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(8)), b.subarray(at)]);
        break;
      default: {
        const len = rng.int(16);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
      }
    }
  }
  return b;
}

/** Only ProtocolError may escape, and the body is never read past its end. */
function checkPeek(serializationId: number, body: Buffer, context: string): void {
  try {
    const meta = peekRequest(serializationId, guarded(body));
    assert.equal(typeof meta.service, 'string');
    assert.ok(meta.argumentCount >= 0);
  } catch (error) {
    if (!(error instanceof ProtocolError)) {
      assert.fail(`${context}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)} for ${body.toString('hex')}`);
    }
    assert.ok(['DT_ERR_BAD_BODY', 'DT_ERR_UNSUPPORTED_SERIALIZATION'].includes(error.code), `${context}: code ${error.code}`);
  }
}

/** The framing rules applied to the whole stream at once: what any chunking must reproduce. */
function referenceFramer(stream: Buffer, max: number): DecodeResult {
  const events: DecodeResult['events'] = [];
  let off = 0;
  for (;;) {
    const remaining = stream.length - off;
    if (remaining < 2) return {events, bufferedBytes: remaining, failed: false};
    if (stream[off] !== 0xda || stream[off + 1] !== 0xbb) {
      events.push({kind: 'fatal', code: 'DT_ERR_BAD_MAGIC', message: '', firstBytes: Buffer.alloc(0)});
      return {events, bufferedBytes: 0, failed: true};
    }
    if (remaining < 16) return {events, bufferedBytes: remaining, failed: false};
    const length = stream.readInt32BE(off + 12);
    const flags = stream[off + 2] as number;
    const header = {
      flags, status: stream[off + 3] as number, requestId: stream.readBigInt64BE(off + 4), bodyLength: length,
      isRequest: (flags & 0x80) !== 0, twoWay: (flags & 0x40) !== 0, event: (flags & 0x20) !== 0, serializationId: flags & 0x1f,
    };
    if (length < 0) {
      events.push({kind: 'fatal', code: 'DT_ERR_BAD_LENGTH', message: '', firstBytes: Buffer.alloc(0)});
      return {events, bufferedBytes: 0, failed: true};
    }
    if (length > max) {
      events.push({kind: 'oversize', header});
      if (remaining - 16 <= length) return {events, bufferedBytes: 0, failed: false};
      off += 16 + length;
      continue;
    }
    if (remaining < 16 + length) return {events, bufferedBytes: remaining, failed: false};
    events.push({kind: 'frame', header, bytes: stream.subarray(off, off + 16 + length)});
    off += 16 + length;
  }
}

function normalize(result: DecodeResult): unknown {
  return {...result, events: result.events.map((e) => (e.kind === 'fatal' ? {kind: 'fatal', code: e.code} : e))};
}

function randomChunks(rng: Rng, stream: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < stream.length) {
    const size = rng.next() < 0.2 ? 1 : 1 + rng.int(rng.next() < 0.5 ? 40 : 400);
    chunks.push(stream.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

describe('fuzz (seeded)', () => {
  it('FrameDecoder matches a whole-buffer reference framer for mutated streams under random chunking', {timeout: 20_000}, () => {
    const rng = prng(SEED);
    const frames = [
      ...HESSIAN_BODIES.map((b, i) => frameOf(0xc2, BigInt(i), b)),
      frameOf(0xd7, 9n, FASTJSON2_BODIES[0] as Buffer),
      encodeHeartbeatRequest(3n),
      encodeReadonlyEvent(4n),
      encodeResponse({id: 5n, result: {kind: 'value', value: 'ok'}, attachments: {dubbo: '2.0.2'}}),
    ];
    for (let i = 0; i < 1500; i++) {
      const parts: Buffer[] = [];
      for (let n = 1 + rng.int(4); n > 0; n--) parts.push(frames[rng.int(frames.length)] as Buffer);
      let stream: Buffer = Buffer.concat(parts);
      const kind = rng.int(4);
      if (kind === 1) stream = mutate(rng, stream);
      else if (kind === 2) stream = rng.bytes(rng.int(200));
      else if (kind === 3) stream = Buffer.concat([stream, rng.bytes(rng.int(40))]);
      const max = rng.next() < 0.3 ? rng.int(300) : 8 * 1024 * 1024;
      const context = `iteration ${i} (seed ${SEED})`;
      let result: DecodeResult;
      try {
        result = decodeChunks(randomChunks(rng, stream), {maxBodyLength: max});
      } catch (error) {
        assert.fail(`${context}: push threw ${String(error)}`);
      }
      assert.deepStrictEqual(normalize(result), normalize(referenceFramer(stream, max)), context);
    }
  });

  it('peekRequest on mutated hessian2 and fastjson2 bodies: only ProtocolError, never an out-of-range read', {timeout: 20_000}, () => {
    const rng = prng(SEED + 1);
    for (let i = 0; i < 2500; i++) {
      const fast = rng.next() < 0.25;
      const corpus = fast ? FASTJSON2_BODIES : HESSIAN_BODIES;
      const body = mutate(rng, corpus[rng.int(corpus.length)] as Buffer);
      checkPeek(fast ? 23 : 2, body, `mutation ${i} (seed ${SEED + 1})`);
    }
  });

  it('every truncation of every corpus body: only ProtocolError, never an out-of-range read', {timeout: 20_000}, () => {
    for (const [id, corpus] of [[2, HESSIAN_BODIES], [23, FASTJSON2_BODIES]] as const) {
      corpus.forEach((body, b) => {
        for (let n = 0; n <= body.length; n++) checkPeek(id, body.subarray(0, n), `body ${b} cut at ${n}`);
      });
    }
  });

  it('peekRequest on random bytes (and bodies that start like a request): only ProtocolError', {timeout: 20_000}, () => {
    const rng = prng(SEED + 2);
    const prefix = hessianRequestBody({desc: 'Ljava/lang/Object;', attachments: 'absent'});
    for (let i = 0; i < 1500; i++) {
      const random = rng.bytes(rng.int(120));
      checkPeek(2, random, `random ${i}`);
      checkPeek(23, random, `random ${i}`);
      // A valid header and descriptor, then one random argument and random attachments.
      checkPeek(2, Buffer.concat([prefix, random]), `random argument ${i}`);
    }
  });
});
