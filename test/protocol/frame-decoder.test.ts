// FrameDecoder against hand-written headers (one comment per field, after ExchangeCodecTest.java:
// bad magic, need-more header, need-more body, payload check, negative length, heartbeat, event)
// and real request/response frames. Every stream is fed whole, byte by byte and split everywhere.
import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {FrameDecoder} from '../../src/protocol/frame-decoder.js';
import {encodeHeartbeatRequest, encodeReadonlyEvent, encodeRequest, encodeResponse, java} from '../support/dubbo-wire.js';
import {RecordingSink, decodeAllWays, decodeChunks, frameOf, header, hex} from './fixtures.js';

/** Hex with one `# comment` per field, as in the byte layouts of ExchangeCodecTest.java. */
function fields(annotated: string): Buffer {
  return hex(annotated.replace(/#[^\n]*/g, ''));
}

function frames(result: ReturnType<typeof decodeChunks>): Buffer[] {
  return result.events.map((e) => {
    assert.equal(e.kind, 'frame');
    return (e as {bytes: Buffer}).bytes;
  });
}

describe('FrameDecoder: hand-written headers', () => {
  it('decodes a heartbeat request (da bb e2 00 <id> 00 00 00 01 4e)', () => {
    const bytes = fields(`
      da bb                   # magic
      e2                      # REQUEST | TWOWAY | EVENT | hessian2
      00                      # status (unused on requests)
      00 00 00 00 00 00 01 02 # request id 258
      00 00 00 01             # body length 1
      4e                      # body: hessian2 null
    `);
    const result = decodeAllWays(bytes);
    assert.equal(result.bufferedBytes, 0);
    assert.equal(result.events.length, 1);
    const event = result.events[0];
    assert.ok(event?.kind === 'frame');
    assert.deepEqual(event.header, {
      flags: 0xe2, status: 0, requestId: 258n, bodyLength: 1, isRequest: true, twoWay: true, event: true, serializationId: 2,
    });
    assert.deepEqual(event.bytes, bytes);
  });

  it('decodes a READONLY event (a2, body "R") and a heartbeat response (22, status 20)', () => {
    const readonly = fields(`
      da bb                   # magic
      a2                      # REQUEST | EVENT | hessian2, no TWOWAY: a one-way event
      00                      # status
      00 00 00 00 00 00 00 09 # request id 9
      00 00 00 02             # body length 2
      01 52                   # body: hessian2 string "R" (READONLY_EVENT)
    `);
    const heartbeatResponse = fields(`
      da bb                   # magic
      22                      # EVENT | hessian2 (a response: no REQUEST bit)
      14                      # status 20 OK
      00 00 00 00 00 00 00 09 # the request's id
      00 00 00 01             # body length 1
      4e                      # body: hessian2 null
    `);
    const result = decodeAllWays(Buffer.concat([readonly, heartbeatResponse]));
    assert.deepEqual(frames(result), [readonly, heartbeatResponse]);
    const [a, b] = result.events;
    assert.ok(a?.kind === 'frame' && b?.kind === 'frame');
    assert.equal(a.header.twoWay, false);
    assert.equal(a.header.event, true);
    assert.equal(b.header.isRequest, false);
    assert.equal(b.header.status, 20);
    // The helper in test/support writes the same bytes.
    assert.deepEqual(encodeReadonlyEvent(9n), readonly);
  });

  it('decodes a zero-length body', () => {
    const bytes = hex('dabb 02 14 0000000000000001 00000000'); // response, status 20, body length 0
    const result = decodeAllWays(bytes);
    assert.deepEqual(frames(result), [bytes]);
  });

  it('waits for more when the header is incomplete (need more input, header)', () => {
    const partial = header({flags: 0xc2, id: 1n, length: 10}).subarray(0, 15);
    for (let n = 1; n <= 15; n++) {
      const result = decodeChunks([partial.subarray(0, n)]);
      assert.deepEqual(result.events, []);
      assert.equal(result.bufferedBytes, n);
      assert.equal(result.failed, false);
    }
  });

  it('waits for more when the body is incomplete (need more input, body)', () => {
    const bytes = Buffer.concat([header({flags: 0xc2, id: 1n, length: 10}), Buffer.alloc(5, 0x4e)]); // 5 of 10 body bytes
    const result = decodeAllWays(bytes);
    assert.deepEqual(result.events, []);
    assert.equal(result.bufferedBytes, 21);
  });

  it('a single 0xda byte is "need more", not an error; the second byte decides', () => {
    const sink = new RecordingSink();
    const decoder = new FrameDecoder(sink);
    decoder.push(Buffer.from([0xda]));
    assert.equal(decoder.failed, false);
    assert.equal(decoder.bufferedBytes, 1);
    decoder.push(Buffer.from([0x00]));
    assert.equal(decoder.failed, true);
    assert.equal(sink.events[0]?.kind, 'fatal');
    assert.equal(decoder.bufferedBytes, 0);
  });

  it('rejects bad magic at the start of the stream (DT_ERR_BAD_MAGIC)', () => {
    const bytes = fields(`
      da bc                   # magic 0xdabc: wrong second byte
      c2                      # REQUEST | TWOWAY | hessian2
      00                      # status
      00 00 00 00 00 00 00 01 # request id 1
      00 00 00 01             # body length 1
      4e                      # body
    `);
    const result = decodeAllWays(bytes);
    assert.equal(result.failed, true);
    assert.equal(result.events.length, 1);
    const event = result.events[0];
    assert.ok(event?.kind === 'fatal');
    assert.equal(event.code, 'DT_ERR_BAD_MAGIC');
    assert.match(event.message, /at the start of the stream.*binary data 0xda 0xbc/);
    assert.deepEqual(event.firstBytes.subarray(0, 2), hex('dabc'));
  });

  it('rejects bad magic after good frames and says where', () => {
    const good = frameOf(0xc2, 1n, hex('4e'));
    const result = decodeAllWays(Buffer.concat([good, Buffer.from('ls\r\n')]));
    assert.equal(result.events.length, 2);
    const fatal = result.events[1];
    assert.ok(fatal?.kind === 'fatal');
    assert.equal(fatal.code, 'DT_ERR_BAD_MAGIC');
    assert.match(fatal.message, /at byte 17, after 1 frame\(s\).*text \(telnet\?\): "ls\\r\\n"/);
    assert.deepEqual(fatal.firstBytes, Buffer.from('ls\r\n'));
  });

  it('describes an HTTP request and a TLS ClientHello', () => {
    const http = decodeChunks([Buffer.from('GET /foo HTTP/1.1\r\nHost: localhost\r\n\r\n')]);
    assert.match((http.events[0] as {message: string}).message, /an HTTP request \(GET \/foo HTTP\/1\.1\)/);
    const tls = decodeChunks([hex('16 03 01 00 f1 01 00 00 ed 03 03')]);
    assert.match((tls.events[0] as {message: string}).message, /a TLS ClientHello \(is the client using TLS\?\)/);
  });

  it('rejects a negative body length (DT_ERR_BAD_LENGTH) and decodes nothing after it', () => {
    const bad = header({flags: 0xc2, id: 5n, length: -1}); // length 0xffffffff
    const good = frameOf(0xc2, 6n, hex('4e'));
    const result = decodeAllWays(Buffer.concat([bad, good]));
    assert.equal(result.failed, true);
    assert.equal(result.events.length, 1);
    const event = result.events[0];
    assert.ok(event?.kind === 'fatal');
    assert.equal(event.code, 'DT_ERR_BAD_LENGTH');
    assert.match(event.message, /negative body length -1/);
  });

  it('payload check: exactly max is a frame, max+1 is oversize and skipped (ExchangeCodecTest Check_Payload)', () => {
    const max = 10;
    const atLimit = frameOf(0xc2, 1n, Buffer.alloc(max, 0x41));
    const over = frameOf(0xc2, 2n, Buffer.alloc(max + 1, 0x42));
    const after = frameOf(0xc2, 3n, hex('4e'));
    const result = decodeAllWays(Buffer.concat([atLimit, over, after]), {maxBodyLength: max});
    assert.equal(result.events.length, 3);
    const first = result.events[0];
    assert.ok(first?.kind === 'frame');
    assert.deepEqual(first.bytes, atLimit);
    const oversize = result.events[1];
    assert.ok(oversize?.kind === 'oversize');
    assert.equal(oversize.header.requestId, 2n);
    assert.equal(oversize.header.bodyLength, 11);
    assert.deepEqual((result.events[2] as {bytes: Buffer}).bytes, after);
    assert.equal(result.bufferedBytes, 0);
  });

  it('never buffers an oversize body while skipping it', () => {
    const sink = new RecordingSink();
    const decoder = new FrameDecoder(sink, {maxBodyLength: 1024});
    decoder.push(header({flags: 0xc2, id: 1n, length: 1_000_000}).subarray(0, 10));
    assert.equal(decoder.bufferedBytes, 10);
    decoder.push(Buffer.concat([header({flags: 0xc2, id: 1n, length: 1_000_000}).subarray(10), Buffer.alloc(100)]));
    assert.equal(sink.events.length, 1);
    assert.equal(sink.events[0]?.kind, 'oversize');
    assert.equal(decoder.bufferedBytes, 0);
    let left = 1_000_000 - 100;
    while (left > 65536) {
      decoder.push(Buffer.alloc(65536));
      left -= 65536;
      assert.equal(decoder.bufferedBytes, 0);
    }
    const next = frameOf(0x02, 2n, hex('91 05 68 65 6c 6c 6f'), 20);
    decoder.push(Buffer.concat([Buffer.alloc(left), next]));
    assert.equal(sink.events.length, 2);
    assert.deepEqual((sink.events[1] as {bytes: Buffer}).bytes, next);
  });

  it('uses DEFAULT_PAYLOAD (8 MiB) when no limit is given', () => {
    const result = decodeChunks([header({flags: 0xc2, id: 1n, length: 8 * 1024 * 1024 + 1})]);
    assert.equal(result.events[0]?.kind, 'oversize');
    const ok = decodeChunks([header({flags: 0xc2, id: 1n, length: 8 * 1024 * 1024})]);
    assert.deepEqual(ok.events, []);
    assert.equal(ok.bufferedBytes, 16);
  });
});

describe('FrameDecoder: real frames', () => {
  const request = encodeRequest({
    id: 0x0102030405060708n,
    service: 'com.example.UserService',
    method: 'getUser',
    parameterTypes: 'Ljava/lang/String;Lcom/example/Query;',
    args: ['alice', java.pojo('com.example.Query', {limit: 10, tags: ['a', 'b']})],
    attachments: {'target-application': 'user-rpc', path: 'com.example.UserService'},
  });
  const response = encodeResponse({id: 0x0102030405060708n, result: {kind: 'value', value: 'ok'}, attachments: {dubbo: '2.0.2'}});
  const heartbeat = encodeHeartbeatRequest(-5n);

  it('decodes several frames in one chunk, each as a zero-copy subarray of it', () => {
    const chunk = Buffer.concat([request, heartbeat, response, request]);
    const sink = new RecordingSink();
    const decoder = new FrameDecoder(sink);
    decoder.push(chunk);
    assert.equal(sink.raw.length, 4);
    let offset = 0;
    for (const frame of sink.raw) {
      assert.equal(frame.buffer, chunk.buffer, 'not a view of the chunk');
      assert.equal(frame.byteOffset, chunk.byteOffset + offset);
      offset += frame.length;
    }
    assert.deepEqual(sink.raw, [request, heartbeat, response, request]);
    assert.equal(decoder.bufferedBytes, 0);
  });

  it('gives the same frames whole, byte by byte and split at every offset', () => {
    const stream = Buffer.concat([request, heartbeat, response]);
    const result = decodeAllWays(stream);
    assert.deepEqual(frames(result), [request, heartbeat, response]);
    const [r, h] = result.events;
    assert.ok(r?.kind === 'frame' && h?.kind === 'frame');
    assert.equal(r.header.requestId, 0x0102030405060708n);
    assert.equal(h.header.requestId, -5n);
    assert.equal(result.bufferedBytes, 0);
  });

  it('keeps the tail of a partial frame after whole ones and reports it in bufferedBytes', () => {
    const stream = Buffer.concat([request, heartbeat.subarray(0, 10)]);
    const result = decodeAllWays(stream);
    assert.deepEqual(frames(result), [request]);
    assert.equal(result.bufferedBytes, 10);
  });

  it('decodes a 200 KiB frame arriving in 1 KiB chunks with one allocation and no concat', () => {
    const big = encodeRequest({
      id: 1n, service: 's', method: 'm', parameterTypes: '[B', args: [java.bytes(200 * 1024)], attachments: {},
    });
    const sink = new RecordingSink();
    const decoder = new FrameDecoder(sink);
    const chunks: Buffer[] = [];
    for (let i = 0; i < big.length; i += 1024) chunks.push(big.subarray(i, i + 1024));
    const tail = Buffer.concat([heartbeat, heartbeat]); // prepared before counting
    // Wrapped, and restored below, to count the copies a spanning frame costs.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const allocUnsafe = Buffer.allocUnsafe;
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const concat = Buffer.concat;
    const sizes: number[] = [];
    let concats = 0;
    Buffer.allocUnsafe = (size: number) => {
      sizes.push(size);
      return allocUnsafe(size);
    };
    Buffer.concat = (...args: Parameters<typeof Buffer.concat>) => {
      concats++;
      return concat(...args);
    };
    try {
      for (const c of chunks) decoder.push(c);
      decoder.push(tail);
    } finally {
      Buffer.allocUnsafe = allocUnsafe;
      Buffer.concat = concat;
    }
    assert.deepEqual(sizes, [big.length]);
    assert.equal(concats, 0);
    assert.deepEqual(sink.raw, [big, heartbeat, heartbeat]);
  });

  it('ignores pushes after close(), also when close() is called from inside a frame callback', () => {
    const sink = new RecordingSink();
    const decoder = new FrameDecoder(sink);
    sink.onFrame = () => decoder.close();
    decoder.push(Buffer.concat([request, heartbeat, response]));
    assert.equal(sink.events.length, 1);
    decoder.push(heartbeat);
    assert.equal(sink.events.length, 1);
    assert.equal(decoder.bufferedBytes, 0);
    assert.equal(decoder.failed, false);
  });

  it('stops when close() is called from inside an oversize callback', () => {
    const events: string[] = [];
    const decoder: FrameDecoder = new FrameDecoder({
      frame: () => events.push('frame'),
      oversize: () => {
        events.push('oversize');
        decoder.close();
      },
      fatal: () => events.push('fatal'),
    }, {maxBodyLength: 4});
    decoder.push(Buffer.concat([frameOf(0xc2, 1n, Buffer.alloc(5)), heartbeat]));
    decoder.push(heartbeat);
    assert.deepEqual(events, ['oversize']);
  });

  it('ignores pushes after a fatal error', () => {
    const sink = new RecordingSink();
    const decoder = new FrameDecoder(sink);
    decoder.push(Buffer.from('hello\r\n'));
    decoder.push(heartbeat);
    assert.equal(sink.events.length, 1);
    assert.equal(decoder.failed, true);
  });

  it('resumes after an oversize frame whose header and body were split across chunks', () => {
    const over = frameOf(0xc2, 9n, Buffer.alloc(300, 0x4e));
    const result = decodeAllWays(Buffer.concat([request, over, heartbeat]), {maxBodyLength: 200});
    assert.deepEqual(result.events.map((e) => e.kind), ['frame', 'oversize', 'frame']);
    assert.deepEqual((result.events[2] as {bytes: Buffer}).bytes, heartbeat);
  });
});
