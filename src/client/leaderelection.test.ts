import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newInternalError } from '../apimachinery/errors.js';
import { FakeClock } from '../util/clock.js';
import { FakeClient } from './fake.js';
import { Resources } from './interface.js';
import { newLeaderElector, type LeaderElector } from './leaderelection.js';
import type { Lease } from './objects.js';

/** Lets pending promise callbacks run (the fake client answers without timers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Steps the fake clock in small increments, letting requests complete in between. */
async function advance(clock: FakeClock, ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.step(Math.min(step, ms - t));
    await settle();
  }
}

interface Candidate {
  elector: LeaderElector;
  ac: AbortController;
  log: string[];
  leadingSignal?: AbortSignal;
  done: Promise<void>;
}

function candidate(client: FakeClient, clock: FakeClock, identity: string, opts: { releaseOnCancel?: boolean } = {}): Candidate {
  const c: Partial<Candidate> & { log: string[] } = { log: [] };
  c.ac = new AbortController();
  c.elector = newLeaderElector({
    client,
    clock,
    namespace: 'kube-system',
    name: 'kube-scheduler',
    identity,
    random: () => 0,
    releaseOnCancel: opts.releaseOnCancel,
    onStartedLeading: (signal) => {
      c.log.push('started');
      c.leadingSignal = signal;
    },
    onStoppedLeading: () => c.log.push('stopped'),
  });
  c.done = c.elector.run(c.ac.signal);
  return c as Candidate;
}

async function lease(client: FakeClient): Promise<Lease> {
  return client.resource<Lease>(Resources.leases, 'kube-system').get('kube-scheduler');
}

test('of two candidates one leads; the Lease records it as client-go does', async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0, 250));
  const client = new FakeClient({ clock });
  const a = candidate(client, clock, 'node-a_1');
  await settle();
  const b = candidate(client, clock, 'node-b_2');
  await settle();
  assert.deepEqual(a.log, ['started']);
  assert.deepEqual(b.log, []);
  assert.ok(a.elector.isLeader() && !b.elector.isLeader());
  assert.equal(b.elector.getLeader(), 'node-a_1');
  const l = await lease(client);
  assert.deepEqual(l.spec, {
    holderIdentity: 'node-a_1',
    leaseDurationSeconds: 15,
    acquireTime: '2026-01-01T12:00:00.250000Z',
    renewTime: '2026-01-01T12:00:00.250000Z',
    leaseTransitions: 0,
  });

  await advance(clock, 2_000);
  const renewed = await lease(client);
  assert.equal(renewed.spec?.renewTime, '2026-01-01T12:00:02.250000Z', 'renewed every retryPeriod');
  assert.equal(renewed.spec?.acquireTime, '2026-01-01T12:00:00.250000Z');
  await advance(clock, 30_000);
  assert.deepEqual(b.log, [], 'a renewed lease is never taken over');

  a.ac.abort();
  b.ac.abort();
  await Promise.all([a.done, b.done]);
  assert.deepEqual(a.log, ['started', 'stopped']);
  assert.equal(a.leadingSignal?.aborted, true);
});

test('failover: a crashed leader\'s lease is taken over once it has been still for leaseDuration', async () => {
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  const a = candidate(client, clock, 'a');
  await settle();
  const b = candidate(client, clock, 'b');
  await settle();
  // a stops renewing (crash: no release).
  a.ac.abort();
  await a.done;
  await advance(clock, 14_000);
  assert.deepEqual(b.log, [], 'not before the lease duration has passed on b\'s clock');
  await advance(clock, 4_000);
  assert.deepEqual(b.log, ['started']);
  const l = await lease(client);
  assert.equal(l.spec?.holderIdentity, 'b');
  assert.equal(l.spec?.leaseTransitions, 1);
  b.ac.abort();
  await b.done;
});

test('a leader whose renewals fail past renewDeadline stops leading', async () => {
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  const a = candidate(client, clock, 'a');
  await settle();
  assert.deepEqual(a.log, ['started']);
  client.prependReactor('update', 'leases', () => ({ error: newInternalError('etcd unavailable') }));
  await advance(clock, 2_000 + 8_000);
  assert.deepEqual(a.log, ['started'], 'still leading within renewDeadline');
  await advance(clock, 2_000);
  await a.done;
  assert.deepEqual(a.log, ['started', 'stopped']);
  assert.equal(a.leadingSignal?.aborted, true);
  assert.equal(a.elector.isLeader(), false);
});

test('releaseOnCancel hands the lease over without waiting it out', async () => {
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  const a = candidate(client, clock, 'a', { releaseOnCancel: true });
  await settle();
  const b = candidate(client, clock, 'b');
  await settle();
  a.ac.abort();
  await a.done;
  assert.equal((await lease(client)).spec?.holderIdentity, '');
  await advance(clock, 2_000);
  assert.deepEqual(b.log, ['started']);
  b.ac.abort();
  await b.done;
});
