/**
 * A small shell for people who type `telnet localhost 20880` and `ls` out of habit (Dubbo providers answer
 * that on their own port). Lines in, text out, Dubbo's prompt `dubbo>` after each answer and Dubbo's own
 * "Unsupported command" wording. Local peers only (the listener's rule); bounded lines; idle ones closed.
 */
import type {Socket} from 'node:net';
import type {TunnelEventBus} from '../core/events.js';
import type {RouteView} from '../router/route-table.js';

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
}

export class TelnetShell {
  readonly id: number;
  readonly #socket: Socket;
  readonly #options: TelnetShellOptions;
  #buffer = '';
  #closed = false;
  #onClosed: (() => void) | undefined;

  constructor(socket: Socket, options: TelnetShellOptions) {
    this.id = options.id;
    this.#socket = socket;
    this.#options = options;
    socket.setEncoding('latin1');
    socket.setTimeout(options.idleMs ?? IDLE_CLOSE_MS, () => this.#end('\r\nidle for too long; bye\r\n'));
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
      if (line.length > MAX_LINE) {
        this.#end(`line too long (over ${MAX_LINE} bytes); bye\r\n`);
        return;
      }
      const answer = runShellCommand(clean(line), this.#applications());
      if (answer.close) {
        this.#end(answer.text);
        return;
      }
      this.#socket.write(`${answer.text}${TELNET_PROMPT}`);
    }
    if (this.#buffer.length > MAX_LINE) this.#end(`line too long (over ${MAX_LINE} bytes); bye\r\n`);
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
  'help                this list',
  'exit, quit          close this connection',
];

/** One command; pure. `text` ends with CRLF (the prompt is added by the caller unless `close`). */
export function runShellCommand(line: string, applications: readonly ShellApplication[]): {text: string; close?: boolean} {
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

function crlf(lines: string[]): string {
  return lines.map((line) => `${line}\r\n`).join('');
}
