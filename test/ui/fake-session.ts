// A stand-in for the AppSession that `up` builds (listener + routing). The UI only sees this
// interface and the event bus, so the tests drive the real bus and the real StatsStore through it.
import {TunnelEventBus} from '../../src/core/events.js';
import type {AppSession} from '../../src/core/app-session.js';

export class FakeSession implements AppSession {
  readonly events: TunnelEventBus;
  readonly addresses = ['127.0.0.1:20880'] as const;
  readonly port = 20880;
  stopCalls = 0;
  stopNowCalls = 0;
  readonly setSelectionCalls: string[][] = [];
  #selection: string[];
  #release: () => void = () => {};
  readonly #stopped: Promise<void>;

  /** `announce`: emit 'listening' as up's listener does once its port is open. */
  constructor(applications: readonly string[], events = new TunnelEventBus(), announce = true) {
    this.events = events;
    this.#selection = [...applications];
    if (announce) events.emit('listening', {addresses: [...this.addresses], port: this.port, allowRemote: false});
    this.#stopped = new Promise((resolve) => (this.#release = resolve));
  }

  selection(): readonly string[] {
    return this.#selection;
  }

  setSelection(applications: readonly string[]): Promise<void> {
    this.setSelectionCalls.push([...applications]);
    this.#selection = [...applications];
    this.events.emit('routes-changed', {applications: [...applications]});
    return Promise.resolve();
  }

  /** Resolves only when the test calls finishStop(), so "stopping…" can be observed. */
  stop(): Promise<void> {
    this.stopCalls++;
    return this.#stopped;
  }

  stopNow(): void {
    this.stopNowCalls++;
  }

  finishStop(): void {
    this.#release();
  }
}
