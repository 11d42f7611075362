import {callOnce, DEFAULT_ATTACHMENT_KEY} from '../../client/dubbo-client.js';
import type {CallResult} from '../../client/dubbo-client.js';
import {buildArguments, buildGenericArguments, GENERIC_METHOD, parseArgumentText, parseTypeList} from '../../client/arguments.js';
import {findProtobufMethod, loadProtoFile, protobufCodec, rootFromFileDescriptors, servicesOf} from '../../client/protobuf-schema.js';
import type {ProtobufMethod} from '../../client/protobuf-schema.js';
import {lookUpService} from '../../client/reflection-client.js';
import {callTriple, tripleTargetHeaders} from '../../client/triple-client.js';
import type {TripleCallResult} from '../../client/triple-client.js';
import {grpcStatusName} from '../../protocol/grpc.js';
import {DubboTunnelError} from '../../core/errors.js';
import type {ErrorCode} from '../../core/errors.js';
import {parseCommandArgs, parsePort, parsePositiveInt} from '../args.js';
import {parseFileLine, readRecordedLine} from '../recorded-calls.js';
import {dubboRequestOf, unsendableReason} from '../replay-send.js';
import type {CliContext, Command, OptionTable} from '../command.js';
import {SUMMARIES} from '../command.js';

const OPTIONS = {
  'types': {type: 'string', value: 'list', description: 'Java parameter types, comma-separated (java.lang.String,int,com.example.Query,long[])'},
  'port': {type: 'string', short: 'p', description: 'port of `dubbo-tunnel up` (default 20880)'},
  'host': {type: 'string', description: 'host of `dubbo-tunnel up` (default localhost)'},
  'timeout': {type: 'string', value: 'ms', description: 'give up after this many milliseconds (default 5000)'},
  'version': {type: 'string', description: 'service version (default 0.0.0)'},
  'group': {type: 'string', description: 'service group'},
  'attachment-key': {type: 'string', value: 'key', description: `attachment naming the application (default ${DEFAULT_ATTACHMENT_KEY})`},
  'attach': {type: 'string', multiple: true, value: 'key=value', description: 'extra attachment, repeatable (e.g. --attach dubbo.tag=gray)'},
  'generic': {type: 'boolean', description: 'call GenericService.$invoke: no provider classes needed, POJOs go as maps'},
  'json': {type: 'boolean', description: 'print one JSON object: {ok, kind, value | exceptionClass, message | status, errorCode, ...}'},
  'triple': {type: 'boolean', description: 'call over Triple/gRPC (HTTP/2, unary): a protobuf method when --proto or the server\'s gRPC reflection describes the service, else application/grpc+json with the arguments as a JSON array; chosen by itself when the application has only a Triple port'},
  'proto': {type: 'string', value: 'file', description: '.proto file that declares the service: the one JSON argument is encoded as the request message and the answer decoded to JSON (implies --triple)'},
  'from': {type: 'string', value: '<file>:<line>', description: 'send the call recorded on that line of a recording (up --record; lines count from 1) instead of naming one: its interface, method, parameter types, arguments and attachments (redacted ones left out), to the application it went to'},
  'to': {type: 'string', value: 'application', description: 'with --from: send the recorded call to this application instead'},
} as const satisfies OptionTable;

export interface CallCommandOptions {
  /**
   * undefined when the application is `-` or left out (see namesInterfaceFirst): no target attachment,
   * so the router of `dubbo-tunnel up` decides by --route or by the service it learned.
   */
  application: string | undefined;
  service: string;
  method: string;
  args: string[];
  host: string;
  port: number;
  timeoutMs: number;
  types: string | undefined;
  version: string | undefined;
  group: string | undefined;
  attachmentKey: string;
  attachments: Record<string, string>;
  generic: boolean;
  json: boolean;
  /** Call over Triple (HTTP/2) instead of dubbo://. */
  triple: boolean;
  /** --proto: the .proto file that declares the service (protobuf request and answer). */
  proto: string | undefined;
  /** --from <file>:<line> (with --to): the call comes from a recording, not from the arguments. */
  from?: {file: string; line: number; to: string | undefined};
}

