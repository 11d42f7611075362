/**
 * A Pod's readiness as the kubelet reports it: the Ready and ContainersReady conditions (their
 * lastTransitionTime moves only when the status changes) and each container's ready flag.
 */
import {record, type KubeObject} from './types.js';

/** Sets `pod`'s readiness in place; `now` is the transition time of a condition that changes. */
export function setPodReadiness(pod: KubeObject, ready: boolean, now: string): void {
  const st = record(pod.status);
  const conditions = Array.isArray(st.conditions) ? (st.conditions as Record<string, unknown>[]) : [];
  for (const type of ['Ready', 'ContainersReady']) {
    const existing = conditions.find((c) => c.type === type);
    const value = ready ? 'True' : 'False';
    if (existing === undefined) conditions.push({type, status: value, lastProbeTime: null, lastTransitionTime: now});
    else if (existing.status !== value) Object.assign(existing, {status: value, lastTransitionTime: now});
  }
  st.conditions = conditions;
  if (Array.isArray(st.containerStatuses)) {
    for (const cs of st.containerStatuses as Record<string, unknown>[]) cs.ready = ready;
  }
  pod.status = st;
}
