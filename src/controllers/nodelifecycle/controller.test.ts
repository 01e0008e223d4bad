import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Resources } from '../../client/interface.js';
import type { Lease, Node, Pod, Taint } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import { NodeLifecycleController } from './controller.js';
import { TaintEvictionController } from './tainteviction.js';
import { asKObjects, Harness, newLease, newNode, newPod, nodeFailureTolerations } from './testing.js';

const GRACE_MS = 40_000;

function start(h: Harness, nodes: string[], pods: Pod[]) {
  const now = h.clock.now();
  h.client.seed(Resources.nodes, ...asKObjects(...nodes.map((n) => newNode(n, now))));
  h.client.seed(Resources.leases, ...asKObjects(...nodes.map((n) => newLease(n, now))));
  if (pods.length) h.client.seed(Resources.pods, ...asKObjects(...pods));
  const nlc = new NodeLifecycleController({
    client: h.client,
    nodeInformer: h.informers.forResource<Node>(Resources.nodes),
    podInformer: h.informers.forResource<Pod>(Resources.pods),
    leaseInformer: h.informers.forResource<Lease>(Resources.leases),
    recorder: h.recorder('node-controller'),
    clock: h.clock,
    logger: h.logger,
    nodeQueue: newWorkQueue<string>({ name: 'nodes', clock: h.clock }),
    podQueue: newWorkQueue<string>({ name: 'pods', clock: h.clock }),
    nodeMonitorPeriodMs: 5_000,
    nodeMonitorGracePeriodMs: GRACE_MS,
    nodeStartupGracePeriodMs: 60_000,
    waitForCacheSync: (s) => h.informers.waitForCacheSync(s),
  });
  const tec = new TaintEvictionController({
    client: h.client,
    podInformer: h.informers.forResource<Pod>(Resources.pods),
    nodeInformer: h.informers.forResource<Node>(Resources.nodes),
    recorder: h.recorder('taint-eviction-controller'),
    clock: h.clock,
    logger: h.logger,
    nodeQueue: newWorkQueue<string>({ name: 'taint-nodes', clock: h.clock }),
    podQueue: newWorkQueue<string>({ name: 'taint-pods', clock: h.clock }),
    waitForCacheSync: (s) => h.informers.waitForCacheSync(s),
  });
  return { nlc, tec };
}

const hasTaint = (node: Node, key: string, effect: string) => (node.spec?.taints ?? []).some((t: Taint) => t.key === key && t.effect === effect);
const UNREACHABLE = 'node.kubernetes.io/unreachable';

