// Pre-encoded Dubbo frames for the benchmark. Encoded once with hessian.js (the same shapes a Java
// consumer/provider writes, see test/support/dubbo-wire.ts), then re-used: per request only the
// 16-byte header is rebuilt with a new id, so the bench measures the proxy, not the encoder.
import {Buffer} from 'node:buffer';
import hessian from 'hessian.js';

const {EncoderV2} = hessian;

export const HEADER_LENGTH = 16;
export const TARGET_APPLICATION = 'bench-app';
export const SERVICE = 'org.apache.dubbo.bench.EchoService';

/** Fills a byte[] argument with a pattern (not zeros, so nothing along the way can cheat on them). */
function payload(n) {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/** Calls `encode(n)` with the byte[] size n adjusted until the body is exactly `target` bytes (binary chunk headers vary). */
function sizedBody(target, encode) {
  let n = Math.max(0, target - 200);
  for (let attempt = 0; attempt < 8; attempt++) {
    const body = encode(n);
    if (body.length === target) return body;
    n = Math.max(0, n + target - body.length);
  }
  throw new Error(`cannot size a body to ${target} bytes`);
}

/** Request body as DubboCodec.encodeRequestData writes it: 5 strings, the args, then the attachment map (last). */
export function requestBody(targetBytes, application = TARGET_APPLICATION) {
  return sizedBody(targetBytes, (n) => {
    const enc = new EncoderV2();
    enc.writeString('2.0.2');
    enc.writeString(SERVICE);
    enc.writeString('0.0.0');
    enc.writeString('echo');
    enc.writeString('[B');
    enc.write(payload(n));
    // The attachments a direct-connected Dubbo 3.3 consumer sends, plus the routing key.
    enc.write({
      path: SERVICE,
      interface: SERVICE,
      version: '0.0.0',
      timeout: '3000',
      'remote.application': 'bench-consumer',
      'target-application': application,
    });
    return enc.get();
  });
}

/** OK response body: flag 4 (0x94, value with attachments), a byte[] echo, then {dubbo: '2.0.2'}. */
export function responseBody(targetBytes) {
  return sizedBody(targetBytes, (n) => {
    const enc = new EncoderV2();
    enc.writeInt(4);
    enc.write(payload(n));
    enc.write({dubbo: '2.0.2'});
    return enc.get();
  });
}

/** Header of a two-way hessian2 request (0xC2), status 0. */
export function requestHeader(id, bodyLength) {
  const h = Buffer.allocUnsafe(HEADER_LENGTH);
  h[0] = 0xda;
  h[1] = 0xbb;
  h[2] = 0xc2;
  h[3] = 0;
  h.writeBigInt64BE(id, 4);
  h.writeInt32BE(bodyLength, 12);
  return h;
}

/** Header of an OK hessian2 response (flags 0x02, status 20) for `idBytes` (the request's 8 id bytes, copied verbatim). */
export function responseHeader(idSource, idOffset, bodyLength) {
  const h = Buffer.allocUnsafe(HEADER_LENGTH);
  h[0] = 0xda;
  h[1] = 0xbb;
  h[2] = 0x02;
  h[3] = 20;
  idSource.copy(h, 4, idOffset, idOffset + 8);
  h.writeInt32BE(bodyLength, 12);
  return h;
}

/** The request/response body sizes of the memory run (mixed sizes, connection churn). */
export const SIZES = [
  {name: '1 KiB', bytes: 1024},
  {name: '256 KiB', bytes: 256 * 1024},
];

export const USER_SERVICE = 'com.example.UserService';

/**
 * `UserService.getUser("42")` as a Dubbo 2.7 consumer sends it (DubboCodec.encodeRequestData): the
 * five header strings, one String argument, and the attachments a 2.7 consumer puts on a call
 * (path, interface, version) plus the routing key: 190 bytes with its 16-byte header.
 */
export function getUserRequestBody(application = TARGET_APPLICATION) {
  const enc = new EncoderV2();
  enc.writeString('2.0.2');
  enc.writeString(USER_SERVICE);
  enc.writeString('0.0.0');
  enc.writeString('getUser');
  enc.writeString('Ljava/lang/String;');
  enc.writeString('42');
  enc.write({path: USER_SERVICE, interface: USER_SERVICE, version: '0.0.0', 'target-application': application});
  return enc.get();
}

/** The provider's answer to getUser: flag 4 (value with attachments), a small User POJO, {dubbo: '2.0.2'}. */
export function userResponseBody() {
  const enc = new EncoderV2();
  enc.writeInt(4);
  enc.write({$class: 'com.example.User', $: {id: '42', name: 'Ada Lovelace', email: 'ada@example.com', age: 36}});
  enc.write({dubbo: '2.0.2'});
  return enc.get();
}

/** Body size of the large echo calls (docs/performance.md's target: 220 KB bodies both ways). */
export const LARGE_BYTES = 220 * 1024;

/**
 * The request shapes of the timed cases: `small` is getUser (a typical RPC), `large` an echo of a
 * 220 KiB byte[] (a bulk call). Each has its request body and the response the provider sends.
 */
export function shapes() {
  return {
    small: {name: 'small', request: getUserRequestBody(), response: userResponseBody()},
    large: {name: 'large', request: requestBody(LARGE_BYTES), response: responseBody(LARGE_BYTES)},
  };
}

/** Body size of the largest echo calls: a bulk answer (a file, a report) well past one socket read. */
export const HUGE_BYTES = 2 * 1024 * 1024;

/**
 * Small request bodies whose answers are large (answer-only cases): the provider picks its answer
 * by the request's body length, so each is a length no other shape has.
 */
const ANSWER_ONLY_REQUEST_BYTES = {large: 600, huge: 700};

/**
 * The shapes of the large-frame cases (static path only): `huge` echoes 2 MiB both ways;
 * `largeAnswer` and `hugeAnswer` send a small request and get 220 KiB or 2 MiB back, the shape of
 * a download, where only the answer is large.
 */
export function largeFrameShapes() {
  return {
    huge: {name: 'huge', request: requestBody(HUGE_BYTES), response: responseBody(HUGE_BYTES)},
    largeAnswer: {name: 'largeAnswer', request: requestBody(ANSWER_ONLY_REQUEST_BYTES.large), response: responseBody(LARGE_BYTES)},
    hugeAnswer: {name: 'hugeAnswer', request: requestBody(ANSWER_ONLY_REQUEST_BYTES.huge), response: responseBody(HUGE_BYTES)},
  };
}

/** Every request body the bench sends, with the response body the provider answers it with (keyed by request body length). */
export function responsesByRequestLength() {
  const map = new Map(SIZES.map(({bytes}) => [bytes, responseBody(bytes)]));
  for (const shape of [...Object.values(shapes()), ...Object.values(largeFrameShapes())]) map.set(shape.request.length, shape.response);
  return map;
}

/**
 * Incremental header parser: calls onHeader(headerBuf) for every frame, skipping bodies without
 * copying them. Used by both the provider and the load generator.
 */
export class FrameSkipper {
  constructor(onHeader, onFrameEnd) {
    this.header = Buffer.allocUnsafe(HEADER_LENGTH);
    this.fill = 0;
    this.remaining = 0;
    this.onHeader = onHeader;
    this.onFrameEnd = onFrameEnd;
  }

  push(chunk) {
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, len - off);
        off += n;
        this.remaining -= n;
        if (this.remaining === 0) this.onFrameEnd(this.header);
        continue;
      }
      const n = Math.min(HEADER_LENGTH - this.fill, len - off);
      chunk.copy(this.header, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === HEADER_LENGTH) {
        this.fill = 0;
        if (this.header[0] !== 0xda || this.header[1] !== 0xbb) throw new Error('bad magic in bench stream');
        this.remaining = this.header.readInt32BE(12);
        this.onHeader(this.header);
        if (this.remaining === 0) this.onFrameEnd(this.header);
      }
    }
  }
}

