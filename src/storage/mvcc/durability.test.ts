import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { decodeRecord, encodeRecord, RecordType } from './codec.js';
import { isMvccError } from './errors.js';
import { restoreBackup } from './restore.js';
import { MvccStore, type MvccStoreOptions } from './store.js';
import { b, FakeWal, until, WatchRecorder } from './testing.js';

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'mvcc-dur-'));
}

/**
 * Everything observable about a store: status, every retained revision's full key space,
 * watch replay from the compact revision, and leases (TTL as granted, keys).
 */
async function dump(store: MvccStore): Promise<unknown> {
  const st = store.status();
  const revs: Record<number, string[]> = {};
  for (let rev = Math.max(1, st.compactRevision); rev <= st.revision; rev++) {
    const r = await store.range({ key: b('\0'), rangeEnd: b('\0'), revision: rev });
    revs[rev] = r.kvs.map((kv) => `${kv.key}=${kv.value}|c${kv.createRevision}|m${kv.modRevision}|v${kv.version}|l${kv.lease}`);
  }
  const w = new WatchRecorder(store, { key: b('\0'), rangeEnd: b('\0'), startRevision: Math.max(1, st.compactRevision), prevKv: true });
  const events = st.revision > 1 ? await until(() => w.responses.some((r) => r.header.revision >= st.revision)).then(() => w.events()) : [];
  w.watcher.cancel();
  const leases = (await store.leaseLeases()).leases.sort();
  const leaseInfo = await Promise.all(
    leases.map(async (id) => {
      const t = await store.leaseTimeToLive(id, true);
      return `${id}:${t.grantedTtl}:${t.keys.map(String).join(',')}`;
    }),
  );
  return { revision: st.revision, compactRevision: st.compactRevision, revs, events, leaseInfo, keys: store.keyCount, history: store.historySize };
}

/** A mixed workload: puts, overwrites, deletes, txns, leases, a revoke and compactions. */
async function workload(store: MvccStore, rounds = 30, leaseBase = 1000n): Promise<void> {
  const l1 = await store.leaseGrant(60, leaseBase + 1n);
  const l2 = await store.leaseGrant(30, leaseBase + 2n);
  for (let i = 0; i < rounds; i++) {
    await store.put({ key: b(`k${i % 7}`), value: b(`v${i}`), lease: i % 3 === 0 ? l1.id : 0n });
    if (i % 4 === 0) await store.deleteRange({ key: b(`k${(i + 3) % 7}`) });
    if (i % 5 === 0) {
      await store.txn({
        compare: [{ key: b('k1'), target: 'VERSION', result: 'GREATER', version: 0 }],
        success: [{ put: { key: b(`t${i}`), value: b('then'), lease: i < 20 ? l2.id : 0n } }, { deleteRange: { key: b('k2') } }],
        failure: [{ put: { key: b(`t${i}`), value: b('else') } }],
      });
    }
    if (i === 12) await store.compact({ revision: store.status().revision - 5 });
    if (i === 20) await store.leaseRevoke(l2.id);
  }
  await store.compact({ revision: store.status().revision - 10 });
  await store.put({ key: b('bin'), value: Buffer.from([0, 255, 1, 254]) });
  // Values from 64 KiB up are kept as Buffers rather than strings: cover both.
  await store.put({ key: b('big'), value: Buffer.alloc(200_000, 0xab) });
  await store.put({ key: b('empty'), value: Buffer.alloc(0) });
}

const variants: { name: string; opts: Partial<MvccStoreOptions> }[] = [
  { name: 'WAL only', opts: {} },
  { name: 'with snapshots every 7 records', opts: { snapshotEveryRecords: 7, snapshotMinLogRatio: 0 } },
  { name: 'with a snapshot every record', opts: { snapshotEveryRecords: 1, snapshotMinLogRatio: 0 } },
];

