import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMvccError, type MvccErrorCode } from './errors.js';
import { b, openMem, str } from './testing.js';
import type { MvccStore } from './store.js';
import type { RangeRequest, RangeResponse } from './types.js';

const keys = (r: RangeResponse) => r.kvs.map((kv) => kv.key.toString());

async function rejectsWith(p: Promise<unknown>, code: MvccErrorCode, message?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isMvccError(err, code), `expected ${code}, got ${String(err)}`);
    if (message) assert.equal((err as Error).message, message);
    return true;
  });
}

/** a@2 b@3 c@4 d@5, then b updated @6, c deleted @7: current revision 7. */
async function seeded(): Promise<MvccStore> {
  const { store } = await openMem();
  for (const k of ['a', 'b', 'c', 'd']) await store.put({ key: b(k), value: b(`${k}1`) });
  await store.put({ key: b('b'), value: b('b2') });
  await store.deleteRange({ key: b('c') });
  return store;
}

test('an empty store is at revision 1', async () => {
  const { store } = await openMem();
  assert.equal(store.status().revision, 1);
  const r = await store.range({ key: b('a') });
  assert.deepEqual({ rev: r.header.revision, kvs: r.kvs, count: r.count, more: r.more }, { rev: 1, kvs: [], count: 0, more: false });
  await store.close();
});

test('put creates, updates and re-creates keys with etcd revisions and versions', async () => {
  const { store } = await openMem();
  const p1 = await store.put({ key: b('k'), value: b('v1') });
  assert.equal(p1.header.revision, 2);
  assert.equal(p1.prevKv, undefined);
  const p2 = await store.put({ key: b('k'), value: b('v2'), prevKv: true });
  assert.equal(p2.header.revision, 3);
  assert.deepEqual(p2.prevKv, { key: b('k'), value: b('v1'), createRevision: 2, modRevision: 2, version: 1, lease: 0n });
  let kv = (await store.range({ key: b('k') })).kvs[0]!;
  assert.deepEqual([kv.createRevision, kv.modRevision, kv.version, str(kv.value)], [2, 3, 2, 'v2']);

  const d = await store.deleteRange({ key: b('k'), prevKv: true });
  assert.equal(d.header.revision, 4);
  assert.equal(d.deleted, 1);
  assert.equal(str(d.prevKvs[0]!.value), 'v2');
  assert.equal((await store.range({ key: b('k') })).kvs.length, 0);

  await store.put({ key: b('k'), value: b('v3') });
  kv = (await store.range({ key: b('k') })).kvs[0]!;
  assert.deepEqual([kv.createRevision, kv.modRevision, kv.version], [5, 5, 1], 'a new generation starts at version 1');

  // History: each revision reads back as it was.
  const at = async (rev: number) => (await store.range({ key: b('k'), revision: rev })).kvs.map((x) => `${str(x.value)}/${x.version}`);
  assert.deepEqual(await at(2), ['v1/1']);
  assert.deepEqual(await at(3), ['v2/2']);
  assert.deepEqual(await at(4), []);
  assert.deepEqual(await at(5), ['v3/1']);
  await store.close();
});

test('deleting nothing does not bump the revision', async () => {
  const { store } = await openMem();
  await store.put({ key: b('a'), value: b('1') });
  const d = await store.deleteRange({ key: b('zz') });
  assert.deepEqual([d.deleted, d.header.revision, d.prevKvs.length], [0, 2, 0]);
  assert.equal(store.status().revision, 2);
  await store.close();
});

test('put rejects empty keys and oversized requests; values are copied', async () => {
  const { store } = await openMem();
  await rejectsWith(store.put({ key: b(''), value: b('x') }), 'EmptyKey', 'etcdserver: key is not provided');
  await rejectsWith(store.range({ key: b('') }), 'EmptyKey');
  await rejectsWith(store.put({ key: b('big'), value: Buffer.alloc(1572864) }), 'RequestTooLarge', 'etcdserver: request is too large');
  await store.put({ key: b('ok'), value: Buffer.alloc(1572864 - 100) });
  const v = b('abc');
  await store.put({ key: b('copy'), value: v });
  v.write('xyz');
  assert.equal(str((await store.range({ key: b('copy') })).kvs[0]!.value), 'abc');
  await store.close();
});

test('ignoreValue / ignoreLease keep the current value / lease', async () => {
  const { store } = await openMem();
  await rejectsWith(store.put({ key: b('k'), value: b(''), ignoreValue: true }), 'KeyNotFound', 'etcdserver: key not found');
  await rejectsWith(store.put({ key: b('k'), value: b('x'), ignoreLease: true }), 'KeyNotFound');
  const l = await store.leaseGrant(100);
  await store.put({ key: b('k'), value: b('v1'), lease: l.id });
  await store.put({ key: b('k'), value: b(''), ignoreValue: true, lease: l.id });
  let kv = (await store.range({ key: b('k') })).kvs[0]!;
  assert.deepEqual([str(kv.value), kv.version, kv.lease], ['v1', 2, l.id]);
  await store.put({ key: b('k'), value: b('v2'), ignoreLease: true });
  kv = (await store.range({ key: b('k') })).kvs[0]!;
  assert.deepEqual([str(kv.value), kv.version, kv.lease], ['v2', 3, l.id]);
  await store.put({ key: b('k'), value: b('v3') });
  kv = (await store.range({ key: b('k') })).kvs[0]!;
  assert.equal(kv.lease, 0n, 'a put without ignoreLease detaches the lease');
  assert.deepEqual((await store.leaseTimeToLive(l.id, true)).keys, []);
  await store.close();
});

