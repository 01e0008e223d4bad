/**
 * RemoteKV against a real etcd 3.4: the KV contract details the storage layer relies on
 * (error identity, txn responses, watch semantics) and what only a remote store has
 * (reconnecting a broken watch stream, several endpoints).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startEtcd, type EtcdCluster } from '../util/etcd.js';
import { isMvccError, type MvccErrorCode } from '../../src/storage/mvcc/errors.js';
import type { WatchResponse } from '../../src/storage/mvcc/types.js';
import { RemoteKV, parseEtcdServers } from '../../src/storage/etcd3/remote-kv.js';

const b = (s: string) => Buffer.from(s);
let seq = 0;
const unique = () => `/rkv-test/${process.pid}-${seq++}/`;

/** Collects watch responses; waitFor polls with a bounded wait. */
class Collector {
  readonly responses: WatchResponse[] = [];
  readonly push = (r: WatchResponse) => { this.responses.push(r); };
  events() {
    return this.responses.flatMap((r) => r.events.map((e) => [e.type, e.kv.key.toString(), e.kv.value.toString(), e.prevKv?.value.toString()]));
  }
  async waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.events())}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/**
 * A write right after a member restart may fail once with "Connection dropped" (sent on the
 * dead connection, so never applied: RemoteKV does not retry such a write itself).
 */
async function putAfterRestart(kv: RemoteKV, key: Buffer, value: Buffer): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await kv.put({ key, value });
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

async function rejectsMvcc(p: Promise<unknown>, code: MvccErrorCode): Promise<void> {
  await assert.rejects(p, (err) => {
    assert.ok(isMvccError(err, code), `expected MvccError ${code}, got ${String(err)}`);
    return true;
  });
}

test('parseEtcdServers splits a --etcd-servers value', () => {
  assert.deepEqual(parseEtcdServers('http://a:2379, http://b:2379,,'), ['http://a:2379', 'http://b:2379']);
  assert.deepEqual(parseEtcdServers(''), []);
  assert.throws(() => new RemoteKV({ endpoints: [] }), /no etcd endpoints/);
});

