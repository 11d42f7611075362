import {dumpYaml} from '@kubernetes/client-node';
import {KubeClient} from './client.js';
import {loadInClusterConfig} from './kubeconfig.js';
import {toKubeError} from './errors.js';

/** Who a token belongs to, as a TokenReview says (authentication/v1 UserInfo). */
export interface ReviewedUser {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

export type TokenVerdict =
  | {readonly authenticated: true; readonly user: ReviewedUser}
  /** `reason`: the API server's words (e.g. "token has expired"), never the token. */
  | {readonly authenticated: false; readonly reason: string};

export interface AccessAttributes {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly namespace: string;
}

/**
 * The API server's answers on behalf of another user, asked with the gateway's own service account
 * (which needs `create` on tokenreviews and subjectaccessreviews, and nothing else for this).
 */
export class AccessReviews {
  readonly #client: KubeClient;

  constructor(client: KubeClient) {
    this.#client = client;
  }

  /** POST a TokenReview. Throws a DubboTunnelError when the API server cannot be asked. */
  async reviewToken(token: string): Promise<TokenVerdict> {
    const body = {apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: {token}};
    let answer: {status?: {authenticated?: boolean; error?: string; user?: {username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]>}}};
    try {
      answer = await this.#client.postJson('/apis/authentication.k8s.io/v1/tokenreviews', body, {verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews'});
    } catch (error) {
      throw toKubeError(error, this.#client.scene, {verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews'});
    }
    const status = answer.status;
    const username = status?.user?.username;
    if (status?.authenticated !== true || username === undefined || username === '') {
      return {authenticated: false, reason: scrub(status?.error ?? 'the API server did not accept the token', token)};
    }
    return {
      authenticated: true,
      user: {
        username,
        groups: status.user?.groups ?? [],
        ...(status.user?.uid === undefined ? {} : {uid: status.user.uid}),
        ...(status.user?.extra === undefined ? {} : {extra: status.user.extra}),
      },
    };
  }

  /** POST a SubjectAccessReview for `user`. Throws a DubboTunnelError when the API server cannot be asked. */
  async reviewAccess(user: ReviewedUser, attributes: AccessAttributes): Promise<{allowed: boolean; reason?: string}> {
    const body = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: user.username,
        groups: user.groups,
        ...(user.uid === undefined ? {} : {uid: user.uid}),
        ...(user.extra === undefined ? {} : {extra: user.extra}),
        resourceAttributes: attributes,
      },
    };
    const ref = {verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews'};
    let answer: {status?: {allowed?: boolean; reason?: string}};
    try {
      answer = await this.#client.postJson('/apis/authorization.k8s.io/v1/subjectaccessreviews', body, ref);
    } catch (error) {
      throw toKubeError(error, this.#client.scene, ref);
    }
    return {allowed: answer.status?.allowed === true, ...(answer.status?.reason === undefined ? {} : {reason: answer.status.reason})};
  }
}

/** An API server's error text never carries the token back to a log, but make sure. */
function scrub(text: string, token: string): string {
  return token === '' ? text : text.split(token).join('<token>');
}

/**
 * The reviews of a gateway running in a pod: asked with its own service account (the same
 * credentials as its discovery, src/kube/kubeconfig.ts loadInClusterConfig).
 */
export function openInClusterReviews(options: {serviceAccountDir?: string; env?: NodeJS.ProcessEnv}): AccessReviews {
  const loaded = loadInClusterConfig({...options});
  return new AccessReviews(new KubeClient(loaded.kc, {server: loaded.server, contextName: loaded.contextName}));
}

/** Kubernetes objects as one multi-document YAML stream (what `kubectl apply -f -` reads). */
export function toYamlDocuments(objects: readonly unknown[]): string {
  return objects.map((object) => dumpYaml(object, {noRefs: true, lineWidth: -1})).join('---\n');
}
