// Captured calls for the inspector's tests: Java fixture bodies wrapped in a 16-byte Dubbo header,
// and Triple streams built from their parts.
import {readFileSync} from 'node:fs';
import {resolve} from 'node:path';
import type {CapturedBytes, CapturedDubboCall, CapturedTripleCall} from '../../src/core/calls.js';
import type {RequestCompleted} from '../../src/core/events.js';
import {FLAG_REQUEST, FLAG_TWOWAY, SERIALIZATION, STATUS, writeHeader} from '../../src/protocol/header.js';
import {encodeGrpcMessageFrame} from '../../src/protocol/grpc.js';

export const JAVA_FIXTURES = resolve(import.meta.dirname, '../fixtures/java-hessian');

export function fixtureBody(file: string): Buffer {
  return readFileSync(resolve(JAVA_FIXTURES, file));
}

/** A whole frame: header (request: 0xC2 two-way hessian2; answer: status) and the body. */
export function dubboFrame(body: Buffer, options: {request: boolean; status?: number; serializationId?: number; requestId?: bigint}): Buffer {
  const frame = Buffer.alloc(16 + body.length);
  const serialization = options.serializationId ?? SERIALIZATION.HESSIAN2;
  writeHeader(frame, 0, {
    flags: options.request ? FLAG_REQUEST | FLAG_TWOWAY | serialization : serialization,
    status: options.request ? 0 : options.status ?? STATUS.OK,
    requestId: options.requestId ?? 5n,
    bodyLength: body.length,
  });
  body.copy(frame, 16);
  return frame;
}

/** All of `bytes`, or its first `limit` bytes as a capture cut at the bound keeps them. */
export function captured(bytes: Buffer, limit = Number.POSITIVE_INFINITY): CapturedBytes {
  return {bytes: bytes.length > limit ? Buffer.from(bytes.subarray(0, limit)) : bytes, length: bytes.length};
}

export function completed(overrides: Partial<RequestCompleted> = {}): RequestCompleted {
  return {
    connectionId: 1, requestId: 5n, application: 'orders-app', target: 'com.example.OrderService#createOrder',
    status: STATUS.OK, statusName: 'OK', ok: true, latencyMs: 4, oneWay: false, ...overrides,
  };
}

export const AT = Date.parse('2026-12-07T20:00:00.000Z');

export function dubboCall(requestBody: Buffer, answerBody: Buffer | undefined, options: {
  completed?: Partial<RequestCompleted>; status?: number; serializationId?: number; answerSerializationId?: number; limit?: number;
} = {}): CapturedDubboCall {
  const request = dubboFrame(requestBody, {request: true, ...(options.serializationId !== undefined ? {serializationId: options.serializationId} : {})});
  const answerSerialization = options.answerSerializationId ?? options.serializationId;
  const answer = answerBody === undefined ? undefined : dubboFrame(answerBody, {
    request: false, ...(options.status !== undefined ? {status: options.status} : {}), ...(answerSerialization !== undefined ? {serializationId: answerSerialization} : {}),
  });
  return {
    protocol: 'dubbo', at: AT, origin: 'consumer', completed: completed(options.completed),
    request: captured(request, options.limit), answer: answer === undefined ? undefined : captured(answer, options.limit),
  };
}

/** gRPC length-prefixed messages. */
export function grpcMessages(...messages: Buffer[]): Buffer {
  return Buffer.concat(messages.map(encodeGrpcMessageFrame));
}

export function tripleCall(parts: {
  path?: string; requestHeaders?: Record<string, string>; request: Buffer; responseHeaders?: Record<string, string> | undefined;
  answer?: Buffer; trailers?: Record<string, string> | undefined; completed?: Partial<RequestCompleted>; limit?: number;
}): CapturedTripleCall {
  return {
    protocol: 'triple', at: AT, origin: 'consumer',
    completed: completed({status: 0, statusName: 'grpc OK', protocol: 'triple', target: 'com.example.UserService#getUser', ...parts.completed}),
    path: parts.path ?? '/com.example.UserService/getUser',
    requestHeaders: parts.requestHeaders ?? {':path': parts.path ?? '/com.example.UserService/getUser', 'content-type': 'application/grpc+proto'},
    request: captured(parts.request, parts.limit),
    responseHeaders: 'responseHeaders' in parts ? parts.responseHeaders : {':status': '200', 'content-type': 'application/grpc+proto'},
    answer: captured(parts.answer ?? Buffer.alloc(0), parts.limit),
    trailers: 'trailers' in parts ? parts.trailers : {'grpc-status': '0'},
  };
}
