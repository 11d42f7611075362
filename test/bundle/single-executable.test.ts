// The single executable (`npm run build:binary`, dist-bin/dubbo-tunnel) the way a developer without
// Node uses it: --help, the demo in plain mode with a call through it, and ls against a cluster
// (the fake API server). `ls` with each kind of credential is in auth.test.ts. Skipped, with a
// message, when the executable has not been built (.ci/run builds it on Node 20).
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {cleanEnv, freePort, runProgram, SEA_BINARY} from '../support/binary.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {waitFor} from '../support/wait.js';

const skip = existsSync(SEA_BINARY) ? false : `${SEA_BINARY} is not built: run \`npm run build:binary\` first`;

describe('the single executable', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(() => {
    if (skip !== false) return;
    dir = mkdtempSync(path.join(tmpdir(), 'dt-sea-'));
    // PATH without Node: the executable must not need one.
    env = cleanEnv({HOME: dir, CI: 'true', DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, 'config'), PATH: '/usr/bin:/bin'});
  });
  after(() => {
    if (skip === false) rmSync(dir, {recursive: true, force: true});
  });

  it('prints the help and the version', {skip}, async () => {
    const help = await runProgram([SEA_BINARY, '--help'], env);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: dubbo-tunnel <command> \[options\]$/m);
    assert.match(help.stdout, /^ {2}demo {2}/m);
    assert.equal(help.stderr, '', 'no warnings from the executable itself');
    const version = await runProgram([SEA_BINARY, '--version'], env);
    assert.equal(version.stdout.trim(), (await import('../../package.json', {with: {type: 'json'}})).default.version);
  });

  it('runs the demo in plain mode and a call goes through it', {skip}, async () => {
    const port = await freePort();
    const demo = spawn(SEA_BINARY, ['demo', '--no-ui', '--port', String(port)], {stdio: ['ignore', 'pipe', 'pipe'], env});
    let output = '';
    demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => demo.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => output.includes('demo ready'), {timeoutMs: 30_000, message: `the demo did not get ready:\n${output}`});
      const call = await runProgram([SEA_BINARY, 'call', 'user-rpc', 'com.example.demo.UserService', 'getUser', '"42"', '--port', String(port)], env);
      assert.equal(call.code, 0, call.stderr);
      assert.equal((JSON.parse(call.stdout) as {id: string}).id, '42');
    } finally {
      demo.kill('SIGINT');
    }
    assert.equal(await exited, 0, output);
  });

  it('lists the applications of a cluster (the fake API server)', {skip}, async () => {
    const api = await FakeKubeApi.start();
    try {
      api.addDubboApp({name: 'user-rpc', ingress: true, pods: [{name: 'user-rpc-0'}, {name: 'user-rpc-1'}]});
      api.addDubboApp({name: 'pay-rpc', pods: [{name: 'pay-rpc-0'}]});
      const result = await runProgram([SEA_BINARY, 'ls', '--kubeconfig', api.writeKubeconfig(dir)], env);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trimEnd().split('\n');
      assert.match(lines[0] ?? '', /^APPLICATION\s+NAMESPACE\s+SERVICE\s+PORT\s+SOURCE\s+READY$/);
      assert.match(lines[1] ?? '', /^pay-rpc\s+default\s+pay-rpc\s+dubbo:20880\s+service\s+1$/);
      assert.match(lines[2] ?? '', /^user-rpc\s+default\s+user-rpc\s+dubbo:20880\s+ingress\s+2$/);
      // Node warns once when the executable's require() is asked for a package (it loads built-in
      // modules only); the optional packages the bundle probes for must not reach it.
      assert.doesNotMatch(result.stderr, /Warning|single-executable|require\(\)/, 'no warning from Node on ls');
      const doctor = await runProgram([SEA_BINARY, 'doctor', '--kubeconfig', api.writeKubeconfig(dir)], env);
      assert.doesNotMatch(doctor.stderr, /Warning|single-executable|require\(\)/, 'no warning from Node on doctor');
      assert.match(doctor.stdout, /permissions/);
    } finally {
      await api.stop();
    }
  });
});
