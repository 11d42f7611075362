// Frames the proxy writes itself, checked byte for byte and read back with hessian.js, plus the
// Hessian 2 string encoder against hessian.js's EncoderV2 (which writes CESU-8 like Java).
import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import hessian from 'hessian.js';
import {readHeader} from '../../src/protocol/header.js';
import {encodeHessian2String, hessian2StringLength} from '../../src/protocol/hessian-string.js';
import {READONLY_EVENT_ID, classifyEvent, encodeErrorResponse, encodeHeartbeatRequest, encodeHeartbeatResponse, encodeReadonlyEvent as encodeOwnReadonlyEvent, nullBytesOf} from '../../src/protocol/responses.js';
import {decodeResponse, encodeHeartbeatRequest as wireHeartbeat, encodeReadonlyEvent, parseFrame} from '../support/dubbo-wire.js';
import {hex} from './fixtures.js';

function readBack(encoded: Buffer): unknown {
  const decoder = new hessian.DecoderV2(encoded);
  const value = decoder.read();
  assert.equal(decoder.byteBuffer.position(), encoded.length, 'trailing bytes after the string');
  return value;
}

describe('encodeErrorResponse', () => {
  it('writes an error response byte for byte (status 80, id 7, "no route")', () => {
    assert.deepEqual(
      encodeErrorResponse(7n, 80, 'no route'),
      hex('da bb 02 50 00 00 00 00 00 00 00 07 00 00 00 09 08 6e 6f 20 72 6f 75 74 65'),
    );
  });

  it('uses the 0x30 form for a 54-char message (status 70)', () => {
    const message = 'dubbo-tunnel: no route for target-application=user-rpc';
    assert.equal(message.length, 54);
    const frame = encodeErrorResponse(7n, 70, message);
    assert.deepEqual(frame.subarray(0, 18), hex('da bb 02 46 00 00 00 00 00 00 00 07 00 00 00 38 30 36'));
    assert.equal(frame.subarray(18).toString('latin1'), message);
  });

  it('copies a negative request id verbatim', () => {
    const frame = encodeErrorResponse(-2n, 60, 'x');
    assert.deepEqual(frame.subarray(4, 12), hex('ff ff ff ff ff ff ff fe'));
  });

  for (const [name, message] of [
    ['empty', ''],
    ['emoji', 'failed 😀 to route 𝄞'],
    ['Chinese', '没有找到路由'],
    ['40 000 chars with an emoji on the 32 768 boundary', `${'a'.repeat(0x7fff)}😀${'b'.repeat(40_000 - 0x8001)}`],
    ['1023 units (the largest 0x30-0x33 form)', 'x'.repeat(1023)],
    ['exactly 32 768 units', 'y'.repeat(0x8000)],
  ] as const) {
    it(`reads back with hessian.js: ${name}`, () => {
      const frame = encodeErrorResponse(12345678901234n, 80, message);
      const decoded = decodeResponse(parseFrame(frame));
      assert.equal(decoded.kind, 'error');
      assert.equal(decoded.status, 80);
      assert.equal(decoded.id, 12345678901234n);
      assert.equal(decoded.serializationId, 2);
      assert.equal(decoded.event, false);
      assert.equal(frame[2], 0x02, 'no REQUEST/TWOWAY/EVENT bits');
      assert.equal((decoded as {message: string}).message, message);
    });
  }
});

describe('encodeHessian2String', () => {
  const samples = [
    '', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(1023), 'x'.repeat(1024), 'é'.repeat(1000), '中'.repeat(2000),
    'x'.repeat(0x8000), 'x'.repeat(0x8001), `${'x'.repeat(0x7fff)}😀`, `${'x'.repeat(0x7fff)}😀tail`,
    '😀'.repeat(40_000), `mixed ascii é 中 😀 ${'z'.repeat(70_000)}`, '\u0000\u007f\u0080\u07ff\u0800\uffff',
  ];

  it('writes the same bytes as hessian.js EncoderV2.writeString (CESU-8, Java chunking)', () => {
    for (const s of samples) {
      const expected = new hessian.EncoderV2().writeString(s).get();
      const actual = encodeHessian2String(s);
      assert.ok(actual.equals(expected), `differs for a ${s.length}-unit string`);
      assert.equal(hessian2StringLength(s), actual.length);
      assert.equal(readBack(actual), s);
    }
  });

  it('writes a supplementary character as two 3-byte surrogates, not 4-byte UTF-8', () => {
    assert.deepEqual(encodeHessian2String('😀'), hex('02 ed a0 bd ed b8 80'));
  });

  it("never ends an 'R' chunk on a high surrogate", () => {
    const s = `${'x'.repeat(0x7fff)}😀`;
    const bytes = encodeHessian2String(s);
    assert.deepEqual(bytes.subarray(0, 3), hex('52 7f ff')); // 0x7fff units, the pair moves to the final chunk
    assert.deepEqual(bytes.subarray(3 + 0x7fff, 3 + 0x7fff + 1), hex('02'));
  });

  it("uses 'S' 0x80 0x00 for exactly 0x8000 units", () => {
    assert.deepEqual(encodeHessian2String('y'.repeat(0x8000)).subarray(0, 3), hex('53 80 00'));
  });
});

