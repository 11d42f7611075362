// `dubbo-tunnel call` end to end: the real CLI entry (main), the built-in consumer, the real router
// (TunnelServer + StaticBackend) and the independent test provider from test/support.
import assert from 'node:assert/strict';
import net from 'node:net';
import {after, before, describe, test} from 'node:test';
import {main} from '../../src/cli/main.js';
import type {CliContext} from '../../src/cli/command.js';
import {callOnce} from '../../src/client/dubbo-client.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {RouteSource, createRouteTable} from '../../src/router/route-table.js';
import {TestProvider} from '../support/dubbo-peers.js';
import type {ProviderReply} from '../support/dubbo-peers.js';
import {decodeRequest, encodeHeartbeatRequest, encodeRequestBody, java} from '../support/dubbo-wire.js';
import type {DecodedRequest} from '../support/dubbo-wire.js';
import {waitFor} from '../support/wait.js';
import {collector} from '../support/output.js';

const SERVICE = 'com.example.UserService';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...argv: string[]): Promise<CliRun> {
  const out = collector();
  const err = collector();
  const context: CliContext = {stdout: out.stream, stderr: err.stream, env: {}, interactive: false};
  const code = await main(['call', ...argv], context);
  return {code, stdout: out.text(), stderr: err.text()};
}

/** Answers: exceptions and errors on request, otherwise the arguments it decoded, echoed back. */
function handler(req: DecodedRequest): ProviderReply | Promise<ProviderReply> {
  switch (req.method) {
    case 'findMissing':
      return {exception: 'user u-9 not found', exceptionClass: 'com.example.UserNotFoundException', attachments: {}};
    case 'explode':
      throw new Error('provider blew up');
    case 'hang':
      return {noReply: true};
    case 'nothing':
      return {nullValue: true};
    default:
      return {value: {method: req.method, args: req.args}, attachments: {}};
  }
}

/** Frees a port by listening on it and closing again: nothing listens there afterwards. */
async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Each supported argument kind: the command-line text, the descriptor the provider must see, and the
 * values as the independent encoder (test/support/dubbo-wire.ts, hessian-lite shapes) writes them.
 * The request body must be byte-identical to that encoding: same Hessian codes for int vs long vs
 * double, same class definitions, same map form.
 */
interface ArgumentCase {
  name: string;
  argv: string[];
  descriptor: string;
  wire: unknown[];
  /** What the provider decodes (hessian.js, types dropped). */
  decoded: unknown[];
}

