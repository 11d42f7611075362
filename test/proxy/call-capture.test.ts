// The request path's side of the call inspector: while a CallCapture is held on, each call's bytes
// are copied into a `call-captured` event (the request as the consumer wrote it, the answer as it
// read it, cut at CAPTURE_LIMIT_BYTES); while it is off, nothing is copied and nothing is emitted.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type {IncomingHttpHeaders, ServerHttp2Stream} from 'node:http2';
import net from 'node:net';
import {describe, test} from 'node:test';
import {CAPTURE_LIMIT_BYTES, CallCapture} from '../../src/core/calls.js';
import type {CapturedCall, CapturedDubboCall, CapturedTripleCall} from '../../src/core/calls.js';
import {TunnelEventBus} from '../../src/core/events.js';
import type {RequestCompleted} from '../../src/core/events.js';
import {BoundedCopy, DubboCallCopy, copyFrame} from '../../src/proxy/call-copy.js';
import {Exchange} from '../../src/proxy/completion.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {PAD_BYTE, STREAM_ANSWERS_FROM} from '../../src/proxy/streamed-answer.js';
import {TestProvider} from '../support/dubbo-peers.js';
import type {DecodedRequest, WireFrame} from '../support/dubbo-wire.js';
import {WireReader, decodeRequest, encodeRequest, encodeResponse} from '../support/dubbo-wire.js';
import {freePort} from '../support/binary.js';
import {sleep, waitFor} from '../support/wait.js';
import {request, startTunnel} from './harness.js';
import type {Tunnel} from './harness.js';
import {encodeGrpcMessageFrame} from '../../src/protocol/grpc.js';

/** Every `call-captured` of a tunnel, each checked to follow its own `request-completed` at once. */
function captures(tunnel: Tunnel): CapturedCall[] {
  const captured: CapturedCall[] = [];
  let last: RequestCompleted | undefined;
  tunnel.events.on('request-completed', (completed) => {
    last = completed;
  });
  tunnel.events.on('call-captured', (call) => {
    assert.equal(call.completed, last, 'call-captured carries the very request-completed emitted just before it');
    captured.push(call);
  });
  return captured;
}

function dubbo(call: CapturedCall | undefined): CapturedDubboCall {
  assert.equal(call?.protocol, 'dubbo');
  return call;
}

function triple(call: CapturedCall | undefined): CapturedTripleCall {
  assert.equal(call?.protocol, 'triple');
  return call;
}

/** The frame as the consumer read it: header and body, its own id. */
function rawOf(frame: WireFrame | undefined): Buffer {
  assert.ok(frame !== undefined);
  return frame.raw;
}

/** A provider whose answers the test writes itself, in pieces if it likes. */
async function scriptedProvider(application: string, onRequest: (socket: net.Socket, request: DecodedRequest) => void): Promise<{application: string; port: number; close(): Promise<void>}> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const reader = new WireReader();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) if (frame.isRequest && !frame.event) onRequest(socket, decodeRequest(frame));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    application,
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes `bytes` in pieces of `size`, each on its own turn of the event loop. */
async function inPieces(socket: net.Socket, bytes: Buffer, size: number): Promise<void> {
  for (let at = 0; at < bytes.length; at += size) {
    socket.write(bytes.subarray(at, at + size));
    await sleep(2);
  }
}

/** An OK answer with a byte[] of `size` bytes and attachments: the kind that is streamed through. */
function bigAnswer(id: bigint, size: number): Buffer {
  const value = Buffer.alloc(size);
  for (let i = 0; i < size; i++) value[i] = (i * 7 + 3) & 0xff;
  return encodeResponse({id, result: {kind: 'value', value}, attachments: {dubbo: '2.0.2'}});
}

