// The resolve file's life cycle: created, rewritten as applications come and go, restored (or removed)
// on close, on SIGINT and on SIGTERM; a file owned by another running dubbo-tunnel is refused. The
// user's own lines stay in the file while it runs, untouched and first, and win for the interfaces they name.
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import {DubboTunnelError} from '../../src/core/errors.js';
import {ResolveFile, expandHome, propertyKeys, renderResolveFile} from '../../src/learning/resolve-file.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {startLearning} from '../../src/session/learning.js';
import {RoutePublisher} from '../../src/session/publisher.js';
import {BIN, ensureBuilt, freePort} from '../support/binary.js';
import {fixturesMissing} from '../support/discovery-fixtures.js';
import {startDiscoveryProvider} from '../support/discovery-providers.js';
import type {DiscoveryProvider} from '../support/discovery-providers.js';
import {waitFor} from '../support/wait.js';

/**
 * java.util.Properties.load for a whole text: keys and values, continuations, escapes, and the last
 * value of a key wins (Properties is a Hashtable filled line by line), which is what Dubbo reads.
 */
function javaProperties(text: string): Map<string, string> {
  const unescape = (raw: string): string => raw.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) => c.length === 5 ? String.fromCharCode(Number.parseInt(c.slice(1), 16)) : ({t: '\t', n: '\n', r: '\r', f: '\f'} as Record<string, string>)[c] ?? c);
  const entries = new Map<string, string>();
  const natural = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < natural.length; i++) {
    let line = (natural[i] ?? '').replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < natural.length) line = line.slice(0, -1) + (natural[++i] ?? '').replace(/^[ \t\f]+/, '');
    const end = /^(?:[^\\=: \t\f]|\\.)*/.exec(line)?.[0].length ?? 0;
    entries.set(unescape(line.slice(0, end)), unescape(line.slice(end).replace(/^[ \t\f]*[=:]?[ \t\f]*/, '')));
  }
  return entries;
}

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
    assert.ok(readFileSync(file, 'utf8').startsWith('original=1\n\n# Written by dubbo-tunnel'), 'the saved original stays first after a takeover');
    next.close();
    assert.equal(readFileSync(file, 'utf8'), 'original=1\n');
  });

  test('the user\'s lines stay in the file while it runs, untouched and first; the file is byte-identical after close', () => {
    const file = fresh();
    // Comments, a line of the user's own for another interface, a continued value, CRLF line ends, a
    // Latin-1 byte, and no line end after the last line.
    const original = Buffer.from('# my own mappings\r\ncom.other.Foo=dubbo://10.0.0.9:20880\r\n! old:\r\ncom.other.Bar = dubbo://10.0.0.8:20880?\\\r\n    timeout=5000\r\n\u00e9t\u00e9=1', 'latin1');
    writeFileSync(file, original);
    const resolve = ResolveFile.open(file);
    resolve.write(['demo.UserService', 'demo.PayService'], 'localhost:20880');
    const running = readFileSync(file);
    assert.deepEqual(running.subarray(0, original.length), original, 'the user\'s bytes come first, as they were');
    const resolved = javaProperties(running.toString('latin1'));
    assert.equal(resolved.get('com.other.Foo'), 'dubbo://10.0.0.9:20880');
    assert.equal(resolved.get('com.other.Bar'), 'dubbo://10.0.0.8:20880?timeout=5000');
    assert.equal(resolved.get('\u00e9t\u00e9'), '1', 'the user\'s last line keeps its value: our block starts on a line of its own');
    assert.equal(resolved.get('demo.UserService'), 'dubbo://localhost:20880?serialization=hessian2&prefer.serialization=hessian2');
    assert.equal(resolved.get('demo.PayService'), 'dubbo://localhost:20880?serialization=hessian2&prefer.serialization=hessian2');
    resolve.write(['demo.UserService'], 'localhost:20880');
    assert.deepEqual(readFileSync(file).subarray(0, original.length), original);
    assert.equal(javaProperties(readFileSync(file, 'latin1')).has('demo.PayService'), false);
    resolve.close();
    assert.deepEqual(readFileSync(file), original);
  });

  test('an interface the user maps keeps the user\'s line: no line of ours for it, and the header says so', () => {
    const file = fresh();
    const original = 'demo.UserService=dubbo://10.0.0.1:20880\n';
    writeFileSync(file, original);
    const resolve = ResolveFile.open(file);
    resolve.write(['demo.UserService', 'demo.PayService'], 'localhost:20880');
    const running = readFileSync(file, 'utf8');
    assert.ok(running.startsWith(original));
    assert.equal(running.split('\n').filter((line) => line.startsWith('demo.UserService=')).length, 1, running);
    const resolved = javaProperties(running);
    assert.equal(resolved.get('demo.UserService'), 'dubbo://10.0.0.1:20880', 'what a Java consumer reads is the user\'s line');
    assert.match(resolved.get('demo.PayService') ?? '', /^dubbo:\/\/localhost:20880\?/);
    assert.match(running, /^# Your own line above is kept for demo\.UserService /m);
    resolve.close();
    assert.equal(readFileSync(file, 'utf8'), original);
  });

  test('a last line that continues (ends in a backslash) does not swallow the tunnel\'s lines', () => {
    const file = fresh();
    writeFileSync(file, 'com.other.Foo=dubbo://10.0.0.9:20880?\\');
    const resolve = ResolveFile.open(file);
    resolve.write(['demo.UserService'], 'localhost:1');
    const resolved = javaProperties(readFileSync(file, 'utf8'));
    assert.equal(resolved.get('com.other.Foo'), 'dubbo://10.0.0.9:20880?');
    assert.match(resolved.get('demo.UserService') ?? '', /^dubbo:\/\/localhost:1\?/);
    resolve.close();
    assert.equal(readFileSync(file, 'utf8'), 'com.other.Foo=dubbo://10.0.0.9:20880?\\');
  });

  test('the keys of a properties file are read as java.util.Properties reads them', () => {
    const text = [
      '# comment = not.a.Key', '  ! also a comment', '', '   ',
      'plain.Key=v', '  indented.Key : v', 'spaced.Key v', 'tabbed.Key\tv', 'no.Value',
      'escaped\\=Key=v', 'unicode\\u0041Key=v', 'continued.Key=first \\', '  not.a.Key=second',
      'even.Key=ends in two \\\\', 'after.Even=v', '# comment ends in \\', 'after.Comment=v',
    ].join('\n') + '\rcr.Key=v\r\ncrlf.Key=v';
    assert.deepEqual([...propertyKeys(text)].sort(), [
      'after.Comment', 'after.Even', 'continued.Key', 'cr.Key', 'crlf.Key', 'escaped=Key', 'even.Key', 'indented.Key',
      'no.Value', 'plain.Key', 'spaced.Key', 'tabbed.Key', 'unicodeAKey',
    ]);
  });

  test('lines escape what java.util.Properties would misread; ~ is the home folder', () => {
    assert.match(renderResolveFile(['a.B', 'a.B'], 'localhost:1', 7), /pid 7[\s\S]*\na\.B=dubbo:\/\/localhost:1\?serialization=hessian2&prefer\.serialization=hessian2\n$/);
    const odd = renderResolveFile(['a=b:c d#e', 'caf\u00e9.Bar'], 'localhost:1', 7);
    assert.deepEqual([...javaProperties(odd).keys()].sort(), ['a=b:c d#e', 'caf\u00e9.Bar']);
    assert.ok(!/[^\n -~]/.test(odd), 'printable ASCII only: Properties.load reads ISO 8859-1');
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
    const events = new TunnelEventBus();
    const learning = startLearning({events, noLearn: false, resolveFile: file});
    const publisher = new RoutePublisher({events, kinds: ['local'], interfaces: [['com.example.Mapped', 'user-rpc']], choice: 'all', learner: learning.learner});
    try {
      const userBackend = new StaticBackend('user-rpc', '127.0.0.1', user.port);
      publisher.report(0, [userBackend, new StaticBackend('pay-rpc', '127.0.0.1', pay.port)].map((backend) => ({backend, where: undefined})));
      learning.listening('::', 20991, publisher.routes);
      const keys = () => readFileSync(file, 'utf8').split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => line.split('=')[0]);
      await waitFor(() => keys().length === 4, {message: 'the user\'s line and three interfaces'});
      assert.deepEqual(keys(), ['before', 'com.example.Mapped', 'demo.PayService', 'demo.UserService']);
      assert.match(readFileSync(file, 'utf8'), /demo\.UserService=dubbo:\/\/localhost:20991\?/);
      publisher.report(0, [{backend: userBackend, where: undefined}]);
      assert.deepEqual(keys(), ['before', 'com.example.Mapped', 'demo.UserService']);
    } finally {
      publisher.close();
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