const CASES: ArgumentCase[] = [
  {name: 'JSON string', argv: ['"u-1"'], descriptor: 'Ljava/lang/String;', wire: ['u-1'], decoded: ['u-1']},
  {name: 'bare word as string', argv: ['u-1'], descriptor: 'Ljava/lang/String;', wire: ['u-1'], decoded: ['u-1']},
  {name: 'int', argv: ['42'], descriptor: 'I', wire: [42], decoded: [42]},
  {name: 'negative int', argv: ['-7'], descriptor: 'I', wire: [-7], decoded: [-7]},
  {name: 'long (does not fit an int)', argv: ['3000000000'], descriptor: 'J', wire: [java.long(3000000000)], decoded: [3000000000]},
  {name: 'long beyond 2^53 stays exact', argv: ['9007199254740993'], descriptor: 'J', wire: [java.long('9007199254740993')], decoded: ['9007199254740993']},
  {name: 'double', argv: ['1.5'], descriptor: 'D', wire: [1.5], decoded: [1.5]},
  {name: 'double written with .0', argv: ['2.0'], descriptor: 'D', wire: [{$class: 'double', $: 2}], decoded: [2]},
  {name: 'boolean', argv: ['true'], descriptor: 'Z', wire: [true], decoded: [true]},
  {name: 'map', argv: ['{"name":"ann","age":30}'], descriptor: 'Ljava/util/Map;', wire: [{name: 'ann', age: 30}], decoded: [{name: 'ann', age: 30}]},
  {
    name: 'POJO via $class',
    argv: ['{"$class":"com.example.UserQuery","name":"ann","limit":10}'],
    descriptor: 'Lcom/example/UserQuery;',
    wire: [java.pojo('com.example.UserQuery', {name: 'ann', limit: 10})],
    decoded: [{name: 'ann', limit: 10}],
  },
  {name: 'list', argv: ['[1,"two",null]'], descriptor: 'Ljava/util/List;', wire: [[1, 'two', null]], decoded: [[1, 'two', null]]},
  {name: 'null', argv: ['null'], descriptor: 'Ljava/lang/Object;', wire: [null], decoded: [null]},
  {
    name: 'several arguments with --types (String, int, POJO)',
    argv: ['u-1', '5', '{"name":"ann"}', '--types', 'java.lang.String,int,com.foo.Query'],
    descriptor: 'Ljava/lang/String;ILcom/foo/Query;',
    wire: ['u-1', 5, java.pojo('com.foo.Query', {name: 'ann'})],
    decoded: ['u-1', 5, {name: 'ann'}],
  },
  {
    name: '--types long for a small number',
    argv: ['42', '--types', 'long'],
    descriptor: 'J',
    wire: [java.long(42)],
    decoded: [42],
  },
  {
    name: '--types arrays, enum and BigDecimal',
    argv: ['[1,2]', '["a"]', 'RED', '12.50', '--types', 'int[],java.lang.String[],com.example.Color,java.math.BigDecimal'],
    descriptor: '[I[Ljava/lang/String;Lcom/example/Color;Ljava/math/BigDecimal;',
    wire: [java.typedList('[int', [1, 2]), java.typedList('[string', ['a']), java.enumValue('com.example.Color', 'RED'), java.bigDecimal('12.50')],
    decoded: [[1, 2], ['a'], {name: 'RED'}, {value: '12.50'}],
  },
  {name: 'no arguments', argv: [], descriptor: '', wire: [], decoded: []},
];

/** The attachments `dubbo-tunnel call` sends by default (what a Java 3.x consumer sends, plus the target). */
function defaultAttachments(application: string, timeout = '5000'): Record<string, unknown> {
  return {
    interface: SERVICE, path: SERVICE, 'remote.application': 'dubbo-tunnel-cli', 'target-application': application, timeout, version: '0.0.0',
  };
}

function lastRequest(provider: TestProvider): DecodedRequest {
  const req = provider.received.at(-1);
  assert.ok(req, 'the provider received no request');
  return req;
}

function checkCase(provider: TestProvider, c: ArgumentCase, run: CliRun, method: string): void {
  assert.equal(run.code, 0, `${c.name}: exit ${run.code}, stderr: ${run.stderr}`);
  const req = lastRequest(provider);
  assert.equal(req.method, method);
  assert.equal(req.dubboVersion, '2.0.2');
  assert.equal(req.service, SERVICE);
  assert.equal(req.version, '0.0.0');
  assert.equal(req.parameterTypes, c.descriptor, c.name);
  assert.deepEqual(req.args, c.decoded, c.name);
  assert.deepEqual(req.attachments, defaultAttachments('user-rpc'), c.name);
  // Byte for byte what the independent hessian-lite-shaped encoder produces for the same call.
  const expected = encodeRequestBody({
    service: SERVICE, method, parameterTypes: c.descriptor, args: c.wire, attachments: defaultAttachments('user-rpc'),
  });
  assert.equal(req.frame.body.toString('hex'), expected.toString('hex'), `${c.name}: body differs from the Java-shaped encoding`);
  // The provider's answer (its decoded args, echoed) is printed as JSON.
  assert.deepEqual(JSON.parse(run.stdout), {method, args: c.decoded});
}

