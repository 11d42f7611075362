import {DubboTunnelError} from '../../core/errors.js';
import {formatHostPort} from '../../core/host-port.js';
import {resolveSettings, SettingsStore} from '../../config/settings.js';
import {describeAnswer, diffAnswers, formatDifference} from '../../inspect/answer-diff.js';
import type {AnswerDifference} from '../../inspect/answer-diff.js';
import type {CallRecord} from '../../inspect/call-record.js';
import {PORT_RANGE, parseCommandArgs, parsePositiveInt} from '../args.js';
import type {CliContext, Command, OptionTable} from '../command.js';
import {SUMMARIES} from '../command.js';
import {matchesFilter, readRecording} from '../recorded-calls.js';
import type {RecordedCall} from '../recorded-calls.js';
import {replayCall} from '../replay-send.js';
import type {ReplayTarget} from '../replay-send.js';

const OPTIONS = {
  'filter': {type: 'string', multiple: true, value: 'text', description: 'replay only the calls whose application, interface or method contains <text> (UserService#getUser works too), or #<seq> for one call; repeatable (a call matching any is replayed)'},
  'to': {type: 'string', value: 'application', description: 'send every call to this application instead of the one it was routed to (the target-application attachment)'},
  'address': {type: 'string', value: '<host>:<port>', description: 'send to this address instead of the local session (default localhost and the port setting, 20880): a provider\'s own port works too'},
  'attachment-key': {type: 'string', value: 'key', description: 'attachment that names the application (default: the attachmentKey setting, target-application)'},
  'timeout': {type: 'string', value: 'ms', description: 'give up on a call after this many milliseconds (default 5000)'},
  'json': {type: 'boolean', description: 'one JSON object per call ({line, seq, outcome, differences, ...}) and a summary object last'},
} as const satisfies OptionTable;

export interface ReplayOptions {
  file: string;
  filters: string[];
  target: ReplayTarget;
  json: boolean;
}

export function parseReplayOptions(args: string[], env: NodeJS.ProcessEnv, store?: SettingsStore): ReplayOptions {
  const {values, positionals} = parseCommandArgs('replay', args, OPTIONS);
  const [file, extra] = positionals;
  if (file === undefined) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', 'replay needs the recording: dubbo-tunnel replay <file>', {hint: 'record one with dubbo-tunnel up --record calls.jsonl'});
  }
  if (extra !== undefined) throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `unexpected argument '${extra}'`, {hint: 'see dubbo-tunnel replay --help'});
  const settings = resolveSettings({flags: {attachmentKey: values['attachment-key']}, env, ...(store ? {store} : {})}).values;
  const address = values.address === undefined ? {host: 'localhost', port: settings.port} : parseAddress(values.address);
  const filters = values.filter ?? [];
  if (filters.some((filter) => filter.trim() === '')) throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--filter needs a text', {hint: 'for example --filter UserService or --filter #12'});
  if (values.to?.trim() === '') throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--to needs an application name', {hint: 'for example --to user-rpc'});
  return {
    file,
    filters,
    target: {
      ...address,
      to: values.to,
      attachmentKey: settings.attachmentKey,
      timeoutMs: values.timeout === undefined ? 5000 : parsePositiveInt(values.timeout, '--timeout'),
    },
    json: values.json ?? false,
  };
}

/** `host:port`, `[::1]:20880`. */
function parseAddress(text: string): {host: string; port: number} {
  const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d+)$/.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--address '${text}' is not <host>:<port> with a port that is ${PORT_RANGE}`, {hint: 'for example --address localhost:20880 or --address 127.0.0.1:20881'});
  }
  return {host, port};
}

type Verdict =
  | {outcome: 'same'; latencyMs: number}
  | {outcome: 'differs'; latencyMs: number; differences: AnswerDifference[]; recorded: string; replayed: string}
  | {outcome: 'failed'; error: string; code?: string}
  | {outcome: 'skipped'; reason: string};

async function verdictOf(record: CallRecord, target: ReplayTarget): Promise<Verdict | 'refused'> {
  // Nothing to compare with: not even sent (a one-way call would wait for an answer that never comes).
  if (record.answer === undefined) return {outcome: 'skipped', reason: 'no answer was recorded to compare with (a one-way call)'};
  const outcome = await replayCall(record, target);
  switch (outcome.kind) {
    case 'skipped':
      return {outcome: 'skipped', reason: outcome.reason};
    case 'failed':
      // Nothing listens there: every other call would fail the same way.
      if (outcome.connectRefused) return 'refused';
      return {outcome: 'failed', error: outcome.message, ...(outcome.code === undefined ? {} : {code: outcome.code})};
    case 'answered': {
      const differences = diffAnswers(record.answer, outcome.answer);
      return differences.length === 0
        ? {outcome: 'same', latencyMs: outcome.latencyMs}
        : {outcome: 'differs', latencyMs: outcome.latencyMs, differences, recorded: describeAnswer(record.answer), replayed: describeAnswer(outcome.answer)};
    }
  }
}

function nameOf(record: CallRecord): string {
  return `#${record.seq} ${record.application ?? '-'} ${record.service ?? '?'}#${record.method ?? '?'}`;
}

