// replay's options: the session's port setting by default, --address, --to, --filter and their usage errors.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {parseReplayOptions} from '../../src/cli/commands/replay.js';

const env = {DUBBO_TUNNEL_CONFIG_DIR: '/nonexistent-dubbo-tunnel-test'};

test('defaults: localhost and the port setting, target-application, 5 s; --address and --to override', () => {
  const plain = parseReplayOptions(['calls.jsonl'], env);
  assert.deepEqual(plain, {file: 'calls.jsonl', filters: [], json: false, target: {host: 'localhost', port: 20880, to: undefined, attachmentKey: 'target-application', timeoutMs: 5000}});
  assert.equal(parseReplayOptions(['calls.jsonl'], {...env, DUBBO_TUNNEL_PORT: '20990'}).target.port, 20990, 'the session\'s port setting');
  const given = parseReplayOptions(['calls.jsonl', '--address', '[::1]:20881', '--to', 'user-rpc', '--filter', '#3', '--filter', 'getUser', '--timeout', '900', '--json'], env);
  assert.deepEqual(given.target, {host: '::1', port: 20881, to: 'user-rpc', attachmentKey: 'target-application', timeoutMs: 900});
  assert.deepEqual(given.filters, ['#3', 'getUser']);
  assert.equal(given.json, true);
});

test('usage errors are coded: no file, a second file, a bad address, an empty filter or --to, a bad timeout', () => {
  for (const args of [[], ['a.jsonl', 'b.jsonl'], ['a.jsonl', '--address', 'localhost'], ['a.jsonl', '--address', 'h:70000'], ['a.jsonl', '--filter', ' '], ['a.jsonl', '--to', ''], ['a.jsonl', '--timeout', 'soon'], ['a.jsonl', '--nope']]) {
    assert.throws(() => parseReplayOptions(args, env), {code: 'DT_ERR_BAD_ARGUMENT'}, args.join(' '));
  }
});
