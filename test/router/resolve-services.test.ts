// Routing by learned service key (resolveRoute steps d and e), table-driven. Pure: no sockets.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {Backend} from '../../src/core/backend.js';
import {resolveRoute} from '../../src/router/resolve.js';
import type {RoutingInput} from '../../src/router/resolve.js';
import {createRouteTable} from '../../src/router/route-table.js';

function backend(application: string): Backend {
  return {application, describe: () => application, connect: () => Promise.reject(new Error('not used'))};
}

const user = backend('user-rpc');
const pay = backend('pay-rpc');
const pay2 = backend('pay-rpc-canary');
const learned: [string, string[]][] = [
  ['user-rpc', ['demo.UserService', 'demo.AuditService']],
  ['pay-rpc', ['g1/demo.PayService:1.0.0', 'demo.AuditService:2.0.0']],
  ['pay-rpc-canary', ['g1/demo.PayService:1.0.0']],
  // Not routed: must never be chosen.
  ['gone-rpc', ['demo.GoneService']],
];
const table = createRouteTable([user, pay, pay2], [['demo.OverriddenService', 'pay-rpc'], ['demo.UserService', 'pay-rpc-canary']], learned);

const input = (service: string | undefined, version?: string, attachments: Record<string, string> = {}): RoutingInput => ({
  service, method: 'm', version, attachments: new Map(Object.entries(attachments)),
});

const cases: {name: string; input: RoutingInput; want: string | RegExp; via?: string}[] = [
  {name: 'the attachment wins over everything', input: input('demo.UserService', '0.0.0', {'target-application': 'user-rpc'}), want: 'user-rpc', via: 'attachment'},
  {name: '--route wins over learned', input: input('demo.UserService', '0.0.0'), want: 'pay-rpc-canary', via: 'interface-map'},
  {name: 'exact key without group or version (0.0.0 = none)', input: input('demo.AuditService', '0.0.0'), want: 'user-rpc', via: 'service-key'},
  {name: 'exact key with a version', input: input('demo.AuditService', '2.0.0'), want: 'pay-rpc', via: 'service-key'},
  {name: 'interface alone is ambiguous when two applications export it', input: input('demo.AuditService', '9.9.9'), want: /interface demo\.AuditService is exported by 2 routed applications \(pay-rpc, user-rpc\); choose one with the 'target-application' attachment or with --route demo\.AuditService=<application>/},
  {name: 'the same key from two applications is an error naming both', input: input('demo.PayService', '1.0.0', {group: 'g1'}), want: /service g1\/demo\.PayService:1\.0\.0 is exported by 2 routed applications \(pay-rpc, pay-rpc-canary\)/},
  {name: 'explicit group (Triple) is used like the attachment', input: {...input('demo.PayService', '1.0.0'), group: 'g1'}, want: /pay-rpc, pay-rpc-canary/},
  {name: 'an application that is not routed is never chosen', input: input('demo.GoneService', ''), want: /attachment 'target-application' missing/},
  {name: 'unknown service: the old message', input: input('demo.Nope', ''), want: /attachment 'target-application' missing; known applications: pay-rpc, pay-rpc-canary, user-rpc/},
  {name: 'the MetadataService group still routes', input: input('org.apache.dubbo.metadata.MetadataService', '1.0.0', {group: 'pay-rpc'}), want: 'pay-rpc', via: 'metadata-group'},
  {name: 'a Triple MetadataService call routes by its tri-service-group header', input: {...input('org.apache.dubbo.metadata.MetadataService', '1.0.0'), group: 'user-rpc'}, want: 'user-rpc', via: 'metadata-group'},
];

for (const c of cases) {
  test(c.name, () => {
    const decision = resolveRoute(table, c.input, 'target-application');
    if (typeof c.want === 'string') {
      assert.ok(decision.ok, JSON.stringify(decision));
      assert.equal(decision.backend.application, c.want);
      if (c.via) assert.equal(decision.via, c.via);
    } else {
      assert.ok(!decision.ok, `routed to ${decision.ok ? decision.backend.application : ''}`);
      assert.match(decision.message, c.want);
    }
  });
}

test('the interface fallback routes when exactly one application exports it under any group/version', () => {
  const only = createRouteTable([user, pay], [], [['pay-rpc', ['g1/demo.PayService:1.0.0']]]);
  const decision = resolveRoute(only, input('demo.PayService', '0.0.0'), 'target-application');
  assert.ok(decision.ok);
  assert.equal(decision.backend, pay);
  assert.equal(decision.via, 'interface');
});

test('tables without learned services behave as before (single backend)', () => {
  const single = createRouteTable([user]);
  const decision = resolveRoute(single, input('demo.Anything', ''), 'target-application');
  assert.ok(decision.ok);
  assert.equal(decision.via, 'single-backend');
});