describe('dubbo-tunnel call, straight to a provider', () => {
  let provider: TestProvider;

  before(async () => {
    provider = await TestProvider.start({application: 'user-rpc', handler});
  });
  after(async () => {
    await provider.close();
  });

  for (const c of CASES) {
    test(`argument kind: ${c.name}`, async () => {
      const method = `m${CASES.indexOf(c)}`;
      const run = await cli('user-rpc', SERVICE, method, ...c.argv, '--port', String(provider.port), '--host', '127.0.0.1');
      checkCase(provider, c, run, method);
    });
  }

  test('a void/null answer prints null and exits 0', async () => {
    const run = await cli('user-rpc', SERVICE, 'nothing', '-p', String(provider.port), '--host', '127.0.0.1');
    assert.equal(run.code, 0);
    assert.equal(run.stdout, 'null\n');
  });

  test('version, group, extra attachments and another attachment key reach the provider', async () => {
    const run = await cli(
      'user-rpc', SERVICE, 'getUser', 'u-1', '-p', String(provider.port), '--host', '127.0.0.1',
      '--version', '1.2.0', '--group', 'blue', '--attach', 'dubbo.tag=gray', '--attach', 'x=a=b', '--attachment-key', 'dubbo.app', '--timeout', '3000',
    );
    assert.equal(run.code, 0, run.stderr);
    const req = lastRequest(provider);
    assert.equal(req.version, '1.2.0');
    assert.deepEqual(req.attachments, {
      interface: SERVICE, path: SERVICE, 'remote.application': 'dubbo-tunnel-cli', 'dubbo.app': 'user-rpc', timeout: '3000', version: '1.2.0',
      group: 'blue', 'dubbo.tag': 'gray', x: 'a=b',
    });
  });

  test('--generic sends GenericService.$invoke with generic=true, types and POJOs as maps', async () => {
    const run = await cli(
      'user-rpc', SERVICE, 'findUsers', '{"$class":"com.example.UserQuery","name":"ann"}', '7', '--generic',
      '--types', 'com.example.UserQuery,long', '-p', String(provider.port), '--host', '127.0.0.1',
    );
    assert.equal(run.code, 0, run.stderr);
    const req = lastRequest(provider);
    assert.equal(req.method, '$invoke');
    assert.equal(req.parameterTypes, 'Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/Object;');
    assert.deepEqual(req.args, ['findUsers', ['com.example.UserQuery', 'long'], [{class: 'com.example.UserQuery', name: 'ann'}, 7]]);
    assert.equal(req.attachments['generic'], 'true');
    // Typed view: String[] as "[string", Object[] as "[object", like hessian-lite's ArraySerializer.
    const typed = decodeRequest(req.frame, {withType: true}).args as {$class?: string}[];
    assert.equal(typed[1]?.$class, '[string');
    assert.equal(typed[2]?.$class, '[object');
  });

  test('the provider throws: exception class and message, exit 1; --json says so too', async () => {
    const run = await cli('user-rpc', SERVICE, 'findMissing', 'u-9', '-p', String(provider.port), '--host', '127.0.0.1');
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, 'exception com.example.UserNotFoundException: user u-9 not found\n');
    const json = await cli('user-rpc', SERVICE, 'findMissing', 'u-9', '-p', String(provider.port), '--host', '127.0.0.1', '--json');
    assert.equal(json.code, 1);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(parsed['ok'], false);
    assert.equal(parsed['kind'], 'exception');
    assert.equal(parsed['exceptionClass'], 'com.example.UserNotFoundException');
    assert.equal(parsed['message'], 'user u-9 not found');
  });

  test('the provider fails (status 70): status and text, exit 1', async () => {
    const run = await cli('user-rpc', SERVICE, 'explode', '-p', String(provider.port), '--host', '127.0.0.1');
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'error: status 70 SERVICE_ERROR: Error: provider blew up\n');
  });

  test('no answer in time: exit 3, names the timeout and the fix', async () => {
    const run = await cli('user-rpc', SERVICE, 'hang', '-p', String(provider.port), '--host', '127.0.0.1', '--timeout', '300');
    assert.equal(run.code, 3);
    assert.match(run.stderr, new RegExp(`^dubbo-tunnel \\[DT_ERR_CALL_TIMEOUT\\]: no answer from 127\\.0\\.0\\.1:${provider.port} within 300 ms \\(com\\.example\\.UserService#hang, request id 1\\)\n`));
    assert.match(run.stderr, /fix: the provider may be slow or stuck: raise --timeout <ms>/);
  });

  test('the connection drops before the answer: exit 3', async () => {
    const dropping = await TestProvider.start({
      application: 'user-rpc',
      handler: () => {
        dropping.destroyConnections();
        return {noReply: true};
      },
    });
    try {
      const run = await cli('user-rpc', SERVICE, 'getUser', '-p', String(dropping.port), '--host', '127.0.0.1');
      assert.equal(run.code, 3);
      assert.match(run.stderr, /before the answer came/);
    } finally {
      await dropping.close();
    }
  });

  test('heartbeats from the provider while waiting are answered (HeartbeatHandler)', async () => {
    const beating = await TestProvider.start({
      application: 'user-rpc',
      handler: async () => {
        beating.sendToAll(encodeHeartbeatRequest(77n));
        await waitFor(() => beating.responsesReceived.some((frame) => frame.event && frame.id === 77n));
        return {value: 'after heartbeat'};
      },
    });
    try {
      const result = await callOnce({
        host: '127.0.0.1', port: beating.port, application: 'user-rpc', service: SERVICE, method: 'getUser', parameterTypes: '', args: [], timeoutMs: 3000,
      });
      assert.equal(result.kind, 'value');
      assert.equal(result.kind === 'value' ? result.value : undefined, 'after heartbeat');
      const answer = beating.responsesReceived.find((frame) => frame.id === 77n);
      assert.equal(answer?.status, 20);
      assert.deepEqual([...(answer?.body ?? [])], [0x4e]);
    } finally {
      await beating.close();
    }
  });
});