const JAVA_NAME = /^[\p{L}_$][\p{L}\p{N}_$]*(\.[\p{L}_$][\p{L}\p{N}_$]*)*$/u;
const JAVA_IDENTIFIER = /^[\p{L}_$][\p{L}\p{N}_$]*$/u;

/**
 * `call <interface> <method> [args]`: the application is left out when the first word is a
 * qualified Java name (it has a dot) and the second is a method name (no dot). In
 * `call <application> <interface> <method>` the second word is the interface, which has a package
 * (a dot), so the two forms never meet unless an application whose name has dots is called with an
 * interface in the default package; `-` names no application explicitly for that case.
 */
export function namesInterfaceFirst(first: string | undefined, second: string | undefined): boolean {
  return first !== undefined && second !== undefined && first.includes('.') && JAVA_NAME.test(first) && JAVA_IDENTIFIER.test(second);
}

/** `-5` and `-1.5e3` are arguments, not options: parseArgs would reject them as unknown flags. */
const NEGATIVE_NUMBER = /^-\d+(\.\d+)?([eE][-+]?\d+)?$/;

export function parseCallOptions(args: string[]): CallCommandOptions {
  const negatives = new Map<string, string>();
  const shielded = args.map((arg, i) => {
    if (!NEGATIVE_NUMBER.test(arg)) return arg;
    const placeholder = `\u0000negative-${i}`;
    negatives.set(placeholder, arg);
    return placeholder;
  });
  const parsed = parseCommandArgs('call', shielded, OPTIONS);
  const restore = (arg: string) => negatives.get(arg) ?? arg;
  const positionals = parsed.positionals.map(restore);
  const values = {
    ...parsed.values,
    port: parsed.values.port === undefined ? undefined : restore(parsed.values.port),
    timeout: parsed.values.timeout === undefined ? undefined : restore(parsed.values.timeout),
  };
  if (values.from !== undefined) return fromRecordingOptions(values, positionals);
  if (values.to !== undefined) throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--to goes with --from <file>:<line>', {hint: 'name the application as the first argument: dubbo-tunnel call <application> <interface> <method> ...'});
  const [application, service, method, ...rest] = namesInterfaceFirst(positionals[0], positionals[1])
    ? ['-', ...positionals]
    : positionals;
  if (application === undefined || service === undefined || method === undefined) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', 'call needs [<application>] <interface> <method> [args...]', {
      hint: 'for example: dubbo-tunnel call user-rpc com.example.UserService getUser \'"u-1"\', or without the application when `dubbo-tunnel up` learned who exports the interface: dubbo-tunnel call com.example.UserService getUser \'"u-1"\'',
    });
  }
  if (!JAVA_NAME.test(service)) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `'${service}' is not a Java interface name`, {
      hint: 'give the fully qualified interface, e.g. com.example.UserService',
    });
  }
  const attachments: Record<string, string> = {};
  for (const spec of values.attach ?? []) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--attach '${spec}' is not <key>=<value>`, {hint: 'for example --attach dubbo.tag=gray'});
    attachments[spec.slice(0, eq)] = spec.slice(eq + 1);
  }
  return {
    application: application === '-' ? undefined : application,
    service,
    method,
    args: rest,
    host: values.host ?? 'localhost',
    port: values.port === undefined ? 20880 : parsePort(values.port, '--port'),
    timeoutMs: values.timeout === undefined ? 5000 : parsePositiveInt(values.timeout, '--timeout'),
    types: values.types,
    version: values.version,
    group: values.group,
    attachmentKey: values['attachment-key'] ?? DEFAULT_ATTACHMENT_KEY,
    attachments,
    generic: values.generic ?? false,
    json: values.json ?? false,
    triple: (values.triple ?? false) || values.proto !== undefined,
    proto: values.proto,
  };
}

/** The flags of a call that names no call itself: the recording gives everything the arguments would. */
const NOT_WITH_FROM = ['types', 'version', 'group', 'attach', 'generic', 'triple', 'proto'] as const;

function fromRecordingOptions(values: ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values'], positionals: string[]): CallCommandOptions {
  const {file, line} = parseFileLine(values.from ?? '', '--from');
  if (positionals.length > 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--from sends the recorded call; '${positionals[0]}' is one argument too many`, {hint: 'leave out the application, interface, method and arguments (--to sends it to another application)'});
  }
  const clash = NOT_WITH_FROM.find((flag) => values[flag] !== undefined);
  if (clash !== undefined) throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--${clash} does not go with --from: the recording gives the call`, {hint: `leave --${clash} out`});
  if (values.to?.trim() === '') throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--to needs an application name', {hint: 'for example --to user-rpc'});
  return {
    application: values.to,
    service: '',
    method: '',
    args: [],
    host: values.host ?? 'localhost',
    port: values.port === undefined ? 20880 : parsePort(values.port, '--port'),
    timeoutMs: values.timeout === undefined ? 5000 : parsePositiveInt(values.timeout, '--timeout'),
    types: undefined,
    version: undefined,
    group: undefined,
    attachmentKey: values['attachment-key'] ?? DEFAULT_ATTACHMENT_KEY,
    attachments: {},
    generic: false,
    json: values.json ?? false,
    triple: false,
    proto: undefined,
    from: {file, line, to: values.to},
  };
}

/**
 * 0: a value came back; 1: the call failed (error status, exception, unreadable answer); 3: no
 * answer at all. Not 2: that is every command's usage error, and a script must tell them apart.
 */
export const NO_ANSWER_EXIT_CODE = 3;

export function exitCodeOf(result: CallResult): number {
  switch (result.kind) {
    case 'value':
      return 0;
    case 'exception':
    case 'error':
    case 'bad-response':
      return 1;
    case 'connect-failed':
    case 'closed':
    case 'timeout':
      return NO_ANSWER_EXIT_CODE;
  }
}

/** What to do about a call that got no answer. */
function hintFor(result: CallResult, options: CallCommandOptions): string | undefined {
  const port = options.port === 20880 ? '' : ` --port ${options.port}`;
  switch (result.kind) {
    case 'connect-failed':
      return result.code === 'ECONNREFUSED'
        ? `is \`dubbo-tunnel up${port}\` running? If it listens on another port, pass that port with --port <port>`
        : 'check --host and --port: they should name the machine and port `dubbo-tunnel up` listens on';
    case 'timeout':
      return result.connected
        ? 'the provider may be slow or stuck: raise --timeout <ms>, and look at the `dubbo-tunnel up` output for this call'
        : 'check --host and --port, and that `dubbo-tunnel up` is running';
    case 'closed':
      return 'look at the `dubbo-tunnel up` output: it says why the connection was closed';
    case 'error':
      // Without the application the router chose by service: say how to find or name it.
      return options.application === undefined && /^dubbo-tunnel \[DT_ERR_NO_ROUTE\]: /.test(result.message)
        ? `no routed application is known to export ${options.service} (or --route maps it): \`dubbo-tunnel ls --interfaces\` lists what each application exports; name it with \`dubbo-tunnel call <application> ${options.service} ${options.method} ...\``
        : undefined;
    case 'value':
    case 'exception':
    case 'bad-response':
      return undefined;
  }
}

