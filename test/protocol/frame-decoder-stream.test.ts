// FrameDecoder handing large frames to a sink as they arrive (streamStart / streamPiece): every
// frame, streamed or whole, comes out byte for byte and in order however the stream is chunked;
// the sink is asked once per frame; the payload limit is decided from the header before any of it.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import type {ProtocolError} from '../../src/core/errors.js';
import {FrameDecoder} from '../../src/protocol/frame-decoder.js';
import type {FrameSink} from '../../src/protocol/frame-decoder.js';
import type {FrameHeader} from '../../src/protocol/header.js';
import {frameOf, prng, splitPoints} from './fixtures.js';

const STREAM_FROM = 1000;
const MAX_BODY = 20_000;

type Event = {kind: 'whole' | 'streamed'; id: bigint; bytes: Buffer} | {kind: 'oversize'; id: bigint} | {kind: 'fatal'; id: undefined; code: string};

/** Streams the frames `wants` accepts; records every frame as the bytes it got for it. */
class StreamingSink implements FrameSink {
  readonly events: Event[] = [];
  readonly asked: bigint[] = [];
  #streaming: {id: bigint; pieces: Buffer[]} | undefined;
  readonly #wants: (header: FrameHeader) => boolean;

  constructor(wants: (header: FrameHeader) => boolean) {
    this.#wants = wants;
  }

