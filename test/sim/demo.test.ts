// `dubbo-tunnel demo` as a new user runs it: the real binary, plain mode, a free port. The call lines
// it prints are run exactly as printed (through sh), the applications are called with the product's
// own consumer (callOnce) and, when installed, with the dubbo-js consumer library; then ctrl-c
// (SIGINT) must stop everything: exit code 0 and nothing left listening.
import assert from 'node:assert/strict';
import {execFile, spawn} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {promisify} from 'node:util';
import {callOnce} from '../../src/client/dubbo-client.js';
import type {CallResult} from '../../src/client/dubbo-client.js';
import {main} from '../../src/cli/main.js';
import {waitFor} from '../support/wait.js';
import {BIN, ROOT, canConnect, cleanEnv, ensureBuilt, freePort} from '../support/binary.js';
import {loadDubboJs, registryAt} from '../support/dubbo-js.js';
import type {DubboInstance, DubboJs} from '../support/dubbo-js.js';

const run = promisify(execFile);

describe('dubbo-tunnel demo --no-ui (the real binary)', () => {
  let dir: string;
  let port: number;
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  let exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'dubbo-tunnel-demo-test-'));
    port = await freePort();
    env = cleanEnv({DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, 'config'), CI: 'true'});
    child = spawn(process.execPath, [BIN, 'demo', '--no-ui', '--port', String(port)], {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']});
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({code, signal})));
    try {
      await waitFor(() => /demo ready/.test(stdout) && new RegExp(`listening on .*:${port}`).test(stdout), {
        timeoutMs: 20_000, intervalMs: 20, message: 'the demo announces that it is listening',
      });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
    }
  });

  after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, {recursive: true, force: true});
  });

  const call = (application: string, service: string, method: string, parameterTypes: string, args: unknown[]): Promise<CallResult> =>
    callOnce({host: '127.0.0.1', port, application, service, method, parameterTypes, args, timeoutMs: 5000});

  test('the banner names the cluster, the three applications and how each is marked', () => {
    assert.match(stdout, /^dubbo-tunnel demo: a simulated Kubernetes cluster in this process \(no cluster and no Java needed\)$/m);
    assert.match(stdout, /^ {2}context dubbo-tunnel-demo · namespace demo · API server http:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(stdout, /^ {2}user-rpc {3}found by Ingress of class dubbo \(2 pods\)$/m);
    assert.match(stdout, /^ {2}order-rpc {2}found by Service port named dubbo \(1 pod\)$/m);
    assert.match(stdout, /^ {2}pay-rpc {4}found by annotation dubbo-tunnel\.io\/application on Service payment \(1 pod\)$/m);
    assert.match(stdout, new RegExp(`routing order-rpc, pay-rpc, user-rpc`));
    assert.equal(stderr, '');
  });

  test('every call line it prints works when pasted into a shell', async () => {
    const banner = stdout.slice(0, stdout.indexOf('Stop with Ctrl-C'));
    const lines = [...banner.matchAll(/^ {2}(node bin\/dubbo-tunnel\.js call .*)$/gm)].map((match) => match[1] ?? '');
    assert.equal(lines.length, 4, banner);
    for (const line of lines) assert.ok(line.endsWith(`--port ${port}`), `the port is in the command: ${line}`);
    // The fourth is the Triple example: order-rpc's Triple port through the same local port.
    assert.match(lines[3] ?? '', /^node bin\/dubbo-tunnel\.js call order-rpc com\.example\.demo\.OrderService listOrders '"42"' --triple --port \d+$/);
    assert.match(banner, /^ {2}order-rpc over Triple: the same list over Triple \(HTTP\/2, application\/grpc\+json\) through the same local port$/m);
    const results = await Promise.all(lines.map(async (line) => {
      const {stdout: out} = await run('sh', ['-c', line], {cwd: ROOT, env, timeout: 15_000});
      return JSON.parse(out) as unknown;
    }));
    const [user, orders, receipt, tripleOrders] = results as [Record<string, unknown>, Record<string, unknown>[], Record<string, unknown>, Record<string, unknown>[]];
    assert.deepEqual(tripleOrders.map((order) => order['id']), orders.map((order) => order['id']), 'the same orders over Triple');
    // The log's "demo ready" hint names the Triple call too, once.
    const ready = stdout.slice(stdout.indexOf('demo ready'));
    assert.equal(ready.split(lines[3] ?? '-').length, 2, ready);
    assert.equal(user['id'], '42');
    assert.match(String(user['servedBy']), /^user-rpc-/);
    assert.ok(Array.isArray(orders) && orders.length >= 1);
    assert.equal(orders[0]?.['userId'], '42');
    assert.deepEqual({orderId: receipt['orderId'], amount: receipt['amount'], status: receipt['status']}, {orderId: 'order-1001', amount: 19.99, status: 'PAID'});
  });

  test('callOnce reaches each application through the port; both user-rpc pods answer', async () => {
    const servedBy = new Set<string>();
    // At once: while one call is in flight on one pod's stream, the next opens a stream to the other
    // pod. (One after another they would all take the first stream: it outlives each connection.)
    const results = await Promise.all([0, 1, 2, 3].map((i) => call('user-rpc', 'com.example.demo.UserService', 'getUser', 'Ljava/lang/String;', [`u-${i}`])));
    for (const result of results) {
      assert.equal(result.kind, 'value');
      if (result.kind === 'value') servedBy.add(String((result.value as Record<string, unknown>)['servedBy']));
    }
    assert.deepEqual([...servedBy].sort(), ['user-rpc-6d5f8c7b9-q7m3z', 'user-rpc-6d5f8c7b9-x2k4p']);

    const orders = await call('order-rpc', 'com.example.demo.OrderService', 'listOrders', 'Ljava/lang/String;', ['7']);
    assert.equal(orders.kind, 'value');
    if (orders.kind === 'value') assert.equal((orders.value as Record<string, unknown>[])[0]?.['servedBy'], 'order-rpc-7c9d4b5f6-h8j2n');

    const receipt = await call('pay-rpc', 'com.example.demo.PayService', 'charge', 'Ljava/lang/String;D', ['o-7', 5.5]);
    assert.equal(receipt.kind, 'value');
    if (receipt.kind === 'value') assert.equal((receipt.value as Record<string, unknown>)['servedBy'], 'payment-58b6c9d7f-w4t9r');

    const refused = await call('pay-rpc', 'com.example.demo.PayService', 'charge', 'Ljava/lang/String;D', ['o-7', -1.5]);
    assert.equal(refused.kind, 'exception');
    if (refused.kind === 'exception') assert.equal(refused.exceptionClass, 'java.lang.IllegalArgumentException');

    // Routing is by the attachment: an unknown application is answered by dubbo-tunnel itself.
    const unknown = await call('nope-rpc', 'com.example.demo.UserService', 'getUser', 'Ljava/lang/String;', ['1']);
    assert.equal(unknown.kind, 'error');
  });

  test('the dubbo-js consumer (apache-dubbo-consumer) calls user-rpc through the demo', async (t) => {
    const load = loadDubboJs();
    if (typeof load === 'string') {
      t.skip(load);
      return;
    }
    const {Dubbo, java} = load('apache-dubbo-consumer') as DubboJs<{userService: {getUser(id: string): Promise<{res: unknown; err: unknown}>}}>;
    const address = `127.0.0.1:${port}`;
    // Every interface is at the tunnel (docs/consumers.md: the registry object that replaces ZooKeeper).
    const registry = registryAt(address);
    const dubbo = Dubbo.from({
      application: {name: 'demo-test-consumer'},
      registry,
      services: {
        userService: (d: DubboInstance) => d.proxyService({
          dubboInterface: 'com.example.demo.UserService',
          methods: {getUser: (id: string) => [java.String(id)]},
        }),
      },
    });
    dubbo.use(async (ctx: {attachments: Record<string, string>}, next: () => Promise<void>) => {
      ctx.attachments = {'target-application': 'user-rpc'};
      await next();
    });
    try {
      const {res, err} = await dubbo.service.userService.getUser('42');
      assert.equal(err ?? null, null);
      assert.equal((res as Record<string, unknown>)['id'], '42');
      assert.match(String((res as Record<string, unknown>)['servedBy']), /^user-rpc-/);
    } finally {
      dubbo.close();
    }
  });

  test('ctrl-c (SIGINT) stops the tunnel and the simulated cluster: exit 0, nothing listening', async () => {
    const api = /API server http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1];
    assert.ok(api !== undefined);
    assert.equal(await canConnect(Number(api)), true, 'the simulated API server runs until ctrl-c');
    child.kill('SIGINT');
    const {code, signal} = await exited;
    assert.equal(signal, null);
    assert.equal(code, 0, `exit code; stderr: ${stderr}`);
    assert.match(stdout, /stopping: answering requests in flight, then closing tunnels/);
    assert.equal(await canConnect(port), false, 'the Dubbo port is closed');
    assert.equal(await canConnect(port, '::1'), false, 'the Dubbo port is closed on IPv6 too');
    assert.equal(await canConnect(Number(api)), false, 'the simulated API server is gone');
  });
});

test('demo refuses the flags that would point up elsewhere', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (lines: string[]) => ({write: (chunk: string) => lines.push(chunk)}) as unknown as NodeJS.WritableStream;
  const config = mkdtempSync(path.join(tmpdir(), 'dt-demo-'));
  const code = await main(['demo', '--no-ui', '--kubeconfig', '/tmp/x'], {
    stdout: sink(out) as never, stderr: sink(err) as never, env: {DUBBO_TUNNEL_CONFIG_DIR: config}, interactive: false,
  });
  rmSync(config, {recursive: true, force: true});
  assert.equal(code, 2);
  assert.match(err.join(''), /--kubeconfig cannot be used with demo: the demo brings its own simulated cluster/);
  assert.equal(out.join(''), '');
});
