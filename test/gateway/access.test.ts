// The gateway's access cache: one review per token (kept by its hash) and per (user, namespace),
// shared by concurrent asks, expiring on time, and failures not kept long.
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {GatewayAccess, type Reviewer} from '../../src/gateway/access.js';
import type {AccessAttributes, ReviewedUser, TokenVerdict} from '../../src/kube/reviews.js';

class CountingReviewer implements Reviewer {
  tokenReviews = 0;
  accessReviews: AccessAttributes[] = [];
  down = false;
  reviewToken(token: string): Promise<TokenVerdict> {
    this.tokenReviews++;
    if (this.down) return Promise.reject(new Error(`connect ECONNREFUSED while sending ${token}`));
    return Promise.resolve(token === 'good' ? {authenticated: true, user: {username: 'alice', groups: ['dev']}} : {authenticated: false, reason: 'token has expired'});
  }
  reviewAccess(_user: ReviewedUser, attributes: AccessAttributes): Promise<{allowed: boolean}> {
    this.accessReviews.push(attributes);
    return Promise.resolve({allowed: attributes.namespace === 'shop'});
  }
}

describe('GatewayAccess', () => {
  it('reviews a token once while cached, shares concurrent asks, and asks again after 60 s', async () => {
    let now = 1000;
    const reviewer = new CountingReviewer();
    const access = new GatewayAccess(reviewer, {now: () => now});
    assert.equal(access.knownToken('good'), undefined);
    const [a, b] = await Promise.all([access.authenticate('good'), access.authenticate('good')]);
    assert.deepEqual(a, b);
    assert.equal(reviewer.tokenReviews, 1);
    assert.equal(access.knownToken('good')?.ok, true);
    now += 59_000;
    await access.authenticate('good');
    assert.equal(reviewer.tokenReviews, 1);
    now += 2_000;
    assert.equal(access.knownToken('good'), undefined);
    await access.authenticate('good');
    assert.equal(reviewer.tokenReviews, 2);
  });

  it('asks get services in the namespace, once per user and namespace for 30 s', async () => {
    let now = 0;
    const reviewer = new CountingReviewer();
    const access = new GatewayAccess(reviewer, {now: () => now});
    const user = {username: 'alice', groups: ['dev']};
    assert.deepEqual(await access.authorize(user, 'shop'), {ok: true});
    assert.equal((await access.authorize(user, 'billing')).ok, false);
    await access.authorize(user, 'shop');
    assert.deepEqual(reviewer.accessReviews, [{verb: 'get', group: '', resource: 'services', namespace: 'shop'}, {verb: 'get', group: '', resource: 'services', namespace: 'billing'}]);
    now += 31_000;
    await access.authorize(user, 'shop');
    assert.equal(reviewer.accessReviews.length, 3);
  });

  it('a review that could not be made is refused without the token, and asked again soon', async () => {
    let now = 0;
    const reviewer = new CountingReviewer();
    reviewer.down = true;
    const access = new GatewayAccess(reviewer, {now: () => now});
    const result = await access.authenticate('secret-token-value');
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason.includes('secret-token-value'), false);
    assert.match(!result.ok ? result.reason : '', /could not be checked/);
    reviewer.down = false;
    now += 3_000;
    assert.equal(access.knownToken('secret-token-value'), undefined);
    assert.equal((await access.authenticate('secret-token-value')).ok, false);
    assert.equal(reviewer.tokenReviews, 2);
  });
});
