import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../../client/fake.js';
import { newWorkQueue } from '../../client/workqueue.js';
import { Resources } from '../../client/interface.js';
import type { Deployment, Pod, ReplicaSet } from '../../client/objects.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { deepClone, formatRFC3339, type KObject } from '../../apimachinery/meta.js';
import { TestInformer, RecordingEventRecorder } from '../util/testing.js';
import { ReplicaSetController, replicaSetKind, type ReplicaSetLike } from '../replicaset/controller.js';
import { DeploymentController } from './controller.js';

const NOW = Date.UTC(2026, 0, 1, 12);

function newDeployment(o: { replicas?: number; image?: string; strategy?: NonNullable<Deployment['spec']>['strategy']; historyLimit?: number; progressDeadlineSeconds?: number; changeCause?: string } = {}): Deployment {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-web', generation: 1, ...(o.changeCause ? { annotations: { 'kubernetes.io/change-cause': o.changeCause } } : {}) },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: o.image ?? 'nginx:1' }] } },
      strategy: o.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: o.historyLimit ?? 10,
      progressDeadlineSeconds: o.progressDeadlineSeconds ?? 600,
    },
  };
}

/** Runs the Deployment and ReplicaSet controllers over a FakeClient, the test playing kubelet. */
class Cluster {
  readonly clock = new FakeClock(NOW);
  readonly client = new FakeClient({ clock: this.clock });
  readonly recorder = new RecordingEventRecorder();
  readonly pods = new TestInformer<Pod>(Resources.pods);
  readonly rss = new TestInformer<ReplicaSet>(Resources.replicasets);
  readonly deployments = new TestInformer<Deployment>(Resources.deployments);
  readonly dc: DeploymentController;
  readonly rsc: ReplicaSetController;
  /** Called after every controller write step, to check invariants mid-rollout. */
  onStep: () => Promise<void> = async () => {};

  constructor(d: Deployment) {
    this.client.seed(Resources.deployments, d as KObject);
    this.dc = new DeploymentController({
      client: this.client, deploymentInformer: this.deployments, rsInformer: this.rss, podInformer: this.pods,
      recorder: this.recorder, clock: this.clock, logger: silentLogger(), queue: newWorkQueue<string>({ name: 'd', clock: this.clock }),
    });
    this.rsc = new ReplicaSetController({
      kind: replicaSetKind, client: this.client, podInformer: this.pods, rsInformer: this.rss as TestInformer<ReplicaSetLike>,
      recorder: new RecordingEventRecorder(), clock: this.clock, logger: silentLogger(), queue: newWorkQueue<string>({ name: 'rs', clock: this.clock }),
    });
  }

  async refresh(): Promise<void> {
    await this.deployments.refresh(this.client);
    await this.rss.refresh(this.client);
    await this.pods.refresh(this.client);
  }

  async syncDeployment(): Promise<void> {
    await this.dc.sync('default/web');
    await this.refresh();
    await this.onStep();
  }

  async syncReplicaSets(): Promise<void> {
    for (const rs of this.rss.lister.list('default')) await this.rsc.sync(`default/${rs.metadata!.name}`);
    await this.refresh();
    await this.onStep();
  }

  /** The kubelet: every pod not yet ready becomes Running and Ready now. */
  async markPodsReady(): Promise<void> {
    for (const pod of await this.podList()) {
      if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      const t = formatRFC3339(this.clock.now());
      await this.client.resource<Pod>(Resources.pods, 'default').updateStatus({
        ...pod, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }] },
      });
    }
    await this.refresh();
  }

  /** Deployment sync, ReplicaSet syncs, kubelet; `rounds` times. */
  async run(rounds = 12, kubelet = true): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      await this.syncDeployment();
      await this.syncReplicaSets();
      if (kubelet) await this.markPodsReady();
    }
    await this.syncDeployment();
  }

  async deployment(): Promise<Deployment> {
    return this.client.resource<Deployment>(Resources.deployments, 'default').get('web');
  }

  async updateDeployment(f: (d: Deployment) => void): Promise<void> {
    const d = deepClone(await this.deployment());
    f(d);
    await this.client.resource<Deployment>(Resources.deployments, 'default').update(d);
    await this.refresh();
  }

  async rsList(): Promise<ReplicaSet[]> {
    return (await this.client.resource<ReplicaSet>(Resources.replicasets, 'default').list()).items;
  }

  async podList(): Promise<Pod[]> {
    return (await this.client.resource<Pod>(Resources.pods, 'default').list()).items;
  }

  async rsByImage(image: string): Promise<ReplicaSet | undefined> {
    return (await this.rsList()).find((rs) => rs.spec?.template?.spec?.containers[0]?.image === image);
  }

  static async start(d: Deployment): Promise<Cluster> {
    const c = new Cluster(d);
    await c.refresh();
    return c;
  }
}

