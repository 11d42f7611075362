// The inspector bench's check that a recording kept one line per call answered (or said how many
// it dropped): against a recording written the way `up --record` writes it, and against recordings
// that lost a line, counted a line too many, or never said their summary.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {setImmediate as nextTurn} from 'node:timers/promises';
import {Writable} from 'node:stream';
import {after, before, describe, test} from 'node:test';
import {countRecordedLines, recordingSummary, recordingVerdict} from '../../bench/recording-lines.mjs';
import {CallCapture} from '../../src/core/calls.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {startCallOutputs} from '../../src/cli/call-outputs.js';
import {callOutputOptionsFrom} from '../../src/cli/record-options.js';
import {dubboCall, fixtureBody} from '../inspect/captured.js';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dubbo-tunnel-bench-recording-'));
});
after(() => rmSync(dir, {recursive: true, force: true}));

describe('the recording check of the inspector bench', () => {
  test('a recording written as up --record writes it passes only with its own count of calls', async () => {
    const file = path.join(dir, 'calls.jsonl');
    const events = new TunnelEventBus();
    const messages: string[] = [];
    events.on('log', ({message}) => messages.push(message));
    const calls = await startCallOutputs(callOutputOptionsFrom({record: file}), {
      events, capture: new CallCapture(), stdout: new Writable({write: (_chunk, _encoding, done) => done()}),
    });
    const call = dubboCall(fixtureBody('req-pojo-shared-refs.bin'), fixtureBody('resp-value-plain.bin'));
    for (let i = 0; i < 25; i++) events.emit('call-captured', call);
    await nextTurn();
    await calls.stop();

    const lines = await countRecordedLines(file);
    assert.equal(lines, 25);
    assert.deepEqual(recordingSummary(messages), {written: 25, dropped: 0});
    const verdict = recordingVerdict({answered: 25, lines, messages});
    assert.equal(verdict.pass, true, verdict.value);
    assert.equal(recordingVerdict({answered: 26, lines, messages}).pass, false, 'a call answered and neither written nor told');
    assert.equal(recordingVerdict({answered: 25, lines: 24, messages}).pass, false, 'a line the recording says it wrote is missing');
    assert.equal(recordingVerdict({answered: 25, lines: 26, messages}).pass, false, 'a line too many');
    assert.equal(recordingVerdict({answered: 25, lines, messages: messages.filter((m) => !m.includes('written'))}).pass, false, 'no summary: it did not stop cleanly');
  });

  test('dropped lines pass only when the recording told them', () => {
    const messages = ['recording every call to calls.jsonl', 'recording: 10 calls written to calls.jsonl, 3 not written'];
    assert.deepEqual(recordingSummary(messages), {written: 10, dropped: 3});
    assert.equal(recordingVerdict({answered: 13, lines: 10, messages}).pass, true);
    assert.equal(recordingVerdict({answered: 14, lines: 10, messages}).pass, false);
    assert.equal(recordingVerdict({answered: 0, lines: 0, messages: ['recording: 0 calls written to calls.jsonl']}).pass, false, 'a recording of nothing proves nothing');
  });

  test('lines are counted in the rotated files too, up to the first one missing', async () => {
    const file = path.join(dir, 'rotated.jsonl');
    writeFileSync(file, '{"a":1}\n{"a":2}\n');
    writeFileSync(`${file}.1`, '{"a":3}\n');
    writeFileSync(`${file}.2`, '{"a":4}\n{"a":5}\n{"a":6}\n');
    writeFileSync(`${file}.4`, '{"not":"kept by the recording"}\n');
    assert.equal(await countRecordedLines(file), 6);
  });
});