describe('RemoteKV on one etcd member', { concurrency: false }, () => {
  let etcd: Promise<EtcdCluster> | undefined;
  let kvs: RemoteKV[] = [];
  const open = async () => {
    etcd ??= startEtcd();
    const kv = new RemoteKV({ endpoints: (await etcd).endpoints });
    kvs.push(kv);
    return kv;
  };
  after(async () => {
    for (const kv of kvs) await kv.close();
    kvs = [];
    if (etcd) await (await etcd).stop();
  });

  test('put, range, txn and deleteRange keep etcd\'s revisions and fields', async () => {
    const kv = await open();
    const p = unique();
    const put = await kv.put({ key: b(p + 'a'), value: b('1') });
    const put2 = await kv.put({ key: b(p + 'a'), value: b('2'), prevKv: true });
    assert.equal(put2.header.revision, put.header.revision + 1);
    assert.equal(put2.prevKv?.value.toString(), '1');
    const r = await kv.range({ key: b(p + 'a') });
    assert.deepEqual(r.kvs.map((k) => [k.key.toString(), k.value.toString(), k.createRevision, k.modRevision, k.version, k.lease]),
      [[p + 'a', '2', put.header.revision, put2.header.revision, 2, 0n]]);
    assert.equal(r.count, 1);
    assert.equal(r.more, false);

    const t = await kv.txn({
      compare: [{ key: b(p + 'a'), target: 'MOD', result: 'EQUAL', modRevision: put2.header.revision }],
      success: [{ put: { key: b(p + 'b'), value: b('x') } }, { range: { key: b(p), rangeEnd: b(p + '\xff') } }],
      failure: [],
    });
    assert.equal(t.succeeded, true);
    assert.equal(t.header.revision, put2.header.revision + 1);
    const inner = t.responses[1];
    assert.ok('range' in inner);
    assert.equal(inner.range.header.revision, t.header.revision, 'nested responses carry the txn revision');
    assert.deepEqual(inner.range.kvs.map((k) => k.key.toString()), [p + 'a', p + 'b']);

    const failed = await kv.txn({
      compare: [{ key: b(p + 'a'), target: 'CREATE', result: 'EQUAL', createRevision: 0 }],
      success: [],
      failure: [{ range: { key: b(p + 'a') } }],
    });
    assert.equal(failed.succeeded, false);
    assert.ok('range' in failed.responses[0] && failed.responses[0].range.kvs.length === 1);

    const limited = await kv.range({ key: b(p), rangeEnd: b(p + '\xff'), limit: 1 });
    assert.deepEqual([limited.kvs.length, limited.more, limited.count], [1, true, 2]);
    const counted = await kv.range({ key: b(p), rangeEnd: b(p + '\xff'), countOnly: true });
    assert.deepEqual([counted.kvs.length, counted.count], [0, 2]);

    const del = await kv.deleteRange({ key: b(p), rangeEnd: b(p + '\xff'), prevKv: true });
    assert.equal(del.deleted, 2);
    assert.deepEqual(del.prevKvs.map((k) => k.value.toString()), ['2', 'x']);
    assert.equal(kv.status().revision, del.header.revision);
  });

  test('responses larger than gRPC\'s default 4 MiB limit are received', async () => {
    const kv = await open();
    const p = unique();
    const big = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 6; i++) await kv.put({ key: b(p + i), value: big });
    const r = await kv.range({ key: b(p), rangeEnd: b(p + '\xff') });
    assert.equal(r.kvs.length, 6);
    assert.equal(r.kvs.reduce((n, k) => n + k.value.length, 0), 6 * big.length);
    await kv.deleteRange({ key: b(p), rangeEnd: b(p + '\xff') });
  });

  test('etcd errors come back as MvccError codes', async () => {
    const kv = await open();
    const p = unique();
    const { header } = await kv.put({ key: b(p + 'a'), value: b('1') });
    await rejectsMvcc(kv.range({ key: b(p + 'a'), revision: header.revision + 1000 }), 'FutureRevision');
    await kv.put({ key: b(p + 'a'), value: b('2') });
    await kv.compact({ revision: header.revision + 1 });
    await rejectsMvcc(kv.range({ key: b(p + 'a'), revision: header.revision }), 'Compacted');
    await rejectsMvcc(kv.compact({ revision: header.revision }), 'Compacted');
    await rejectsMvcc(kv.put({ key: b(p + 'missing'), value: b(''), ignoreValue: true }), 'KeyNotFound');
    await rejectsMvcc(kv.leaseRevoke(12345n), 'LeaseNotFound');
    await rejectsMvcc(kv.leaseKeepAlive(12345n), 'LeaseNotFound');
    assert.equal(kv.status().compactRevision, header.revision + 1);
  });

  test('leases: grant, attach, keep-alive, time-to-live, list, revoke deletes the keys', async () => {
    const kv = await open();
    const p = unique();
    const lease = await kv.leaseGrant(30);
    assert.ok(lease.id > 0n);
    assert.equal(lease.ttl, 30);
    await kv.put({ key: b(p + 'a'), value: b('1'), lease: lease.id });
    const ka = await Promise.all([kv.leaseKeepAlive(lease.id), kv.leaseKeepAlive(lease.id)]);
    assert.deepEqual(ka.map((k) => [k.id, k.ttl]), [[lease.id, 30], [lease.id, 30]]);
    const ttl = await kv.leaseTimeToLive(lease.id, true);
    assert.equal(ttl.grantedTtl, 30);
    assert.deepEqual(ttl.keys.map(String), [p + 'a']);
    assert.ok((await kv.leaseLeases()).leases.includes(lease.id));
    assert.equal((await kv.range({ key: b(p + 'a') })).kvs[0].lease, lease.id);
    await kv.leaseRevoke(lease.id);
    assert.equal((await kv.range({ key: b(p + 'a') })).kvs.length, 0);
    assert.equal((await kv.leaseTimeToLive(lease.id)).ttl, -1);
  });

  test('watch: history from a revision with prevKv, filters, progress, compaction', async () => {
    const kv = await open();
    const p = unique();
    const first = await kv.put({ key: b(p + 'a'), value: b('1') });
    await kv.put({ key: b(p + 'a'), value: b('2') });
    await kv.deleteRange({ key: b(p + 'a') });

    const all = new Collector();
    const w = kv.watch({ key: b(p), rangeEnd: b(p + '\xff'), startRevision: first.header.revision, prevKv: true }, all.push);
    await all.waitFor(() => all.events().length === 3, 'history');
    assert.deepEqual(all.events(), [
      ['PUT', p + 'a', '1', undefined],
      ['PUT', p + 'a', '2', '1'],
      ['DELETE', p + 'a', '', '2'],
    ]);

    const noDelete = new Collector();
    const w2 = kv.watch({ key: b(p), rangeEnd: b(p + '\xff'), startRevision: first.header.revision, noDelete: true }, noDelete.push);
    await noDelete.waitFor(() => noDelete.events().length === 2, 'puts only');
    await kv.put({ key: b(p + 'b'), value: b('3') });
    await all.waitFor(() => all.events().length === 4, 'live event');
    await noDelete.waitFor(() => noDelete.events().length === 3, 'live put');

    // A progress request is answered with an empty response at the current revision.
    const before = all.responses.length;
    w.requestProgress();
    await all.waitFor(() => all.responses.slice(before).some((r) => r.events.length === 0), 'progress notification');
    const progress = all.responses.slice(before).find((r) => r.events.length === 0)!;
    assert.equal(progress.header.revision, (await kv.range({ key: b(p), countOnly: true })).header.revision);

    w.cancel();
    w2.cancel();
    await kv.put({ key: b(p + 'c'), value: b('4') });
    const marker = new Collector();
    const w3 = kv.watch({ key: b(p + 'c'), startRevision: 1 }, marker.push);
    await marker.waitFor(() => marker.responses.length > 0, 'compaction cancel');
    assert.ok(marker.responses[0].compactRevision && marker.responses[0].compactRevision > 1);
    assert.equal(marker.responses[0].canceled, true);
    assert.ok(!all.events().some((e) => e[1] === p + 'c'), 'a cancelled watch delivers nothing more');
    w3.cancel();
  });

  test('a watch survives an etcd restart and resumes after its last revision', { timeout: 60_000 }, async () => {
    const kv = await open();
    const cluster = await etcd!;
    const p = unique();
    const c = new Collector();
    const start = await kv.put({ key: b(p + 'a'), value: b('0') });
    const w = kv.watch({ key: b(p), rangeEnd: b(p + '\xff'), startRevision: start.header.revision + 1 }, c.push);
    await kv.put({ key: b(p + 'a'), value: b('1') });
    await c.waitFor(() => c.events().length === 1, 'first event');
    await cluster.restartMember(0, { kill: true });
    // Written as soon as etcd is back, possibly before the watch stream reconnects: the
    // resumed watch starts at the revision after the last delivered one, so nothing is lost
    // and nothing is repeated.
    await putAfterRestart(kv, b(p + 'a'), b('2'));
    await putAfterRestart(kv, b(p + 'a'), b('3'));
    await c.waitFor(() => c.events().length >= 3, 'events after the restart', 30_000);
    assert.deepEqual(c.events().map((e) => e[2]), ['1', '2', '3']);
    w.cancel();
  });
});

