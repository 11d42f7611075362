import type {Backend} from '../../core/backend.js';
import {DubboTunnelError} from '../../core/errors.js';
import {TunnelEventBus} from '../../core/events.js';
import type {LogLevel} from '../../core/events.js';
import {DEFAULT_PAYLOAD} from '../../protocol/header.js';
import {StaticBackend, parseBackendSpec} from '../../proxy/static-backend.js';
import {TunnelServer} from '../../proxy/tunnel-server.js';
import {attachLineReporter, isLogLevel} from '../../reporters/line-reporter.js';
import {RouteSource, createRouteTable} from '../../router/route-table.js';
import {parseCommandArgs, parsePort, parsePositiveInt} from '../args.js';
import type {CliContext, Command} from '../command.js';

const OPTIONS = {
  'backend': {type: 'string', multiple: true},
  'route': {type: 'string', multiple: true},
  'port': {type: 'string', short: 'p'},
  'host': {type: 'string'},
  'allow-remote': {type: 'boolean'},
  'attachment-key': {type: 'string'},
  'max-payload': {type: 'string'},
  'log-level': {type: 'string'},
  'json': {type: 'boolean'},
  'no-ui': {type: 'boolean'},
} as const;

export interface UpOptions {
  backends: {application: string; host: string; port: number}[];
  routes: [string, string][];
  port: number;
  host: string | undefined;
  allowRemote: boolean;
  attachmentKey: string;
  maxPayload: number;
  logLevel: LogLevel;
  json: boolean;
  noUi: boolean;
}

export function parseUpOptions(args: string[]): UpOptions {
  const {values, positionals} = parseCommandArgs('up', args, OPTIONS);
  if (positionals.length > 0) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `unexpected argument '${positionals[0]}'`, {hint: 'see dubbo-tunnel up --help'});
  }
  const backends = (values.backend ?? []).map((spec) => {
    const parsed = parseBackendSpec(spec);
    if (!parsed) {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--backend '${spec}' is not <application>=<host>:<port>`, {
        hint: 'for example --backend user-rpc=127.0.0.1:20881',
      });
    }
    return parsed;
  });
  const seen = new Set<string>();
  for (const backend of backends) {
    if (seen.has(backend.application)) {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--backend names '${backend.application}' twice`);
    }
    seen.add(backend.application);
  }
  const routes = (values.route ?? []).map((spec): [string, string] => {
    const match = /^([\w.$]+)=([^=\s]+)$/.exec(spec);
    if (!match?.[1] || !match[2]) {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--route '${spec}' is not <interface>=<application>`, {
        hint: 'for example --route com.example.UserService=user-rpc',
      });
    }
    return [match[1], match[2]];
  });
  const logLevel = values['log-level'] ?? 'info';
  if (!isLogLevel(logLevel)) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--log-level must be debug, info, warn or error, got '${logLevel}'`);
  }
  return {
    backends,
    routes,
    port: values.port === undefined ? 20880 : parsePort(values.port, '--port'),
    host: values.host,
    allowRemote: values['allow-remote'] ?? false,
    attachmentKey: values['attachment-key'] ?? 'target-application',
    maxPayload: values['max-payload'] === undefined ? DEFAULT_PAYLOAD : parsePositiveInt(values['max-payload'], '--max-payload'),
    logLevel,
    json: values.json ?? false,
    noUi: values['no-ui'] ?? false,
  };
}

async function run(args: string[], context: CliContext): Promise<number> {
  const options = parseUpOptions(args);
  if (options.backends.length === 0) {
    throw new DubboTunnelError('DT_ERR_NEEDS_CHOICE', 'no backends: nothing to route to', {
      hint: 'pass --backend <application>=<host>:<port> (repeat it for more applications)',
    });
  }
  const events = new TunnelEventBus();
  const detach = attachLineReporter(events, {out: context.stdout, level: options.logLevel, json: options.json});
  const backends: Backend[] = options.backends.map((b) => new StaticBackend(b.application, b.host, b.port));
  const routes = new RouteSource(createRouteTable(backends, options.routes));
  const server = await TunnelServer.start({
    port: options.port,
    ...(options.host === undefined ? {} : {host: options.host}),
    allowRemote: options.allowRemote,
    routes,
    events,
    attachmentKey: options.attachmentKey,
    maxBodyLength: options.maxPayload,
  });
  events.emit('routes-changed', {applications: backends.map((b) => `${b.application} -> ${b.describe()}`)});
  await waitForStopSignal();
  events.log('info', 'stopping: answering requests in flight, then closing');
  await server.close();
  detach();
  return 0;
}

/** Resolves on the first SIGINT/SIGTERM; a second one exits at once. */
export function waitForStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const force = () => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export const command: Command = {
  name: 'up',
  summary: 'Open the local Dubbo port and route each request to its provider application',
  usage: 'dubbo-tunnel up [options]',
  options: [
    {flags: '--backend <app>=<host>:<port>', description: 'route application <app> to a fixed provider address (repeatable)'},
    {flags: '--route <interface>=<app>', description: 'send requests for a Java interface to <app> when they carry no target-application (repeatable)'},
    {flags: '-p, --port <port>', description: 'local Dubbo port (default 20880)'},
    {flags: '--host <address>', description: 'listen only on this address (default: all of this machine\'s addresses, local peers only)'},
    {flags: '--allow-remote', description: 'accept consumers from other machines (off by default: anyone who can reach the port could call your providers)'},
    {flags: '--attachment-key <key>', description: 'attachment that names the target application (default target-application)'},
    {flags: '--max-payload <bytes>', description: 'largest frame body accepted, like Dubbo\'s payload (default 8388608)'},
    {flags: '--log-level <level>', description: 'debug | info | warn | error (default info; debug prints every request)'},
    {flags: '--json', description: 'print JSON lines instead of text'},
    {flags: '--no-ui', description: 'plain line output even in a terminal'},
  ],
  examples: [
    'dubbo-tunnel up --backend user-rpc=127.0.0.1:20881 --backend pay-rpc=127.0.0.1:20882',
    'dubbo-tunnel up --backend user-rpc=127.0.0.1:20881 --route com.example.UserService=user-rpc --port 20990',
    'dubbo-tunnel up --backend user-rpc=127.0.0.1:20881 --log-level debug --json',
  ],
  run,
};
