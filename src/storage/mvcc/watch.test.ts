import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { MvccStore } from './store.js';
import { b, FakeWal, openMem, settle, until, WatchRecorder } from './testing.js';
import type { WatchResponse } from './types.js';

test('watch from now sees only later changes; single key vs prefix', async () => {
  const { store } = await openMem();
  await store.put({ key: b('/a/1'), value: b('old') });
  const one = new WatchRecorder(store, { key: b('/a/1') });
  const prefix = new WatchRecorder(store, { key: b('/a/'), rangeEnd: b('/a0') });
  const all = new WatchRecorder(store, { key: b('\0'), rangeEnd: b('\0') });
  await store.put({ key: b('/a/1'), value: b('x') });
  await store.put({ key: b('/a/2'), value: b('y') });
  await store.put({ key: b('/b'), value: b('z') });
  await store.deleteRange({ key: b('/a/1') });
  assert.deepEqual(await all.waitEvents(4), ['PUT /a/1=x@3', 'PUT /a/2=y@4', 'PUT /b=z@5', 'DELETE /a/1@6']);
  assert.deepEqual(await prefix.waitEvents(3), ['PUT /a/1=x@3', 'PUT /a/2=y@4', 'DELETE /a/1@6']);
  assert.deepEqual(await one.waitEvents(2), ['PUT /a/1=x@3', 'DELETE /a/1@6']);
  const del = one.responses.at(-1)!.events[0]!;
  assert.deepEqual(del.kv, { key: b('/a/1'), modRevision: 6, createRevision: 0, version: 0, value: Buffer.alloc(0), lease: 0n });
  assert.equal(one.responses.at(-1)!.header.revision, 6);
  await store.close();
});

test('watch from a past revision replays history, then continues live, in order', async () => {
  const { store } = await openMem();
  for (let i = 0; i < 5; i++) await store.put({ key: b(`k${i}`), value: b(String(i)) }); // revs 2..6
  const w = new WatchRecorder(store, { key: b('k'), rangeEnd: b('l'), startRevision: 4 });
  await store.put({ key: b('k9'), value: b('9') }); // 7
  assert.deepEqual(await w.waitEvents(4), ['PUT k2=2@4', 'PUT k3=3@5', 'PUT k4=4@6', 'PUT k9=9@7']);
  await store.close();
});

test('prevKv, noPut and noDelete', async () => {
  const { store } = await openMem();
  await store.put({ key: b('k'), value: b('1') });
  const prev: WatchResponse[] = [];
  store.watch({ key: b('k'), prevKv: true }, (r) => void prev.push(r));
  const noPut = new WatchRecorder(store, { key: b('k'), noPut: true });
  const noDel = new WatchRecorder(store, { key: b('k'), noDelete: true });
  await store.put({ key: b('k'), value: b('2') });
  await store.deleteRange({ key: b('k') });
  await store.put({ key: b('k'), value: b('3') });
  await until(() => prev.flatMap((r) => r.events).length === 3);
  const evs = prev.flatMap((r) => r.events);
  assert.deepEqual(evs.map((e) => e.prevKv?.value.toString()), ['1', '2', undefined]);
  assert.deepEqual(await noPut.waitEvents(1), ['DELETE k@4']);
  assert.deepEqual(await noDel.waitEvents(2), ['PUT k=2@3', 'PUT k=3@5']);
  await settle();
  assert.equal(noPut.events().length, 1);
  await store.close();
});

test('one txn = one response; deliveries are never synchronous with the write', async () => {
  const { store } = await openMem();
  const w = new WatchRecorder(store, { key: b('\0'), rangeEnd: b('\0') });
  const p = store.txn({ compare: [], success: [{ put: { key: b('a'), value: b('1') } }, { put: { key: b('b'), value: b('2') } }], failure: [] });
  assert.equal(w.responses.length, 0);
  await p;
  await w.waitEvents(2);
  assert.equal(w.responses.length, 1);
  assert.deepEqual(w.events(), ['PUT a=1@2', 'PUT b=2@2']);
  await store.close();
});

test('events and reads wait for durability', async () => {
  const fake = new FakeWal();
  const store = await MvccStore.open({ dataDir: '/nonexistent-fake', openWal: fake.opener(), logger: silentLogger(), clock: new FakeClock() });
  const w = new WatchRecorder(store, { key: b('k') });
  fake.holdDurability();
  let done = false;
  const p = store.put({ key: b('k'), value: b('1') }).then(() => (done = true));
  // Later writes already see the in-memory state (the compare holds)...
  const t = store.txn({ compare: [{ key: b('k'), target: 'VERSION', result: 'EQUAL', version: 1 }], success: [{ put: { key: b('k2'), value: b('x') } }], failure: [] });
  await settle();
  assert.equal(done, false);
  assert.equal(w.responses.length, 0, 'no event before the record is durable');
  assert.equal((await store.range({ key: b('k') })).count, 0, 'reads see durable revisions only');
  assert.equal(store.status().revision, 1);
  fake.releaseDurability();
  await p;
  assert.equal((await t).succeeded, true);
  assert.deepEqual(await w.waitEvents(1), ['PUT k=1@2']);
  assert.equal((await store.range({ key: b('k2') })).count, 1);
  await store.close();
});

