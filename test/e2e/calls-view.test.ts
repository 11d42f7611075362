// The calls view in a real terminal (an isolated tmux server): `demo --all`, `c` opens the view,
// calls made through the port appear decoded (arguments with their Java types, the provider's
// exception), esc and c go back, q stops everything.
// Needs tmux (Debian: apt-get install -y tmux); skipped with a message otherwise.
import assert from 'node:assert/strict';
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {callOnce} from '../../src/client/dubbo-client.js';
import {waitFor} from '../support/wait.js';
import {canConnect, ensureBuilt, freePort} from '../support/binary.js';
import {TmuxTerminal, cliScript, tmuxAvailable} from '../support/tmux.js';

const skip = tmuxAvailable() ? false : 'tmux is not installed (apt-get install -y tmux); skipping the calls view terminal test';

let dir: string;
let terminal: TmuxTerminal | undefined;

before(() => {
  if (skip !== false) return;
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'dubbo-tunnel-calls-view-'));
});

after(() => {
  if (skip !== false) return;
  terminal?.kill();
  rmSync(dir, {recursive: true, force: true});
});

test('calls view in a terminal: c opens it, a call and an exception show decoded, esc and c go back, q exits 0', {skip}, async () => {
  const port = await freePort();
  const {script, exitFile} = cliScript(dir, `demo --all --port ${port}`);
  const tmux = new TmuxTerminal(script, {columns: 110, rows: 36});
  terminal = tmux;
  tmux.start();
  let screen = '';
  const until = async (predicate: (text: string) => boolean, message: string) => {
    screen = await tmux.waitFor(predicate, message, 20_000);
  };

  await until((s) => /c calls/.test(s) && /^pay-rpc\s+● ready/m.test(s) && /^user-rpc\s+● ready/m.test(s), 'the dashboard offers c and the applications are ready');
  tmux.keys('c');
  await until((s) => s.includes('no calls yet: calls are captured while this view is open'), 'the calls view opens empty');

  const user = await callOnce({
    host: '127.0.0.1', port, application: 'user-rpc', service: 'com.example.demo.UserService', method: 'getUser',
    parameterTypes: 'Ljava/lang/String;', args: ['42'], timeoutMs: 5000,
  });
  assert.equal(user.kind, 'value');
  const pay = await callOnce({
    host: '127.0.0.1', port, application: 'pay-rpc', service: 'com.example.demo.PayService', method: 'charge',
    parameterTypes: 'Ljava/lang/String;D', args: ['order-1001', -1.5], timeoutMs: 5000,
  });
  assert.equal(pay.kind, 'exception');
  await until((s) => /^calls 2/m.test(s), 'both calls are listed');
  assert.match(screen, /^› \d\d:\d\d:\d\d\.\d{3}\s+pay-rpc\s+PayService#charge\s+EXCEPTION\s/m);
  assert.match(screen, /^ {2}\d\d:\d\d:\d\d\.\d{3}\s+user-rpc\s+UserService#getUser\s+OK\s/m);

  tmux.keys('Enter');
  // The demo's own intro says "answered", so wait for a line only the detail has.
  await until((s) => /^method {3}\S/m.test(s), 'the detail of the newest call');
  assert.match(screen, /^method {3}charge\(java\.lang\.String, double\)$/m);
  assert.match(screen, /^ {2}\[0\] java\.lang\.String "order-1001"$/m);
  assert.match(screen, /^ {2}\[1\] double -1\.5$/m);
  assert.match(screen, /^ {2}java\.lang\.IllegalArgumentException: amount must be positive, got -1\.5$/m);

  tmux.keys('Escape');
  await until((s) => /^ {2}TIME\s+APPLICATION/m.test(s), 'back to the list');
  tmux.keys('c');
  await until((s) => /^APPLICATION\s+STATE/m.test(s), 'back to the dashboard');

  tmux.keys('q');
  await waitFor(() => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim() !== '', {timeoutMs: 15_000, message: 'the demo exits'});
  assert.equal(readFileSync(exitFile, 'utf8').trim(), '0');
  assert.equal(await canConnect(port), false, 'nothing listens on the port any more');
});