test('put with a lease that does not exist fails and changes nothing', async () => {
  const { store } = await openMem();
  await rejectsWith(store.put({ key: b('k'), value: b('v'), lease: 42n }), 'LeaseNotFound', 'etcdserver: requested lease not found');
  assert.equal(store.status().revision, 1);
  await store.close();
});

const rangeCases: { name: string; req: Omit<RangeRequest, 'key' | 'rangeEnd'> & { key: string; rangeEnd?: string }; keys: string[]; count: number; more?: boolean }[] = [
  { name: 'single key', req: { key: 'b' }, keys: ['b'], count: 1 },
  { name: 'missing single key', req: { key: 'c' }, keys: [], count: 0 },
  { name: 'interval [a, c)', req: { key: 'a', rangeEnd: 'c' }, keys: ['a', 'b'], count: 2 },
  { name: 'rangeEnd \\0 = every key >= key', req: { key: 'b', rangeEnd: '\0' }, keys: ['b', 'd'], count: 2 },
  { name: 'key \\0 rangeEnd \\0 = every key', req: { key: '\0', rangeEnd: '\0' }, keys: ['a', 'b', 'd'], count: 3 },
  { name: 'empty interval (end <= key)', req: { key: 'd', rangeEnd: 'a' }, keys: [], count: 0 },
  { name: 'limit sets more, count is the total', req: { key: 'a', rangeEnd: '\0', limit: 2 }, keys: ['a', 'b'], count: 3, more: true },
  { name: 'limit equal to the total: no more', req: { key: 'a', rangeEnd: '\0', limit: 3 }, keys: ['a', 'b', 'd'], count: 3, more: false },
  { name: 'countOnly', req: { key: 'a', rangeEnd: '\0', countOnly: true, limit: 1 }, keys: [], count: 3, more: false },
  { name: 'past revision sees c', req: { key: 'a', rangeEnd: '\0', revision: 5 }, keys: ['a', 'b', 'c', 'd'], count: 4 },
  { name: 'revision 3', req: { key: 'a', rangeEnd: '\0', revision: 3 }, keys: ['a', 'b'], count: 2 },
  { name: 'sort DESCEND by key', req: { key: 'a', rangeEnd: '\0', sortOrder: 'DESCEND' }, keys: ['d', 'b', 'a'], count: 3 },
  { name: 'sort ASCEND by mod', req: { key: 'a', rangeEnd: '\0', sortOrder: 'ASCEND', sortTarget: 'MOD' }, keys: ['a', 'd', 'b'], count: 3 },
  { name: 'sort NONE with target MOD means ascend', req: { key: 'a', rangeEnd: '\0', sortTarget: 'MOD' }, keys: ['a', 'd', 'b'], count: 3 },
  { name: 'sort DESCEND by create', req: { key: 'a', rangeEnd: '\0', sortOrder: 'DESCEND', sortTarget: 'CREATE' }, keys: ['d', 'b', 'a'], count: 3 },
  { name: 'sort DESCEND by version, ties in key order', req: { key: 'a', rangeEnd: '\0', sortOrder: 'DESCEND', sortTarget: 'VERSION' }, keys: ['b', 'a', 'd'], count: 3 },
  { name: 'sort ASCEND by value', req: { key: 'a', rangeEnd: '\0', sortOrder: 'ASCEND', sortTarget: 'VALUE' }, keys: ['a', 'b', 'd'], count: 3 },
  { name: 'sort with limit cuts after sorting', req: { key: 'a', rangeEnd: '\0', sortOrder: 'DESCEND', limit: 1 }, keys: ['d'], count: 3, more: true },
  { name: 'minModRevision (count stays the total)', req: { key: 'a', rangeEnd: '\0', minModRevision: 5 }, keys: ['b', 'd'], count: 3 },
  { name: 'maxModRevision', req: { key: 'a', rangeEnd: '\0', maxModRevision: 5 }, keys: ['a', 'd'], count: 3 },
  { name: 'minCreateRevision', req: { key: 'a', rangeEnd: '\0', minCreateRevision: 3 }, keys: ['b', 'd'], count: 3 },
  { name: 'maxCreateRevision with limit', req: { key: 'a', rangeEnd: '\0', maxCreateRevision: 3, limit: 1 }, keys: ['a'], count: 3, more: true },
];

for (const tc of rangeCases) {
  test(`range: ${tc.name}`, async () => {
    const store = await seeded();
    const r = await store.range({ ...tc.req, key: b(tc.req.key), rangeEnd: tc.req.rangeEnd === undefined ? undefined : b(tc.req.rangeEnd) });
    assert.deepEqual(keys(r), tc.keys);
    assert.equal(r.count, tc.count);
    assert.equal(r.more, tc.more ?? false);
    assert.equal(r.header.revision, 7, 'the header carries the current revision, whatever was read');
    await store.close();
  });
}

