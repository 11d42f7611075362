/**
 * Asks a gRPC server, through the tunnel, for the FileDescriptorProtos that describe one service:
 * `file_containing_symbol` on ServerReflectionInfo (v1, then v1alpha), with the same headers the
 * call itself carries so the tunnel routes both to the same application.
 */
import type {OutgoingHttpHeaders} from 'node:http2';
import {GRPC_STATUS, grpcStatusName} from '../protocol/grpc.js';
import {REFLECTION_METHOD, REFLECTION_SERVICES, decodeReflectionAnswer, encodeReflectionRequest} from '../protocol/grpc-reflection.js';
import {grpcExchange} from './triple-client.js';
import type {GrpcExchangeResult} from './triple-client.js';

export type ReflectionLookup =
  /** Serialized FileDescriptorProtos: the file that declares the service and what it imports. */
  | {kind: 'files'; files: Buffer[]}
  /** The server has no reflection service, or reflection does not know the symbol: not a protobuf service we can describe. */
  | {kind: 'unknown'; message: string}
  /** No gRPC answer at all (not running, closed, timed out), or an error status from the route. */
  | {kind: 'failed'; result: Exclude<GrpcExchangeResult, {kind: 'answered'}> | {kind: 'status'; code: number; message: string}};

export async function lookUpService(options: {host: string; port: number; headers: OutgoingHttpHeaders; service: string; timeoutMs: number}): Promise<ReflectionLookup> {
  let unknown = 'the server has no gRPC reflection service';
  for (const reflection of REFLECTION_SERVICES) {
    const result = await grpcExchange({
      host: options.host,
      port: options.port,
      path: `/${reflection}/${REFLECTION_METHOD}`,
      contentType: 'application/grpc',
      headers: options.headers,
      messages: [encodeReflectionRequest({fileContainingSymbol: options.service})],
      timeoutMs: options.timeoutMs,
    });
    if (result.kind !== 'answered') return {kind: 'failed', result};
    // UNIMPLEMENTED: this version of reflection is not served (a Dubbo provider without it, a server
    // with v1alpha only), or dubbo-tunnel found no route for it (no application named): either way
    // there is no description, and the call goes as JSON.
    if (result.code === GRPC_STATUS.UNIMPLEMENTED) {
      unknown = `no gRPC reflection answered (${result.message})`;
      continue;
    }
    if (result.code !== GRPC_STATUS.OK) return {kind: 'failed', result: {kind: 'status', code: result.code, message: result.message}};
    for (const message of result.messages) {
      let answer;
      try {
        answer = decodeReflectionAnswer(message);
      } catch (error) {
        return {kind: 'failed', result: {kind: 'bad-response', message: `unreadable reflection answer: ${error instanceof Error ? error.message : String(error)}`}};
      }
      if (answer.kind === 'files') return {kind: 'files', files: answer.files};
      if (answer.kind === 'error') return {kind: 'unknown', message: `reflection does not know ${options.service} (${grpcStatusName(answer.code)}: ${answer.message})`};
    }
    return {kind: 'unknown', message: 'reflection gave no answer'};
  }
  return {kind: 'unknown', message: unknown};
}
