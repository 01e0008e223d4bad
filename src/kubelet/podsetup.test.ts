import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClient } from '../client/fake.js';
import { Resources, type EventRecorder } from '../client/interface.js';
import type { ConfigMap, Pod, Secret } from '../client/objects.js';
import { FakeClock } from '../util/clock.js';
import { silentLogger } from '../util/log.js';
import { PodWorkers, SYNC_ERROR_RESYNC_MS, VOLUME_RETRY_MS } from './pods.js';
import type { ContainerConfig, PodSandboxConfig } from './runtime.js';
import { SimulatedRuntime } from './simulated.js';
import { VOLUME_REFRESH_MS } from './volumes.js';
import { lastLogText } from './podsetup.js';
import { tempDir } from '../../test/util/tmp.js';

async function flush(times = 50): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise((r) => setImmediate(r));
}

/** Pod workers on the simulated runtime, recording what createContainer/runPodSandbox were given. */
function setup(t: { after(fn: () => unknown): void }, rootDir?: string) {
  const clock = new FakeClock();
  const fake = new FakeClient({ clock });
  const runtime = new SimulatedRuntime({ clock, podCIDR: '10.244.1.0/24', preloadedImages: ['busybox'] });
  const created: ContainerConfig[] = [];
  const sandboxes: PodSandboxConfig[] = [];
  const createContainer = runtime.createContainer.bind(runtime);
  runtime.createContainer = (id, config, sb) => {
    created.push(config);
    return createContainer(id, config, sb);
  };
  const runPodSandbox = runtime.runPodSandbox.bind(runtime);
  runtime.runPodSandbox = (config) => {
    sandboxes.push(config);
    return runPodSandbox(config);
  };
  const events: string[] = [];
  const recorder: EventRecorder = { event: (_o, type, reason, message) => events.push(`${type} ${reason}: ${message}`) };
  const workers = new PodWorkers({
    client: fake,
    nodeName: 'n1',
    runtime,
    runtimeName: 'simulated',
    clock,
    logger: silentLogger(),
    recorder,
    hostIP: () => '192.168.0.10',
    rootDir,
    resolvConf: '/nonexistent/resolv.conf',
    nodeAllocatable: () => ({ cpu: '4', memory: '8Gi' }),
    unavailableCapabilities: [],
  });
  workers.start();
  t.after(() => workers.stop());
  const pods = fake.resource<Pod>(Resources.pods, 'default');
  return {
    fake,
    clock,
    created,
    sandboxes,
    events,
    workers,
    async create(pod: Pod) {
      workers.updatePod(await pods.create(pod));
      await flush();
      await workers.idle();
    },
    async step(ms: number) {
      clock.step(ms);
      await flush();
      await workers.idle();
    },
    get: (name: string) => pods.get(name),
  };
}

function newPod(name: string, spec: Partial<NonNullable<Pod['spec']>>): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec: { nodeName: 'n1', containers: [], ...spec } };
}

