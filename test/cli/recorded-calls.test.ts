// Reading a recording back: line numbers as an editor shows them, `--json --payloads` output with
// its other events passed over, --filter, and <file>:<line>.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {matchesFilter, parseFileLine, readRecordedLine, readRecording} from '../../src/cli/recorded-calls.js';
import type {CallRecord} from '../../src/inspect/call-record.js';
import {toRecordLine} from '../../src/inspect/record-line.js';

const record = (seq: number, overrides: Partial<CallRecord> = {}): CallRecord => ({
  seq, at: '2026-12-07T20:00:00.000Z', protocol: 'dubbo', origin: 'consumer', connectionId: 1, application: 'user-rpc',
  service: 'com.example.UserService', method: 'getUser', parameterTypes: ['java.lang.String'], arguments: ['u-1'], attachments: {},
  status: 'OK', ok: true, latencyMs: 1.5, requestBytes: 100, answerBytes: 50, answer: {kind: 'value', value: 'ann'}, ...overrides,
});

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dubbo-tunnel-recorded-'));
});
after(() => rmSync(dir, {recursive: true, force: true}));

describe('recorded calls', () => {
  test('--json --payloads output: log lines and blank lines are passed over, each call keeps its line number', async () => {
    const file = path.join(dir, 'json.out');
    const call = `{"time":"2026-12-07T20:00:01.000Z","level":"info","event":"call","message":"user-rpc com.example.UserService#getUser OK 1.5ms",${toRecordLine(record(7)).slice(1)}`;
    writeFileSync(file, [
      '{"time":"2026-12-07T20:00:00.000Z","level":"info","event":"listening","message":"listening on localhost:20880"}',
      '',
      call,
      toRecordLine(record(8, {method: 'listUsers'})),
      '',
    ].join('\n'));
    const calls = await readRecording(file);
    assert.deepEqual(calls.map((entry) => [entry.line, entry.record.seq]), [[3, 7], [4, 8]]);
    assert.equal((await readRecordedLine(file, 4)).record.method, 'listUsers');
    await assert.rejects(readRecordedLine(file, 1), {code: 'DT_ERR_BAD_ARGUMENT', message: /json\.out:1 is not a recorded call/});
    await assert.rejects(readRecordedLine(file, 5), {code: 'DT_ERR_BAD_ARGUMENT', message: /has no line 5 \(it has 4\)/});
    await assert.rejects(readRecording(path.join(dir, 'nothing.jsonl')), {code: 'DT_ERR_BAD_ARGUMENT', message: /no such file/});
  });

  test('--filter: part of the application, interface or method, Interface#method, or #seq exactly', () => {
    const call = record(12);
    for (const filter of ['user-rpc', 'user', 'UserService', 'getUser', 'UserService#getUser', '#12']) assert.equal(matchesFilter(call, filter), true, filter);
    for (const filter of ['pay-rpc', 'OrderService', '#1', '#120', 'getUser#UserService']) assert.equal(matchesFilter(call, filter), false, filter);
  });

  test('<file>:<line>: the last colon splits, lines count from 1', () => {
    assert.deepEqual(parseFileLine('calls.jsonl:12', '--from'), {file: 'calls.jsonl', line: 12});
    assert.deepEqual(parseFileLine('C:\\rec\\calls.jsonl:3', '--from'), {file: 'C:\\rec\\calls.jsonl', line: 3});
    for (const bad of ['calls.jsonl', 'calls.jsonl:0', 'calls.jsonl:x', ':4', 'calls.jsonl:-1']) assert.throws(() => parseFileLine(bad, '--from'), {code: 'DT_ERR_BAD_ARGUMENT'}, bad);
  });
});
