/**
 * A small shell for people who type `telnet localhost 20880` out of habit (Dubbo providers answer
 * that on their own port): `ls` for what is routed, `invoke Service.method(args)` through the
 * tunnel's own routing, `ps` for the consumer connections and `status` for the applications. Lines
 * in, text out, Dubbo's prompt `dubbo>` after each answer and Dubbo's own wording where Dubbo has a
 * command of that name. Local peers only (the listener's rule); bounded lines; idle ones closed.
 */
import type {Socket} from 'node:net';
import type {TunnelEventBus} from '../core/events.js';
import {textTable} from '../core/text-table.js';
import type {RouteView} from '../router/route-table.js';
import {normalizeAddress} from './local-peer.js';
import {changeDefaults, describeDefaults, describeOutcome, parseInvoke, resolveService} from './telnet-invoke.js';
import type {InvokeDefaults, ShellInvoker} from './telnet-invoke.js';
import type {ApplicationActivity, ConsumerActivity, TunnelActivity} from './tunnel-activity.js';

export const TELNET_PROMPT = 'dubbo>';
/** QoS's own limit (QosProcessHandler): a longer line is not a command. */
export const MAX_LINE = 2048;
/** QoS closes telnet connections idle this long. */
export const IDLE_CLOSE_MS = 5 * 60 * 1000;

/** What the shell shows per routed application. */
export interface ShellApplication {
  name: string;
  /** Where it goes: `127.0.0.1:20881`, `svc default/user-rpc:dubbo`. */
  where: string;
  /** Its service keys, sorted. */
  services: readonly string[];
  /** learning / learned (how) / unknown (why), when a learner runs. */
  note?: string;
}

export interface TelnetShellOptions {
  id: number;
  peer: string;
  events: TunnelEventBus;
  routes: RouteView;
  /** Richer per-application notes (the learner's state); without it the route table alone is shown. */
  describe?: (application: string) => string | undefined;
  idleMs?: number;
  /** Makes `invoke` calls; without it `invoke` says it is not available here. */
  invoke?: ShellInvoker;
  /** The listener's books, for `ps` and `status`. */
  activity?: TunnelActivity;
}

/** What a synchronous command answers; `close` ends the session after the text. */
interface Answer {
  text: string;
  close?: boolean;
}

export class TelnetShell {
  readonly id: number;
  readonly #socket: Socket;
  readonly #options: TelnetShellOptions;
  #buffer = '';
  /** Complete lines not run yet: a line that arrives while an `invoke` waits runs after it. */
  readonly #lines: string[] = [];
  /** The `invoke` being answered, if any. */
  #running: AbortController | undefined;
  #defaults: InvokeDefaults = {};
  #closed = false;
  #onClosed: (() => void) | undefined;

