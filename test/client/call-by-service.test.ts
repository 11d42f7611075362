// `dubbo-tunnel call <interface> <method> [args]` without the application: the real CLI entry, the
// real router (TunnelServer) fed by the real ExportLearner, which learned what two demo providers
// export by asking their MetadataService. The call carries no target-application attachment and
// reaches the application that exports the interface.
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';
import {main} from '../../src/cli/main.js';
import {parseCallOptions} from '../../src/cli/commands/call-options.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {ExportLearner} from '../../src/learning/export-learner.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {RoutePublisher} from '../../src/session/publisher.js';
import {DemoProvider} from '../../src/sim/demo-provider.js';
import type {DemoCall, DemoService} from '../../src/sim/demo-provider.js';
import {collector} from '../support/output.js';

describe('which form of `call`', () => {
  const parse = (...argv: string[]) => {
    const options = parseCallOptions(argv);
    return [options.application, options.service, options.method, options.args];
  };

  test('a dotted first word followed by a method name: no application', () => {
    assert.deepEqual(parse('com.example.UserService', 'getUser', 'u-1'), [undefined, 'com.example.UserService', 'getUser', ['u-1']]);
    assert.deepEqual(parse('com.example.UserService', 'ping'), [undefined, 'com.example.UserService', 'ping', []]);
  });

  test('the application form is unchanged, also for application names with dots', () => {
    assert.deepEqual(parse('user-rpc', 'com.example.UserService', 'getUser', 'u-1'), ['user-rpc', 'com.example.UserService', 'getUser', ['u-1']]);
    assert.deepEqual(parse('user.rpc', 'com.example.UserService', 'getUser'), ['user.rpc', 'com.example.UserService', 'getUser', []]);
    assert.deepEqual(parse('-', 'com.example.UserService', 'getUser'), [undefined, 'com.example.UserService', 'getUser', []]);
    // No dot in the first word: an application, so the method is missing.
    assert.throws(() => parseCallOptions(['user-rpc', 'com.example.UserService']), /call needs \[<application>\] <interface> <method>/);
    assert.throws(() => parseCallOptions(['com.example.UserService']), /call needs \[<application>\] <interface> <method>/);
  });
});

describe('dubbo-tunnel call without the application, through the router that learned the services', () => {
  const seen: {application: string; method: string; attachments: Record<string, unknown>}[] = [];
  const service = (application: string, name: string, method: string): DemoService => ({
    interface: name,
    methods: {
      [method]: {
        parameterTypes: ['java.lang.String'],
        invoke: ({args, attachments}: DemoCall) => {
          seen.push({application, method, attachments});
          return `${application}:${String(args[0])}`;
        },
      },
    },
  });
  let user: DemoProvider;
  let order: DemoProvider;
  let learner: ExportLearner;
  let publisher: RoutePublisher;
  let server: TunnelServer;

  before(async () => {
    user = await DemoProvider.start({application: 'user-rpc', pod: 'user-rpc-1', services: [service('user-rpc', 'com.example.UserService', 'getUser')]});
    order = await DemoProvider.start({application: 'order-rpc', pod: 'order-rpc-1', services: [service('order-rpc', 'com.example.OrderService', 'listOrders')]});
    const events = new TunnelEventBus();
    learner = new ExportLearner({events, timeoutMs: 2000});
    publisher = new RoutePublisher({events, kinds: ['local'], choice: 'all', learner});
    publisher.report(0, [new StaticBackend('user-rpc', '127.0.0.1', user.port), new StaticBackend('order-rpc', '127.0.0.1', order.port)].map((backend) => ({backend, where: undefined})));
    server = await TunnelServer.start({host: '127.0.0.1', port: 0, routes: publisher.routes, events});
    await learner.settled();
    assert.deepEqual(learner.all().map((s) => [s.application, s.state, s.keys]).sort(), [
      ['order-rpc', 'learned', ['com.example.OrderService']],
      ['user-rpc', 'learned', ['com.example.UserService']],
    ]);
  });
  after(async () => {
    publisher.close();
    learner.close();
    await server.close(200);
    await user.close();
    await order.close();
  });

  async function cli(...argv: string[]) {
    const out = collector();
    const err = collector();
    const code = await main(['call', ...argv, '--port', String(server.port), '--host', '127.0.0.1'], {
      stdout: out.stream, stderr: err.stream, env: {}, interactive: false,
    });
    return {code, stdout: out.text(), stderr: err.text()};
  }

  test('each interface reaches the application that exports it, with no target-application attachment', async () => {
    const a = await cli('com.example.UserService', 'getUser', 'u-1');
    assert.equal(a.code, 0, a.stderr);
    assert.equal(JSON.parse(a.stdout), 'user-rpc:u-1');
    const b = await cli('com.example.OrderService', 'listOrders', 'u-2');
    assert.equal(b.code, 0, b.stderr);
    assert.equal(JSON.parse(b.stdout), 'order-rpc:u-2');
    assert.deepEqual(seen.slice(-2).map((s) => [s.application, s.method, 'target-application' in s.attachments]), [
      ['user-rpc', 'getUser', false],
      ['order-rpc', 'listOrders', false],
    ]);
  });

  test('`call <application> <interface> <method>` still sends the attachment', async () => {
    const run = await cli('order-rpc', 'com.example.OrderService', 'listOrders', 'u-3');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout), 'order-rpc:u-3');
    assert.equal(seen.at(-1)?.attachments['target-application'], 'order-rpc');
  });

  test('an interface nobody exports: the router\'s no-route error with its code, and how to go on', async () => {
    const before = seen.length;
    const json = await cli('com.example.NobodyService', 'find', 'x', '--json');
    assert.equal(json.code, 1);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.deepEqual([parsed['ok'], parsed['kind'], parsed['status'], parsed['errorCode']], [false, 'error', 60, 'DT_ERR_NO_ROUTE']);
    assert.match(String(parsed['message']), /no route for com\.example\.NobodyService#find: attachment 'target-application' missing; known applications: order-rpc, user-rpc/);
    assert.match(String(parsed['hint']), /dubbo-tunnel ls --interfaces/);

    const text = await cli('com.example.NobodyService', 'find', 'x');
    assert.equal(text.code, 1);
    assert.equal(text.stdout, '');
    assert.match(text.stderr, /^error: status 60 SERVICE_NOT_FOUND: dubbo-tunnel \[DT_ERR_NO_ROUTE\]: no route for com\.example\.NobodyService#find/);
    assert.match(text.stderr, /\n {2}fix: no routed application is known to export com\.example\.NobodyService .*dubbo-tunnel call <application> com\.example\.NobodyService find \.\.\./);
    assert.equal(seen.length, before, 'no provider got the unroutable call');
  });
});