test('the CRI config carries expanded env/command, resources, security context, DNS and host ports', async (t) => {
  const env = setup(t);
  await env.fake.resource<ConfigMap>(Resources.configmaps, 'default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { MODE: 'fast' } });
  await env.create(
    newPod('web', {
      securityContext: { runAsUser: 1000 },
      containers: [
        {
          name: 'main',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['run', '--mode=$(MODE)', '--ip=$(POD_IP)'],
          env: [
            { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          ],
          ports: [{ containerPort: 80, hostPort: 8080 }],
          resources: { requests: { cpu: '250m' }, limits: { cpu: '1', memory: '128Mi' } },
          securityContext: { allowPrivilegeEscalation: false },
          stdin: true,
          tty: true,
        },
      ],
    }),
  );
  const pod = await env.get('web');
  assert.equal(pod.status?.phase, 'Running');
  const ip = pod.status!.podIP!;
  const c = env.created[0]!;
  assert.deepEqual(c.env, [{ key: 'MODE', value: 'fast' }, { key: 'POD_IP', value: ip }]);
  assert.deepEqual(c.command, ['run', '--mode=fast', `--ip=${ip}`]);
  assert.deepEqual(c.resources, { cpuPeriod: 100000, cpuQuota: 100000, cpuShares: 256, memoryLimitInBytes: 128 * 2 ** 20, oomScoreAdj: 999 });
  assert.deepEqual(c.securityContext, { runAsUser: 1000, noNewPrivs: true });
  assert.equal(c.stdin, true);
  assert.equal(c.tty, true);
  assert.equal(c.mounts, undefined, 'no root dir: no mounts');
  const sb = env.sandboxes[0]!;
  assert.deepEqual(sb.dnsConfig, { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] });
  assert.deepEqual(sb.portMappings, [{ protocol: 'TCP', containerPort: 80, hostPort: 8080 }]);
  assert.equal(sb.privileged, false);
});

test('simulated: a missing ConfigMap is CreateContainerConfigError, retried after the back-off once it exists', async (t) => {
  const env = setup(t);
  await env.create(
    newPod('needs', { containers: [{ name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', env: [{ name: 'V', valueFrom: { configMapKeyRef: { name: 'later', key: 'v' } } }] }] }),
  );
  let pod = await env.get('needs');
  assert.equal(pod.status?.phase, 'Pending');
  assert.deepEqual(pod.status?.containerStatuses?.[0]?.state, { waiting: { reason: 'CreateContainerConfigError', message: 'configmap "later" not found' } });
  assert.ok(env.events.includes('Warning Failed: Error: configmap "later" not found'));
  await env.fake.resource<ConfigMap>(Resources.configmaps, 'default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later' }, data: { v: '1' } });
  await env.step(SYNC_ERROR_RESYNC_MS);
  pod = await env.get('needs');
  assert.equal(pod.status?.phase, 'Running');
  assert.deepEqual(env.created.at(-1)?.env, [{ key: 'V', value: '1' }]);
});

test('volumes: FailedMount until the Secret exists, then files, mounts and /etc/hosts; removed with the pod', async (t) => {
  const root = tempDir(t, 'flotilla-podsetup-');
  const env = setup(t, root);
  const pod = newPod('vol', {
    volumes: [{ name: 'sec', secret: { secretName: 'creds' } }, { name: 'scratch', emptyDir: {} }],
    containers: [{ name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', volumeMounts: [{ name: 'sec', mountPath: '/creds' }, { name: 'scratch', mountPath: '/tmp/x' }] }],
  });
  await env.create(pod);
  let got = await env.get('vol');
  assert.deepEqual(got.status?.containerStatuses?.[0]?.state, { waiting: { reason: 'ContainerCreating' } });
  assert.ok(env.events.includes('Warning FailedMount: MountVolume.SetUp failed for volume "sec" : secret "creds" not found'), env.events.join('\n'));
  assert.equal(env.sandboxes.length, 0, 'no sandbox before the volumes are ready');
  await env.fake.resource<Secret>(Resources.secrets, 'default').create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, data: { token: Buffer.from('t0k').toString('base64') } });
  await env.step(VOLUME_RETRY_MS);
  got = await env.get('vol');
  assert.equal(got.status?.phase, 'Running');
  const podDir = join(root, 'pods', got.metadata!.uid!);
  assert.equal(readFileSync(join(podDir, 'volumes/kubernetes.io~secret/sec/token'), 'utf8'), 't0k');
  const mounts = env.created[0]!.mounts!;
  assert.deepEqual(mounts.map((m) => [m.containerPath, m.readonly]), [['/creds', true], ['/tmp/x', false], ['/etc/hosts', false], ['/dev/termination-log', false]]);
  assert.match(readFileSync(join(podDir, 'etc-hosts'), 'utf8'), new RegExp(`\\n${got.status!.podIP!.replace(/\./g, '\\.')}\\tvol\\n$`));
  env.workers.deletePod(got);
  await flush();
  await env.workers.idle();
  assert.equal(existsSync(podDir), false);
});

test('a running pod re-syncs periodically so ConfigMap edits reach its volume', async (t) => {
  const root = tempDir(t, 'flotilla-podsetup-');
  const env = setup(t, root);
  const cms = env.fake.resource<ConfigMap>(Resources.configmaps, 'default');
  await cms.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { k: 'v1' } });
  await env.create(newPod('live', { volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }], containers: [{ name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }] }] }));
  const pod = await env.get('live');
  assert.equal(pod.status?.phase, 'Running');
  const file = join(root, 'pods', pod.metadata!.uid!, 'volumes/kubernetes.io~configmap/cfg/k');
  assert.equal(readFileSync(file, 'utf8'), 'v1');
  const cm = await cms.get('cfg');
  await cms.update({ ...cm, data: { k: 'v2' } });
  await env.step(VOLUME_REFRESH_MS);
  assert.equal(readFileSync(file, 'utf8'), 'v2');
  assert.equal(env.created.length, 1, 'the container is not restarted');
});

