import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { MvccStore } from '../mvcc/index.js';
import { Compactor, parseRetention, REVISION_CHECK_INTERVAL_MS } from './compactor.js';

const MIN = 60_000;

const retentions: Array<{ mode: 'periodic' | 'revision'; in: string; want: number | RegExp }> = [
  { mode: 'periodic', in: '0', want: 0 },
  { mode: 'periodic', in: '1', want: 60 * MIN },
  { mode: 'periodic', in: '30m', want: 30 * MIN },
  { mode: 'periodic', in: '1h30m', want: 90 * MIN },
  { mode: 'periodic', in: '90s', want: 90_000 },
  { mode: 'periodic', in: 'soon', want: /invalid auto-compaction-retention/ },
  { mode: 'revision', in: '1000', want: 1000 },
  { mode: 'revision', in: '1h', want: /want a revision count/ },
];

for (const tc of retentions) {
  test(`parseRetention(${tc.mode}, ${JSON.stringify(tc.in)})`, () => {
    if (tc.want instanceof RegExp) assert.throws(() => parseRetention(tc.mode, tc.in), tc.want);
    else assert.equal(parseRetention(tc.mode, tc.in), tc.want);
  });
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

async function setup(): Promise<{ store: MvccStore; clock: FakeClock; put: (n: number) => Promise<void> }> {
  const clock = new FakeClock();
  const store = await MvccStore.open({ clock, logger: silentLogger() });
  let i = 0;
  const put = async (n: number) => {
    for (let k = 0; k < n; k++) await store.put({ key: Buffer.from(`k${i++}`), value: Buffer.from('v') });
  };
  return { store, clock, put };
}

test('revision mode: every 5 minutes, keeps the last `retention` revisions', async () => {
  const { store, clock, put } = await setup();
  await put(10); // revision 11
  const c = new Compactor({ kv: store, mode: 'revision', retention: 3, clock, logger: silentLogger() });
  c.start();
  clock.step(REVISION_CHECK_INTERVAL_MS - 1);
  await settle();
  assert.equal(store.status().compactRevision, 0);
  clock.step(1);
  await settle();
  assert.equal(store.status().compactRevision, 8);
  await put(4); // revision 15
  clock.step(REVISION_CHECK_INTERVAL_MS);
  await settle();
  assert.equal(store.status().compactRevision, 12);
  c.stop();
  await store.close();
});

test('periodic mode: compacts to the revision seen `retention` ago, then every retention', async () => {
  const { store, clock, put } = await setup();
  await put(5); // revision 6, sampled at start
  const c = new Compactor({ kv: store, mode: 'periodic', retention: 10 * MIN, clock, logger: silentLogger() });
  c.start();
  for (let minute = 1; minute <= 9; minute++) {
    await put(1);
    clock.step(MIN);
    await settle();
  }
  assert.equal(store.status().compactRevision, 0, 'nothing before retention has passed');
  const revAt10 = store.status().revision;
  clock.step(MIN);
  await settle();
  assert.equal(store.status().compactRevision, 6);
  for (let minute = 11; minute <= 20; minute++) {
    await put(1);
    clock.step(MIN);
    await settle();
  }
  assert.equal(store.status().compactRevision, revAt10);
  c.stop();
  await store.close();
});

test('retention 0 disables auto compaction', async () => {
  const { store, clock, put } = await setup();
  await put(3);
  const before = clock.pending(); // the store's own timers
  const c = new Compactor({ kv: store, mode: 'periodic', retention: 0, clock, logger: silentLogger() });
  c.start();
  assert.equal(clock.pending(), before);
  clock.step(24 * 60 * MIN);
  await settle();
  assert.equal(store.status().compactRevision, 0);
  c.stop();
  await store.close();
});
