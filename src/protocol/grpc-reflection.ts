/**
 * gRPC server reflection (grpc/grpc-proto, grpc/reflection/v1/reflection.proto; v1alpha has the same
 * messages): the requests dubbo-tunnel sends on `ServerReflectionInfo` and the answers it reads.
 * `list_services` tells what a gRPC server exports; `file_containing_symbol` gives the
 * FileDescriptorProtos that describe a service's messages (for `call --triple` without --proto).
 */
import {WIRE_TYPE, bytesOf, lengthDelimitedField, readFields, stringOf} from './protobuf-wire.js';

/** Newest first: servers built before v1 existed serve only v1alpha. */
export const REFLECTION_SERVICES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'] as const;
export const REFLECTION_METHOD = 'ServerReflectionInfo';

/** Services every gRPC server may carry for its own plumbing; never an application's export. */
export function isGrpcInfrastructureService(name: string): boolean {
  return name.startsWith('grpc.reflection.') || name.startsWith('grpc.health.') || name === 'grpc.channelz.v1.Channelz';
}

/** ServerReflectionRequest {1 host; oneof {3 file_by_filename, 4 file_containing_symbol, 7 list_services}}. */
export type ReflectionRequest =
  | {listServices: true}
  | {fileContainingSymbol: string}
  | {fileByFilename: string};

export function encodeReflectionRequest(request: ReflectionRequest): Buffer {
  if ('listServices' in request) return lengthDelimitedField(7, '*');
  if ('fileContainingSymbol' in request) return lengthDelimitedField(4, request.fileContainingSymbol);
  return lengthDelimitedField(3, request.fileByFilename);
}

/** What one ServerReflectionResponse carries. */
export type ReflectionAnswer =
  /** list_services_response {1 repeated ServiceResponse {1 name}}. */
  | {kind: 'services'; names: string[]}
  /** file_descriptor_response {1 repeated bytes file_descriptor_proto}: serialized FileDescriptorProtos. */
  | {kind: 'files'; files: Buffer[]}
  /** error_response {1 error_code, 2 error_message}: a gRPC status code and its text. */
  | {kind: 'error'; code: number; message: string}
  /** A response of a kind not asked for here (extension numbers). */
  | {kind: 'other'};

/** Reads one ServerReflectionResponse; throws ProtocolError on bytes that are not a protobuf message. */
export function decodeReflectionAnswer(message: Buffer): ReflectionAnswer {
  const fields = readFields(message);
  const services = bytesOf(fields, 6).at(-1);
  if (services !== undefined) {
    const names = bytesOf(readFields(services), 1).map((service) => stringOf(readFields(service), 1) ?? '').filter((name) => name !== '');
    return {kind: 'services', names};
  }
  const files = bytesOf(fields, 4).at(-1);
  if (files !== undefined) return {kind: 'files', files: bytesOf(readFields(files), 1)};
  const error = bytesOf(fields, 7).at(-1);
  if (error !== undefined) {
    const inner = readFields(error);
    const code = inner.find((field) => field.field === 1 && field.wireType === WIRE_TYPE.VARINT);
    return {kind: 'error', code: code?.wireType === WIRE_TYPE.VARINT ? code.value : 2, message: stringOf(inner, 2) ?? ''};
  }
  return {kind: 'other'};
}
