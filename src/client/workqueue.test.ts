import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { FakeClock } from '../util/clock.js';
import { newWorkQueue } from './workqueue.js';

function newQueue(clock = new FakeClock(), registry?: Registry) {
  return newWorkQueue<string>({ name: 'test', clock, registry });
}

/** Settles pending promise callbacks (no timers involved). */
const flush = () => new Promise<void>((r) => setImmediate(r));

test('add de-duplicates items not yet taken', async () => {
  const q = newQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.len(), 0);
});

test('an item added while processing is queued again only after done', async () => {
  const q = newQueue();
  q.add('a');
  assert.equal(await q.get(), 'a');
  q.add('a');
  q.add('a');
  assert.equal(q.len(), 0, 'not handed to a second worker while processing');
  q.done('a');
  assert.equal(q.len(), 1);
  assert.equal(await q.get(), 'a');
  q.done('a');
  assert.equal(q.len(), 0);
});

test('get waits for the next add; waiters are served in order', async () => {
  const q = newQueue();
  const got: (string | undefined)[] = [];
  const p1 = q.get().then((x) => got.push(x));
  const p2 = q.get().then((x) => got.push(x));
  await flush();
  assert.deepEqual(got, []);
  q.add('a');
  q.add('b');
  await Promise.all([p1, p2]);
  assert.deepEqual(got, ['a', 'b']);
});

test('shutDown drains queued items, then get resolves undefined', async () => {
  const q = newQueue();
  q.add('a');
  q.shutDown();
  q.add('b');
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), undefined);
});

test('shutDown wakes waiting workers with undefined and cancels delayed adds', async () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  q.addAfter('later', 1000);
  const p = q.get();
  q.shutDown();
  assert.equal(await p, undefined);
  clock.step(2000);
  assert.equal(q.len(), 0);
});

test('addAfter adds on the clock; a second addAfter keeps the earlier deadline', () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  q.addAfter('a', 100);
  q.addAfter('a', 500);
  q.addAfter('b', 300);
  q.addAfter('c', 0);
  assert.equal(q.len(), 1, 'zero delay adds at once');
  clock.step(99);
  assert.equal(q.len(), 1);
  clock.step(1);
  assert.equal(q.len(), 2);
  clock.step(200);
  assert.equal(q.len(), 3);
  clock.step(1000);
  assert.equal(q.len(), 3, 'the later deadline for a was dropped');
});

test('addRateLimited backs off per item exponentially from 5 ms; forget resets', async () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  const cases = [
    { failures: 0, delay: 5 },
    { failures: 1, delay: 10 },
    { failures: 2, delay: 20 },
    { failures: 3, delay: 40 },
  ];
  for (const tc of cases) {
    assert.equal(q.numRequeues('a'), tc.failures);
    q.addRateLimited('a');
    clock.step(tc.delay - 1);
    assert.equal(q.len(), 0, `not before ${tc.delay} ms`);
    clock.step(1);
    assert.equal(q.len(), 1, `after ${tc.delay} ms`);
    // Take it off the queue again so the next add is not de-duplicated.
    q.done((await q.get())!);
  }
  q.forget('a');
  assert.equal(q.numRequeues('a'), 0);
});

test('per-item backoff is capped at 1000 s', async () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  for (let i = 0; i < 30; i++) {
    q.addRateLimited('a');
    clock.step(1_000_000);
    assert.equal(q.len(), 1, `failure ${i} retried within 1000 s`);
    q.done((await q.get())!);
  }
  assert.equal(q.numRequeues('a'), 30);
});

test('the overall token bucket (burst 100, 10 qps) delays the 101st distinct retry', () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  for (let i = 0; i < 101; i++) q.addRateLimited(`item-${i}`);
  clock.step(5);
  assert.equal(q.len(), 100);
  clock.step(94);
  assert.equal(q.len(), 100, 'the 101st waits a token: 100 ms');
  clock.step(1);
  assert.equal(q.len(), 101);
});

test('metrics: two queues share one registry', async () => {
  const registry = new Registry();
  const clock = new FakeClock();
  const a = newWorkQueue<string>({ name: 'a', clock, registry });
  const b = newWorkQueue<string>({ name: 'b', clock, registry });
  a.add('x');
  a.add('y');
  b.add('x');
  b.addRateLimited('z');
  const item = await a.get();
  clock.step(2000);
  a.done(item!);
  const text = await registry.metrics();
  assert.match(text, /workqueue_adds_total\{name="a"\} 2/);
  assert.match(text, /workqueue_adds_total\{name="b"\} 2/);
  assert.match(text, /workqueue_retries_total\{name="b"\} 1/);
  assert.match(text, /workqueue_depth\{name="a"\} 1/);
  assert.match(text, /workqueue_work_duration_seconds_sum\{name="a"\} 2/);
  assert.match(text, /workqueue_queue_duration_seconds_count\{name="a"\} 1/);
});
