import {BackendError} from '../core/errors.js';
import type {KubeApplication} from './discovery.js';
import type {PodTarget, ServiceTargets} from './endpoints.js';
import {SERVICE_NAME_LABEL} from './endpoints.js';
import {formatSelector} from './label-selector.js';
import type {PodStream} from './pod-streams.js';

/** How long a pod whose port-forward just failed is tried only after the others. */
const POD_COOLDOWN_MS = 5000;
/** A stream that dies this soon without a byte from the pod marks its pod as failing. */
const EARLY_DEATH_MS = 2000;

/**
 * Which usable pod of one backend takes its next stream. It opens nothing itself: it is told which
 * pods failed and which streams opened, and remembers the failures for a short while.
 */
export class PodChoice {
  readonly #failedAt = new Map<string, number>();
  #next = 0;

  /** Fewest open streams first (spreads consumers over pods), pods that failed recently last, then round robin. */
  choose(candidates: PodTarget[], load: ReadonlyMap<string, number>): PodTarget | undefined {
    if (candidates.length === 0) return undefined;
    const now = Date.now();
    const cooling = (pod: string): number => {
      const at = this.#failedAt.get(pod);
      return at !== undefined && now - at < POD_COOLDOWN_MS ? 1 : 0;
    };
    const start = this.#next++ % candidates.length;
    const rotated = [...candidates.slice(start), ...candidates.slice(0, start)];
    rotated.sort((a, b) => cooling(a.pod) - cooling(b.pod) || (load.get(a.pod) ?? 0) - (load.get(b.pod) ?? 0));
    return rotated[0];
  }

  /** A stream to `pod` could not be opened: the other pods are tried first for a while. */
  failed(pod: string): void {
    this.#failedAt.set(pod, Date.now());
  }

  /** A stream to `pod` opened: it is no longer failing, unless the stream dies young. */
  opened(stream: PodStream, pod: string): void {
    this.#failedAt.delete(pod);
    const openedAt = Date.now();
    stream.once('close', () => {
      // Died young without a word from the pod (e.g. a dial refused after the settle window): try
      // the other pods first next time.
      if (stream.bytesReceived === 0 && stream.errored !== null && Date.now() - openedAt < EARLY_DEATH_MS) this.#failedAt.set(pod, Date.now());
    });
  }

  /** Forgets the failures of pods that are no longer usable. */
  keepOnly(usable: ReadonlySet<string>): void {
    for (const pod of this.#failedAt.keys()) if (!usable.has(pod)) this.#failedAt.delete(pod);
  }
}

/** `waitedMs`: how long the request waited for a ready pod before this answer (the same for every answer, so they fold in the log). */
export function noReadyPodsError(application: string, target: KubeApplication, targets: ServiceTargets, waitedMs?: number): BackendError {
  const {namespace, service} = target;
  const selector = formatSelector(target.podSelector);
  const extra = targets.withoutPod > 0 ? ` (its ${targets.withoutPod} endpoints have no pod behind them; port-forward needs pods)` : '';
  const waited = waitedMs === undefined ? '' : `; none became ready within ${waitedMs} ms`;
  return new BackendError(`${application}: service ${namespace}/${service} has no ready pods${extra}${waited}`, {
    code: 'DT_ERR_NO_READY_PODS',
    hint: selector === undefined
      ? `check the endpoints: kubectl get endpointslices -n ${namespace} -l ${SERVICE_NAME_LABEL}=${service}`
      : `check the pods: kubectl get pods -n ${namespace} -l ${selector}`,
  });
}
