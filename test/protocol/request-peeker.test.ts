// RequestPeeker reads request after request into the same objects (the router's allocation-free
// path). It must read every body exactly as a fresh peekRequest does: same fields, same
// attachments, same errors, whatever the body before it left behind (class definitions, a
// half-read map, a failure).
import assert from 'node:assert/strict';
import {readFileSync, readdirSync} from 'node:fs';
import {resolve} from 'node:path';
import {describe, test} from 'node:test';
import {RequestPeeker, tryPeekRequest} from '../../src/protocol/request-peek.js';
import type {PeekResult} from '../../src/protocol/request-peek.js';
import {frameOf, hessianRequestBody, prng, rawBytes} from './fixtures.js';

const DIR = resolve(import.meta.dirname, '../fixtures/java-hessian');
const javaBodies = readdirSync(DIR).filter((name) => name.startsWith('req-')).map((name) => readFileSync(resolve(DIR, name)));
const jsBodies = [
  hessianRequestBody({service: 'com.example.UserService', method: 'getUser', desc: 'Ljava/lang/String;', args: ['42'], attachments: {'target-application': 'user-rpc', path: 'com.example.UserService'}}),
  hessianRequestBody({service: 'com.example.Ünïcode', method: 'grüße', desc: 'I', args: [7], attachments: {'target-application': 'app-ü', group: 'g1'}}),
  hessianRequestBody({service: 'com.example.Empty', method: 'ping', desc: '', args: [], attachments: {}}),
];

/** What a peek found, as plain data (the peeker's objects are reused, so they are copied here). */
function snapshot(result: PeekResult): unknown {
  if (!result.readable) return {readable: false, code: result.error.code, message: result.error.message};
  const {request} = result;
  return {
    readable: true,
    serializationId: result.serializationId,
    dubboVersion: request.dubboVersion,
    service: request.service,
    serviceVersion: request.serviceVersion,
    method: request.method,
    parameterTypes: request.parameterTypes,
    argumentCount: request.argumentCount,
    attachments: [...request.attachments],
    attachmentsRead: request.attachmentsRead,
  };
}

function frameFor(body: Buffer, serialization = 2): Buffer {
  return frameOf(0xc0 | serialization, 7n, body);
}

test('the peeker reads each body as a fresh peek does, in any order, reusing its objects', () => {
  const peeker = new RequestPeeker();
  const bodies = [...javaBodies, ...jsBodies];
  assert.ok(javaBodies.length >= 8, 'the Java fixtures are there');
  const random = prng(42);
  for (let i = 0; i < 200; i++) {
    const body = bodies[random.int(bodies.length)] as Buffer;
    assert.deepEqual(snapshot(peeker.peek(2, frameFor(body))), snapshot(tryPeekRequest(2, body)));
  }
});

test('broken bodies: the same error, with offsets counted from the body, and the next body reads cleanly', () => {
  const peeker = new RequestPeeker();
  const random = prng(7);
  const bodies = [...javaBodies, ...jsBodies];
  let failures = 0;
  for (let i = 0; i < 600; i++) {
    const good = bodies[random.int(bodies.length)] as Buffer;
    const broken = Buffer.from(good.subarray(0, random.int(good.length)));
    if (broken.length > 0 && random.int(2) === 0) broken[random.int(broken.length)] = random.int(256);
    const expected = snapshot(tryPeekRequest(2, broken));
    if ((expected as {readable: boolean}).readable === false) failures++;
    assert.deepEqual(snapshot(peeker.peek(2, frameFor(broken))), expected);
    // Nothing of the broken body (class definitions, attachments read so far) leaks into the next.
    const next = bodies[random.int(bodies.length)] as Buffer;
    assert.deepEqual(snapshot(peeker.peek(2, frameFor(next))), snapshot(tryPeekRequest(2, next)));
  }
  assert.ok(failures > 100, `enough of the mutations were unreadable (${failures})`);
});

test('other serializations and an empty body get the fresh peek answer', () => {
  const peeker = new RequestPeeker();
  assert.deepEqual(snapshot(peeker.peek(8, frameFor(Buffer.from([1, 2, 3]), 8))), snapshot(tryPeekRequest(8, Buffer.from([1, 2, 3]))));
  assert.deepEqual(snapshot(peeker.peek(2, frameFor(Buffer.alloc(0)))), snapshot(tryPeekRequest(2, Buffer.alloc(0))));
});