for (const v of variants) {
  test(`restart restores the identical state (${v.name})`, async () => {
    const dir = await tmp();
    try {
      const opts: MvccStoreOptions = { dataDir: dir, logger: silentLogger(), clock: new FakeClock(), ...v.opts };
      const s1 = await MvccStore.open(opts);
      await workload(s1);
      const before = await dump(s1);
      await s1.close();
      const s2 = await MvccStore.open({ ...opts, clock: new FakeClock() });
      assert.deepEqual(await dump(s2), before);
      // And it keeps going from there, across another restart.
      await workload(s2, 10, 2000n);
      const again = await dump(s2);
      await s2.close();
      const s3 = await MvccStore.open({ ...opts, clock: new FakeClock() });
      assert.deepEqual(await dump(s3), again);
      assert.ok(s3.status().appliedIndex > 0);
      await s3.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('after a restart every lease gets its full TTL again, and still expires', async () => {
  const dir = await tmp();
  try {
    const clock = new FakeClock();
    const s1 = await MvccStore.open({ dataDir: dir, logger: silentLogger(), clock });
    const l = await s1.leaseGrant(10);
    await s1.put({ key: b('eph'), value: b('1'), lease: l.id });
    clock.step(8000);
    assert.equal((await s1.leaseTimeToLive(l.id)).ttl, 2);
    await s1.close();
    const clock2 = new FakeClock();
    const s2 = await MvccStore.open({ dataDir: dir, logger: silentLogger(), clock: clock2 });
    const t = await s2.leaseTimeToLive(l.id, true);
    assert.deepEqual([t.ttl, t.grantedTtl, t.keys.map(String)], [10, 10, ['eph']]);
    clock2.step(10_000);
    await s2.sync();
    assert.equal((await s2.range({ key: b('eph') })).count, 0);
    await s2.close();
    const s3 = await MvccStore.open({ dataDir: dir, logger: silentLogger(), clock: new FakeClock() });
    assert.equal((await s3.leaseTimeToLive(l.id)).ttl, -1, 'the expiry revocation was durable');
    await s3.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a snapshot streamed while writes and a compaction continue stays consistent', async () => {
  const fake = new FakeWal();
  const open = () => MvccStore.open({ dataDir: 'fake', openWal: fake.opener(), logger: silentLogger(), clock: new FakeClock(), snapshotEveryRecords: 1e9 });
  const s1 = await open();
  for (let i = 0; i < 200; i++) await s1.put({ key: b(`k${i % 50}`), value: Buffer.alloc(20_000, i) }); // > 1 chunk
  const snap = s1.snapshot();
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 50; i++) writes.push(s1.put({ key: b(`k${i}`), value: b(`late${i}`) }));
  await Promise.all(writes);
  await s1.compact({ revision: s1.status().revision - 10 });
  assert.equal(fake.snapshot, undefined, 'the snapshot is still being streamed');
  await s1.put({ key: b('k1'), value: b('after-compaction') });
  await snap;
  assert.ok(fake.snapshot, 'snapshot saved');
  assert.ok(fake.records.length > 0, 'records after the snapshot remain to replay');
  const before = await dump(s1);
  await s1.close();
  const s2 = await open();
  assert.deepEqual(await dump(s2), before);
  await s2.close();
});

test('backup stream + restoreBackup give a data dir with the same state; damage is detected', async () => {
  const dir = await tmp();
  try {
    const s1 = await MvccStore.open({ dataDir: join(dir, 'a'), logger: silentLogger(), clock: new FakeClock() });
    await workload(s1);
    const before = await dump(s1);
    const backup = join(dir, 'backup.db');
    await pipeline(Readable.from(s1.snapshotStream()), createWriteStream(backup));
    await s1.close();

    assert.deepEqual(await restoreBackup(backup, join(dir, 'b')), { revision: (before as { revision: number }).revision });
    const s2 = await MvccStore.open({ dataDir: join(dir, 'b'), logger: silentLogger(), clock: new FakeClock() });
    assert.deepEqual(await dump(s2), before);
    await s2.put({ key: b('new'), value: b('1') });
    await s2.close();
    const s3 = await MvccStore.open({ dataDir: join(dir, 'b'), logger: silentLogger(), clock: new FakeClock() });
    assert.equal((await s3.range({ key: b('new') })).count, 1);
    await s3.close();

    await mkdir(join(dir, 'c'));
    await writeFile(join(dir, 'c', 'x'), 'x');
    await assert.rejects(restoreBackup(backup, join(dir, 'c')), /not empty/);

    const bytes = await readFile(backup);
    for (const at of [3, Math.floor(bytes.length / 2), bytes.length - 5]) {
      const bad = Buffer.from(bytes);
      bad[at]! ^= 0x40;
      await writeFile(join(dir, 'bad.db'), bad);
      await assert.rejects(restoreBackup(join(dir, 'bad.db'), join(dir, `d${at}`)), (e: unknown) => isMvccError(e, 'Corrupt'));
    }
    await writeFile(join(dir, 'short.db'), bytes.subarray(0, bytes.length - 40));
    await assert.rejects(restoreBackup(join(dir, 'short.db'), join(dir, 'e')), (e: unknown) => isMvccError(e, 'Corrupt'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a WAL failure fails the write and stops the store from accepting writes', async () => {
  const fake = new FakeWal();
  const store = await MvccStore.open({ dataDir: 'fake', openWal: fake.opener(), logger: silentLogger(), clock: new FakeClock() });
  await store.put({ key: b('a'), value: b('1') });
  fake.failNext = true;
  await assert.rejects(store.put({ key: b('b'), value: b('1') }), (e: unknown) => isMvccError(e, 'Closed') && /WAL failure/.test((e as Error).message));
  await assert.rejects(store.put({ key: b('c'), value: b('1') }), (e: unknown) => isMvccError(e, 'Closed'));
  assert.equal((await store.range({ key: b('b') })).count, 0, 'the failed write never became visible');
  await store.close();
});

test('records encode and decode', () => {
  const cases = [
    { type: RecordType.Write as const, rev: 7, ops: [{ key: 'a', value: b('xy'), lease: 0n }, { key: '\u00ff\u0000' }] },
    { type: RecordType.Compact as const, rev: 123456789012 },
    { type: RecordType.LeaseGrant as const, id: (1n << 62n) + 5n, ttl: 9_000_000_000 },
    { type: RecordType.LeaseRevoke as const, id: 5n, rev: 9, ops: [{ key: 'k' }] },
    { type: RecordType.Noop as const },
  ];
  for (const rec of cases) assert.deepEqual(decodeRecord(encodeRecord(rec)), rec);
  assert.throws(() => decodeRecord(Buffer.from([9])), (e: unknown) => isMvccError(e, 'Corrupt'));
  assert.throws(() => decodeRecord(encodeRecord(cases[0]!).subarray(0, 12)), (e: unknown) => isMvccError(e, 'Corrupt'));
});

test('metrics use etcd names on the injected registry', async () => {
  const registry = new Registry();
  const dir = await tmp();
  try {
    const store = await MvccStore.open({ dataDir: dir, logger: silentLogger(), registry, clock: new FakeClock() });
    await store.put({ key: b('a'), value: b('1') });
    await store.put({ key: b('b'), value: b('1') });
    await store.deleteRange({ key: b('a') });
    await store.range({ key: b('a') });
    await store.txn({ compare: [], success: [], failure: [] });
    const w = store.watch({ key: b('x') }, () => {});
    const text = await registry.metrics();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.equal(value('etcd_mvcc_put_total'), 2);
    assert.equal(value('etcd_mvcc_delete_total'), 1);
    assert.equal(value('etcd_mvcc_range_total'), 1);
    assert.equal(value('etcd_mvcc_txn_total'), 1);
    assert.equal(value('etcd_debugging_mvcc_keys_total'), 1);
    assert.equal(value('etcd_debugging_mvcc_watcher_total'), 1);
    assert.ok(value('etcd_mvcc_db_total_size_in_bytes') > 0);
    assert.match(text, /etcd_disk_wal_fsync_duration_seconds_count \d+/);
    w.cancel();
    await store.close();
    // A second store on the same registry reuses the metrics.
    const again = await MvccStore.open({ registry, logger: silentLogger() });
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a data directory can be open by one store at a time', async () => {
  const dir = await tmp();
  try {
    const s1 = await MvccStore.open({ dataDir: dir, logger: silentLogger() });
    await assert.rejects(MvccStore.open({ dataDir: dir, logger: silentLogger() }), /already open/);
    await s1.close();
    const s2 = await MvccStore.open({ dataDir: dir, logger: silentLogger() });
    await s2.close();
    // A lock left by a dead process is taken over.
    await writeFile(join(dir, 'LOCK'), '999999999\n');
    const s3 = await MvccStore.open({ dataDir: dir, logger: silentLogger() });
    await s3.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
