/**
 * Asking an application's Triple (HTTP/2) port what it exports, over one HTTP/2 session on one
 * Backend stream of that port (never a consumer's):
 *
 *  1. MetadataService.getMetadataInfos() over Triple: a Dubbo 3 provider whose only protocol is tri
 *     exports its MetadataService there (InternalServiceConfigBuilder picks the application's
 *     protocol), called in wrapper mode as a Java 3.2 consumer does (triple-metadata.ts);
 *  2. gRPC server reflection `list_services` (v1, then v1alpha): any gRPC server that enables it.
 *
 * Nothing here throws: each way that gives nothing adds a line to `misses`.
 */
import http2 from 'node:http2';
import type {ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders} from 'node:http2';
import type {BackendPort} from '../core/backend.js';
import {errorMessage} from '../core/errors.js';
import {GRPC_STATUS, GrpcAnswerReader, encodeGrpcMessageFrame, grpcRequestHeaders, grpcStatusName} from '../protocol/grpc.js';
import {REFLECTION_METHOD, REFLECTION_SERVICES, decodeReflectionAnswer, encodeReflectionRequest, isGrpcInfrastructureService} from '../protocol/grpc-reflection.js';
import {TRIPLE_CONTENT_TYPE} from '../protocol/triple-wrapper.js';
import {METADATA_SERVICE, isInternalService, normalizeServiceKey} from '../router/service-key.js';
import type {MetadataAnswer} from './metadata-service.js';
import {METADATA_SERVICE_VERSION} from './metadata-service.js';
import {decodeTripleMetadataAnswer, encodeTripleMetadataRequest} from './triple-metadata.js';

/** What the Triple port said; `keys` only when a way listed services. */
export interface TripleProbeOutcome {
  keys?: string[];
  via?: 'triple-metadata-service' | 'grpc-reflection';
  providerApplication?: string;
  misses: string[];
}

/** Answers are small lists; anything bigger is not what was asked for. */
const MAX_MESSAGE = 16 * 1024 * 1024;

export async function probeTriplePort(port: BackendPort, application: string, options: {timeoutMs: number; signal?: AbortSignal; consumerApplication: string}): Promise<TripleProbeOutcome> {
  let session: ClientHttp2Session;
  try {
    session = await openSession(port, options.timeoutMs, options.signal);
  } catch (error) {
    return {misses: [`Triple MetadataService: cannot connect: ${errorMessage(error)}`]};
  }
  const onAbort = () => session.destroy();
  options.signal?.addEventListener('abort', onAbort, {once: true});
  try {
    const misses: string[] = [];
    const metadata = await askMetadataService(session, application, options);
    if (metadata.keys !== undefined && metadata.keys.length > 0) {
      return {keys: metadata.keys, via: 'triple-metadata-service', ...(metadata.application === undefined ? {} : {providerApplication: metadata.application}), misses};
    }
    misses.push(`Triple MetadataService: ${metadata.miss}`);
    if (options.signal?.aborted === true) return {misses};
    const reflection = await askReflection(session, options.timeoutMs);
    if (reflection.keys !== undefined && reflection.keys.length > 0) {
      return {keys: reflection.keys, via: 'grpc-reflection', ...(metadata.application === undefined ? {} : {providerApplication: metadata.application}), misses};
    }
    misses.push(`gRPC reflection: ${reflection.miss}`);
    return {...(metadata.application === undefined ? {} : {providerApplication: metadata.application}), misses};
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    session.destroy();
  }
}

/**
 * getMetadataInfos() with tri-service-group = the application name and version 1.0.0, the key the
 * provider exported it under. A provider whose application is named otherwise answers all the same:
 * its path resolver falls back to the bare interface name (TripleServerStream.getInvoker,
 * RESOLVE_FALLBACK_TO_DEFAULT, on by default), and the MetadataInfo names the real application.
 */
async function askMetadataService(session: ClientHttp2Session, application: string, options: {timeoutMs: number; consumerApplication: string}): Promise<{keys?: string[]; application?: string; miss: string}> {
  const call = async (): Promise<TripleMetadataAnswer> => {
    const answer = await unary(session, {
      path: `/${METADATA_SERVICE}/getMetadataInfos`,
      contentType: TRIPLE_CONTENT_TYPE,
      headers: {
        'tri-service-version': METADATA_SERVICE_VERSION,
        'tri-service-group': application,
        'tri-consumer-appname': options.consumerApplication,
      },
      message: encodeTripleMetadataRequest('getMetadataInfos'),
      timeoutMs: options.timeoutMs,
    });
    if (answer.kind === 'failed') return answer;
    if (answer.code !== GRPC_STATUS.OK) return {kind: 'failed', message: `${grpcStatusName(answer.code)}: ${answer.message}`, code: answer.code};
    const first = answer.messages[0];
    if (first === undefined) return {kind: 'failed', message: 'an OK answer without a message'};
    return decodeTripleMetadataAnswer('getMetadataInfos', first);
  };
  const answer = await call();
  switch (answer.kind) {
    case 'services':
      return answer.keys.length > 0
        ? {keys: answer.keys, ...(answer.application === undefined ? {} : {application: answer.application}), miss: ''}
        : {...(answer.application === undefined ? {} : {application: answer.application}), miss: 'its metadata is empty (a 3.x provider without a registry)'};
    case 'failed':
      return {miss: answer.code === GRPC_STATUS.UNIMPLEMENTED ? `not exported (${answer.message})` : answer.message};
    case 'name':
    case 'not-found':
      return {miss: 'unexpected answer'};
  }
}

