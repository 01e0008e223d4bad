import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { FakeClient } from '../client/fake.js';
import { newInformerFactory } from '../client/informer.js';
import { Resources, type EventRecorder } from '../client/interface.js';
import type { KObject } from '../apimachinery/meta.js';
import type { Node, Pod, Taint } from '../client/objects.js';
import { FakeClock } from '../util/clock.js';
import { decodeConfiguration } from './config.js';
import { Code, CycleState, Status, type PermitPlugin } from './framework/types.js';
import { newScheduler, numFeasibleNodesToFind, type SchedulerOptions } from './scheduler.js';
import { newNode, newPod } from './testing.js';

interface RecordedEvent {
  component: string;
  object: string;
  type: string;
  reason: string;
  message: string;
}

async function waitUntil(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 20_000; i++) {
    if (await cond()) return;
    await tick();
  }
  assert.fail(`timed out waiting for ${what}`);
}

function setup(nodes: Node[], extra: Partial<SchedulerOptions> = {}, seedPods: Pod[] = []) {
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  client.seed(Resources.nodes, ...(nodes as KObject[]));
  if (seedPods.length) client.seed(Resources.pods, ...(seedPods as KObject[]));
  const informers = newInformerFactory({ client, clock });
  const events: RecordedEvent[] = [];
  const recorder = (component: string): EventRecorder => ({
    event(obj, type, reason, message) {
      const m = (obj as Pod).metadata ?? {};
      events.push({ component, object: `${m.namespace}/${m.name}`, type, reason, message });
    },
  });
  const sched = newScheduler({ client, informers, clock, recorder, random: () => 0.99, ...extra });
  const ac = new AbortController();
  const running = sched.run(ac.signal);
  const pods = client.resource<Pod>(Resources.pods, 'default');
  return {
    clock, client, sched, events, pods,
    async nodeOf(name: string): Promise<string | undefined> {
      return (await pods.get(name)).spec?.nodeName;
    },
    async waitBound(name: string): Promise<string> {
      let node: string | undefined;
      await waitUntil(`${name} bound`, async () => (node = (await pods.get(name)).spec?.nodeName) !== undefined);
      return node!;
    },
    async waitEvent(reason: string, object: string): Promise<RecordedEvent> {
      let ev: RecordedEvent | undefined;
      await waitUntil(`${reason} event for ${object}`, () => (ev = events.find((e) => e.reason === reason && e.object === object)) !== undefined);
      return ev!;
    },
    async stop() {
      ac.abort();
      await running.catch(() => undefined);
    },
  };
}

const controlPlaneTaint: Taint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

test('a pod requesting 10 CPUs skips the 4-CPU node and goes to the node with most CPU left', async () => {
  const h = setup([
    newNode('small', { allocatable: { cpu: '4' } }),
    newNode('big', { allocatable: { cpu: '16' } }),
    newNode('medium', { allocatable: { cpu: '12' } }),
  ]);
  await h.pods.create(newPod('web', { requests: { cpu: '10' } }));
  assert.equal(await h.waitBound('web'), 'big');
  const ev = await h.waitEvent('Scheduled', 'default/web');
  assert.deepEqual(ev, { component: 'default-scheduler', object: 'default/web', type: 'Normal', reason: 'Scheduled', message: 'Successfully assigned default/web to big' });
  const attempts = await h.sched.metricsRegistry.getSingleMetricAsString('scheduler_schedule_attempts_total');
  assert.match(attempts, /scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} 1/);
  const pending = await h.sched.metricsRegistry.getSingleMetricAsString('scheduler_pending_pods');
  assert.match(pending, /scheduler_pending_pods\{queue="active"\} 0/);
  const duration = await h.sched.metricsRegistry.getSingleMetricAsString('scheduler_scheduling_attempt_duration_seconds');
  assert.match(duration, /scheduler_scheduling_attempt_duration_seconds_count\{result="scheduled",profile="default-scheduler"\} 1/);
  const algorithm = await h.sched.metricsRegistry.getSingleMetricAsString('scheduler_scheduling_algorithm_duration_seconds');
  assert.match(algorithm, /scheduler_scheduling_algorithm_duration_seconds_count 1/);
  await h.stop();
});

