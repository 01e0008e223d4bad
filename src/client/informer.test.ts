import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newInternalError } from '../apimachinery/errors.js';
import type { KObject, WatchEvent } from '../apimachinery/meta.js';
import { FakeClock } from '../util/clock.js';
import { FakeClient } from './fake.js';
import { newInformer, newInformerFactory, NamespaceIndex } from './informer.js';
import { isTombstone, Resources, type EventHandlers } from './interface.js';

function newPod(name: string, ns = 'default', nodeName?: string): KObject {
  return { metadata: { name, namespace: ns }, spec: { containers: [{ name: 'c', image: 'i' }], ...(nodeName ? { nodeName } : {}) } };
}

/** Lets pending promise callbacks and I/O callbacks run until cond holds (no timers involved). */
async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** A handler that records "verb name" lines; tombstones show as "delete! name". */
function recorder(): { log: string[]; h: EventHandlers<KObject> } {
  const log: string[] = [];
  return {
    log,
    h: {
      add: (o) => log.push(`add ${o.metadata?.name}`),
      update: (o, n) => log.push(`update ${n.metadata?.name}${o === n ? ' (resync)' : ''}`),
      delete: (o) => log.push(isTombstone(o) ? `delete! ${o.obj.metadata?.name}` : `delete ${o.metadata?.name}`),
    },
  };
}

function setup(opts: { resyncMs?: number; watchHistory?: number } = {}) {
  const clock = new FakeClock();
  const client = new FakeClient({ clock, watchHistory: opts.watchHistory });
  const informer = newInformer<KObject>({ client, gvr: Resources.pods, clock, resyncMs: opts.resyncMs });
  const ac = new AbortController();
  const pods = client.resource(Resources.pods, 'default');
  return { clock, client, informer, ac, pods };
}

test('lists, then follows the watch; listers and indexes see the cache', async () => {
  const { client, informer, ac, pods } = setup();
  client.seed(Resources.pods, newPod('a', 'default', 'n1'), newPod('b', 'other'));
  informer.addIndexers({ node: (p) => [((p.spec as { nodeName?: string }).nodeName ?? '')] });
  const { log, h } = recorder();
  informer.addEventHandler(h);
  const done = informer.run(ac.signal);
  await until(() => informer.hasSynced() && client.watchCount() === 1, 'sync');
  assert.deepEqual(log, ['add a', 'add b']);
  assert.equal(informer.lister.get('other/b')?.kind, 'Pod', 'list items get their kind');

  const c = await pods.create(newPod('c'));
  await pods.update({ ...c, metadata: { ...c.metadata, labels: { x: '1' } } });
  await pods.delete('a');
  await until(() => log.length === 5, 'events');
  assert.deepEqual(log.slice(2), ['add c', 'update c', 'delete a']);

  assert.equal(informer.lister.get('default/c')?.metadata?.labels?.x, '1');
  assert.equal(informer.lister.get('default/a'), undefined);
  assert.deepEqual(informer.lister.list('default').map((p) => p.metadata?.name), ['c']);
  assert.deepEqual(informer.lister.byIndex(NamespaceIndex, 'other').map((p) => p.metadata?.name), ['b']);
  assert.deepEqual(informer.lister.byIndex('node', '').map((p) => p.metadata?.name).sort(), ['b', 'c']);
  assert.deepEqual(informer.lister.byIndex('node', 'n1'), []);
  assert.throws(() => informer.lister.byIndex('nope', 'x'), /Index with name nope does not exist/);
  assert.ok(Object.isFrozen(informer.lister.get('default/c')!.metadata), 'cached objects are frozen');
  const watch = client.actions().find((a) => a.verb === 'watch');
  assert.equal(watch?.listOptions?.allowWatchBookmarks, true);
  assert.equal(watch?.listOptions?.resourceVersion, '2', 'watch starts at the list resourceVersion');

  ac.abort();
  await done;
});

test('a handler added after sync gets synthetic adds', async () => {
  const { client, informer, ac } = setup();
  client.seed(Resources.pods, newPod('a'), newPod('b'));
  const done = informer.run(ac.signal);
  await until(() => informer.hasSynced(), 'sync');
  const { log, h } = recorder();
  informer.addEventHandler(h);
  assert.deepEqual(log.sort(), ['add a', 'add b']);
  assert.throws(() => informer.addIndexers({ x: () => [] }), /already started/);
  ac.abort();
  await done;
});

test('a watch that ends normally resumes from the last resourceVersion without relisting', async () => {
  const { client, informer, ac, pods } = setup();
  const { log, h } = recorder();
  informer.addEventHandler(h);
  const done = informer.run(ac.signal);
  await until(() => client.watchCount() === 1, 'watch');
  await pods.create(newPod('a'));
  await until(() => log.length === 1, 'add a');
  client.closeWatches();
  await pods.create(newPod('b')); // while no watch is open
  await until(() => log.length === 2, 'add b after resume');
  assert.deepEqual(log, ['add a', 'add b']);
  const verbs = client.actions().map((a) => `${a.verb}${a.listOptions?.resourceVersion ? `@${a.listOptions.resourceVersion}` : ''}`);
  assert.deepEqual(verbs.filter((v) => !v.startsWith('create')), ['list', 'watch@0', 'watch@1']);
  ac.abort();
  await done;
});

