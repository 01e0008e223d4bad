/**
 * KVStorage specifics beyond the backend-independent contract (storage.contract.ts): the
 * continue-token codec, key prefixing, lease sharing, periodic bookmarks, corrupt values,
 * close(), and the openStorage factory. (etcd-only cases: test/storage/storage-etcd.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../util/clock.js';
import { isStorageError, type StoredObject, type WatchEvent } from './interface.js';
import { MvccStore } from './mvcc/index.js';
import { KVStorage, decodeContinue, encodeContinue, openStorage, prefixEnd } from './store.js';

const obj = (name: string, v = '1'): StoredObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { v } });

async function nextEvent(it: AsyncIterator<WatchEvent>, ms = 10_000): Promise<WatchEvent | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    it.next(),
    new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); }),
  ]);
  clearTimeout(timer);
  if (r === 'timeout') throw new Error(`no watch event within ${ms} ms`);
  return r.done ? undefined : r.value;
}

async function withEmbedded(body: (s: KVStorage, kv: MvccStore) => Promise<void>, opts: Partial<ConstructorParameters<typeof KVStorage>[0]> = {}) {
  const kv = await MvccStore.open({});
  const s = new KVStorage({ kv, bookmarkIntervalMs: 0, ...opts });
  try {
    await body(s, kv);
  } finally {
    await s.close();
    await kv.close();
  }
}

test('continue tokens use upstream\'s encoding', () => {
  const token = encodeContinue('/registry/pods/default/b\x00', '/registry/pods/', 5);
  assert.equal(Buffer.from(token, 'base64url').toString(), '{"v":"meta.k8s.io/v1","rv":5,"start":"default/b\\u0000"}');
  assert.ok(!token.includes('='), 'no padding (base64.RawURLEncoding)');
  assert.deepEqual(decodeContinue(token, '/registry/pods/'), { fromKey: '/registry/pods/default/b\x00', rv: 5 });
  assert.deepEqual(decodeContinue(encodeContinue('/r/x', '/r/', -1), '/r/'), { fromKey: '/r/x', rv: -1 });
  assert.throws(() => encodeContinue('/other/x', '/r/', 1), /do not match/);
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const cases: [string, RegExp][] = [
    ['!!', /continue key is not valid/],
    [enc('x'), /continue key is not valid/],
    [enc({ v: 'meta.k8s.io/v2', rv: 1, start: 'a' }), /server does not recognize this encoded version/],
    [enc({ v: 'meta.k8s.io/v1', rv: 0, start: 'a' }), /incorrect encoded start resourceVersion/],
    [enc({ v: 'meta.k8s.io/v1', rv: 1, start: '' }), /encoded start key empty/],
    [enc({ v: 'meta.k8s.io/v1', rv: 1, start: 'a/../../b' }), /continue key is not valid: a\/..\/..\/b/],
  ];
  for (const [value, want] of cases) assert.throws(() => decodeContinue(value, '/r/'), want);
});

test('prefixEnd is etcd\'s GetPrefixRangeEnd', () => {
  const cases: [string, number[]][] = [
    ['a', [0x62]],
    ['/registry/pods/', [...Buffer.from('/registry/pods0')]],
  ];
  for (const [p, want] of cases) assert.deepEqual([...prefixEnd(Buffer.from(p))], want);
  assert.deepEqual([...prefixEnd(Buffer.from([0x61, 0xff]))], [0x62]);
  assert.deepEqual([...prefixEnd(Buffer.from([0xff, 0xff]))], [0]);
});

test('prefix: keys are stored under it; lists, paging and watches are unaffected', async () => {
  await withEmbedded(async (s, kv) => {
    const created = await s.create('/registry/pods/default/a', obj('a'));
    await s.create('/registry/pods/default/b', obj('b'));
    const raw = await kv.range({ key: Buffer.from('/flotilla/registry/pods/default/a') });
    assert.equal(raw.kvs.length, 1);
    assert.equal(raw.kvs[0].modRevision, Number(created.metadata?.resourceVersion));
    const page = await s.getList('/registry/pods/', { limit: 1 });
    assert.deepEqual(JSON.parse(Buffer.from(page.continue, 'base64url').toString()).start, 'default/a\u0000');
    const rest = await s.getList('/registry/pods/', { limit: 1, continue: page.continue });
    assert.deepEqual(rest.items.map((i) => i.metadata?.name), ['b']);
    const w = await s.watch('/registry/pods/', { recursive: true });
    const it = w[Symbol.asyncIterator]();
    assert.deepEqual([(await nextEvent(it))?.object.metadata?.name, (await nextEvent(it))?.object.metadata?.name], ['a', 'b']);
    w.stop();
  }, { prefix: '/flotilla' });
});

test('objects with similar TTLs share a lease; a lease is not shared past its limits', async () => {
  const clock = new FakeClock();
  await withEmbedded(async (s, kv) => {
    const leasesNow = async () => (await kv.leaseLeases()).leases.length;
    await Promise.all([
      s.create('/registry/events/default/a', obj('a'), { ttlSeconds: 100 }),
      s.create('/registry/events/default/b', obj('b'), { ttlSeconds: 100 }),
    ]);
    // Concurrent creates are served one after another; at one frozen instant the second
    // object would end exactly at the lease's end, which upstream (strict After) doesn't reuse.
    assert.equal(await leasesNow(), 2);
    clock.step(1);
    await s.create('/registry/events/default/b2', obj('b2'), { ttlSeconds: 100 });
    assert.equal(await leasesNow(), 2, 'same TTL a moment later: the lease is shared');
    const leaseOf = async (k: string) => (await kv.range({ key: Buffer.from(k) })).kvs[0].lease;
    assert.equal(await leaseOf('/registry/events/default/b'), await leaseOf('/registry/events/default/b2'));
    const ttl = await kv.leaseTimeToLive(await leaseOf('/registry/events/default/b'));
    assert.equal(ttl.grantedTtl, 105, 'TTL plus 5% reuse window');
    clock.step(1);
    await s.create('/registry/events/default/c', obj('c'), { ttlSeconds: 100 });
    assert.equal(await leasesNow(), 3, 'max objects per lease reached: a new lease');
    clock.step(10_000);
    await s.create('/registry/events/default/d', obj('d'), { ttlSeconds: 100 });
    await s.create('/registry/events/default/e', obj('e'), { ttlSeconds: 10 });
    // d: the current lease would expire before d's TTL (valid fails) → new lease.
    // e: the current lease lives far longer than 10 s (+0 reuse) → new lease.
    assert.equal(await leasesNow(), 5);
  }, { clock, leases: { maxObjectsPerLease: 2 } });
});

test('bookmarkIntervalMs: an idle watch with allowBookmarks gets periodic BOOKMARKs', async () => {
  const clock = new FakeClock();
  await withEmbedded(async (s) => {
    const a = await s.create('/registry/pods/default/a', obj('a'));
    const plain = await s.watch('/registry/pods/', { recursive: true, resourceVersion: a.metadata!.resourceVersion });
    const w = await s.watch('/registry/pods/', { recursive: true, resourceVersion: a.metadata!.resourceVersion, allowBookmarks: true });
    const it = w[Symbol.asyncIterator]();
    const pending = nextEvent(it);
    clock.step(60_000);
    const e = await pending;
    assert.equal(e?.type, 'BOOKMARK');
    assert.equal(e?.object.metadata?.resourceVersion, a.metadata!.resourceVersion);
    // The watch without allowBookmarks only sees the next change.
    await s.create('/registry/pods/default/b', obj('b'));
    assert.equal((await nextEvent(plain[Symbol.asyncIterator]()))?.type, 'ADDED');
    w.stop();
    plain.stop();
  }, { clock, bookmarkIntervalMs: 60_000 });
});

test('a value that is not a JSON object is CorruptObj on read and ends a watch with an ERROR', async () => {
  await withEmbedded(async (s, kv) => {
    const a = await s.create('/registry/pods/default/a', obj('a'));
    const w = await s.watch('/registry/pods/', { recursive: true, resourceVersion: a.metadata!.resourceVersion });
    await kv.put({ key: Buffer.from('/registry/pods/default/bad'), value: Buffer.from('{not json') });
    await assert.rejects(s.get('/registry/pods/default/bad'), (err) => isStorageError(err, 'CorruptObj'));
    await assert.rejects(s.getList('/registry/pods/'), (err) => isStorageError(err, 'CorruptObj'));
    const it = w[Symbol.asyncIterator]();
    const e = await nextEvent(it);
    assert.equal(e?.type, 'ERROR');
    assert.ok(isStorageError(e?.error, 'CorruptObj'));
    assert.equal(await nextEvent(it), undefined);
  });
});

test('close() ends every watch and later calls fail with Unreachable', async () => {
  const kv = await MvccStore.open({});
  const s = new KVStorage({ kv, onClose: () => kv.close() });
  const w = await s.watch('/registry/pods/', { recursive: true });
  const it = w[Symbol.asyncIterator]();
  const pending = nextEvent(it);
  await s.close();
  assert.equal(await pending, undefined);
  await assert.rejects(s.get('/registry/pods/default/a'), (err) => isStorageError(err, 'Unreachable'));
  await s.close(); // idempotent
});

test('openStorage opens the embedded backend (in memory without a dataDir)', async () => {
  const s = await openStorage({ backend: 'embedded' });
  try {
    const a = await s.create('/registry/pods/default/a', obj('a'));
    assert.deepEqual(await s.get('/registry/pods/default/a'), a);
    assert.equal(await s.count('/registry/pods/'), 1);
  } finally {
    await s.close();
  }
});
