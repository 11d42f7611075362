import {findProtobufMethod, loadProtoFile, protobufCodec, rootFromFileDescriptors, servicesOf} from '../../client/protobuf-schema.js';
import type {ProtobufMethod} from '../../client/protobuf-schema.js';
import {parseArgumentText} from '../../client/arguments.js';
import {lookUpService} from '../../client/reflection-client.js';
import {callTriple, tripleTargetHeaders} from '../../client/triple-client.js';
import type {TripleCallResult} from '../../client/triple-client.js';
import {DubboTunnelError} from '../../core/errors.js';
import {grpcStatusName} from '../../protocol/grpc.js';
import type {CliContext} from '../command.js';
import type {CallCommandOptions} from './call-options.js';
import {NO_ANSWER_EXIT_CODE, toJson} from './call-output.js';

/** `call --triple` (or a dubbo:// call the application can only take over Triple): one unary call, protobuf when a schema is known, else JSON. */
export async function runTriple(options: CallCommandOptions, context: CliContext): Promise<number> {
  if (options.generic || options.types !== undefined) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--generic and --types do not apply to --triple calls', {hint: 'Triple calls send the arguments as JSON (or as the protobuf message of --proto); leave both out'});
  }
  const schema = await protobufMethodOf(options);
  if (schema.kind === 'failed') {
    printTriple(schema.result, options, context);
    return tripleExitCode(schema.result);
  }
  const method = schema.kind === 'protobuf' ? schema.method : undefined;
  if (method !== undefined && (method.requestStream || method.responseStream)) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${method.service}.${method.method} is a streaming method; call makes unary calls only`, {hint: 'use a gRPC client such as grpcurl for streams (through the same port)'});
  }
  const result = await callTriple({
    host: options.host,
    port: options.port,
    application: options.application,
    attachmentKey: options.attachmentKey,
    service: options.service,
    method: method?.method ?? options.method,
    args: options.args.map((raw, index) => parseArgumentText(raw, index).json),
    timeoutMs: options.timeoutMs,
    attachments: options.attachments,
    ...(options.version === undefined ? {} : {version: options.version}),
    ...(options.group === undefined ? {} : {group: options.group}),
    ...(method === undefined ? {} : {codec: protobufCodec(method)}),
  });
  printTriple(result, options, context);
  return tripleExitCode(result);
}

/** 0 a value, 1 an error status or an unreadable answer, 3 no answer (as for dubbo:// calls). */
function tripleExitCode(result: TripleCallResult): number {
  return result.kind === 'value' ? 0 : result.kind === 'status' || result.kind === 'bad-response' ? 1 : NO_ANSWER_EXIT_CODE;
}

type MethodSchema = {kind: 'protobuf'; method: ProtobufMethod} | {kind: 'json'} | {kind: 'failed'; result: TripleCallResult};

/**
 * The protobuf method to call: from --proto, else from the server's gRPC reflection (asked through
 * the tunnel with the call's own headers). A service reflection cannot describe (a Dubbo interface
 * without IDL, a server without reflection) is called as JSON, as before.
 */
async function protobufMethodOf(options: CallCommandOptions): Promise<MethodSchema> {
  if (options.proto !== undefined) {
    const root = loadProtoFile(options.proto);
    const method = findProtobufMethod(root, options.service, options.method, `--proto ${options.proto}`);
    if (method === undefined) {
      const services = servicesOf(root);
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${options.service} is not declared in ${options.proto}`, {
        hint: services.length === 0 ? 'the file declares no service' : `it declares: ${services.join(', ')} (give the full name, with the package)`,
      });
    }
    return {kind: 'protobuf', method};
  }
  const lookup = await lookUpService({host: options.host, port: options.port, headers: tripleTargetHeaders(options), service: options.service, timeoutMs: options.timeoutMs});
  switch (lookup.kind) {
    case 'unknown':
      return {kind: 'json'};
    case 'failed': {
      const {result} = lookup;
      return {kind: 'failed', result: result.kind === 'status' ? {kind: 'status', code: result.code, statusName: grpcStatusName(result.code), message: result.message} : result};
    }
    case 'files': {
      let root;
      try {
        root = rootFromFileDescriptors(lookup.files);
      } catch (error) {
        return {kind: 'failed', result: {kind: 'bad-response', message: `reflection's descriptors do not load: ${error instanceof Error ? error.message : String(error)}`}};
      }
      const method = findProtobufMethod(root, options.service, options.method, 'gRPC reflection');
      return method === undefined ? {kind: 'json'} : {kind: 'protobuf', method};
    }
  }
}

/**
 * A protobuf server that got a JSON array cannot read it (grpc-java and grpc-js answer INTERNAL,
 * "Error deserializing request"): say how to call it as protobuf.
 */
function tripleHintFor(result: TripleCallResult, options: CallCommandOptions): string | undefined {
  if (result.kind !== 'status' || options.proto !== undefined || !/deserializ/i.test(result.message)) return undefined;
  return `if ${options.service} is a protobuf service, give its .proto file with --proto <file>${options.application === undefined ? ', or name the application so its gRPC reflection can be asked' : ''}`;
}

function printTriple(result: TripleCallResult, options: CallCommandOptions, context: CliContext): void {
  const hint = tripleHintFor(result, options);
  if (options.json) {
    const {kind, ...rest} = result;
    context.stdout.write(`${toJson({ok: kind === 'value', kind, protocol: 'triple', ...rest, ...(hint === undefined ? {} : {hint})})}\n`);
    return;
  }
  switch (result.kind) {
    case 'value':
      context.stdout.write(`${toJson(result.value, 2)}\n`);
      return;
    case 'status':
      context.stderr.write(`error: grpc-status ${result.code} ${result.statusName}: ${result.message}\n${hint === undefined ? '' : `  fix: ${hint}\n`}`);
      return;
    case 'bad-response':
      context.stderr.write(`dubbo-tunnel: unreadable answer: ${result.message}\n`);
      return;
    case 'connect-failed':
    case 'closed':
    case 'timeout': {
      const port = options.port === 20880 ? '' : ` --port ${options.port}`;
      const hint = result.kind === 'connect-failed'
        ? `is \`dubbo-tunnel up${port}\` running? If it listens on another port, pass that port with --port <port>`
        : result.kind === 'timeout'
          ? 'the provider may be slow or stuck: raise --timeout <ms>, and look at the `dubbo-tunnel up` output for this call'
          : 'look at the `dubbo-tunnel up` output: it says why the stream or connection was closed';
      context.stderr.write(`dubbo-tunnel: ${result.message}\n  fix: ${hint}\n`);
      return;
    }
  }
}
