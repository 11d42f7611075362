// FrameDecoder's reuseHeader (the proxy's decoders): the sink gets one header object, rewritten
// for each frame, and must see exactly the values a fresh header per frame carries, however the
// stream is cut (a frame's header split across chunks, pending frames, oversize bodies).
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {FrameDecoder} from '../../src/protocol/frame-decoder.js';
import type {FrameHeader} from '../../src/protocol/header.js';
import {decodeChunks, frameOf, prng} from './fixtures.js';

function decodeReusing(chunks: Buffer[], maxBodyLength: number): {events: unknown[]; headers: Set<FrameHeader>} {
  const events: unknown[] = [];
  const headers = new Set<FrameHeader>();
  const decoder = new FrameDecoder({
    frame: (header, frame) => {
      headers.add(header);
      events.push({kind: 'frame', header: {...header}, bytes: Buffer.from(frame)});
    },
    oversize: (header) => {
      headers.add(header);
      events.push({kind: 'oversize', header: {...header}});
    },
    fatal: () => events.push({kind: 'fatal'}),
  }, {maxBodyLength, reuseHeader: true});
  for (const chunk of chunks) decoder.push(chunk);
  return {events, headers};
}

test('reused header: the same values as a fresh header per frame, under random chunking', () => {
  const random = prng(11);
  for (let round = 0; round < 200; round++) {
    const frames: Buffer[] = [];
    const count = 1 + random.int(6);
    for (let i = 0; i < count; i++) {
      const flags = [0xc2, 0x02, 0xe2, 0x82, 0x22][random.int(5)] as number;
      frames.push(frameOf(flags, BigInt(random.int(1_000_000)) - 10n, random.bytes(random.int(3) === 0 ? 300 + random.int(3000) : random.int(40)), random.int(2) === 0 ? 20 : 0));
    }
    const stream = Buffer.concat(frames);
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length;) {
      const size = 1 + random.int(random.int(2) === 0 ? 20 : 2000);
      chunks.push(stream.subarray(at, at + size));
      at += size;
    }
    const maxBodyLength = 2000;
    const fresh = decodeChunks(chunks, {maxBodyLength}).events.map((event) => (event.kind === 'fatal' ? {kind: 'fatal'} : {...event, header: {...event.header}}));
    const reused = decodeReusing(chunks, maxBodyLength);
    assert.deepEqual(reused.events, fresh);
    assert.ok(reused.headers.size <= 1, 'one header object for every frame');
  }
});

test('a chunk that is exactly one frame is handed on as that chunk, not a view of it', () => {
  const frame = frameOf(0xc2, 5n, Buffer.from([0x4e]));
  let seen: Buffer | undefined;
  const decoder = new FrameDecoder({frame: (_header, bytes) => (seen = bytes), oversize: () => {}, fatal: () => {}}, {reuseHeader: true});
  decoder.push(frame);
  assert.equal(seen, frame);
});
