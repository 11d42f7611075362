// gRPC server reflection (v1) for the test's grpc-js providers, built with @grpc/proto-loader on the
// official reflection.proto (test/fixtures/grpc): list_services, and file_by_filename /
// file_containing_symbol answered with the FileDescriptorProtos proto-loader keeps for each loaded file.
// Imports nothing from src/.
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'grpc');
export const REFLECTION_V1 = 'grpc.reflection.v1.ServerReflection';

interface ReflectionRequest {
  host?: string;
  file_by_filename?: string;
  file_containing_symbol?: string;
  list_services?: string;
  message_request?: string;
}

/**
 * Adds ServerReflection to `server`, describing the services of `definition` (a proto-loader package
 * definition) and itself. `symbols` are answered with every FileDescriptorProto of the definition.
 */
export function addReflection(server: grpc.Server, definition: protoLoader.PackageDefinition, services: readonly string[]): void {
  const reflection = protoLoader.loadSync(path.join(FIXTURES, 'reflection.proto'), {keepCase: true, oneofs: true, defaults: false});
  const service = (grpc.loadPackageDefinition(reflection) as unknown as {grpc: {reflection: {v1: {ServerReflection: grpc.ServiceClientConstructor}}}}).grpc.reflection.v1.ServerReflection;
  const files = new Set<Buffer>();
  const symbols = new Set<string>();
  for (const [name, entry] of Object.entries(definition)) {
    symbols.add(name);
    if ('format' in entry) {
      for (const file of (entry as {fileDescriptorProtos: Buffer[]}).fileDescriptorProtos) files.add(file);
    } else {
      for (const [method, call] of Object.entries(entry as grpc.ServiceDefinition)) {
        symbols.add(`${name}.${method}`);
        for (const file of (call as unknown as {requestType: {fileDescriptorProtos: Buffer[]}}).requestType.fileDescriptorProtos) files.add(file);
      }
    }
  }
  const names = [...services, REFLECTION_V1];
  server.addService(service.service, {
    ServerReflectionInfo: (call: grpc.ServerDuplexStream<ReflectionRequest, unknown>) => {
      call.on('data', (request: ReflectionRequest) => {
        const base = {valid_host: request.host ?? '', original_request: request};
        if (request.list_services !== undefined) {
          call.write({...base, list_services_response: {service: names.map((name) => ({name}))}});
        } else if (request.file_containing_symbol !== undefined && symbols.has(request.file_containing_symbol)) {
          call.write({...base, file_descriptor_response: {file_descriptor_proto: [...files]}});
        } else if (request.file_by_filename !== undefined && request.file_by_filename.endsWith('.proto')) {
          call.write({...base, file_descriptor_response: {file_descriptor_proto: [...files]}});
        } else {
          call.write({...base, error_response: {error_code: grpc.status.NOT_FOUND, error_message: `${request.file_containing_symbol ?? request.file_by_filename ?? 'that'} not found`}});
        }
      });
      call.on('end', () => call.end());
    },
  });
}
