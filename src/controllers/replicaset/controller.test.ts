import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../../client/fake.js';
import { newWorkQueue } from '../../client/workqueue.js';
import { Resources, type GroupVersionResource } from '../../client/interface.js';
import type { Pod } from '../../client/objects.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { formatRFC3339, type KObject } from '../../apimachinery/meta.js';
import { newForbidden } from '../../apimachinery/errors.js';
import { TestInformer, RecordingEventRecorder } from '../util/testing.js';
import { ReplicaSetController, replicaSetKind, replicationControllerKind, type ReplicaSetKind, type ReplicaSetLike } from './controller.js';

const NOW = Date.UTC(2026, 0, 1, 12);

function newReplicaSet(name: string, replicas: number, o: { minReadySeconds?: number } = {}): ReplicaSetLike {
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, generation: 1 },
    spec: {
      replicas, minReadySeconds: o.minReadySeconds ?? 0,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web', tier: 'fe' }, annotations: { note: 'x' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
    status: { replicas: 0 },
  };
}

function newRC(name: string, replicas: number): ReplicaSetLike {
  return {
    apiVersion: 'v1', kind: 'ReplicationController',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, generation: 1 },
    spec: { replicas, selector: { app: 'web' }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    status: { replicas: 0 },
  };
}

interface PodOpts {
  owner?: string;
  ownerKind?: string;
  labels?: Record<string, string>;
  node?: string;
  phase?: 'Pending' | 'Running' | 'Unknown';
  ready?: boolean;
  readyAgoS?: number;
  createdAgoS?: number;
  deleting?: boolean;
}

function newPod(name: string, o: PodOpts = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: 'default', uid: `uid-${name}`, labels: o.labels ?? { app: 'web', tier: 'fe' },
      creationTimestamp: formatRFC3339(NOW - (o.createdAgoS ?? 3600) * 1000),
      ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: o.ownerKind ?? 'ReplicaSet', name: o.owner, uid: `uid-${o.owner}`, controller: true }] } : {}),
      ...(o.deleting ? { deletionTimestamp: formatRFC3339(NOW), finalizers: ['test/hold'] } : {}),
    },
    spec: { containers: [{ name: 'c', image: 'nginx' }], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: formatRFC3339(NOW - (o.readyAgoS ?? 600) * 1000) }],
    },
  };
}

class Harness {
  readonly clock = new FakeClock(NOW);
  readonly client = new FakeClient({ clock: this.clock });
  readonly recorder = new RecordingEventRecorder();
  readonly pods = new TestInformer<Pod>(Resources.pods);
  readonly rss: TestInformer<ReplicaSetLike>;
  readonly ctrl: ReplicaSetController;

  constructor(kind: ReplicaSetKind, owners: ReplicaSetLike[], pods: Pod[]) {
    this.rss = new TestInformer<ReplicaSetLike>(kind.gvr);
    this.client.seed(kind.gvr, ...owners);
    this.client.seed(Resources.pods, ...(pods as KObject[]));
    this.ctrl = new ReplicaSetController({
      kind, client: this.client, podInformer: this.pods, rsInformer: this.rss, recorder: this.recorder,
      clock: this.clock, logger: silentLogger(), queue: newWorkQueue<string>({ name: 'test', clock: this.clock }),
    });
  }

  async refresh(): Promise<void> {
    await this.rss.refresh(this.client);
    await this.pods.refresh(this.client);
  }

  async syncAndRefresh(key = 'default/web'): Promise<void> {
    await this.ctrl.sync(key);
    await this.refresh();
  }

  async list<T extends object>(gvr: GroupVersionResource): Promise<T[]> {
    return (await this.client.resource<T>(gvr, 'default').list()).items as T[];
  }

  async get(gvr: GroupVersionResource, name: string): Promise<ReplicaSetLike> {
    return this.client.resource<ReplicaSetLike>(gvr, 'default').get(name);
  }

  static async start(kind: ReplicaSetKind, owners: ReplicaSetLike[], pods: Pod[] = []): Promise<Harness> {
    const h = new Harness(kind, owners, pods);
    await h.refresh();
    return h;
  }
}

