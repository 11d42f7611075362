// Every usage error, whoever finds it, reads the same way and exits 2.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, test} from 'node:test';
import {main} from '../../src/cli/main.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {attachLineReporter} from '../../src/reporters/line-reporter.js';
import {RouteSource, createRouteTable} from '../../src/router/route-table.js';
import {collector} from '../support/output.js';

const configDir = mkdtempSync(join(tmpdir(), 'dubbo-tunnel-usage-'));
after(() => rmSync(configDir, {recursive: true, force: true}));

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{code: number; out: string; err: string}> {
  const stdout = collector();
  const stderr = collector();
  const code = await main(args, {stdout: stdout.stream, stderr: stderr.stream, env: {DUBBO_TUNNEL_CONFIG_DIR: configDir, ...env}, interactive: false});
  return {code, out: stdout.text(), err: stderr.text()};
}

describe('usage errors', () => {
  test('`--port -1` gets the same range error as `--port=-1` (up and call, long and short flag)', async () => {
    const joined = await run(['up', '--port=-1', '--backend', 'a=127.0.0.1:20881']);
    assert.equal(joined.code, 2);
    assert.equal(joined.err, "dubbo-tunnel [DT_ERR_CONFIG]: Invalid port '-1' from --port: expected an integer from 1 to 65535.\n  fix: pass --port with an integer from 1 to 65535\n");
    assert.deepEqual(await run(['up', '--port', '-1', '--backend', 'a=127.0.0.1:20881']), joined);
    assert.deepEqual(await run(['up', '-p', '-1', '--backend', 'a=127.0.0.1:20881']), joined);

    const call = await run(['call', 'user-rpc', 'com.example.UserService', 'getUser', '--port', '-1']);
    assert.equal(call.code, 2);
    assert.equal(call.err, "dubbo-tunnel [DT_ERR_BAD_ARGUMENT]: Invalid port '-1' from --port: expected an integer from 1 to 65535.\n  fix: pass --port with an integer from 1 to 65535\n");
    assert.deepEqual(await run(['call', 'user-rpc', 'com.example.UserService', 'getUser', '--port=-1']), call);
  });

  test('--backend with port 0 or over 65535 says the port is out of range', async () => {
    for (const port of ['0', '65536']) {
      const result = await run(['up', '--backend', `a=127.0.0.1:${port}`]);
      assert.equal(result.code, 2, result.err);
      assert.equal(result.err, `dubbo-tunnel [DT_ERR_BAD_ARGUMENT]: --backend 'a=127.0.0.1:${port}': port ${port} is out of range: expected an integer from 1 to 65535\n  fix: for example --backend user-rpc=127.0.0.1:20881\n`);
    }
    const shape = await run(['up', '--backend', 'a=127.0.0.1']);
    assert.match(shape.err, /is not <application>=<host>:<port>/);
  });

  test('every kind of usage error exits 2: parseArgs, flag checks, settings from flags, environment or `config set`, unknown commands', async () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['up', '--bogus'], {}, /Unknown option '--bogus'/],
      [['up', '--select'], {}, /argument missing/],
      [['up', '--max-payload', 'x', '--backend', 'a=127.0.0.1:1'], {}, /--max-payload must be a positive whole number/],
      [['up', '--port', '99999', '--backend', 'a=127.0.0.1:1'], {}, /Invalid port '99999' from --port/],
      [['up', '--log-level', 'loud', '--backend', 'a=127.0.0.1:1'], {}, /Invalid logLevel 'loud' from --log-level/],
      [['up', '--backend', 'a=127.0.0.1:1'], {DUBBO_TUNNEL_PORT: 'abc'}, /Invalid port 'abc' from DUBBO_TUNNEL_PORT/],
      [['ls', '--source', 'nowhere'], {}, /--source must be ingress, service or auto/],
      [['config', 'set', 'port', 'abc'], {}, /Invalid port 'abc'/],
      [['config', 'frobnicate'], {}, /Unknown config action/],
      [['frobnicate'], {}, /unknown command 'frobnicate'/],
    ];
    for (const [args, env, message] of cases) {
      const result = await run(args, env);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.err}`);
      assert.match(result.err, message);
    }
  });

  test('--help lists the exit codes', async () => {
    const result = await run(['--help']);
    assert.equal(result.code, 0);
    assert.match(result.out, /Exit codes:\n {2}0 {2}success.*\n {2}1 {2}failed.*\n {2}2 {2}usage error.*\n {2}3 {2}`call` only: no answer/);
  });
});

describe('IPv6 addresses', () => {
  test('--host ::1 is shown as [::1]:<port> in the listening line and the consumer hint', async (t) => {
    const events = new TunnelEventBus();
    const out = collector();
    const detach = attachLineReporter(events, {out: out.stream, level: 'info', json: false});
    let server: TunnelServer;
    try {
      server = await TunnelServer.start({port: 0, host: '::1', routes: new RouteSource(createRouteTable([])), events});
    } catch (error) {
      detach();
      t.skip(`no IPv6 loopback on this machine: ${String(error)}`);
      return;
    }
    try {
      assert.deepEqual(server.consumerAddresses(), [`[::1]:${server.port}`]);
      assert.match(out.text(), new RegExp(`listening on \\[::1\\]:${server.port}; point consumers at dubbo://\\[::1\\]:${server.port} \\(only this machine may connect\\)`));
    } finally {
      detach();
      await server.close();
    }
  });
});