// Upstream appends " %v." to the preemption message, which already ends in ".", hence "..".
test('FailedScheduling carries upstream\'s FitError text and sets PodScheduled=False', async () => {
  const h = setup([
    newNode('worker', { allocatable: { cpu: '4' } }),
    newNode('cp1', { allocatable: { cpu: '16' }, taints: [controlPlaneTaint] }),
    newNode('cp2', { allocatable: { cpu: '16' }, taints: [controlPlaneTaint] }),
  ]);
  await h.pods.create(newPod('big', { requests: { cpu: '10' } }));
  const ev = await h.waitEvent('FailedScheduling', 'default/big');
  const want = '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. '
    + 'preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling..';
  assert.equal(ev.type, 'Warning');
  assert.equal(ev.message, want);
  await waitUntil('PodScheduled condition', async () => (await h.pods.get('big')).status?.conditions?.some((c) => c.type === 'PodScheduled') ?? false);
  const cond = (await h.pods.get('big')).status!.conditions!.find((c) => c.type === 'PodScheduled')!;
  assert.equal(cond.status, 'False');
  assert.equal(cond.reason, 'Unschedulable');
  assert.equal(cond.message, want);
  assert.equal(h.sched.queue.lengths().unschedulable, 1);
  await h.stop();
});

test('a pod that tolerates the taint may use the tainted node; one that does not may not', async () => {
  const h = setup([newNode('cp', { allocatable: { cpu: '16' }, taints: [controlPlaneTaint] }), newNode('worker', { allocatable: { cpu: '2' } })]);
  await h.pods.create(newPod('tolerant', { requests: { cpu: '1' }, tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] }));
  await h.pods.create(newPod('plain', { requests: { cpu: '1' } }));
  assert.equal(await h.waitBound('tolerant'), 'cp');
  assert.equal(await h.waitBound('plain'), 'worker');
  await h.stop();
});

test('nodeSelector restricts the pod to matching nodes', async () => {
  const h = setup([newNode('a', { allocatable: { cpu: '32' } }), newNode('b', { allocatable: { cpu: '2' }, labels: { disktype: 'ssd' } })]);
  await h.pods.create(newPod('ssd', { nodeSelector: { disktype: 'ssd' } }));
  assert.equal(await h.waitBound('ssd'), 'b');
  await h.pods.create(newPod('nvme', { nodeSelector: { disktype: 'nvme' } }));
  const ev = await h.waitEvent('FailedScheduling', 'default/nvme');
  assert.equal(ev.message, "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..");
  await h.stop();
});

test('an unschedulable pod is retried once a node that fits is added', async () => {
  const h = setup([newNode('small', { allocatable: { cpu: '1' } })]);
  await h.pods.create(newPod('wants4', { requests: { cpu: '4' } }));
  await h.waitEvent('FailedScheduling', 'default/wants4');
  assert.equal(await h.nodeOf('wants4'), undefined);
  await h.client.resource<Node>(Resources.nodes).create(newNode('large', { allocatable: { cpu: '8' } }));
  // The node event moves the pod out of unschedulablePods; its 1 s backoff still applies.
  await waitUntil('pod moved to backoffQ', () => h.sched.queue.lengths().backoff === 1);
  h.clock.step(1_000);
  assert.equal(await h.waitBound('wants4'), 'large');
  await h.stop();
});

test('pods fill nodes: assumed pods count before their binding is confirmed', async () => {
  const h = setup([newNode('n1', { allocatable: { cpu: '2', pods: '110' } }), newNode('n2', { allocatable: { cpu: '2' } })]);
  for (let i = 0; i < 4; i++) await h.pods.create(newPod(`p${i}`, { requests: { cpu: '1' } }));
  const nodes = await Promise.all([0, 1, 2, 3].map((i) => h.waitBound(`p${i}`)));
  assert.deepEqual(nodes.sort(), ['n1', 'n1', 'n2', 'n2']);
  await h.pods.create(newPod('p4', { requests: { cpu: '1' } }));
  const ev = await h.waitEvent('FailedScheduling', 'default/p4');
  assert.match(ev.message, /^0\/2 nodes are available: 2 Insufficient cpu\. /);
  await h.stop();
});

test('a failed binding forgets the assumed pod and retries after backoff', async () => {
  const h = setup([newNode('only', { allocatable: { cpu: '1' } })]);
  let failures = 1;
  h.client.prependReactor('create', 'pods', (a) => {
    if (a.subresource === 'binding' && failures-- > 0) return { error: new Error('etcd is unhappy') };
    return undefined;
  });
  await h.pods.create(newPod('p', { requests: { cpu: '1' } }));
  const ev = await h.waitEvent('FailedScheduling', 'default/p');
  assert.equal(ev.message, 'running Bind plugin "DefaultBinder": etcd is unhappy');
  assert.equal(h.sched.cache.get('only')!.pods.length, 0);
  await waitUntil('pod in backoffQ', () => h.sched.queue.lengths().backoff === 1);
  h.clock.step(1_000);
  assert.equal(await h.waitBound('p'), 'only');
  await h.stop();
});

