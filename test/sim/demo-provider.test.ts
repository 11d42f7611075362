// The demo's Dubbo provider, checked with the independent wire code of test/support (not the product
// codec it is built on) and with the product's own consumer (callOnce): flags and bytes as a Java
// provider writes them, errors as HeaderExchangeHandler answers them, heartbeats answered.
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';
import {callOnce} from '../../src/client/dubbo-client.js';
import {encodeHeartbeatRequest} from '../../src/protocol/responses.js';
import {DemoProvider, descriptorOf, supportsResponseAttachments} from '../../src/sim/demo-provider.js';
import {ORDER_SERVICE, PAY_SERVICE, USER_SERVICE} from '../../src/sim/demo-services.js';
import {TestConsumer} from '../support/dubbo-peers.js';

describe('DemoProvider', () => {
  let provider: DemoProvider;
  let consumer: TestConsumer;

  before(async () => {
    provider = await DemoProvider.start({application: 'demo-app', pod: 'demo-app-0', services: [USER_SERVICE, ORDER_SERVICE, PAY_SERVICE]});
    consumer = await TestConsumer.connect(provider.port);
  });

  after(async () => {
    await consumer.close();
    await provider.close();
  });

  test('answers a value with flag 4 (hessian int 0x94) and the attachment dubbo=2.0.2', async () => {
    const response = await consumer.call({
      service: 'com.example.demo.UserService', method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['42'],
      attachments: {'target-application': 'demo-app'},
    });
    assert.equal(response.status, 20);
    assert.equal(response.frame.serializationId, 2);
    assert.equal(response.frame.body[0], 0x94, 'DubboCodec writes RESPONSE_VALUE_WITH_ATTACHMENTS with writeByte: int 4');
    assert.equal(response.kind, 'value');
    if (response.kind !== 'value') return;
    assert.deepEqual(response.attachments, {dubbo: '2.0.2'});
    const user = response.value as Record<string, unknown>;
    assert.equal(user['id'], '42');
    assert.equal(user['servedBy'], 'demo-app-0');
    assert.match(String(user['email']), /@example\.com$/);
  });

  test('a consumer older than 2.0.2 gets flag 1 and no attachments (Version.isSupportResponseAttachment)', async () => {
    const response = await consumer.call({
      dubboVersion: '2.0.0', service: 'com.example.demo.OrderService', method: 'listOrders', parameterTypes: 'Ljava/lang/String;', args: ['7'],
      attachments: {},
    });
    assert.equal(response.frame.body[0], 0x91);
    assert.equal(response.kind, 'value');
    if (response.kind !== 'value') return;
    assert.equal(response.attachments, undefined);
    assert.ok(Array.isArray(response.value) && response.value.length >= 1, 'a list of orders');
  });

  test('typed values: the POJO class and a double field that holds a whole number', async () => {
    const result = await consumer.call({
      service: 'com.example.demo.PayService', method: 'charge', parameterTypes: 'Ljava/lang/String;D', args: ['o-1', {$class: 'double', $: 20}],
      attachments: {},
    });
    assert.equal(result.kind, 'value');
    const typed = await callOnce({
      host: '127.0.0.1', port: provider.port, application: 'demo-app', service: 'com.example.demo.PayService', method: 'charge',
      parameterTypes: 'Ljava/lang/String;D', args: ['o-1', {$class: 'double', $: 20}], timeoutMs: 5000,
    });
    assert.equal(typed.kind, 'value');
    if (typed.kind !== 'value') return;
    assert.deepEqual({...(typed.value as object)}, {
      orderId: 'o-1', amount: 20, currency: 'EUR', status: 'PAID', transactionId: (typed.value as {transactionId: string}).transactionId, servedBy: 'demo-app-0',
    });
    // On the wire: the class definition, then the instance (0x60) with orderId "o-1" and amount as a
    // Hessian double (0x5d 0x14 = double 20 in one byte), not the int 20 (0xa4) a plain JS 20 would give.
    const raw = result.frame.body;
    assert.ok(raw.includes(Buffer.from('com.example.demo.Receipt')), 'the class name is on the wire');
    assert.ok(raw.includes(Buffer.from([0x60, 0x03, 0x6f, 0x2d, 0x31, 0x5d, 0x14])), `amount is a double: ${raw.toString('hex')}`);
  });

  test('a Java exception comes back as flag 3 with the Throwable, and callOnce reads class and message', async () => {
    const response = await consumer.call({
      service: 'com.example.demo.PayService', method: 'charge', parameterTypes: 'Ljava/lang/String;D', args: ['o-1', -1.5], attachments: {},
    });
    assert.equal(response.status, 20);
    assert.equal(response.frame.body[0], 0x93);
    const result = await callOnce({
      host: '127.0.0.1', port: provider.port, application: undefined, service: 'com.example.demo.PayService', method: 'charge',
      parameterTypes: 'Ljava/lang/String;D', args: ['o-1', -1.5], timeoutMs: 5000,
    });
    assert.equal(result.kind, 'exception');
    if (result.kind !== 'exception') return;
    assert.equal(result.exceptionClass, 'java.lang.IllegalArgumentException');
    assert.equal(result.message, 'amount must be positive, got -1.5');
  });

  test('an unknown service or signature is status 70 with the reason, like a Java provider', async () => {
    const unknownService = await consumer.call({service: 'com.example.Nope', method: 'x', parameterTypes: '', args: [], attachments: {}});
    assert.equal(unknownService.status, 70);
    assert.equal(unknownService.kind, 'error');
    if (unknownService.kind === 'error') assert.match(unknownService.message, /Not found exported service: com\.example\.Nope/);
    const wrongTypes = await consumer.call({
      service: 'com.example.demo.PayService', method: 'charge', parameterTypes: 'Ljava/lang/String;I', args: ['o-1', 20], attachments: {},
    });
    assert.equal(wrongTypes.status, 70);
    if (wrongTypes.kind === 'error') {
      assert.match(wrongTypes.message, /Not found method "charge" with parameter types \(java\.lang\.String, int\); the service has charge\(java\.lang\.String, double\)/);
    }
  });

  test('GenericService.$invoke reaches the named method', async () => {
    const response = await consumer.call({
      service: 'com.example.demo.UserService', method: '$invoke', parameterTypes: 'Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/Object;',
      args: ['getUser', {$class: '[string', $: ['java.lang.String']}, {$class: '[object', $: ['9']}], attachments: {generic: 'true'},
    });
    assert.equal(response.kind, 'value');
    if (response.kind === 'value') assert.equal((response.value as Record<string, unknown>)['id'], '9');
  });

  test('answers a heartbeat with the same id and body, and keeps the connection', async () => {
    const before = consumer.frames.length;
    consumer.send(encodeHeartbeatRequest(99n));
    const answer = await consumer.waitForFrame((frame) => frame.event && frame.id === 99n, 5000, before);
    assert.equal(answer.isRequest, false);
    assert.deepEqual([...answer.body], [0x4e]);
    const after = await consumer.call({service: 'com.example.demo.UserService', method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['1'], attachments: {}});
    assert.equal(after.status, 20);
  });
});

test('descriptorOf and supportsResponseAttachments', () => {
  assert.equal(descriptorOf(['java.lang.String', 'double', 'int[]', 'com.example.Query[][]']), 'Ljava/lang/String;D[I[[Lcom/example/Query;');
  assert.equal(descriptorOf([]), '');
  assert.equal(supportsResponseAttachments('2.0.2'), true);
  assert.equal(supportsResponseAttachments('2.0.99'), true);
  assert.equal(supportsResponseAttachments('2.0.1'), false);
  assert.equal(supportsResponseAttachments('2.6.5'), false);
  assert.equal(supportsResponseAttachments(''), false);
  assert.equal(supportsResponseAttachments(undefined), false);
});
