// The routing order as a table: what routeRequest decides for each peek result and route table,
// without sockets (the socket tests in test/proxy/router.test.ts check the same on the wire).
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import type {Backend} from '../../src/core/backend.js';
import {ProtocolError} from '../../src/core/errors.js';
import type {PeekResult} from '../../src/protocol/request-peek.js';
import {createRouteTable} from '../../src/router/route-table.js';
import {routeRequest} from '../../src/router/route-request.js';

function backend(application: string): Backend {
  return {application, describe: () => `${application}:20880`, connect: () => Promise.reject(new Error('not connected in this test'))};
}

const USER = 'com.example.UserService';
const METADATA = 'org.apache.dubbo.metadata.MetadataService';

function read(service: string, attachments: Record<string, string> = {}, serializationId = 2, attachmentsRead = true): PeekResult {
  return {
    readable: true,
    serializationId,
    request: {dubboVersion: '2.0.2', service, serviceVersion: '', method: 'getUser', parameterTypes: '', argumentCount: 0, attachments: new Map(Object.entries(attachments)), attachmentsRead},
  };
}

function unreadable(code: 'DT_ERR_BAD_BODY' | 'DT_ERR_UNSUPPORTED_SERIALIZATION', message: string, serializationId = 2): PeekResult {
  return {readable: false, serializationId, error: new ProtocolError(code, message)};
}

const two = createRouteTable([backend('user-rpc'), backend('pay-rpc')], [[USER, 'user-rpc']]);
const twoUnmapped = createRouteTable([backend('user-rpc'), backend('pay-rpc')]);
const one = createRouteTable([backend('user-rpc')]);
const none = createRouteTable([]);
const withheld = createRouteTable([backend('user-rpc'), backend('pay-rpc')], [], [], ['the gateway gw withholds the 2 applications in namespace billing from you: you lack get services in namespace billing']);

type Expected = {to: string} | {code: string; status: number; text: RegExp};

const CASES: {name: string; table: typeof two; peek: PeekResult; expected: Expected}[] = [
  {name: '(a) the attachment wins over the interface map', table: two, peek: read(USER, {'target-application': 'pay-rpc'}), expected: {to: 'pay-rpc'}},
  {name: '(a) an attachment naming no routed application is answered, not sent elsewhere', table: two, peek: read(USER, {'target-application': 'order-rpc'}),
    expected: {code: 'DT_ERR_NO_ROUTE', status: 60, text: /^dubbo-tunnel \[DT_ERR_NO_ROUTE\]: no route for com\.example\.UserService#getUser: attachment 'target-application' is 'order-rpc', which is not a routed application; known applications: pay-rpc, user-rpc$/}},
  {name: '(a) an empty attachment counts as missing', table: twoUnmapped, peek: read(USER, {'target-application': ''}),
    expected: {code: 'DT_ERR_NO_ROUTE', status: 60, text: /attachment 'target-application' missing/}},
  {name: '(b) a MetadataService call goes to the application named by its group', table: twoUnmapped, peek: read(METADATA, {group: 'pay-rpc'}), expected: {to: 'pay-rpc'}},
  {name: '(c) the interface map', table: two, peek: read(USER), expected: {to: 'user-rpc'}},
  {name: '(d) the only backend', table: one, peek: read('com.example.Anything'), expected: {to: 'user-rpc'}},
  {name: 'no attachment, no map entry, two backends: answered with the known applications', table: twoUnmapped, peek: read(USER),
    expected: {code: 'DT_ERR_NO_ROUTE', status: 60, text: /attachment 'target-application' missing; known applications: pay-rpc, user-rpc$/}},
  {name: 'nothing routed yet', table: none, peek: read(USER, {'target-application': 'user-rpc'}),
    expected: {code: 'DT_ERR_NO_ROUTE', status: 60, text: /known applications: none \(no application is selected or discovered yet\)$/}},
  {name: 'what the sources know they do not route follows the known applications (a gateway\'s withheld namespace)', table: withheld, peek: read(USER, {'target-application': 'bill-rpc'}),
    expected: {code: 'DT_ERR_NO_ROUTE', status: 60, text: /known applications: pay-rpc, user-rpc; the gateway gw withholds the 2 applications in namespace billing from you: you lack get services in namespace billing$/}},
  {name: 'fastjson2 whose attachments cannot be read still routes by the interface map', table: two, peek: read(USER, {}, 23, false), expected: {to: 'user-rpc'}},
  {name: 'fastjson2 whose attachments cannot be read, no map: answered naming the serialization and the fix', table: twoUnmapped, peek: read(USER, {}, 23, false),
    expected: {code: 'DT_ERR_UNSUPPORTED_SERIALIZATION', status: 60, text: /its fastjson2 \(id 23\) attachments cannot be read; add serialization=hessian2/}},
  {name: 'an unsupported serialization routes to the only backend', table: one, peek: unreadable('DT_ERR_UNSUPPORTED_SERIALIZATION', 'cannot read kryo', 8), expected: {to: 'user-rpc'}},
  {name: 'an unsupported serialization with several backends is answered', table: twoUnmapped, peek: unreadable('DT_ERR_UNSUPPORTED_SERIALIZATION', 'cannot read a request serialized with kryo (id 8)', 8),
    expected: {code: 'DT_ERR_UNSUPPORTED_SERIALIZATION', status: 60, text: /no route for \?#\?: cannot read a request serialized with kryo \(id 8\); add serialization=hessian2/}},
  {name: 'an unreadable body is answered with 40 even when only one backend could take it', table: one, peek: unreadable('DT_ERR_BAD_BODY', 'truncated string in method name (field 4)'),
    expected: {code: 'DT_ERR_BAD_BODY', status: 40, text: /^dubbo-tunnel \[DT_ERR_BAD_BODY\]: cannot read the request body: truncated string in method name \(field 4\)$/}},
];

describe('routeRequest: the routing order, from the peek result', () => {
  for (const {name, table, peek, expected} of CASES) {
    test(name, () => {
      const decision = routeRequest(table, peek, 'target-application');
      if ('to' in expected) {
        assert.equal(decision.forward ? decision.backend.application : `answered: ${decision.answer.message}`, expected.to);
        return;
      }
      assert.equal(decision.forward, false, 'should be answered by dubbo-tunnel');
      if (decision.forward) return;
      assert.equal(decision.answer.code, expected.code);
      assert.equal(decision.answer.status, expected.status);
      assert.match(decision.answer.message, expected.text);
    });
  }

  test('the target names service#method when the body was readable, and nothing when it was not', () => {
    assert.equal(routeRequest(two, read(USER), 'target-application').target, `${USER}#getUser`);
    assert.equal(routeRequest(one, unreadable('DT_ERR_BAD_BODY', 'x'), 'target-application').target, undefined);
  });

  test('a custom attachment key is the one read', () => {
    const decision = routeRequest(two, read(USER, {'target-application': 'user-rpc', app: 'pay-rpc'}), 'app');
    assert.equal(decision.forward && decision.backend.application, 'pay-rpc');
  });
});
