/**
 * The REST client and an informer over it against a real Flotilla API server started
 * in-process (HTTPS + HTTP/2, x509 client certificate from the admin kubeconfig).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromStatusObject, isAlreadyExists, isConflict, isNotFound, isResourceExpired } from '../../src/apimachinery/errors.js';
import { PatchType, type KObject, type WatchEvent } from '../../src/apimachinery/meta.js';
import { realClock } from '../../src/util/clock.js';
import { loadKubeconfig } from '../../src/client/kubeconfig.js';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { newInformer } from '../../src/client/informer.js';
import { newEventRecorder } from '../../src/client/events.js';
import { newLeaderElector } from '../../src/client/leaderelection.js';
import { Resources, type Client } from '../../src/client/interface.js';
import type { Event, Lease, Pod } from '../../src/client/objects.js';
import { backends, startBackendApiServer } from '../util/backends.js';

function newPod(name: string, labels: Record<string, string> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
  } as Pod;
}

/** Polls cond on real time (an external server is involved), bounded. */
async function eventually(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Reads events from a watch into an array as they arrive. */
function collect(it: AsyncIterable<WatchEvent>): { events: WatchEvent[]; done: Promise<unknown> } {
  const events: WatchEvent[] = [];
  const done = (async () => {
    for await (const ev of it) events.push(ev);
  })().catch((err: unknown) => err);
  return { events, done };
}

for (const backend of backends) test(`REST client against a real API server (${backend.name})`, { skip: backend.skip }, async (t) => {
  const api = await startBackendApiServer(t, backend);
  const creds = await loadKubeconfig(api.kubeconfigPath);
  assert.match(creds.server, /^https:\/\//);
  assert.ok(creds.ca && creds.cert && creds.key, 'kubeconfig gives CA, client cert and key');
  const client: Client = await restClientFromKubeconfig(api.kubeconfigPath, 'flotilla-client-test/v0.0.0');
  t.after(() => client.close());
  const pods = client.resource<Pod>(Resources.pods, 'default');

  await t.test('CRUD, 409 on a stale update, 404', async () => {
    const created = await pods.create(newPod('crud'));
    assert.equal(created.metadata?.name, 'crud');
    assert.ok(created.metadata?.uid);
    await assert.rejects(pods.create(newPod('crud')), isAlreadyExists);
    const got = await pods.get('crud');
    assert.equal(got.metadata?.resourceVersion, created.metadata?.resourceVersion);
    const updated = await pods.update({ ...got, metadata: { ...got.metadata, labels: { v: '2' } } });
    assert.equal(updated.metadata?.labels?.v, '2');
    await assert.rejects(pods.update({ ...got, metadata: { ...got.metadata, labels: { v: '3' } } }), (e) => {
      assert.ok(isConflict(e));
      assert.equal((e as Error).message, 'Operation cannot be fulfilled on pods "crud": the object has been modified; please apply your changes to the latest version and try again');
      return true;
    });
    const patched = await pods.patch('crud', PatchType.StrategicMergePatch, { metadata: { annotations: { a: 'b' } } });
    assert.equal(patched.metadata?.annotations?.a, 'b');
    const merged = await pods.patch('crud', PatchType.MergePatch, { metadata: { labels: { m: '1' } } });
    assert.equal(merged.metadata?.labels?.m, '1');
    const status = await pods.updateStatus({ ...merged, status: { ...merged.status, phase: 'Running' } } as Pod);
    assert.equal(status.status?.phase, 'Running');
    await pods.delete('crud', { gracePeriodSeconds: 0 });
    await assert.rejects(pods.get('crud'), (e) => isNotFound(e) && (e as Error).message === 'pods "crud" not found');
    await assert.rejects(client.resource(Resources.nodes).get('no-such-node'), isNotFound);
  });

  await t.test('list with label and field selectors', async () => {
    await pods.create(newPod('sel-a', { tier: 'web' }));
    await pods.create(newPod('sel-b', { tier: 'db' }));
    const web = await pods.list({ labelSelector: 'tier=web' });
    assert.deepEqual(web.items.map((p) => p.metadata?.name), ['sel-a']);
    assert.ok(web.metadata.resourceVersion);
    const byName = await pods.list({ fieldSelector: 'metadata.name=sel-b' });
    assert.deepEqual(byName.items.map((p) => p.metadata?.name), ['sel-b']);
    const unscheduled = await client.resource<Pod>(Resources.pods).list({ fieldSelector: 'spec.nodeName=', labelSelector: 'tier' });
    assert.deepEqual(unscheduled.items.map((p) => p.metadata?.name).sort(), ['sel-a', 'sel-b']);
    await pods.deleteCollection({ labelSelector: 'tier', gracePeriodSeconds: 0 });
    await eventually(async () => (await pods.list({ labelSelector: 'tier' })).items.length === 0, 'deleteCollection');
  });

  await t.test('watch delivers ADDED, MODIFIED, DELETED', async () => {
    const start = (await pods.list()).metadata.resourceVersion;
    const ac = new AbortController();
    const w = collect(pods.watch({ resourceVersion: start, labelSelector: 'w=1' }, ac.signal) as AsyncIterable<WatchEvent>);
    const p = await pods.create(newPod('watched', { w: '1' }));
    await pods.patch('watched', PatchType.MergePatch, { metadata: { annotations: { x: 'y' } } });
    await pods.delete('watched', { gracePeriodSeconds: 0 });
    await eventually(() => w.events.filter((e) => e.type !== 'BOOKMARK').length >= 3, 'three events');
    ac.abort();
    assert.equal(await w.done, undefined, 'an aborted watch ends without error');
    const evs = w.events.filter((e) => e.type !== 'BOOKMARK');
    assert.deepEqual(evs.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    assert.equal((evs[0]!.object as KObject).metadata?.uid, p.metadata?.uid);
  });

  await t.test('a watch on a quiet collection opens and ends on abort', async () => {
    const ac = new AbortController();
    const w = collect(client.resource(Resources.configmaps, 'quiet').watch({}, ac.signal));
    await new Promise((r) => setTimeout(r, 200));
    ac.abort();
    assert.equal(await w.done, undefined);
  });

  await t.test('a watch from a compacted resourceVersion gets one 410 Expired ERROR, then ends', async () => {
    const old = (await pods.create(newPod('before-compaction'))).metadata!.resourceVersion!;
    await pods.create(newPod('after-compaction-1'));
    await pods.create(newPod('after-compaction-2'));
    await api.storage.compact(await api.storage.currentRevision());
    const w = collect(pods.watch({ resourceVersion: old }, new AbortController().signal) as AsyncIterable<WatchEvent>);
    assert.equal(await w.done, undefined, 'the stream ends normally');
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0]!.type, 'ERROR');
    const st = w.events[0]!.object as { code?: number; reason?: string };
    assert.equal(st.code, 410);
    assert.ok(isResourceExpired(fromStatusObject(st)));
  });

  await t.test('pods/binding', async () => {
    await pods.create(newPod('bind-me'));
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bind-me' }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' } };
    await pods.createSubresource('bind-me', 'binding', binding);
    const bound = await pods.get('bind-me');
    assert.equal(bound.spec?.nodeName, 'node-1');
    await assert.rejects(pods.createSubresource('bind-me', 'binding', binding), (e) => {
      assert.ok(isConflict(e));
      assert.equal((e as Error).message, 'Operation cannot be fulfilled on pods/binding "bind-me": pod bind-me is already assigned to node "node-1"');
      return true;
    });
  });

  await t.test('200 concurrent creates over the one HTTP/2 session', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `many-${i}`);
    await Promise.all(names.map((n) => pods.create(newPod(n, { many: 'yes' }))));
    const list = await pods.list({ labelSelector: 'many=yes' });
    assert.equal(list.items.length, 200);
  });

  await t.test('an informer over the REST client syncs and sees changes', async () => {
    const informer = newInformer<Pod>({ client, gvr: Resources.pods, clock: realClock });
    const seen: string[] = [];
    informer.addEventHandler({
      add: (p) => { if (p.metadata?.name?.startsWith('inf-')) seen.push(`add ${p.metadata.name}`); },
      update: (o, n) => { if (n.metadata?.name?.startsWith('inf-') && o !== n) seen.push(`update ${n.metadata.name}`); },
      delete: (p) => { if ('tombstone' in p) return; if (p.metadata?.name?.startsWith('inf-')) seen.push(`delete ${p.metadata.name}`); },
    });
    await pods.create(newPod('inf-before'));
    const ac = new AbortController();
    const running = informer.run(ac.signal);
    await eventually(() => informer.hasSynced(), 'sync');
    assert.ok(informer.lister.get('default/inf-before'));
    assert.equal(informer.lister.get('default/inf-before')?.kind, 'Pod');
    await pods.create(newPod('inf-after'));
    await pods.patch('inf-after', PatchType.MergePatch, { metadata: { labels: { changed: 'yes' } } });
    await pods.delete('inf-before', { gracePeriodSeconds: 0 });
    await eventually(() => seen.includes('delete inf-before') && informer.lister.get('default/inf-after')?.metadata?.labels?.changed === 'yes', 'informer events');
    assert.deepEqual(seen, ['add inf-before', 'add inf-after', 'update inf-after', 'delete inf-before']);
    ac.abort();
    await running;
  });

  await t.test('events: created, then a repeat bumps count by patch', async () => {
    const pod = await pods.create(newPod('evented'));
    const recorder = newEventRecorder({ client, component: 'default-scheduler', clock: realClock });
    recorder.event(pod, 'Warning', 'FailedScheduling', '0/1 nodes are available: 1 node(s) were unschedulable.');
    const events = client.resource<Event>(Resources.events, 'default');
    const mine = async () => (await events.list({ fieldSelector: 'involvedObject.name=evented' })).items;
    await eventually(async () => (await mine()).length === 1, 'event created');
    recorder.event(pod, 'Warning', 'FailedScheduling', '0/1 nodes are available: 1 node(s) were unschedulable.');
    await eventually(async () => (await mine())[0]?.count === 2, 'count 2');
    const [e] = await mine();
    assert.equal(e!.source?.component, 'default-scheduler');
    assert.equal(e!.involvedObject.uid, pod.metadata?.uid);
  });

  await t.test('leader election on a real Lease', async () => {
    const ac = new AbortController();
    let started = false;
    const elector = newLeaderElector({
      client,
      clock: realClock,
      namespace: 'kube-system',
      name: 'client-test',
      identity: 'me_1',
      onStartedLeading: () => { started = true; },
      onStoppedLeading: () => undefined,
    });
    const running = elector.run(ac.signal);
    await eventually(() => started, 'leading');
    const lease = await client.resource<Lease>(Resources.leases, 'kube-system').get('client-test');
    assert.equal(lease.spec?.holderIdentity, 'me_1');
    assert.match(String(lease.spec?.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    ac.abort();
    await running;
  });
});
