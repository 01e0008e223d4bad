import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAlreadyExists, isBadRequest, isConflict, isNotFound, isResourceExpired, newConflict, fromStatusObject } from '../apimachinery/errors.js';
import { PatchType, type KObject, type WatchEvent } from '../apimachinery/meta.js';
import { FakeClock } from '../util/clock.js';
import { FakeClient } from './fake.js';
import { Resources } from './interface.js';
import type { Pod } from './objects.js';

function newPod(name: string, opts: { ns?: string; labels?: Record<string, string>; nodeName?: string; phase?: string; finalizers?: string[] } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: opts.ns ?? 'default', labels: opts.labels, finalizers: opts.finalizers },
    spec: { containers: [{ name: 'c', image: 'nginx' }], ...(opts.nodeName ? { nodeName: opts.nodeName } : {}) },
    ...(opts.phase ? { status: { phase: opts.phase } } : {}),
  };
}

/** Collects events from a watch until n have arrived or it ends. */
async function take(it: AsyncIterable<WatchEvent>, n: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  if (n === 0) return out;
  for await (const ev of it) {
    out.push(ev);
    if (out.length >= n) break;
  }
  return out;
}

test('create sets identity fields from the clock and one global resourceVersion', async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5));
  const c = new FakeClient({ clock });
  const pods = c.resource(Resources.pods, 'default');
  const a = await pods.create(newPod('a'));
  const n = await c.resource(Resources.nodes).create({ metadata: { name: 'n1' } });
  assert.equal(a.metadata?.creationTimestamp, '2026-01-02T03:04:05Z');
  assert.equal(a.metadata?.generation, 1);
  assert.match(a.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(Number(n.metadata?.resourceVersion), Number(a.metadata?.resourceVersion) + 1);
  assert.equal(n.kind, 'Node');
  assert.equal(n.apiVersion, 'v1');
  await assert.rejects(pods.create(newPod('a')), (e) => isAlreadyExists(e) && (e as Error).message === 'pods "a" already exists');
});

