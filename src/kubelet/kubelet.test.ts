import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRFC3339 } from '../apimachinery/meta.js';
import { FakeClient } from '../client/fake.js';
import { Resources } from '../client/interface.js';
import type { Container, Lease, Node, Pod, PodStatus } from '../client/objects.js';
import { FakeClock } from '../util/clock.js';
import { startKubelet, startSimulatedNodes, simulatedMachineInfo } from './index.js';
import { SimulatedRuntime, parseScript } from './simulated.js';
import { flush, startSimulatedKubelet, TestNodeName as NODE } from './testing.js';
import { TimerWheel } from './wheel.js';
import { goDuration } from './backoff.js';

function newPod(name: string, containers: Partial<Container>[], extra: { restartPolicy?: string; initContainers?: Partial<Container>[]; nodeName?: string } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: extra.nodeName ?? NODE,
      restartPolicy: (extra.restartPolicy ?? 'Always') as 'Always',
      terminationGracePeriodSeconds: 30,
      containers: containers.map((c, i) => ({ name: c.name ?? `c${i}`, image: 'nginx:1.25', imagePullPolicy: 'IfNotPresent', ...c })),
      ...(extra.initContainers ? { initContainers: extra.initContainers.map((c, i) => ({ name: `init${i}`, image: 'busybox:1.36', imagePullPolicy: 'IfNotPresent', ...c })) } : {}),
    },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null as unknown as undefined, lastTransitionTime: '2026-01-01T00:00:00Z' }] },
  };
}

test('the node registers with upstream labels, conditions, capacity and nodeInfo', async (t) => {
  const env = await startSimulatedKubelet(t);
  const node = await env.fake.resource<Node>(Resources.nodes).get(NODE);
  const labels = node.metadata!.labels!;
  assert.equal(labels['kubernetes.io/hostname'], NODE);
  assert.equal(labels['kubernetes.io/os'], 'linux');
  assert.ok(labels['kubernetes.io/arch']);
  assert.equal(labels['node-role.kubernetes.io/control-plane'], undefined);
  assert.deepEqual(node.spec, { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] });
  const st = node.status!;
  assert.equal(st.capacity!.pods, '110');
  assert.deepEqual(st.addresses, [{ address: '192.168.0.10', type: 'InternalIP' }, { address: NODE, type: 'Hostname' }]);
  assert.equal(st.nodeInfo!.kubeletVersion, 'v1.32.0-flotilla');
  assert.equal(st.nodeInfo!.containerRuntimeVersion, 'simulated://0.1');
  assert.equal(st.nodeInfo!.operatingSystem, 'linux');
  assert.deepEqual(
    st.conditions!.map((c) => [c.type, c.status, c.reason, c.message]),
    [
      ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
      ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
      ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
      ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
    ],
  );
  assert.equal(st.conditions![3]!.lastHeartbeatTime, formatRFC3339(env.clock.now()));
  assert.deepEqual(
    env.nodeEvents.map((e) => `${e.reason}: ${e.message}`),
    [
      'Starting: Starting kubelet.',
      `NodeHasSufficientMemory: Node ${NODE} status is now: NodeHasSufficientMemory`,
      `NodeHasNoDiskPressure: Node ${NODE} status is now: NodeHasNoDiskPressure`,
      `NodeHasSufficientPID: Node ${NODE} status is now: NodeHasSufficientPID`,
      'NodeAllocatableEnforced: Updated Node Allocatable limit across pods',
    ],
  );
  await env.step(20_000);
  assert.equal(env.nodeEvents.length, 5, 'no repeats while nothing changes');
});

