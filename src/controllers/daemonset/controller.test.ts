import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../../client/fake.js';
import { Resources } from '../../client/interface.js';
import type { ControllerRevision, DaemonSet, Node, Pod, Taint } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import { formatRFC3339, type KObject } from '../../apimachinery/meta.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { RecordingEventRecorder, TestInformer } from '../util/testing.js';
import { DaemonSetsController } from './controller.js';
import { getTargetNodeName } from './util.js';

const NS = 'kube-system';

function newNode(name: string, taints: Taint[] = [], labels: Record<string, string> = {}): Node & KObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } }, spec: { taints } };
}

function newDaemonSet(opts: { image?: string; strategy?: NonNullable<DaemonSet['spec']>['updateStrategy']; revisionHistoryLimit?: number } = {}): DaemonSet & KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'kube-proxy', namespace: NS, annotations: { 'deprecated.daemonset.template.generation': '1' } },
    spec: {
      selector: { matchLabels: { k8s: 'kube-proxy' } },
      template: { metadata: { labels: { k8s: 'kube-proxy' } }, spec: { hostNetwork: true, containers: [{ name: 'kube-proxy', image: opts.image ?? 'kube-proxy:v1' }] } },
      updateStrategy: opts.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      revisionHistoryLimit: opts.revisionHistoryLimit ?? 10,
    },
  };
}

/** A DaemonSet controller over a FakeClient with informers the test refreshes by hand. */
class Harness {
  readonly clock = new FakeClock();
  readonly client = new FakeClient({ clock: this.clock });
  readonly recorder = new RecordingEventRecorder();
  readonly informers = {
    ds: new TestInformer<DaemonSet>(Resources.daemonsets),
    pods: new TestInformer<Pod>(Resources.pods),
    nodes: new TestInformer<Node>(Resources.nodes),
    history: new TestInformer<ControllerRevision>(Resources.controllerrevisions),
  };
  readonly ctrl = new DaemonSetsController({
    client: this.client,
    dsInformer: this.informers.ds,
    podInformer: this.informers.pods,
    nodeInformer: this.informers.nodes,
    historyInformer: this.informers.history,
    recorder: this.recorder,
    clock: this.clock,
    logger: silentLogger(),
    queue: newWorkQueue<string>({ name: 'daemonset', clock: this.clock }),
    workers: 1,
  });

  async refresh(): Promise<void> {
    for (const inf of Object.values(this.informers)) await (inf as TestInformer<object>).refresh(this.client);
  }

  /** Brings the caches up to date, syncs, and refreshes again so handlers see the writes. */
  async sync(name = 'kube-proxy'): Promise<void> {
    await this.refresh();
    await this.ctrl.sync(`${NS}/${name}`);
    await this.refresh();
  }

  async create<T extends object>(gvr: typeof Resources[keyof typeof Resources], obj: T, ns?: string): Promise<T> {
    return this.client.resource<T>(gvr, ns).create(obj);
  }

  async pods(): Promise<Pod[]> {
    return (await this.client.resource<Pod>(Resources.pods, NS).list()).items;
  }

  async ds(name = 'kube-proxy'): Promise<DaemonSet> {
    return this.client.resource<DaemonSet>(Resources.daemonsets, NS).get(name);
  }

  async revisions(): Promise<ControllerRevision[]> {
    return (await this.client.resource<ControllerRevision>(Resources.controllerrevisions, NS).list()).items;
  }

  /** Plays scheduler and kubelet: binds each pod to its target node and marks it Running and Ready (or not). */
  async runPods(ready = true, filter: (p: Pod) => boolean = () => true): Promise<void> {
    const pods = this.client.resource<Pod>(Resources.pods, NS);
    for (const p of await this.pods()) {
      if (!filter(p)) continue;
      const bound = p.spec?.nodeName ? p : await pods.update({ ...p, spec: { ...p.spec!, nodeName: getTargetNodeName(p) } });
      await pods.updateStatus({
        ...bound,
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: formatRFC3339(this.clock.now()) }],
        },
      });
    }
  }

  /** Changes the template as `kubectl set image` would (the API server bumps the generation annotation). */
  async setImage(image: string): Promise<void> {
    const client = this.client.resource<DaemonSet>(Resources.daemonsets, NS);
    const ds = await client.get('kube-proxy');
    const gen = Number(ds.metadata?.annotations?.['deprecated.daemonset.template.generation'] ?? '0') + 1;
    ds.metadata!.annotations = { ...ds.metadata!.annotations, 'deprecated.daemonset.template.generation': String(gen) };
    ds.spec!.template.spec!.containers[0]!.image = image;
    await client.update(ds);
  }
}