test('watch from a compacted revision is cancelled with the compact revision', async () => {
  const { store } = await openMem();
  for (let i = 0; i < 5; i++) await store.put({ key: b('k'), value: b(String(i)) }); // 2..6
  await store.compact({ revision: 4 });
  const gone = new WatchRecorder(store, { key: b('k'), startRevision: 3 });
  await until(() => gone.responses.length === 1);
  assert.deepEqual(gone.responses[0], { header: { revision: 6 }, events: [], compactRevision: 4, canceled: true });
  // startRevision == compact revision is still served (from the kept revision).
  const ok = new WatchRecorder(store, { key: b('k'), startRevision: 4 });
  assert.deepEqual(await ok.waitEvents(3), ['PUT k=2@4', 'PUT k=3@5', 'PUT k=4@6']);
  await settle();
  assert.equal(gone.responses.length, 1);
  await store.close();
});

test('a watcher with a future start revision gets nothing before it', async () => {
  const { store } = await openMem();
  const w = new WatchRecorder(store, { key: b('k'), startRevision: 4 });
  for (let i = 0; i < 4; i++) await store.put({ key: b('k'), value: b(String(i)) }); // 2..5
  assert.deepEqual(await w.waitEvents(2), ['PUT k=2@4', 'PUT k=3@5']);
  await store.close();
});

test('cancel stops deliveries', async () => {
  const { store } = await openMem();
  const w = new WatchRecorder(store, { key: b('k') });
  await store.put({ key: b('k'), value: b('1') });
  await w.waitEvents(1);
  w.watcher.cancel();
  w.watcher.cancel();
  await store.put({ key: b('k'), value: b('2') });
  await settle();
  assert.equal(w.events().length, 1);
  await store.close();
});

test('progress notifications: periodic when idle, and on request', async () => {
  const { store, clock } = await openMem({ progressNotifyIntervalMs: 60_000 });
  const w = new WatchRecorder(store, { key: b('k'), progressNotify: true });
  const quiet = new WatchRecorder(store, { key: b('k') });
  await store.put({ key: b('other'), value: b('1') });
  clock.step(60_000);
  await until(() => w.responses.length === 1);
  assert.deepEqual(w.responses[0], { header: { revision: 2 }, events: [] });
  // An interval with events sends no progress notification.
  await store.put({ key: b('k'), value: b('1') });
  await w.waitEvents(1);
  clock.step(60_000);
  await settle();
  assert.equal(w.responses.length, 2);
  clock.step(60_000);
  await until(() => w.responses.length === 3);
  assert.deepEqual(w.responses[2], { header: { revision: 3 }, events: [] });
  quiet.watcher.requestProgress();
  await until(() => quiet.responses.length === 2);
  assert.deepEqual(quiet.responses[1], { header: { revision: 3 }, events: [] });
  await store.close();
});

test('catch-up from a long history comes in batches without splitting a revision', async () => {
  const { store } = await openMem();
  const ops = (i: number) => [0, 1, 2].map((j) => ({ put: { key: b(`k${i}-${j}`), value: b('v') } }));
  for (let i = 0; i < 1500; i++) await store.txn({ compare: [], success: ops(i), failure: [] }); // 3 events per revision
  const w = new WatchRecorder(store, { key: b('k'), rangeEnd: b('l'), startRevision: 1 });
  await w.waitEvents(4500);
  assert.ok(w.responses.length > 1, 'more than one batch');
  const seen = new Set<number>();
  let last = 0;
  for (const r of w.responses) {
    const revs = [...new Set(r.events.map((e) => e.kv.modRevision))];
    for (const rev of revs) {
      assert.ok(!seen.has(rev), `revision ${rev} split across responses`);
      assert.ok(rev > last);
      seen.add(rev);
      last = rev;
    }
    assert.ok(r.header.revision >= last);
  }
  assert.equal(seen.size, 1500);
  await store.close();
});