function printVerdict(call: RecordedCall, verdict: Verdict, options: ReplayOptions, context: CliContext): void {
  const {record} = call;
  if (options.json) {
    context.stdout.write(`${JSON.stringify({
      line: call.line, seq: record.seq, application: record.application, service: record.service, method: record.method, ...verdict,
    })}\n`);
    return;
  }
  const name = `line ${call.line} ${nameOf(record)}`;
  switch (verdict.outcome) {
    case 'same':
      context.stdout.write(`${name}: same (${verdict.latencyMs} ms)\n`);
      return;
    case 'differs':
      context.stdout.write(`${name}: differs (${verdict.latencyMs} ms)\n${verdict.differences.map((difference) => `    ${formatDifference(difference)}\n`).join('')}`);
      return;
    case 'failed':
      context.stdout.write(`${name}: failed: ${verdict.code === undefined ? '' : `[${verdict.code}] `}${verdict.error}\n`);
      return;
    case 'skipped':
      context.stdout.write(`${name}: skipped: ${verdict.reason}\n`);
      return;
  }
}

/** 0 only when every replayed call answered the same; 1 otherwise (nothing listening there included). */
async function run(args: string[], context: CliContext): Promise<number> {
  const options = parseReplayOptions(args, context.env, SettingsStore.open(context.env));
  const recorded = await readRecording(options.file);
  const chosen = options.filters.length === 0 ? recorded : recorded.filter(({record}) => options.filters.some((filter) => matchesFilter(record, filter)));
  if (chosen.length === 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', recorded.length === 0 ? `${options.file} holds no recorded calls` : `no recorded call of ${options.file} matches ${options.filters.map((filter) => `--filter ${filter}`).join(', ')}`, {
      hint: recorded.length === 0 ? 'record calls with dubbo-tunnel up --record <file>' : 'a filter matches part of an application, interface or method name, or #<seq>',
    });
  }
  const counts = {same: 0, differs: 0, failed: 0, skipped: 0};
  for (const call of chosen) {
    const verdict = await verdictOf(call.record, options.target);
    if (verdict === 'refused') {
      const where = formatHostPort(options.target.host, options.target.port);
      throw new DubboTunnelError('DT_ERR_CALL_CONNECT', `cannot connect to ${where}: connection refused (nothing is listening there)`, {
        hint: `is \`dubbo-tunnel up\` running? Give its address with --address <host>:<port> (now ${where})`,
      });
    }
    counts[verdict.outcome]++;
    printVerdict(call, verdict, options, context);
  }
  const total = chosen.length;
  if (options.json) {
    context.stdout.write(`${JSON.stringify({summary: true, replayed: total, ...counts})}\n`);
  } else {
    context.stdout.write(`replayed ${total} ${total === 1 ? 'call' : 'calls'}: ${counts.same} same, ${counts.differs} differ, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
  return counts.same === total ? 0 : 1;
}

export const command: Command = {
  name: 'replay',
  summary: SUMMARIES.replay,
  usage: [
    'dubbo-tunnel replay <file> [options]',
    '',
    '  <file>  a recording of dubbo-tunnel up --record <file> (or the lines of up --json --payloads)',
    '',
    'Each recorded call is sent again, one after the other, through the running session (or --address):',
    'Dubbo calls re-encoded from their recorded parameter types and arguments, with their attachments',
    '(redacted ones left out); Triple calls when their payload was JSON or hessian2 wrapper mode. Each',
    'prints `same`, `differs` with the paths whose values changed, `failed` with the error, or `skipped`',
    'with the reason.',
  ].join('\n'),
  options: OPTIONS,
  examples: [
    'dubbo-tunnel replay calls.jsonl',
    'dubbo-tunnel replay calls.jsonl --filter UserService --to user-rpc-canary',
    'dubbo-tunnel replay calls.jsonl --filter #12 --address 127.0.0.1:20881   # one call, straight to a provider',
    'dubbo-tunnel replay calls.jsonl --json | jq \'select(.outcome == "differs")\'',
    '',
    'Exit status: 0 every replayed call answered the same; 1 a call differs, failed or was skipped, a',
    'line is not a recorded call (named with its line number), or nothing listens at the address; 2 usage error.',
  ],
  run,
};