function condition(d: Deployment, type: string): [string | undefined, string | undefined, string | undefined] {
  const c = d.status?.conditions?.find((x) => x.type === type);
  return [c?.status, c?.reason, c?.message];
}

test('a new Deployment gets a ReplicaSet <name>-<pod-template-hash> and rolls out to completion', async () => {
  const c = await Cluster.start(newDeployment({ changeCause: 'kubectl create deployment web --image=nginx:1' }));
  await c.syncDeployment();
  const [rs] = await c.rsList();
  assert.ok(rs !== undefined, 'a ReplicaSet was created');
  const hash = rs.metadata!.labels!['pod-template-hash']!;
  assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  assert.equal(rs.metadata!.name, `web-${hash}`);
  assert.deepEqual(rs.spec!.selector, { matchLabels: { app: 'web', 'pod-template-hash': hash } });
  assert.deepEqual(rs.spec!.template!.metadata!.labels, { app: 'web', 'pod-template-hash': hash });
  assert.deepEqual(rs.metadata!.annotations, {
    'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/desired-replicas': '3',
    'deployment.kubernetes.io/max-replicas': '4', 'kubernetes.io/change-cause': 'kubectl create deployment web --image=nginx:1',
  });
  assert.equal(rs.spec!.replicas, 3);
  assert.deepEqual(rs.metadata!.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true, blockOwnerDeletion: true }]);
  assert.deepEqual(c.recorder.lines(), [`Normal ScalingReplicaSet Scaled up replica set web-${hash} from 0 to 3`]);
  let d = await c.deployment();
  assert.deepEqual(condition(d, 'Progressing'), ['True', 'NewReplicaSetCreated', `Created new replica set "web-${hash}"`]);
  await c.run(3);
  d = await c.deployment();
  assert.deepEqual(
    { ...d.status, conditions: undefined },
    { observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, conditions: undefined },
  );
  assert.deepEqual(condition(d, 'Available'), ['True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.']);
  assert.deepEqual(condition(d, 'Progressing'), ['True', 'NewReplicaSetAvailable', `ReplicaSet "web-${hash}" has successfully progressed.`]);
  const pods = await c.podList();
  assert.equal(pods.length, 3);
  for (const p of pods) assert.match(p.metadata!.name!, new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
});

const rollingCases = [
  { name: 'maxSurge 1, maxUnavailable 0', replicas: 4, maxSurge: 1, maxUnavailable: 0 },
  { name: 'maxSurge 0, maxUnavailable 1', replicas: 4, maxSurge: 0, maxUnavailable: 1 },
  { name: '25%/25% of 10 (surge rounds up to 3, unavailable down to 2)', replicas: 10, maxSurge: '25%', maxUnavailable: '25%', surgeN: 3, unavailableN: 2 },
];
for (const tc of rollingCases) {
  test(`RollingUpdate to a new template respects ${tc.name}`, async () => {
    const c = await Cluster.start(newDeployment({ replicas: tc.replicas, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: tc.maxSurge, maxUnavailable: tc.maxUnavailable } } }));
    await c.run(4);
    const v1 = (await c.rsByImage('nginx:1'))!;
    await c.updateDeployment((d) => { d.spec!.template.spec!.containers[0]!.image = 'nginx:2'; });
    const surge = tc.surgeN ?? (tc.maxSurge as number);
    const unavailable = tc.unavailableN ?? (tc.maxUnavailable as number);
    let maxPods = 0;
    let minReady = Infinity;
    c.onStep = async () => {
      const pods = await c.podList();
      const ready = pods.filter((p) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length;
      maxPods = Math.max(maxPods, pods.length);
      minReady = Math.min(minReady, ready);
    };
    await c.run(20);
    assert.ok(maxPods <= tc.replicas + surge, `at most ${tc.replicas + surge} pods (saw ${maxPods})`);
    assert.ok(minReady >= tc.replicas - unavailable, `at least ${tc.replicas - unavailable} ready (saw ${minReady})`);
    assert.equal(maxPods, tc.replicas + surge, 'the surge was used');
    const v2 = (await c.rsByImage('nginx:2'))!;
    assert.equal(v2.spec!.replicas, tc.replicas);
    assert.equal(v2.metadata!.annotations!['deployment.kubernetes.io/revision'], '2');
    assert.equal((await c.rsByImage('nginx:1'))!.spec!.replicas, 0);
    assert.equal((await c.podList()).filter((p) => p.metadata!.labels!['pod-template-hash'] === v1.metadata!.labels!['pod-template-hash']).length, 0);
    const d = await c.deployment();
    assert.deepEqual(condition(d, 'Progressing'), ['True', 'NewReplicaSetAvailable', `ReplicaSet "${v2.metadata!.name}" has successfully progressed.`]);
    assert.equal(d.status!.updatedReplicas, tc.replicas);
  });
}