// The peeker remembers the bytes of the last request's leading fields and of its attachments map,
// and does not read them again when a body repeats them. Whatever a body repeats or changes, the
// answer must be a fresh peek's.
describe('what the peeker remembers of the last request', () => {
  const getUser = (attachments: Record<string, unknown>, args: unknown[] = ['42']) =>
    hessianRequestBody({service: 'com.example.UserService', method: 'getUser', desc: 'Ljava/lang/String;', args, attachments});

  test('the same method with other arguments, other attachments, or none: each read as a fresh peek', () => {
    const peeker = new RequestPeeker();
    const bodies = [
      getUser({'target-application': 'user-rpc', path: 'com.example.UserService'}),
      getUser({'target-application': 'user-rpc', path: 'com.example.UserService'}, ['43']),
      getUser({'target-application': 'order-rpc', path: 'com.example.UserService'}),
      getUser({'target-application': 'user-rpc', path: 'com.example.UserService', traceId: 'a1b2c3'}),
      getUser({}),
      hessianRequestBody({service: 'com.example.UserService', method: 'getUsers', desc: 'Ljava/lang/String;', args: ['42'], attachments: {'target-application': 'user-rpc'}}),
      hessianRequestBody({service: 'com.example.UserService', method: 'getUser', desc: 'I', args: [42], attachments: {'target-application': 'user-rpc'}}),
      hessianRequestBody({service: 'com.example.UserService', version: '1.0.0', method: 'getUser', desc: 'Ljava/lang/String;', args: ['42'], attachments: {'target-application': 'user-rpc'}}),
    ];
    const random = prng(11);
    for (let i = 0; i < 400; i++) {
      const body = bodies[random.int(bodies.length)] as Buffer;
      assert.deepEqual(snapshot(peeker.peek(2, frameFor(body))), snapshot(tryPeekRequest(2, body)));
    }
  });

  test('a body that repeats the leading bytes, then breaks, leaves nothing stale behind', () => {
    const peeker = new RequestPeeker();
    const good = getUser({'target-application': 'user-rpc'});
    const other = hessianRequestBody({service: 'com.example.OrderService', method: 'getOrder', desc: 'J', args: [7], attachments: {'target-application': 'order-rpc'}});
    for (let cut = 1; cut < good.length; cut++) {
      assert.deepEqual(snapshot(peeker.peek(2, frameFor(good))), snapshot(tryPeekRequest(2, good)));
      const broken = good.subarray(0, cut);
      assert.deepEqual(snapshot(peeker.peek(2, frameFor(broken))), snapshot(tryPeekRequest(2, broken)), `cut at ${cut}`);
      assert.deepEqual(snapshot(peeker.peek(2, frameFor(other))), snapshot(tryPeekRequest(2, other)));
      assert.deepEqual(snapshot(peeker.peek(2, frameFor(good))), snapshot(tryPeekRequest(2, good)), `after the cut at ${cut}`);
    }
  });

  test('the same attachment bytes after arguments that define classes are read again (they may mean something else)', () => {
    // An attachment value that is an object of class definition 0 ('`' = 0x60): its field count,
    // and so where the map goes on, is whatever the arguments defined as class 0.
    const attachmentsWithObject = (enc: Parameters<typeof rawBytes>[0]) => rawBytes(enc, [
      0x48, // 'H'
      0x01, 0x78, // key "x"
      0x60, 0x91, // object of class 0, one field: int 1
      0x01, 0x79, // key "y"
      0x01, 0x7a, // "z"
      0x5a, // 'Z'
    ]);
    const withFields = (fields: string[]) => hessianRequestBody({
      service: 'com.example.Shapes', method: 'draw', desc: 'Lcom/example/Shape;',
      writeArgs: (enc) => enc.write({$class: 'com.example.Shape', $: Object.fromEntries(fields.map((field, i) => [field, i]))}),
      attachments: attachmentsWithObject,
    });
    const oneField = withFields(['a']);
    const twoFields = withFields(['a', 'b']);
    const peeker = new RequestPeeker();
    for (const body of [oneField, twoFields, oneField, oneField, twoFields]) {
      assert.deepEqual(snapshot(peeker.peek(2, frameFor(body))), snapshot(tryPeekRequest(2, body)));
    }
    const one = snapshot(tryPeekRequest(2, oneField)) as {readable: boolean; attachments?: unknown};
    assert.equal(one.readable, true);
    assert.deepEqual(one.attachments, [['y', 'z']], 'with one field, "y" is a key');
  });

  test('strings the intern table files under one slot (same length, same sampled bytes) are told apart', () => {
    const peeker = new RequestPeeker();
    // Same length, same first, last, middle and quarter bytes: only the other bytes differ.
    const services = ['com.example.AaaaService', 'com.example.AbbbService', 'com.example.AcccService'];
    assert.ok(services.every((s) => s.length === services[0]?.length));
    for (let i = 0; i < 30; i++) {
      const service = services[i % services.length] as string;
      const body = hessianRequestBody({service, method: 'call', desc: '', args: [], attachments: {'target-application': service}});
      const result = peeker.peek(2, frameFor(body));
      assert.ok(result.readable);
      assert.equal(result.request.service, service);
      assert.equal(result.request.attachments.get('target-application'), service);
    }
  });
});
