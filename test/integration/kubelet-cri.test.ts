/**
 * The kubelet's CRI runtime against a real containerd (Debian's 1.6, node-owned: its own
 * root, state and socket under a temp data dir; skipped without root, containerd, ctr or
 * busybox-static). Images are the offline test images (test/util/images.ts), imported with
 * `ctr`, so no registry is needed; the sandbox ("pause") image among them is containerd's
 * default sandbox image. Sandboxes use the host network, so no pod joins the CNI bridge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../../src/client/fake.js';
import { Resources, type EventRecorder } from '../../src/client/interface.js';
import type { Pod } from '../../src/client/objects.js';
import { LabelPodUID } from '../../src/kubelet/runtime.js';
import { simulatedMachineInfo, startKubelet } from '../../src/kubelet/index.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import type { TestImageKey } from '../util/images.js';
import { skipWithoutCtr, startNodeContainerd } from '../util/node-containerd.js';
import { eventually, eventuallyValue } from '../util/wait.js';

const skip = skipWithoutCtr;

const images: TestImageKey[] = ['busybox', 'pause'];

test('CRI runtime: sandbox, image, container lifecycle and exit codes on containerd', { skip }, async (t) => {
  const { cri: rt } = await startNodeContainerd(t, { prefix: 'flotilla-kubelet-cri-', images });
  const v = await rt.version();
  assert.equal(v.runtimeName, 'containerd');
  assert.equal(v.runtimeApiVersion, 'v1');

  assert.equal(await rt.imageStatus('busybox:does-not-exist'), undefined);
  const img = await rt.imageStatus('busybox');
  assert.ok(img);
  assert.deepEqual(img.repoTags, ['docker.io/library/busybox:latest']);

  const labels = { [LabelPodUID]: 'uid-1' };
  const sandboxConfig = { name: 'p', namespace: 'default', uid: 'uid-1', attempt: 0, labels, hostNetwork: true };
  const sb = await rt.runPodSandbox(sandboxConfig);
  const sbs = await rt.podSandboxStatus(sb);
  assert.equal(sbs.state, 'ready');
  assert.deepEqual((await rt.listPodSandbox({ labelSelector: labels })).map((s) => s.id), [sb]);
  const items = await rt.listPodSandboxStates({ labelSelector: labels });
  assert.deepEqual(items.map((s) => [s.id, s.name, s.namespace, s.uid, s.attempt, s.state, s.labels[LabelPodUID]]), [[sb, 'p', 'default', 'uid-1', 0, 'ready', 'uid-1']]);
  assert.equal(items[0]!.createdAt, sbs.createdAt);

  const id = await rt.createContainer(sb, {
    name: 'c',
    attempt: 0,
    image: img.id,
    userImage: 'busybox',
    command: ['sh', '-c', 'exit 3'],
    args: [],
    env: [{ key: 'A', value: 'b' }],
    labels: { ...labels, 'io.kubernetes.container.name': 'c' },
  }, sandboxConfig);
  assert.equal((await rt.containerStatus(id)).state, 'created');
  await rt.startContainer(id);
  const done = await eventuallyValue('exit', async () => {
    const s = await rt.containerStatus(id);
    return s.state === 'exited' ? s : undefined;
  });
  assert.equal(done.exitCode, 3);
  assert.equal(done.reason, 'Error');
  // containerd may stamp a fast exit before it records the start: only both being set is certain.
  assert.ok(done.startedAt > 0 && done.finishedAt > 0);
  assert.equal(done.name, 'c');
  const listed = await rt.listContainers({ labelSelector: labels });
  assert.deepEqual(listed.map((c) => [c.id, c.podSandboxId, c.state]), [[id, sb, 'exited']]);
  // The relist's cheaper list: the CRI list's own states and labels, no ContainerStatus each.
  const states = await rt.listContainerStates({ labelSelector: labels });
  assert.deepEqual(states.map((c) => [c.id, c.podSandboxId, c.state, c.labels['io.kubernetes.container.name']]), [[id, sb, 'exited', 'c']]);

  await rt.removeContainer(id);
  await rt.stopPodSandbox(sb);
  assert.equal((await rt.podSandboxStatus(sb)).state, 'notready');
  await rt.removePodSandbox(sb);
  assert.deepEqual(await rt.listPodSandbox({ labelSelector: labels }), []);
});

test('the kubelet runs a pod on containerd through the CRI runtime and deletes it', { skip }, async (t) => {
  const { cri: rt } = await startNodeContainerd(t, { prefix: 'flotilla-kubelet-cri-', images });
  const fake = new FakeClient();
  const events: string[] = [];
  const recorder: EventRecorder = { event: (_o, _type, reason, message) => events.push(`${reason}: ${message}`) };
  const kubelet = await startKubelet({
    client: fake,
    nodeName: 'n1',
    runtime: rt,
    clock: realClock,
    logger: silentLogger(),
    machine: simulatedMachineInfo({ name: 'n1', internalIP: '127.0.0.1' }),
    recorder,
  });
  t.after(() => kubelet.stop());
  const pods = fake.resource<Pod>(Resources.pods, 'default');
  await pods.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'sleeper', namespace: 'default' },
    spec: {
      nodeName: 'n1',
      hostNetwork: true,
      restartPolicy: 'Always',
      containers: [{ name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
    },
  });
  const running = await eventuallyValue('Running', async () => {
    const p = await pods.get('sleeper');
    return p.status?.phase === 'Running' ? p : undefined;
  });
  const cs = running.status!.containerStatuses![0]!;
  assert.match(cs.containerID!, /^containerd:\/\/[0-9a-f]{64}$/);
  assert.equal(cs.image, 'docker.io/library/busybox:latest');
  assert.equal(cs.ready, true);
  assert.equal(running.status!.podIP, '127.0.0.1', 'host network pods have the node IP');
  assert.ok(events.includes('Pulled: Container image "busybox" already present on machine'));

  // Housekeeping (from the runtime's sandbox list) removes a sandbox no pod of the node owns, and only that one.
  const orphan = await rt.runPodSandbox({ name: 'gone', namespace: 'default', uid: 'orphan-uid', attempt: 0, labels: { [LabelPodUID]: 'orphan-uid' }, hostNetwork: true });
  await eventually('orphaned sandbox removed', async () => !(await rt.listPodSandbox()).some((s) => s.id === orphan));
  assert.equal((await rt.listPodSandbox({ labelSelector: { [LabelPodUID]: running.metadata!.uid! }, state: 'ready' })).length, 1);

  await pods.delete('sleeper');
  await eventually('containers removed', async () => (await rt.listContainers()).length === 0);
});