test('the Lease is renewed every 10 s with a 40 s duration and the Node as owner', async (t) => {
  const env = await startSimulatedKubelet(t);
  const leases = env.fake.resource<Lease>(Resources.leases, 'kube-node-lease');
  const node = await env.fake.resource<Node>(Resources.nodes).get(NODE);
  const first = await leases.get(NODE);
  assert.equal(first.spec!.holderIdentity, NODE);
  assert.equal(first.spec!.leaseDurationSeconds, 40);
  assert.deepEqual(first.metadata!.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: NODE, uid: node.metadata!.uid }]);
  const t0 = Date.parse(first.spec!.renewTime!);
  env.fake.clearActions();
  await env.step(9_900);
  assert.equal((await leases.get(NODE)).spec!.renewTime, first.spec!.renewTime, 'not renewed before 10 s');
  await env.step(100);
  assert.equal(Date.parse((await leases.get(NODE)).spec!.renewTime!) - t0, 10_000);
  await env.step(50_000);
  const updates = env.fake.actions().filter((a) => a.verb === 'update' && a.gvr.resource === 'leases');
  assert.equal(updates.length, 6);
});

test('node status is written only on change or every 5 minutes', async (t) => {
  const env = await startSimulatedKubelet(t);
  env.fake.clearActions();
  const statusWrites = () => env.fake.actions().filter((a) => a.verb === 'patch' && a.gvr.resource === 'nodes' && a.subresource === 'status').length;
  await env.step(60_000);
  assert.equal(statusWrites(), 0, 'unchanged status is not written within a minute');
  await env.step(240_000);
  assert.equal(statusWrites(), 1, 'written once the 5 minute report frequency passes');
  // A pulled image changes status.images: written at the next 10 s check.
  await env.create(newPod('p', [{ image: 'redis' }]));
  await env.step(10_000);
  assert.equal(statusWrites(), 2);
});

const statusWrites = (fake: FakeClient) => fake.actions().filter((a) => a.verb === 'patch' && a.gvr.resource === 'nodes' && a.subresource === 'status').length;

test('--node-status-update-frequency sets how often status is checked; an unchanged one waits for the report frequency', async (t) => {
  // 4 s and 60 s: each expectation below fails under the defaults (10 s, 5 min).
  const env = await startSimulatedKubelet(t, { nodeStatusUpdateFrequencyMs: 4000, nodeStatusReportFrequencyMs: 60_000 });
  env.fake.clearActions();
  await env.step(59_900);
  assert.equal(statusWrites(env.fake), 0, 'fourteen unchanged checks write nothing');
  await env.step(100);
  assert.equal(statusWrites(env.fake), 1, 'the check at 60 s writes: the report frequency has passed');
  // A pulled image changes status.images; the next check is at 64 s (70 s with 10 s).
  await env.create(newPod('p', [{ image: 'redis' }]));
  await env.step(3_900);
  assert.equal(statusWrites(env.fake), 1, 'not written between checks');
  await env.step(100);
  assert.equal(statusWrites(env.fake), 2, 'written at the next check');
  // Lease renewal keeps its own 10 s period.
  const renewals = env.fake.actions().filter((a) => a.verb === 'update' && a.gvr.resource === 'leases').length;
  assert.equal(renewals, 6);
});

test('a node status frequency of zero or less is refused', async () => {
  const cases = [
    { option: 'nodeStatusUpdateFrequencyMs', v: 0, message: `node ${NODE}: statusUpdateFrequencyMs must be greater than 0, got 0` },
    { option: 'nodeStatusUpdateFrequencyMs', v: -1000, message: `node ${NODE}: statusUpdateFrequencyMs must be greater than 0, got -1000` },
    { option: 'nodeStatusReportFrequencyMs', v: 0, message: `node ${NODE}: statusReportFrequencyMs must be greater than 0, got 0` },
  ] as const;
  for (const tc of cases) {
    const clock = new FakeClock();
    const fake = new FakeClient({ clock });
    const runtime = new SimulatedRuntime({ clock, podCIDR: '10.244.1.0/24' });
    const machine = simulatedMachineInfo({ name: NODE, internalIP: '192.168.0.10' });
    await assert.rejects(startKubelet({ client: fake, nodeName: NODE, runtime, clock, machine, [tc.option]: tc.v }), { name: 'RangeError', message: tc.message }, `${tc.option} ${tc.v}`);
    assert.deepEqual(fake.actions().filter((a) => a.verb !== 'get' && a.verb !== 'list'), [], 'refused before registering');
  }
});