test('pods of another schedulerName are left alone; a second profile schedules its own', async () => {
  const config = decodeConfiguration({
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    profiles: [{ schedulerName: 'default-scheduler' }, { schedulerName: 'packer', pluginConfig: [{ name: 'NodeResourcesFit', args: { scoringStrategy: { type: 'MostAllocated' } } }] }],
  });
  const h = setup([newNode('empty', { allocatable: { cpu: '8' } }), newNode('busy', { allocatable: { cpu: '8' } })], { config });
  await h.pods.create(newPod('filler', { requests: { cpu: '4' }, nodeName: 'busy' }));
  await h.pods.create(newPod('packed', { requests: { cpu: '1' }, schedulerName: 'packer' }));
  await h.pods.create(newPod('spread', { requests: { cpu: '1' } }));
  await h.pods.create(newPod('other', { schedulerName: 'someone-else' }));
  assert.equal(await h.waitBound('packed'), 'busy');
  assert.equal(await h.waitBound('spread'), 'empty');
  const ev = await h.waitEvent('Scheduled', 'default/packed');
  assert.equal(ev.component, 'packer');
  assert.equal(await h.nodeOf('other'), undefined);
  await h.stop();
});

test('higher priority pods are scheduled first', async () => {
  // Both exist before the scheduler starts, so both are in activeQ together.
  const h = setup([newNode('n', { allocatable: { cpu: '1' } })], {}, [
    newPod('low', { requests: { cpu: '1' }, priority: 0 }),
    newPod('high', { requests: { cpu: '1' }, priority: 1000 }),
  ]);
  await h.waitEvent('FailedScheduling', 'default/low');
  assert.equal(await h.nodeOf('high'), 'n');
  await h.stop();
});

test('a higher-priority pod preempts a lower-priority one and takes its place', async () => {
  const h = setup([newNode('n', { allocatable: { cpu: '1' } })], {}, [newPod('victim', { requests: { cpu: '1' }, priority: 0, nodeName: 'n' })]);
  const vip = await h.pods.create(newPod('vip', { requests: { cpu: '1' }, priority: 1000 }));
  const ev = await h.waitEvent('Preempted', 'default/victim');
  assert.equal(ev.message, `Preempted by pod ${vip.metadata!.uid} on node n`);
  await waitUntil('victim deleted', async () => (await h.pods.list()).items.every((p) => p.metadata?.name !== 'victim'));
  await waitUntil('vip nominated', async () => (await h.pods.get('vip')).status?.nominatedNodeName === 'n');
  await waitUntil('vip requeued', () => h.sched.queue.lengths().backoff === 1);
  h.clock.step(1_000);
  assert.equal(await h.waitBound('vip'), 'n');
  await h.stop();
});

test('the room preemption made is kept for the nominated pod', async () => {
  const h = setup([newNode('n', { allocatable: { cpu: '2' } })], {}, [newPod('victim', { requests: { cpu: '2' }, priority: 0, nodeName: 'n' })]);
  await h.pods.create(newPod('vip', { requests: { cpu: '2' }, priority: 1000 }));
  await h.waitEvent('Preempted', 'default/victim');
  await waitUntil('victim gone from the cache', () => h.sched.cache.get('n')!.pods.length === 0);
  // A lower-priority pod arriving while vip backs off must not take vip's place.
  await h.pods.create(newPod('sneaky', { requests: { cpu: '1' }, priority: 0 }));
  const ev = await h.waitEvent('FailedScheduling', 'default/sneaky');
  assert.match(ev.message, /^0\/1 nodes are available: 1 Insufficient cpu\./);
  h.clock.step(1_000);
  assert.equal(await h.waitBound('vip'), 'n');
  assert.equal(await h.nodeOf('sneaky'), undefined);
  await h.stop();
});

