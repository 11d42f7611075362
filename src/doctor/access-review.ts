import http from 'node:http';
import https from 'node:https';
import {parseStatus} from '../kube/client.js';
import type {KubeClient} from '../kube/client.js';
import {KubeRequestError} from '../kube/errors.js';
import type {ResourceRef} from '../kube/errors.js';

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
  const body = JSON.stringify({
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
  });
  const ref: ResourceRef = {verb: 'create', group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews'};
  const options = await client.connectionOptions();
  const url = client.url(PATH);
  const transport = url.protocol === 'https:' ? https : http;
  const {status, text} = await new Promise<{status: number; text: string}>((resolve, reject) => {
    const request = transport.request(url, {
      method: 'POST',
      agent: options.agent,
      auth: options.auth,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      rejectUnauthorized: options.rejectUnauthorized,
      servername: options.servername,
      headers: {...options.headers, 'Accept': 'application/json', 'Content-Type': 'application/json', 'User-Agent': 'dubbo-tunnel', 'Content-Length': Buffer.byteLength(body)},
      signal: AbortSignal.timeout(timeoutMs),
    }, (response) => {
      response.setEncoding('utf8');
      let text = '';
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({status: response.statusCode ?? 0, text}));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
  if (status === 401) client.unauthorized();
  if (status < 200 || status > 299) throw new KubeRequestError(status, parseStatus(text), ref);
  const review = JSON.parse(text) as {status?: {allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string}};
  const reason = review.status?.reason ?? review.status?.evaluationError;
  return {allowed: review.status?.allowed === true, ...(reason === undefined || reason === '' ? {} : {reason})};
}
