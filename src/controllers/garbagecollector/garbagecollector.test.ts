import { setMaxListeners } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newNotFound } from '../../apimachinery/errors.js';
import { newUID, type KObject, type OwnerReference } from '../../apimachinery/meta.js';
import { FakeClient } from '../../client/fake.js';
import { newInformerFactory } from '../../client/informer.js';
import { Resources, type GroupVersionResource } from '../../client/interface.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { GarbageCollector, RESOURCE_RESYNC_PERIOD_MS } from './garbagecollector.js';

function newReplicaSet(name: string, meta: Partial<NonNullable<KObject['metadata']>> = {}): KObject {
  return { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: 'default', uid: newUID(), ...meta }, spec: { replicas: 1 } };
}

function newDeployment(name: string, meta: Partial<NonNullable<KObject['metadata']>> = {}): KObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default', uid: newUID(), ...meta }, spec: { replicas: 1 } };
}

function newPod(name: string, owners: OwnerReference[], meta: Partial<NonNullable<KObject['metadata']>> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: newUID(), ownerReferences: owners, ...meta }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
}

function ownerRef(owner: KObject, opts: { block?: boolean } = {}): OwnerReference {
  return {
    apiVersion: owner.apiVersion!,
    kind: owner.kind!,
    name: owner.metadata!.name!,
    uid: owner.metadata!.uid!,
    controller: true,
    ...(opts.block !== undefined ? { blockOwnerDeletion: opts.block } : {}),
  };
}

/** Lets pending I/O and microtasks run; no timers are involved. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs the event loop until cond holds (bounded by iterations, not by time). */
async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (await cond()) return;
    await tick();
  }
  assert.fail(`condition never held: ${what}`);
}

/** Runs the event loop long enough for any queued work to finish. */
async function settle(): Promise<void> {
  for (let i = 0; i < 200; i++) await tick();
}

function setup(t: { after(fn: () => void): void }, seed: [GroupVersionResource, KObject[]][], configure?: (client: FakeClient) => void) {
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  for (const [gvr, objs] of seed) client.seed(gvr, ...objs);
  configure?.(client);
  const informers = newInformerFactory({ client, clock });
  const gc = new GarbageCollector({ client, informers, clock, logger: silentLogger(), workers: 2 });
  const ac = new AbortController();
  setMaxListeners(50, ac.signal); // one listener per informer
  t.after(() => ac.abort());
  informers.start(ac.signal);
  const done = gc.run(ac.signal);
  const get = async (gvr: GroupVersionResource, name: string): Promise<KObject | undefined> => {
    try {
      return await client.resource(gvr, 'default').get(name);
    } catch {
      return undefined;
    }
  };
  const synced = until('gc watching pods', () => gc.monitoredResources().includes('/pods')).then(() => informers.waitForCacheSync(ac.signal));
  return { clock, client, gc, get, synced, done, abort: () => ac.abort() };
}

test('background: dependents of a deleted owner are deleted; one with another live owner keeps that owner only', async (t) => {
  const rs = newReplicaSet('web');
  const other = newReplicaSet('other');
  const p1 = newPod('web-1', [ownerRef(rs)]);
  const p2 = newPod('web-2', [ownerRef(rs)]);
  const shared = newPod('shared', [ownerRef(rs), { ...ownerRef(other), controller: false }]);
  const h = setup(t, [[Resources.replicasets, [rs, other]], [Resources.pods, [p1, p2, shared]]]);
  await h.synced;
  await settle();
  assert.ok(await h.get(Resources.pods, 'web-1'), 'nothing is collected while the owner exists');

  await h.client.resource(Resources.replicasets, 'default').delete('web');
  await until('web-1 and web-2 deleted', async () => !(await h.get(Resources.pods, 'web-1')) && !(await h.get(Resources.pods, 'web-2')));
  await until('shared loses the web reference', async () => (await h.get(Resources.pods, 'shared'))?.metadata?.ownerReferences?.length === 1);
  const s = await h.get(Resources.pods, 'shared');
  assert.deepEqual(s?.metadata?.ownerReferences?.map((r) => r.name), ['other']);
  const deletes = h.client.actions().filter((a) => a.verb === 'delete' && a.gvr.resource === 'pods');
  assert.deepEqual(deletes.map((a) => a.propagationPolicy).sort(), ['Background', 'Background']);
});

test('an owner that never existed: its dependent is collected', async (t) => {
  const ghost = newReplicaSet('ghost');
  const orphan = newPod('orphan', [ownerRef(ghost)]);
  const h = setup(t, [[Resources.pods, [orphan]]]);
  await h.synced;
  await until('orphan deleted', async () => !(await h.get(Resources.pods, 'orphan')));
  assert.equal(h.gc.graph.uidToNode.has(ghost.metadata!.uid!), false, 'the virtual owner leaves the graph');
});

