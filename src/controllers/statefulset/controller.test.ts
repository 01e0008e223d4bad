import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../../client/fake.js';
import { Resources } from '../../client/interface.js';
import type { ControllerRevision, Pod, StatefulSet } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import { formatRFC3339, type KObject } from '../../apimachinery/meta.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { RecordingEventRecorder, TestInformer } from '../util/testing.js';
import { StatefulSetController } from './controller.js';

const NS = 'default';
type Spec = NonNullable<StatefulSet['spec']>;

function newStatefulSet(opts: Partial<Spec> & { image?: string } = {}): StatefulSet & KObject {
  const { image, ...spec } = opts;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: NS },
    spec: {
      replicas: 3,
      serviceName: 'nginx',
      selector: { matchLabels: { app: 'nginx' } },
      template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: image ?? 'nginx:1' }] } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      podManagementPolicy: 'OrderedReady',
      revisionHistoryLimit: 10,
      ...spec,
    },
  };
}

/** A StatefulSet controller over a FakeClient with informers the test refreshes by hand. */
class Harness {
  readonly clock = new FakeClock();
  readonly client = new FakeClient({ clock: this.clock });
  readonly recorder = new RecordingEventRecorder();
  readonly informers = {
    sets: new TestInformer<StatefulSet>(Resources.statefulsets),
    pods: new TestInformer<Pod>(Resources.pods),
    revisions: new TestInformer<ControllerRevision>(Resources.controllerrevisions),
  };
  readonly ctrl = new StatefulSetController({
    client: this.client,
    setInformer: this.informers.sets,
    podInformer: this.informers.pods,
    revisionInformer: this.informers.revisions,
    recorder: this.recorder,
    clock: this.clock,
    logger: silentLogger(),
    queue: newWorkQueue<string>({ name: 'statefulset', clock: this.clock }),
    workers: 1,
  });

  async refresh(): Promise<void> {
    for (const inf of Object.values(this.informers)) await (inf as TestInformer<object>).refresh(this.client);
  }

  async sync(): Promise<void> {
    await this.refresh();
    await this.ctrl.sync(`${NS}/web`);
    await this.refresh();
  }

  async createSet(set: StatefulSet & KObject): Promise<void> {
    await this.client.resource<StatefulSet>(Resources.statefulsets, NS).create(set);
  }

  async updateSet(fn: (set: StatefulSet) => void): Promise<void> {
    const client = this.client.resource<StatefulSet>(Resources.statefulsets, NS);
    const set = await client.get('web');
    fn(set);
    await client.update(set);
  }

  async set(): Promise<StatefulSet> {
    return this.client.resource<StatefulSet>(Resources.statefulsets, NS).get('web');
  }

  async pods(): Promise<Pod[]> {
    const items = (await this.client.resource<Pod>(Resources.pods, NS).list()).items;
    return items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  }

  async names(): Promise<string[]> {
    return (await this.pods()).map((p) => p.metadata?.name ?? '');
  }

  async revisions(): Promise<ControllerRevision[]> {
    return (await this.client.resource<ControllerRevision>(Resources.controllerrevisions, NS).list()).items.sort((a, b) => a.revision - b.revision);
  }

  /** Plays the kubelet: marks the named pods (default: all without a phase) Running and Ready. */
  async markReady(names?: string[], ready = true): Promise<void> {
    const client = this.client.resource<Pod>(Resources.pods, NS);
    for (const p of await this.pods()) {
      if (names ? !names.includes(p.metadata?.name ?? '') : p.status?.phase) continue;
      await client.updateStatus({
        ...p,
        status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: formatRFC3339(this.clock.now()) }] },
      });
    }
  }

  /** Syncs, marking new pods ready, until the set stops changing (bounded). */
  async converge(): Promise<void> {
    for (let i = 0; i < 30; i++) {
      const before = JSON.stringify(await this.pods());
      await this.sync();
      await this.markReady();
      await this.refresh();
      if (JSON.stringify(await this.pods()) === before) return;
    }
    throw new Error('did not converge');
  }
}