test('410 Expired relists: the diff yields adds, updates and tombstones', async () => {
  const { client, informer, ac, pods } = setup();
  client.seed(Resources.pods, newPod('keep'), newPod('change'), newPod('gone'));
  const { log, h } = recorder();
  informer.addEventHandler(h);
  const done = informer.run(ac.signal);
  await until(() => informer.hasSynced() && client.watchCount() === 1, 'sync');
  log.length = 0;

  // The watch drops, changes happen, and history is compacted before the informer re-watches.
  client.closeWatches();
  const change = await pods.get('change');
  void pods.update({ ...change, metadata: { ...change.metadata, labels: { v: '2' } } });
  void pods.delete('gone');
  void pods.create(newPod('new'));
  client.compact();

  await until(() => log.length === 3, 'relist events');
  assert.deepEqual(log.sort(), ['add new', 'delete! gone', 'update change']);
  assert.equal(client.actions().filter((a) => a.verb === 'list').length, 2, 'relisted once');
  assert.deepEqual(informer.lister.list().map((p) => p.metadata?.name).sort(), ['change', 'keep', 'new']);
  await until(() => client.watchCount() === 1, 'watching again');
  ac.abort();
  await done;
});

test('other errors retry with backoff on the clock: 1 s, then 2 s', async () => {
  const { clock, client, informer, ac } = setup();
  client.seed(Resources.pods, newPod('a'));
  let failures = 2;
  client.prependReactor('list', 'pods', () => (failures-- > 0 ? { error: newInternalError('boom') } : undefined));
  const done = informer.run(ac.signal);
  const lists = () => client.actions().filter((a) => a.verb === 'list').length;
  await until(() => lists() === 1 && clock.pending() === 1, 'first failure');
  clock.step(999);
  assert.equal(lists(), 1);
  clock.step(1);
  await until(() => lists() === 2 && clock.pending() === 1, 'second failure');
  clock.step(1999);
  assert.equal(lists(), 2);
  assert.equal(informer.hasSynced(), false);
  clock.step(1);
  await until(() => informer.hasSynced(), 'sync after retries');
  ac.abort();
  await done;
});

test('BOOKMARK events only advance the resourceVersion of the next watch', async () => {
  const { client, informer, ac } = setup();
  const { log, h } = recorder();
  informer.addEventHandler(h);
  let watches = 0;
  client.prependReactor('watch', 'pods', () => {
    if (watches++ > 0) return undefined;
    async function* once(): AsyncIterable<WatchEvent> {
      yield { type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '42' } } };
    }
    return { result: once() };
  });
  const done = informer.run(ac.signal);
  await until(() => client.watchCount() === 1, 'second watch');
  const rvs = client.actions().filter((a) => a.verb === 'watch').map((a) => a.listOptions?.resourceVersion);
  assert.deepEqual(rvs, ['0', '42']);
  assert.deepEqual(log, []);
  ac.abort();
  await done;
});

test('resync calls update(obj, obj) for every cached object', async () => {
  const { clock, client, informer, ac } = setup({ resyncMs: 30_000 });
  client.seed(Resources.pods, newPod('a'));
  const { log, h } = recorder();
  informer.addEventHandler(h);
  const done = informer.run(ac.signal);
  await until(() => informer.hasSynced(), 'sync');
  clock.step(30_000);
  assert.deepEqual(log, ['add a', 'update a (resync)']);
  ac.abort();
  await done;
});

test('factory: one informer per resource; waitForCacheSync resolves once all synced, rejects on abort', async () => {
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  client.seed(Resources.nodes, { metadata: { name: 'n1' } });
  const f = newInformerFactory({ client, clock });
  const pods = f.forResource(Resources.pods);
  assert.equal(f.forResource(Resources.pods), pods);
  const ac = new AbortController();
  f.start(ac.signal);
  const nodes = f.forResource(Resources.nodes); // asked for after start: started at once
  await f.waitForCacheSync(ac.signal);
  assert.ok(pods.hasSynced() && nodes.hasSynced());
  assert.equal(nodes.lister.get('n1')?.metadata?.name, 'n1');

  client.prependReactor('list', '*', () => ({ error: newInternalError('down') }));
  const other = newInformerFactory({ client, clock });
  other.forResource(Resources.services);
  const ac3 = new AbortController();
  other.start(ac3.signal);
  const waiting = other.waitForCacheSync(ac3.signal);
  ac3.abort(new Error('stop'));
  await assert.rejects(waiting, /stop/);
  ac.abort();
});

test('watches that keep ending at once without events back off on the clock', async () => {
  const { clock, client, informer, ac } = setup();
  const done = informer.run(ac.signal);
  await until(() => client.watchCount() === 1, 'watch');
  client.closeWatches();
  await until(() => client.watchCount() === 1, 'first empty end: re-watched at once');
  client.closeWatches();
  await until(() => clock.pending() === 1, 'second empty end: backing off');
  assert.equal(client.watchCount(), 0);
  clock.step(1000);
  await until(() => client.watchCount() === 1, 're-watched after 1 s');
  ac.abort();
  await done;
});

test('run() returns once aborted even while a list is still waiting for its answer', async () => {
  const { client, informer, ac } = setup();
  // A server that has gone quiet: the list never answers.
  client.prependReactor('list', 'pods', () => ({ result: new Promise(() => {}) }));
  const done = informer.run(ac.signal);
  await until(() => client.actions().some((a) => a.verb === 'list'), 'list sent');
  let returned = false;
  void done.then(() => { returned = true; });
  ac.abort();
  await until(() => returned, 'run() returned');
  assert.equal(informer.hasSynced(), false);
});