  frame(header: FrameHeader, frame: Buffer): void {
    assert.equal(this.#streaming, undefined, 'no whole frame inside a streamed one');
    this.events.push({kind: 'whole', id: header.requestId, bytes: Buffer.from(frame)});
  }

  framePieces(header: FrameHeader, pieces: Buffer[], length: number): void {
    this.frame(header, Buffer.concat(pieces, length));
  }

  oversize(header: FrameHeader): void {
    this.events.push({kind: 'oversize', id: header.requestId});
  }

  fatal(error: ProtocolError): void {
    this.events.push({kind: 'fatal', id: undefined, code: error.code});
  }

  streamStart(header: FrameHeader, held: readonly Buffer[], total: number): boolean {
    assert.equal(this.#streaming, undefined);
    this.asked.push(header.requestId);
    const heldLength = held.reduce((sum, piece) => sum + piece.length, 0);
    assert.ok(heldLength > 16 && heldLength < total, `held ${heldLength} of ${total}: the header, some body, not all`);
    assert.ok(total - 16 >= STREAM_FROM && total - 16 <= MAX_BODY);
    if (!this.#wants(header)) return false;
    this.#streaming = {id: header.requestId, pieces: held.map((piece) => Buffer.from(piece))};
    return true;
  }

  streamPiece(piece: Buffer, end: boolean): void {
    const streaming = this.#streaming;
    assert.ok(streaming, 'a piece belongs to a streamed frame');
    assert.ok(piece.length > 0);
    streaming.pieces.push(Buffer.from(piece));
    if (!end) return;
    this.#streaming = undefined;
    this.events.push({kind: 'streamed', id: streaming.id, bytes: Buffer.concat(streaming.pieces)});
  }
}

/** Small and large frames, a large one over the limit, a heartbeat: ids 1..n in order. */
function stream(random: ReturnType<typeof prng>): {bytes: Buffer; frames: Map<bigint, Buffer>; over: Set<bigint>} {
  const frames = new Map<bigint, Buffer>();
  const over = new Set<bigint>();
  const parts: Buffer[] = [];
  const sizes = [10, 5000, 200, STREAM_FROM, STREAM_FROM - 1, 15_000, 0, MAX_BODY + 500, 3000, 1, MAX_BODY, 2500];
  sizes.forEach((size, index) => {
    const id = BigInt(index + 1);
    const flags = index === 6 ? 0x22 : 0x02; // one heartbeat answer (event) among the answers
    const frame = frameOf(flags, id, random.bytes(size), 20);
    parts.push(frame);
    if (size > MAX_BODY) over.add(id);
    else frames.set(id, frame);
  });
  return {bytes: Buffer.concat(parts), frames, over};
}

function run(bytes: Buffer, cuts: number[], wants: (header: FrameHeader) => boolean): StreamingSink {
  const sink = new StreamingSink(wants);
  const decoder = new FrameDecoder(sink, {maxBodyLength: MAX_BODY, streamFrom: STREAM_FROM, reuseHeader: true});
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > at) decoder.push(bytes.subarray(at, cut));
    at = Math.max(at, cut);
  }
  assert.equal(decoder.bufferedBytes, 0);
  return sink;
}

function check(sink: StreamingSink, expected: ReturnType<typeof stream>, streamedIds: Set<bigint>): void {
  const ids = [...expected.frames.keys(), ...expected.over].sort((a, b) => Number(a - b));
  assert.deepEqual(sink.events.map((event) => event.id), ids, 'every frame once, in order');
  for (const event of sink.events) {
    if (event.kind === 'oversize') {
      assert.ok(expected.over.has(event.id));
      continue;
    }
    assert.notEqual(event.kind, 'fatal');
    if (event.kind === 'fatal') continue;
    assert.ok(event.bytes.equals(expected.frames.get(event.id) as Buffer), `frame ${event.id} byte for byte (${event.kind})`);
    assert.equal(event.kind, streamedIds.has(event.id) ? 'streamed' : 'whole', `frame ${event.id}`);
  }
  assert.equal(new Set(sink.asked).size, sink.asked.length, 'asked once per frame');
  for (const id of expected.over) assert.ok(!sink.asked.includes(id), 'a frame over the limit is never offered');
}

describe('FrameDecoder: frames taken as streams', () => {
  const random = prng(7);
  const expected = stream(random);
  const large = (id: bigint) => {
    const frame = expected.frames.get(id);
    return frame !== undefined && frame.length - 16 >= STREAM_FROM;
  };

  test('random chunkings: streamed frames (even ids) and refused ones (odd) come out whole and in order', () => {
    const wants = (header: FrameHeader) => header.requestId % 2n === 0n;
    for (let seed = 1; seed <= 200; seed++) {
      const chunking = prng(seed);
      const cuts: number[] = [];
      for (let at = 0; at < expected.bytes.length; at += 1 + chunking.int(seed % 2 === 0 ? 64 : 9000)) cuts.push(at);
      const sink = run(expected.bytes, cuts, wants);
      // A large frame whose header and first body byte came in the same piece as its end is whole, not streamed.
      const streamed = new Set<bigint>();
      for (const event of sink.events) if (event.kind === 'streamed') streamed.add(event.id);
      for (const id of streamed) assert.ok(large(id) && wants({requestId: id} as FrameHeader));
      check(sink, expected, streamed);
    }
  });

  test('byte by byte: every large frame is offered, and each one taken arrives in pieces', () => {
    const cuts = Array.from({length: expected.bytes.length}, (_, i) => i);
    const sink = run(expected.bytes, cuts, () => true);
    const largeIds = [...expected.frames.keys()].filter(large);
    assert.deepEqual(sink.asked, largeIds);
    check(sink, expected, new Set(largeIds));
  });

  test('split at every offset of a small frame followed by a large one (a 5000-byte body)', () => {
    const first = expected.frames.get(1n) as Buffer;
    const second = expected.frames.get(2n) as Buffer;
    const bytes = Buffer.concat([first, second]);
    const points = splitPoints(bytes.length, 1 << 20);
    for (const point of points) {
      const sink = run(bytes, [point], () => true);
      const streamed = point > first.length + 16 && point < bytes.length ? new Set([2n]) : new Set<bigint>();
      assert.deepEqual(sink.events.map((event) => `${event.kind}:${event.id}`), [`whole:1`, `${streamed.has(2n) ? 'streamed' : 'whole'}:2`], `split at ${point}`);
      const got = sink.events[1];
      assert.ok(got !== undefined && got.kind !== 'oversize' && got.kind !== 'fatal' && got.bytes.equals(second), `split at ${point}`);
    }
  });

  test('a sink that closes the decoder inside streamPiece gets nothing more', () => {
    const frame = expected.frames.get(2n) as Buffer;
    let pieces = 0;
    const sink: FrameSink = {
      frame: () => assert.fail('nothing whole'),
      oversize: () => assert.fail('no oversize'),
      fatal: () => assert.fail('no fatal'),
      streamStart: () => true,
      streamPiece: () => {
        pieces++;
        decoder.close();
      },
    };
    const decoder = new FrameDecoder(sink, {streamFrom: STREAM_FROM});
    decoder.push(frame.subarray(0, 100));
    decoder.push(frame.subarray(100, 200));
    decoder.push(frame.subarray(200));
    assert.equal(pieces, 1);
  });
});