function image(p: Pod): string {
  return p.spec?.containers[0]?.image ?? '';
}

test('OrderedReady creates web-0, then web-1 only after web-0 is Running and Ready', async () => {
  const h = new Harness();
  await h.createSet(newStatefulSet());
  await h.sync();
  assert.deepEqual(await h.names(), ['web-0']);
  await h.sync();
  assert.deepEqual(await h.names(), ['web-0'], 'web-1 waits for web-0');

  await h.markReady(['web-0'], false);
  await h.sync();
  assert.deepEqual(await h.names(), ['web-0'], 'Running but not Ready is not enough');

  await h.markReady(['web-0']);
  await h.sync();
  assert.deepEqual(await h.names(), ['web-0', 'web-1']);
  await h.markReady(['web-1']);
  await h.sync();
  assert.deepEqual(await h.names(), ['web-0', 'web-1', 'web-2']);

  const [rev] = await h.revisions();
  const web1 = (await h.pods())[1]!;
  assert.equal(web1.metadata?.generateName, 'web-');
  assert.deepEqual(web1.metadata?.labels, {
    app: 'nginx',
    'statefulset.kubernetes.io/pod-name': 'web-1',
    'apps.kubernetes.io/pod-index': '1',
    'controller-revision-hash': rev!.metadata!.name,
  });
  assert.equal(web1.spec?.hostname, 'web-1');
  assert.equal(web1.spec?.subdomain, 'nginx');
  assert.equal(web1.metadata?.ownerReferences?.[0]?.kind, 'StatefulSet');
  assert.deepEqual(h.recorder.lines().filter((l) => l.startsWith('Normal SuccessfulCreate')), [
    'Normal SuccessfulCreate create Pod web-0 in StatefulSet web successful',
    'Normal SuccessfulCreate create Pod web-1 in StatefulSet web successful',
    'Normal SuccessfulCreate create Pod web-2 in StatefulSet web successful',
  ]);

  await h.markReady(['web-2']);
  await h.sync();
  const status = (await h.set()).status;
  assert.equal(status?.replicas, 3);
  assert.equal(status?.readyReplicas, 3);
  assert.equal(status?.availableReplicas, 3);
  assert.equal(status?.currentReplicas, 3);
  assert.equal(status?.updatedReplicas, 3);
  assert.equal(status?.currentRevision, rev!.metadata!.name);
  assert.equal(status?.updateRevision, rev!.metadata!.name);
  assert.equal(status?.observedGeneration, 1);
  assert.equal(status?.collisionCount, 0);
});

test('Parallel creates every pod at once', async () => {
  const h = new Harness();
  await h.createSet(newStatefulSet({ podManagementPolicy: 'Parallel', replicas: 4 }));
  await h.sync();
  assert.deepEqual(await h.names(), ['web-0', 'web-1', 'web-2', 'web-3']);
});

test('scale down removes the highest ordinal first, one at a time, waiting for termination', async () => {
  const h = new Harness();
  await h.createSet(newStatefulSet());
  await h.converge();
  assert.deepEqual(await h.names(), ['web-0', 'web-1', 'web-2']);

  // A finalizer makes the deletion of web-2 graceful: the pod lingers, terminating.
  const pods = h.client.resource<Pod>(Resources.pods, NS);
  const web2 = await pods.get('web-2');
  await pods.update({ ...web2, metadata: { ...web2.metadata, finalizers: ['test/hold'] } });
  await h.updateSet((s) => { s.spec!.replicas = 1; });
  await h.sync();
  assert.ok((await pods.get('web-2')).metadata?.deletionTimestamp, 'web-2 is being deleted');
  await h.sync();
  assert.deepEqual(await h.names(), ['web-0', 'web-1', 'web-2'], 'web-1 waits until web-2 is gone');

  const terminating = await pods.get('web-2');
  await pods.update({ ...terminating, metadata: { ...terminating.metadata, finalizers: [] } });
  await h.sync();
  assert.deepEqual(await h.names(), ['web-0']);
  assert.ok(h.recorder.lines().includes('Normal SuccessfulDelete delete Pod web-1 in StatefulSet web successful'));
  await h.sync();
  assert.equal((await h.set()).status?.replicas, 1);
});

