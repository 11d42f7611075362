import {DubboTunnelError} from '../core/errors.js';
import type {AccessAnswer, AccessQuestion} from './access-review.js';
import {roleRuleFor} from './errors.js';

/** Asks the API server one access question (a SelfSubjectAccessReview, access-review.ts). */
export type AccessReviewer = (question: AccessQuestion) => Promise<AccessAnswer>;

/**
 * How long a denial is believed before it is asked again (kube-rbac-proxy keeps denials 30 s): a
 * Role added meanwhile turns the applications ready without a restart.
 */
export const DENIAL_RECHECK_MS = 30_000;

/** What is known about port-forwards into one namespace. */
type Verdict = 'checking' | 'allowed' | DubboTunnelError;

interface Review {
  verdict: Verdict;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Whether port-forwards will be refused, shared by every backend of a KubeCluster, so that an
 * application whose port-forwards the cluster refuses is shown as such and never as ready. Each
 * namespace with a backend is asked once (`review`): a SelfSubjectAccessReview for `get` and
 * `create` on pods/portforward (the WebSocket upgrade is a GET; Kubernetes 1.35+ also checks
 * create). A review that cannot be made (the cluster does not answer them, a timeout) says nothing:
 * the first port-forward then tells. A port-forward that works proves a denial wrong and clears it.
 */
export class KnownDenials {
  readonly #reviewer: AccessReviewer | undefined;
  readonly #recheckMs: number;
  readonly #reviews = new Map<string, Review>();
  /** Said for the whole cluster by the doctor's permissions check once `up` serves it. */
  #reported: DubboTunnelError | undefined;
  readonly #listeners = new Set<() => void>();
  #closed = false;

  constructor(reviewer?: AccessReviewer, options: {recheckMs?: number} = {}) {
    this.#reviewer = reviewer;
    this.#recheckMs = options.recheckMs ?? DENIAL_RECHECK_MS;
  }

  /**
   * Why port-forwards into `namespace` will be refused; 'checking' while its review runs; undefined
   * when they are allowed or nothing is known.
   */
  portForward(namespace: string): DubboTunnelError | 'checking' | undefined {
    const verdict = this.#reviews.get(namespace)?.verdict;
    // The namespace's own review wins over the doctor's, which asks cluster-wide with -A (where a
    // Role in this namespace may still allow it).
    if (verdict === undefined) return this.#reported;
    return verdict === 'allowed' ? undefined : verdict;
  }

  /** Starts the review of `namespace` unless it ran or runs already (without a reviewer: nothing). */
  review(namespace: string): void {
    if (this.#reviewer === undefined || this.#closed || this.#reviews.has(namespace)) return;
    const review: Review = {verdict: 'checking', timer: undefined};
    this.#reviews.set(namespace, review);
    void this.#ask(namespace, review);
  }

  /** The doctor's check said port-forwards will be refused (or, undefined, that they are not). */
  setPortForward(denied: DubboTunnelError | undefined): void {
    if (denied === this.#reported) return;
    this.#reported = denied;
    this.#changed();
  }

  /** A port-forward into `namespace` worked: whatever was said against it was wrong. */
  portForwardWorked(namespace: string): void {
    const review = this.#reviews.get(namespace);
    let changed = false;
    if (review !== undefined && review.verdict !== 'allowed') {
      // Also while its review runs: the answer that comes later is then ignored.
      clearTimeout(review.timer);
      review.timer = undefined;
      review.verdict = 'allowed';
      changed = true;
    }
    if (this.#reported !== undefined) {
      this.#reported = undefined;
      changed = true;
    }
    if (changed) this.#changed();
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops the re-checks of denials. */
  close(): void {
    this.#closed = true;
    for (const review of this.#reviews.values()) clearTimeout(review.timer);
    this.#listeners.clear();
  }

  async #ask(namespace: string, review: Review): Promise<void> {
    const reviewer = this.#reviewer;
    if (reviewer === undefined) return;
    let verdict: Verdict;
    try {
      const answers = await Promise.all(['get', 'create'].map((verb) => reviewer({verb, group: '', resource: 'pods', subresource: 'portforward', namespace})));
      const refused = ['get', 'create'].filter((_verb, i) => answers[i]?.allowed !== true);
      verdict = refused.length === 0 ? 'allowed' : portForwardDenied(namespace, refused);
    } catch {
      // Not answered (no access reviews here, a timeout): not a reason to hold the applications back.
      verdict = 'allowed';
    }
    if (this.#closed || this.#reviews.get(namespace) !== review) return;
    // A port-forward that worked while the review ran is the better answer.
    if (review.verdict === 'allowed') return;
    review.verdict = verdict;
    if (verdict instanceof DubboTunnelError) {
      review.timer = setTimeout(() => {
        review.timer = undefined;
        void this.#ask(namespace, review);
      }, this.#recheckMs);
      review.timer.unref();
    }
    this.#changed();
  }

  #changed(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}

/** The denial an application in `namespace` shows: what is refused, and the Role rule that fixes it. */
function portForwardDenied(namespace: string, verbs: string[]): DubboTunnelError {
  const rule = roleRuleFor({verb: 'create', group: '', resource: 'pods', subresource: 'portforward', namespace}, ['get', 'create']);
  return new DubboTunnelError('DT_ERR_KUBE_FORBIDDEN', `no port-forward permission: ${verbs.join(' and ')} on pods/portforward is not allowed in namespace ${namespace}, so every port-forward would be refused`, {
    hint: `add to a Role bound to you in namespace ${namespace}: ${rule} (docs/kubernetes.md#permissions-rbac has the whole Role)`,
  });
}
