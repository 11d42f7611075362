// The one owner of a consumer connection's backpressure (src/proxy/backpressure.ts), without sockets;
// test/proxy/backpressure.test.ts checks the same end to end on real ones.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {Backpressure} from '../../src/proxy/backpressure.js';

class FakeReader {
  calls: string[] = [];
  pause(): void {
    this.calls.push('pause');
  }
  resume(): void {
    this.calls.push('resume');
  }
}

class FakeUpstream {
  paused = false;
  pauseReading(paused: boolean): void {
    this.paused = paused;
  }
}

test('a backed-up upstream pauses the consumer until no upstream is backed up', () => {
  const consumer = new FakeReader();
  const [a, b] = [new FakeUpstream(), new FakeUpstream()];
  const pressure = new Backpressure(consumer, new Set([a, b]));
  pressure.upstreamBlocked(a, true);
  pressure.upstreamBlocked(a, true); // said twice, counted once
  pressure.upstreamBlocked(b, true);
  assert.equal(pressure.backedUp, true);
  pressure.upstreamBlocked(a, false);
  assert.ok(!consumer.calls.includes('resume'), 'still paused while b is backed up');
  pressure.upstreamGone(b);
  assert.equal(consumer.calls.at(-1), 'resume');
  assert.equal(consumer.calls.filter((call) => call === 'resume').length, 1);
  assert.equal(pressure.backedUp, false);
});

test('a backed-up consumer pauses every upstream, and drained resumes them', () => {
  const upstreams = new Set([new FakeUpstream(), new FakeUpstream()]);
  const pressure = new Backpressure(new FakeReader(), upstreams);
  pressure.consumerBlocked(true);
  assert.deepEqual([...upstreams].map((upstream) => upstream.paused), [true, true]);
  assert.equal(pressure.backedUp, true);
  pressure.consumerBlocked(false);
  assert.deepEqual([...upstreams].map((upstream) => upstream.paused), [false, false]);
  assert.equal(pressure.backedUp, false);
});

test('once the consumer connection closed, its socket is left alone', () => {
  const consumer = new FakeReader();
  const upstream = new FakeUpstream();
  const pressure = new Backpressure(consumer, new Set([upstream]));
  pressure.stop();
  pressure.upstreamBlocked(upstream, true);
  pressure.upstreamGone(upstream);
  assert.deepEqual(consumer.calls, []);
});
