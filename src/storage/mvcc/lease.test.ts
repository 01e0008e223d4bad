import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMvccError } from './errors.js';
import { b, openMem, WatchRecorder } from './testing.js';

test('leaseGrant: random positive unique ids, minimum TTL, explicit ids, errors', async () => {
  const { store } = await openMem();
  const ids = new Set<bigint>();
  for (let i = 0; i < 50; i++) {
    const g = await store.leaseGrant(60);
    assert.ok(g.id > 0n && g.id < 1n << 63n);
    assert.equal(g.ttl, 60);
    ids.add(g.id);
  }
  assert.equal(ids.size, 50);
  assert.equal((await store.leaseGrant(1)).ttl, 2, 'raised to etcd 3.4 minimum (2 s)');
  assert.equal((await store.leaseGrant(0)).ttl, 2);
  assert.equal((await store.leaseGrant(10, 1234n)).id, 1234n);
  await assert.rejects(store.leaseGrant(10, 1234n), (e: unknown) => isMvccError(e, 'LeaseExists') && (e as Error).message === 'etcdserver: lease already exists');
  await assert.rejects(store.leaseGrant(9_000_000_001), (e: unknown) => isMvccError(e, 'LeaseTTLTooLarge') && (e as Error).message === 'etcdserver: too large lease TTL');
  assert.equal((await store.leaseGrant(9_000_000_000)).ttl, 9_000_000_000);
  const all = await store.leaseLeases();
  assert.equal(all.leases.length, 54);
  assert.equal(store.status().revision, 1, 'granting leases does not bump the revision');
  await store.close();
});

test('leaseRevoke deletes every attached key in one revision', async () => {
  const { store } = await openMem();
  const l = await store.leaseGrant(60);
  await store.put({ key: b('a'), value: b('1'), lease: l.id });
  await store.put({ key: b('b'), value: b('1'), lease: l.id });
  await store.put({ key: b('c'), value: b('1') });
  const w = new WatchRecorder(store, { key: b('a'), rangeEnd: b('z') });
  const h = await store.leaseRevoke(l.id);
  assert.equal(h.revision, 5);
  assert.deepEqual(await w.waitEvents(2), ['DELETE a@5', 'DELETE b@5']);
  assert.equal(w.responses.length, 1, 'one revision, one response');
  assert.deepEqual((await store.range({ key: b('a'), rangeEnd: b('z') })).kvs.map((kv) => kv.key.toString()), ['c']);
  await assert.rejects(store.leaseRevoke(l.id), (e: unknown) => isMvccError(e, 'LeaseNotFound'));
  const ttl = await store.leaseTimeToLive(l.id);
  assert.equal(ttl.ttl, -1);
  // A lease without keys is revoked without a new revision.
  const l2 = await store.leaseGrant(60);
  assert.equal((await store.leaseRevoke(l2.id)).revision, 5);
  await store.close();
});

test('timeToLive and keepAlive follow the injected clock', async () => {
  const { store, clock } = await openMem();
  const l = await store.leaseGrant(10);
  await store.put({ key: b('k2'), value: b('1'), lease: l.id });
  await store.put({ key: b('k1'), value: b('1'), lease: l.id });
  let t = await store.leaseTimeToLive(l.id, true);
  assert.deepEqual([t.ttl, t.grantedTtl, t.keys.map(String)], [10, 10, ['k1', 'k2']]);
  assert.deepEqual((await store.leaseTimeToLive(l.id)).keys, []);
  clock.step(3500);
  t = await store.leaseTimeToLive(l.id);
  assert.equal(t.ttl, 6, 'remaining seconds truncate, like etcd');
  const ka = await store.leaseKeepAlive(l.id);
  assert.deepEqual([ka.id, ka.ttl], [l.id, 10]);
  assert.equal((await store.leaseTimeToLive(l.id)).ttl, 10);
  await assert.rejects(store.leaseKeepAlive(99n), (e: unknown) => isMvccError(e, 'LeaseNotFound'));
  await store.close();
});

test('expired leases are revoked by the clock, deleting their keys', async () => {
  const { store, clock } = await openMem();
  const l = await store.leaseGrant(5);
  const keep = await store.leaseGrant(60);
  await store.put({ key: b('eph'), value: b('1'), lease: l.id });
  await store.put({ key: b('stay'), value: b('1'), lease: keep.id });
  const w = new WatchRecorder(store, { key: b('eph') });
  clock.step(4000);
  await store.sync();
  assert.equal((await store.range({ key: b('eph') })).count, 1);
  clock.step(1000);
  await store.sync();
  assert.equal((await store.range({ key: b('eph') })).count, 0);
  assert.equal((await store.range({ key: b('stay') })).count, 1);
  assert.deepEqual(await w.waitEvents(1), ['DELETE eph@4']);
  assert.deepEqual((await store.leaseLeases()).leases, [keep.id]);
  assert.equal((await store.leaseTimeToLive(l.id)).ttl, -1);
  await store.close();
});

test('keepAlive of an expired (not yet revoked) lease revokes it and reports not found', async () => {
  const { store, clock } = await openMem();
  // Expiry checks run every 500 ms; grant off that grid so the lease expires between checks.
  clock.step(250);
  const l = await store.leaseGrant(5);
  await store.put({ key: b('eph'), value: b('1'), lease: l.id });
  clock.step(5000);
  assert.equal((await store.leaseLeases()).leases.length, 1, 'expired but not yet revoked');
  await assert.rejects(store.leaseKeepAlive(l.id), (e: unknown) => isMvccError(e, 'LeaseNotFound'));
  await store.sync();
  assert.equal((await store.range({ key: b('eph') })).count, 0);
  await store.close();
});

test('a key moved to another lease leaves the old lease', async () => {
  const { store } = await openMem();
  const l1 = await store.leaseGrant(60);
  const l2 = await store.leaseGrant(60);
  await store.put({ key: b('k'), value: b('1'), lease: l1.id });
  await store.put({ key: b('k'), value: b('2'), lease: l2.id });
  assert.deepEqual((await store.leaseTimeToLive(l1.id, true)).keys, []);
  await store.leaseRevoke(l1.id);
  assert.equal((await store.range({ key: b('k') })).count, 1);
  await store.deleteRange({ key: b('k') });
  assert.deepEqual((await store.leaseTimeToLive(l2.id, true)).keys, []);
  await store.close();
});