/** JSON text for values: byte[] as base64, Java longs beyond 2^53 arrive as strings already. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, function replacer(this: unknown, key: string, item: unknown) {
    const original = (this as Record<string, unknown>)[key];
    if (Buffer.isBuffer(original)) return original.toString('base64');
    if (typeof item === 'bigint') return item.toString();
    return item;
  }, indent) ?? 'null';
}

/** The stable code of each way a call can fail without an answer from the provider. */
export const FAILURE_CODES = {
  'bad-response': 'DT_ERR_CALL_BAD_ANSWER',
  'connect-failed': 'DT_ERR_CALL_CONNECT',
  'closed': 'DT_ERR_CALL_CLOSED',
  'timeout': 'DT_ERR_CALL_TIMEOUT',
} as const satisfies Partial<Record<CallResult['kind'], ErrorCode>>;

/** The code of a failed call: ours, or the one dubbo-tunnel put in its error response (`dubbo-tunnel [CODE]: …`). */
function errorCodeOf(result: CallResult): string | undefined {
  if (result.kind === 'error') return /^dubbo-tunnel \[(DT_ERR_[A-Z_]+)\]: /.exec(result.message)?.[1];
  return result.kind === 'value' || result.kind === 'exception' ? undefined : FAILURE_CODES[result.kind];
}

