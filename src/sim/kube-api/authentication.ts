/**
 * Who a request to the simulated API server is: the user of its bearer token, or anonymous on the
 * few paths the real API server lets anyone read; anything else is 401 Unauthorized. The tokens
 * the cluster knows, their users and groups, and the TokenReviews that ask about them.
 */
import type http from 'node:http';
import {HttpError, sendJson, status} from './responses.js';
import type {ServedCluster} from './served-cluster.js';
import {record} from './types.js';

const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

export function authenticate(req: http.IncomingMessage, pathname: string, tokens: Pick<ServedCluster, 'userOf'>): string {
  const header = req.headers.authorization;
  if (header === undefined) {
    // system:public-info-viewer lets anonymous clients read /version and the health endpoints.
    if (PUBLIC_PATHS.has(pathname)) return 'system:anonymous';
    throw new HttpError(status(401, 'Unauthorized', 'Unauthorized'));
  }
  const m = /^Bearer\s+(.+)$/i.exec(header);
  const user = m?.[1] === undefined ? undefined : tokens.userOf(m[1].trim());
  if (user === undefined) throw new HttpError(status(401, 'Unauthorized', 'Unauthorized'));
  return user;
}

/** The bearer tokens of the cluster: token → user, the users' groups, and tokens that expired. */
export class BearerTokens {
  readonly #users = new Map<string, string>();
  readonly #groups = new Map<string, string[]>();
  /** Tokens that still name a user but no longer authenticate (TokenReview: "token has expired"). */
  readonly #expired = new Set<string>();

  constructor(defaultToken: string, options: {user?: string; users?: Record<string, string>; groups?: Record<string, string[]>}) {
    this.#users.set(defaultToken, options.user ?? 'admin');
    for (const [token, user] of Object.entries(options.users ?? {})) this.#users.set(token, user);
    for (const [user, groups] of Object.entries(options.groups ?? {})) this.#groups.set(user, [...groups]);
  }

  /** The user a token authenticates as, or undefined (unknown or expired). */
  userOf(token: string): string | undefined {
    return this.#expired.has(token) ? undefined : this.#users.get(token);
  }

  /** Adds (or re-points) a token; it authenticates again if it had expired. */
  add(token: string, user: string): void {
    this.#users.set(token, user);
    this.#expired.delete(token);
  }

  expire(token: string): void {
    this.#expired.add(token);
  }

  /**
   * TokenReview (authentication/v1): the tokens this server knows are authenticated as their user,
   * with the user's groups plus system:authenticated; an expired one says so, like the API server's
   * token authenticators; anything else is not authenticated, with no error text.
   */
  review(res: http.ServerResponse, body: Buffer): void {
    let review: Record<string, unknown>;
    try {
      review = record(JSON.parse(body.toString('utf8')));
    } catch {
      throw new HttpError(status(400, 'BadRequest', 'the object provided is unrecognized (must be of type TokenReview)'));
    }
    const spec = record(review.spec);
    const token = typeof spec.token === 'string' ? spec.token : '';
    const user = this.#users.get(token);
    const answer = (reviewStatus: Record<string, unknown>): void => {
      sendJson(res, 201, {kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: {creationTimestamp: null}, spec: {}, status: reviewStatus});
    };
    if (user === undefined) {
      answer({user: {}});
    } else if (this.#expired.has(token)) {
      answer({user: {}, error: '[invalid bearer token, token has expired]'});
    } else {
      answer({authenticated: true, user: {username: user, uid: `uid-${user}`, groups: [...(this.#groups.get(user) ?? []), 'system:authenticated']}});
    }
  }
}
