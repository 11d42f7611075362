import path from 'node:path';
import {SettingsStore} from '../../config/settings.js';
import {DubboTunnelError} from '../../core/errors.js';
import {TunnelEventBus} from '../../core/events.js';
import {DEMO_CONTEXT, DEMO_NAMESPACE, DemoCluster} from '../../sim/demo.js';
import type {DemoApplication} from '../../sim/demo.js';
import {DEMO_CALLS} from '../../sim/demo-services.js';
import type {DemoCallExample} from '../../sim/demo-services.js';
import type {CliContext, Command} from '../command.js';
import {SUMMARIES} from '../command.js';
import {runSession} from '../session-runner.js';
import {OPTIONS as UP_OPTIONS, parseUpOptions, sessionRunOptions} from './up.js';
import {printSettingsWarnings} from '../settings-warnings.js';
import type {UpOptions} from './up.js';

/**
 * `dubbo-tunnel demo`: a simulated cluster in this process (src/sim), then the real `up` against
 * it, with the same flags. Only the flags that would point `up` somewhere else are refused.
 */

const NOT_FOR_DEMO = ['--kubeconfig', '--context', '--backend'] as const;

/** How this process was started, for commands the user can paste: `node bin/dubbo-tunnel.js` from a clone. */
export function invocation(script: string | undefined = process.argv[1], cwd: string = process.cwd()): string {
  if (script === undefined || path.basename(script) !== 'dubbo-tunnel.js') return 'dubbo-tunnel';
  const relative = path.relative(cwd, script);
  const shown = relative.startsWith('..') || path.isAbsolute(relative) ? script : relative;
  return `node ${/^[\w./-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`}`;
}

/** The `call` command line for an example, with the flags `up` was given that `call` needs too. */
export function callCommand(example: DemoCallExample, options: Pick<UpOptions, 'port' | 'host' | 'attachmentKey'>, prefix = 'dubbo-tunnel'): string {
  const words = [prefix, 'call', example.application, example.interface, example.method, ...example.args];
  if (example.triple === true) words.push('--triple');
  if (options.port !== 20880) words.push('--port', String(options.port));
  // `call` connects to localhost; only a --host that localhost does not reach needs repeating.
  const host = options.host;
  if (host !== undefined && !['::', '0.0.0.0', '127.0.0.1', '::1', 'localhost'].includes(host)) words.push('--host', host);
  if (options.attachmentKey !== 'target-application') words.push('--attachment-key', options.attachmentKey);
  return words.join(' ');
}

function banner(cluster: DemoCluster, options: UpOptions, prefix: string): string {
  const width = Math.max(...cluster.applications.map((app) => app.application.length));
  const pods = (app: DemoApplication) => `${app.pods.length} ${app.pods.length === 1 ? 'pod' : 'pods'}`;
  const calls = DEMO_CALLS.map((example) => `  ${callCommand(example, options, prefix)}`);
  const others = prefix === 'dubbo-tunnel'
    ? 'from a clone of the repository: npx dubbo-tunnel call ... or node bin/dubbo-tunnel.js call ...'
    : 'installed with npm: dubbo-tunnel call ...; in the clone also npx dubbo-tunnel call ...';
  return [
    'dubbo-tunnel demo: a simulated Kubernetes cluster in this process (no cluster and no Java needed)',
    `  context ${DEMO_CONTEXT} · namespace ${DEMO_NAMESPACE} · API server ${cluster.api.url}`,
    ...cluster.applications.map((app) => `  ${app.application.padEnd(width)}  found by ${app.markedBy} (${pods(app)})`),
    'Next comes the real `dubbo-tunnel up` against it. Once it listens, call from another terminal:',
    ...calls,
    `  (${others})`,
    ...DEMO_CALLS.map((example) => `  ${example.application}${example.triple === true ? ' over Triple' : ''}: ${example.note}`),
    'Stop with Ctrl-C (or q in the dashboard); the simulated cluster stops with it.',
    '',
  ].join('\n');
}

/**
 * Puts each example call into the log (plain output and the dashboard's "recent" list) once its
 * application is routed and the port is open, so the hint is on screen when it can work.
 */
function announceCalls(events: TunnelEventBus, options: UpOptions, prefix: string): void {
  let listening = false;
  let routed: readonly string[] = [];
  const announced = new Set<string>();
  const announce = () => {
    // An application can have two examples (dubbo:// and Triple): each command line is said once.
    const ready = DEMO_CALLS.map((example) => ({example, line: callCommand(example, options, prefix)}))
      .filter(({example, line}) => routed.includes(example.application) && !announced.has(line));
    if (ready.length === 0) return;
    if (announced.size === 0) events.log('info', 'demo ready; try these from another terminal:');
    for (const {line} of ready) {
      announced.add(line);
      events.log('info', `  ${line}`);
    }
  };
  events.on('routes-changed', ({applications}) => {
    routed = applications;
    if (listening) announce();
  });
  events.on('listening', () => {
    listening = true;
    // After the "listening" line itself, which the reporter prints for this same event.
    queueMicrotask(announce);
  });
}

async function run(args: string[], context: CliContext): Promise<number> {
  const store = SettingsStore.open(context.env);
  const options = parseUpOptions(args, context.env, store);
  printSettingsWarnings(options.settingsWarnings, context.stderr);
  const refused = NOT_FOR_DEMO.find((flag) => args.some((arg) => arg === flag || arg.startsWith(`${flag}=`)));
  if (refused !== undefined) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `${refused} cannot be used with demo: the demo brings its own simulated cluster`, {
      hint: `use dubbo-tunnel up ${refused} ... for a real cluster or fixed backends`,
    });
  }
  const interactive = context.interactive && !options.noUi && !options.json;
  // Without a terminal there is no picker: route every demo application.
  const choice = !interactive && options.choice === undefined ? {kind: 'all' as const} : options.choice;

  const cluster = await DemoCluster.start();
  try {
    // First run: every demo application is ticked in the picker, so Enter is all it takes.
    if (interactive && store.recalledSelection(DEMO_CONTEXT, DEMO_NAMESPACE) === undefined) {
      try {
        store.rememberSelection(DEMO_CONTEXT, DEMO_NAMESPACE, cluster.applications.map((app) => app.application));
      } catch {
        // A broken config file (its warning is printed above): the picker just starts unticked.
      }
    }
    const prefix = invocation();
    // --json keeps stdout machine-readable: the banner goes to stderr then.
    (options.json ? context.stderr : context.stdout).write(banner(cluster, options, prefix));
    const events = new TunnelEventBus();
    announceCalls(events, options, prefix);
    // The same session as `up`, pointed at the simulated cluster: options, not a command line.
    const demoOptions: UpOptions = {
      ...options,
      choice,
      kube: {...options.kube, kubeconfig: cluster.kubeconfigPath},
      contexts: [DEMO_CONTEXT],
      cluster: true,
    };
    return await runSession(sessionRunOptions(demoOptions, context, store, events), context);
  } finally {
    await cluster.stop();
  }
}

export const command: Command = {
  name: 'demo',
  summary: SUMMARIES.demo,
  usage: 'dubbo-tunnel demo [up options]',
  // demo parses up's options (parseUpOptions); its help shows the few that matter for the demo.
  options: {
    'no-ui': {...UP_OPTIONS['no-ui'], description: 'plain line output (routes every demo application; also without a terminal or with CI set)'},
    'port': UP_OPTIONS.port,
    'all': UP_OPTIONS.all,
    'select': UP_OPTIONS.select,
    'last': UP_OPTIONS.last,
  },
  notes: [
    {flags: '-n, --namespace <ns>, --log-level, --json, ...', description: 'every other option of dubbo-tunnel up works the same (not --kubeconfig, --context, --backend)'},
  ],
  examples: [
    'dubbo-tunnel demo                       # picker and dashboard in the terminal',
    'dubbo-tunnel demo --no-ui --port 20990  # plain output on port 20990',
    'npm install && npm run demo             # from a clone of the repository',
    '',
    'Then, in another terminal:',
    ...DEMO_CALLS.map((example) => `  ${callCommand(example, {port: 20880, host: undefined, attachmentKey: 'target-application'})}`),
  ],
  run,
};
