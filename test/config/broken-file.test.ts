// A broken, empty or invalid config file never blocks a command whose flags give
// what it needs. It warns (path + fix), and it is never rewritten behind the user's back.
import assert from 'node:assert/strict';
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, it} from 'node:test';
import {main} from '../../src/cli/main.js';
import {parseUpOptions} from '../../src/cli/commands/up.js';
import {DubboTunnelError} from '../../src/core/errors.js';
import {SettingsStore, resolveSettings} from '../../src/config/settings.js';
import {collector} from '../support/output.js';
import {startKube} from '../kube/helpers.js';

const BROKEN: Record<string, string> = {
  'not JSON': '{"port": 2088',
  'empty': '',
  'only whitespace': '\n  \n',
  'a JSON array': '[1, 2]',
  'an invalid value': '{"port": "twenty", "source": "ingress"}\n',
  'invalid remembered selections': '{"selections": {"fake/default": "user-rpc"}}',
};

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dubbo-tunnel-broken-config-'));
  path = join(dir, 'config.json');
});

afterEach(() => {
  rmSync(dir, {recursive: true, force: true});
});

async function run(args: string[]): Promise<{code: number; out: string; err: string}> {
  const stdout = collector();
  const stderr = collector();
  const code = await main(args, {stdout: stdout.stream, stderr: stderr.stream, env: {DUBBO_TUNNEL_CONFIG_DIR: dir}, interactive: false});
  return {code, out: stdout.text(), err: stderr.text()};
}

describe('a broken config file', () => {
  for (const [what, text] of Object.entries(BROKEN)) {
    it(`${what}: settings resolve with a warning naming the file and \`config reset\`; the file is left as it was`, () => {
      writeFileSync(path, text);
      const store = new SettingsStore({cwd: dir});
      const resolved = resolveSettings({flags: {port: '20990'}, env: {}, store});
      assert.equal(resolved.values.port, 20990);
      assert.ok(resolved.warnings.length > 0, 'a warning');
      for (const warning of resolved.warnings) {
        assert.equal(warning.code, 'DT_ERR_CONFIG');
        assert.ok(warning.message.includes(path), warning.message);
        assert.match(warning.hint ?? '', /dubbo-tunnel config reset/);
      }
      // `up` parses the same way: the flags are enough to start.
      const options = parseUpOptions(['--backend', 'user-rpc=127.0.0.1:20881', '--port', '20990'], {}, store);
      assert.equal(options.port, 20990);
      assert.deepEqual(options.settingsWarnings.map((warning) => warning.message), resolved.warnings.map((warning) => warning.message));
      assert.equal(store.recalledSelection('fake', 'default'), undefined);
      assert.throws(() => store.rememberSelection('fake', 'default', ['user-rpc']), (error) =>
        error instanceof DubboTunnelError && error.code === 'DT_ERR_CONFIG' && /The choice was not remembered/.test(error.message));
      assert.equal(readFileSync(path, 'utf8'), text, 'the broken file is not rewritten');
    });
  }

  it('keeps the valid values of a file with one invalid value', () => {
    writeFileSync(path, BROKEN['an invalid value'] ?? '');
    const resolved = resolveSettings({env: {}, store: new SettingsStore({cwd: dir})});
    assert.equal(resolved.values.source, 'ingress');
    assert.equal(resolved.origins.source, 'file');
    assert.equal(resolved.values.port, 20880);
    assert.equal(resolved.origins.port, 'default');
  });

  it('`config get` and `list` warn and still answer; `config set` fixes one key and keeps the rest of the file', async () => {
    writeFileSync(path, '{"port": "twenty", "host": "127.0.0.1", "colour": "blue"}');
    let result = await run(['config', 'get', 'host']);
    assert.equal(result.code, 0, result.err);
    assert.equal(result.out, '127.0.0.1\n');
    assert.equal(result.err, `dubbo-tunnel: warning: Invalid port "twenty" from the config file (${path}): expected an integer from 1 to 65535. It is ignored until it is fixed.\n`
      + '  fix: run `dubbo-tunnel config set port <value>` with an integer from 1 to 65535, or `dubbo-tunnel config unset port` (`dubbo-tunnel config reset` starts the file over)\n');
    result = await run(['config', 'set', 'port', '20990']);
    assert.equal(result.code, 0, result.err);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), {port: 20990, host: '127.0.0.1', colour: 'blue'});
    result = await run(['config', 'list']);
    assert.equal(result.err, '', 'no warning once it is fixed');
    assert.match(result.out, /^port\s+20990\s+file$/m);
  });

  it('`config set` leaves a file that is not JSON alone and says how to reset it', async () => {
    writeFileSync(path, '{"port": 2088');
    const result = await run(['config', 'set', 'port', '20990']);
    assert.equal(result.code, 2);
    assert.match(result.err, /is not valid JSON/);
    assert.match(result.err, /dubbo-tunnel config reset/);
    assert.equal(readFileSync(path, 'utf8'), '{"port": 2088');
  });

  it('`config reset` moves the file aside (a copy is kept) and everything is back to its default', async () => {
    writeFileSync(path, '{"port": 2088');
    let result = await run(['config', 'reset']);
    assert.equal(result.code, 0, result.err);
    assert.equal(result.out, `moved ${path} to ${path}.bak; every setting is back to its default\n`);
    assert.equal(existsSync(path), false);
    assert.equal(readFileSync(`${path}.bak`, 'utf8'), '{"port": 2088');
    result = await run(['config', 'get', 'port']);
    assert.deepEqual(result, {code: 0, out: '20880\n', err: ''});
    result = await run(['config', 'reset']);
    assert.equal(result.out, `nothing to reset: ${path} does not exist\n`);
  });

  it('`ls` against a cluster works with a broken file: one warning with the path, then the table', async () => {
    const kube = await startKube();
    try {
      kube.api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1'}]});
      writeFileSync(path, '{"port": 2088');
      const result = await run(['ls', '--kubeconfig', kube.kubeconfig]);
      assert.equal(result.code, 0, result.err);
      assert.match(result.out, /^user-rpc\s+default/m);
      assert.equal(result.err.split(`The config file ${path} is not valid JSON; it is ignored.`).length - 1, 1, result.err);
      assert.match(result.err, /fix: fix it by hand, or run `dubbo-tunnel config reset`/);
      assert.equal(readFileSync(path, 'utf8'), '{"port": 2088');
    } finally {
      await kube.close();
    }
  });
});