test('owner uid mismatch: a dependent of a deleted-and-recreated owner is collected; the new owner and its dependents stay', async (t) => {
  const oldRS = newReplicaSet('web');
  const newRS = newReplicaSet('web'); // same name, new uid
  const stale = newPod('stale', [ownerRef(oldRS)]);
  const current = newPod('current', [ownerRef(newRS)]);
  const h = setup(t, [[Resources.replicasets, [newRS]], [Resources.pods, [stale, current]]]);
  await h.synced;
  await until('stale deleted', async () => !(await h.get(Resources.pods, 'stale')));
  await settle();
  assert.ok(await h.get(Resources.pods, 'current'));
  assert.equal((await h.get(Resources.replicasets, 'web'))?.metadata?.uid, newRS.metadata!.uid);
});

test('orphan: the owner’s references are removed from its dependents, then the orphan finalizer', async (t) => {
  const rs = newReplicaSet('web', { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['orphan'] });
  const other = newReplicaSet('other');
  const p1 = newPod('web-1', [ownerRef(rs)]);
  const p2 = newPod('web-2', [ownerRef(rs), { ...ownerRef(other), controller: false }]);
  const h = setup(t, [[Resources.replicasets, [rs, other]], [Resources.pods, [p1, p2]]]);
  await h.synced;
  await until('web gone', async () => !(await h.get(Resources.replicasets, 'web')));
  await settle();
  const a = await h.get(Resources.pods, 'web-1');
  const b = await h.get(Resources.pods, 'web-2');
  assert.ok(a && b, 'orphaned pods stay');
  assert.equal(a.metadata?.ownerReferences, undefined);
  assert.deepEqual(b.metadata?.ownerReferences?.map((r) => r.name), ['other']);
});

test('foreground: dependents are deleted first; a blocking dependent holds the owner until it is gone', async (t) => {
  const deploy = newDeployment('web', { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] });
  // The hold finalizer keeps the ReplicaSet around after its deletion, as a pod's grace period would.
  const rs = newReplicaSet('web-abc', { ownerReferences: [ownerRef(deploy, { block: true })], finalizers: ['test.flotilla.dev/hold'] });
  const pod = newPod('web-abc-1', [ownerRef(rs, { block: true })]);
  const h = setup(t, [[Resources.deployments, [deploy]], [Resources.replicasets, [rs]], [Resources.pods, [pod]]]);
  await h.synced;
  await until('rs being deleted', async () => !!(await h.get(Resources.replicasets, 'web-abc'))?.metadata?.deletionTimestamp);
  const rsDelete = h.client.actions().find((a) => a.verb === 'delete' && a.gvr.resource === 'replicasets');
  assert.equal(rsDelete?.propagationPolicy, 'Foreground', 'a dependent with dependents of its own is deleted in the foreground');
  await settle();
  assert.deepEqual((await h.get(Resources.deployments, 'web'))?.metadata?.finalizers, ['foregroundDeletion'], 'the blocking ReplicaSet holds the Deployment');

  const cur = (await h.get(Resources.replicasets, 'web-abc'))!;
  await h.client.resource(Resources.replicasets, 'default').update({ ...cur, metadata: { ...cur.metadata, finalizers: [] } });
  await until('deployment gone', async () => !(await h.get(Resources.deployments, 'web')));
  await until('pod gone', async () => !(await h.get(Resources.pods, 'web-abc-1')));
});

test('foreground: non-blocking dependents do not hold the owner', async (t) => {
  const rs = newReplicaSet('web', { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] });
  const pod = newPod('web-1', [ownerRef(rs, { block: false })], { finalizers: ['test.flotilla.dev/hold'] });
  const h = setup(t, [[Resources.replicasets, [rs]], [Resources.pods, [pod]]]);
  await h.synced;
  await until('rs gone', async () => !(await h.get(Resources.replicasets, 'web')));
  await until('pod being deleted', async () => !!(await h.get(Resources.pods, 'web-1'))?.metadata?.deletionTimestamp);
});

test('a resource the server does not serve is skipped, then watched once it appears; its 404s prove nothing until then', async (t) => {
  let served = false;
  const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'ghost-job', namespace: 'default', uid: newUID() } };
  const pod = newPod('job-pod', [ownerRef(job)]);
  const h = setup(t, [[Resources.pods, [pod]]], (client) =>
    client.prependReactor('list', 'jobs', () => (served ? undefined : { error: newNotFound({ group: 'batch', resource: 'jobs' }, '') })),
  );
  await h.synced;
  assert.equal(h.gc.monitoredResources().includes('batch/jobs'), false);
  assert.ok(h.gc.monitoredResources().includes('apps/replicasets'));
  await settle();
  assert.ok(await h.get(Resources.pods, 'job-pod'), 'an owner of an unserved kind is not taken for absent');

  served = true;
  h.clock.step(RESOURCE_RESYNC_PERIOD_MS);
  await until('jobs watched', () => h.gc.monitoredResources().includes('batch/jobs'));
  await until('job-pod collected once its owner is verifiably absent', async () => {
    h.clock.step(1_000); // the owner's check is retried with backoff
    return !(await h.get(Resources.pods, 'job-pod'));
  });
});