describe('Exchange and its copy', () => {
  test('without a copy: request-completed alone; with one: call-captured once, right after it, with the origin set before completing', () => {
    const events = new TunnelEventBus();
    const order: string[] = [];
    const captured: CapturedCall[] = [];
    events.on('request-completed', () => order.push('completed'));
    events.on('call-captured', (call) => {
      order.push('captured');
      captured.push(call);
    });
    const plain = new Exchange(events, 'dubbo', 1, 1n, false, 'user-rpc', 'S#m', undefined);
    assert.equal(plain.capturing, false);
    plain.complete(20, undefined, false, Buffer.from('answer'));
    assert.deepEqual(order, ['completed']);

    const request = Buffer.from('request bytes');
    const exchange = new Exchange(events, 'dubbo', 1, 2n, false, 'user-rpc', 'S#m', undefined);
    exchange.captureWith(new DubboCallCopy(copyFrame(request)));
    request.fill(0);
    exchange.origin = 'http';
    assert.equal(exchange.capturing, true);
    exchange.complete(20, undefined, false, [Buffer.from('ans'), Buffer.from('wer')]);
    exchange.complete(20, undefined, false, Buffer.from('again'));
    assert.deepEqual(order, ['completed', 'completed', 'captured']);
    const call = dubbo(captured[0]);
    assert.equal(call.request.bytes.toString(), 'request bytes', 'a copy: the frame\'s buffer may be reused after');
    assert.equal(call.answer?.bytes.toString(), 'answer');
    assert.equal(call.origin, 'http');
  });

  test('BoundedCopy and copyFrame keep at most CAPTURE_LIMIT_BYTES and count the rest', () => {
    const copy = new BoundedCopy();
    const piece = Buffer.alloc(100 * 1024, 1);
    for (let i = 0; i < 4; i++) copy.add(piece);
    const result = copy.result();
    assert.equal(result.length, 400 * 1024);
    assert.equal(result.bytes.length, CAPTURE_LIMIT_BYTES);
    const whole = copyFrame(Buffer.alloc(CAPTURE_LIMIT_BYTES + 1, 2));
    assert.deepEqual([whole.bytes.length, whole.length], [CAPTURE_LIMIT_BYTES, CAPTURE_LIMIT_BYTES + 1]);
    assert.deepEqual([new BoundedCopy().result().length, new BoundedCopy().result().bytes.length], [0, 0]);
  });
});

