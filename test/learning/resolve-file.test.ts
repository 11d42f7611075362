// The resolve file's life cycle: created, rewritten as applications come and go, restored (or removed)
// on close, on SIGINT and on SIGTERM; a file owned by another running dubbo-tunnel is refused.
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {startLearning} from '../../src/cli/learning.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {DubboTunnelError} from '../../src/core/errors.js';
import {ResolveFile, expandHome, renderResolveFile} from '../../src/learning/resolve-file.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {RouteSource, createRouteTable} from '../../src/router/route-table.js';
import {BIN, ensureBuilt, freePort} from '../support/binary.js';
import {fixturesMissing} from '../support/discovery-fixtures.js';
import {startDiscoveryProvider} from '../support/discovery-providers.js';
import type {DiscoveryProvider} from '../support/discovery-providers.js';
import {waitFor} from '../support/wait.js';

const dir = mkdtempSync(path.join(tmpdir(), 'dt-resolve-'));
after(() => rmSync(dir, {recursive: true, force: true}));
let n = 0;
const fresh = () => path.join(dir, `resolve-${++n}.properties`);

describe('ResolveFile', () => {
  test('a file that did not exist is created, rewritten, and removed on close', () => {
    const file = fresh();
    const resolve = ResolveFile.open(file);
    resolve.write(['demo.UserService', 'demo.PayService'], 'localhost:20880');
    assert.equal(readFileSync(file, 'utf8').split('\n').filter((line) => !line.startsWith('#')).join('\n'),
      'demo.PayService=dubbo://localhost:20880?serialization=hessian2&prefer.serialization=hessian2\ndemo.UserService=dubbo://localhost:20880?serialization=hessian2&prefer.serialization=hessian2\n');
    resolve.write(['demo.UserService'], 'localhost:20880');
    assert.doesNotMatch(readFileSync(file, 'utf8'), /PayService/);
    assert.ok(existsSync(`${file}.dubbo-tunnel.json`));
    resolve.close();
    assert.equal(existsSync(file), false);
    assert.equal(existsSync(`${file}.dubbo-tunnel.json`), false);
  });

  test('an existing file gets its exact bytes back', () => {
    const file = fresh();
    const original = Buffer.from('# mine\ncom.example.Legacy=dubbo://10.0.0.1:20880\n\u00e9\n', 'latin1');
    writeFileSync(file, original);
    const resolve = ResolveFile.open(file);
    resolve.write(['demo.UserService'], '127.0.0.1:20990');
    assert.match(readFileSync(file, 'utf8'), /^demo\.UserService=dubbo:\/\/127\.0\.0\.1:20990\?/m);
    resolve.close();
    assert.deepEqual(readFileSync(file), original);
    assert.equal(existsSync(`${file}.dubbo-tunnel.orig`), false);
  });

  test('a file another running dubbo-tunnel owns is refused; a dead owner\'s file is taken over with its saved original', () => {
    const file = fresh();
    writeFileSync(file, 'original=1\n');
    const mine = ResolveFile.open(file);
    assert.throws(() => ResolveFile.open(file, process.pid + 100000), (error: unknown) => error instanceof DubboTunnelError && error.code === 'DT_ERR_RESOLVE_FILE' && /another running dubbo-tunnel \(pid \d+\)/.test(error.message));
    mine.write(['demo.UserService'], 'localhost:1');
    // Simulate a crash: the marker stays, naming a process that is gone.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout;
    const marker = JSON.parse(readFileSync(`${file}.dubbo-tunnel.json`, 'utf8')) as Record<string, unknown>;
    writeFileSync(`${file}.dubbo-tunnel.json`, JSON.stringify({...marker, pid: Number(dead)}));
    const next = ResolveFile.open(file, process.pid);
    next.write(['demo.PayService'], 'localhost:2');
    next.close();
    assert.equal(readFileSync(file, 'utf8'), 'original=1\n');
  });

  test('lines escape what java.util.Properties would misread; ~ is the home folder', () => {
    assert.match(renderResolveFile(['a.B', 'a.B'], 'localhost:1', 7), /pid 7[\s\S]*\na\.B=dubbo:\/\/localhost:1\?serialization=hessian2&prefer\.serialization=hessian2\n$/);
    assert.equal(expandHome('~/x.properties', '/home/me'), '/home/me/x.properties');
  });
});

