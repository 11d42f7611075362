// A Dubbo 3.2.16 provider whose only protocol is tri, as the tunnel sees it on its Triple port: a real
// HTTP/2 server (node:http2, cleartext, prior knowledge) that serves MetadataService and one application
// service in Triple's wrapper mode, the way dubbo-rpc-triple 3.2.16 does:
//  - the invoker is found by `:path` service + tri-service-group + tri-service-version
//    (TripleServerStream.getInvoker: URL.buildKey(path, group, version), then version 1.0.0, then the
//    bare interface name registered by TripleProtocol.export's RESOLVE_FALLBACK_TO_DEFAULT);
//    none: grpc-status 12 "Service not found:<service>";
//  - the method by name and the TripleRequestWrapper's argTypes (ReflectionAbstractServerCall
//    .trySetMethodDescriptor); none: grpc-status 12 "Method :<name>[<types>] not found of service:<interface>";
//  - the answer is a TripleResponseWrapper {serializeType = the request's, data = the hessian2 value,
//    type = the declared return class} (ReflectionPackableMethod.WrapResponsePack).
// The MetadataService values are the bytes a real 3.2.16 provider wrote for them (the discovery captures:
// the value of its getMetadataInfos()/getMetadataInfo() response frame, cut out of the Dubbo body), so the
// Hessian object graph is the real one; Triple carries that same graph inside its wrapper.
// Parses the wrapper itself (like TripleCustomerProtocolWapper.parseFrom): imports nothing from src/.
import http2 from 'node:http2';
import type {AddressInfo} from 'node:net';
import hessian from 'hessian.js';
import {fixture} from './discovery-fixtures.js';
import {encodeGrpcMessageFrame} from '../../src/protocol/grpc.js';

const METADATA_SERVICE = 'org.apache.dubbo.metadata.MetadataService';
/** The attachments map {"dubbo": "2.0.2"} that ends every captured response body (H, 2 strings, Z). */
const ATTACHMENTS_TAIL = 14;

/** `user` exports demo.UserService (no group or version); `pay` exports g1/demo.PayService:1.0.0. */
export type TripleProviderKind = 'user' | 'pay';
/** `zk`: with a registry (metadata lists the services); `noreg`: none (metadata is an empty list). */
export type TripleProviderProfile = 'zk' | 'noreg';

interface Method {
  argTypes: string[];
  returnType: string;
  answer: (args: Buffer[]) => Buffer;
}

export interface TripleMetadataProvider {
  readonly port: number;
  /** Every call that reached an invoker, as `<service>/<method>[:group]` (group when the header was sent). */
  readonly asked: string[];
  close(): Promise<void>;
}

/** The value of a captured Dubbo response frame: the body after the response-type byte, before the attachments. */
function capturedValue(name: string): Buffer {
  const frame = fixture(name);
  return frame.subarray(16 + 1, frame.length - ATTACHMENTS_TAIL);
}

function hessianString(text: string): Buffer {
  const encoder = new hessian.EncoderV2();
  encoder.writeString(text);
  return encoder.get();
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function field(number: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((number << 3) | 2), varint(payload.length), payload]);
}

/** TripleRequestWrapper.parseFrom: fields 1 (serializeType), 2 (args), 3 (argTypes), all length-delimited. */
function parseRequestWrapper(message: Buffer): {serializeType: string; args: Buffer[]; argTypes: string[]} {
  const wrapper = {serializeType: '', args: [] as Buffer[], argTypes: [] as string[]};
  let offset = 0;
  const read = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = message[offset++];
      if (byte === undefined) throw new Error('truncated varint');
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
      shift += 7;
    }
  };
  while (offset < message.length) {
    const tag = read();
    if ((tag & 7) !== 2) throw new Error(`unexpect wireType, expect 2 realType ${tag & 7}`);
    const length = read();
    const bytes = message.subarray(offset, offset + length);
    offset += length;
    if (tag >> 3 === 1) wrapper.serializeType = bytes.toString('utf8');
    else if (tag >> 3 === 2) wrapper.args.push(bytes);
    else if (tag >> 3 === 3) wrapper.argTypes.push(bytes.toString('utf8'));
    else throw new Error('fieldNum should in (1,2,3)');
  }
  return wrapper;
}