describe('Dubbo calls are captured only while capture is on', () => {
  test('off (no CallCapture, or one nobody holds): answers as before and no call-captured', async () => {
    const provider = await TestProvider.start({application: 'user-rpc'});
    for (const capture of [undefined, new CallCapture()]) {
      const tunnel = await startTunnel([provider], capture === undefined ? {} : {capture});
      const captured = captures(tunnel);
      try {
        const consumer = await tunnel.consumer();
        const answer = await consumer.call(request('user-rpc'));
        assert.equal(answer.kind === 'value' ? answer.value : undefined, 'user-rpc:getUser');
        consumer.send(encodeRequest({...request('user-rpc'), id: 90n, twoWay: false}));
        await consumer.call(request('nope-rpc'));
        await waitFor(() => tunnel.completed.length === 3);
        await sleep(20);
        assert.deepEqual(captured, []);
      } finally {
        await tunnel.close();
      }
    }
    await provider.close();
  });

  test('on: the request as the consumer wrote it (its own id) and the answer as it read it, whole and exact', async () => {
    const provider = await TestProvider.start({application: 'user-rpc', handler: (req) => ({value: `hello ${String(req.args[0])}`, attachments: {dubbo: '2.0.2', traceId: 't-1'}})});
    const capture = new CallCapture();
    const tunnel = await startTunnel([provider], {capture});
    const captured = captures(tunnel);
    const release = capture.hold();
    try {
      const consumer = await tunnel.consumer();
      const spec = {...request('user-rpc'), id: 0x1234_5678_9abcn};
      const before = Date.now();
      await consumer.call(spec);
      await waitFor(() => captured.length === 1);
      const call = dubbo(captured[0]);
      assert.ok(call.request.bytes.equals(encodeRequest(spec)), 'the request bytes are the consumer\'s, with its own id (not the upstream\'s)');
      assert.equal(call.request.length, call.request.bytes.length);
      assert.ok(call.answer !== undefined);
      assert.ok(call.answer.bytes.equals(rawOf(consumer.frames[0])), 'the answer bytes are what the consumer read');
      assert.ok(call.answer.bytes.equals(consumer.receivedBytes));
      assert.equal(call.answer.length, call.answer.bytes.length);
      assert.equal(call.origin, 'consumer');
      assert.ok(call.at >= before && call.at <= Date.now(), 'the wall-clock time of arrival');
      assert.equal(call.completed.application, 'user-rpc');
      assert.equal(call.completed.ok, true);
    } finally {
      release();
      await tunnel.close();
      await provider.close();
    }
  });

  test('a request that comes in pieces is copied whole, and the provider still gets it intact', async () => {
    const provider = await TestProvider.start({application: 'user-rpc'});
    const capture = new CallCapture();
    const tunnel = await startTunnel([provider], {capture});
    const captured = captures(tunnel);
    const release = capture.hold();
    const socket = net.connect({port: tunnel.server.port, host: '127.0.0.1'});
    try {
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.setNoDelay(true);
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      const spec = {...request('user-rpc', 'getUser', {note: 'x'.repeat(3000)}), id: 77n};
      const bytes = encodeRequest(spec);
      await inPieces(socket, bytes, 500);
      await waitFor(() => captured.length === 1);
      const call = dubbo(captured[0]);
      assert.ok(call.request.bytes.equals(bytes));
      assert.equal(call.request.length, bytes.length);
      assert.equal(provider.received[0]?.attachments['note'], 'x'.repeat(3000));
      await waitFor(() => Buffer.concat(received).length === call.answer?.length);
      assert.ok(call.answer?.bytes.equals(Buffer.concat(received)));
    } finally {
      socket.destroy();
      release();
      await tunnel.close();
      await provider.close();
    }
  });

  test('a streamed answer is collected as it passes: over the bound it is cut there, with its real length', async () => {
    const sizes = [100 * 1024, CAPTURE_LIMIT_BYTES + 40 * 1024];
    const big = await scriptedProvider('big-rpc', (socket, req) => {
      const frame = bigAnswer(req.id, sizes[Number(req.args[0])] ?? 0);
      void (async () => {
        // The header and some of the body first, the rest later: the tunnel passes it on as it comes.
        socket.write(frame.subarray(0, 20_000));
        await sleep(20);
        await inPieces(socket, frame.subarray(20_000), 32 * 1024);
      })();
    });
    const capture = new CallCapture();
    const tunnel = await startTunnel([big as unknown as TestProvider], {capture});
    const captured = captures(tunnel);
    const release = capture.hold();
    try {
      for (const [index, size] of sizes.entries()) {
        assert.ok(size >= STREAM_ANSWERS_FROM);
        const consumer = await tunnel.consumer();
        const answer = await consumer.call({...request('big-rpc'), args: [index], id: 5n}, 10_000);
        assert.equal(answer.kind, 'value');
        await waitFor(() => captured.length === index + 1);
        const call = dubbo(captured[index]);
        const read = consumer.receivedBytes;
        assert.equal(call.answer?.length, read.length, 'the real length of the answer');
        assert.ok(call.answer?.bytes.equals(read.subarray(0, CAPTURE_LIMIT_BYTES)), 'the bytes the consumer read, up to the bound');
        assert.equal(call.answer?.bytes.length, Math.min(read.length, CAPTURE_LIMIT_BYTES));
        assert.equal(call.answer?.bytes.readBigInt64BE(4), 5n, 'the consumer\'s id written back');
      }
    } finally {
      release();
      await tunnel.close();
      await big.close();
    }
  });

  test('a streamed answer whose provider dies midway: the padded answer the consumer got', async () => {
    const size = 150 * 1024;
    let frameLength = 0;
    const big = await scriptedProvider('big-rpc', (socket, req) => {
      const frame = bigAnswer(req.id, size);
      frameLength = frame.length;
      void (async () => {
        socket.write(frame.subarray(0, 90_000));
        await sleep(30);
        socket.destroy();
      })();
    });
    const capture = new CallCapture();
    const tunnel = await startTunnel([big as unknown as TestProvider], {capture});
    const captured = captures(tunnel);
    const release = capture.hold();
    try {
      const consumer = await tunnel.consumer();
      consumer.send(encodeRequest({...request('big-rpc'), args: ['x'], id: 9n}));
      await waitFor(() => captured.length === 1 && consumer.receivedBytes.length === frameLength);
      const call = dubbo(captured[0]);
      const read = consumer.receivedBytes;
      assert.equal(call.completed.code, 'DT_ERR_BACKEND_CLOSED');
      assert.equal(call.answer?.length, frameLength);
      assert.ok(call.answer?.bytes.equals(read), 'the answer as the consumer got it, padding included');
      assert.equal(read[read.length - 1], PAD_BYTE);
    } finally {
      release();
      await tunnel.close();
      await big.close();
    }
  });

  test('answers of dubbo-tunnel\'s own: no route, an unreachable backend, a request over the payload limit', async () => {
    const closedPort = await freePort();
    const capture = new CallCapture();
    const tunnel = await startTunnel([new StaticBackend('gone-rpc', '127.0.0.1', closedPort)], {capture, maxBodyLength: 2048});
    const captured = captures(tunnel);
    const release = capture.hold();
    try {
      const consumer = await tunnel.consumer();
      const noRoute = {...request('nope-rpc'), id: 1n};
      await consumer.call(noRoute);
      const unreachable = {...request('gone-rpc'), id: 2n};
      await consumer.call(unreachable);
      const tooLarge = {...request('gone-rpc', 'getUser', {note: 'y'.repeat(4000)}), id: 3n};
      await consumer.call(tooLarge);
      await waitFor(() => captured.length === 3);
      const byId = new Map(captured.map((call) => [call.completed.requestId, dubbo(call)]));
      for (const [index, [spec, code]] of ([[noRoute, 'DT_ERR_NO_ROUTE'], [unreachable, 'DT_ERR_BACKEND_UNAVAILABLE']] as const).entries()) {
        const call = byId.get(spec.id);
        assert.equal(call?.completed.code, code);
        assert.ok(call.request.bytes.equals(encodeRequest(spec)));
        assert.ok(call.answer?.bytes.equals(rawOf(consumer.frames[index])), `${code}: the error answer the consumer read`);
      }
      const large = byId.get(3n);
      assert.equal(large?.completed.code, 'DT_ERR_FRAME_TOO_LARGE');
      const sent = encodeRequest(tooLarge);
      assert.equal(large.request.length, sent.length, 'the request\'s real length');
      assert.ok(large.request.bytes.equals(sent.subarray(0, 16)), 'a request too large to read: its header alone');
      assert.ok(large.answer?.bytes.equals(rawOf(consumer.frames[2])));
    } finally {
      release();
      await tunnel.close();
    }
  });

  test('a one-way request: its bytes, no answer', async () => {
    const provider = await TestProvider.start({application: 'user-rpc'});
    const capture = new CallCapture();
    const tunnel = await startTunnel([provider], {capture});
    const captured = captures(tunnel);
    const release = capture.hold();
    try {
      const consumer = await tunnel.consumer();
      const bytes = encodeRequest({...request('user-rpc', 'notify'), id: 12n, twoWay: false});
      consumer.send(bytes);
      await waitFor(() => captured.length === 1 && provider.received.length === 1);
      const call = dubbo(captured[0]);
      assert.ok(call.request.bytes.equals(bytes));
      assert.equal(call.answer, undefined);
      assert.equal(call.completed.oneWay, true);
    } finally {
      release();
      await tunnel.close();
      await provider.close();
    }
  });

  test('hold and release mid-traffic: whether a call is captured is decided as it arrives', async () => {
    const gates = new Map<string, () => void>();
    const provider = await TestProvider.start({
      application: 'user-rpc',
      handler: (req) => new Promise((resolve) => gates.set(String(req.args[0]), () => resolve({value: `v-${String(req.args[0])}`, attachments: {}}))),
    });
    const capture = new CallCapture();
    const tunnel = await startTunnel([provider], {capture});
    const captured = captures(tunnel);
    try {
      const consumer = await tunnel.consumer();
      const call = (name: string, id: bigint) => consumer.call({...request('user-rpc'), args: [name], id});
      const open = (name: string) => {
        const gate = gates.get(name);
        assert.ok(gate !== undefined, `${name} reached the provider`);
        gate();
      };
      // A arrives while off; B while on; A is answered while on: A is not captured.
      const a = call('a', 1n);
      await waitFor(() => gates.has('a'));
      const release = capture.hold();
      const b = call('b', 2n);
      await waitFor(() => gates.has('b'));
      open('a');
      open('b');
      await Promise.all([a, b]);
      // C arrives while on and is answered after capture went off: C is captured; D arrives while off.
      const c = call('c', 3n);
      await waitFor(() => gates.has('c'));
      release();
      const d = call('d', 4n);
      await waitFor(() => gates.has('d'));
      open('c');
      open('d');
      await Promise.all([c, d]);
      await waitFor(() => tunnel.completed.length === 4);
      await sleep(20);
      assert.deepEqual(captured.map((entry) => entry.completed.requestId), [2n, 3n]);
      // Two holders: capture stays on until both let go.
      const first = capture.hold();
      const second = capture.hold();
      first();
      first();
      assert.equal(capture.on, true);
      await Promise.all([call('e', 5n), (async () => {
        await waitFor(() => gates.has('e'));
        open('e');
      })()]);
      second();
      assert.equal(capture.on, false);
      await waitFor(() => captured.length === 3);
      assert.equal(captured[2]?.completed.requestId, 5n);
    } finally {
      await tunnel.close();
      await provider.close();
    }
  });
});

