import {DEFAULT_ATTACHMENT_KEY} from '../../client/dubbo-client.js';
import {DubboTunnelError} from '../../core/errors.js';
import {parseCommandArgs, parsePort, parsePositiveInt} from '../args.js';
import type {OptionTable} from '../command.js';
import {parseFileLine} from '../recorded-calls.js';

// `call`'s options and its command line read into them.

export const CALL_OPTIONS = {
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
  const parsed = parseCommandArgs('call', shielded, CALL_OPTIONS);
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

function fromRecordingOptions(values: ReturnType<typeof parseCommandArgs<typeof CALL_OPTIONS>>['values'], positionals: string[]): CallCommandOptions {
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