test('range keysOnly drops values', async () => {
  const store = await seeded();
  const r = await store.range({ key: b('a'), keysOnly: true });
  assert.deepEqual([str(r.kvs[0]!.key), r.kvs[0]!.value.length, r.kvs[0]!.version], ['a', 0, 1]);
  await store.close();
});

test('range at a future or compacted revision fails with etcd errors', async () => {
  const store = await seeded();
  await rejectsWith(store.range({ key: b('a'), revision: 8 }), 'FutureRevision', 'mvcc: required revision is a future revision');
  await store.compact({ revision: 5 });
  await rejectsWith(store.range({ key: b('a'), revision: 4 }), 'Compacted', 'mvcc: required revision has been compacted');
  const r = await store.range({ key: b('a'), rangeEnd: b('\0'), revision: 5 });
  assert.deepEqual(keys(r), ['a', 'b', 'c', 'd'], 'the compacted revision itself stays readable');
  await store.close();
});

test('keys compare in byte order (binary keys)', async () => {
  const { store } = await openMem();
  const ks = [Buffer.from([0x7f]), Buffer.from([0x80]), Buffer.from([0xff, 0x00]), Buffer.from([0x01]), Buffer.from('é')];
  for (const k of ks) await store.put({ key: k, value: k });
  const r = await store.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) });
  assert.deepEqual(r.kvs.map((kv) => kv.key), [...ks].sort(Buffer.compare));
  assert.deepEqual(r.kvs.map((kv) => kv.value), [...ks].sort(Buffer.compare));
  await store.close();
});

test('compaction keeps the newest revision at or before it, drops tombstones', async () => {
  const { store } = await openMem();
  await store.put({ key: b('a'), value: b('1') }); // 2
  await store.put({ key: b('a'), value: b('2') }); // 3
  await store.put({ key: b('t'), value: b('x') }); // 4
  await store.deleteRange({ key: b('t') }); // 5
  await store.put({ key: b('a'), value: b('3') }); // 6
  await rejectsWith(store.compact({ revision: 7 }), 'FutureRevision');
  const h = await store.compact({ revision: 5 });
  assert.equal(h.revision, 6);
  assert.equal(store.status().compactRevision, 5);
  assert.equal(store.historySize, 2, 'a@3 (newest <= 5) and a@6 remain; t is gone entirely');
  assert.deepEqual((await store.range({ key: b('a'), revision: 5 })).kvs.map((kv) => str(kv.value)), ['2']);
  assert.deepEqual((await store.range({ key: b('t'), revision: 5 })).kvs, []);
  await rejectsWith(store.compact({ revision: 5 }), 'Compacted');
  await rejectsWith(store.compact({ revision: 3 }), 'Compacted');
  await store.compact({ revision: 6 });
  assert.equal(store.historySize, 1);
  assert.equal(str((await store.range({ key: b('a') })).kvs[0]!.value), '3');
  // The key's version/create survive compaction.
  const kv = (await store.range({ key: b('a') })).kvs[0]!;
  assert.deepEqual([kv.createRevision, kv.version], [2, 3]);
  await store.close();
});

test('a key re-created after compaction keeps working', async () => {
  const { store } = await openMem();
  await store.put({ key: b('k'), value: b('1') }); // 2
  await store.deleteRange({ key: b('k') }); // 3
  await store.put({ key: b('k'), value: b('2') }); // 4
  await store.compact({ revision: 3 });
  assert.equal(store.historySize, 1);
  await store.deleteRange({ key: b('k') }); // 5
  await store.compact({ revision: 5 });
  assert.equal(store.historySize, 0);
  assert.equal(store.keyCount, 0);
  await store.put({ key: b('k'), value: b('3') }); // 6
  const kv = (await store.range({ key: b('k') })).kvs[0]!;
  assert.deepEqual([kv.createRevision, kv.version, kv.modRevision], [6, 1, 6]);
  await store.close();
});

test('periodic auto-compaction keeps `retention` of history', async () => {
  const { store, clock } = await openMem({ autoCompactionRetentionMs: 10_000 });
  for (let i = 0; i < 10; i++) {
    await store.put({ key: b('k'), value: b(String(i)) });
    clock.step(1000);
    await store.sync();
  }
  // 10 s elapsed: the sample from 10 s ago (revision 2) is the first compaction target.
  await store.sync();
  clock.step(1000);
  await store.sync();
  assert.ok(store.status().compactRevision >= 2, `compacted to ${store.status().compactRevision}`);
  assert.ok(store.status().compactRevision <= 3);
  await store.close();
});

test('calls on a closed store fail with Closed', async () => {
  const { store } = await openMem();
  await store.close();
  await rejectsWith(store.put({ key: b('a'), value: b('1') }), 'Closed', 'mvcc: store is closed');
  await rejectsWith(store.range({ key: b('a') }), 'Closed');
  await store.close();
});