describe('RemoteKV on a three-member cluster', { concurrency: false }, () => {
  test('reads, writes and watches with every member as an endpoint; a member restart is survived', { timeout: 90_000 }, async () => {
    const cluster = await startEtcd({ members: 3 });
    const kv = new RemoteKV({ endpoints: cluster.endpoints });
    try {
      const p = unique();
      const c = new Collector();
      const start = await kv.put({ key: b(p + 'a'), value: b('0') });
      const w = kv.watch({ key: b(p + 'a'), startRevision: start.header.revision + 1 }, c.push);
      for (let i = 1; i <= 5; i++) await kv.put({ key: b(p + 'a'), value: b(String(i)) });
      await c.waitFor(() => c.events().length === 5, 'five events');
      await cluster.restartMember(1, { kill: true });
      for (let i = 6; i <= 8; i++) {
        // A request that hit the killed member fails over; a retry goes to a live one.
        await putAfterRestart(kv, b(p + 'a'), b(String(i)));
      }
      await c.waitFor(() => c.events().length >= 8, 'events after the restart', 30_000);
      const values = c.events().map((e) => e[2]);
      assert.deepEqual(values, ['1', '2', '3', '4', '5', '6', '7', '8']);
      assert.equal((await kv.range({ key: b(p + 'a') })).kvs[0].value.toString(), '8');
      w.cancel();
    } finally {
      await kv.close();
      await cluster.stop();
    }
  });
});