function print(result: CallResult, options: CallCommandOptions, context: CliContext): void {
  if (options.json) {
    const {kind, ...rest} = result;
    const ok = kind === 'value';
    const hint = hintFor(result, options);
    const errorCode = errorCodeOf(result);
    context.stdout.write(`${toJson({ok, kind, ...rest, ...(errorCode === undefined ? {} : {errorCode}), ...(hint === undefined ? {} : {hint})})}\n`);
    return;
  }
  switch (result.kind) {
    case 'value':
      context.stdout.write(`${toJson(result.value, 2)}\n`);
      return;
    case 'exception':
      context.stderr.write(`exception ${result.exceptionClass}${result.message === '' ? '' : `: ${result.message}`}\n`);
      return;
    case 'error': {
      const hint = hintFor(result, options);
      context.stderr.write(`error: status ${result.status} ${result.statusName}: ${result.message}\n${hint === undefined ? '' : `  fix: ${hint}\n`}`);
      return;
    }
    case 'bad-response':
      context.stderr.write(`dubbo-tunnel [${FAILURE_CODES[result.kind]}]: unreadable answer: ${result.message}\n`);
      return;
    case 'connect-failed':
    case 'closed':
    case 'timeout':
      context.stderr.write(`dubbo-tunnel [${FAILURE_CODES[result.kind]}]: ${result.message}\n  fix: ${hintFor(result, options) ?? ''}\n`);
      return;
  }
}

/**
 * The message dubbo-tunnel answers a dubbo:// call with when the application has only a Triple
 * port (core/backend.ts, StaticBackend and KubeBackend): `call` then retries over Triple by itself.
 */