test('scale down waits while a remaining replica is unhealthy', async () => {
  const h = new Harness();
  await h.createSet(newStatefulSet());
  await h.converge();
  await h.markReady(['web-0'], false);
  await h.updateSet((s) => { s.spec!.replicas = 2; });
  await h.sync();
  assert.deepEqual(await h.names(), ['web-0', 'web-1', 'web-2']);
  await h.markReady(['web-0']);
  await h.sync();
  assert.deepEqual(await h.names(), ['web-0', 'web-1']);
});

test('a deleted pod is recreated with the same name; a failed one is replaced', async () => {
  const h = new Harness();
  await h.createSet(newStatefulSet());
  await h.converge();
  const pods = h.client.resource<Pod>(Resources.pods, NS);
  const oldUID = (await pods.get('web-1')).metadata?.uid;
  await pods.delete('web-1');
  await h.sync();
  const again = await pods.get('web-1');
  assert.notEqual(again.metadata?.uid, oldUID);
  assert.equal(again.spec?.hostname, 'web-1');
  await h.markReady(['web-1']);

  const web2 = await pods.get('web-2');
  await pods.updateStatus({ ...web2, status: { phase: 'Failed' } });
  await h.sync();
  assert.deepEqual(await h.names(), ['web-0', 'web-1']);
  assert.ok(h.recorder.lines().includes('Warning RecreatingFailedPod StatefulSet default/web is recreating failed Pod web-2'));
  await h.sync();
  assert.deepEqual(await h.names(), ['web-0', 'web-1', 'web-2']);
});

test('rolling update replaces pods from the highest ordinal, each after the one above is ready', async () => {
  const h = new Harness();
  await h.createSet(newStatefulSet());
  await h.converge();
  await h.updateSet((s) => { s.spec!.template.spec!.containers[0]!.image = 'nginx:2'; });

  const order: string[] = [];
  for (let i = 0; i < 30; i++) {
    await h.sync();
    const pods = await h.pods();
    const missing = ['web-0', 'web-1', 'web-2'].filter((n) => !pods.some((p) => p.metadata?.name === n));
    order.push(...missing.filter((n) => !order.includes(n)));
    // Never more than one pod down at once.
    assert.ok(missing.length + pods.filter((p) => !p.status?.phase).length <= 1, `step ${i}: ${JSON.stringify(pods.map((p) => [p.metadata?.name, image(p), p.status?.phase]))}`);
    if (pods.length === 3 && pods.every((p) => image(p) === 'nginx:2' && p.status?.phase === 'Running')) break;
    await h.markReady();
  }
  assert.deepEqual(order, ['web-2', 'web-1', 'web-0']);
  await h.sync();
  const revs = await h.revisions();
  assert.deepEqual(revs.map((r) => r.revision), [1, 2]);
  const status = (await h.set()).status;
  assert.equal(status?.updateRevision, revs[1]!.metadata!.name);
  assert.equal(status?.currentRevision, revs[1]!.metadata!.name, 'a finished update makes the update revision current');
  assert.equal(status?.currentReplicas, 3);
  assert.equal(status?.updatedReplicas, 3);
  for (const p of await h.pods()) assert.equal(p.metadata?.labels?.['controller-revision-hash'], revs[1]!.metadata!.name);
});

