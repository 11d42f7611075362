import {afterEach, beforeEach, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Writable} from 'node:stream';
import {main} from '../../src/cli/main.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dubbo-tunnel-config-cmd-'));
});

afterEach(() => {
  rmSync(dir, {recursive: true, force: true});
});

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(['config', ...args], {stdout, stderr, env: {DUBBO_TUNNEL_CONFIG_DIR: dir, ...env}, interactive: false});
  return {code, out: stdout.text, err: stderr.text};
}

describe('dubbo-tunnel config', () => {
  it('path prints the file in DUBBO_TUNNEL_CONFIG_DIR', async () => {
    const {code, out} = await run(['path']);
    assert.equal(code, 0);
    assert.equal(out, `${join(dir, 'config.json')}\n`);
  });

  it('set validates and saves; get prints the effective value', async () => {
    let result = await run(['set', 'port', '20990']);
    assert.equal(result.code, 0);
    assert.match(result.out, /port = 20990/);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), {port: 20990});
    result = await run(['get', 'port']);
    assert.equal(result.out, '20990\n');
    result = await run(['get', 'port'], {DUBBO_TUNNEL_PORT: '21000'});
    assert.equal(result.out, '21000\n', 'the environment wins over the file');
    result = await run(['set', 'attachment-key', 'app'], {DUBBO_TUNNEL_ATTACHMENT_KEY: 'x'});
    assert.match(result.out, /attachmentKey = app/);
    assert.match(result.out, /note: DUBBO_TUNNEL_ATTACHMENT_KEY is set in this environment and takes precedence/);
  });

  it('set refuses an invalid value with the valid range, exit 2 (a usage error)', async () => {
    const {code, err} = await run(['set', 'port', 'abc']);
    assert.equal(code, 2);
    assert.match(err, /Invalid port 'abc': expected an integer from 1 to 65535/);
    assert.match(err, /fix: /);
  });

  it('unknown keys and actions are usage errors (exit 2) that list the valid ones', async () => {
    let result = await run(['set', 'colour', 'blue']);
    assert.equal(result.code, 2);
    assert.match(result.err, /Unknown setting 'colour'/);
    assert.match(result.err, /port, host, attachmentKey, ingressClass, source, logLevel/);
    result = await run(['frobnicate']);
    assert.equal(result.code, 2);
    assert.match(result.err, /one of: get, set, unset, list, path/);
    result = await run([]);
    assert.equal(result.code, 2);
    result = await run(['set', 'port']);
    assert.equal(result.code, 2);
    assert.match(result.err, /needs a value/);
    result = await run(['get', 'port', 'extra']);
    assert.equal(result.code, 2);
    result = await run(['list', '--bogus']);
    assert.equal(result.code, 2);
  });

  it('list shows each value with its origin, and the remembered selections', async () => {
    await run(['set', 'source', 'ingress']);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({source: 'ingress', selections: {'kind-dev/default': ['user-rpc', 'order-rpc']}}));
    const {code, out} = await run(['list'], {DUBBO_TUNNEL_LOG_LEVEL: 'debug'});
    assert.equal(code, 0);
    assert.match(out, /^port\s+20880\s+default$/m);
    assert.match(out, /^host\s+\(not set\)\s+default$/m);
    assert.match(out, /^source\s+ingress\s+file$/m);
    assert.match(out, /^logLevel\s+debug\s+env DUBBO_TUNNEL_LOG_LEVEL$/m);
    assert.match(out, /kind-dev\/default: user-rpc, order-rpc/);
    assert.match(out, new RegExp(`config file: ${join(dir, 'config.json')}`));
  });

  it('list --json is machine-readable', async () => {
    await run(['set', 'port', '20990']);
    const {out} = await run(['list', '--json']);
    const parsed = JSON.parse(out) as {path: string; settings: {key: string; value: unknown; origin: string}[]};
    assert.equal(parsed.path, join(dir, 'config.json'));
    assert.deepEqual(parsed.settings.find((row) => row.key === 'port'), {key: 'port', value: 20990, origin: 'file'});
    assert.deepEqual(parsed.settings.find((row) => row.key === 'host'), {key: 'host', value: null, origin: 'default'});
  });

  it('unset removes a key (and `selections` forgets the remembered picks)', async () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({port: 20990, selections: {'kind-dev/default': ['a']}}));
    let result = await run(['unset', 'port']);
    assert.match(result.out, /port removed/);
    result = await run(['unset', 'port']);
    assert.match(result.out, /port was not set/);
    result = await run(['unset', 'selections']);
    assert.match(result.out, /selections removed/);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), {});
  });

  it('a broken value in the file is reported with the fix, and unset repairs it', async () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({port: 'twenty'}));
    let result = await run(['list']);
    assert.equal(result.code, 0, 'a warning: list still shows what applies');
    assert.match(result.out, /^port\s+20880\s+default$/m);
    assert.match(result.err, /Invalid port "twenty" from the config file/);
    assert.match(result.err, /dubbo-tunnel config unset port/);
    result = await run(['unset', 'port']);
    assert.equal(result.code, 0);
    result = await run(['get', 'port']);
    assert.equal(result.out, '20880\n');
  });

  it('--help explains actions, keys and has examples', async () => {
    const {code, out} = await run(['--help']);
    assert.equal(code, 0);
    assert.match(out, /Usage: dubbo-tunnel config <get\|set\|unset\|list\|path\|reset>/);
    assert.match(out, /DUBBO_TUNNEL_PORT/);
    assert.match(out, /Examples:\n {2}dubbo-tunnel config set port 20990/);
  });
});