const TRIPLE_ONLY = / has only a Triple port \(/;

async function runTriple(options: CallCommandOptions, context: CliContext): Promise<number> {
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

/**
 * `call --from <file>:<line>`: a recorded Dubbo call is sent as recorded (re-encoded from its types
 * and arguments); a recorded Triple call goes the usual --triple way with its JSON arguments.
 */
async function runRecorded(options: CallCommandOptions, from: NonNullable<CallCommandOptions['from']>, context: CliContext): Promise<number> {
  const {record} = await readRecordedLine(from.file, from.line);
  const where = `${from.file}:${from.line}`;
  const reason = unsendableReason(record);
  if (reason !== undefined) throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `the call on ${where} cannot be sent again: ${reason}`, {hint: 'pick another line'});
  const target = {host: options.host, port: options.port, to: from.to, attachmentKey: options.attachmentKey, timeoutMs: options.timeoutMs};
  const shown: CallCommandOptions = {...options, application: from.to ?? record.application, service: record.service ?? '', method: record.method ?? ''};
  if (record.protocol === 'triple') {
    // `call --triple` sends one application/grpc+json message, the array of the arguments: a
    // recorded call of that form (one message, an array) is sent that way; others by replay.
    const type = (record.triple?.requestHeaders['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    const [message, ...more] = record.arguments ?? [];
    if (type !== 'application/grpc+json' || !Array.isArray(message) || more.length > 0) {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `the Triple call on ${where} (${type ?? 'no content type'}) is not one application/grpc+json message, the form call sends`, {hint: `replay it: dubbo-tunnel replay ${from.file} --filter #${record.seq}`});
    }
    return runTriple({
      ...shown,
      triple: true,
      args: message.map((value) => JSON.stringify(value)),
      ...(record.version === undefined ? {} : {version: record.version}),
      ...(record.group === undefined ? {} : {group: record.group}),
    }, context);
  }
  const result = await callOnce(dubboRequestOf(record, target));
  print(result, shown, context);
  return exitCodeOf(result);
}

async function run(argv: string[], context: CliContext): Promise<number> {
  const options = parseCallOptions(argv);
  if (options.from !== undefined) return runRecorded(options, options.from, context);
  if (options.triple) return runTriple(options, context);
  const types = options.types === undefined ? undefined : parseTypeList(options.types);
  const encoded = options.generic
    ? buildGenericArguments(options.method, options.args, types)
    : buildArguments(options.args, types);
  const result = await callOnce({
    host: options.host,
    port: options.port,
    application: options.application,
    service: options.service,
    method: options.generic ? GENERIC_METHOD : options.method,
    parameterTypes: encoded.parameterTypes,
    args: encoded.args,
    // GenericImplFilter sends generic=true for a default (PojoUtils) generic call.
    attachments: options.generic ? {generic: 'true', ...options.attachments} : options.attachments,
    timeoutMs: options.timeoutMs,
    attachmentKey: options.attachmentKey,
    ...(options.version === undefined ? {} : {version: options.version}),
    ...(options.group === undefined ? {} : {group: options.group}),
  });
  if (result.kind === 'error' && TRIPLE_ONLY.test(result.message) && !options.generic && options.types === undefined) {
    return runTriple({...options, triple: true}, context);
  }
  print(result, options, context);
  return exitCodeOf(result);
}

export const command: Command = {
  name: 'call',
  summary: SUMMARIES.call,
  usage: [
    'dubbo-tunnel call [<application>] <interface> <method> [args...] [options]',
    'dubbo-tunnel call --from <file>:<line> [--to <application>] [options]',
    '',
    '  <application>  the provider\'s application name, sent as the target-application attachment.',
    '                 Left out (or -), none is sent: `dubbo-tunnel up` routes the call by --route, or',
    '                 by the service it learned the applications export. It is left out when the',
    '                 first word has a dot (com.example.UserService) and the second has none (a method).',
    '  <interface>    the Java interface, e.g. com.example.UserService (or a gRPC service, package.Service)',
    '  [args...]      one JSON value per parameter (a bare word is a string). Without --types the',
    '                 Java types are inferred from the JSON:',
    '                   "text" java.lang.String   7 int (long if it does not fit)   1.5 double',
    '                   true boolean   null java.lang.Object   [1,2] java.util.List   {"k":"v"} java.util.Map',
    '                   {"$class":"com.example.Query","name":"x"} a com.example.Query object',
    '                 A protobuf method (--proto, or described by the server\'s gRPC reflection)',
    '                 takes one JSON object: the request message.',
  ].join('\n'),
  options: OPTIONS,
  examples: [
    'dubbo-tunnel call user-rpc com.example.UserService getUser u-1',
    'dubbo-tunnel call com.example.UserService getUser u-1',
    'dubbo-tunnel call user-rpc com.example.UserService getUser \'"u-1"\' --port 20881',
    'dubbo-tunnel call user-rpc com.example.UserService findUsers \'{"$class":"com.example.UserQuery","name":"ann","limit":10}\'',
    'dubbo-tunnel call order-rpc com.example.OrderService getOrder 42 --types long',
    'dubbo-tunnel call order-rpc com.example.OrderService search \'{"status":"OPEN"}\' --generic --json',
    'dubbo-tunnel call order-rpc com.example.demo.OrderService listOrders 7 --triple',
    'dubbo-tunnel call greeter-rpc helloworld.Greeter SayHello \'{"name":"ann"}\' --proto helloworld.proto',
    'dubbo-tunnel call --from calls.jsonl:12                 # the call recorded on line 12 of up --record calls.jsonl',
    'dubbo-tunnel call --from calls.jsonl:12 --to user-rpc-canary',
    '',
    'With --triple and no --proto, the server\'s gRPC reflection is asked for the service first; when it',
    'describes it the call is protobuf (one JSON object for the request message), else it is the JSON call.',
    '',
    'With --generic and no --types the provider picks the method by name (fine unless it is overloaded).',
    '',
    'Exit status: 0 a value (or null) came back; 1 the provider threw or an error status came back',
    '(e.g. 60 "no route" from dubbo-tunnel); 2 usage error; 3 no answer: nothing listening, connection',
    'closed, timeout.',
  ],
  run,
};