describe('dubbo-tunnel call through the real router', () => {
  let provider: TestProvider;
  let server: TunnelServer;

  before(async () => {
    provider = await TestProvider.start({application: 'user-rpc', handler});
    const routes = new RouteSource(createRouteTable(
      [new StaticBackend('user-rpc', '127.0.0.1', provider.port)],
      [['com.example.MappedService', 'user-rpc']],
    ));
    server = await TunnelServer.start({host: '127.0.0.1', port: 0, routes});
  });
  after(async () => {
    await server.close(200);
    await provider.close();
  });

  for (const c of CASES) {
    test(`argument kind: ${c.name}`, async () => {
      const method = `r${CASES.indexOf(c)}`;
      const run = await cli('user-rpc', SERVICE, method, ...c.argv, '--port', String(server.port), '--host', '127.0.0.1');
      checkCase(provider, c, run, method);
    });
  }

  test('an unknown application: the router\'s "no route" answer with its status, exit 1', async () => {
    const run = await cli('billing-rpc', SERVICE, 'getUser', 'u-1', '-p', String(server.port), '--host', '127.0.0.1');
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^error: status 60 SERVICE_NOT_FOUND: dubbo-tunnel \[DT_ERR_NO_ROUTE\]: no route for com\.example\.UserService#getUser: attachment 'target-application' is 'billing-rpc'/);
    assert.match(run.stderr, /user-rpc/, 'names the applications that are routed');
    const json = await cli('billing-rpc', SERVICE, 'getUser', 'u-1', '-p', String(server.port), '--host', '127.0.0.1', '--json');
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.deepEqual([parsed['ok'], parsed['kind'], parsed['status'], parsed['statusName']], [false, 'error', 60, 'SERVICE_NOT_FOUND']);
  });

  test('application "-" sends no target attachment: the interface map routes it', async () => {
    const run = await cli('-', 'com.example.MappedService', 'ping', '-p', String(server.port), '--host', '127.0.0.1');
    assert.equal(run.code, 0, run.stderr);
    const req = lastRequest(provider);
    assert.equal(req.service, 'com.example.MappedService');
    assert.equal('target-application' in req.attachments, false);
  });

  test('exceptions and values come back through the router unchanged', async () => {
    const thrown = await cli('user-rpc', SERVICE, 'findMissing', '-p', String(server.port), '--host', '127.0.0.1');
    assert.equal(thrown.code, 1);
    assert.equal(thrown.stderr, 'exception com.example.UserNotFoundException: user u-9 not found\n');
    const json = await cli('user-rpc', SERVICE, 'getUser', 'u-1', '-p', String(server.port), '--host', '127.0.0.1', '--json');
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(parsed['ok'], true);
    assert.equal(parsed['kind'], 'value');
    assert.deepEqual(parsed['value'], {method: 'getUser', args: ['u-1']});
    assert.deepEqual(parsed['attachments'], {dubbo: '2.0.2'});
    assert.equal(parsed['requestId'], '1');
  });

  test('a provider that never answers: timeout exit 3, and the router is fine afterwards', async () => {
    const run = await cli('user-rpc', SERVICE, 'hang', '-p', String(server.port), '--host', '127.0.0.1', '--timeout', '300');
    assert.equal(run.code, 3);
    assert.match(run.stderr, /no answer from 127\.0\.0\.1:\d+ within 300 ms/);
    await waitFor(() => server.connectionCount === 0, {message: 'the router still holds the timed-out consumer connection'});
    const again = await cli('user-rpc', SERVICE, 'getUser', 'u-2', '-p', String(server.port), '--host', '127.0.0.1');
    assert.equal(again.code, 0, again.stderr);
  });
});

