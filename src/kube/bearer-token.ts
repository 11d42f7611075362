import type {Writable} from 'node:stream';
import {DubboTunnelError} from '../core/errors.js';
import {KubeClient} from './client.js';
import {toKubeError} from './errors.js';
import {loadKubeconfig, routeExecPluginIo} from './kubeconfig.js';
import type {ExecPluginHooks} from './kubeconfig.js';

export interface BearerTokenOptions {
  /** --kubeconfig; default KUBECONFIG, then ~/.kube/config. */
  kubeconfig?: string;
  /** --context; default the kubeconfig's current-context. */
  context?: string;
  env?: NodeJS.ProcessEnv;
  /** Where exec credential plugins' stderr goes (login prompts); default process.stderr, null = drop. */
  execStderr?: Writable | null;
  /** A person is at the terminal and nothing else reads stdin: plugins may prompt on it. */
  interactive?: boolean;
  /** Bound on one run of an exec credentials plugin. */
  execTimeoutMs?: number;
}

/**
 * The developer's own Kubernetes credential as a bearer token: what a team gateway checks with a
 * TokenReview. It comes from client-node's authenticators, exactly as the API server would get it
 * (a static token, a token file, an exec plugin or OIDC, refreshed by them when it expires), so the
 * gateway sees the same identity RBAC knows.
 *
 * The token is never part of a message, a log line or an error: `describe()` names the context and
 * user only.
 */
export class BearerToken {
  readonly contextName: string;
  readonly userName: string | undefined;
  readonly #client: KubeClient;
  readonly #exec: ExecPluginHooks;
  #current: string | undefined;

  private constructor(client: KubeClient, exec: ExecPluginHooks, contextName: string, userName: string | undefined) {
    this.#client = client;
    this.#exec = exec;
    this.contextName = contextName;
    this.userName = userName;
  }

  /** Reads the kubeconfig (no credential yet). Throws DT_ERR_KUBECONFIG or DT_ERR_KUBE_CONTEXT. */
  static open(options: BearerTokenOptions = {}): BearerToken {
    const loaded = loadKubeconfig({kubeconfig: options.kubeconfig, context: options.context, env: options.env});
    const exec = routeExecPluginIo(loaded.kc, {
      stderr: options.execStderr,
      interactive: options.interactive,
      ...(options.execTimeoutMs === undefined ? {} : {timeoutMs: options.execTimeoutMs}),
    });
    const client = new KubeClient(loaded.kc, {server: loaded.server, contextName: loaded.contextName, onUnauthorized: () => exec.forgetCredentials()});
    return new BearerToken(client, exec, loaded.contextName, loaded.userName);
  }

  /** The token of a client already made (the one that port-forwards to the gateway): its exec plugin runs once for both. */
  static of(client: KubeClient, exec: ExecPluginHooks, userName: string | undefined): BearerToken {
    return new BearerToken(client, exec, client.contextName, userName);
  }

  /** `user alice of context dev`: who the gateway will see, for messages (never the token). */
  describe(): string {
    return `${this.userName === undefined ? 'the user' : `user ${this.userName}`} of context ${this.contextName}`;
  }

  /**
   * The token now: an exec plugin runs (or OIDC refreshes) when the one it gave expired, else the
   * kept one is used. Throws DT_ERR_GATEWAY_NO_TOKEN when the user authenticates some other way
   * (client certificates), DT_ERR_KUBE_UNAUTHORIZED when the plugin fails.
   */
  async get(): Promise<string> {
    let headers: Record<string, string | string[] | number> | undefined;
    try {
      headers = (await this.#client.connectionOptions()).headers;
    } catch (error) {
      throw toKubeError(error, this.#client.scene);
    }
    const token = bearerOf(headers?.Authorization ?? headers?.authorization);
    if (token === undefined) throw this.#noToken();
    this.#current = token;
    return token;
  }

  /** The token last got, for what cannot wait (an HTTP/2 stream's header); undefined before the first get(). */
  get current(): string | undefined {
    return this.#current;
  }

  /** The gateway refused the token: the next get() runs the exec plugin again instead of reusing it. */
  forget(): void {
    this.#exec.forgetCredentials();
  }

  #noToken(): DubboTunnelError {
    return new DubboTunnelError('DT_ERR_GATEWAY_NO_TOKEN', `${this.describe()} yields no bearer token (it authenticates with a client certificate or basic auth), and a team gateway can only check a token`, {
      hint: 'use a context whose user has a token: an exec or OIDC login (your cloud CLI or kubelogin), or a service-account token (`kubectl create token <service-account> -n <namespace>`, then `kubectl config set-credentials <user> --token=<token>`); see docs/team-mode.md',
    });
  }
}

/** The token of an `Authorization: Bearer <token>` header value; undefined for any other scheme. */
export function bearerOf(value: string | string[] | number | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(text);
  return match?.[1];
}
