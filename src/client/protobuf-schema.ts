/**
 * Protobuf services for `call --triple`: the method's request and response types, from a .proto file
 * (`--proto`) or from the FileDescriptorProtos gRPC server reflection sent, and the codec that writes
 * the JSON argument as the request message and reads the answer back as JSON (proto3 JSON names:
 * lowerCamelCase out, either spelling in; 64-bit integers and enums as strings, bytes as base64).
 */
import protobuf from 'protobufjs';
// Adds Root.fromDescriptor (FileDescriptorSet -> Root), for what reflection sends.
import 'protobufjs/ext/descriptor/index.js';
import {DubboTunnelError} from '../core/errors.js';
import {lengthDelimitedField} from '../protocol/protobuf-wire.js';
import type {TripleCodec} from './triple-client.js';

export interface ProtobufMethod {
  /** `package.Service`, as the `:path` names it. */
  readonly service: string;
  readonly method: string;
  readonly requestType: protobuf.Type;
  readonly responseType: protobuf.Type;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

/** Parses `file` (and the files it imports, relative to it). Throws DT_ERR_BAD_ARGUMENT when it cannot. */
export function loadProtoFile(file: string): protobuf.Root {
  try {
    const root = new protobuf.Root();
    root.loadSync(file, {keepCase: true});
    root.resolveAll();
    return root;
  } catch (error) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--proto ${file}: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'give the .proto file that declares the service (its imports are read relative to it)',
    });
  }
}

/** A Root from serialized FileDescriptorProtos (a reflection answer): wrapped as one FileDescriptorSet. */
export function rootFromFileDescriptors(files: readonly Buffer[]): protobuf.Root {
  // FileDescriptorSet {repeated FileDescriptorProto file = 1} (google/protobuf/descriptor.proto).
  const set = Buffer.concat(files.map((file) => lengthDelimitedField(1, file)));
  const root = (protobuf.Root as unknown as {fromDescriptor(descriptor: Uint8Array): protobuf.Root}).fromDescriptor(set);
  root.resolveAll();
  return root;
}

/**
 * The method `service`/`method` of `root`; undefined when the service is not in it. A method the
 * service lacks is a usage error naming the methods it has.
 */
export function findProtobufMethod(root: protobuf.Root, service: string, method: string, from: string): ProtobufMethod | undefined {
  const found = root.lookup(service);
  if (!(found instanceof protobuf.Service)) return undefined;
  const rpc = found.methods[method] ?? Object.values(found.methods).find((candidate) => candidate.name.toLowerCase() === method.toLowerCase());
  if (rpc === undefined) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${service} has no method '${method}' (${from})`, {
      hint: `its methods: ${Object.keys(found.methods).join(', ') || 'none'}`,
    });
  }
  rpc.resolve();
  const {resolvedRequestType, resolvedResponseType} = rpc;
  if (resolvedRequestType === null || resolvedResponseType === null) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${service}.${rpc.name}: its message types are not in ${from}`);
  }
  return {service, method: rpc.name, requestType: resolvedRequestType, responseType: resolvedResponseType, requestStream: rpc.requestStream === true, responseStream: rpc.responseStream === true};
}

/** Every service a root declares (for "not found" hints). */
export function servicesOf(root: protobuf.Root): string[] {
  const names: string[] = [];
  const walk = (namespace: protobuf.NamespaceBase) => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Service) names.push(nested.fullName.replace(/^\./, ''));
      else if (nested instanceof protobuf.Namespace) walk(nested);
    }
  };
  walk(root);
  return names.sort();
}

/** The codec of one protobuf method: one JSON object (or nothing, for an empty message) in, JSON out. */
export function protobufCodec(method: ProtobufMethod): TripleCodec {
  return {
    contentType: 'application/grpc+proto',
    encode: (args) => {
      if (args.length > 1) {
        throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${method.service}.${method.method} takes one ${method.requestType.name} message, not ${args.length} arguments`, {
          hint: 'give its fields as one JSON object, e.g. \'{"name":"ann"}\'',
        });
      }
      const json = args[0] ?? {};
      if (json === null || typeof json !== 'object' || Array.isArray(json)) {
        throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${method.service}.${method.method} takes a ${method.requestType.name} message: give it as a JSON object`);
      }
      const object = fromJson(method.requestType, json as Record<string, unknown>);
      const problem = method.requestType.verify(object);
      if (problem !== null) throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${method.requestType.name}: ${problem}`);
      return Buffer.from(method.requestType.encode(method.requestType.fromObject(object)).finish());
    },
    decode: (message) => toJson(method.responseType, method.responseType.decode(message)),
  };
}

/** JSON keys (lowerCamelCase or the .proto names) to the field names the type was loaded with. */
function fromJson(type: protobuf.Type, json: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = type.fields[key] ?? type.fieldsArray.find((candidate) => jsonName(candidate) === key);
    if (field === undefined) {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${type.name} has no field '${key}'`, {
        hint: `its fields: ${type.fieldsArray.map(jsonName).join(', ') || 'none'}`,
      });
    }
    field.resolve();
    const nested = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const convert = (item: unknown) => nested !== undefined && item !== null && typeof item === 'object' && !Array.isArray(item) ? fromJson(nested, item as Record<string, unknown>) : item;
    if (field.map && value !== null && typeof value === 'object') {
      out[field.name] = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, convert(v)]));
    } else if (field.repeated && Array.isArray(value)) {
      out[field.name] = value.map(convert);
    } else {
      out[field.name] = convert(value);
    }
  }
  return out;
}

/** A decoded message as proto3 JSON: every field (defaults too), lowerCamelCase names. */
function toJson(type: protobuf.Type, message: protobuf.Message): Record<string, unknown> {
  const object = type.toObject(message, {longs: String, enums: String, bytes: String, defaults: true, arrays: true, objects: true});
  return renameForJson(type, object);
}

function renameForJson(type: protobuf.Type, object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    if (!(field.name in object)) continue;
    const value = object[field.name];
    const nested = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const convert = (item: unknown) => nested !== undefined && item !== null && typeof item === 'object' ? renameForJson(nested, item as Record<string, unknown>) : item;
    out[jsonName(field)] = field.map && value !== null && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, convert(v)]))
      : Array.isArray(value) ? value.map(convert) : convert(value);
  }
  return out;
}

/** proto3 JSON name: lowerCamelCase of the field name (descriptor.proto, json_name). */
function jsonName(field: protobuf.Field): string {
  return field.name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}
