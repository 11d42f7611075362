import {callOnce, DEFAULT_ATTACHMENT_KEY} from '../../client/dubbo-client.js';
import type {CallResult} from '../../client/dubbo-client.js';
import {buildArguments, buildGenericArguments, GENERIC_METHOD, parseTypeList} from '../../client/arguments.js';
import {DubboTunnelError} from '../../core/errors.js';
import type {ErrorCode} from '../../core/errors.js';
import {parseCommandArgs, parsePort, parsePositiveInt} from '../args.js';
import type {CliContext, Command} from '../command.js';

const OPTIONS = {
  'port': {type: 'string', short: 'p'},
  'host': {type: 'string'},
  'timeout': {type: 'string'},
  'types': {type: 'string'},
  'version': {type: 'string'},
  'group': {type: 'string'},
  'attachment-key': {type: 'string'},
  'attach': {type: 'string', multiple: true},
  'generic': {type: 'boolean'},
  'json': {type: 'boolean'},
} as const;

export interface CallCommandOptions {
  /** undefined when the application is `-` (no target attachment: the router's --route map decides). */
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
  const [application, service, method, ...rest] = positionals;
  if (application === undefined || service === undefined || method === undefined) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', 'call needs <application> <interface> <method> [args...]', {
      hint: 'for example: dubbo-tunnel call user-rpc com.example.UserService getUser \'"u-1"\'',
    });
  }
  if (!/^[\p{L}_$][\p{L}\p{N}_$]*(\.[\p{L}_$][\p{L}\p{N}_$]*)*$/u.test(service)) {
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
  };
}

/** 0: a value came back; 1: the call failed (error status, exception, unreadable answer); 2: no answer at all. */
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
      return 2;
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
    case 'value':
    case 'exception':
    case 'error':
    case 'bad-response':
      return undefined;
  }
}

/** JSON text for values: byte[] as base64, Java longs beyond 2^53 arrive as strings already. */
function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, function replacer(this: unknown, key: string, item: unknown) {
    const original = (this as Record<string, unknown>)[key];
    if (Buffer.isBuffer(original)) return original.toString('base64');
    if (typeof item === 'bigint') return item.toString();
    return item;
  }, indent) ?? 'null';
}

/** The stable code of each way a call can fail without an answer from the provider. */
const FAILURE_CODES = {
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
    case 'error':
      context.stderr.write(`error: status ${result.status} ${result.statusName}: ${result.message}\n`);
      return;
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

async function run(argv: string[], context: CliContext): Promise<number> {
  const options = parseCallOptions(argv);
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
  print(result, options, context);
  return exitCodeOf(result);
}

export const command: Command = {
  name: 'call',
  summary: 'Call one provider method through the local port (a built-in Dubbo consumer)',
  usage: [
    'dubbo-tunnel call <application> <interface> <method> [args...] [options]',
    '',
    '  <application>  the provider\'s application name, sent as the target-application attachment',
    '                 (- sends none: then the --route map of `dubbo-tunnel up` decides)',
    '  <interface>    the Java interface, e.g. com.example.UserService',
    '  [args...]      one JSON value per parameter (a bare word is a string). Without --types the',
    '                 Java types are inferred from the JSON:',
    '                   "text" java.lang.String   7 int (long if it does not fit)   1.5 double',
    '                   true boolean   null java.lang.Object   [1,2] java.util.List   {"k":"v"} java.util.Map',
    '                   {"$class":"com.example.Query","name":"x"} a com.example.Query object',
  ].join('\n'),
  options: [
    {flags: '--types <list>', description: 'Java parameter types, comma-separated (java.lang.String,int,com.example.Query,long[])'},
    {flags: '-p, --port <port>', description: 'port of `dubbo-tunnel up` (default 20880)'},
    {flags: '--host <host>', description: 'host of `dubbo-tunnel up` (default localhost)'},
    {flags: '--timeout <ms>', description: 'give up after this many milliseconds (default 5000)'},
    {flags: '--version <version>', description: 'service version (default 0.0.0)'},
    {flags: '--group <group>', description: 'service group'},
    {flags: '--attachment-key <key>', description: `attachment naming the application (default ${DEFAULT_ATTACHMENT_KEY})`},
    {flags: '--attach <key=value>', description: 'extra attachment, repeatable (e.g. --attach dubbo.tag=gray)'},
    {flags: '--generic', description: 'call GenericService.$invoke: no provider classes needed, POJOs go as maps'},
    {flags: '--json', description: 'print one JSON object: {ok, kind, value | exceptionClass, message | status, ...}'},
  ],
  examples: [
    'dubbo-tunnel call user-rpc com.example.UserService getUser u-1',
    'dubbo-tunnel call user-rpc com.example.UserService getUser \'"u-1"\' --port 20881',
    'dubbo-tunnel call user-rpc com.example.UserService findUsers \'{"$class":"com.example.UserQuery","name":"ann","limit":10}\'',
    'dubbo-tunnel call order-rpc com.example.OrderService getOrder 42 --types long',
    'dubbo-tunnel call order-rpc com.example.OrderService search \'{"status":"OPEN"}\' --generic --json',
    '',
    'With --generic and no --types the provider picks the method by name (fine unless it is overloaded).',
    '',
    'Exit status: 0 a value (or null) came back; 1 the provider threw or an error status came back',
    '(e.g. 60 "no route" from dubbo-tunnel); 2 no answer: nothing listening, connection closed, timeout.',
  ],
  run,
};