/** A failure keeps its gRPC status: UNIMPLEMENTED means "not under this key". */
type TripleMetadataAnswer = Exclude<MetadataAnswer, {kind: 'failed'}> | {kind: 'failed'; message: string; code?: number};

/** list_services on v1, then on v1alpha when the server has only that. */
async function askReflection(session: ClientHttp2Session, timeoutMs: number): Promise<{keys?: string[]; miss: string}> {
  let miss = 'not enabled';
  for (const service of REFLECTION_SERVICES) {
    const answer = await unary(session, {
      path: `/${service}/${REFLECTION_METHOD}`,
      contentType: 'application/grpc',
      headers: {},
      message: encodeReflectionRequest({listServices: true}),
      timeoutMs,
    });
    if (answer.kind === 'failed') return {miss: answer.message};
    if (answer.code === GRPC_STATUS.UNIMPLEMENTED) {
      miss = `not enabled (${answer.message})`;
      continue;
    }
    if (answer.code !== GRPC_STATUS.OK) return {miss: `${grpcStatusName(answer.code)}: ${answer.message}`};
    try {
      for (const message of answer.messages) {
        const reply = decodeReflectionAnswer(message);
        if (reply.kind === 'error') return {miss: `${grpcStatusName(reply.code)}: ${reply.message}`};
        if (reply.kind !== 'services') continue;
        const keys = new Set<string>();
        for (const name of reply.names) {
          const key = isGrpcInfrastructureService(name) ? undefined : normalizeServiceKey(name);
          if (key !== undefined && !isInternalService(key)) keys.add(key);
        }
        return keys.size > 0 ? {keys: [...keys].sort(), miss: ''} : {miss: 'no services listed'};
      }
      return {miss: 'no list_services answer'};
    } catch (error) {
      return {miss: `unreadable answer: ${errorMessage(error)}`};
    }
  }
  return {miss};
}

function openSession(port: BackendPort, timeoutMs: number, signal: AbortSignal | undefined): Promise<ClientHttp2Session> {
  return new Promise<ClientHttp2Session>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      reject(new Error(`connecting took over ${timeoutMs} ms`));
    }, timeoutMs);
    port.connect(signal).then(({stream}) => {
      if (expired) {
        stream.destroy();
        return;
      }
      // The backend stream is the connection: node speaks HTTP/2 (prior knowledge, cleartext) on it.
      const session = http2.connect('http://localhost', {createConnection: () => stream});
      session.on('error', () => undefined);
      clearTimeout(timer);
      resolve(session);
    }, (error: unknown) => {
      clearTimeout(timer);
      reject(error instanceof Error ? error : new Error(String(error)));
    });
  });
}

type UnaryAnswer = {kind: 'answered'; code: number; message: string; messages: Buffer[]} | {kind: 'failed'; message: string};

/** One request message, the stream half-closed, every answer message and the status collected. */
function unary(session: ClientHttp2Session, call: {path: string; contentType: string; headers: OutgoingHttpHeaders; message: Buffer; timeoutMs: number}): Promise<UnaryAnswer> {
  return new Promise<UnaryAnswer>((resolve) => {
    let settled = false;
    const finish = (answer: UnaryAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      resolve(answer);
    };
    const timer = setTimeout(() => finish({kind: 'failed', message: `no answer within ${call.timeoutMs} ms`}), call.timeoutMs);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({...grpcRequestHeaders(call.path, call.contentType, call.timeoutMs), ...call.headers});
    } catch (error) {
      clearTimeout(timer);
      resolve({kind: 'failed', message: errorMessage(error)});
      return;
    }
    const answer = new GrpcAnswerReader(MAX_MESSAGE);
    stream.on('response', (headers) => answer.headers(headers));
    stream.on('trailers', (trailers: IncomingHttpHeaders) => answer.trailers(trailers));
    stream.on('data', (chunk: Buffer) => {
      try {
        answer.data(chunk);
      } catch (error) {
        finish({kind: 'failed', message: errorMessage(error)});
      }
    });
    stream.on('error', (error) => finish({kind: 'failed', message: errorMessage(error)}));
    stream.on('close', () => {
      const status = answer.status();
      if (status === undefined) {
        const httpStatus = answer.httpStatus;
        finish({kind: 'failed', message: httpStatus !== undefined && httpStatus !== 200 ? `HTTP status ${httpStatus} (not a gRPC answer)` : 'the stream ended without a gRPC status'});
        return;
      }
      finish({kind: 'answered', ...status, messages: answer.messages});
    });
    stream.end(encodeGrpcMessageFrame(call.message));
  });
}
