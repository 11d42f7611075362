import {callOnce} from '../../client/dubbo-client.js';
import {buildArguments, buildGenericArguments, GENERIC_METHOD} from '../../client/arguments.js';
import {parseTypeList} from '../../client/java-types.js';
import {DubboTunnelError} from '../../core/errors.js';
import {readRecordedLine} from '../recorded-calls.js';
import {dubboRequestOf, unsendableReason} from '../replay-send.js';
import type {CliContext, Command} from '../command.js';
import {SUMMARIES} from '../command.js';
import {CALL_OPTIONS, parseCallOptions} from './call-options.js';
import type {CallCommandOptions} from './call-options.js';
import {exitCodeOf, printResult} from './call-output.js';
import {runTriple} from './call-triple.js';

/**
 * The message dubbo-tunnel answers a dubbo:// call with when the application has only a Triple
 * port (core/backend.ts, StaticBackend and KubeBackend): `call` then retries over Triple by itself.
 */
const TRIPLE_ONLY = / has only a Triple port \(/;

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
  printResult(result, shown, context);
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
  printResult(result, options, context);
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
  options: CALL_OPTIONS,
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