test('rollback to the old template re-uses its ReplicaSet and bumps its revision', async () => {
  const c = await Cluster.start(newDeployment({ replicas: 2 }));
  await c.run(4);
  await c.updateDeployment((d) => { d.spec!.template.spec!.containers[0]!.image = 'nginx:2'; });
  await c.run(10);
  // What `kubectl rollout undo` does: copy revision 1's template back.
  await c.updateDeployment((d) => { d.spec!.template.spec!.containers[0]!.image = 'nginx:1'; });
  c.recorder.clear();
  await c.run(10);
  const rss = await c.rsList();
  assert.equal(rss.length, 2, 'no third ReplicaSet');
  const v1 = (await c.rsByImage('nginx:1'))!;
  const v2 = (await c.rsByImage('nginx:2'))!;
  assert.equal(v1.metadata!.annotations!['deployment.kubernetes.io/revision'], '3');
  assert.equal(v1.metadata!.annotations!['deployment.kubernetes.io/revision-history'], '1');
  assert.equal(v2.metadata!.annotations!['deployment.kubernetes.io/revision'], '2');
  assert.equal(v1.spec!.replicas, 2);
  assert.equal(v2.spec!.replicas, 0);
  assert.equal(c.recorder.lines()[0], `Normal ScalingReplicaSet Scaled up replica set ${v1.metadata!.name} to 1 from 0`);
});

test('paused: no rollout, DeploymentPaused; resumed: DeploymentResumed, then the rollout', async () => {
  const c = await Cluster.start(newDeployment({ replicas: 2 }));
  await c.run(4);
  await c.updateDeployment((d) => { d.spec!.paused = true; });
  await c.syncDeployment();
  assert.deepEqual(condition(await c.deployment(), 'Progressing'), ['Unknown', 'DeploymentPaused', 'Deployment is paused']);
  await c.updateDeployment((d) => { d.spec!.template.spec!.containers[0]!.image = 'nginx:2'; });
  await c.run(3);
  assert.equal(await c.rsByImage('nginx:2'), undefined, 'no new ReplicaSet while paused');
  assert.equal((await c.deployment()).status!.observedGeneration, 3);
  await c.updateDeployment((d) => { d.spec!.paused = false; });
  await c.dc.sync('default/web');
  const resumed = await c.deployment();
  assert.deepEqual(condition(resumed, 'Progressing')[0], 'True');
  assert.ok(c.client.actions().some((a) => a.verb === 'update' && a.subresource === 'status' &&
    JSON.stringify(a.object).includes('"reason":"DeploymentResumed"')), 'DeploymentResumed was written');
  await c.refresh();
  await c.run(10);
  assert.equal((await c.rsByImage('nginx:2'))!.spec!.replicas, 2);
});

test('Recreate: old ReplicaSets scaled to 0 and their pods gone before the new one scales up', async () => {
  const c = await Cluster.start(newDeployment({ replicas: 3, strategy: { type: 'Recreate' } }));
  await c.run(4);
  await c.updateDeployment((d) => { d.spec!.template.spec!.containers[0]!.image = 'nginx:2'; });
  let overlap = false;
  c.onStep = async () => {
    const images = new Set((await c.podList()).map((p) => p.spec!.containers[0]!.image));
    if (images.size > 1) overlap = true;
  };
  await c.syncDeployment();
  assert.equal((await c.rsByImage('nginx:1'))!.spec!.replicas, 0);
  assert.equal(await c.rsByImage('nginx:2'), undefined, 'not created while old pods run');
  await c.run(6);
  assert.equal(overlap, false, 'never old and new pods together');
  assert.equal((await c.rsByImage('nginx:2'))!.spec!.replicas, 3);
  assert.equal((await c.podList()).length, 3);
});

