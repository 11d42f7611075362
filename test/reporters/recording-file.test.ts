// The recording's file: lines appended off the caller's time, rotated by size with a bounded number
// of old files, a bounded buffer that drops (and counts) what a slow disk cannot take, flushed on close.
import assert from 'node:assert/strict';
import {mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {DubboTunnelError} from '../../src/core/errors.js';
import {RecordingFile} from '../../src/reporters/recording-file.js';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dubbo-tunnel-recording-'));
});
after(() => rmSync(dir, {recursive: true, force: true}));

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');

describe('RecordingFile', () => {
  test('appends each line and has written them all once close() resolves', async () => {
    const file = path.join(dir, 'plain.jsonl');
    writeFileSync(file, '{"earlier":true}\n');
    const recording = await RecordingFile.open({file});
    for (let i = 0; i < 500; i++) recording.write(JSON.stringify({seq: i}));
    await recording.close();
    const written = lines(file);
    assert.equal(written.length, 501, 'an earlier session\'s lines are kept');
    assert.equal(written[0], '{"earlier":true}');
    assert.deepEqual(written.slice(1).map((line) => (JSON.parse(line) as {seq: number}).seq), Array.from({length: 500}, (_, i) => i));
    assert.equal(recording.written, 500);
    assert.equal(recording.dropped, 0);
    recording.write('after close');
    assert.equal(recording.dropped, 1, 'a line after close is dropped, not written');
    assert.equal(lines(file).length, 501);
  });

  test('rotates at the size bound into <file>.1, <file>.2 … and keeps only --record-files old files', async () => {
    const sub = mkdtempSync(path.join(dir, 'rotate-'));
    const file = path.join(sub, 'calls.jsonl');
    const recording = await RecordingFile.open({file, maxBytes: 100, keepFiles: 2});
    const line = (i: number) => `{"seq":${String(i).padStart(3, '0')},"pad":"xxxxxxxxxxxx"}`; // 32 bytes + newline
    for (let i = 0; i < 20; i++) {
      recording.write(line(i));
      // Some lines while a write is in flight, some after it: both paths rotate.
      if (i % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await recording.close();
    assert.deepEqual(readdirSync(sub).sort(), ['calls.jsonl', 'calls.jsonl.1', 'calls.jsonl.2']);
    for (const name of readdirSync(sub)) {
      const size = readFileSync(path.join(sub, name)).length;
      assert.ok(size <= 100, `${name} is ${size} bytes`);
      for (const text of lines(path.join(sub, name))) assert.match(text, /^\{"seq":\d{3},"pad":"x+"\}$/, 'no line is cut by a rotation');
    }
    // 33-byte lines, 3 per file of at most 100 bytes: the newest lines are kept, the oldest in .2.
    assert.deepEqual(lines(`${file}.2`), [line(12), line(13), line(14)]);
    assert.deepEqual(lines(`${file}.1`), [line(15), line(16), line(17)]);
    assert.deepEqual(lines(file), [line(18), line(19)]);
  });

  test('a line longer than the bound gets a file of its own', async () => {
    const sub = mkdtempSync(path.join(dir, 'long-'));
    const file = path.join(sub, 'calls.jsonl');
    const recording = await RecordingFile.open({file, maxBytes: 10, keepFiles: 5});
    recording.write('a');
    recording.write('b'.repeat(40));
    recording.write('c');
    await recording.close();
    assert.deepEqual(lines(`${file}.2`), ['a']);
    assert.deepEqual(lines(`${file}.1`), ['b'.repeat(40)]);
    assert.deepEqual(lines(file), ['c']);
  });

  test('lines that do not fit the buffer while the disk is busy are dropped and counted, never queued without bound', async () => {
    const file = path.join(dir, 'bounded.jsonl');
    const recording = await RecordingFile.open({file, maxBufferedBytes: 1000});
    const line = 'y'.repeat(99); // 100 bytes with its newline
    // All at once, on the caller's time: the first starts a write, the rest wait in the buffer.
    for (let i = 0; i < 100; i++) recording.write(line);
    const dropped = recording.dropped;
    assert.ok(dropped >= 80, `at most ~10 lines fit the 1000-byte buffer beside the one being written, dropped ${dropped}`);
    await recording.close();
    assert.equal(recording.written + recording.dropped, 100);
    assert.equal(lines(file).length, recording.written);
  });

  test('a missing folder or a folder given as the file fails at open with DT_ERR_RECORD_FILE and the fix', async () => {
    await assert.rejects(RecordingFile.open({file: path.join(dir, 'no-such-folder', 'calls.jsonl')}), (error: unknown) => {
      assert.ok(error instanceof DubboTunnelError);
      assert.equal(error.code, 'DT_ERR_RECORD_FILE');
      assert.match(error.message, /does not exist/);
      assert.match(error.hint ?? '', /mkdir -p/);
      return true;
    });
    await assert.rejects(RecordingFile.open({file: dir}), (error: unknown) => {
      assert.ok(error instanceof DubboTunnelError);
      assert.equal(error.code, 'DT_ERR_RECORD_FILE');
      assert.match(error.message, /it is a folder/);
      return true;
    });
  });
});