test('a bound pod goes Pending → Running with IP, conditions and container statuses as upstream', async (t) => {
  const env = await startSimulatedKubelet(t, { startDelayMs: 2000 });
  const created = await env.create(newPod('web', [{ name: 'nginx', image: 'nginx' }]));
  let pod = await env.pod('web');
  assert.equal(pod.status!.phase, 'Pending');
  assert.deepEqual(pod.status!.containerStatuses!.map((c) => c.state), [{ waiting: { reason: 'ContainerCreating' } }]);
  assert.equal(pod.status!.hostIP, '192.168.0.10');
  await env.step(2000);
  pod = await env.pod('web');
  const s: PodStatus = pod.status!;
  assert.equal(s.phase, 'Running');
  assert.match(s.podIP!, /^10\.244\.1\.\d+$/);
  assert.deepEqual(s.podIPs, [{ ip: s.podIP }]);
  assert.deepEqual(s.hostIPs, [{ ip: '192.168.0.10' }]);
  assert.equal(s.qosClass, 'BestEffort');
  assert.ok(s.startTime);
  assert.deepEqual(
    s.conditions!.map((c) => [c.type, c.status]),
    [
      ['PodReadyToStartContainers', 'True'],
      ['Initialized', 'True'],
      ['Ready', 'True'],
      ['ContainersReady', 'True'],
      ['PodScheduled', 'True'],
    ],
  );
  assert.equal(s.conditions!.find((c) => c.type === 'PodScheduled')!.lastTransitionTime, '2026-01-01T00:00:00Z', "the scheduler's time is kept");
  const cs = s.containerStatuses![0]!;
  assert.equal(cs.name, 'nginx');
  assert.equal(cs.ready, true);
  assert.equal(cs.started, true);
  assert.equal(cs.restartCount, 0);
  assert.equal(cs.image, 'docker.io/library/nginx:latest');
  assert.match(cs.imageID!, /^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);
  assert.match(cs.containerID!, /^simulated:\/\/[0-9a-f]{64}$/);
  assert.ok(cs.state!.running!.startedAt);
  assert.deepEqual(
    env.events.map((e) => [e.reason, e.message]),
    [
      ['Pulling', 'Pulling image "nginx"'],
      ['Pulled', 'Successfully pulled image "nginx" in 0s (0s including waiting). Image size: 50000000 bytes.'],
      ['Created', 'Created container: nginx'],
      ['Started', 'Started container nginx'],
    ],
  );
  assert.equal(created.metadata!.uid, pod.metadata!.uid);
});

test('init containers run in order before the containers', async (t) => {
  const env = await startSimulatedKubelet(t);
  await env.create(newPod('init', [{ name: 'app' }], { initContainers: [{ name: 'wait', command: ['sleep', '5'] }] }));
  const pod: Pod = await env.pod('init');
  assert.equal(pod.status!.phase, 'Pending');
  assert.deepEqual(pod.status!.containerStatuses![0]!.state, { waiting: { reason: 'PodInitializing' } });
  assert.ok(pod.status!.initContainerStatuses![0]!.state!.running);
  assert.equal(pod.status!.conditions!.find((c) => c.type === 'Initialized')!.message, 'containers with incomplete status: [wait]');
  await env.step(5000);
  const after: PodStatus = (await env.pod('init')).status!;
  assert.equal(after.phase, 'Running');
  assert.equal(after.initContainerStatuses![0]!.state!.terminated!.reason, 'Completed');
  assert.equal(after.initContainerStatuses![0]!.ready, true);
  assert.ok(after.containerStatuses![0]!.state!.running);
});

