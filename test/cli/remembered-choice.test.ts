// Remembered choices through the binary, as a user runs it: `up --select` remembers a choice
// for --last only when it names applications that exist, and a broken config file never stops `up`.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, test} from 'node:test';
import {BIN, cleanEnv, ensureBuilt, freePort} from '../support/binary.js';
import {waitFor} from '../support/wait.js';
import {startKube} from '../kube/helpers.js';
import type {KubeFixture} from '../kube/helpers.js';

describe('up remembers only a choice it could route (the binary)', () => {
  let kube: KubeFixture;
  let configDir: string;
  before(async () => {
    ensureBuilt();
    kube = await startKube();
    kube.api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1'}]});
    kube.api.addDubboApp({name: 'order-rpc', pods: [{name: 'order-rpc-1'}]});
    configDir = mkdtempSync(join(tmpdir(), 'dubbo-tunnel-remember-'));
  });
  after(async () => {
    await kube.close();
    rmSync(configDir, {recursive: true, force: true});
  });

  /** Runs `up --no-ui` until `until` shows in its output, then stops it with SIGINT. */
  async function up(args: string[], until: RegExp): Promise<{code: number | null; output: string}> {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'up', '--no-ui', '--kubeconfig', kube.kubeconfig, '--port', String(port), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cleanEnv({CI: 'true', DUBBO_TUNNEL_CONFIG_DIR: configDir}),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => until.test(output) || child.exitCode !== null, {timeoutMs: 20_000, message: `no ${String(until)} in the output`});
    } finally {
      child.kill('SIGINT');
    }
    return {code: await exited, output};
  }

  const path = () => join(configDir, 'config.json');
  const remembered = () => (JSON.parse(readFileSync(path(), 'utf8')) as {selections?: Record<string, string[]>}).selections;

  test('--select with a known name is remembered; an unknown name leaves the remembered choice alone', async () => {
    let run = await up(['--select', 'order-rpc'], /listening on/);
    assert.equal(run.code, 0, run.output);
    assert.deepEqual(remembered(), {'fake/default': ['order-rpc']});

    run = await up(['--select', 'ordr-rpc'], /not remembering this choice/);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /warning: not remembering this choice for --last: ordr-rpc was not found \(dubbo-tunnel ls lists the names\); the remembered choice stays as it was/);
    assert.deepEqual(remembered(), {'fake/default': ['order-rpc']});

    run = await up(['--select', 'user-rpc,ordr-rpc'], /not remembering this choice/);
    assert.deepEqual(remembered(), {'fake/default': ['order-rpc']}, 'one unknown name in the list is enough to keep the old choice');

    run = await up(['--last'], /listening on/);
    assert.match(run.output, /routing order-rpc/);
  });

  test('a config file that is not JSON: up starts with a warning naming the file, and the file is left as it was', async () => {
    writeFileSync(path(), '{"selections": {"fake/default": ["order-rpc"]');
    const run = await up(['--select', 'user-rpc'], /listening on/);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, new RegExp(`dubbo-tunnel: warning: The config file ${path().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not valid JSON; it is ignored\\.`));
    assert.match(run.output, /fix: fix it by hand, or run `dubbo-tunnel config reset`/);
    assert.match(run.output, /warning: The choice was not remembered/);
    assert.equal(readFileSync(path(), 'utf8'), '{"selections": {"fake/default": ["order-rpc"]');
  });
});
