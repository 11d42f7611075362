import type {CallResult} from '../../client/dubbo-client.js';
import type {ErrorCode} from '../../core/errors.js';
import type {CliContext} from '../command.js';
import type {CallCommandOptions} from './call-options.js';

// How `call` shows a dubbo:// call's result (and its exit status): the value as JSON, or what went
// wrong with the fix, or one JSON line with --json.

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

export function printResult(result: CallResult, options: CallCommandOptions, context: CliContext): void {
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
