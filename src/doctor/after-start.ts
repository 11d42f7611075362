import {DubboTunnelError} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import type {ClusterOptions, KubeCluster} from '../kube/cluster.js';
import {backendsCheck, permissionsCheck} from './checks.js';
import type {CheckResult} from './checks.js';

/** How long an access review may take here: `up` is already serving, this only adds words. */
const REVIEW_TIMEOUT_MS = 5000;

/**
 * Once `up` serves a cluster: the doctor's permissions and backends checks on that same cluster (no
 * second credentials run), and every failing one is said in the log with the doctor's words and fix
 * (a missing namespace, no backends, no right to port-forward). A refused port-forward also keeps the
 * applications from being shown as ready. Never throws; returns what failed (for tests).
 */
export async function warnAtStart(cluster: KubeCluster, source: ClusterOptions['source'], events: TunnelEventBus): Promise<CheckResult[]> {
  let results: CheckResult[];
  try {
    results = [await permissionsCheck(cluster, source, REVIEW_TIMEOUT_MS), await backendsCheck(cluster, [])];
  } catch {
    return [];
  }
  const failing = results.filter((result) => result.status === 'fail');
  for (const result of failing) {
    events.log('warn', `doctor: ${result.title}: ${result.summary}${result.fix === undefined ? '' : `; fix: ${result.fix}`}`);
    if (result.id === 'permissions' && result.problem === 'port-forward') {
      cluster.reportPortForwardDenied(new DubboTunnelError('DT_ERR_KUBE_FORBIDDEN', `port-forwards will be refused: ${result.summary}`, result.fix === undefined ? {} : {hint: result.fix}));
    }
  }
  return failing;
}
