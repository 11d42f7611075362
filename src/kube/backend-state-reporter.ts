import type {BackendState} from '../core/backend.js';
import type {DubboTunnelError} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import type {PodTarget, ServiceTargets} from './endpoints.js';

/** What a backend knows when its endpoints, its permission or the API server's stall change. */
export interface EndpointsView {
  namespace: string;
  targets: ServiceTargets;
  /** The pods new streams may go to (usableTargets). */
  usable: PodTarget[];
  /** Pods whose open streams just went (retired or destroyed). */
  gone: ReadonlySet<string>;
  /** The cluster's stall, if its API server stalled. */
  stalled: DubboTunnelError | undefined;
  /** Why the endpoint watch is failing, if it is. */
  watchProblem: DubboTunnelError | undefined;
  /** The pods/portforward permission: refused, still being checked, or undefined when allowed. */
  denied: DubboTunnelError | 'checking' | undefined;
  openStreams: number;
  /** Port-forwards fail at once because the API server cannot be reached. */
  apiDown: boolean;
  /** The words of the no-ready-pods answer, for when no pod is usable. */
  noReadyPods: () => string;
}

/**
 * The state one Kubernetes application shows (`backend-state-changed`): emitted only when it
 * changes, and never after the backend was withdrawn.
 */
export class BackendStateReporter {
  readonly #application: string;
  readonly #events: TunnelEventBus;
  #state: {state: BackendState; detail?: string; pod?: string} | undefined;
  #lastPod: string | undefined;
  /** Ready pods seen so far: a new one is announced (discovery asks it what it exports). */
  readonly #seenReady = new Set<string>();
  #withdrawn = false;

  constructor(application: string, events: TunnelEventBus) {
    this.#application = application;
    this.#events = events;
  }

  get state(): BackendState | undefined {
    return this.#state?.state;
  }

  set(state: BackendState, detail?: string, pod?: string): void {
    // Once withdrawn, the application's row belongs to whatever routes it now (or to nothing).
    if (this.#withdrawn) return;
    const previous = this.#state;
    if (previous?.state === state && previous.detail === detail && previous.pod === pod) return;
    this.#state = {state, detail, pod};
    this.#events.emit('backend-state-changed', {application: this.#application, state, ...(detail === undefined ? {} : {detail}), ...(pod === undefined ? {} : {pod})});
  }

  /** Reports nothing more. */
  withdraw(): void {
    this.#withdrawn = true;
  }

  streamOpened(namespace: string, pod: string): void {
    this.#lastPod = pod;
    this.set('ready', `pod ${namespace}/${pod}`, pod);
  }

  fromEndpoints(view: EndpointsView): void {
    const {namespace, targets, usable, gone, stalled, watchProblem, denied} = view;
    const ready = new Set(targets.ready.map((target) => target.pod));
    const newPod = [...ready].some((pod) => !this.#seenReady.has(pod));
    for (const pod of ready) this.#seenReady.add(pod);
    if (stalled !== undefined) {
      this.set('stalled', `${stalled.message}; new requests fail at once until it answers again`);
    } else if (watchProblem !== undefined) {
      // The watch that tells which pods are ready is failing: say so rather than "ready".
      this.set('error', `the endpoint watch is failing, pod readiness may be out of date: ${watchProblem.message}`);
    } else if (denied !== undefined && view.openStreams === 0) {
      if (denied === 'checking') this.set('connecting', `checking the pods/portforward permission in namespace ${namespace}`);
      else this.set('no-permission', `${denied.message}${denied.hint === undefined ? '' : `; fix: ${denied.hint}`}`);
    } else if (usable.length === 0) {
      this.set('no-ready-pods', view.noReadyPods());
    } else if (targets.ready.length === 0) {
      const pods = usable.map((target) => `${namespace}/${target.pod}`).join(', ');
      this.set('reconnecting', `no pod is ready; new requests go to terminating pod${usable.length === 1 ? '' : 's'} ${pods}, which still serve${usable.length === 1 ? 's' : ''}, until one is`, usable[0]?.pod);
    } else if (gone.size > 0) {
      const others = targets.ready.map((target) => target.pod).join(', ');
      this.set('reconnecting', `pod ${[...gone].map((pod) => `${namespace}/${pod}`).join(', ')} went away; new streams go to ${others}`, [...gone][0]);
    } else if (((newPod || this.#state?.state !== 'ready') && !view.apiDown && denied === undefined) || (this.#lastPod !== undefined && !ready.has(this.#lastPod))) {
      const pod = this.#lastPod !== undefined && ready.has(this.#lastPod) ? this.#lastPod : targets.ready[0]?.pod;
      this.set('ready', `${targets.ready.length} ready pod${targets.ready.length === 1 ? '' : 's'}`, pod);
    }
  }
}