/** A Triple provider on node:http2 whose answers the test writes: headers, DATA, trailers. */
async function http2Provider(application: string, onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer) => void): Promise<{backend: StaticBackend; close(): Promise<void>}> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const pieces: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => pieces.push(chunk));
    stream.on('end', () => onStream(stream, headers, Buffer.concat(pieces)));
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    backend: StaticBackend.tripleOnly(application, {host: '127.0.0.1', port}),
    async close() {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One gRPC length-prefixed message. */
const grpcMessage = encodeGrpcMessageFrame;

interface Http2Answer {
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders | undefined;
}

/** One call over node:http2: what the client read, every byte of it. */
async function http2Call(port: number, headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<Http2Answer> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<Http2Answer>((resolve, reject) => {
      const stream = session.request({':method': 'POST', 'content-type': 'application/grpc', te: 'trailers', ...headers});
      let responseHeaders: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders | undefined;
      const pieces: Buffer[] = [];
      stream.on('response', (response) => {
        responseHeaders = response;
      });
      stream.on('trailers', (received: IncomingHttpHeaders) => {
        trailers = received;
      });
      stream.on('data', (chunk: Buffer) => pieces.push(chunk));
      stream.on('error', reject);
      stream.on('close', () => resolve({headers: responseHeaders, body: Buffer.concat(pieces), trailers}));
      stream.end(body);
    });
  } finally {
    session.close();
  }
}

