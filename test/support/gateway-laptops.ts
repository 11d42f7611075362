// Laptops of a team gateway in one test process: each a session with `--via <namespace>/<service>`
// (the fake API server's port-forward to a gateway pod) and its Dubbo consumers, and what one
// consumer call came to — the failover and kill tests count these outcomes.
import {openViaSource} from '../../src/cli/via-source.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {TunnelSession} from '../../src/session/session.js';
import type {ViaTarget} from '../../src/via/via-target.js';
import {TestConsumer} from './dubbo-peers.js';
import type {FakeKubeApi} from './fake-kube-api.js';

export interface Laptop {
  readonly session: TunnelSession;
  readonly consumers: TestConsumer[];
}

export interface LaptopOptions {
  readonly dir: string;
  readonly index: number;
  readonly token: string;
  readonly namespace: string;
  readonly service: string;
  readonly consumers: number;
}

/** One laptop: its kubeconfig (user alice, `token`), `up --via namespace/service`, `consumers` consumers connected. */
export async function openLaptop(api: FakeKubeApi, options: LaptopOptions): Promise<Laptop> {
  const kubeconfig = api.writeKubeconfig(options.dir, {fileName: `laptop-${options.index}.yaml`, token: options.token, user: 'alice'});
  const events = new TunnelEventBus();
  const target: ViaTarget = {kind: 'service', namespace: options.namespace, service: options.service, port: undefined};
  const source = await openViaSource({target, kubeconfig}, {events, env: {}, execStderr: null, interactive: false});
  const session = await TunnelSession.start({sources: [source], events, listen: {port: 0, host: '127.0.0.1'}}, 'all');
  return {session, consumers: await Promise.all(Array.from({length: options.consumers}, () => TestConsumer.connect(session.port)))};
}

export type CallOutcome = {kind: 'answered'} | {kind: 'coded'; code: string; text: string} | {kind: 'hang'; message: string} | {kind: 'wrong'; text: string};

/**
 * One getUser call to `application` (whose test provider answers `<application>:getUser`): answered,
 * a coded error (dubbo-tunnel's DT_ERR_* in the text), no answer within `timeoutMs`, or something else.
 */
export async function callOutcome(consumer: TestConsumer, application: string, timeoutMs: number): Promise<CallOutcome> {
  try {
    const answer = await consumer.call({
      service: 'com.example.UserService', method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['u-1'],
      attachments: {'target-application': application},
    }, timeoutMs);
    if (answer.kind === 'value' && answer.value === `${application}:getUser`) return {kind: 'answered'};
    const text = answer.kind === 'error' ? answer.message : JSON.stringify(answer);
    const code = /DT_ERR_[A-Z_]+/.exec(text)?.[0];
    return code === undefined ? {kind: 'wrong', text} : {kind: 'coded', code, text};
  } catch (error) {
    return {kind: 'hang', message: error instanceof Error ? error.message : String(error)};
  }
}

/** Calls under way from every consumer, and what each came to, stamped with when it was sent. */
export interface CallLoad {
  readonly outcomes: {readonly at: number; readonly outcome: CallOutcome}[];
  /** Sends no more calls and waits for those under way. */
  stop(): Promise<void>;
  /** How many calls of `kind` were sent in [from, to). */
  count(kind: CallOutcome['kind'], from?: number, to?: number): number;
}

/** Every consumer keeps `inFlight` calls outstanding, alternating over `applications`, until stopped. */
export function startCallLoad(consumers: readonly TestConsumer[], applications: readonly string[], inFlight: number, timeoutMs: number): CallLoad {
  let running = true;
  const outcomes: {at: number; outcome: CallOutcome}[] = [];
  const workers = consumers.flatMap((consumer) => Array.from({length: inFlight}, async (_, slot) => {
    for (let n = slot; running; n++) {
      const application = applications[n % applications.length] as string;
      const at = Date.now();
      outcomes.push({at, outcome: await callOutcome(consumer, application, timeoutMs)});
    }
  }));
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
    count: (kind, from = 0, to = Infinity) => outcomes.filter((entry) => entry.outcome.kind === kind && entry.at >= from && entry.at < to).length,
  };
}
