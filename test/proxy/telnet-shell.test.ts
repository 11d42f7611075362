// `telnet localhost 20880` then `ls`: the shell on the local port, over real sockets, including garbage,
// over-long lines, idle connections, and the Dubbo and HTTP paths next to it.
import assert from 'node:assert/strict';
import net from 'node:net';
import {after, before, describe, test} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import {runShellCommand} from '../../src/proxy/telnet-shell.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {RouteSource, createRouteTable} from '../../src/router/route-table.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';

/** Sends `input` (then half-closes, as `printf ... | nc` does, unless told not to) and collects everything until the server closes. */
function session(port: number, input: Buffer | string, options: {halfClose?: boolean} = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({host: '127.0.0.1', port});
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.on('connect', () => {
      socket.write(input);
      if (options.halfClose !== false) socket.end();
    });
  });
}

describe('the telnet shell on the local port', () => {
  let server: TunnelServer;
  let provider: TestProvider;
  before(async () => {
    provider = await TestProvider.start({application: 'user-rpc'});
    const routes = new RouteSource(createRouteTable(
      [new StaticBackend('user-rpc', '127.0.0.1', provider.port), new StaticBackend('pay-rpc', '127.0.0.1', 1)],
      [],
      [['user-rpc', ['demo.UserService', 'demo.AuditService']]],
    ));
    server = await TunnelServer.start({
      port: 0, host: '127.0.0.1', routes, events: new TunnelEventBus(), telnetIdleMs: 300,
      describeApplication: (application) => (application === 'pay-rpc' ? 'unknown: no way answered' : 'learned via metadata-service'),
    });
  });
  after(async () => {
    await server.close();
    await provider.close();
  });

  test("printf 'ls\\r\\n' | nc: every routed application with its services, then the prompt", async () => {
    assert.equal(await session(server.port, 'ls\r\n'),
      'pay-rpc: 0 services (unknown: no way answered)\r\nuser-rpc: 2 services\r\n    demo.AuditService\r\n    demo.UserService\r\ndubbo>');
  });

  test('ls -l, ls <application>, help, an unknown command, an empty line, exit', async () => {
    const text = await session(server.port, 'ls -l\r\nls user-rpc\nls nope\r\nhelp\r\n\r\nfoo bar\r\nexit\r\nls\r\n', {halfClose: false});
    const answers = text.split('dubbo>');
    assert.equal(answers[0], `pay-rpc -> 127.0.0.1:1: 0 services (unknown: no way answered)\r\nuser-rpc -> 127.0.0.1:${provider.port}: 2 services (learned via metadata-service)\r\n    demo.AuditService\r\n    demo.UserService\r\n`);
    assert.equal(answers[1], `user-rpc -> 127.0.0.1:${provider.port}: 2 services (learned via metadata-service)\r\n    demo.AuditService\r\n    demo.UserService\r\n`);
    assert.equal(answers[2], 'No such application: nope (routed: pay-rpc, user-rpc)\r\n');
    assert.match(answers[3] ?? '', /^Commands of the dubbo-tunnel shell[\s\S]*exit, quit/);
    assert.equal(answers[4], '');
    assert.equal(answers[5], 'Unsupported command: foo\r\n');
    // exit answers BYE! and closes: the `ls` after it is never answered.
    assert.equal(answers[6], 'BYE!\r\n');
    assert.equal(answers.length, 7);
  });

  test('garbage inside a line is dropped; over-long lines close the connection', async () => {
    assert.match(await session(server.port, Buffer.from([0x6c, 0x73, 0x00, 0xff, 0xfb, 0x0d, 0x0a])), /^pay-rpc: 0 services/);
    assert.equal(await session(server.port, 'x'.repeat(5000), {halfClose: false}), 'line too long (over 2048 bytes); bye\r\n');
    assert.equal(await session(server.port, `${'y'.repeat(3000)}\r\n`, {halfClose: false}), 'line too long (over 2048 bytes); bye\r\n');
  });

  test('an idle shell is closed', async () => {
    const started = Date.now();
    assert.equal(await session(server.port, 'l', {halfClose: false}), '\r\nidle for too long; bye\r\n');
    assert.ok(Date.now() - started >= 250);
  });

  test('Dubbo consumers and HTTP clients on the same port are unaffected', async () => {
    const consumer = await TestConsumer.connect(server.port);
    const answer = await consumer.call({service: 'demo.UserService', method: 'whoami', parameterTypes: '', args: [], attachments: {}});
    assert.equal(answer.kind === 'value' && answer.value, 'user-rpc:whoami', JSON.stringify(answer, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    await consumer.close();
    assert.match(await session(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 404 Not Found[\s\S]*speaks the Dubbo protocol/);
    // Binary that is not Dubbo is still closed without a word.
    assert.equal(await session(server.port, Buffer.from([0x16, 0x03, 0x01, 0x00]), {halfClose: false}), '');
  });
});

test('runShellCommand without applications', () => {
  assert.deepEqual(runShellCommand('ls', []), {text: 'No application is routed yet.\r\n'});
  assert.deepEqual(runShellCommand('quit', []), {text: 'BYE!\r\n', close: true});
  assert.deepEqual(runShellCommand('ls a b', []), {text: 'usage: ls [-l] [<application>]\r\n'});
});