test('a slow watcher never blocks writers and later catches up in order', async () => {
  const { store } = await openMem({ watchBufferEvents: 16 });
  const got: string[] = [];
  let release!: () => void;
  let blocked: Promise<void> | undefined = new Promise<void>((r) => (release = r));
  store.watch({ key: b('k'), rangeEnd: b('l') }, async (resp) => {
    for (const e of resp.events) got.push(`${e.kv.key.toString()}@${e.kv.modRevision}`);
    if (blocked) await blocked;
  });
  const fast = new WatchRecorder(store, { key: b('k'), rangeEnd: b('l') });
  const n = 2000;
  for (let i = 0; i < n; i++) await store.put({ key: b(`k${i % 10}`), value: b(String(i)) });
  await fast.waitEvents(n);
  assert.ok(got.length < n, 'the slow watcher is still behind');
  blocked = undefined;
  release();
  await until(() => got.length === n, 'slow watcher caught up');
  assert.deepEqual(got, fast.events().map((e) => e.replace(/^PUT (k\d)=\d+@/, '$1@')));
  await store.close();
});

test('many watchers on one key each get every event', async () => {
  const { store } = await openMem();
  const ws = Array.from({ length: 200 }, () => new WatchRecorder(store, { key: b('hot') }));
  for (let i = 0; i < 5; i++) await store.put({ key: b('hot'), value: b(String(i)) });
  for (const w of ws) assert.equal((await w.waitEvents(5)).length, 5);
  await store.close();
});

test('stress: watchers started at random points under concurrent writes see exactly the history from their start', async () => {
  const { store } = await openMem({ watchBufferEvents: 64 });
  const N = 3000;
  let next = 0;
  const watchers: { start: number; rec: WatchRecorder }[] = [];
  const writer = async () => {
    while (next < N) {
      const i = next++;
      if (i % 7 === 0) await store.deleteRange({ key: b(`s${(i * 13) % 50}`) });
      else await store.put({ key: b(`s${(i * 13) % 50}`), value: b(String(i)) });
      if (i % 250 === 0) {
        const cur = store.status().revision;
        const start = Math.max(1, cur - (i % 500));
        watchers.push({ start, rec: new WatchRecorder(store, { key: b('s'), rangeEnd: b('t'), startRevision: start }) });
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, writer));
  const final = store.status().revision;
  // The reference: one watcher from the beginning, after the fact.
  const all = new WatchRecorder(store, { key: b('s'), rangeEnd: b('t'), startRevision: 1 });
  await until(() => all.responses.some((r) => r.header.revision >= final));
  const reference = all.responses.flatMap((r) => r.events.map((e) => ({ rev: e.kv.modRevision, s: `${e.type} ${e.kv.key}=${e.kv.value}` })));
  for (const { start, rec } of watchers) {
    await until(() => rec.responses.some((r) => r.header.revision >= final), `watcher from ${start}`);
    const got = rec.responses.flatMap((r) => r.events.map((e) => `${e.type} ${e.kv.key}=${e.kv.value}`));
    assert.deepEqual(got, reference.filter((e) => e.rev >= start).map((e) => e.s), `watcher from ${start}`);
  }
  assert.ok(reference.length > N / 2, "deletes of missing keys produce no event; the rest do");
  await store.close();
});

test('a lagging watcher whose catch-up point gets compacted is cancelled with ErrCompacted', async () => {
  const { store } = await openMem({ watchBufferEvents: 4 });
  const got: WatchResponse[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  store.watch({ key: b('k'), rangeEnd: b('l') }, async (resp) => {
    got.push(resp);
    await gate;
  });
  for (let i = 0; i < 50; i++) await store.put({ key: b(`k${i % 3}`), value: b(String(i)) }); // 2..51
  await store.compact({ revision: 40 });
  release();
  await until(() => got.some((r) => r.canceled));
  const last = got.at(-1)!;
  assert.deepEqual([last.canceled, last.compactRevision, last.events.length], [true, 40, 0]);
  const delivered = got.flatMap((r) => r.events.map((e) => e.kv.modRevision));
  assert.deepEqual(delivered, delivered.slice().sort((x, y) => x - y), 'in order up to the cancellation');
  assert.ok(delivered.length < 50);
  await store.close();
});

test('requestProgress on a watcher still catching up answers once it is in sync', async () => {
  const { store } = await openMem();
  for (let i = 0; i < 3000; i++) await store.put({ key: b('k'), value: b(String(i)) });
  const w = new WatchRecorder(store, { key: b('k'), startRevision: 1 });
  w.watcher.requestProgress();
  await until(() => w.responses.some((r) => r.events.length === 0));
  const idx = w.responses.findIndex((r) => r.events.length === 0);
  assert.equal(w.events().length, 3000, 'every event came before the progress notification');
  assert.equal(w.responses[idx]!.header.revision, 3001);
  await store.close();
});