describe('startLearning writes the file as applications come and go', () => {
  const providers: DiscoveryProvider[] = [];
  after(async () => Promise.all(providers.map((p) => p.close())));

  test('learned interfaces and --route interfaces; an application that leaves is dropped; stop() restores', {skip: fixturesMissing}, async () => {
    const user = await startDiscoveryProvider('user-rpc', 'user', '27');
    const pay = await startDiscoveryProvider('pay-rpc', 'pay', '32-zk');
    providers.push(user, pay);
    const file = fresh();
    writeFileSync(file, 'before=1\n');
    const learning = startLearning({events: new TunnelEventBus(), noLearn: false, resolveFile: file});
    const published = new RouteSource();
    learning.join(published);
    try {
      const userBackend = new StaticBackend('user-rpc', '127.0.0.1', user.port);
      published.set(createRouteTable([userBackend, new StaticBackend('pay-rpc', '127.0.0.1', pay.port)], [['com.example.Mapped', 'user-rpc']]));
      learning.listening('::', 20991);
      const keys = () => readFileSync(file, 'utf8').split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => line.split('=')[0]);
      await waitFor(() => keys().length === 3, {message: 'three interfaces'});
      assert.deepEqual(keys(), ['com.example.Mapped', 'demo.PayService', 'demo.UserService']);
      assert.match(readFileSync(file, 'utf8'), /demo\.UserService=dubbo:\/\/localhost:20991\?/);
 published.set(createRouteTable([userBackend], [['com.example.Mapped', 'user-rpc']]));
      assert.deepEqual(keys(), ['com.example.Mapped', 'demo.UserService']);
    } finally {
      learning.stop();
    }
    assert.equal(readFileSync(file, 'utf8'), 'before=1\n');
  });
});

describe('the binary: --resolve-file on SIGINT and SIGTERM', () => {
  const providers: DiscoveryProvider[] = [];
  before(() => {
    if (fixturesMissing === false) ensureBuilt();
  });
  after(async () => Promise.all(providers.map((p) => p.close())));

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`written while up runs, restored after ${signal}`, {skip: fixturesMissing}, async () => {
      const user = await startDiscoveryProvider('user-rpc', 'user', '27');
      const pay = await startDiscoveryProvider('pay-rpc', 'pay', '32-zk');
      providers.push(user, pay);
      const file = fresh();
      const port = await freePort();
      const child = spawn(process.execPath, [BIN, 'up', '--port', String(port), '--backend', `user-rpc=127.0.0.1:${user.port}`, '--backend', `pay-rpc=127.0.0.1:${pay.port}`, '--resolve-file', file], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {...process.env, CI: 'true', DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, 'config')},
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        await waitFor(() => output.includes('user-rpc: exports') && existsSync(file) && /demo\.PayService=/.test(readFileSync(file, 'utf8')) && /demo\.UserService=/.test(readFileSync(file, 'utf8')), {timeoutMs: 20_000, message: `file not written:\n${output}`});
        assert.match(readFileSync(file, 'utf8'), new RegExp(`demo\\.UserService=dubbo://localhost:${port}\\?serialization=hessian2`));
        assert.match(output, /user-rpc: exports 1 service \(not-found-list\): demo\.UserService/);
      } finally {
        child.kill(signal);
      }
      assert.equal(await exited, 0, output);
      assert.equal(existsSync(file), false, 'the file it created is gone');
      assert.equal(existsSync(`${file}.dubbo-tunnel.json`), false);
    });
  }
});