test('generateName appends a 5-character suffix', async () => {
  const c = new FakeClient();
  const p = await c.resource(Resources.pods, 'default').create({ metadata: { generateName: 'web-' }, spec: {} });
  assert.match(p.metadata?.name ?? '', /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
});

test('create in a namespace refuses an object naming another namespace', async () => {
  const c = new FakeClient();
  await assert.rejects(c.resource(Resources.pods, 'a').create(newPod('x', { ns: 'b' })), isBadRequest);
});

test('get of a missing object is NotFound', async () => {
  const c = new FakeClient();
  await assert.rejects(c.resource(Resources.pods, 'default').get('nope'), (e) => isNotFound(e) && (e as Error).message === 'pods "nope" not found');
});

test('update: stale resourceVersion conflicts with upstream wording; status is kept', async () => {
  const c = new FakeClient();
  const pods = c.resource<Pod>(Resources.pods, 'default');
  const created = await pods.create(newPod('a', { phase: 'Pending' }) as Pod);
  const changed = { ...created, metadata: { ...created.metadata, labels: { x: 'y' } }, status: { phase: 'Running' } } as Pod;
  const updated = await pods.update(changed);
  assert.equal(updated.metadata?.labels?.x, 'y');
  assert.equal(updated.status?.phase, 'Pending', 'update does not write status');
  assert.equal(updated.metadata?.generation, 1, 'metadata-only change keeps generation');
  await assert.rejects(pods.update(changed), (e) => {
    assert.ok(isConflict(e));
    assert.equal((e as Error).message, 'Operation cannot be fulfilled on pods "a": the object has been modified; please apply your changes to the latest version and try again');
    return true;
  });
  const spec = await pods.update({ ...updated, spec: { ...updated.spec!, nodeName: 'n1' } });
  assert.equal(spec.metadata?.generation, 2, 'spec change bumps generation');
});

test('updateStatus changes only status', async () => {
  const c = new FakeClient();
  const pods = c.resource<Pod>(Resources.pods, 'default');
  const created = await pods.create(newPod('a') as Pod);
  const out = await pods.updateStatus({ ...created, metadata: { ...created.metadata, labels: { x: 'y' } }, status: { phase: 'Running' } } as Pod);
  assert.equal(out.status?.phase, 'Running');
  assert.equal(out.metadata?.labels, undefined);
  assert.deepEqual(c.actions().map((a) => [a.verb, a.subresource]), [['create', undefined], ['update', 'status']]);
});

test('list filters by label and field selectors', async () => {
  const c = new FakeClient();
  c.seed(Resources.pods,
    newPod('a', { labels: { app: 'web' }, nodeName: 'n1', phase: 'Running' }),
    newPod('b', { labels: { app: 'db' }, phase: 'Pending' }),
    newPod('c', { ns: 'other', labels: { app: 'web' }, phase: 'Pending' }));
  const cases = [
    { name: 'all namespaces', ns: undefined, opts: {}, want: ['a', 'b', 'c'] },
    { name: 'one namespace', ns: 'default', opts: {}, want: ['a', 'b'] },
    { name: 'label', ns: undefined, opts: { labelSelector: 'app=web' }, want: ['a', 'c'] },
    { name: 'label set-based', ns: undefined, opts: { labelSelector: 'app in (db)' }, want: ['b'] },
    { name: 'unscheduled', ns: undefined, opts: { fieldSelector: 'spec.nodeName=' }, want: ['b', 'c'] },
    { name: 'on a node', ns: undefined, opts: { fieldSelector: 'spec.nodeName=n1' }, want: ['a'] },
    { name: 'phase', ns: undefined, opts: { fieldSelector: 'status.phase!=Running' }, want: ['b', 'c'] },
    { name: 'name and namespace', ns: undefined, opts: { fieldSelector: 'metadata.name=c,metadata.namespace=other' }, want: ['c'] },
  ];
  for (const tc of cases) {
    const list = await c.resource(Resources.pods, tc.ns).list(tc.opts);
    assert.deepEqual(list.items.map((p) => p.metadata?.name), tc.want, tc.name);
    assert.equal(list.metadata.resourceVersion, c.resourceVersion());
    assert.equal(list.kind, 'PodList');
  }
  await assert.rejects(c.resource(Resources.pods).list({ labelSelector: 'a in (' }), isBadRequest);
});

test('returned objects are private copies; the store is not changed by callers', async () => {
  const c = new FakeClient();
  const pods = c.resource(Resources.pods, 'default');
  const p = await pods.create(newPod('a'));
  p.metadata!.labels = { mutated: 'yes' };
  const again = await pods.get('a');
  assert.equal(again.metadata?.labels, undefined);
});

test('watch from a resourceVersion replays history, then follows; selectors turn moves into ADDED/DELETED', async () => {
  const c = new FakeClient();
  const pods = c.resource(Resources.pods, 'default');
  const start = c.resourceVersion();
  const a = await pods.create(newPod('a', { labels: { app: 'web' } }));
  const ac = new AbortController();
  const w = pods.watch({ resourceVersion: start, labelSelector: 'app=web' }, ac.signal);
  await pods.create(newPod('b', { labels: { app: 'db' } }));
  const relabelled = await pods.update({ ...a, metadata: { ...a.metadata, labels: { app: 'db' } } });
  await pods.update({ ...relabelled, metadata: { ...relabelled.metadata, labels: { app: 'web' } } });
  await pods.delete('a');
  const evs = await take(w, 4);
  ac.abort();
  assert.deepEqual(evs.map((e) => [e.type, e.object.metadata?.name]), [['ADDED', 'a'], ['DELETED', 'a'], ['ADDED', 'a'], ['DELETED', 'a']]);
  assert.ok(Object.isFrozen(evs[0]!.object), 'watch objects are shared and frozen');
  assert.equal(c.watchCount(), 0);
});

test('watch without a resourceVersion starts with ADDED for what exists', async () => {
  const c = new FakeClient();
  c.seed(Resources.nodes, { metadata: { name: 'n1' } }, { metadata: { name: 'n2' } });
  const ac = new AbortController();
  const evs = await take(c.resource(Resources.nodes).watch({}, ac.signal), 2);
  ac.abort();
  assert.deepEqual(evs.map((e) => [e.type, e.object.metadata?.name]), [['ADDED', 'n1'], ['ADDED', 'n2']]);
});

test('watch from before the bounded history gets one 410 Expired ERROR, then ends', async () => {
  const c = new FakeClient({ watchHistory: 2 });
  const pods = c.resource(Resources.pods, 'default');
  await pods.create(newPod('first'));
  const start = c.resourceVersion();
  for (const n of ['a', 'b', 'c']) await pods.create(newPod(n));
  const evs = await take(pods.watch({ resourceVersion: start }, new AbortController().signal), 10);
  assert.equal(evs.length, 1);
  assert.equal(evs[0]!.type, 'ERROR');
  const err = fromStatusObject(evs[0]!.object);
  assert.ok(isResourceExpired(err));
  assert.equal(err?.code, 410);
});

test('patch: merge, JSON and strategic merge', async () => {
  const c = new FakeClient();
  const pods = c.resource<Pod>(Resources.pods, 'default');
  await pods.create(newPod('a') as Pod);
  const cases = [
    { type: PatchType.MergePatch, patch: { metadata: { labels: { m: '1' } } }, check: (p: Pod) => p.metadata?.labels?.m === '1' },
    { type: PatchType.JSONPatch, patch: [{ op: 'add', path: '/metadata/annotations', value: { j: '2' } }], check: (p: Pod) => p.metadata?.annotations?.j === '2' },
    { type: PatchType.StrategicMergePatch, patch: { metadata: { labels: { s: '3' } } }, check: (p: Pod) => p.metadata?.labels?.s === '3' && p.metadata.labels.m === '1' },
  ];
  for (const tc of cases) {
    const out = await pods.patch('a', tc.type, tc.patch);
    assert.ok(tc.check(out), tc.type);
  }
  const st = await pods.patch('a', PatchType.MergePatch, { status: { phase: 'Running' }, metadata: { labels: { ignored: 'x' } } }, { subresource: 'status' });
  assert.equal(st.status?.phase, 'Running');
  assert.equal(st.metadata?.labels?.ignored, undefined);
  await assert.rejects(pods.patch('a', PatchType.ApplyPatch, {}), /not supported by the fake/);
  await assert.rejects(pods.patch('missing', PatchType.MergePatch, {}), isNotFound);
});

test('delete: finalizers hold the object with a deletionTimestamp until removed', async () => {
  const clock = new FakeClock();
  const c = new FakeClient({ clock });
  const pods = c.resource<Pod>(Resources.pods, 'default');
  await pods.create(newPod('f', { finalizers: ['x/y'] }) as Pod);
  const held = await pods.delete('f', { propagationPolicy: 'Foreground' });
  assert.ok(held?.metadata?.deletionTimestamp);
  const cur = await pods.get('f');
  assert.equal(cur.metadata?.deletionTimestamp, held?.metadata?.deletionTimestamp);
  await pods.update({ ...cur, metadata: { ...cur.metadata, finalizers: [] } });
  await assert.rejects(pods.get('f'), isNotFound);
  assert.equal(c.actions().find((a) => a.verb === 'delete')?.propagationPolicy, 'Foreground');

  await pods.create(newPod('g') as Pod);
  assert.equal(await pods.delete('g'), undefined);
  await assert.rejects(pods.delete('g'), isNotFound);
});

test('deleteCollection deletes what the selector matches', async () => {
  const c = new FakeClient();
  c.seed(Resources.pods, newPod('a', { labels: { x: '1' } }), newPod('b'), newPod('c', { ns: 'o', labels: { x: '1' } }));
  await c.resource(Resources.pods, 'default').deleteCollection({ labelSelector: 'x=1' });
  const left = await c.resource(Resources.pods).list();
  assert.deepEqual(left.items.map((p) => p.metadata?.name), ['b', 'c']);
});

test('pods/binding sets nodeName and PodScheduled; a second binding conflicts', async () => {
  const c = new FakeClient();
  const pods = c.resource<Pod>(Resources.pods, 'default');
  await pods.create(newPod('a') as Pod);
  const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'a' }, target: { kind: 'Node', name: 'n1' } };
  const res = await pods.createSubresource('a', 'binding', binding);
  assert.equal((res as { status?: string }).status, 'Success');
  const p = await pods.get('a');
  assert.equal(p.spec?.nodeName, 'n1');
  assert.equal(p.status?.conditions?.find((x) => x.type === 'PodScheduled')?.status, 'True');
  await assert.rejects(pods.createSubresource('a', 'binding', binding), (e) => {
    assert.ok(isConflict(e));
    assert.equal((e as Error).message, 'Operation cannot be fulfilled on pods/binding "a": pod a is already assigned to node "n1"');
    return true;
  });
  assert.deepEqual(c.actions().filter((x) => x.subresource === 'binding').map((x) => x.name), ['a', 'a']);
});

