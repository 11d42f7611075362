// `dubbo-tunnel demo` in a real terminal (an isolated tmux server): the banner, then up's own picker
// and dashboard over the simulated cluster; a call shows up in the dashboard; q stops everything.
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

const skip = tmuxAvailable() ? false : 'tmux is not installed (apt-get install -y tmux); skipping the terminal demo test';

let dir: string;
let terminal: TmuxTerminal | undefined;

before(() => {
  if (skip !== false) return;
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'dubbo-tunnel-demo-tui-'));
});

after(() => {
  if (skip !== false) return;
  terminal?.kill();
  rmSync(dir, {recursive: true, force: true});
});

test('demo in a terminal: banner, picker, dashboard with the call hints, a call counted, q closes everything', {skip}, async () => {
  const port = await freePort();
  const {script, exitFile} = cliScript(dir, `demo --port ${port}`);
  const tmux = new TmuxTerminal(script, {columns: 120, rows: 40});
  terminal = tmux;
  tmux.start();
  let screen = '';
  const until = async (predicate: (text: string) => boolean, message: string) => {
    screen = await tmux.waitFor(predicate, message, 20_000);
  };

  await until((s) => s.includes('Pick applications to route · context dubbo-tunnel-demo · namespace demo') && s.includes('3 of 3 selected'), 'the picker lists the demo applications, all ticked on a first run');
  assert.match(screen, /^dubbo-tunnel demo: a simulated Kubernetes cluster in this process/m);
  assert.match(screen, new RegExp(`^ {2}node bin/dubbo-tunnel\\.js call user-rpc com\\.example\\.demo\\.UserService getUser '"42"' --port ${port}$`, 'm'));
  const api = /API server http:\/\/127\.0\.0\.1:(\d+)/.exec(screen)?.[1];
  assert.ok(api !== undefined, screen);
  assert.match(screen, /\[x\]\s+order-rpc\s+demo\s+service\s+1/);
  assert.match(screen, /\[x\]\s+user-rpc\s+demo\s+ingress\s+2/);
  tmux.keys('Enter');
  await until((s) => ['order-rpc', 'pay-rpc', 'user-rpc'].every((app) => new RegExp(`^${app}\\s+● ready`, 'm').test(s)) && s.includes('demo ready; try these from another terminal:'),
    'the dashboard shows three ready applications and the hints');
  assert.match(screen, new RegExp(`listening dubbo://localhost:${port}`));

  const result = await callOnce({
    host: '127.0.0.1', port, application: 'order-rpc', service: 'com.example.demo.OrderService', method: 'listOrders',
    parameterTypes: 'Ljava/lang/String;', args: ['42'], timeoutMs: 5000,
  });
  assert.equal(result.kind, 'value');
  await until((s) => /order-rpc com\.example\.demo\.OrderService#listOrders OK/.test(s) && /^order-rpc\s+● ready\s+\S+\s+1\s+0\s/m.test(s), 'the call is counted');

  tmux.keys('q');
  await waitFor(() => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim() !== '', {timeoutMs: 15_000, message: 'the demo exits'});
  assert.equal(readFileSync(exitFile, 'utf8').trim(), '0');
  assert.equal(await canConnect(port), false, 'nothing listens on the port any more');
  assert.equal(await canConnect(Number(api)), false, 'the simulated API server is gone');
});