test('termination messages: the file a container wrote, else with FallbackToLogsOnError the end of its log', async (t) => {
  const root = tempDir(t, 'flotilla-podsetup-');
  const env = setup(t, root);
  await env.create(
    newPod('done', {
      restartPolicy: 'Never',
      containers: [{ name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'sleep 2; exit 3'] }],
    }),
  );
  const pod = await env.get('done');
  writeFileSync(join(root, 'pods', pod.metadata!.uid!, 'containers/main/0.termination-log'), 'disk full\n');
  await env.step(2000);
  const term = (await env.get('done')).status?.containerStatuses?.[0]?.state?.terminated;
  assert.equal(term?.exitCode, 3);
  assert.equal(term?.message, 'disk full\n');

  const dir = tempDir(t, 'flotilla-logs-');
  const log = join(dir, '0.log');
  const lines = Array.from({ length: 100 }, (_, i) => `2026-01-01T00:00:00.000000000Z stdout F line ${i}`);
  writeFileSync(log, `${lines.join('\n')}\n2026-01-01T00:00:01.000000000Z stderr P par\n2026-01-01T00:00:01.000000000Z stderr F tial\n`);
  const text = await lastLogText(log, 80, 2048);
  assert.equal(text, `${Array.from({ length: 79 }, (_, i) => `line ${i + 21}\n`).join('')}partial\n`);
  assert.equal((await lastLogText(log, 80, 10)), 'e 99\npartial\n'.slice(-10));
  assert.equal(await lastLogText(join(dir, 'missing.log'), 80, 2048), '');
});

test('no cluster DNS configured: ClusterFirst pods get the host resolver and a MissingClusterDNS event', async (t) => {
  const clock = new FakeClock();
  const fake = new FakeClient({ clock });
  const runtime = new SimulatedRuntime({ clock, podCIDR: '10.244.1.0/24', preloadedImages: ['busybox'] });
  const events: string[] = [];
  const workers = new PodWorkers({
    client: fake,
    nodeName: 'n1',
    runtime,
    runtimeName: 'simulated',
    clock,
    logger: silentLogger(),
    recorder: { event: (_o, type, reason, message) => events.push(`${type} ${reason}: ${message}`) },
    hostIP: () => '192.168.0.10',
    clusterDNS: [],
    resolvConf: '/nonexistent/resolv.conf',
  });
  t.after(() => workers.stop());
  const pod = await fake.resource<Pod>(Resources.pods, 'default').create(newPod('nodns', { containers: [{ name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent' }] }));
  workers.updatePod(pod);
  await flush();
  await workers.idle();
  assert.ok(events.includes(`Warning MissingClusterDNS: pod: "nodns_default(${pod.metadata!.uid})". kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`), events.join('\n'));
});
