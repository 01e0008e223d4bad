/**
 * The one contract suite every Storage backend runs (STYLE.md rule 5): upstream Kubernetes'
 * etcd3 store semantics — keys, resourceVersion rules, paging, compare-and-swap updates,
 * preconditions, deletes, watches with predicates, bookmarks and compaction.
 *
 * Usage (from a *.test.ts):  runStorageContract('etcd', async () => ({ storage, close }));
 * `open` is called once per test; tests use unique key prefixes, so a backend may share one
 * underlying store between tests. Tests run sequentially (compaction affects the whole store).
 * Every wait is bounded; nothing asserts on timing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  isStorageError,
  type Storage,
  type StorageErrorCode,
  type StoredObject,
  type WatchEvent,
  type WatchStream,
} from './interface.js';
import type { KV } from './mvcc/types.js';

export interface OpenedStorage {
  storage: Storage;
  /** The KV underneath, when the backend has one: lets tests check the stored bytes. */
  kv?: KV;
  close(): Promise<void>;
}

/** Longest a test waits for an event it expects (lease expiry on etcd takes a few seconds). */
const WAIT_MS = 10_000;

let seq = 0;
/** A resource name no other test (or earlier run on the same store) uses. */
function uniqueResource(): string {
  return `ct${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** A ConfigMap-like object. */
function newObj(name: string, extra: Record<string, unknown> = {}, ns = 'default'): StoredObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, uid: `uid-${name}` },
    data: { v: '1' },
    ...extra,
  };
}

const rvOf = (o: StoredObject | undefined): number => Number(o?.metadata?.resourceVersion);
const dataOf = (o: StoredObject | undefined): Record<string, string> => (o?.data ?? {}) as Record<string, string>;

async function rejectsWith(p: Promise<unknown>, code: StorageErrorCode, message?: RegExp | string): Promise<unknown> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected a StorageError ${code}, got success`);
  assert.ok(isStorageError(caught, code), `expected StorageError ${code}, got ${String((caught as Error)?.name)}: ${(caught as Error)?.message} (${(caught as { code?: string })?.code})`);
  if (message !== undefined) {
    const msg = (caught as Error).message;
    if (typeof message === 'string') assert.ok(msg.includes(message), `message ${JSON.stringify(msg)} lacks ${JSON.stringify(message)}`);
    else assert.match(msg, message);
  }
  return caught;
}

/** Reads events from a watch with a bounded wait per event. */
class EventReader {
  private readonly it: AsyncIterator<WatchEvent>;
  private pending?: Promise<IteratorResult<WatchEvent>>;

  constructor(readonly stream: WatchStream) {
    this.it = stream[Symbol.asyncIterator]();
  }

  /** The next event, or undefined when the stream ended; fails after waitMs. */
  async next(waitMs = WAIT_MS): Promise<WatchEvent | undefined> {
    this.pending ??= this.it.next();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), waitMs); });
    const r = await Promise.race([this.pending, timeout]);
    clearTimeout(timer);
    if (r === 'timeout') throw new Error(`no watch event within ${waitMs} ms`);
    this.pending = undefined;
    return r.done ? undefined : r.value;
  }

  async take(n: number): Promise<WatchEvent[]> {
    const out: WatchEvent[] = [];
    for (let i = 0; i < n; i++) {
      const e = await this.next();
      assert.ok(e, `watch ended after ${out.length} of ${n} events`);
      out.push(e);
    }
    return out;
  }

  /** Skips BOOKMARKs (allowed at any time on a bookmark watch) and returns the next other event. */
  async nextNonBookmark(): Promise<WatchEvent | undefined> {
    for (;;) {
      const e = await this.next();
      if (e?.type !== 'BOOKMARK') return e;
    }
  }

  /** Asserts no further event arrives before a marker write shows up (used instead of sleeping). */
  async expectOnly(type: WatchEvent['type'], name: string): Promise<WatchEvent> {
    const e = await this.nextNonBookmark();
    assert.ok(e, 'watch ended');
    assert.equal(e.type, type, `expected ${type} ${name}, got ${e.type} ${e.object.metadata?.name}`);
    assert.equal(e.object.metadata?.name, name);
    return e;
  }
}

const summary = (events: WatchEvent[]) => events.map((e) => [e.type, e.object.metadata?.name, dataOf(e.object).v]);

