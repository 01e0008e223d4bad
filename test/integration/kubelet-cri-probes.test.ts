/**
 * Probes, lifecycle hooks and graceful termination on a real containerd (node-owned, with
 * the CNI bridge, so pods have IPs the host reaches): a failing exec liveness probe restarts
 * the container, an exec readiness probe flips Ready both ways, httpGet probes reach busybox
 * httpd on the pod IP, and deletion runs preStop before SIGTERM and SIGKILLs a container
 * that ignores SIGTERM once the grace period is over. The API is a FakeClient (graceful
 * deletion is marked on its store, as the API server would). Skipped without root,
 * containerd, ctr, busybox-static or the CNI plugins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deepClone, formatRFC3339, type KObject } from '../../src/apimachinery/meta.js';
import { FakeClient } from '../../src/client/fake.js';
import { deepFreeze } from '../../src/client/freeze.js';
import { Resources, type EventRecorder } from '../../src/client/interface.js';
import type { Container, Pod, PodStatus } from '../../src/client/objects.js';
import { containerdDirOf, startContainerd } from '../../src/kubelet/containerd/index.js';
import { CriRuntime } from '../../src/kubelet/cri/runtime.js';
import { simulatedMachineInfo, startKubelet } from '../../src/kubelet/index.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { importTestImages } from '../util/images.js';
import { eventually } from '../util/wait.js';

const canRun =
  process.platform === 'linux' &&
  process.getuid?.() === 0 &&
  existsSync('/usr/bin/containerd') &&
  existsSync('/usr/bin/ctr') &&
  existsSync('/bin/busybox') &&
  existsSync('/usr/lib/cni/bridge') &&
  existsSync('/usr/lib/cni/host-local');
const skip = !canRun && 'needs root, containerd, ctr, busybox-static and the CNI plugins';

const NODE = 'probe-node';

function newPod(name: string, containers: Partial<Container>[], grace = 30): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: NODE,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: grace,
      containers: containers.map((c, i) => ({ name: c.name ?? `c${i}`, image: 'busybox', imagePullPolicy: 'IfNotPresent', ...c })),
    },
  };
}

function ready(p: Pod): string | undefined {
  return p.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

test('probes, hooks and graceful termination on containerd', { skip }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-probes-'));
  const podCIDR = `10.${180 + (process.pid % 20)}.${process.pid % 250}.0/24`;
  const ctd = await startContainerd({ dir: containerdDirOf(dataDir), podCIDR, logger: silentLogger() });
  const rt = new CriRuntime({ endpoint: ctd.socket, timeoutMs: 30_000 });
  const running: { kubelet?: Awaited<ReturnType<typeof startKubelet>> } = {};
  // One hook, in this order: no pod, shim or mount may outlive the test.
  t.after(async () => {
    await running.kubelet?.stop();
    rt.close();
    await ctd.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await importTestImages(ctd.socket);
  const fake = new FakeClient();
  const events: string[] = [];
  const recorder: EventRecorder = { event: (o, _type, reason, message) => events.push(`${(o as { metadata?: { name?: string } }).metadata?.name}/${reason}: ${message}`) };
  running.kubelet = await startKubelet({
    client: fake,
    nodeName: NODE,
    runtime: rt,
    clock: realClock,
    logger: silentLogger(),
    podCIDR,
    machine: simulatedMachineInfo({ name: NODE, internalIP: '127.0.0.1' }),
    recorder,
  });
  const pods = fake.resource<Pod>(Resources.pods, 'default');
  const podEvents = (name: string) => events.filter((e) => e.startsWith(`${name}/`)).map((e) => e.slice(name.length + 1));
  /** eventually(), failing with the pod's status and events. */
  const until = async (name: string, what: string, cond: () => Promise<boolean>, timeoutMs = 30_000) => {
    try {
      await eventually(what, cond, timeoutMs);
    } catch (err) {
      const p = await pods.get(name).catch(() => undefined);
      throw new Error(`${(err as Error).message}\nstatus: ${JSON.stringify(p?.status)}\nevents:\n${podEvents(name).join('\n')}`);
    }
  };

  await t.test('a failing exec liveness probe restarts the container', async () => {
    await pods.create(
      newPod('live', [
        {
          command: ['sh', '-c', 'touch /tmp/healthy; sleep 2; rm -f /tmp/healthy; sleep 3600'],
          // sh as PID 1 ignores SIGTERM: the probe's own grace period (raised to the 2 s
          // minimum) bounds the wait for SIGKILL.
          livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 2, terminationGracePeriodSeconds: 1 },
        },
      ]),
    );
    await until('live', 'a liveness restart', async () => ((await pods.get('live')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
    const ev = podEvents('live');
    assert.ok(ev.includes("Unhealthy: Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory\n"), ev.join('\n'));
    assert.ok(ev.includes('Killing: Container c0 failed liveness probe, will be restarted'), ev.join('\n'));
    await until('live', 'running again', async () => (await pods.get('live')).status?.containerStatuses?.[0]?.state?.running !== undefined);
    const last = (await pods.get('live')).status!.containerStatuses![0]!.lastState!.terminated!;
    assert.equal(last.exitCode, 137, 'SIGKILLed after the grace period');
  });

  await t.test('an exec readiness probe flips Ready both ways', async () => {
    await pods.create(
      newPod('ready', [{ command: ['sh', '-c', 'sleep 1; touch /tmp/ready; sleep 3600'], readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 } }]),
    );
    await until('ready', 'Ready', async () => ready(await pods.get('ready')) === 'True');
    const cs = (await pods.get('ready')).status!.containerStatuses![0]!;
    const id = cs.containerID!.replace('containerd://', '');
    const r = await rt.execSync(id, ['rm', '/tmp/ready'], 5);
    assert.equal(r.exitCode, 0);
    await until('ready', 'not Ready', async () => ready(await pods.get('ready')) === 'False');
    const p = await pods.get('ready');
    assert.equal(p.status!.containerStatuses![0]!.restartCount, 0, 'readiness never restarts');
    assert.equal(p.status!.conditions!.find((c) => c.type === 'ContainersReady')!.status, 'False');
  });

  await t.test('httpGet probes reach busybox httpd on the pod IP', async () => {
    await pods.create(
      newPod('web', [
        {
          image: 'nginx',
          ports: [{ name: 'http', containerPort: 80 }],
          livenessProbe: { httpGet: { port: 'http', path: '/index.html' }, periodSeconds: 1 },
          readinessProbe: { httpGet: { port: 80, path: '/ready.html' }, periodSeconds: 1, failureThreshold: 1 },
          startupProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 },
        },
      ]),
    );
    await until('web', 'started', async () => (await pods.get('web')).status?.containerStatuses?.[0]?.started === true);
    const p = await pods.get('web');
    assert.match(p.status!.podIP!, /^10\./);
    assert.equal(ready(p), 'False');
    await until('web', 'a 404 readiness failure', async () => podEvents('web').includes('Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 404'));
    const id = p.status!.containerStatuses![0]!.containerID!.replace('containerd://', '');
    assert.equal((await rt.execSync(id, ['touch', '/usr/share/nginx/html/ready.html'], 5)).exitCode, 0);
    await until('web', 'Ready', async () => ready(await pods.get('web')) === 'True');
    assert.equal((await pods.get('web')).status!.containerStatuses![0]!.restartCount, 0, 'liveness passes');
  });

  await t.test('deletion runs preStop, sends SIGTERM, and SIGKILLs after the grace period', async () => {
    const onTerm = 'if [ -f /tmp/prestop ]; then exit 42; else exit 43; fi';
    await pods.create(
      newPod(
        'bye',
        [
          { name: 'polite', command: ['sh', '-c', `trap '${onTerm}' TERM; while true; do sleep 1; done`], lifecycle: { preStop: { exec: { command: ['touch', '/tmp/prestop'] } } } },
          { name: 'stubborn', command: ['sh', '-c', "trap '' TERM; while true; do sleep 1; done"] },
        ],
        3,
      ),
    );
    await until('bye', 'Running', async () => (await pods.get('bye')).status?.containerStatuses?.every((c) => c.state?.running) === true);
    fake.clearActions();
    // What the API server does on a graceful delete.
    const store = fake.store(Resources.pods);
    const cur = store.get('default/bye')!;
    const next = deepClone(cur) as KObject;
    next.metadata!.deletionTimestamp = formatRFC3339(Date.now() + 3000);
    next.metadata!.deletionGracePeriodSeconds = 3;
    next.metadata!.resourceVersion = String(fake.nextRV());
    const stored = deepFreeze(next);
    store.set('default/bye', stored);
    fake.emit(Resources.pods, 'MODIFIED', stored, cur);
    await eventually('pod deleted by the kubelet', async () => !store.has('default/bye'), 60_000);
    const finals = fake
      .actions()
      .filter((a) => a.verb === 'patch' && a.name === 'bye' && a.subresource === 'status')
      .map((a) => (a.object as { status?: PodStatus }).status?.containerStatuses)
      .filter((s) => s !== undefined)
      .at(-1)!;
    const exit = Object.fromEntries(finals.map((c) => [c.name, c.state?.terminated?.exitCode]));
    assert.deepEqual(exit, { polite: 42, stubborn: 137 }, 'preStop ran before SIGTERM; SIGTERM ignored → SIGKILL after the grace period');
    const ev = podEvents('bye');
    assert.ok(ev.includes('Killing: Stopping container polite') && ev.includes('Killing: Stopping container stubborn'), ev.join('\n'));
    await eventually('containers removed', async () => (await rt.listContainers({ labelSelector: { 'io.kubernetes.pod.name': 'bye' } })).length === 0);
  });
});
