import assert from 'node:assert/strict';
import {test} from 'node:test';
import {PendingRequests} from '../../src/proxy/pending-requests.js';

test('one request in flight, then many: each answer takes its own request, once', () => {
  const pending = new PendingRequests<string>();
  assert.equal(pending.take(1n), undefined);
  pending.set(1n, 'a');
  assert.equal(pending.size, 1);
  assert.equal(pending.take(2n), undefined);
  assert.equal(pending.take(1n), 'a');
  assert.equal(pending.take(1n), undefined);
  assert.equal(pending.size, 0);
  for (let id = 10n; id < 20n; id++) pending.set(id, `r${id}`);
  assert.equal(pending.size, 10);
  // Answers out of order, as a provider's thread pool sends them.
  for (const id of [15n, 10n, 19n, 11n]) assert.equal(pending.take(id), `r${id}`);
  assert.equal(pending.size, 6);
  // The sole slot is free again (10 was in it): a new request may use it while others are in the map.
  pending.set(30n, 'r30');
  assert.equal(pending.take(30n), 'r30');
  assert.deepEqual(pending.takeAll().map(([id]) => id).sort(), [12n, 13n, 14n, 16n, 17n, 18n]);
  assert.equal(pending.size, 0);
});

test('an id sent again replaces its entry instead of being counted twice', () => {
  const pending = new PendingRequests<string>();
  pending.set(1n, 'a');
  pending.set(2n, 'b');
  pending.set(1n, 'a2');
  pending.set(2n, 'b2');
  assert.equal(pending.size, 2);
  assert.equal(pending.take(1n), 'a2');
  // 1 is gone from the slot while 2 is in the map: setting 2 again must not also put it in the slot.
  pending.set(2n, 'b3');
  assert.equal(pending.size, 1);
  assert.equal(pending.take(2n), 'b3');
  assert.equal(pending.size, 0);
});