test('pods/eviction deletes the pod', async () => {
  const c = new FakeClient();
  const pods = c.resource(Resources.pods, 'default');
  await pods.create(newPod('a'));
  await pods.createSubresource('a', 'eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'a', namespace: 'default' } });
  await assert.rejects(pods.get('a'), isNotFound);
});

test('actions record verb, resource, namespace and name; reactors inject errors', async () => {
  const c = new FakeClient();
  const pods = c.resource(Resources.pods, 'ns1');
  c.prependReactor('create', 'pods', (a) => (a.name === 'bad' ? { error: newConflict({ group: '', resource: 'pods' }, 'bad', 'injected') } : undefined));
  await pods.create(newPod('ok', { ns: 'ns1' }));
  await assert.rejects(pods.create(newPod('bad', { ns: 'ns1' })), isConflict);
  await pods.get('ok');
  await pods.list();
  assert.deepEqual(
    c.actions().map(({ verb, gvr, namespace, name }) => ({ verb, resource: gvr.resource, namespace, name })),
    [
      { verb: 'create', resource: 'pods', namespace: 'ns1', name: 'ok' },
      { verb: 'create', resource: 'pods', namespace: 'ns1', name: 'bad' },
      { verb: 'get', resource: 'pods', namespace: 'ns1', name: 'ok' },
      { verb: 'list', resource: 'pods', namespace: 'ns1', name: undefined },
    ],
  );
  c.clearActions();
  assert.deepEqual(c.actions(), []);
});

test('strategic merge patch merges lists by their patch merge keys', async () => {
  const c = new FakeClient();
  const pods = c.resource<Pod>(Resources.pods, 'default');
  const base = newPod('a');
  const p = await pods.create({ ...base, spec: { containers: [{ name: 'c', image: 'nginx' }, { name: 'd', image: 'busybox' }] } } as Pod);
  await pods.updateStatus({ ...p, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'False' }] } } as Pod);
  const out = await pods.patch('a', PatchType.StrategicMergePatch, { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, { subresource: 'status' });
  assert.deepEqual(out.status?.conditions?.map((x) => `${x.type}=${x.status}`), ['PodScheduled=True', 'Ready=True']);
  const spec = await pods.patch('a', PatchType.StrategicMergePatch, { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } });
  assert.deepEqual(spec.spec?.containers.map((x) => `${x.name}:${x.image}`), ['c:nginx:2', 'd:busybox']);
});