function images(pods: Pod[]): string[] {
  return pods.map((p) => p.spec?.containers[0]?.image ?? '').sort();
}

function nodesOf(pods: Pod[]): string[] {
  return pods.map((p) => getTargetNodeName(p) ?? '').sort();
}

test('a DaemonSet on three nodes creates one pinned, labelled pod per node', async () => {
  const h = new Harness();
  for (const n of ['n1', 'n2', 'n3']) await h.create(Resources.nodes, newNode(n));
  await h.create(Resources.daemonsets, newDaemonSet(), NS);
  await h.sync();

  const pods = await h.pods();
  assert.deepEqual(nodesOf(pods), ['n1', 'n2', 'n3']);
  const [rev] = await h.revisions();
  assert.ok(rev);
  assert.equal(rev.revision, 1);
  const hash = rev.metadata!.labels!['controller-revision-hash']!;
  assert.equal(rev.metadata!.name, `kube-proxy-${hash}`);
  for (const p of pods) {
    assert.equal(p.metadata?.generateName, 'kube-proxy-');
    assert.equal(p.spec?.nodeName, undefined, 'the scheduler binds daemon pods');
    assert.deepEqual(p.metadata?.labels, { k8s: 'kube-proxy', 'controller-revision-hash': hash, 'pod-template-generation': '1' });
    assert.equal(p.metadata?.ownerReferences?.[0]?.kind, 'DaemonSet');
    assert.ok(p.spec?.tolerations?.some((t) => t.key === 'node.kubernetes.io/network-unavailable'), 'hostNetwork pods tolerate network-unavailable');
    assert.ok(p.spec?.tolerations?.some((t) => t.key === 'node.kubernetes.io/not-ready' && t.effect === 'NoExecute' && t.tolerationSeconds === undefined));
  }
  assert.equal(h.recorder.lines().filter((l) => l.startsWith('Normal SuccessfulCreate Created pod: kube-proxy-')).length, 3);

  // Expectations satisfied by the informer: a second sync creates nothing more.
  await h.sync();
  assert.equal((await h.pods()).length, 3);
  const status = (await h.ds()).status;
  assert.equal(status?.desiredNumberScheduled, 3);
  assert.equal(status?.currentNumberScheduled, 3);
  assert.equal(status?.updatedNumberScheduled, 3);
  assert.equal(status?.numberReady, 0);
  assert.equal(status?.numberUnavailable, 3);
  assert.equal(status?.observedGeneration, 1);

  await h.runPods();
  await h.sync();
  const ready = (await h.ds()).status;
  assert.equal(ready?.numberReady, 3);
  assert.equal(ready?.numberAvailable, 3);
  assert.equal(ready?.numberUnavailable ?? 0, 0);
});

test('a tainted node is skipped unless the template tolerates the taint', async () => {
  const h = new Harness();
  await h.create(Resources.nodes, newNode('n1'));
  await h.create(Resources.nodes, newNode('master', [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]));
  await h.create(Resources.daemonsets, newDaemonSet(), NS);
  await h.sync();
  assert.deepEqual(nodesOf(await h.pods()), ['n1']);
  assert.equal((await h.ds()).status?.desiredNumberScheduled, 1);

  const client = h.client.resource<DaemonSet>(Resources.daemonsets, NS);
  const ds = await client.get('kube-proxy');
  ds.spec!.template.spec!.tolerations = [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }];
  await client.update(ds);
  await h.sync();
  assert.deepEqual(nodesOf(await h.pods()).sort(), ['master', 'n1']);
});

test('a pod is added when a node appears and removed when the node goes', async () => {
  const h = new Harness();
  await h.create(Resources.nodes, newNode('n1'));
  await h.create(Resources.daemonsets, newDaemonSet(), NS);
  await h.sync();
  assert.deepEqual(nodesOf(await h.pods()), ['n1']);

  await h.create(Resources.nodes, newNode('n2'));
  await h.refresh();
  assert.ok(h.ctrl.queue.len() > 0, 'a new node enqueues the DaemonSet');
  await h.sync();
  assert.deepEqual(nodesOf(await h.pods()), ['n1', 'n2']);

  // n1's pod was never bound (no scheduler here): the DaemonSet deletes it with the node.
  await h.runPods(true, (p) => getTargetNodeName(p) === 'n2');
  await h.client.resource(Resources.nodes).delete('n1');
  await h.sync();
  assert.deepEqual(nodesOf(await h.pods()), ['n2']);
  assert.ok(h.recorder.lines().some((l) => /^Normal SuccessfulDelete Deleted pod: kube-proxy-/.test(l)));
  assert.equal((await h.ds()).status?.desiredNumberScheduled, 1);

  // A bound pod on a vanished node is left to the pod garbage collector, and not counted.
  await h.client.resource(Resources.nodes).delete('n2');
  await h.sync();
  assert.deepEqual(nodesOf(await h.pods()), ['n2']);
  const status = (await h.ds()).status;
  assert.equal(status?.desiredNumberScheduled ?? 0, 0);
  assert.equal(status?.currentNumberScheduled ?? 0, 0);
});

