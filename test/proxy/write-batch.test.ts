// Frames cut from one incoming chunk leave in one system call per destination (write-batch.ts):
// checked on a Writable that records how it was called (a socket's _writev is one writev(2)).
import assert from 'node:assert/strict';
import {Duplex} from 'node:stream';
import {test} from 'node:test';
import {FrameDecoder} from '../../src/protocol/frame-decoder.js';
import type {FrameSink} from '../../src/protocol/frame-decoder.js';
import {WRITE_SLACK, WriteBatch, writeFrames} from '../../src/proxy/write-batch.js';
import {frameOf} from '../protocol/fixtures.js';

/** A stream that records each write call: ['write', bytes] or ['writev', pieces]. */
function recorder(): {stream: Duplex; calls: [string, number][]} {
  const calls: [string, number][] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      calls.push(['write', chunk.length]);
      done();
    },
    writev(chunks, done) {
      calls.push(['writev', chunks.length]);
      done();
    },
  });
  return {stream, calls};
}

function decoderWritingTo(batch: WriteBatch, targets: Duplex[]): FrameDecoder {
  let next = 0;
  const sink: FrameSink = {
    frame: (_header, frame) => {
      // Alternate between the targets, as requests for two applications would.
      batch.write(targets[next++ % targets.length] as Duplex, frame);
    },
    oversize: () => {},
    fatal: () => {},
  };
  return new FrameDecoder(sink);
}

test('the frames of one chunk leave in one writev per destination, uncorked before the dispatch returns', () => {
  const a = recorder();
  const b = recorder();
  const batch = new WriteBatch();
  const decoder = decoderWritingTo(batch, [a.stream, b.stream]);
  const chunk = Buffer.concat(Array.from({length: 6}, (_, i) => frameOf(0xc2, BigInt(i), Buffer.from([0x4e]))));
  batch.dispatch(decoder, chunk);
  assert.equal(a.stream.writableCorked, 0);
  assert.equal(b.stream.writableCorked, 0);
  assert.deepEqual(a.calls, [['writev', 3]]);
  assert.deepEqual(b.calls, [['writev', 3]]);
});

test('a chunk with one frame is one plain write; writes outside a dispatch are not held back', () => {
  const a = recorder();
  const batch = new WriteBatch();
  batch.dispatch(decoderWritingTo(batch, [a.stream]), frameOf(0xc2, 1n, Buffer.from([0x4e])));
  assert.deepEqual(a.calls, [['write', 17]]);
  batch.write(a.stream, Buffer.from('x'));
  assert.equal(a.stream.writableCorked, 0);
  assert.deepEqual(a.calls, [['write', 17], ['write', 1]]);
});

test('frames queued while connecting leave together; a frame in pieces keeps its pieces', () => {
  const a = recorder();
  writeFrames(a.stream, [Buffer.from('one'), [Buffer.from('tw'), Buffer.from('o')], Buffer.from('three')]);
  assert.equal(a.stream.writableCorked, 0);
  assert.deepEqual(a.calls, [['writev', 4]]);
});

test('a sink that throws still leaves no stream corked', () => {
  const a = recorder();
  const batch = new WriteBatch();
  const decoder = new FrameDecoder({
    frame: (_header, frame) => {
      batch.write(a.stream, frame);
      throw new Error('boom');
    },
    oversize: () => {},
    fatal: () => {},
  });
  assert.throws(() => batch.dispatch(decoder, frameOf(0xc2, 1n, Buffer.from([0x4e]))), /boom/);
  assert.equal(a.stream.writableCorked, 0);
  assert.deepEqual(a.calls, [['write', 17]]);
});

test('a sink that throws in a batched chunk still uncorks, and the batch is usable again', () => {
  const a = recorder();
  const batch = new WriteBatch();
  let calls = 0;
  const decoder = new FrameDecoder({
    frame: (_header, frame) => {
      batch.write(a.stream, frame);
      if (++calls === 1) throw new Error('boom');
    },
    oversize: () => {},
    fatal: () => {},
  });
  const two = Buffer.concat([frameOf(0xc2, 1n, Buffer.from([0x4e])), frameOf(0xc2, 2n, Buffer.from([0x4e]))]);
  assert.throws(() => batch.dispatch(decoder, two), /boom/);
  assert.equal(a.stream.writableCorked, 0);
  batch.write(a.stream, Buffer.from('x'));
  assert.equal(a.stream.writableCorked, 0, 'a write after the failed dispatch is not held back');
});

test('batches are independent: a dispatch on one does not hold back the writes of another', () => {
  const a = recorder();
  const b = recorder();
  const outer = new WriteBatch();
  const inner = new WriteBatch();
  const decoder = new FrameDecoder({
    frame: (_header, frame) => {
      outer.write(a.stream, frame);
      inner.write(b.stream, frame);
      assert.equal(b.stream.writableCorked, 0);
    },
    oversize: () => {},
    fatal: () => {},
  });
  outer.dispatch(decoder, Buffer.concat([frameOf(0xc2, 1n, Buffer.from([0x4e])), frameOf(0xc2, 2n, Buffer.from([0x4e]))]));
  assert.deepEqual(a.calls, [['writev', 2]]);
  assert.deepEqual(b.calls, [['write', 17], ['write', 17]]);
});

test('a writer waits for drain only once the stream holds more than WRITE_SLACK, not at the socket\'s 16 KiB mark', async () => {
  let release: () => void = () => undefined;
  const stream = new Duplex({
    read() {},
    // Nothing is taken until released: every byte written stays in the stream's buffer.
    write(_chunk: Buffer, _encoding, done) {
      release = done;
    },
  });
  const batch = new WriteBatch();
  const piece = Buffer.alloc(64 * 1024);
  let written = 0;
  while (batch.write(stream, piece)) written += piece.length;
  written += piece.length;
  assert.ok(written > WRITE_SLACK && written <= WRITE_SLACK + piece.length, `told to wait after ${written} bytes`);
  assert.ok(stream.writableNeedDrain, "so a 'drain' will come");
  const drained = new Promise((resolve) => stream.once('drain', resolve));
  const finish = (): void => {
    release();
    if (stream.writableLength > 0) setImmediate(finish);
  };
  finish();
  await drained;
});

test('a chunk wholly inside a frame streamed through goes out as a plain write, without a cork', () => {
  const a = recorder();
  const batch = new WriteBatch();
  let corkedWhileWriting = -1;
  const decoder = new FrameDecoder({
    frame: () => assert.fail('nothing whole'),
    oversize: () => {},
    fatal: () => {},
    streamStart: (_header, held) => {
      for (const piece of held) batch.write(a.stream, piece);
      return true;
    },
    streamPiece: (piece) => {
      corkedWhileWriting = a.stream.writableCorked;
      batch.write(a.stream, piece);
    },
  }, {streamFrom: 100});
  const frame = frameOf(0x02, 1n, Buffer.alloc(1000, 7), 20);
  batch.dispatch(decoder, frame.subarray(0, 300));
  batch.dispatch(decoder, frame.subarray(300, 600));
  assert.equal(corkedWhileWriting, 0);
  batch.dispatch(decoder, frame.subarray(600));
  assert.equal(a.stream.writableCorked, 0);
  assert.deepEqual(a.calls, [['write', 300], ['write', 300], ['write', frame.length - 600]]);
});