/** The timed cases of the throughput and cluster sections, narrowed by BENCH_CASES (names, comma-separated). */
export function timedCases() {
  const {small, large} = shapes();
  const all = [
    {name: 'small@64', shape: small, inFlight: 64},
    {name: 'large@8', shape: large, inFlight: 8},
    {name: 'small@1', shape: small, inFlight: 1},
  ];
  const wanted = process.env.BENCH_CASES?.split(',');
  return wanted === undefined ? all : all.filter((c) => wanted.includes(c.name));
}

/**
 * The large-frame cases of the throughput section (static path): 220 KiB and 2 MiB frames both
 * ways and answer-only, 8 in flight. `large@8` (220 KiB both ways) is one of timedCases. Narrowed by
 * BENCH_CASES like timedCases.
 */
export function largeFrameCases() {
  const {huge, largeAnswer, hugeAnswer} = largeFrameShapes();
  const all = [
    {name: 'large-answer@8', shape: largeAnswer, inFlight: 8},
    {name: 'huge@8', shape: huge, inFlight: 8},
    {name: 'huge-answer@8', shape: hugeAnswer, inFlight: 8},
  ];
  const wanted = process.env.BENCH_CASES?.split(',');
  return wanted === undefined ? all : all.filter((c) => wanted.includes(c.name));
}
