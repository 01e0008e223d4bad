import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../util/clock.js';
import { Heap, SchedulingQueue, type QueuedPodInfo } from './queue.js';
import { newPod } from './testing.js';

function newQueue(clock = new FakeClock()) {
  return new SchedulingQueue({
    clock,
    pluginEvents: new Map([['NodeResourcesFit', ['NodeAdd', 'AssignedPodDelete'] as const], ['TaintToleration', ['NodeUpdate'] as const]]),
  });
}

async function popName(q: SchedulingQueue): Promise<string | undefined> {
  return q.tryPop()?.pod.metadata?.name;
}

test('Heap keeps order under push, pop and delete', () => {
  const h = new Heap<number>((x) => String(x), (a, b) => a < b);
  for (const x of [5, 3, 8, 1, 9, 2]) h.push(x);
  h.delete('8');
  const out: number[] = [];
  for (let x = h.pop(); x !== undefined; x = h.pop()) out.push(x);
  assert.deepEqual(out, [1, 2, 3, 5, 9]);
});

test('activeQ: higher priority first, then first in', async () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  q.add(newPod('a', { priority: 0 }));
  clock.step(1);
  q.add(newPod('b', { priority: 100 }));
  clock.step(1);
  q.add(newPod('c', { priority: 0 }));
  clock.step(1);
  q.add(newPod('d', { priority: 100 }));
  assert.deepEqual([await popName(q), await popName(q), await popName(q), await popName(q), await popName(q)], ['b', 'd', 'a', 'c', undefined]);
});

test('backoff: 1 s doubling per attempt, capped at 10 s', () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  q.add(newPod('p'));
  const waits: number[] = [];
  for (let attempt = 1; attempt <= 6; attempt++) {
    const info = q.tryPop()!;
    info.lastFailureWasError = true;
    q.addUnschedulableIfNotPresent(info, q.cycle());
    let waited = 0;
    while (q.lengths().active === 0) {
      clock.step(1_000);
      q.flushBackoffQCompleted();
      waited += 1_000;
    }
    waits.push(waited);
  }
  assert.deepEqual(waits, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
});

test('unschedulable pods move back only on events their rejecting plugins registered', () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  q.add(newPod('fit'));
  q.add(newPod('taint'));
  const fail = (info: QueuedPodInfo, plugin: string) => {
    info.unschedulablePlugins = new Set([plugin]);
    q.addUnschedulableIfNotPresent(info, q.cycle());
  };
  const a = q.tryPop()!;
  const b = q.tryPop()!;
  const cycle = q.cycle();
  fail(a, 'NodeResourcesFit');
  fail(b, 'TaintToleration');
  assert.equal(q.lengths().unschedulable, 2, `both unschedulable after cycle ${cycle}`);
  clock.step(5_000);
  q.moveAllToActiveOrBackoffQueue('NodeUpdate');
  assert.deepEqual(q.lengths(), { active: 1, backoff: 0, unschedulable: 1, gated: 0 });
  assert.equal(q.tryPop()!.pod.metadata?.name, 'taint');
  q.moveAllToActiveOrBackoffQueue('AssignedPodDelete');
  assert.equal(q.tryPop()!.pod.metadata?.name, 'fit');
});

test('a move request during the attempt sends the failed pod to backoffQ, not unschedulablePods', () => {
  const q = newQueue();
  q.add(newPod('p'));
  const info = q.tryPop()!;
  const cycle = q.cycle();
  q.moveAllToActiveOrBackoffQueue('NodeAdd');
  info.unschedulablePlugins = new Set(['NodeResourcesFit']);
  q.addUnschedulableIfNotPresent(info, cycle);
  assert.deepEqual(q.lengths(), { active: 0, backoff: 1, unschedulable: 0, gated: 0 });
});

test('pods left in unschedulablePods are retried after 5 minutes', () => {
  const clock = new FakeClock();
  const q = newQueue(clock);
  const ac = new AbortController();
  q.run(ac.signal);
  q.add(newPod('p'));
  const info = q.tryPop()!;
  info.unschedulablePlugins = new Set(['NodeResourcesFit']);
  q.addUnschedulableIfNotPresent(info, q.cycle());
  clock.step(4 * 60_000);
  assert.equal(q.lengths().unschedulable, 1);
  clock.step(90_000);
  assert.equal(q.lengths().active, 1);
  ac.abort();
});

test('gated pods wait until their schedulingGates are removed', () => {
  const q = newQueue();
  const gated = newPod('g', { uid: 'g1', spec: { schedulingGates: [{ name: 'example.com/wait' }] } });
  q.add(gated);
  assert.deepEqual(q.lengths(), { active: 0, backoff: 0, unschedulable: 0, gated: 1 });
  const released = newPod('g', { uid: 'g1' });
  q.update(gated, released);
  assert.equal(q.tryPop()!.pod, released);
});

test('pop waits for a pod and ends with undefined on close', async () => {
  const q = newQueue();
  const p = q.pop();
  q.add(newPod('late'));
  assert.equal((await p)?.pod.metadata?.name, 'late');
  const waiting = q.pop();
  q.close();
  assert.equal(await waiting, undefined);
});