test('a node whose Lease stops is marked Unknown, tainted unreachable, and its pods are evicted per their tolerations', async (t) => {
  const h = new Harness();
  t.after(() => h.stop());
  const { nlc, tec } = start(h, ['node-a', 'node-b'], [
    newPod('no-toleration', 'node-a'),
    newPod('tolerates-300', 'node-a', { tolerations: nodeFailureTolerations(300) }),
    newPod('tolerates-forever', 'node-a', { tolerations: nodeFailureTolerations() }),
    newPod('elsewhere', 'node-b'),
  ]);
  await h.start(nlc, tec);
  // node-b's kubelet keeps going; node-a's has stopped.
  const healthyKubelet = async () => {
    if (h.clock.now() % 10_000 === 0) await h.kubeletHeartbeat('node-b', true);
  };

  // Within the grace period nothing happens.
  await h.advance(GRACE_MS - 5_000, { each: healthyKubelet });
  assert.equal((await h.node('node-a')).status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');

  const tainted = await h.advance(60_000, { each: healthyKubelet, until: async () => hasTaint(await h.node('node-a'), UNREACHABLE, 'NoExecute') });
  assert.ok(tainted, 'node-a never got the unreachable NoExecute taint');
  const taintedAt = h.clock.now();

  const a = await h.node('node-a');
  for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
    const c = a.status?.conditions?.find((x) => x.type === type);
    assert.deepEqual([c?.status, c?.reason, c?.message], ['Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.'], type);
  }
  assert.ok(hasTaint(a, UNREACHABLE, 'NoSchedule'), 'unreachable NoSchedule taint (TaintNodesByCondition)');
  const b = await h.node('node-b');
  assert.equal(b.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  assert.deepEqual(b.spec?.taints ?? [], []);

  // Pods on the silent node are no longer Ready.
  const tolerating = await h.client.resource<Pod>(Resources.pods, 'default').get('tolerates-300');
  assert.equal(tolerating.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  const elsewhere = await h.client.resource<Pod>(Resources.pods, 'default').get('elsewhere');
  assert.equal(elsewhere.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');

  // A pod that does not tolerate the taint goes at once.
  assert.equal(await h.podExists('default', 'no-toleration'), false);
  assert.equal(await h.podExists('default', 'tolerates-300'), true);

  // tolerationSeconds=300: still there at 299 s, gone at 300 s.
  await h.advance(299_000 - (h.clock.now() - taintedAt), { each: healthyKubelet });
  assert.equal(await h.podExists('default', 'tolerates-300'), true, 'evicted before its tolerationSeconds');
  await h.advance(1_000, { each: healthyKubelet });
  assert.equal(await h.podExists('default', 'tolerates-300'), false, 'not evicted after its tolerationSeconds');
  assert.equal(await h.podExists('default', 'tolerates-forever'), true);
  assert.equal(await h.podExists('default', 'elsewhere'), true);

  const events = await h.events();
  const texts = events.map((e) => `${e.source?.component} ${e.reason} ${e.message}`);
  assert.ok(texts.includes('node-controller NodeNotReady Node node-a status is now: NodeNotReady'), texts.join('\n'));
  assert.ok(texts.includes('taint-eviction-controller TaintManagerEviction Marking for deletion Pod default/tolerates-300'), texts.join('\n'));
  assert.ok(texts.includes('taint-eviction-controller TaintManagerEviction Marking for deletion Pod default/no-toleration'), texts.join('\n'));
  assert.ok(texts.includes('node-controller NodeNotReady Node is not ready'), texts.join('\n'));

  // The kubelet comes back: the taints go.
  await h.kubeletHeartbeat('node-a', true);
  const cleared = await h.advance(10_000, {
    each: healthyKubelet,
    until: async () => {
      const n = await h.node('node-a');
      return !hasTaint(n, UNREACHABLE, 'NoExecute') && !hasTaint(n, UNREACHABLE, 'NoSchedule');
    },
  });
  assert.ok(cleared, `taints stayed: ${JSON.stringify((await h.node('node-a')).spec?.taints)}`);
});

test('a scheduled eviction is cancelled when the node recovers before tolerationSeconds', async (t) => {
  const h = new Harness();
  t.after(() => h.stop());
  const { nlc, tec } = start(h, ['node-a', 'node-b'], [newPod('tolerates-300', 'node-a', { tolerations: nodeFailureTolerations(300) })]);
  await h.start(nlc, tec);
  const healthyKubelet = async () => {
    if (h.clock.now() % 10_000 === 0) await h.kubeletHeartbeat('node-b', true);
  };
  assert.ok(await h.advance(120_000, { each: healthyKubelet, until: async () => hasTaint(await h.node('node-a'), UNREACHABLE, 'NoExecute') }));
  await h.advance(100_000, { each: healthyKubelet });
  await h.kubeletHeartbeat('node-a', true);
  const recovered = async () => {
    if (h.clock.now() % 10_000 === 0) {
      await h.kubeletHeartbeat('node-b', true);
      await h.kubeletHeartbeat('node-a', true);
    }
  };
  await h.advance(300_000, { each: recovered });
  assert.equal(await h.podExists('default', 'tolerates-300'), true);
  assert.equal(hasTaint(await h.node('node-a'), UNREACHABLE, 'NoExecute'), false);
  const texts = (await h.events()).map((e) => `${e.reason} ${e.message}`);
  assert.ok(texts.includes('TaintManagerEviction Cancelling deletion of Pod default/tolerates-300'), texts.join('\n'));
});

test('a Lease that keeps renewing keeps the node healthy without status posts', async (t) => {
  const h = new Harness();
  t.after(() => h.stop());
  const { nlc, tec } = start(h, ['node-a', 'node-b'], []);
  await h.start(nlc, tec);
  await h.advance(120_000, {
    each: async () => {
      if (h.clock.now() % 10_000 === 0) {
        await h.kubeletHeartbeat('node-a', false);
        await h.kubeletHeartbeat('node-b', false);
      }
    },
  });
  for (const n of ['node-a', 'node-b']) {
    const node = await h.node(n);
    assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True', n);
    assert.deepEqual(node.spec?.taints ?? [], [], n);
  }
});

test('when every node is silent the controller enters master disruption mode and taints nothing', async (t) => {
  const h = new Harness();
  t.after(() => h.stop());
  const { nlc, tec } = start(h, ['node-a', 'node-b'], [newPod('p', 'node-a')]);
  await h.start(nlc, tec);
  await h.advance(120_000);
  for (const n of ['node-a', 'node-b']) {
    const node = await h.node(n);
    assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'Unknown', n);
    assert.equal(hasTaint(node, UNREACHABLE, 'NoExecute'), false, n);
  }
  assert.equal(await h.podExists('default', 'p'), true);
  assert.equal(nlc.zoneStates.get(''), 'FullDisruption');
});

test('NoSchedule taints follow node conditions and spec.unschedulable', async (t) => {
  const h = new Harness();
  t.after(() => h.stop());
  const { nlc } = start(h, ['node-a'], []);
  await h.start(nlc);
  const nodes = h.client.resource<Node>(Resources.nodes);
  const node = await h.node('node-a');
  await nodes.update({ ...node, spec: { ...node.spec, unschedulable: true } });
  const cur = await h.node('node-a');
  await nodes.updateStatus({
    ...cur,
    status: { ...cur.status, conditions: cur.status?.conditions?.map((c) => (c.type === 'MemoryPressure' ? { ...c, status: 'True' } : c)) },
  });
  await h.advance(2_000);
  const keys = ((await h.node('node-a')).spec?.taints ?? []).map((x) => `${x.key}:${x.effect}`).sort();
  assert.deepEqual(keys, ['node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule']);
  const again = await h.node('node-a');
  await nodes.update({ ...again, spec: { ...again.spec, unschedulable: false } });
  await h.advance(2_000);
  const after = ((await h.node('node-a')).spec?.taints ?? []).map((x) => `${x.key}:${x.effect}`);
  assert.deepEqual(after, ['node.kubernetes.io/memory-pressure:NoSchedule']);
});

test('a node that never posted status gets Unknown conditions after the startup grace period', async (t) => {
  const h = new Harness();
  t.after(() => h.stop());
  const { nlc } = start(h, ['node-b'], []);
  h.client.seed(Resources.nodes, ...asKObjects({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'silent' }, spec: {} }));
  await h.start(nlc);
  const keepB = async () => {
    if (h.clock.now() % 10_000 === 0) await h.kubeletHeartbeat('node-b', true);
  };
  // Longer than the monitor grace period, shorter than the startup one (60 s).
  await h.advance(55_000, { each: keepB });
  assert.equal((await h.node('silent')).status?.conditions, undefined);
  await h.advance(10_000, { each: keepB });
  const conds = (await h.node('silent')).status?.conditions ?? [];
  assert.deepEqual(
    conds.map((c) => [c.type, c.status, c.reason, c.message]),
    ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => [type, 'Unknown', 'NodeStatusNeverUpdated', 'Kubelet never posted node status.']),
  );
});