test('a NoSchedule taint added later keeps the running pod and counts it misscheduled; NoExecute removes it', async () => {
  const h = new Harness();
  await h.create(Resources.nodes, newNode('n1'));
  await h.create(Resources.daemonsets, newDaemonSet(), NS);
  await h.sync();
  await h.runPods();
  const nodes = h.client.resource<Node>(Resources.nodes);
  const n1 = await nodes.get('n1');
  await nodes.update({ ...n1, spec: { taints: [{ key: 'maintenance', effect: 'NoSchedule' }] } });
  await h.sync();
  assert.equal((await h.pods()).length, 1);
  assert.equal((await h.ds()).status?.numberMisscheduled, 1);
  assert.equal((await h.ds()).status?.desiredNumberScheduled, 0);

  const tainted = await nodes.get('n1');
  await nodes.update({ ...tainted, spec: { taints: [{ key: 'maintenance', effect: 'NoExecute' }] } });
  await h.sync();
  assert.equal((await h.pods()).length, 0);
});

test('a failed daemon pod is deleted with a warning and replaced', async () => {
  const h = new Harness();
  await h.create(Resources.nodes, newNode('n1'));
  await h.create(Resources.daemonsets, newDaemonSet(), NS);
  await h.sync();
  const [pod] = await h.pods();
  await h.client.resource<Pod>(Resources.pods, NS).updateStatus({ ...pod!, status: { phase: 'Failed' } });
  await h.sync();
  assert.equal((await h.pods()).length, 0);
  assert.ok(h.recorder.lines().some((l) => l.startsWith(`Warning FailedDaemonPod Found failed daemon pod ${NS}/${pod!.metadata!.name!} on node n1, will try to kill it`)));
  await h.sync();
  const pods = await h.pods();
  assert.equal(pods.length, 1);
  assert.notEqual(pods[0]!.metadata!.name, pod!.metadata!.name);
});

test('rolling update replaces one pod at a time (maxUnavailable 1) and records revisions', async () => {
  const h = new Harness();
  for (const n of ['n1', 'n2', 'n3']) await h.create(Resources.nodes, newNode(n));
  await h.create(Resources.daemonsets, newDaemonSet(), NS);
  await h.sync();
  await h.runPods();
  await h.sync();

  await h.setImage('kube-proxy:v2');
  let steps = 0;
  for (;;) {
    await h.sync();
    const pods = await h.pods();
    const notReady = pods.filter((p) => p.status?.conditions?.[0]?.status !== 'True');
    // Never more than one node without an available pod (maxUnavailable 1).
    assert.ok(3 - (pods.length - notReady.length) <= 1, `step ${steps}: ${pods.length} pods, ${notReady.length} not ready`);
    if (images(pods).join() === 'kube-proxy:v2,kube-proxy:v2,kube-proxy:v2' && notReady.length === 0) break;
    await h.runPods(true, (p) => !p.status?.phase);
    assert.ok(++steps < 20, 'rolling update did not finish');
  }
  await h.sync();
  const ds = await h.ds();
  assert.equal(ds.status?.updatedNumberScheduled, 3);
  assert.equal(ds.status?.numberAvailable, 3);
  assert.equal(ds.status?.observedGeneration, ds.metadata?.generation);
  const revs = (await h.revisions()).sort((a, b) => a.revision - b.revision);
  assert.deepEqual(revs.map((r) => r.revision), [1, 2]);
  for (const p of await h.pods()) {
    assert.equal(p.metadata?.labels?.['controller-revision-hash'], revs[1]!.metadata!.labels!['controller-revision-hash']);
    assert.equal(p.metadata?.labels?.['pod-template-generation'], '2');
  }

  // Rolling back to v1 renumbers revision 1 as 3 instead of creating another.
  await h.setImage('kube-proxy:v1');
  await h.sync();
  const after = (await h.revisions()).sort((a, b) => a.revision - b.revision);
  assert.equal(after.length, 2);
  assert.equal(after[1]!.metadata!.name, revs[0]!.metadata!.name);
  assert.equal(after[1]!.revision, 3);
});

