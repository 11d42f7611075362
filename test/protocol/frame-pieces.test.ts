// A sink with framePieces gets frames that span chunks as the chunks' own views, never copied.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {FrameDecoder} from '../../src/protocol/frame-decoder.js';
import type {FrameHeader} from '../../src/protocol/header.js';
import {encodeHeartbeatRequest, encodeRequest} from '../support/dubbo-wire.js';

function collect(stream: Buffer, cut: (stream: Buffer) => Buffer[]) {
  const frames: {id: bigint; bytes: Buffer; pieces: number}[] = [];
  const chunks = cut(stream);
  const decoder = new FrameDecoder({
    frame: (header: FrameHeader, frame: Buffer) => frames.push({id: header.requestId, bytes: Buffer.from(frame), pieces: 1}),
    framePieces: (header: FrameHeader, pieces: Buffer[], length: number) => {
      assert.equal(pieces.reduce((sum, piece) => sum + piece.length, 0), length);
      // Every piece is a view into one of the pushed chunks (same memory), not a copy.
      for (const piece of pieces) assert.ok(chunks.some((chunk) => chunk.buffer === piece.buffer && piece.byteOffset >= chunk.byteOffset && piece.byteOffset + piece.length <= chunk.byteOffset + chunk.length));
      frames.push({id: header.requestId, bytes: Buffer.concat(pieces), pieces: pieces.length});
    },
    oversize: () => assert.fail('no oversize frame here'),
    fatal: (error) => assert.fail(error.message),
  });
  for (const chunk of chunks) decoder.push(chunk);
  assert.equal(decoder.bufferedBytes, 0);
  return frames;
}

const big = encodeRequest({id: 1n, service: 'com.example.UserService', method: 'upload', parameterTypes: '[B', args: [Buffer.alloc(70_000, 3)], attachments: {'target-application': 'user-rpc'}});
const small = encodeHeartbeatRequest(2n);
const stream = Buffer.concat([small, big, small, big]);

describe('frame pieces', () => {
  test('split at every 997th offset, frames come out byte-identical whether whole or in pieces', () => {
    for (let at = 1; at < stream.length; at += 997) {
      // Copies, so each chunk has memory of its own, like socket chunks.
      const frames = collect(stream, (s) => [Buffer.from(s.subarray(0, at)), Buffer.from(s.subarray(at))]);
      assert.deepEqual(frames.map((f) => f.id), [2n, 1n, 2n, 1n]);
      assert.deepEqual(Buffer.concat(frames.map((f) => f.bytes)), stream);
    }
  });

  test('in 1 KiB chunks, a large frame is handed out as its pieces', () => {
    const frames = collect(stream, (s) => {
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < s.length; offset += 1024) chunks.push(Buffer.from(s.subarray(offset, offset + 1024)));
      return chunks;
    });
    assert.deepEqual(Buffer.concat(frames.map((f) => f.bytes)), stream);
    assert.ok(frames.filter((f) => f.id === 1n).every((f) => f.pieces > 60), 'the 70 KB frames arrive as ~70 pieces');
  });
});
