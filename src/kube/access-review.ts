import type {KubeClient} from './client.js';
import type {ResourceRef} from './errors.js';

/** The attributes of one SelfSubjectAccessReview (authorization.k8s.io/v1 ResourceAttributes). */
export interface AccessQuestion {
  verb: string;
  /** '' for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  /** '' or undefined = all namespaces (cluster-wide). */
  namespace?: string;
}

export interface AccessAnswer {
  allowed: boolean;
  /** status.reason (RBAC's "allowed by RoleBinding ..."), or status.evaluationError. */
  reason?: string;
}

const PATH = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';

/**
 * `kubectl auth can-i`: POSTs a SelfSubjectAccessReview with the context's credentials (taken from
 * KubeClient, so exec plugins, certificates and proxies behave as for every other request). Every
 * authenticated user may create one (ClusterRole system:basic-user). Throws KubeRequestError for a
 * non-2xx answer and the network error for no answer.
 */
export async function canI(client: KubeClient, question: AccessQuestion, timeoutMs: number): Promise<AccessAnswer> {
  const body = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: {
      resourceAttributes: {
        verb: question.verb,
        group: question.group,
        resource: question.resource,
        ...(question.subresource === undefined ? {} : {subresource: question.subresource}),
        ...(question.namespace === undefined || question.namespace === '' ? {} : {namespace: question.namespace}),
      },
    },
  };
  const ref: ResourceRef = {verb: 'create', group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews'};
  const review = await client.postJson<{status?: {allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string}}>(PATH, body, ref, {timeoutMs});
  const reason = review.status?.reason ?? review.status?.evaluationError;
  return {allowed: review.status?.allowed === true, ...(reason === undefined || reason === '' ? {} : {reason})};
}
