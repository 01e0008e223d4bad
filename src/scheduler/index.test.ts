import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import type { KObject } from '../apimachinery/meta.js';
import { FakeClient } from '../client/fake.js';
import { Resources } from '../client/interface.js';
import type { Lease, Pod } from '../client/objects.js';
import { FakeClock } from '../util/clock.js';
import { silentLogger } from '../util/log.js';
import { leaseLeaderElect, startScheduler } from './index.js';
import { newNode, newPod } from './testing.js';

async function waitUntil(what: string, cond: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 20_000; i++) {
    if (await cond()) return;
    await tick();
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('startScheduler with leader election: one of two candidates holds kube-system/kube-scheduler and schedules', async () => {
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  client.seed(Resources.nodes, newNode('n') as KObject);
  const quiet = () => ({ event: () => undefined });
  const start = (identity: string) => startScheduler({
    client, clock, logger: silentLogger(), recorder: quiet,
    leaderElect: leaseLeaderElect({ client, clock, logger: silentLogger(), identity }),
  });
  const a = start('a');
  const leases = client.resource<Lease>(Resources.leases, 'kube-system');
  await waitUntil('lease taken by a', async () => (await leases.list()).items.some((l) => l.spec?.holderIdentity === 'a'));
  const b = start('b');
  const pods = client.resource<Pod>(Resources.pods, 'default');
  await pods.create(newPod('p'));
  await waitUntil('p bound', async () => (await pods.get('p')).spec?.nodeName === 'n');
  assert.equal(a.scheduler.cache.podCount(), 1);
  assert.equal(b.scheduler.cache.podCount(), 0, 'the standby never started its informers');
  assert.equal((await leases.get('kube-scheduler')).spec?.holderIdentity, 'a');
  await a.stop();
  await b.stop();
});

test('startScheduler without leader election schedules at once', async () => {
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  client.seed(Resources.nodes, newNode('n') as KObject);
  const s = startScheduler({ client, clock, logger: silentLogger(), recorder: () => ({ event: () => undefined }) });
  const pods = client.resource<Pod>(Resources.pods, 'default');
  await pods.create(newPod('p'));
  await waitUntil('p bound', async () => (await pods.get('p')).spec?.nodeName === 'n');
  await s.stop();
});