test('creates the missing pods from the template, owned by the ReplicaSet, with events', async () => {
  const h = await Harness.start(replicaSetKind, [newReplicaSet('web', 3)]);
  await h.ctrl.sync('default/web');
  const pods = await h.list<Pod>(Resources.pods);
  assert.equal(pods.length, 3);
  for (const p of pods) {
    assert.match(p.metadata!.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(p.metadata!.labels, { app: 'web', tier: 'fe' });
    assert.deepEqual(p.metadata!.annotations, { note: 'x' });
    assert.deepEqual(p.metadata!.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'uid-web', controller: true, blockOwnerDeletion: true }]);
  }
  assert.deepEqual(h.recorder.lines().sort(), pods.map((p) => `Normal SuccessfulCreate Created pod: ${p.metadata!.name}`).sort());
  // The creations are not in the cache yet: expectations stop a second round.
  await h.ctrl.sync('default/web');
  assert.equal((await h.list(Resources.pods)).length, 3);
  await h.refresh();
  assert.equal(h.ctrl.expectations.satisfiedExpectations('default/web'), true);
  await h.syncAndRefresh();
  const rs = await h.get(Resources.replicasets, 'web');
  assert.deepEqual(rs.status, { replicas: 3, fullyLabeledReplicas: 3, observedGeneration: 1 });
});

test('slow start stops at the first failed batch and sets ReplicaFailure', async () => {
  const h = await Harness.start(replicaSetKind, [newReplicaSet('web', 10)]);
  let creates = 0;
  h.client.prependReactor('create', 'pods', () => {
    creates++;
    return creates >= 3 ? { error: newForbidden({ group: '', resource: 'pods' }, '', 'exceeded quota: compute-resources') } : undefined;
  });
  await assert.rejects(h.ctrl.sync('default/web'), /exceeded quota/);
  assert.equal(creates, 3, 'a batch of 1, then a batch of 2 with a failure; no batch of 4');
  assert.equal((await h.list(Resources.pods)).length, 2);
  assert.deepEqual(h.recorder.lines().filter((l) => l.startsWith('Warning')), ['Warning FailedCreate Error creating: pods is forbidden: exceeded quota: compute-resources']);
  const rs = await h.get(Resources.replicasets, 'web');
  const cond = rs.status!.conditions!.find((c) => c.type === 'ReplicaFailure');
  assert.equal(cond?.status, 'True');
  assert.equal(cond?.reason, 'FailedCreate');
  // The failed creations were un-expected: once the 2 successes arrive, the next sync goes on.
  await h.refresh();
  assert.deepEqual(h.ctrl.expectations.get('default/web'), { add: 0, del: 0, timestamp: NOW });
});

test('deletes extra pods in upstream order', async () => {
  const pods = [
    newPod('ready-old', { owner: 'web', node: 'n1', readyAgoS: 100000, createdAgoS: 200000 }),
    newPod('ready-new', { owner: 'web', node: 'n2', readyAgoS: 10, createdAgoS: 20 }),
    newPod('not-ready', { owner: 'web', node: 'n3', ready: false }),
    newPod('pending', { owner: 'web', node: 'n4', phase: 'Pending', ready: false }),
    newPod('unassigned', { owner: 'web', phase: 'Pending', ready: false }),
  ];
  const cases: { replicas: number; deleted: string[] }[] = [
    { replicas: 4, deleted: ['unassigned'] },
    { replicas: 2, deleted: ['not-ready', 'pending', 'unassigned'] },
    { replicas: 1, deleted: ['not-ready', 'pending', 'ready-new', 'unassigned'] },
  ];
  for (const tc of cases) {
    const h = await Harness.start(replicaSetKind, [newReplicaSet('web', tc.replicas)], pods);
    await h.ctrl.sync('default/web');
    const left = new Set((await h.list<Pod>(Resources.pods)).map((p) => p.metadata!.name!));
    const deleted = pods.map((p) => p.metadata!.name!).filter((n) => !left.has(n)).sort();
    assert.deepEqual(deleted, tc.deleted, `replicas ${tc.replicas}`);
    assert.deepEqual(h.recorder.lines().sort(), tc.deleted.map((n) => `Normal SuccessfulDelete Deleted pod: ${n}`));
    assert.equal(h.ctrl.expectations.satisfiedExpectations('default/web'), false);
    await h.refresh();
    assert.equal(h.ctrl.expectations.satisfiedExpectations('default/web'), true);
  }
});

