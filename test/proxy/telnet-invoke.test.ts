// Dubbo's telnet habits on the tunnel's port: `invoke Service.method(args)` (and `cd`, `pwd`) run
// through the tunnel's own consumer and routing to a real provider on loopback; `ps` and `status`
// describe the tunnel's consumer connections and applications. A real TCP client types the lines.
import assert from 'node:assert/strict';
import net from 'node:net';
import {after, before, describe, test} from 'node:test';
import {shellInvoker} from '../../src/cli/shell-invoker.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {parseInvoke, splitArguments} from '../../src/proxy/telnet-invoke.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {RouteSource, createRouteTable} from '../../src/router/route-table.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import type {DecodedRequest} from '../support/dubbo-wire.js';
import {waitFor} from '../support/wait.js';

const USER = 'com.example.UserService';

/** A telnet-style client: types one line at a time and reads up to the next `dubbo>` prompt. */
class TelnetClient {
  readonly #socket: net.Socket;
  #received = '';
  #closed = false;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (this.#received += chunk));
    socket.on('close', () => (this.#closed = true));
  }

  static connect(port: number): Promise<TelnetClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({host: '127.0.0.1', port}, () => resolve(new TelnetClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends `text` as typed (several lines at once if it has them) and returns the next `count` answers. */
  async type(text: string, count = 1): Promise<string[]> {
    this.#socket.write(text);
    await waitFor(() => this.#received.split('dubbo>').length > count || this.#closed, {message: `${count} answer(s) to ${JSON.stringify(text)}`});
    const parts = this.#received.split('dubbo>');
    const answers = parts.slice(0, count);
    this.#received = parts.slice(count).join('dubbo>');
    return answers;
  }

  async line(text: string): Promise<string> {
    const [answer = ''] = await this.type(`${text}\r\n`);
    return answer;
  }

  close(): void {
    this.#socket.destroy();
  }
}

describe('invoke, cd, pwd, ps and status on the tunnel\'s telnet port', () => {
  const events = new TunnelEventBus();
  let server: TunnelServer;
  let users: TestProvider;
  let payments: TestProvider;
  const seen: DecodedRequest[] = [];
  before(async () => {
    users = await TestProvider.start({
      application: 'user-rpc',
      handler: (req) => {
        seen.push(req);
        if (req.method === 'fail') return {exception: 'no such user', exceptionClass: 'java.lang.IllegalStateException'};
        return {value: {id: req.args[0] ?? null, name: 'Ada', servedBy: 'user-rpc'}};
      },
    });
    payments = await TestProvider.start({
      application: 'pay-rpc',
      handler: (req) => {
        seen.push(req);
        return {value: {servedBy: 'pay-rpc', args: req.args}};
      },
    });
    const routes = new RouteSource(createRouteTable(
      [new StaticBackend('user-rpc', '127.0.0.1', users.port), new StaticBackend('pay-rpc', '127.0.0.1', payments.port)],
      [],
      [['user-rpc', [USER]], ['pay-rpc', ['g1/com.example.PayService:1.0.0']]],
    ));
    server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes, events, telnetInvoke: shellInvoker('target-application', 3000)});
  });
  after(async () => {
    await server.close(200);
    await users.close();
    await payments.close();
  });

  test('invoke <Service>.<method>(args): routed by the learned service, printed as JSON with the time it took', async () => {
    const telnet = await TelnetClient.connect(server.port);
    seen.length = 0;
    const answer = await telnet.line(`invoke ${USER}.getUser("42")`);
    assert.match(answer, new RegExp(`^Use default service ${USER.replaceAll('.', '\\.')}\\.\\r\\nresult: \\{"id":"42","name":"Ada","servedBy":"user-rpc"\\}\\r\\nelapsed: \\d+ ms\\.\\r\\n$`));
    const [request] = seen;
    assert.equal(request?.service, USER);
    assert.equal(request.method, 'getUser');
    assert.equal(request.parameterTypes, 'Ljava/lang/String;');
    assert.deepEqual(request.args, ['42']);
    // No target attachment: the router chose by the service, as for a consumer without the filter.
    assert.equal(request.attachments['target-application'], undefined);
    telnet.close();
  });

  test('cd <Service>, then invoke <method>(args); a simple name is found among the known services; pwd; cd /', async () => {
    const telnet = await TelnetClient.connect(server.port);
    assert.equal(await telnet.line('pwd'), '/\r\n');
    assert.equal(await telnet.line(`cd ${USER}`), `Used the ${USER} as default.\r\nYou can cancel default service by command: cd /\r\n`);
    assert.equal(await telnet.line('pwd'), `${USER}\r\n`);
    seen.length = 0;
    assert.match(await telnet.line('invoke getUser(7, \'x, y\', {"k": [1, 2]}, null)'), /^Use default service com\.example\.UserService\.\r\nresult: \{"id":7,/);
    assert.equal(seen[0]?.parameterTypes, 'ILjava/lang/String;Ljava/util/Map;Ljava/lang/Object;');
    assert.deepEqual(seen[0]?.args, [7, 'x, y', {k: [1, 2]}, null]);
    assert.equal(await telnet.line('cd /'), `Cancelled default service ${USER}.\r\n`);
    assert.match(await telnet.line('invoke UserService.getUser(u-1)'), /^Use default service com\.example\.UserService\.\r\nresult: \{"id":"u-1",/);
    telnet.close();
  });

  test('a service learned with a group and a version is called with them, by its simple name or its whole key', async () => {
    const telnet = await TelnetClient.connect(server.port);
    seen.length = 0;
    assert.match(await telnet.line('invoke payservice.balance("u-1")'), /^Use default service g1\/com\.example\.PayService:1\.0\.0\.\r\nresult: \{"args":\["u-1"\],"servedBy":"pay-rpc"\}/);
    assert.equal(await telnet.line('cd g1/com.example.PayService:1.0.0'), 'Used the g1/com.example.PayService:1.0.0 as default.\r\nYou can cancel default service by command: cd /\r\n');
    assert.match(await telnet.line('invoke balance("u-2")'), /"servedBy":"pay-rpc"/);
    for (const request of seen) {
      assert.equal(request.service, 'com.example.PayService');
      assert.equal(request.version, '1.0.0');
      assert.equal(request.attachments['group'], 'g1');
      assert.equal(request.attachments['target-application'], undefined, 'routed by the learned key');
    }
    assert.equal(seen.length, 2);
    telnet.close();
  });

  test('cd <application>: later calls carry it as target-application, and go there even for another application\'s service', async () => {
    const telnet = await TelnetClient.connect(server.port);
    assert.match(await telnet.line('cd pay-rpc'), /^Used the application pay-rpc as default: invoke sends it as target-application\./);
    seen.length = 0;
    assert.match(await telnet.line(`invoke ${USER}.getUser("42")`), /result: \{"args":\["42"\],"servedBy":"pay-rpc"\}/);
    assert.equal(seen[0]?.attachments['target-application'], 'pay-rpc');
    assert.equal(await telnet.line('pwd'), 'pay-rpc: /\r\n');
    telnet.close();
  });

  test('failures are answered in words: the tunnel\'s coded answer, a Java exception, bad arguments, Dubbo\'s usage lines', async () => {
    const telnet = await TelnetClient.connect(server.port);
    assert.match(await telnet.line('invoke com.example.Nowhere.find()'),
      /^Use default service com\.example\.Nowhere\.\r\nFailed to invoke method find, cause: dubbo-tunnel \[DT_ERR_NO_ROUTE\]: .*\r\nelapsed: \d+ ms\.\r\n$/);
    assert.match(await telnet.line(`invoke ${USER}.fail("42")`),
      /^Use default service com\.example\.UserService\.\r\nFailed to invoke method fail, cause: java\.lang\.IllegalStateException: no such user\r\nelapsed: \d+ ms\.\r\n$/);
    assert.match(await telnet.line(`invoke ${USER}.getUser({"a": 1)`), /^Invalid json argument, cause: /);
    assert.match(await telnet.line(`invoke ${USER}.getUser({bad})`), /cause: dubbo-tunnel \[DT_ERR_BAD_ARGUMENT\]: argument 1 is not valid JSON/);
    assert.equal(await telnet.line(`invoke ${USER}.getUser`), 'Invalid parameters, format: service.method(args)\r\n');
    assert.match(await telnet.line('invoke getUser("42")'), /^If you want to invoke like \[invoke sayHello\("xxxx"\)\], please execute cd command first/);
    assert.match(await telnet.line('invoke'), /^Please input method name, eg: \r\ninvoke xxxMethod\(/);
    telnet.close();
  });

  test('lines typed while a call waits are answered after it, in order', async () => {
    const telnet = await TelnetClient.connect(server.port);
    const answers = await telnet.type(`invoke ${USER}.getUser("1")\r\npwd\r\ninvoke ${USER}.getUser("2")\r\nls pay-rpc\r\n`, 4);
    assert.match(answers[0] ?? '', /"id":"1"/);
    assert.equal(answers[1], '/\r\n');
    assert.match(answers[2] ?? '', /"id":"2"/);
    assert.match(answers[3] ?? '', /^pay-rpc -> /);
    telnet.close();
  });

  test('ps: every consumer connection of the port with its peer, protocol, requests and since; this shell is marked', async () => {
    const consumer = await TestConsumer.connect(server.port);
    const call = (method: string) => consumer.call({service: USER, method, parameterTypes: 'Ljava/lang/String;', args: ['u-1'], attachments: {'target-application': 'user-rpc'}});
    await call('getUser');
    await call('fail');
    const telnet = await TelnetClient.connect(server.port);
    const lines = (await telnet.line('ps')).split('\r\n');
    assert.match(lines[0] ?? '', /^CONSUMER +PEER +PROTOCOL +REQUESTS +ERRORS +SINCE$/);
    const dubbo = lines.find((line) => / dubbo /.test(line));
    assert.match(dubbo ?? '', /^#\d+ +127\.0\.0\.1:\d+ +dubbo +2 +1 +\d\d:\d\d:\d\d \(\d+ s\)$/, lines.join('\n'));
    assert.match(lines.find((line) => / telnet /.test(line)) ?? '', /^#\d+ +127\.0\.0\.1:\d+ +telnet +0 +0 +\d\d:\d\d:\d\d \(\d+ s\) {2}<- this shell$/);
    assert.equal(await telnet.line('ps -l'), 'Unsupported parameter -l for ps.\r\n');
    await consumer.close();
    await waitFor(async () => !/ dubbo /.test(await telnet.line('ps')), {message: 'a consumer that left is no longer listed'});
    telnet.close();
  });

  test('status: the routed applications with their states and counts, and a summary in Dubbo\'s levels', async () => {
    // A consumer keeps user-rpc's stream open (a stream no consumer uses is closed).
    const consumer = await TestConsumer.connect(server.port);
    await consumer.call({service: USER, method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['u-1'], attachments: {'target-application': 'user-rpc'}});
    const telnet = await TelnetClient.connect(server.port);
    const lines = (await telnet.line('status')).split('\r\n');
    assert.match(lines[0] ?? '', /^APPLICATION +STATE +REQUESTS +ERRORS +STREAMS +IN FLIGHT +WHERE$/);
    assert.match(lines[1] ?? '', new RegExp(`^pay-rpc +(idle|ready) +\\d+ +0 +\\d+ +0 +127\\.0\\.0\\.1:${payments.port}$`));
    assert.match(lines[2] ?? '', new RegExp(`^user-rpc +ready +\\d+ +[1-9]\\d* +1 +0 +127\\.0\\.0\\.1:${users.port}$`));
    assert.match(lines[3] ?? '', /^summary: OK \(2 applications routed, \d+ consumer connections?\)$/);
    events.emit('backend-state-changed', {application: 'pay-rpc', state: 'error', detail: 'forbidden to port-forward'});
    const after = (await telnet.line('status -l')).split('\r\n');
    assert.match(after[1] ?? '', /^pay-rpc +error .* {2}forbidden to port-forward$/);
    assert.match(after[3] ?? '', /^summary: ERROR /);
    assert.equal(await telnet.line('status x'), 'Unsupported parameter x for status.\r\n');
    events.emit('backend-state-changed', {application: 'pay-rpc', state: 'ready'});
    telnet.close();
    await consumer.close();
  });
});

test('without an invoker the shell says invoke is not offered here', async () => {
  const server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes: new RouteSource(), events: new TunnelEventBus()});
  try {
    const telnet = await TelnetClient.connect(server.port);
    assert.equal(await telnet.line('invoke com.example.A.b()'), 'invoke is not available on this listener\r\n');
    assert.equal(await telnet.line('status'), 'No application is routed yet.\r\nsummary: WARN\r\n');
    telnet.close();
  } finally {
    await server.close(100);
  }
});

test('parseInvoke and splitArguments read what InvokeTelnet reads', () => {
  assert.deepEqual(parseInvoke(' com.a.B.m( 1 , "x,y" ,[1,{"a":"]"}] ) ', {}), {kind: 'call', service: 'com.a.B', method: 'm', args: ['1', '"x,y"', '[1,{"a":"]"}]']});
  assert.deepEqual(parseInvoke('m()', {service: 'com.a.B'}), {kind: 'call', service: 'com.a.B', method: 'm', args: []});
  assert.deepEqual(splitArguments('\'it\\\'s\', "a\\"b"'), ['"it\'s"', '"a\\"b"']);
  assert.equal(splitArguments('1,,2'), 'an argument is missing between two commas');
  assert.equal(splitArguments('"open'), 'unterminated string starting with "');
  assert.equal(splitArguments('1]'), 'unexpected \']\' at column 2');
});