describe('dubbo-tunnel call with nothing to talk to', () => {
  test('connection refused: exit 3, asks whether `dubbo-tunnel up` runs and names --port', async () => {
    const port = await unusedPort();
    const run = await cli('user-rpc', SERVICE, 'getUser', 'u-1', '-p', String(port), '--host', '127.0.0.1');
    assert.equal(run.code, 3);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, new RegExp(`^dubbo-tunnel \\[DT_ERR_CALL_CONNECT\\]: cannot connect to 127\\.0\\.0\\.1:${port}: connection refused`));
    assert.match(run.stderr, new RegExp(`fix: is \`dubbo-tunnel up --port ${port}\` running\\? If it listens on another port, pass that port with --port <port>`));
    const json = await cli('user-rpc', SERVICE, 'getUser', 'u-1', '-p', String(port), '--host', '127.0.0.1', '--json');
    assert.equal(json.code, 3);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.deepEqual([parsed['ok'], parsed['kind'], parsed['code']], [false, 'connect-failed', 'ECONNREFUSED']);
    assert.match(String(parsed['hint']), /dubbo-tunnel up/);
  });

  test('a peer that does not speak Dubbo: unreadable answer, exit 1', async () => {
    const http = net.createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const {port} = http.address() as net.AddressInfo;
      const run = await cli('user-rpc', SERVICE, 'getUser', '-p', String(port), '--host', '127.0.0.1');
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^dubbo-tunnel \[DT_ERR_CALL_BAD_ANSWER\]: unreadable answer: 127\.0\.0\.1:\d+ did not answer in Dubbo: not Dubbo/);
    } finally {
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  test('usage errors exit 2 before connecting', async () => {
    const missing = await cli('user-rpc', SERVICE);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /call needs \[<application>\] <interface> <method>/);
    const badTypes = await cli('user-rpc', SERVICE, 'getUser', '1', '--types', 'int,int');
    assert.equal(badTypes.code, 2);
    assert.match(badTypes.stderr, /--types names 2 type\(s\) but 1 argument/);
    const badInterface = await cli('user-rpc', 'not an interface', 'getUser');
    assert.equal(badInterface.code, 2);
  });
});