test('adopts matching orphans and releases owned pods that no longer match', async () => {
  const h = await Harness.start(replicaSetKind, [newReplicaSet('web', 2)], [
    newPod('orphan'),
    newPod('stray', { owner: 'web', labels: { app: 'db' } }),
    newPod('others', { owner: 'other' }),
    newPod('unrelated', { labels: { app: 'db' } }),
  ]);
  await h.syncAndRefresh();
  const byName = new Map((await h.list<Pod>(Resources.pods)).map((p) => [p.metadata!.name!, p]));
  assert.equal(byName.get('orphan')!.metadata!.ownerReferences?.[0]?.uid, 'uid-web');
  // The fake client does not merge lists by key, so check the release patch that was sent.
  const patches = h.client.actions().filter((a) => a.verb === 'patch').map((a) => [a.name, a.object]);
  assert.deepEqual(patches, [
    ['orphan', { metadata: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'uid-web', controller: true, blockOwnerDeletion: true }], uid: 'uid-orphan' } }],
    ['stray', { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'uid-web' }], uid: 'uid-stray' } }],
  ]);
  assert.equal(byName.get('others')!.metadata!.ownerReferences?.[0]?.uid, 'uid-other');
  assert.equal(byName.get('unrelated')!.metadata!.ownerReferences, undefined);
  // The adopted pod counts, the released one does not: one more is created to reach 2.
  const created = [...byName.keys()].filter((n) => n.startsWith('web-'));
  assert.equal(created.length, 1);
});

test('pods being deleted do not count: a replacement is created', async () => {
  const h = await Harness.start(replicaSetKind, [newReplicaSet('web', 2)], [
    newPod('a', { owner: 'web' }),
    newPod('b', { owner: 'web', deleting: true }),
  ]);
  await h.syncAndRefresh();
  const pods = await h.list<Pod>(Resources.pods);
  assert.equal(pods.length, 3);
  assert.equal(pods.filter((p) => !p.metadata!.deletionTimestamp).length, 2);
});

test('status counts ready and available (minReadySeconds) pods', async () => {
  const h = await Harness.start(replicaSetKind, [newReplicaSet('web', 3, { minReadySeconds: 30 })], [
    newPod('a', { owner: 'web', readyAgoS: 60 }),
    newPod('b', { owner: 'web', readyAgoS: 5 }),
    newPod('c', { owner: 'web', ready: false, labels: { app: 'web' } }),
  ]);
  await h.syncAndRefresh();
  const rs = await h.get(Resources.replicasets, 'web');
  assert.deepEqual(rs.status, { replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1, observedGeneration: 1 });
});

test('ReplicationController: plain-map selector, same engine', async () => {
  const h = await Harness.start(replicationControllerKind, [newRC('web', 2)], [newPod('orphan', { labels: { app: 'web' } })]);
  await h.syncAndRefresh();
  const pods = await h.list<Pod>(Resources.pods);
  assert.equal(pods.length, 2);
  for (const p of pods) {
    assert.deepEqual(p.metadata!.ownerReferences?.map((r) => [r.apiVersion, r.kind, r.name, r.controller]), [['v1', 'ReplicationController', 'web', true]]);
  }
  await h.syncAndRefresh();
  const rc = await h.get(Resources.replicationcontrollers, 'web');
  assert.equal(rc.status?.replicas, 2);
  // Scale down (kubectl scale rc): one pod goes.
  const cur = await h.get(Resources.replicationcontrollers, 'web');
  await h.client.resource<ReplicaSetLike>(Resources.replicationcontrollers, 'default').update({ ...cur, spec: { ...cur.spec, replicas: 1 } });
  await h.refresh();
  await h.syncAndRefresh();
  assert.equal((await h.list(Resources.pods)).length, 1);
});