test('a partition keeps lower ordinals at the current revision, also when they are recreated', async () => {
  const h = new Harness();
  await h.createSet(newStatefulSet());
  await h.converge();
  await h.updateSet((s) => {
    s.spec!.template.spec!.containers[0]!.image = 'nginx:2';
    s.spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 2 } };
  });
  await h.converge();
  assert.deepEqual((await h.pods()).map(image), ['nginx:1', 'nginx:1', 'nginx:2']);
  const status = (await h.set()).status;
  assert.equal(status?.updatedReplicas, 1);
  assert.equal(status?.currentReplicas, 2);
  assert.notEqual(status?.currentRevision, status?.updateRevision);

  await h.client.resource(Resources.pods, NS).delete('web-0');
  await h.converge();
  assert.deepEqual((await h.pods()).map(image), ['nginx:1', 'nginx:1', 'nginx:2']);
});

test('OnDelete updates a pod only when it is deleted', async () => {
  const h = new Harness();
  await h.createSet(newStatefulSet({ updateStrategy: { type: 'OnDelete' } }));
  await h.converge();
  await h.updateSet((s) => { s.spec!.template.spec!.containers[0]!.image = 'nginx:2'; });
  await h.converge();
  assert.deepEqual((await h.pods()).map(image), ['nginx:1', 'nginx:1', 'nginx:1']);
  await h.client.resource(Resources.pods, NS).delete('web-1');
  await h.converge();
  assert.deepEqual((await h.pods()).map(image), ['nginx:1', 'nginx:2', 'nginx:1']);
});

test('rolling back reuses the old revision with a new number; history is trimmed to the limit', async () => {
  const h = new Harness();
  await h.createSet(newStatefulSet({ replicas: 1, revisionHistoryLimit: 1 }));
  await h.converge();
  const [v1] = await h.revisions();
  await h.updateSet((s) => { s.spec!.template.spec!.containers[0]!.image = 'nginx:2'; });
  await h.converge();
  await h.updateSet((s) => { s.spec!.template.spec!.containers[0]!.image = 'nginx:1'; });
  await h.converge();
  let revs = await h.revisions();
  assert.deepEqual(revs.map((r) => [r.metadata?.name, r.revision]).at(-1), [v1!.metadata!.name, 3]);
  assert.equal(revs.length, 2);

  await h.updateSet((s) => { s.spec!.template.spec!.containers[0]!.image = 'nginx:3'; });
  await h.converge();
  await h.updateSet((s) => { s.spec!.template.spec!.containers[0]!.image = 'nginx:4'; });
  await h.converge();
  revs = await h.revisions();
  // Live: the current/update revision (nginx:4); one more kept for history.
  assert.deepEqual(revs.map((r) => r.revision), [4, 5]);
});

test('volumeClaimTemplates become emptyDir volumes (claims are not served)', async () => {
  const h = new Harness();
  const set = newStatefulSet({ replicas: 1 });
  set.spec!.volumeClaimTemplates = [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'] } }];
  set.spec!.template.spec!.containers[0]!.volumeMounts = [{ name: 'www', mountPath: '/usr/share/nginx/html' }];
  await h.createSet(set);
  await h.sync();
  const [pod] = await h.pods();
  assert.deepEqual(pod!.spec?.volumes, [{ name: 'www', emptyDir: {} }]);
});

test('orphan pods named after the set are adopted; others are not', async () => {
  const h = new Harness();
  const pods = h.client.resource<Pod>(Resources.pods, NS);
  for (const name of ['web-0', 'other-0']) {
    await pods.create({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace: NS, labels: { app: 'nginx' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1' }] },
      status: { phase: 'Running' },
    });
  }
  await h.markReady(['web-0', 'other-0']);
  await h.createSet(newStatefulSet({ replicas: 1 }));
  await h.sync();
  await h.sync();
  const web0 = await pods.get('web-0');
  assert.equal(web0.metadata?.ownerReferences?.[0]?.name, 'web');
  assert.equal(web0.metadata?.labels?.['statefulset.kubernetes.io/pod-name'], 'web-0', 'identity repaired');
  assert.equal((await pods.get('other-0')).metadata?.ownerReferences, undefined);
});
