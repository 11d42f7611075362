// RequestPeeker reads request after request into the same objects (the router's allocation-free
// path). It must read every body exactly as a fresh peekRequest does: same fields, same
// attachments, same errors, whatever the body before it left behind (class definitions, a
// half-read map, a failure).
import assert from 'node:assert/strict';
import {readFileSync, readdirSync} from 'node:fs';
import {resolve} from 'node:path';
import {test} from 'node:test';
import {RequestPeeker, tryPeekRequest} from '../../src/protocol/request-peek.js';
import type {PeekResult} from '../../src/protocol/request-peek.js';
import {frameOf, hessianRequestBody, prng} from './fixtures.js';

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