export async function startTripleMetadataProvider(application: string, kind: TripleProviderKind, profile: TripleProviderProfile): Promise<TripleMetadataProvider> {
  const captured = `32-metadata-${kind === 'user' ? 'user' : 'pay-g1v1'}-${profile === 'zk' ? 'zk' : 'noreg'}`;
  const infos = capturedValue(`${captured}-10-getMetadataInfos.resp.bin`);
  const metadataService: Record<string, Method> = {
    getMetadataInfos: {argTypes: [], returnType: 'java.util.List', answer: () => infos},
    serviceName: {argTypes: [], returnType: 'java.lang.String', answer: () => hessianString(application)},
    version: {argTypes: [], returnType: 'java.lang.String', answer: () => hessianString('1.0.0')},
  };
  const appInterface = kind === 'user' ? 'demo.UserService' : 'demo.PayService';
  const appService: Record<string, Method> = {
    whoami: {argTypes: [], returnType: 'java.lang.String', answer: () => hessianString(`${application} ${appInterface}`)},
  };
  // TripleProtocol.export: pathResolver.add(serviceKey) and addIfAbsent(interface name).
  const invokers = new Map<string, {iface: string; methods: Record<string, Method>}>([
    [`${application}/${METADATA_SERVICE}:1.0.0`, {iface: METADATA_SERVICE, methods: metadataService}],
    [METADATA_SERVICE, {iface: METADATA_SERVICE, methods: metadataService}],
    [kind === 'user' ? appInterface : `g1/${appInterface}:1.0.0`, {iface: appInterface, methods: appService}],
    [appInterface, {iface: appInterface, methods: appService}],
  ]);
  const buildKey = (path: string, group: string | undefined, version: string | undefined) =>
    `${group === undefined || group === '' ? '' : `${group}/`}${path}${version === undefined || version === '' ? '' : `:${version}`}`;

  const asked: string[] = [];
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    const fail = (code: number, message: string) => {
      stream.respond({':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message)}, {endStream: true});
    };
    const contentType = headers['content-type'];
    if (contentType === undefined) {
      stream.respond({':status': 415, 'content-type': 'text/plain'});
      stream.end('Content-Type is missing from the request');
      return;
    }
    const parts = (headers[':path'] ?? '').split('/');
    if (parts.length !== 3) {
      fail(12, `Bad path format:${headers[':path'] ?? ''}`);
      return;
    }
    const [, service = '', method = ''] = parts;
    const group = headers['tri-service-group'] as string | undefined;
    const version = headers['tri-service-version'] as string | undefined;
    const invoker = invokers.get(buildKey(service, group, version)) ?? invokers.get(buildKey(service, group, '1.0.0')) ?? invokers.get(service);
    if (invoker === undefined) {
      fail(12, `Service not found:${service}`);
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      if (body.length < 5) {
        fail(13, 'no request message');
        return;
      }
      let request: ReturnType<typeof parseRequestWrapper>;
      try {
        request = parseRequestWrapper(body.subarray(5, 5 + body.readUInt32BE(1)));
      } catch (error) {
        fail(13, `Error deserializing request: ${(error as Error).message}`);
        return;
      }
      const found = invoker.methods[method];
      if (found === undefined || found.argTypes.join(',') !== request.argTypes.join(',')) {
        fail(12, `Method :${method}[[${request.argTypes.join(', ')}]] not found of service:${invoker.iface}`);
        return;
      }
      asked.push(`${service}/${method}${group === undefined ? '' : `:${group}`}`);
      const answer = Buffer.concat([
        field(1, Buffer.from(request.serializeType)),
        field(2, found.answer(request.args)),
        field(3, Buffer.from(found.returnType)),
      ]);
      const frame = encodeGrpcMessageFrame(answer);
      stream.respond({':status': 200, 'content-type': 'application/grpc+proto'}, {waitForTrailers: true});
      stream.on('wantTrailers', () => stream.sendTrailers({'grpc-status': '0'}));
      stream.end(frame);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    asked,
    close: () => new Promise<void>((resolve) => {
      for (const session of sessions) session.destroy();
      server.close(() => resolve());
    }),
  };
}