test('rolling update does not take down a second pod while the new one is not ready', async () => {
  const h = new Harness();
  for (const n of ['n1', 'n2']) await h.create(Resources.nodes, newNode(n));
  await h.create(Resources.daemonsets, newDaemonSet(), NS);
  await h.sync();
  await h.runPods();
  await h.setImage('kube-proxy:v2');
  await h.sync(); // deletes one old pod
  await h.sync(); // creates its replacement
  await h.runPods(false, (p) => !p.status?.phase);
  await h.sync();
  await h.sync();
  const pods = await h.pods();
  assert.deepEqual(images(pods), ['kube-proxy:v1', 'kube-proxy:v2']);
});

test('maxSurge starts the new pod before deleting the old one', async () => {
  const h = new Harness();
  await h.create(Resources.nodes, newNode('n1'));
  await h.create(Resources.daemonsets, newDaemonSet({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } }), NS);
  await h.sync();
  await h.runPods();
  await h.setImage('kube-proxy:v2');
  await h.sync();
  assert.deepEqual(images(await h.pods()), ['kube-proxy:v1', 'kube-proxy:v2']);
  await h.runPods(true, (p) => !p.status?.phase);
  await h.sync();
  assert.deepEqual(images(await h.pods()), ['kube-proxy:v2']);
});

test('OnDelete leaves old pods until they are deleted', async () => {
  const h = new Harness();
  for (const n of ['n1', 'n2']) await h.create(Resources.nodes, newNode(n));
  await h.create(Resources.daemonsets, newDaemonSet({ strategy: { type: 'OnDelete' } }), NS);
  await h.sync();
  await h.runPods();
  await h.setImage('kube-proxy:v2');
  await h.sync();
  await h.sync();
  assert.deepEqual(images(await h.pods()), ['kube-proxy:v1', 'kube-proxy:v1']);
  const ds = await h.ds();
  assert.equal(ds.status?.updatedNumberScheduled ?? 0, 0);

  const [first] = await h.pods();
  await h.client.resource(Resources.pods, NS).delete(first!.metadata!.name!);
  await h.sync();
  assert.deepEqual(images(await h.pods()), ['kube-proxy:v1', 'kube-proxy:v2']);
});

test('old revisions beyond revisionHistoryLimit are deleted unless pods still use them', async () => {
  const h = new Harness();
  await h.create(Resources.nodes, newNode('n1'));
  await h.create(Resources.daemonsets, newDaemonSet({ strategy: { type: 'OnDelete' }, revisionHistoryLimit: 1 }), NS);
  await h.sync();
  for (const image of ['v2', 'v3', 'v4']) {
    await h.setImage(`kube-proxy:${image}`);
    await h.sync();
  }
  // Old revisions 1–3 against a limit of 1: two go, oldest first, but the v1 pod still
  // runs (OnDelete), so revision 1 is skipped and 2 and 3 are deleted (upstream's count).
  const revs = (await h.revisions()).sort((a, b) => a.revision - b.revision);
  assert.deepEqual(revs.map((r) => r.revision), [1, 4]);
});

test('orphan pods matching the selector are adopted instead of duplicated', async () => {
  const h = new Harness();
  // OnDelete, so the adopted pod (from no revision) is not rolled.
  await h.create(Resources.nodes, newNode('n1'));
  await h.create<Pod>(Resources.pods, {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'orphan', namespace: NS, labels: { k8s: 'kube-proxy' } },
    spec: { nodeName: 'n1', containers: [{ name: 'kube-proxy', image: 'kube-proxy:v1' }] },
  }, NS);
  await h.create(Resources.daemonsets, newDaemonSet({ strategy: { type: 'OnDelete' } }), NS);
  await h.sync();
  await h.sync();
  const pods = await h.pods();
  assert.deepEqual(pods.map((p) => p.metadata?.name), ['orphan']);
  assert.equal(pods[0]!.metadata?.ownerReferences?.[0]?.name, 'kube-proxy');
});

test('an empty selector is refused with an event', async () => {
  const h = new Harness();
  await h.create(Resources.nodes, newNode('n1'));
  const ds = newDaemonSet();
  ds.spec!.selector = {};
  await h.create(Resources.daemonsets, ds, NS);
  await h.sync();
  assert.equal((await h.pods()).length, 0);
  assert.deepEqual(h.recorder.lines(), ['Warning SelectingAll This daemon set is selecting all pods. A non-empty selector is required.']);
});