test('with no nodes at all the pod is unschedulable with upstream\'s message and retried after backoff', async () => {
  const h = setup([]);
  await h.pods.create(newPod('lonely'));
  const ev = await h.waitEvent('FailedScheduling', 'default/lonely');
  assert.equal(ev.message, 'no nodes available to schedule pods');
  await waitUntil('pod in backoffQ', () => h.sched.queue.lengths().backoff === 1);
  await h.client.resource<Node>(Resources.nodes).create(newNode('first'));
  h.clock.step(1_000);
  assert.equal(await h.waitBound('lonely'), 'first');
  await h.stop();
});

test('a gated pod waits until its schedulingGates are removed', async () => {
  const h = setup([newNode('n')]);
  await h.pods.create(newPod('gated', { spec: { schedulingGates: [{ name: 'example.com/quota' }] } }));
  await waitUntil('pod gated', () => h.sched.queue.lengths().gated === 1);
  assert.equal(await h.nodeOf('gated'), undefined);
  const cur = await h.pods.get('gated');
  await h.pods.update({ ...cur, spec: { ...cur.spec!, schedulingGates: [] } });
  assert.equal(await h.waitBound('gated'), 'n');
  await h.stop();
});

test('percentageOfNodesToScore: filtering stops after enough feasible nodes, starting where the last pod stopped', async () => {
  const nodes = Array.from({ length: 200 }, (_, i) => newNode(`n${i}`));
  const config = decodeConfiguration({ apiVersion: 'kubescheduler.config.k8s.io/v1', kind: 'KubeSchedulerConfiguration', percentageOfNodesToScore: 60 });
  const h = setup(nodes, { config });
  await waitUntil('nodes cached', () => h.sched.cache.nodeCount() === 200);
  const fw = h.sched.profiles.get('default-scheduler')!;
  const first = h.sched.schedulePod(fw, new CycleState(), newPod('a'));
  assert.ok(!(first instanceof Error));
  // All nodes score the same; with this random source ties keep the first feasible node.
  const order = h.sched.cache.list().map((n) => n.name);
  assert.deepEqual([first.evaluatedNodes, first.feasibleNodes, first.node], [120, 120, order[0]]);
  const second = h.sched.schedulePod(fw, new CycleState(), newPod('b'));
  assert.ok(!(second instanceof Error));
  assert.deepEqual([second.evaluatedNodes, second.node], [120, order[120]]);
  await h.stop();
});

test('an out-of-tree Permit plugin holds the pod (Wait) until allowed, or rejects it on timeout', async () => {
  const waiting: string[] = [];
  const gate: PermitPlugin = {
    name: 'Gate',
    permit(_state, pod) {
      waiting.push(pod.metadata!.name!);
      return { status: new Status(Code.Wait), timeoutMs: 5_000 };
    },
  };
  const config = decodeConfiguration({
    apiVersion: 'kubescheduler.config.k8s.io/v1', kind: 'KubeSchedulerConfiguration',
    profiles: [{ plugins: { permit: { enabled: [{ name: 'Gate' }] } } }],
  }, new Set(['Gate']));
  const h = setup([newNode('n')], { config, plugins: { Gate: () => gate } });
  const fw = h.sched.profiles.get('default-scheduler')!;
  const allowed = await h.pods.create(newPod('allowed'));
  await waitUntil('allowed waiting', () => fw.waitingPods.has(allowed.metadata!.uid!));
  assert.equal(await h.nodeOf('allowed'), undefined);
  fw.waitingPods.get(allowed.metadata!.uid!)!.allow('Gate');
  assert.equal(await h.waitBound('allowed'), 'n');

  const late = await h.pods.create(newPod('late'));
  await waitUntil('late waiting', () => fw.waitingPods.has(late.metadata!.uid!));
  h.clock.step(5_000);
  const ev = await h.waitEvent('FailedScheduling', 'default/late');
  assert.equal(ev.message, 'rejected due to timeout after waiting 5s at plugin Gate');
  assert.equal(h.sched.cache.get('n')!.pods.length, 1, 'the rejected pod is no longer assumed');
  assert.deepEqual(waiting, ['allowed', 'late']);
  await h.stop();
});

test('numFeasibleNodesToFind is adaptive above 100 nodes', () => {
  const cases: [number, number, number][] = [
    [0, 50, 50], [0, 100, 100], [0, 1000, 420], [0, 5000, 500], [0, 6000, 300], [0, 10_000, 500], [30, 1000, 300], [10, 500, 100],
  ];
  for (const [pct, n, want] of cases) assert.equal(numFeasibleNodesToFind(pct, n), want, `${pct}% of ${n}`);
});
