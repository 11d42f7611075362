// The real binary, the way a user runs it: `up --backend ...` in plain mode, one call, Ctrl-C.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import net from 'node:net';
import {after, before, describe, test} from 'node:test';
import {BIN, ensureBuilt, freePort} from '../support/binary.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {waitFor} from '../support/wait.js';

describe('dubbo-tunnel up with static backends (the binary)', () => {
  let user: TestProvider;
  let pay: TestProvider;
  before(async () => {
    ensureBuilt();
    user = await TestProvider.start({application: 'user-rpc'});
    pay = await TestProvider.start({application: 'pay-rpc'});
  });
  after(async () => {
    await user.close();
    await pay.close();
  });

  test('routes by target-application, prints plain lines without a terminal, stops on SIGINT with nothing left listening', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'up', '--port', String(port), '--backend', `user-rpc=127.0.0.1:${user.port}`, '--backend', `pay-rpc=127.0.0.1:${pay.port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, CI: 'true', DUBBO_TUNNEL_CONFIG_DIR: '/nonexistent-dubbo-tunnel-test'},
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => output.includes('listening on'), {timeoutMs: 15_000, message: 'no listening line'});
      assert.match(output, new RegExp(`listening on localhost:${port}`));
      assert.equal(output.includes('\u001b['), false, 'no terminal control codes in plain mode');
      const consumer = await TestConsumer.connect(port);
      const base = {service: 'com.example.UserService', method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['u-1']};
      const [a, b] = await Promise.all([
        consumer.call({...base, attachments: {'target-application': 'user-rpc'}}),
        consumer.call({...base, attachments: {'target-application': 'pay-rpc'}}),
      ]);
      assert.equal(a.kind === 'value' && a.value, 'user-rpc:getUser');
      assert.equal(b.kind === 'value' && b.value, 'pay-rpc:getUser');
      await consumer.close();
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, output);
    await assert.rejects(TestConsumer.connect(port), 'the port is closed');
  });

  test('the telnet shell of `up` invokes through the tunnel and describes it (ps, status)', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'up', '--port', String(port), '--backend', `user-rpc=127.0.0.1:${user.port}`, '--route', 'com.example.UserService=user-rpc', '--no-learn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, CI: 'true', DUBBO_TUNNEL_CONFIG_DIR: '/nonexistent-dubbo-tunnel-test'},
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => output.includes('listening on'), {timeoutMs: 15_000, message: 'no listening line'});
      const telnet = net.connect({host: '127.0.0.1', port});
      let text = '';
      telnet.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
      telnet.write('invoke UserService.getUser("42")\r\nps\r\nstatus\r\n');
      await waitFor(() => text.split('dubbo>').length > 3, {timeoutMs: 10_000, message: `three answers, got: ${text}`});
      telnet.destroy();
      const [invoked = '', ps = '', status = ''] = text.split('dubbo>');
      assert.match(invoked, /^Use default service com\.example\.UserService\.\r\nresult: "user-rpc:getUser"\r\nelapsed: \d+ ms\.\r\n$/);
      // The invoke's own connection may still be closing: it made one request.
      assert.match(ps, /^CONSUMER +PEER +PROTOCOL +REQUESTS +ERRORS +SINCE\r\n#\d+ +127\.0\.0\.1:\d+ +telnet .*<- this shell\r\n(#\d+ +127\.0\.0\.1:\d+ +dubbo +1 +0 .*\r\n)?$/);
      assert.match(status, new RegExp(`^APPLICATION .*\\r\\nuser-rpc +ready +1 +0 +\\d+ +0 +127\\.0\\.0\\.1:${user.port}\\r\\nsummary: OK \\(1 application routed, [12] consumer connections?\\)\\r\\n$`));
      assert.equal(user.received.at(-1)?.attachments['target-application'], undefined, 'routed by --route, as a consumer without the attachment would be');
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, output);
  });

  test('a port already in use exits 1 and names --port', async () => {
    // The start-failure doctor probes the busy port; drop its connection so close() can finish.
    const blocker = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const {port} = blocker.address() as net.AddressInfo;
    try {
      const child = spawn(process.execPath, [BIN, 'up', '--port', String(port), '--backend', `user-rpc=127.0.0.1:${user.port}`], {
        stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, CI: 'true'},
      });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
      assert.equal(code, 1, stderr);
      assert.match(stderr, new RegExp(`port ${port} is already in use`));
      assert.match(stderr, /--port/);
      // Nothing was routed: no line may say an application is ready before the error.
      assert.doesNotMatch(stdout, /\bready\b/, stdout);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