describe('heartbeats', () => {
  it('answers a heartbeat: da bb 22 14 <id> 00 00 00 01 4e', () => {
    const request = wireHeartbeat(0x1122334455667788n);
    const header = readHeader(request);
    const response = encodeHeartbeatResponse(header, request.subarray(16));
    assert.deepEqual(response, hex('da bb 22 14 11 22 33 44 55 66 77 88 00 00 00 01 4e'));
    const decoded = decodeResponse(parseFrame(response));
    assert.equal(decoded.kind, 'heartbeat');
  });

  it("keeps the request's serialization id and body in the answer (fastjson2)", () => {
    const body = hex('00 00 00 01 af');
    const request = Buffer.concat([hex('da bb f7 00 00 00 00 00 00 00 00 03 00 00 00 05'), body]); // 0xe0 | 23
    const response = encodeHeartbeatResponse(readHeader(request), body);
    assert.deepEqual(response, Buffer.concat([hex('da bb 37 14 00 00 00 00 00 00 00 03 00 00 00 05'), body]));
  });

  it('writes heartbeat requests: da bb e2 00 <id> 00 00 00 01 4e', () => {
    assert.deepEqual(encodeHeartbeatRequest(5n), hex('da bb e2 00 00 00 00 00 00 00 00 05 00 00 00 01 4e'));
    assert.deepEqual(encodeHeartbeatRequest(5n), wireHeartbeat(5n));
    assert.deepEqual(encodeHeartbeatRequest(1n, 23), hex('da bb f7 00 00 00 00 00 00 00 00 01 00 00 00 05 00 00 00 01 af'));
    assert.throws(() => encodeHeartbeatRequest(1n, 8), (e: unknown) => (e as {code?: string}).code === 'DT_ERR_UNSUPPORTED_SERIALIZATION');
  });

  it('knows the null bytes of hessian2 and fastjson2 only', () => {
    assert.deepEqual(nullBytesOf(2), hex('4e'));
    assert.deepEqual(nullBytesOf(23), hex('00 00 00 01 af'));
    assert.equal(nullBytesOf(8), undefined);
  });
});

describe('classifyEvent', () => {
  const kind = (frame: Buffer): string => classifyEvent(readHeader(frame), frame.subarray(16));

  it('classifies heartbeats, READONLY and WRITEABLE', () => {
    assert.equal(kind(wireHeartbeat(1n)), 'heartbeat');
    assert.equal(kind(hex('da bb 22 14 00 00 00 00 00 00 00 01 00 00 00 01 4e')), 'heartbeat'); // a heartbeat response
    assert.equal(kind(encodeReadonlyEvent(1n, 'R')), 'readonly');
    assert.equal(kind(encodeReadonlyEvent(1n, 'W')), 'writeable');
    // fastjson2 forms: null record, and "R" as a 1-char JSONB string (0x4a = BC_STR_ASCII_FIX_MIN + 1)
    assert.equal(kind(hex('da bb f7 00 00 00 00 00 00 00 00 01 00 00 00 05 00 00 00 01 af')), 'heartbeat');
    assert.equal(kind(hex('da bb b7 00 00 00 00 00 00 00 00 01 00 00 00 06 00 00 00 02 4a 52')), 'readonly');
  });

  it('treats any other two-way event as a heartbeat, and a one-way one as other', () => {
    assert.equal(kind(hex('da bb e8 00 00 00 00 00 00 00 00 01 00 00 00 02 01 02')), 'heartbeat'); // kryo two-way event
    assert.equal(kind(hex('da bb a2 00 00 00 00 00 00 00 00 01 00 00 00 02 01 48')), 'other'); // one-way "H"
    assert.equal(kind(hex('da bb a2 00 00 00 00 00 00 00 00 01 00 00 00 01 4e')), 'heartbeat'); // one-way but null body
  });
});

describe('encodeReadonlyEvent (what the listener sends each Dubbo consumer when it stops)', () => {
  it('is the frame a Dubbo provider sends on a graceful shutdown: one-way event 0xa2, status 0, body hessian2 "R"', () => {
    assert.deepEqual(encodeOwnReadonlyEvent(), hex('da bb a2 00 ff ff ff ff ff ff ff ff 00 00 00 02 01 52'));
    const header = readHeader(encodeOwnReadonlyEvent());
    assert.equal(header.isRequest && header.event && !header.twoWay, true);
    assert.equal(classifyEvent(header, encodeOwnReadonlyEvent().subarray(16)), 'readonly');
    assert.equal(readBack(encodeOwnReadonlyEvent().subarray(16)), 'R');
  });

  it('matches the test peers\' READONLY but for the id, which no consumer call ever has (-1)', () => {
    const theirs = encodeReadonlyEvent(5n);
    const ours = encodeOwnReadonlyEvent();
    assert.deepEqual(ours.subarray(0, 4), theirs.subarray(0, 4));
    assert.deepEqual(ours.subarray(12), theirs.subarray(12));
    assert.equal(READONLY_EVENT_ID, -1n);
  });
});