test('a crashing container restarts after 0, 10, 20, 40 s of back-off, in CrashLoopBackOff meanwhile', async (t) => {
  const env = await startSimulatedKubelet(t);
  const created = await env.create(newPod('crash', [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 1'] }]));
  const podName = `crash_default(${created.metadata!.uid})`;
  const status = async () => (await env.pod('crash')).status!.containerStatuses![0]!;
  // The first exit restarts at once (no back-off entry yet); the second enters back-off.
  let cs = await status();
  assert.equal(cs.restartCount, 1);
  assert.deepEqual(cs.state, { waiting: { reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=c pod=${podName}` } });
  assert.equal(cs.lastState!.terminated!.exitCode, 1);
  assert.equal(cs.lastState!.terminated!.reason, 'Error');
  assert.equal((await env.pod('crash')).status!.phase, 'Running');
  const ready = (await env.pod('crash')).status!.conditions!.find((c) => c.type === 'Ready')!;
  assert.deepEqual([ready.status, ready.reason, ready.message], ['False', 'ContainersNotReady', 'containers with unready status: [c]']);
  for (const [delay, next] of [[10_000, '20s'], [20_000, '40s'], [40_000, '1m20s']] as const) {
    const before: number = cs.restartCount!;
    await env.step(delay - 100);
    assert.equal((await status()).restartCount, before, `no restart before ${delay} ms`);
    await env.step(100);
    cs = await status();
    assert.equal(cs.restartCount, before + 1, `restarted after ${delay} ms`);
    assert.equal(cs.state!.waiting!.message, `back-off ${next} restarting failed container=c pod=${podName}`);
  }
  assert.ok(env.events.some((e) => e.type === 'Warning' && e.reason === 'BackOff' && e.message === `Back-off restarting failed container c in pod ${podName}`));
});

const finishing = [
  { name: 'Never, exit 1 → Failed/Error', restartPolicy: 'Never', command: ['sh', '-c', 'exit 1'], phase: 'Failed', reason: 'Error', exitCode: 1, ready: 'PodFailed' },
  { name: 'Never, exit 0 → Succeeded/Completed', restartPolicy: 'Never', command: ['sh', '-c', 'exit 0'], phase: 'Succeeded', reason: 'Completed', exitCode: 0, ready: 'PodCompleted' },
  { name: 'OnFailure, exit 0 → Succeeded', restartPolicy: 'OnFailure', command: ['true'], phase: 'Succeeded', reason: 'Completed', exitCode: 0, ready: 'PodCompleted' },
];
for (const tc of finishing) {
  test(`restartPolicy ${tc.name}`, async (t) => {
    const env = await startSimulatedKubelet(t);
    await env.create(newPod('job', [{ name: 'c', image: 'busybox', command: tc.command }], { restartPolicy: tc.restartPolicy }));
    const s = (await env.pod('job')).status!;
    assert.equal(s.phase, tc.phase);
    const term = s.containerStatuses![0]!.state!.terminated!;
    assert.deepEqual([term.reason, term.exitCode], [tc.reason, tc.exitCode]);
    assert.equal(s.containerStatuses![0]!.restartCount, 0);
    const ready = s.conditions!.find((c) => c.type === 'Ready')!;
    assert.deepEqual([ready.status, ready.reason], ['False', tc.ready]);
    assert.equal(s.conditions!.find((c) => c.type === 'PodReadyToStartContainers')!.status, 'False', 'sandbox released');
    assert.equal(env.runtime.allocatedIPs(), 0);
    assert.ok(s.podIP, 'the pod IP stays in status');
    await env.step(60_000);
    assert.equal((await env.pod('job')).status!.containerStatuses![0]!.restartCount, 0, 'never restarted');
  });
}

test('a sleeping container exits 0 after its sleep', async (t) => {
  const env = await startSimulatedKubelet(t);
  await env.create(newPod('sleeper', [{ name: 'c', command: ['sleep', '30'] }], { restartPolicy: 'Never' }));
  assert.equal((await env.pod('sleeper')).status!.phase, 'Running');
  await env.step(30_000);
  assert.equal((await env.pod('sleeper')).status!.phase, 'Succeeded');
});

test('a missing image shows ErrImagePull, then ImagePullBackOff', async (t) => {
  const env = await startSimulatedKubelet(t);
  await env.create(newPod('bad', [{ name: 'c', image: 'example.com/missing-image:1' }]));
  let cs = (await env.pod('bad')).status!.containerStatuses![0]!;
  assert.equal(cs.state!.waiting!.reason, 'ErrImagePull');
  assert.match(cs.state!.waiting!.message!, /not found/);
  assert.equal(cs.image, 'example.com/missing-image:1');
  await env.step(1000);
  cs = (await env.pod('bad')).status!.containerStatuses![0]!;
  assert.deepEqual(cs.state, { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "example.com/missing-image:1"' } });
  assert.equal((await env.pod('bad')).status!.phase, 'Pending');
  const reasons = env.events.map((e) => `${e.type}/${e.reason}/${e.message}`);
  assert.ok(reasons.some((r) => r.startsWith('Warning/Failed/Failed to pull image "example.com/missing-image:1": ')));
  assert.ok(reasons.includes('Warning/Failed/Error: ErrImagePull'));
  assert.ok(reasons.includes('Normal/BackOff/Back-off pulling image "example.com/missing-image:1"'));
  assert.ok(reasons.includes('Warning/Failed/Error: ImagePullBackOff'));
  // The back-off (10 s from the failure) ends and the pull is tried again.
  await env.step(9000);
  assert.equal((await env.pod('bad')).status!.containerStatuses![0]!.state!.waiting!.reason, 'ErrImagePull');
});

test('imagePullPolicy Never with a missing image → ErrImageNeverPull', async (t) => {
  const env = await startSimulatedKubelet(t);
  await env.create(newPod('never', [{ name: 'c', image: 'busybox:1.36', imagePullPolicy: 'Never' }]));
  const cs = (await env.pod('never')).status!.containerStatuses![0]!;
  const msg = 'Container image "busybox:1.36" is not present with pull policy of Never';
  assert.deepEqual(cs.state, { waiting: { reason: 'ErrImageNeverPull', message: msg } });
  assert.ok(env.events.some((e) => e.type === 'Warning' && e.reason === 'ErrImageNeverPull' && e.message === msg));
});

test('imagePullPolicy IfNotPresent with a present image does not pull', async (t) => {
  const env = await startSimulatedKubelet(t, { preloadedImages: ['nginx:1.25'] });
  await env.create(newPod('local', [{ name: 'c', image: 'nginx:1.25' }]));
  assert.equal((await env.pod('local')).status!.phase, 'Running');
  assert.deepEqual(env.events[0], { type: 'Normal', reason: 'Pulled', message: 'Container image "nginx:1.25" already present on machine' });
});

test('graceful delete stops the containers, then deletes the pod with grace period 0', async (t) => {
  const env = await startSimulatedKubelet(t);
  const created = await env.create(newPod('del', [{ name: 'nginx' }]));
  assert.equal((await env.pod('del')).status!.phase, 'Running');
  assert.equal(env.runtime.allocatedIPs(), 1);
  env.fake.clearActions();
  env.markDeleted('del', 30);
  await env.step(100);
  await assert.rejects(env.pod('del'), /not found/);
  const del = env.fake.actions().filter((a) => a.verb === 'delete' && a.gvr.resource === 'pods');
  assert.equal(del.length, 1);
  assert.ok(env.events.some((e) => e.reason === 'Killing' && e.message === 'Stopping container nginx'));
  const status = env.fake.actions().filter((a) => a.verb === 'patch' && a.subresource === 'status');
  assert.ok(status.length >= 1, 'final status written before the delete');
  assert.equal(env.runtime.allocatedIPs(), 0);
  assert.equal((await env.runtime.listContainers()).length, 0, 'runtime state removed');
  assert.equal(env.kubelet.workers.size, 0);
  void created;
});

test('a changed container image replaces the running container', async (t) => {
  const env = await startSimulatedKubelet(t);
  await env.create(newPod('img', [{ name: 'nginx', image: 'nginx:1.25' }]));
  const pods = env.fake.resource<Pod>(Resources.pods, 'default');
  const cur = await pods.get('img');
  cur.spec!.containers[0]!.image = 'nginx:1.27';
  await pods.update(cur);
  await env.step(100);
  const cs = (await env.pod('img')).status!.containerStatuses![0]!;
  assert.equal(cs.image, 'docker.io/library/nginx:1.27');
  assert.equal(cs.restartCount, 1);
  assert.ok(cs.state!.running);
  assert.equal(cs.lastState!.terminated!.reason, 'Completed');
  assert.ok(env.events.some((e) => e.reason === 'Killing' && e.message === 'Container nginx definition changed, will be restarted'));
  assert.equal((await env.runtime.listContainers()).filter((c) => c.state === 'running').length, 1);
});

test('a dead sandbox is replaced and its containers started again', async (t) => {
  const env = await startSimulatedKubelet(t);
  await env.create(newPod('sb', [{ name: 'nginx' }]));
  const [first] = await env.runtime.listPodSandbox();
  await env.runtime.stopPodSandbox(first!.id);
  await env.step(100);
  const ready = await env.runtime.listPodSandbox({ state: 'ready' });
  assert.equal(ready.length, 1);
  assert.notEqual(ready[0]!.id, first!.id);
  assert.equal(ready[0]!.attempt, 1);
  assert.equal(env.runtime.allocatedIPs(), 1, "the dead sandbox's IP was released");
  const s = (await env.pod('sb')).status!;
  assert.equal(s.phase, 'Running');
  assert.equal(s.containerStatuses![0]!.restartCount, 1);
  assert.ok(env.events.some((e) => e.reason === 'SandboxChanged'));
});

test('a pod removed from the API server has its containers removed', async (t) => {
  const env = await startSimulatedKubelet(t);
  await env.create(newPod('gone', [{ name: 'nginx' }]));
  await env.fake.resource<Pod>(Resources.pods, 'default').delete('gone');
  await env.step(100);
  assert.equal((await env.runtime.listContainers()).length, 0);
  assert.equal((await env.runtime.listPodSandbox()).length, 0);
});

test('sandboxes of pods the node no longer has are removed by housekeeping', async (t) => {
  const env = await startSimulatedKubelet(t, {
    prepare: async (rt) => {
      await rt.runPodSandbox({ name: 'ghost', namespace: 'default', uid: 'ghost-uid', attempt: 0, labels: { 'io.kubernetes.pod.uid': 'ghost-uid' } });
    },
  });
  await env.create(newPod('live', [{ name: 'nginx' }]));
  assert.equal((await env.runtime.listPodSandbox()).length, 2);
  await env.step(2000);
  const left = await env.runtime.listPodSandbox();
  assert.deepEqual(left.map((s) => s.name), ['live']);
  assert.equal(env.runtime.allocatedIPs(), 1);
});

test('pods bound to other nodes are ignored', async (t) => {
  const env = await startSimulatedKubelet(t);
  await env.create(newPod('other', [{ name: 'nginx' }], { nodeName: 'node-2' }));
  assert.equal((await env.pod('other')).status!.phase, 'Pending');
  assert.equal((await env.pod('other')).status!.containerStatuses, undefined);
});

test('simulated nodes share one pod informer and one timer wheel', async (t) => {
  const clock = new FakeClock();
  const fake = new FakeClient({ clock });
  const sim = await startSimulatedNodes({ client: fake, count: 20, namePrefix: 'sim-', clock, noEvents: true });
  t.after(() => sim.stop());
  await flush();
  const nodes = await fake.resource<Node>(Resources.nodes).list();
  assert.equal(nodes.items.length, 20);
  assert.equal(nodes.items.find((n) => n.metadata!.name === 'sim-3')!.spec!.podCIDR, '10.244.3.0/24');
  assert.equal(fake.watchCount(), 1, 'one pod watch for all nodes');
  await fake.resource<Pod>(Resources.pods, 'default').create(newPod('a', [{ name: 'c' }], { nodeName: 'sim-7' }));
  await flush(60);
  const pod = await fake.resource<Pod>(Resources.pods, 'default').get('a');
  assert.equal(pod.status!.phase, 'Running');
  assert.match(pod.status!.podIP!, /^10\.244\.7\./);
  const advance = async (ms: number) => {
    for (let i = 0; i < ms / 100; i++) {
      clock.step(100);
      await flush(3);
    }
  };
  // First renewals are spread over 10–20 s; after that each node renews once per 10 s.
  await advance(20_000);
  fake.clearActions();
  await advance(10_000);
  const renewals = fake.actions().filter((a) => a.verb === 'update' && a.gvr.resource === 'leases');
  assert.equal(renewals.length, 20, 'each node renews once per 10 s');
  assert.equal(new Set(renewals.map((a) => a.name)).size, 20);
});

test('simulated nodes take the node status frequencies too', async (t) => {
  const clock = new FakeClock();
  const fake = new FakeClient({ clock });
  const sim = await startSimulatedNodes({ client: fake, count: 3, clock, noEvents: true, nodeStatusUpdateFrequencyMs: 2000, nodeStatusReportFrequencyMs: 6000 });
  t.after(() => sim.stop());
  await flush();
  fake.clearActions();
  for (let i = 0; i < 59; i++) {
    clock.step(100);
    await flush(3);
  }
  assert.equal(statusWrites(fake), 0, 'unchanged: nothing before the report frequency');
  clock.step(100);
  await flush(30);
  assert.equal(statusWrites(fake), 3, 'each node writes at the 6 s check (10 s with the default period)');
});

const scripts = [
  { argv: [['sh', '-c', 'exit 1'], []], want: { runsForMs: 0, exitCode: 1 } },
  { argv: [['/bin/sh', '-c', 'sleep 2; exit 3'], []], want: { runsForMs: 2000, exitCode: 3 } },
  { argv: [['sleep'], ['10']], want: { runsForMs: 10_000, exitCode: 0 } },
  { argv: [['false'], []], want: { runsForMs: 0, exitCode: 1 } },
  { argv: [[], []], want: { runsForMs: undefined, exitCode: 0 } },
  { argv: [['nginx', '-g', 'daemon off;'], []], want: { runsForMs: undefined, exitCode: 0 } },
  { argv: [['sh', '-c', 'while true; do sleep 1; done'], []], want: { runsForMs: undefined, exitCode: 0 } },
];
for (const tc of scripts) {
  test(`parseScript ${JSON.stringify(tc.argv)}`, () => {
    assert.deepEqual(parseScript(tc.argv[0]!, tc.argv[1]!), tc.want);
  });
}

test('the timer wheel fires each task once, never early', () => {
  const clock = new FakeClock();
  const wheel = new TimerWheel({ clock, tickMs: 100, slots: 8 });
  const fired: number[] = [];
  const start = clock.now();
  for (const d of [50, 100, 799, 800, 801, 2500]) wheel.schedule(d, () => fired.push(clock.now() - start));
  clock.step(3000);
  assert.deepEqual(fired, [100, 100, 800, 800, 900, 2500]);
  assert.equal(wheel.size, 0);
});

test('the timer wheel keeps wall-clock periods when its interval fires late', () => {
  // A clock whose interval callbacks arrive every 250 ms instead of every 100 ms.
  const clock = new FakeClock();
  let cb: (() => void) | undefined;
  const late = {
    now: () => clock.now(),
    setTimeout: clock.setTimeout.bind(clock),
    sleep: clock.sleep.bind(clock),
    setInterval: (fn: () => void) => {
      cb = fn;
      return clock.setInterval(() => cb?.(), 250);
    },
  };
  const wheel = new TimerWheel({ clock: late, tickMs: 100, slots: 16 });
  const fired: number[] = [];
  const start = clock.now();
  wheel.every(1000, () => fired.push(clock.now() - start));
  clock.step(5000);
  assert.deepEqual(fired, [1000, 2000, 3000, 4000, 5000]);
});

test('goDuration spells durations as Go does', () => {
  assert.deepEqual([0, 250, 10_000, 80_000, 300_000, 1500].map(goDuration), ['0s', '250ms', '10s', '1m20s', '5m0s', '1.5s']);
});
