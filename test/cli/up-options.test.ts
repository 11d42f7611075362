// `up --backend ...` alone stays a session without a cluster; next to a Kubernetes flag it is a local override.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {parseUpOptions} from '../../src/cli/commands/up.js';

const env = {DUBBO_TUNNEL_CONFIG_DIR: '/nonexistent-dubbo-tunnel-test', KUBECONFIG: '/nonexistent/kubeconfig'};

test('--backend alone: no cluster; with -n, --context or -A: local overrides next to the cluster', () => {
  assert.equal(parseUpOptions(['--backend', 'user-rpc=127.0.0.1:20881'], env).cluster, false);
  assert.equal(parseUpOptions([], env).cluster, true);
  for (const flags of [['-n', 'dev'], ['--context', 'kind-dev'], ['-A'], ['--kubeconfig', '/tmp/k']]) {
    assert.equal(parseUpOptions(['--backend', 'user-rpc=127.0.0.1:20881', ...flags], env).cluster, true, flags.join(' '));
  }
});

test('-n and --context repeat, in order and without repeats; qualified names pass through --select', () => {
  const options = parseUpOptions(['-n', 'dev', '-n', 'staging', '-n', 'dev', '--context', 'a', '--context', 'b', '--select', 'user-rpc@staging,billing-rpc'], env);
  assert.deepEqual([options.namespaces, options.contexts], [['dev', 'staging'], ['a', 'b']]);
  assert.deepEqual(options.choice, {kind: 'select', applications: ['user-rpc@staging', 'billing-rpc']});
  assert.throws(() => parseUpOptions(['-n', ''], env), {code: 'DT_ERR_BAD_ARGUMENT'});
});

test('--drain-timeout (setting drainTimeout) is how long a stop waits, in seconds: default 10, from the flag or DUBBO_TUNNEL_DRAIN_TIMEOUT', () => {
  assert.equal(parseUpOptions([], env).drainTimeoutMs, 10_000);
  assert.equal(parseUpOptions(['--drain-timeout', '0'], env).drainTimeoutMs, 0);
  assert.equal(parseUpOptions([], {...env, DUBBO_TUNNEL_DRAIN_TIMEOUT: '25'}).drainTimeoutMs, 25_000);
  assert.equal(parseUpOptions(['--drain-timeout', '3'], {...env, DUBBO_TUNNEL_DRAIN_TIMEOUT: '25'}).drainTimeoutMs, 3000, 'the flag wins');
  assert.throws(() => parseUpOptions(['--drain-timeout', 'soon'], env), {code: 'DT_ERR_CONFIG'});
});