export function runStorageContract(name: string, open: () => Promise<OpenedStorage>): void {
  /** Runs body with a freshly opened storage and a unique resource prefix. */
  const withStorage = (body: (s: Storage, res: string, o: OpenedStorage) => Promise<void>) => async () => {
    const o = await open();
    try {
      await body(o.storage, `/registry/${uniqueResource()}`, o);
    } finally {
      await o.close();
    }
  };

  describe(`storage contract: ${name}`, { concurrency: false }, () => {
    // ---- create / get -------------------------------------------------------------------

    test('create stores the object and returns it with resourceVersion = its mod revision', withStorage(async (s, res, o) => {
      const before = await s.currentRevision();
      const created = await s.create(`${res}/default/a`, newObj('a'));
      assert.ok(rvOf(created) > before);
      assert.equal(rvOf(created), await s.currentRevision());
      assert.equal(created.metadata?.name, 'a');
      assert.deepEqual(created.data, { v: '1' });
      const got = await s.get(`${res}/default/a`);
      assert.deepEqual(got, created);
      if (o.kv) {
        // The stored value never carries the resourceVersion.
        const raw = await o.kv.range({ key: Buffer.from(`${res}/default/a`) });
        const stored = JSON.parse(raw.kvs[0].value.toString()) as StoredObject;
        assert.equal(stored.metadata?.resourceVersion, undefined);
        assert.equal(raw.kvs[0].modRevision, rvOf(created));
      }
    }));

    test('create does not alias or mutate the caller\'s object', withStorage(async (s, res) => {
      const obj = newObj('a');
      const created = await s.create(`${res}/default/a`, obj);
      assert.equal(obj.metadata?.resourceVersion, undefined);
      (created.data as Record<string, string>).v = 'changed';
      assert.deepEqual(dataOf(await s.get(`${res}/default/a`)), { v: '1' });
    }));

    test('create on an existing key fails with KeyExists and changes nothing', withStorage(async (s, res) => {
      const first = await s.create(`${res}/default/a`, newObj('a'));
      await rejectsWith(s.create(`${res}/default/a`, newObj('a', { data: { v: '2' } })), 'KeyExists', 'key exists');
      assert.deepEqual(await s.get(`${res}/default/a`), first);
    }));

    test('create with a resourceVersion set is rejected', withStorage(async (s, res) => {
      const obj = newObj('a');
      obj.metadata!.resourceVersion = '5';
      await rejectsWith(s.create(`${res}/default/a`, obj), 'BadRequest', 'resourceVersion should not be set on objects to be created');
    }));

    test('create with ttlSeconds: the object expires (a DELETED event arrives)', { timeout: 60_000 }, withStorage(async (s, res) => {
      const created = await s.create(`${res}/default/ttl`, newObj('ttl'), { ttlSeconds: 1 });
      const w = new EventReader(await s.watch(`${res}/default/ttl`, { resourceVersion: created.metadata!.resourceVersion }));
      try {
        const e = await w.next(30_000);
        assert.equal(e?.type, 'DELETED');
        assert.equal(e?.object.metadata?.name, 'ttl');
        assert.equal(await s.get(`${res}/default/ttl`, { ignoreNotFound: true }), undefined);
      } finally {
        w.stream.stop();
      }
    }));

    test('guaranteedUpdate with ttlSeconds attaches a lease; an update without one drops it', { timeout: 60_000 }, withStorage(async (s, res, o) => {
      const created = await s.create(`${res}/default/ttl`, newObj('ttl'), { ttlSeconds: 3600 });
      const plain = await s.guaranteedUpdate(`${res}/default/ttl`, (c) => ({ ...c, data: { v: '2' } }));
      if (o.kv) {
        const raw = await o.kv.range({ key: Buffer.from(`${res}/default/ttl`) });
        assert.equal(raw.kvs[0].lease, 0n, 'an update without ttlSeconds writes without a lease');
      }
      let seen: StoredObject | undefined;
      const updated = await s.guaranteedUpdate(`${res}/default/ttl`, (c) => ({ ...c, data: { v: '3' } }), {
        ttlSeconds: (obj) => { seen = obj; return 1; },
      });
      assert.deepEqual(dataOf(seen), { v: '3' }, 'the TTL function sees the new object');
      assert.ok(rvOf(updated) > rvOf(plain) && rvOf(plain) > rvOf(created));
      const w = new EventReader(await s.watch(`${res}/default/ttl`, { resourceVersion: updated.metadata!.resourceVersion }));
      try {
        const e = await w.next(30_000);
        assert.equal(e?.type, 'DELETED');
        assert.deepEqual(dataOf(e?.object), { v: '3' });
      } finally {
        w.stream.stop();
      }
    }));

    test('get of a missing key: KeyNotFound, or undefined with ignoreNotFound', withStorage(async (s, res) => {
      await rejectsWith(s.get(`${res}/default/missing`), 'KeyNotFound', `StorageError: key not found, Code: 1, Key: ${res}/default/missing`);
      assert.equal(await s.get(`${res}/default/missing`, { ignoreNotFound: true }), undefined);
    }));

    test('get resourceVersion semantics', withStorage(async (s, res) => {
      const created = await s.create(`${res}/default/a`, newObj('a'));
      const cur = await s.currentRevision();
      const cases: { rv: string; want?: StorageErrorCode }[] = [
        { rv: '' },
        { rv: '0' },
        { rv: String(rvOf(created)) },
        { rv: String(cur) },
        { rv: String(cur + 1000), want: 'TooLargeResourceVersion' },
        { rv: 'abc', want: 'BadRequest' },
      ];
      for (const tc of cases) {
        const p = s.get(`${res}/default/a`, { resourceVersion: tc.rv });
        if (tc.want) await rejectsWith(p, tc.want);
        else assert.deepEqual(await p, created, `rv ${JSON.stringify(tc.rv)}`);
      }
      await rejectsWith(s.get(`${res}/default/a`, { resourceVersion: String(cur + 1000) }), 'TooLargeResourceVersion',
        `Too large resource version: ${cur + 1000}, current: `);
    }));

    test('invalid keys are rejected', withStorage(async (s) => {
      for (const key of ['', '/', '/registry/../x', '/registry/./x', '..', '/registry/x/..']) {
        await rejectsWith(s.get(key), 'BadRequest');
      }
    }));

    // ---- getList ------------------------------------------------------------------------

    test('getList returns every object under the prefix in key order, at the current revision', withStorage(async (s, res) => {
      for (const n of ['c', 'a', 'b']) await s.create(`${res}/default/${n}`, newObj(n));
      await s.create(`${res}/other/d`, newObj('d', {}, 'other'));
      // A sibling whose name shares the prefix without the slash must not show up.
      await s.create(`${res}x/default/z`, newObj('z'));
      const cur = await s.currentRevision();
      const all = await s.getList(`${res}/`);
      assert.deepEqual(all.items.map((i) => i.metadata?.name), ['a', 'b', 'c', 'd']);
      assert.equal(all.resourceVersion, String(cur));
      assert.equal(all.continue, '');
      assert.equal(all.remainingItemCount, undefined);
      for (const i of all.items) assert.ok(rvOf(i) > 0);
      // Without the trailing slash it means the same prefix (children only).
      assert.deepEqual((await s.getList(res)).items.map((i) => i.metadata?.name), ['a', 'b', 'c', 'd']);
      assert.deepEqual((await s.getList(`${res}/default/`)).items.map((i) => i.metadata?.name), ['a', 'b', 'c']);
      assert.deepEqual((await s.getList(`${res}/none/`)).items, []);
    }));

    test('getList resourceVersion and resourceVersionMatch semantics', withStorage(async (s, res) => {
      await s.create(`${res}/default/a`, newObj('a'));
      const atOne = await s.currentRevision();
      await s.guaranteedUpdate(`${res}/default/a`, (o) => ({ ...o, data: { v: '2' } }));
      await s.create(`${res}/default/b`, newObj('b'));
      const cur = await s.currentRevision();
      const cases: {
        name: string;
        rv?: string;
        match?: 'NotOlderThan' | 'Exact';
        limit?: number;
        want?: StorageErrorCode;
        wantRV?: number;
        wantItems?: [string, string][];
      }[] = [
        { name: 'unset: latest', wantRV: cur, wantItems: [['a', '2'], ['b', '1']] },
        { name: '"0": latest', rv: '0', wantRV: cur, wantItems: [['a', '2'], ['b', '1']] },
        { name: 'NotOlderThan an old revision: latest', rv: String(atOne), match: 'NotOlderThan', wantRV: cur, wantItems: [['a', '2'], ['b', '1']] },
        { name: 'NotOlderThan a future revision', rv: String(cur + 100), match: 'NotOlderThan', want: 'TooLargeResourceVersion' },
        { name: 'Exact: the state at that revision', rv: String(atOne), match: 'Exact', wantRV: atOne, wantItems: [['a', '1']] },
        { name: 'Exact a future revision', rv: String(cur + 100), match: 'Exact', want: 'TooLargeResourceVersion' },
        { name: 'legacy rv with limit: exact', rv: String(atOne), limit: 10, wantRV: atOne, wantItems: [['a', '1']] },
        { name: 'legacy rv without limit: not older than', rv: String(atOne), wantRV: cur, wantItems: [['a', '2'], ['b', '1']] },
        { name: 'legacy future rv', rv: String(cur + 100), want: 'TooLargeResourceVersion' },
        { name: 'invalid rv', rv: 'x1', want: 'BadRequest' },
      ];
      for (const tc of cases) {
        const p = s.getList(`${res}/`, { resourceVersion: tc.rv, resourceVersionMatch: tc.match, limit: tc.limit });
        if (tc.want) {
          await rejectsWith(p, tc.want);
          continue;
        }
        const r = await p;
        assert.equal(r.resourceVersion, String(tc.wantRV), tc.name);
        assert.deepEqual(r.items.map((i) => [i.metadata?.name, dataOf(i).v]), tc.wantItems, tc.name);
      }
    }));

    test('getList paging: limit, continue tokens in upstream\'s format, remainingItemCount, one consistent revision', withStorage(async (s, res) => {
      for (const n of ['a', 'b', 'c', 'd', 'e']) await s.create(`${res}/default/${n}`, newObj(n));
      const first = await s.getList(`${res}/`, { limit: 2 });
      assert.deepEqual(first.items.map((i) => i.metadata?.name), ['a', 'b']);
      assert.equal(first.remainingItemCount, 3);
      assert.notEqual(first.continue, '');
      const token = JSON.parse(Buffer.from(first.continue, 'base64url').toString()) as Record<string, unknown>;
      assert.deepEqual(token, { v: 'meta.k8s.io/v1', rv: Number(first.resourceVersion), start: 'default/b\u0000' });

      // Writes after the first page don't show up in later pages: they read at its revision.
      await s.create(`${res}/default/bb`, newObj('bb'));
      await s.guaranteedUpdate(`${res}/default/c`, (o) => ({ ...o, data: { v: '2' } }));
      const second = await s.getList(`${res}/`, { limit: 2, continue: first.continue });
      assert.deepEqual(second.items.map((i) => [i.metadata?.name, dataOf(i).v]), [['c', '1'], ['d', '1']]);
      assert.equal(second.resourceVersion, first.resourceVersion);
      assert.equal(second.remainingItemCount, 1);
      const third = await s.getList(`${res}/`, { limit: 2, continue: second.continue });
      assert.deepEqual(third.items.map((i) => i.metadata?.name), ['e']);
      assert.equal(third.continue, '');
      assert.equal(third.remainingItemCount, undefined);
      assert.equal(third.resourceVersion, first.resourceVersion);

      // A page that ends exactly at the last item has no continue.
      const exact = await s.getList(`${res}/`, { limit: 6 });
      assert.equal(exact.items.length, 6);
      assert.equal(exact.continue, '');

      // A continue token may be combined with resourceVersion "0" (or none), nothing else.
      assert.equal((await s.getList(`${res}/`, { limit: 2, continue: first.continue, resourceVersion: '0' })).items.length, 2);
      await rejectsWith(s.getList(`${res}/`, { limit: 2, continue: first.continue, resourceVersion: first.resourceVersion }), 'BadRequest',
        'specifying resource version is not allowed when using continue');
      for (const bad of ['%%%', 'bm90IGpzb24', Buffer.from(JSON.stringify({ v: 'x', rv: 1, start: 'a' })).toString('base64url'),
        Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 0, start: 'a' })).toString('base64url'),
        Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 1, start: '' })).toString('base64url'),
        Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 1, start: '../../secrets/' })).toString('base64url')]) {
        await rejectsWith(s.getList(`${res}/`, { limit: 2, continue: bad }), 'BadRequest', 'continue');
      }
    }));

    test('getList paging with a predicate fills each page with matching items', withStorage(async (s, res) => {
      for (let i = 0; i < 12; i++) {
        await s.create(`${res}/default/o${String(i).padStart(2, '0')}`, newObj(`o${String(i).padStart(2, '0')}`, { data: { v: String(i % 3 === 0 ? 'match' : 'no') } }));
      }
      const predicate = (o: StoredObject) => dataOf(o).v === 'match';
      const names: string[] = [];
      let cont = '';
      let pages = 0;
      let rv = '';
      do {
        const page = await s.getList(`${res}/`, { limit: 2, continue: cont || undefined, predicate });
        pages++;
        assert.ok(page.items.length <= 2);
        if (page.continue) assert.equal(page.items.length, 2, 'a non-final page is full');
        assert.equal(page.remainingItemCount, undefined, 'no count with a predicate');
        if (rv) assert.equal(page.resourceVersion, rv);
        rv = page.resourceVersion;
        names.push(...page.items.map((i) => i.metadata!.name!));
        cont = page.continue;
      } while (cont && pages < 10);
      assert.deepEqual(names, ['o00', 'o03', 'o06', 'o09']);
      // Without a limit the predicate filters everything at once.
      assert.deepEqual((await s.getList(`${res}/`, { predicate })).items.map((i) => i.metadata?.name), names);
    }));

    test('getList: compacted revisions expire; an expired continue comes with a token for the latest revision', withStorage(async (s, res) => {
      for (const n of ['a', 'b', 'c']) await s.create(`${res}/default/${n}`, newObj(n));
      const first = await s.getList(`${res}/`, { limit: 1 });
      const old = Number(first.resourceVersion);
      await s.guaranteedUpdate(`${res}/default/b`, (o) => ({ ...o, data: { v: '2' } }));
      await s.compact(await s.currentRevision());
      await rejectsWith(s.getList(`${res}/`, { resourceVersion: String(old), resourceVersionMatch: 'Exact' }), 'Expired',
        'The resourceVersion for the provided list is too old.');
      const err = await rejectsWith(s.getList(`${res}/`, { limit: 1, continue: first.continue }), 'Expired',
        'The provided continue parameter is too old to display a consistent list result.');
      const fresh = (err as { continue?: string }).continue;
      assert.ok(fresh, 'the Expired error carries a continue token');
      const token = JSON.parse(Buffer.from(fresh, 'base64url').toString()) as { rv: number; start: string };
      assert.equal(token.rv, -1);
      // Continuing with it reads the latest state from where the old token left off.
      const rest = await s.getList(`${res}/`, { limit: 5, continue: fresh });
      assert.deepEqual(rest.items.map((i) => [i.metadata?.name, dataOf(i).v]), [['b', '2'], ['c', '1']]);
      assert.equal(rest.resourceVersion, String(await s.currentRevision()));
    }));

    test('count counts the objects under a prefix', withStorage(async (s, res) => {
      assert.equal(await s.count(`${res}/`), 0);
      for (const n of ['a', 'b', 'c']) await s.create(`${res}/default/${n}`, newObj(n));
      await s.create(`${res}x/default/a`, newObj('a'));
      assert.equal(await s.count(`${res}/`), 3);
      assert.equal(await s.count(res), 3);
      assert.equal(await s.count(`${res}/default/`), 3);
    }));

    // ---- guaranteedUpdate ---------------------------------------------------------------

    test('guaranteedUpdate writes the result of tryUpdate and stamps the new revision', withStorage(async (s, res) => {
      const created = await s.create(`${res}/default/a`, newObj('a'));
      let seen: StoredObject | undefined;
      const updated = await s.guaranteedUpdate(`${res}/default/a`, (cur) => {
        seen = structuredClone(cur);
        cur.data = { v: '2' };
        return cur;
      });
      assert.deepEqual(seen, created, 'tryUpdate receives the current object with its resourceVersion');
      assert.ok(rvOf(updated) > rvOf(created));
      assert.equal(rvOf(updated), await s.currentRevision());
      assert.deepEqual(dataOf(updated), { v: '2' });
      assert.deepEqual(await s.get(`${res}/default/a`), updated);
    }));

    test('guaranteedUpdate with no change writes nothing and keeps the resourceVersion', withStorage(async (s, res) => {
      const created = await s.create(`${res}/default/a`, newObj('a'));
      const rev = await s.currentRevision();
      const same = await s.guaranteedUpdate(`${res}/default/a`, (cur) => cur);
      assert.deepEqual(same, created);
      assert.equal(await s.currentRevision(), rev);
      // The resourceVersion the caller leaves on the object is not part of the comparison.
      const again = await s.guaranteedUpdate(`${res}/default/a`, (cur) => ({ ...cur, metadata: { ...cur.metadata, resourceVersion: '1' } }));
      assert.equal(rvOf(again), rvOf(created));
      assert.equal(await s.currentRevision(), rev);
    }));

    test('guaranteedUpdate on a missing key: KeyNotFound, or a create with ignoreNotFound', withStorage(async (s, res) => {
      await rejectsWith(s.guaranteedUpdate(`${res}/default/a`, (cur) => cur), 'KeyNotFound');
      let seen: StoredObject | undefined;
      const created = await s.guaranteedUpdate(`${res}/default/a`, (cur) => {
        seen = cur;
        return newObj('a');
      }, { ignoreNotFound: true });
      assert.deepEqual(seen, {});
      assert.equal(rvOf(created), await s.currentRevision());
      assert.deepEqual(await s.get(`${res}/default/a`), created);
    }));

    test('guaranteedUpdate preconditions', withStorage(async (s, res) => {
      const created = await s.create(`${res}/default/a`, newObj('a'));
      const rv = created.metadata!.resourceVersion!;
      const cases: { name: string; pre: { uid?: string; resourceVersion?: string }; want?: string }[] = [
        { name: 'matching uid', pre: { uid: 'uid-a' } },
        { name: 'uid mismatch', pre: { uid: 'other' }, want: 'Precondition failed: UID in precondition: other, UID in object meta: uid-a' },
        { name: 'resourceVersion mismatch', pre: { resourceVersion: '1' }, want: 'Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: ' },
      ];
      let current = rv;
      for (const tc of cases) {
        const p = s.guaranteedUpdate(`${res}/default/a`, (cur) => ({ ...cur, data: { v: tc.name } }), { preconditions: tc.pre });
        if (tc.want) {
          const err = await rejectsWith(p, 'InvalidObj', tc.want);
          assert.match((err as Error).message, /^StorageError: invalid object, Code: 4, Key: .*, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed/);
        } else {
          current = (await p).metadata!.resourceVersion!;
        }
      }
      const ok = await s.guaranteedUpdate(`${res}/default/a`, (cur) => ({ ...cur, data: { v: 'rv' } }), { preconditions: { resourceVersion: current } });
      assert.deepEqual(dataOf(ok), { v: 'rv' });
    }));

    test('guaranteedUpdate passes an error thrown by tryUpdate through unchanged', withStorage(async (s, res) => {
      await s.create(`${res}/default/a`, newObj('a'));
      const boom = new Error('boom');
      await assert.rejects(s.guaranteedUpdate(`${res}/default/a`, () => { throw boom; }), (err) => err === boom);
    }));

    test('guaranteedUpdate retries on a concurrent write and applies tryUpdate to the new state', withStorage(async (s, res) => {
      await s.create(`${res}/default/a`, newObj('a', { data: { v: '1', other: '' } }));
      let calls = 0;
      const out = await s.guaranteedUpdate(`${res}/default/a`, async (cur) => {
        calls++;
        if (calls === 1) {
          // Someone else writes between our read and our write.
          await s.guaranteedUpdate(`${res}/default/a`, (c) => ({ ...c, data: { ...dataOf(c), other: 'theirs' } }));
        }
        return { ...cur, data: { ...dataOf(cur), v: 'mine' } };
      });
      assert.equal(calls, 2);
      assert.deepEqual(dataOf(out), { v: 'mine', other: 'theirs' });
      assert.deepEqual(await s.get(`${res}/default/a`), out);
    }));

    test('guaranteedUpdate with a stale cachedExistingObject re-reads and succeeds', withStorage(async (s, res) => {
      const stale = await s.create(`${res}/default/a`, newObj('a'));
      await s.guaranteedUpdate(`${res}/default/a`, (c) => ({ ...c, data: { v: '2', x: 'y' } }));
      const out = await s.guaranteedUpdate(`${res}/default/a`, (cur) => ({ ...cur, data: { ...dataOf(cur), v: '3' } }), { cachedExistingObject: stale });
      assert.deepEqual(dataOf(out), { v: '3', x: 'y' });
      // A no-op against a stale cache must not return the stale object.
      const current = await s.get(`${res}/default/a`);
      const noop = await s.guaranteedUpdate(`${res}/default/a`, (cur) => cur, { cachedExistingObject: stale });
      assert.deepEqual(noop, current);
    }));

    test('concurrent guaranteedUpdates all apply (no lost update)', withStorage(async (s, res) => {
      await s.create(`${res}/default/counter`, newObj('counter', { data: { n: '0' } }));
      await Promise.all(Array.from({ length: 10 }, () => s.guaranteedUpdate(`${res}/default/counter`, (cur) => ({
        ...cur, data: { n: String(Number(dataOf(cur).n) + 1) },
      }))));
      assert.deepEqual(dataOf(await s.get(`${res}/default/counter`)), { n: '10' });
    }));

    // ---- delete -------------------------------------------------------------------------

    test('delete returns the last state with the deletion\'s revision', withStorage(async (s, res) => {
      const created = await s.create(`${res}/default/a`, newObj('a'));
      const deleted = await s.delete(`${res}/default/a`);
      assert.equal(deleted.metadata?.name, 'a');
      assert.deepEqual(deleted.data, created.data);
      assert.ok(rvOf(deleted) > rvOf(created));
      assert.equal(rvOf(deleted), await s.currentRevision());
      await rejectsWith(s.get(`${res}/default/a`), 'KeyNotFound');
      await rejectsWith(s.delete(`${res}/default/a`), 'KeyNotFound');
    }));

    test('delete preconditions and validate', withStorage(async (s, res) => {
      await s.create(`${res}/default/a`, newObj('a'));
      await rejectsWith(s.delete(`${res}/default/a`, { preconditions: { uid: 'nope' } }), 'InvalidObj',
        'Precondition failed: UID in precondition: nope, UID in object meta: uid-a');
      await rejectsWith(s.delete(`${res}/default/a`, { preconditions: { resourceVersion: '1' } }), 'InvalidObj',
        'Precondition failed: ResourceVersion in precondition: 1');
      const veto = new Error('not allowed');
      await assert.rejects(s.delete(`${res}/default/a`, { validate: () => { throw veto; } }), (err) => err === veto);
      assert.ok(await s.get(`${res}/default/a`), 'still there');
      let validated: StoredObject | undefined;
      await s.delete(`${res}/default/a`, { preconditions: { uid: 'uid-a' }, validate: (cur) => { validated = cur; } });
      assert.equal(validated?.metadata?.name, 'a');
      assert.equal(await s.get(`${res}/default/a`, { ignoreNotFound: true }), undefined);
    }));

    test('delete retries when the object changes between read and delete', withStorage(async (s, res) => {
      await s.create(`${res}/default/a`, newObj('a'));
      let calls = 0;
      const deleted = await s.delete(`${res}/default/a`, {
        validate: async () => {
          calls++;
          if (calls === 1) await s.guaranteedUpdate(`${res}/default/a`, (c) => ({ ...c, data: { v: 'late' } }));
        },
      });
      assert.equal(calls, 2);
      assert.deepEqual(dataOf(deleted), { v: 'late' }, 'the returned state is the one actually deleted');
    }));

    test('delete with a stale cachedExistingObject re-reads before giving up', withStorage(async (s, res) => {
      const stale = await s.create(`${res}/default/a`, newObj('a'));
      await s.guaranteedUpdate(`${res}/default/a`, (c) => ({ ...c, metadata: { ...c.metadata, uid: 'uid-new' } }));
      const deleted = await s.delete(`${res}/default/a`, { preconditions: { uid: 'uid-new' }, cachedExistingObject: stale });
      assert.equal(deleted.metadata?.uid, 'uid-new');
    }));

    // ---- watch --------------------------------------------------------------------------

    test('watch from a resourceVersion delivers every change after it, in order', withStorage(async (s, res) => {
      const a = await s.create(`${res}/default/a`, newObj('a'));
      const w = new EventReader(await s.watch(`${res}/`, { recursive: true, resourceVersion: a.metadata!.resourceVersion }));
      try {
        const b = await s.create(`${res}/default/b`, newObj('b'));
        const a2 = await s.guaranteedUpdate(`${res}/default/a`, (c) => ({ ...c, data: { v: '2' } }));
        const del = await s.delete(`${res}/default/b`);
        const events = await w.take(3);
        assert.deepEqual(summary(events), [['ADDED', 'b', '1'], ['MODIFIED', 'a', '2'], ['DELETED', 'b', '1']]);
        assert.deepEqual(events[0].object, b);
        assert.deepEqual(events[1].object, a2);
        assert.deepEqual(events[2].object, del, 'DELETED carries the last state with the deletion revision');
      } finally {
        w.stream.stop();
      }
    }));

    test('watch from an older resourceVersion replays history after it', withStorage(async (s, res) => {
      const a = await s.create(`${res}/default/a`, newObj('a'));
      await s.guaranteedUpdate(`${res}/default/a`, (c) => ({ ...c, data: { v: '2' } }));
      await s.guaranteedUpdate(`${res}/default/a`, (c) => ({ ...c, data: { v: '3' } }));
      const w = new EventReader(await s.watch(`${res}/default/a`, { resourceVersion: a.metadata!.resourceVersion }));
      try {
        assert.deepEqual(summary(await w.take(2)), [['MODIFIED', 'a', '2'], ['MODIFIED', 'a', '3']]);
      } finally {
        w.stream.stop();
      }
    }));

    test('watch with resourceVersion "" or "0" sends the current state as ADDED, then changes', withStorage(async (s, res) => {
      await s.create(`${res}/default/a`, newObj('a'));
      await s.create(`${res}/default/b`, newObj('b'));
      for (const rv of ['', '0', undefined]) {
        const w = new EventReader(await s.watch(`${res}/`, { recursive: true, resourceVersion: rv }));
        try {
          const initial = await w.take(2);
          assert.deepEqual(summary(initial), [['ADDED', 'a', '1'], ['ADDED', 'b', '1']]);
          const name = `c${rv ?? 'u'}`;
          await s.create(`${res}/default/${name}`, newObj(name));
          await w.expectOnly('ADDED', name);
          await s.delete(`${res}/default/${name}`);
        } finally {
          w.stream.stop();
        }
      }
    }));

    test('watch with sendInitialEvents false skips the initial state', withStorage(async (s, res) => {
      await s.create(`${res}/default/a`, newObj('a'));
      const w = new EventReader(await s.watch(`${res}/`, { recursive: true, resourceVersion: '0', sendInitialEvents: false }));
      try {
        await s.create(`${res}/default/b`, newObj('b'));
        await w.expectOnly('ADDED', 'b');
      } finally {
        w.stream.stop();
      }
    }));

    test('watch-list: sendInitialEvents with bookmarks ends the initial state with an annotated BOOKMARK', withStorage(async (s, res) => {
      await s.create(`${res}/default/a`, newObj('a'));
      const rev = await s.currentRevision();
      const w = new EventReader(await s.watch(`${res}/`, { recursive: true, sendInitialEvents: true, allowBookmarks: true }));
      try {
        const [added, bookmark] = await w.take(2);
        assert.equal(added.type, 'ADDED');
        assert.equal(bookmark.type, 'BOOKMARK');
        assert.equal(bookmark.object.metadata?.resourceVersion, String(rev));
        assert.deepEqual(bookmark.object.metadata?.annotations, { 'k8s.io/initial-events-end': 'true' });
      } finally {
        w.stream.stop();
      }
      await rejectsWith(s.watch(`${res}/`, { recursive: true, resourceVersion: String(rev), sendInitialEvents: true }), 'InvalidError');
    }));

    test('watch on a single key sees only that key; a recursive watch only its prefix', withStorage(async (s, res) => {
      const start = String(await s.currentRevision());
      const one = new EventReader(await s.watch(`${res}/default/a`, { resourceVersion: start }));
      const tree = new EventReader(await s.watch(`${res}/default/`, { recursive: true, resourceVersion: start }));
      try {
        await s.create(`${res}/default/ab`, newObj('ab'));
        await s.create(`${res}/defaultx/a`, newObj('a', {}, 'defaultx'));
        await s.create(`${res}/default/a`, newObj('a'));
        await one.expectOnly('ADDED', 'a');
        await tree.expectOnly('ADDED', 'ab');
        await tree.expectOnly('ADDED', 'a');
      } finally {
        one.stream.stop();
        tree.stream.stop();
      }
    }));

    test('watch with a predicate turns MODIFIED into ADDED/DELETED as objects start/stop matching', withStorage(async (s, res) => {
      const predicate = (o: StoredObject) => dataOf(o).v === 'yes';
      await s.create(`${res}/default/marker0`, newObj('marker0'));
      const w = new EventReader(await s.watch(`${res}/`, { recursive: true, resourceVersion: String(await s.currentRevision()), predicate }));
      try {
        const set = (name: string, v: string) => s.guaranteedUpdate(`${res}/default/${name}`, (c) => ({ ...c, data: { v } }), { ignoreNotFound: true })
          .then((o) => { o.metadata = o.metadata ?? {}; return o; });
        await s.create(`${res}/default/x`, newObj('x', { data: { v: 'no' } })); // not matching: nothing
        await set('x', 'yes'); // starts matching: ADDED
        await set('x', 'yes'); // no-op: nothing written
        await s.guaranteedUpdate(`${res}/default/x`, (c) => ({ ...c, data: { v: 'yes' }, extra: '1' })); // still matching: MODIFIED
        await set('x', 'no'); // stops matching: DELETED (with the old object)
        await set('x', 'nope'); // still not matching: nothing
        await s.delete(`${res}/default/x`); // deleted while not matching: nothing
        await s.create(`${res}/default/y`, newObj('y', { data: { v: 'yes' } })); // created matching: ADDED
        await s.delete(`${res}/default/y`); // deleted while matching: DELETED
        const events = await w.take(5);
        assert.deepEqual(summary(events), [
          ['ADDED', 'x', 'yes'],
          ['MODIFIED', 'x', 'yes'],
          ['DELETED', 'x', 'yes'],
          ['ADDED', 'y', 'yes'],
          ['DELETED', 'y', 'yes'],
        ]);
        // The DELETED for "stopped matching" carries the new revision.
        assert.ok(rvOf(events[2].object) > rvOf(events[1].object));
      } finally {
        w.stream.stop();
      }
    }));

    test('watch bookmarks: requestProgress yields a BOOKMARK at the current revision', withStorage(async (s, res) => {
      const w = new EventReader(await s.watch(`${res}/`, { recursive: true, resourceVersion: String(await s.currentRevision()), allowBookmarks: true }));
      try {
        const a = await s.create(`${res}/default/a`, newObj('a'));
        await w.expectOnly('ADDED', 'a');
        let bookmark: WatchEvent | undefined;
        for (let i = 0; i < 20 && !bookmark; i++) {
          w.stream.requestProgress();
          try {
            const e = await w.next(1000);
            if (e?.type === 'BOOKMARK') bookmark = e;
          } catch {
            // no answer yet; ask again
          }
        }
        assert.ok(bookmark, 'a BOOKMARK arrived');
        assert.ok(rvOf(bookmark.object) >= rvOf(a));
        assert.deepEqual(Object.keys(bookmark.object), ['metadata']);
      } finally {
        w.stream.stop();
      }
    }));

    test('watch without allowBookmarks never sends BOOKMARKs', withStorage(async (s, res) => {
      const w = new EventReader(await s.watch(`${res}/`, { recursive: true, resourceVersion: String(await s.currentRevision()) }));
      try {
        w.stream.requestProgress();
        await s.create(`${res}/default/a`, newObj('a'));
        w.stream.requestProgress();
        await s.create(`${res}/default/b`, newObj('b'));
        const events = await w.take(2);
        assert.deepEqual(summary(events), [['ADDED', 'a', '1'], ['ADDED', 'b', '1']]);
      } finally {
        w.stream.stop();
      }
    }));

    test('watch from a compacted resourceVersion: one ERROR (Expired), then the stream ends', withStorage(async (s, res) => {
      const a = await s.create(`${res}/default/a`, newObj('a'));
      await s.guaranteedUpdate(`${res}/default/a`, (c) => ({ ...c, data: { v: '2' } }));
      await s.guaranteedUpdate(`${res}/default/a`, (c) => ({ ...c, data: { v: '3' } }));
      const cur = await s.currentRevision();
      await s.compact(cur);
      const w = new EventReader(await s.watch(`${res}/`, { recursive: true, resourceVersion: String(rvOf(a) - 1) }));
      const e = await w.next();
      assert.equal(e?.type, 'ERROR');
      assert.ok(isStorageError(e?.error, 'Expired'), `got ${e?.error?.code}`);
      assert.equal(e?.error?.message, 'The resourceVersion for the provided watch is too old.');
      assert.equal(e?.error?.compactRevision, cur);
      assert.equal(await w.next(), undefined, 'the stream ends after the error');
      // Watching from the compaction revision itself is fine.
      const ok = new EventReader(await s.watch(`${res}/`, { recursive: true, resourceVersion: String(cur) }));
      try {
        await s.create(`${res}/default/b`, newObj('b'));
        await ok.expectOnly('ADDED', 'b');
      } finally {
        ok.stream.stop();
      }
    }));

    test('watch ends on stop() and on abort', withStorage(async (s, res) => {
      const w = new EventReader(await s.watch(`${res}/`, { recursive: true }));
      const pending = w.next();
      w.stream.stop();
      assert.equal(await pending, undefined);
      const ac = new AbortController();
      const w2 = new EventReader(await s.watch(`${res}/`, { recursive: true }, ac.signal));
      await s.create(`${res}/default/a`, newObj('a'));
      await w2.expectOnly('ADDED', 'a');
      ac.abort();
      assert.equal(await w2.next(), undefined);
      const pre = new AbortController();
      pre.abort();
      const w3 = new EventReader(await s.watch(`${res}/`, { recursive: true }, pre.signal));
      assert.equal(await w3.next(), undefined);
    }));

    test('leaving a for-await loop over a watch stops it', withStorage(async (s, res) => {
      const w = await s.watch(`${res}/`, { recursive: true });
      await s.create(`${res}/default/a`, newObj('a'));
      for await (const e of w) {
        assert.equal(e.type, 'ADDED');
        break;
      }
      // Stopped: a new iteration ends at once instead of waiting for events.
      const r = new EventReader(w);
      await s.create(`${res}/default/b`, newObj('b'));
      assert.equal(await r.next(), undefined);
    }));

    test('many watches run independently', withStorage(async (s, res) => {
      const rv = String(await s.currentRevision());
      const readers = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        s.watch(`${res}/ns${i % 4}/`, { recursive: true, resourceVersion: rv }).then((st) => new EventReader(st))));
      try {
        for (let i = 0; i < 4; i++) await s.create(`${res}/ns${i}/o`, newObj('o', { data: { v: String(i) } }, `ns${i}`));
        for (let i = 0; i < readers.length; i++) {
          const e = await readers[i].next();
          assert.deepEqual([e?.type, e?.object.metadata?.namespace], ['ADDED', `ns${i % 4}`]);
        }
      } finally {
        for (const r of readers) r.stream.stop();
      }
    }));

    // ---- revision / compaction ----------------------------------------------------------

    test('currentRevision moves with every write and only then', withStorage(async (s, res) => {
      const r0 = await s.currentRevision();
      const a = await s.create(`${res}/default/a`, newObj('a'));
      assert.equal(await s.currentRevision(), rvOf(a));
      assert.ok(rvOf(a) > r0);
      await s.get(`${res}/default/a`);
      await s.getList(`${res}/`);
      assert.equal(await s.currentRevision(), rvOf(a));
    }));

    test('compact is idempotent and rejects a future revision', withStorage(async (s, res) => {
      await s.create(`${res}/default/a`, newObj('a'));
      const cur = await s.currentRevision();
      await s.compact(cur);
      await s.compact(cur);
      await s.compact(cur - 1);
      await rejectsWith(s.compact(cur + 1000), 'TooLargeResourceVersion');
      assert.ok(await s.get(`${res}/default/a`), 'compaction keeps current state');
    }));
  });
}