describe('Triple calls are captured only while capture is on', () => {
  test('headers, DATA each way, response headers and trailers; a large request cut at the bound; off: nothing', async () => {
    const provider = await http2Provider('echo-rpc', (stream, _headers, body) => {
      stream.respond({':status': 200, 'content-type': 'application/grpc', 'x-served-by': 'echo-rpc'}, {waitForTrailers: true});
      stream.on('wantTrailers', () => stream.sendTrailers({'grpc-status': '0', 'x-request-bytes': String(body.length)}));
      stream.end(grpcMessage(Buffer.from(`echo of ${body.length} bytes`)));
    });
    const capture = new CallCapture();
    const tunnel = await startTunnel([provider.backend], {capture});
    const captured = captures(tunnel);
    const path = '/tunnel.test.EchoService/Echo';
    try {
      const small = grpcMessage(Buffer.from('{"text":"hi"}'));
      const off = await http2Call(tunnel.server.port, {':path': path, 'x-test': 'off'}, small);
      assert.equal(off.trailers?.['grpc-status'], '0');
      await waitFor(() => tunnel.completed.length === 1);

      const release = capture.hold();
      const answered = await http2Call(tunnel.server.port, {':path': path, 'x-test': 'on', 'x-multi': ['a', 'b']}, small);
      const large = grpcMessage(Buffer.alloc(CAPTURE_LIMIT_BYTES + 10_000, 0x61));
      const largeAnswer = await http2Call(tunnel.server.port, {':path': path}, large);
      release();
      await waitFor(() => captured.length === 2);
      await sleep(20);
      assert.equal(captured.length, 2, 'the call made while off is not captured');

      const call = triple(captured[0]);
      assert.equal(call.path, path);
      assert.equal(call.origin, 'consumer');
      assert.equal(call.requestHeaders[':path'], path);
      assert.equal(call.requestHeaders['x-test'], 'on');
      assert.equal(call.requestHeaders['x-multi'], 'a, b');
      assert.ok(call.request.bytes.equals(small), 'the DATA the consumer sent');
      assert.equal(call.request.length, small.length);
      assert.ok(call.answer.bytes.equals(answered.body), 'the DATA the consumer read');
      assert.equal(call.answer.length, answered.body.length);
      assert.equal(call.responseHeaders?.['x-served-by'], 'echo-rpc');
      assert.equal(call.responseHeaders?.[':status'], '200');
      assert.deepEqual({status: call.trailers?.['grpc-status'], bytes: call.trailers?.['x-request-bytes']}, {status: '0', bytes: String(small.length)});
      assert.equal(call.completed.protocol, 'triple');
      assert.equal(call.completed.status, 0);

      const big = triple(captured[1]);
      assert.equal(largeAnswer.trailers?.['x-request-bytes'], String(large.length), 'the provider got the whole request');
      assert.equal(big.request.length, large.length);
      assert.equal(big.request.bytes.length, CAPTURE_LIMIT_BYTES);
      assert.ok(big.request.bytes.equals(large.subarray(0, CAPTURE_LIMIT_BYTES)));
    } finally {
      await tunnel.close();
      await provider.close();
    }
  });

  test('a call dubbo-tunnel answers itself (UNIMPLEMENTED) and a provider\'s trailers-only error', async () => {
    const provider = await http2Provider('echo-rpc', (stream) => {
      stream.respond({':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'not found'}, {endStream: true});
    });
    const capture = new CallCapture();
    const tunnel = await startTunnel([provider.backend], {capture});
    const captured = captures(tunnel);
    const release = capture.hold();
    try {
      const unimplemented = await http2Call(tunnel.server.port, {':path': '/tunnel.test.EchoService/Echo', 'target-application': 'nope-rpc'}, grpcMessage(Buffer.from('x')));
      assert.equal(unimplemented.headers['grpc-status'], '12');
      await waitFor(() => captured.length === 1);
      const local = triple(captured[0]);
      assert.equal(local.completed.status, 12);
      assert.equal(local.completed.code, 'DT_ERR_NO_ROUTE');
      assert.equal(local.requestHeaders['target-application'], 'nope-rpc');
      assert.equal(local.responseHeaders, undefined, 'no response headers came from a provider');
      assert.equal(local.trailers?.['grpc-status'], '12');
      assert.equal(local.trailers['grpc-message'], unimplemented.headers['grpc-message']);
      assert.equal(local.answer.length, 0);

      const notFound = await http2Call(tunnel.server.port, {':path': '/tunnel.test.EchoService/Echo'}, grpcMessage(Buffer.from('y')));
      assert.equal(notFound.headers['grpc-status'], '5');
      await waitFor(() => captured.length === 2);
      const error = triple(captured[1]);
      assert.equal(error.completed.status, 5);
      assert.equal(error.trailers?.['grpc-message'], 'not found');
      assert.equal(error.responseHeaders?.['grpc-status'], '5');
      assert.ok(error.request.bytes.equals(grpcMessage(Buffer.from('y'))));
    } finally {
      release();
      await tunnel.close();
      await provider.close();
    }
  });
});