  constructor(socket: Socket, options: TelnetShellOptions) {
    this.id = options.id;
    this.#socket = socket;
    this.#options = options;
    socket.setEncoding('latin1');
    socket.setTimeout(options.idleMs ?? IDLE_CLOSE_MS, () => {
      // An `invoke` waiting for its answer is not idleness; the call has its own timeout.
      if (this.#running === undefined) this.#end('\r\nidle for too long; bye\r\n');
    });
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('end', () => this.#end(undefined));
    socket.on('error', () => this.#close());
    socket.on('close', () => this.#close());
  }

  onClosed(listener: () => void): void {
    this.#onClosed = listener;
  }

  shutdown(): Promise<void> {
    this.#end('\r\ndubbo-tunnel is shutting down; bye\r\n');
    return Promise.resolve();
  }

  #onData(chunk: string): void {
    if (this.#closed) return;
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 1);
      if (line.length > MAX_LINE) break;
      this.#lines.push(clean(line));
    }
    this.#runLines();
    // The lines before an over-long one are answered first, as they were typed first.
    if (end >= 0 || this.#buffer.length > MAX_LINE) this.#end(`line too long (over ${MAX_LINE} bytes); bye\r\n`);
  }

  /** Runs the waiting lines in order; stops at an `invoke` and carries on once it is answered. */
  #runLines(): void {
    let line: string | undefined;
    while (!this.#closed && this.#running === undefined && (line = this.#lines.shift()) !== undefined) {
      const [command = '', ...args] = line.split(/\s+/);
      if (command === 'invoke') {
        this.#invoke(line.slice('invoke'.length));
        continue;
      }
      const answer = this.#command(command, args) ?? runShellCommand(line, this.#applications());
      if (answer.close) {
        this.#end(answer.text);
        return;
      }
      this.#socket.write(`${answer.text}${TELNET_PROMPT}`);
    }
  }

  /** The commands that need the session's state: cd, pwd, ps, status. */
  #command(command: string, args: readonly string[]): Answer | undefined {
    switch (command) {
      case 'cd': {
        const routed = [...this.#options.routes.current.backends.keys()];
        const changed = changeDefaults(args, this.#defaults, routed, this.#knownServices());
        this.#defaults = changed.defaults;
        return {text: crlf([changed.text])};
      }
      case 'pwd':
        return {text: crlf([args.length > 0 ? `Unsupported parameter [${args.join(', ')}] for pwd.` : describeDefaults(this.#defaults)])};
      case 'ps':
        if (args.length > 0) return {text: crlf([`Unsupported parameter ${args.join(' ')} for ps.`])};
        return {text: crlf(describeConsumers(this.#options.activity?.consumers() ?? [], this.id, Date.now()))};
      case 'status':
        if (args.length > 0 && !(args.length === 1 && args[0] === '-l')) return {text: crlf([`Unsupported parameter ${args.join(' ')} for status.`])};
        return {text: crlf(describeStatus(this.#applications(), (name) => this.#options.activity?.application(name), this.#options.activity?.consumers().length))};
      default:
        return undefined;
    }
  }

  #invoke(text: string): void {
    const parsed = parseInvoke(text, this.#defaults);
    if (parsed.kind === 'answer') {
      this.#socket.write(`${crlf([parsed.text])}${TELNET_PROMPT}`);
      return;
    }
    const invoker = this.#options.invoke;
    if (invoker === undefined) {
      this.#socket.write(`${crlf(['invoke is not available on this listener'])}${TELNET_PROMPT}`);
      return;
    }
    const resolved = resolveService(parsed.service, this.#knownServices());
    const running = new AbortController();
    this.#running = running;
    const invocation = {
      // The address the telnet client reached is this listener's: the call goes through it like any consumer's.
      host: normalizeAddress(this.#socket.localAddress ?? '127.0.0.1'),
      port: this.#socket.localPort ?? 0,
      application: this.#defaults.application,
      service: resolved.service,
      group: resolved.group,
      version: resolved.version,
      method: parsed.method,
      args: parsed.args,
      signal: running.signal,
    };
    invoker(invocation)
      .then((outcome) => describeOutcome(resolved.key, parsed.method, outcome))
      .catch((error: unknown) => describeOutcome(resolved.key, parsed.method, {kind: 'failure', text: error instanceof Error ? error.message : String(error)}))
      .then((text) => {
        this.#running = undefined;
        if (this.#closed) return;
        this.#socket.write(`${crlf([text])}${TELNET_PROMPT}`);
        this.#runLines();
      }, () => undefined);
  }

  /** Every interface the route table knows (learned and --route), for `cd` and simple names. */
  #knownServices(): string[] {
    const table = this.#options.routes.current;
    return [...table.services.keys(), ...table.interfaces.keys()];
  }

  #applications(): ShellApplication[] {
    const table = this.#options.routes.current;
    const services = new Map<string, string[]>();
    for (const [key, applications] of table.services) {
      for (const application of applications) {
        const list = services.get(application) ?? [];
        list.push(key);
        services.set(application, list);
      }
    }
    return [...table.backends.values()].map((backend) => {
      const note = this.#options.describe?.(backend.application);
      return {
        name: backend.application,
        where: backend.describe(),
        services: (services.get(backend.application) ?? []).sort(),
        ...(note === undefined ? {} : {note}),
      };
    }).sort((a, b) => a.name.localeCompare(b.name));
  }

  #end(text: string | undefined): void {
    if (this.#closed) return;
    if (text !== undefined && this.#socket.writable) this.#socket.end(text);
    else this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#running?.abort();
    this.#options.events.emit('connection-closed', {connectionId: this.id, peer: this.#options.peer});
    this.#onClosed?.();
  }
}

/** A line as typed: CR and telnet negotiation bytes (non-ASCII) dropped, spaces trimmed. */
function clean(line: string): string {
  return line.replace(/[^\x20-\x7e\t]/g, '').trim();
}

const HELP = [
  'ls                  routed applications and the services each exports',
  'ls -l               the same, with where each goes and how its services were learned',
  'ls <application>    the services of one application',
  'invoke [Service.]method(args)   call a method through the tunnel, e.g. invoke com.foo.UserService.getUser("42");',
  '                    args are a JSON list without brackets; the answer is printed as JSON',
  'cd <Service>        the default service of invoke; cd <application> sends it as target-application; cd / forgets',
  'pwd                 the defaults cd set',
  'ps                  the consumer connections of this port: peer, protocol, requests, since',
  'status              the routed applications and their states',
  'help                this list',
  'exit, quit          close this connection',
];

/** One command; pure. `text` ends with CRLF (the prompt is added by the caller unless `close`). */
export function runShellCommand(line: string, applications: readonly ShellApplication[]): Answer {
  if (line === '') return {text: ''};
  const [command = '', ...args] = line.split(/\s+/);
  switch (command) {
    case 'exit':
    case 'quit':
      return {text: 'BYE!\r\n', close: true};
    case 'help':
      return {text: crlf(['Commands of the dubbo-tunnel shell (this port routes Dubbo and Triple requests; the providers\' own telnet commands are not forwarded):', ...HELP.map((row) => `  ${row}`)])};
    case 'ls': {
      const long = args.includes('-l');
      const names = args.filter((arg) => arg !== '-l');
      if (names.length > 1) return {text: crlf(['usage: ls [-l] [<application>]'])};
      const name = names[0];
      if (name !== undefined) {
        const application = applications.find((candidate) => candidate.name === name);
        if (!application) return {text: crlf([`No such application: ${name} (routed: ${applications.map((a) => a.name).join(', ') || 'none'})`])};
        return {text: crlf(describeApplication(application, true))};
      }
      if (applications.length === 0) return {text: crlf(['No application is routed yet.'])};
      return {text: crlf(applications.flatMap((application) => describeApplication(application, long)))};
    }
    default:
      // Dubbo's TelnetHandlerAdapter wording.
      return {text: crlf([`Unsupported command: ${command}`])};
  }
}

function describeApplication(application: ShellApplication, long: boolean): string[] {
  const count = `${application.services.length} service${application.services.length === 1 ? '' : 's'}`;
  const head = long
    ? `${application.name} -> ${application.where}: ${count}${application.note === undefined ? '' : ` (${application.note})`}`
    : `${application.name}: ${count}${application.services.length === 0 && application.note !== undefined ? ` (${application.note})` : ''}`;
  return [head, ...application.services.map((service) => `    ${service}`)];
}

/** `ps`: one row per open consumer connection of this port, oldest first; the asking shell is marked. */
export function describeConsumers(consumers: readonly ConsumerActivity[], self: number, now: number): string[] {
  if (consumers.length === 0) return ['No consumer is connected.'];
  const rows = consumers.map((consumer) => [
    `#${consumer.id}`,
    consumer.peer,
    consumer.protocol,
    String(consumer.requests),
    String(consumer.errors),
    `${clock(consumer.since)} (${ago(now - consumer.since)})${consumer.id === self ? '  <- this shell' : ''}`,
  ]);
  return textTable([['CONSUMER', 'PEER', 'PROTOCOL', 'REQUESTS', 'ERRORS', 'SINCE'], ...rows], '  ');
}

/**
 * `status`: every routed application with its backend's state and its counts, then a summary in the
 * levels of Dubbo's StatusTelnetHandler: OK, WARN while a backend connects or has no ready pod, ERROR
 * when one failed.
 */
export function describeStatus(applications: readonly ShellApplication[], activity: (name: string) => ApplicationActivity | undefined, consumers: number | undefined): string[] {
  if (applications.length === 0) return ['No application is routed yet.', 'summary: WARN'];
  let level: 'OK' | 'WARN' | 'ERROR' = 'OK';
  const rows = applications.map((application) => {
    const seen = activity(application.name);
    const state = seen?.state ?? (seen !== undefined && seen.streams > 0 ? 'ready' : 'idle');
    if (state === 'error') level = 'ERROR';
    else if (state !== 'ready' && state !== 'idle' && level === 'OK') level = 'WARN';
    const detail = seen?.detail === undefined || seen.detail === application.where ? '' : `  ${seen.detail}`;
    return [
      application.name,
      state,
      String(seen?.requests ?? 0),
      String(seen?.errors ?? 0),
      String(seen?.streams ?? 0),
      String(seen?.inFlight ?? 0),
      `${application.where}${detail}`,
    ];
  });
  const count = `${applications.length} application${applications.length === 1 ? '' : 's'} routed`;
  const connected = consumers === undefined ? '' : `, ${consumers} consumer connection${consumers === 1 ? '' : 's'}`;
  return [
    ...textTable([['APPLICATION', 'STATE', 'REQUESTS', 'ERRORS', 'STREAMS', 'IN FLIGHT', 'WHERE'], ...rows], '  '),
    `summary: ${level} (${count}${connected})`,
  ];
}

/** `HH:MM:SS` in local time. */
function clock(at: number): string {
  const date = new Date(at);
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function ago(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h`;
}

function crlf(lines: string[]): string {
  return lines.map((line) => `${line}\r\n`).join('');
}