test('revisionHistoryLimit: old ReplicaSets scaled to 0 beyond the limit are deleted, oldest first', async () => {
  const c = await Cluster.start(newDeployment({ replicas: 1, historyLimit: 1 }));
  await c.run(4);
  for (const image of ['nginx:2', 'nginx:3']) {
    await c.updateDeployment((d) => { d.spec!.template.spec!.containers[0]!.image = image; });
    await c.run(8);
  }
  const images = (await c.rsList()).map((rs) => rs.spec!.template!.spec!.containers[0]!.image).sort();
  assert.deepEqual(images, ['nginx:2', 'nginx:3']);
});

test('scaling a completed Deployment scales its ReplicaSet (scaling event)', async () => {
  const c = await Cluster.start(newDeployment({ replicas: 3 }));
  await c.run(4);
  const rs = (await c.rsList())[0]!;
  c.recorder.clear();
  await c.updateDeployment((d) => { d.spec!.replicas = 5; });
  await c.run(4);
  assert.equal(c.recorder.lines()[0], `Normal ScalingReplicaSet Scaled up replica set ${rs.metadata!.name} to 5 from 3`);
  const after = (await c.rsList())[0]!;
  assert.equal(after.metadata!.annotations!['deployment.kubernetes.io/desired-replicas'], '5');
  assert.equal((await c.deployment()).status!.availableReplicas, 5);
});

test('ProgressDeadlineExceeded once no progress is made for progressDeadlineSeconds', async () => {
  const c = await Cluster.start(newDeployment({ replicas: 2, progressDeadlineSeconds: 60 }));
  await c.run(3, false);
  let d = await c.deployment();
  const rs = (await c.rsList())[0]!;
  // Pods were created (progress), but none becomes ready.
  assert.deepEqual(condition(d, 'Progressing'), ['True', 'ReplicaSetUpdated', `ReplicaSet "${rs.metadata!.name}" is progressing.`]);
  assert.deepEqual(condition(d, 'Available'), ['False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.']);
  c.clock.step(61_000);
  await c.syncDeployment();
  d = await c.deployment();
  assert.deepEqual(condition(d, 'Progressing'), ['False', 'ProgressDeadlineExceeded', `ReplicaSet "${rs.metadata!.name}" has timed out progressing.`]);
});

test('scaling mid-rollout spreads the new replicas proportionally over the active ReplicaSets', async () => {
  const c = await Cluster.start(newDeployment({ replicas: 10 }));
  await c.run(4);
  await c.updateDeployment((d) => { d.spec!.template.spec!.containers[0]!.image = 'nginx:2'; });
  // One sync: surge 3 (25% of 10 rounded up) and 2 old replicas fewer (25% rounded down).
  await c.syncDeployment();
  const sizes = async () => [(await c.rsByImage('nginx:1'))!.spec!.replicas, (await c.rsByImage('nginx:2'))!.spec!.replicas];
  assert.deepEqual(await sizes(), [8, 3]);
  await c.updateDeployment((d) => { d.spec!.replicas = 20; });
  c.recorder.clear();
  await c.syncDeployment();
  // 20 + 5 surge = 25 allowed; 8·25/13 ≈ 15 and 3·25/13 ≈ 6 (max-replicas was 13), the
  // leftover 4 to the largest.
  assert.deepEqual(await sizes(), [19, 6]);
  const v1 = (await c.rsByImage('nginx:1'))!.metadata!.name;
  const v2 = (await c.rsByImage('nginx:2'))!.metadata!.name;
  assert.deepEqual(c.recorder.lines(), [
    `Normal ScalingReplicaSet Scaled up replica set ${v1} to 19 from 8`,
    `Normal ScalingReplicaSet Scaled up replica set ${v2} to 6 from 3`,
  ]);
  await c.run(20);
  assert.deepEqual(await sizes(), [0, 20]);
});

test('adopts an orphaned ReplicaSet whose template matches as the new one', async () => {
  const d = newDeployment({ replicas: 2 });
  const c = new Cluster(d);
  c.client.seed(Resources.replicasets, {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name: 'web-orphan', namespace: 'default', labels: { app: 'web' }, generation: 1 },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: deepClone(d.spec!.template) },
    status: { replicas: 0 },
  } as KObject);
  await c.refresh();
  await c.syncDeployment();
  const rss = await c.rsList();
  assert.deepEqual(rss.map((rs) => rs.metadata!.name), ['web-orphan']);
  const patch = c.client.actions().find((a) => a.verb === 'patch' && a.name === 'web-orphan');
  assert.deepEqual(patch?.object, { metadata: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true, blockOwnerDeletion: true }], uid: rss[0]!.metadata!.uid } });
  assert.equal(rss[0]!.metadata!.annotations?.['deployment.kubernetes.io/revision'], '1');
});
