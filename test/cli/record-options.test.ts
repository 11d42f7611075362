// The recording flags of `up`: sizes with binary units, the rotation defaults, --redact lists, and
// the usage errors of flags that only make sense together.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {parseUpOptions} from '../../src/cli/commands/up.js';
import {parseSize} from '../../src/cli/record-options.js';

const env = {DUBBO_TUNNEL_CONFIG_DIR: '/nonexistent-dubbo-tunnel-test', KUBECONFIG: '/nonexistent/kubeconfig'};
const backend = ['--backend', 'order-rpc=127.0.0.1:20881'];

test('--record with the defaults (64 MiB, 3 old files), or with --record-max-size and --record-files', () => {
  assert.deepEqual(parseUpOptions(backend, env).calls, {record: undefined, payloads: false, redact: []});
  assert.deepEqual(parseUpOptions([...backend, '--record', 'calls.jsonl'], env).calls.record, {file: 'calls.jsonl', maxBytes: 64 * 1024 * 1024, keepFiles: 3});
  assert.deepEqual(parseUpOptions([...backend, '--record', 'c.jsonl', '--record-max-size', '512k', '--record-files', '0'], env).calls.record, {file: 'c.jsonl', maxBytes: 512 * 1024, keepFiles: 0});
});

test('sizes: bytes, k, M, G (binary, with or without iB), nothing else', () => {
  assert.equal(parseSize('1048576', '--record-max-size'), 1048576);
  assert.equal(parseSize('64M', '--record-max-size'), 64 * 1024 ** 2);
  assert.equal(parseSize('2GiB', '--record-max-size'), 2 * 1024 ** 3);
  assert.equal(parseSize('10kb', '--record-max-size'), 10 * 1024);
  for (const bad of ['0', '-1', '1.5M', 'M', '10T', '']) assert.throws(() => parseSize(bad, '--record-max-size'), {code: 'DT_ERR_BAD_ARGUMENT'}, bad);
});

test('--redact: comma lists and repeats, lower case, without repeats; --payloads needs --json', () => {
  assert.deepEqual(parseUpOptions([...backend, '--redact', 'X-Api-Key,x-phone', '--redact', 'x-api-key'], env).calls.redact, ['x-api-key', 'x-phone']);
  assert.throws(() => parseUpOptions([...backend, '--redact', ','], env), {code: 'DT_ERR_BAD_ARGUMENT'});
  assert.equal(parseUpOptions([...backend, '--json', '--payloads'], env).calls.payloads, true);
  assert.throws(() => parseUpOptions([...backend, '--payloads'], env), {code: 'DT_ERR_BAD_ARGUMENT', message: /--payloads adds the decoded calls to the --json lines/});
  assert.throws(() => parseUpOptions([...backend, '--record-files', '2'], env), {code: 'DT_ERR_BAD_ARGUMENT', message: /--record-files applies only to a recording/});
  assert.throws(() => parseUpOptions([...backend, '--record', 'c.jsonl', '--record-files', 'many'], env), {code: 'DT_ERR_BAD_ARGUMENT'});
});
