import {createHash} from 'node:crypto';
import {errorMessage} from '../core/errors.js';
import type {AccessAttributes, ReviewedUser, TokenVerdict} from '../kube/reviews.js';

/** What the gateway asks the API server; src/kube/reviews.ts AccessReviews is the real one. */
export interface Reviewer {
  reviewToken(token: string): Promise<TokenVerdict>;
  reviewAccess(user: ReviewedUser, attributes: AccessAttributes): Promise<{allowed: boolean; reason?: string}>;
}

/** The permission that lets a developer use an application through the gateway, in its namespace. */
export const APPLICATION_PERMISSION = {verb: 'get', group: '', resource: 'services'} as const;

/** A token's review is kept this long (a revoked or expired token is refused within it). */
export const TOKEN_CACHE_MS = 60_000;
/** A permission decision is kept this long per user and namespace. */
export const ACCESS_CACHE_MS = 30_000;
/** A review that could not be made (API server unreachable) is not asked again for this long. */
const FAILURE_CACHE_MS = 2_000;

export type Authentication =
  | {readonly ok: true; readonly user: ReviewedUser}
  | {readonly ok: false; readonly reason: string};

export type Authorization =
  | {readonly ok: true}
  | {readonly ok: false; readonly reason: string; readonly failed: boolean};

interface Entry<T> {
  value: Promise<T>;
  /** Set once settled: what callers get without waiting. */
  settled: T | undefined;
  expiresAt: number;
}

/**
 * Who may use the gateway: each token reviewed once per TOKEN_CACHE_MS (kept by its SHA-256, so
 * the token itself is never a key, a log word or a metric label), each (user, namespace) once per
 * ACCESS_CACHE_MS. Concurrent asks for the same thing share one review. Every answer can be read
 * at once once known (`known*`), so the listener waits only when a review is really running.
 */
export class GatewayAccess {
  readonly #reviewer: Reviewer;
  readonly #tokens = new Map<string, Entry<Authentication>>();
  readonly #access = new Map<string, Entry<Authorization>>();
  readonly #now: () => number;

  constructor(reviewer: Reviewer, options: {now?: () => number} = {}) {
    this.#reviewer = reviewer;
    this.#now = options.now ?? Date.now;
  }

  /** The cached review of `token`, or undefined while none is known (then call authenticate()). */
  knownToken(token: string): Authentication | undefined {
    return this.#fresh(this.#tokens, tokenKey(token))?.settled;
  }

  authenticate(token: string): Promise<Authentication> {
    return this.#ask(this.#tokens, tokenKey(token), TOKEN_CACHE_MS, async () => {
      const verdict = await this.#reviewer.reviewToken(token);
      return verdict.authenticated ? {ok: true, user: verdict.user} : {ok: false, reason: verdict.reason};
    }, (error) => ({ok: false, reason: `the token could not be checked: ${scrub(errorMessage(error), token)}`}));
  }

  knownAccess(user: ReviewedUser, namespace: string): Authorization | undefined {
    return this.#fresh(this.#access, accessKey(user, namespace))?.settled;
  }

  authorize(user: ReviewedUser, namespace: string): Promise<Authorization> {
    return this.#ask(this.#access, accessKey(user, namespace), ACCESS_CACHE_MS, async () => {
      const answer = await this.#reviewer.reviewAccess(user, {...APPLICATION_PERMISSION, namespace});
      return answer.allowed ? {ok: true} : {ok: false, failed: false, reason: answer.reason ?? ''};
    }, (error) => ({ok: false, failed: true, reason: `the permission could not be checked: ${errorMessage(error)}`}));
  }

  #fresh<T>(cache: Map<string, Entry<T>>, key: string): Entry<T> | undefined {
    const entry = cache.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      cache.delete(key);
      return undefined;
    }
    return entry;
  }

  #ask<T>(cache: Map<string, Entry<T>>, key: string, ttlMs: number, review: () => Promise<T>, failed: (error: unknown) => T): Promise<T> {
    const existing = this.#fresh(cache, key);
    if (existing !== undefined) return existing.value;
    // Never expires while running; its time starts when the answer is known.
    const entry: Entry<T> = {value: Promise.resolve(undefined as T), settled: undefined, expiresAt: Number.POSITIVE_INFINITY};
    entry.value = review().then((value) => {
      entry.settled = value;
      entry.expiresAt = this.#now() + ttlMs;
      return value;
    }, (error: unknown) => {
      const value = failed(error);
      entry.settled = value;
      entry.expiresAt = this.#now() + FAILURE_CACHE_MS;
      return value;
    });
    cache.set(key, entry);
    // Bounded: old entries go once expired, checked whenever the cache grows.
    if (cache.size > 10_000) for (const [other] of cache) this.#fresh(cache, other);
    return entry.value;
  }
}

function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function accessKey(user: ReviewedUser, namespace: string): string {
  return JSON.stringify([user.username, user.uid ?? '', [...user.groups].sort(), namespace]);
}

/** Some error texts echo what was sent; a token never leaves in one. */
export function scrub(text: string, token: string): string {
  return token === '' ? text : text.split(token).join('<token>');
}
