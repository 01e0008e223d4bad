/**
 * The pod spec → CRI config path on a real containerd (Debian's 1.6, node-owned with its
 * CNI bridge, as `flotilla up` runs it): environment from ConfigMaps, Secrets and the
 * downward API with $(VAR) expansion, two containers sharing an emptyDir, ConfigMap and
 * Secret volume files, /etc/hosts and resolv.conf, a memory limit ending in OOMKilled, and
 * the waiting reasons for what cannot be configured (a missing ConfigMap →
 * CreateContainerConfigError, recovered once it exists; an unavailable capability →
 * CreateContainerError). The pod workers run against a fake API (FakeClient). Skipped
 * without root, containerd, ctr, busybox-static and the CNI plugins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClient } from '../../src/client/fake.js';
import { Resources, type EventRecorder } from '../../src/client/interface.js';
import type { ConfigMap, Pod, Secret, Service } from '../../src/client/objects.js';
import { containerdDirOf, startContainerd } from '../../src/kubelet/containerd/index.js';
import { CriRuntime } from '../../src/kubelet/cri/runtime.js';
import { PodWorkers } from '../../src/kubelet/pods.js';
import { unmountPodVolumes } from '../../src/kubelet/volumes.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { importTestImages, NginxWelcome } from '../util/images.js';
import { eventually } from '../util/wait.js';

const canRun =
  process.platform === 'linux' &&
  process.getuid?.() === 0 &&
  existsSync('/usr/bin/containerd') &&
  existsSync('/usr/bin/ctr') &&
  existsSync('/bin/busybox') &&
  existsSync('/usr/lib/cni/bridge');
const skip = !canRun && 'needs root, containerd, ctr, busybox-static and the CNI plugins';

let cidr = 0;

interface Node {
  fake: FakeClient;
  cri: CriRuntime;
  workers: PodWorkers;
  rootDir: string;
  gateway: string;
  events: string[];
  create(pod: Pod): Promise<Pod>;
  get(name: string): Promise<Pod>;
  remove(name: string): Promise<void>;
}

/** containerd with a pod network, pod workers on a fake API, a kubelet root dir; all stopped after the test. */
async function startNode(t: { after(fn: () => unknown): void }): Promise<Node> {
  // One hook tears everything down in order (workers, then containerd and its pods, then
  // the files), since a directory with live sandbox mounts cannot be removed.
  const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-cri-config-'));
  const cleanups: Array<() => unknown> = [
    () => rmSync(dataDir, { recursive: true, force: true }),
    // The tmpfs of memory-backed volumes of pods still there (the kubelet leaves them, as upstream).
    () => unmountPodVolumes(join(dataDir, 'kubelet')),
  ];
  t.after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  const podCIDR = `10.${200 + (process.pid % 50)}.${100 + (cidr++ % 100)}.0/24`;
  const ctd = await startContainerd({ dir: containerdDirOf(dataDir), podCIDR, logger: silentLogger() });
  const cri = new CriRuntime({ endpoint: ctd.socket, timeoutMs: 30_000 });
  cleanups.push(async () => {
    cri.close();
    await ctd.stop();
  });
  await importTestImages(ctd.socket, ['busybox', 'nginx', 'pause']);
  const fake = new FakeClient();
  const events: string[] = [];
  const recorder: EventRecorder = { event: (_o, type, reason, message) => events.push(`${type} ${reason}: ${message}`) };
  const rootDir = join(dataDir, 'kubelet');
  const workers = new PodWorkers({
    client: fake,
    nodeName: 'n1',
    runtime: cri,
    runtimeName: 'containerd',
    clock: realClock,
    logger: silentLogger(),
    recorder,
    hostIP: () => ctd.gateway,
    podLogsDir: join(dataDir, 'pods-logs'),
    rootDir,
    nodeAllocatable: () => ({ cpu: '2', memory: '4Gi' }),
    unavailableCapabilities: ['SYS_RESOURCE'],
  });
  workers.start();
  cleanups.push(async () => {
    workers.stop();
    await workers.idle();
  });
  const pods = fake.resource<Pod>(Resources.pods, 'default');
  return {
    fake,
    cri,
    workers,
    rootDir,
    gateway: ctd.gateway,
    events,
    async create(pod) {
      const created = await pods.create(pod);
      workers.updatePod(created);
      return created;
    },
    get: (name) => pods.get(name),
    async remove(name) {
      const p = await pods.get(name);
      await pods.delete(name);
      workers.deletePod(p);
    },
  };
}

function newPod(name: string, spec: Partial<NonNullable<Pod['spec']>>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: { nodeName: 'n1', restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [], ...spec },
  };
}

async function exec(cri: CriRuntime, containerId: string, cmd: string[]): Promise<string> {
  const r = await cri.execSync(containerId, cmd, 10);
  assert.equal(r.exitCode, 0, `${cmd.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

function containerId(pod: Pod, name: string): string {
  const cs = pod.status?.containerStatuses?.find((c) => c.name === name);
  assert.ok(cs?.containerID, `${name} has a container ID`);
  return cs.containerID.replace(/^containerd:\/\//, '');
}

async function waitPod(node: Node, name: string, what: string, cond: (p: Pod) => boolean): Promise<Pod> {
  let pod: Pod | undefined;
  try {
    await eventually(`${name}: ${what}`, async () => {
      pod = await node.get(name);
      return cond(pod);
    }, 60_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nstatus: ${JSON.stringify(pod?.status?.containerStatuses)}\nevents:\n${node.events.join('\n')}`);
  }
  return pod!;
}

test('env from ConfigMap/Secret/downward API, a shared emptyDir, ConfigMap and Secret volumes, /etc/hosts and DNS in real containers', { skip }, async (t) => {
  const node = await startNode(t);
  await node.fake.resource<ConfigMap>(Resources.configmaps, 'default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config' }, data: { GREETING: 'hello', 'app.conf': 'x=1\n' } });
  await node.fake.resource<Secret>(Resources.secrets, 'default').create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-secret' }, data: { password: Buffer.from('s3cret').toString('base64') } });
  await node.fake.resource<Service>(Resources.services, 'default').create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] } });
  await node.create(
    newPod('cfg-pod', {
      volumes: [
        { name: 'shared', emptyDir: {} },
        { name: 'config', configMap: { name: 'app-config' } },
        { name: 'secret', secret: { secretName: 'app-secret', defaultMode: 0o400 } },
      ],
      containers: [
        {
          name: 'writer',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', 'echo "$(GREETING) from $(POD_NAME)" > /shared/msg && exec sleep 3600'],
          envFrom: [{ configMapRef: { name: 'app-config' }, prefix: 'CFG_' }],
          env: [
            { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'GREETING' } } },
            { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'password' } } },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'APP_LABEL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
            { name: 'MEM_LIMIT_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
            { name: 'COMBINED', value: '$(GREETING)-$(NODE_NAME)-$$(NOT_EXPANDED)' },
          ],
          resources: { limits: { memory: '64Mi', cpu: '500m' } },
          volumeMounts: [
            { name: 'shared', mountPath: '/shared' },
            { name: 'config', mountPath: '/etc/config' },
            { name: 'secret', mountPath: '/etc/secret' },
          ],
        },
        { name: 'reader', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'], volumeMounts: [{ name: 'shared', mountPath: '/data' }] },
      ],
    }),
  );
  const pod = await waitPod(node, 'cfg-pod', 'Running with both containers running', (p) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).filter((c) => c.state?.running).length === 2);
  const podIP = pod.status!.podIP!;
  assert.match(podIP, /^10\.\d+\.\d+\.\d+$/);
  const writer = containerId(pod, 'writer');
  const reader = containerId(pod, 'reader');

  const env = new Map(
    (await exec(node.cri, writer, ['env']))
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  assert.equal(env.get('GREETING'), 'hello');
  assert.equal(env.get('CFG_GREETING'), 'hello');
  assert.equal(env.get('PASSWORD'), 's3cret');
  assert.equal(env.get('POD_NAME'), 'cfg-pod');
  assert.equal(env.get('POD_IP'), podIP);
  assert.equal(env.get('NODE_NAME'), 'n1');
  assert.equal(env.get('APP_LABEL'), 'cfg-pod');
  assert.equal(env.get('MEM_LIMIT_MI'), '64');
  assert.equal(env.get('COMBINED'), 'hello-n1-$(NOT_EXPANDED)');
  assert.equal(env.get('KUBERNETES_SERVICE_HOST'), '10.96.0.1');
  assert.equal(env.get('KUBERNETES_SERVICE_PORT'), '443');

  // The writer's emptyDir file is the reader's.
  await eventually('the message in the shared emptyDir', async () => (await exec(node.cri, reader, ['cat', '/data/msg'])) === 'hello from cfg-pod\n');
  assert.equal(await exec(node.cri, writer, ['cat', '/etc/config/app.conf']), 'x=1\n');
  assert.equal(await exec(node.cri, writer, ['cat', '/etc/config/GREETING']), 'hello');
  assert.equal(await exec(node.cri, writer, ['cat', '/etc/secret/password']), 's3cret');
  assert.match(await exec(node.cri, writer, ['stat', '-L', '-c', '%a', '/etc/secret/password']), /^400\n$/);
  const ro = await node.cri.execSync(writer, ['sh', '-c', 'echo x > /etc/config/new'], 10);
  assert.notEqual(ro.exitCode, 0, 'ConfigMap volumes are read-only');
  const hosts = await exec(node.cri, reader, ['cat', '/etc/hosts']);
  assert.match(hosts, /^# Kubernetes-managed hosts file\.\n/);
  assert.ok(hosts.includes(`${podIP}\tcfg-pod\n`), hosts);
  const resolv = await exec(node.cri, reader, ['cat', '/etc/resolv.conf']);
  assert.match(resolv, /nameserver 10\.96\.0\.10/);
  assert.match(resolv, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
  assert.match(resolv, /options ndots:5/);

  // A ConfigMap edit reaches the volume on the next refresh; here we only check the files
  // are the kubelet's, under its root dir, and go with the pod.
  const podDir = join(node.rootDir, 'pods', pod.metadata!.uid!);
  assert.ok(existsSync(join(podDir, 'volumes/kubernetes.io~empty-dir/shared/msg')));
  await node.remove('cfg-pod');
  await eventually('pod directory removed', () => !existsSync(podDir));
});

test('security context (user, group, read-only root), a projected service-account token, hostPath and subPath in a real container', { skip }, async (t) => {
  const node = await startNode(t);
  node.fake.prependReactor('create', 'serviceaccounts', (a) =>
    a.subresource === 'token' ? { result: { status: { token: 'header.payload.signature', expirationTimestamp: new Date(Date.now() + 3600_000).toISOString() } } } : undefined,
  );
  const cms = node.fake.resource<ConfigMap>(Resources.configmaps, 'default');
  await cms.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': 'CERT' } });
  await cms.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app' }, data: { 'app.conf': 'a=b\n' } });
  const hostDir = join(node.rootDir, '..', 'host-data');
  await node.create(
    newPod('secure', {
      securityContext: { runAsUser: 1000, runAsGroup: 3000 },
      volumes: [
        {
          name: 'kube-api-access-x1',
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
        { name: 'app', configMap: { name: 'app' } },
        { name: 'host', hostPath: { path: hostDir, type: 'DirectoryOrCreate' } },
      ],
      containers: [
        {
          name: 'main',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', '3600'],
          securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          volumeMounts: [
            { name: 'kube-api-access-x1', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
            { name: 'app', mountPath: '/etc/app.conf', subPath: 'app.conf' },
            { name: 'host', mountPath: '/host', readOnly: true },
          ],
        },
      ],
    }),
  );
  const pod = await waitPod(node, 'secure', 'Running', (p) => p.status?.phase === 'Running');
  const id = containerId(pod, 'main');
  assert.equal(await exec(node.cri, id, ['id', '-u']), '1000\n');
  assert.equal(await exec(node.cri, id, ['id', '-g']), '3000\n');
  const touch = await node.cri.execSync(id, ['touch', '/rootfs-write'], 10);
  assert.notEqual(touch.exitCode, 0, 'the root filesystem is read-only');
  assert.match(touch.stderr.toString(), /Read-only file system/);
  const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
  assert.equal(await exec(node.cri, id, ['cat', `${sa}/token`]), 'header.payload.signature');
  assert.equal(await exec(node.cri, id, ['cat', `${sa}/ca.crt`]), 'CERT');
  assert.equal(await exec(node.cri, id, ['cat', `${sa}/namespace`]), 'default');
  assert.equal(await exec(node.cri, id, ['cat', '/etc/app.conf']), 'a=b\n');
  assert.ok(existsSync(hostDir), 'DirectoryOrCreate made the host directory');
  assert.equal(await exec(node.cri, id, ['ls', '-d', '/host']), '/host\n');
  // ExecSync reports a command's own exit code and its stderr.
  const r = await node.cri.execSync(id, ['sh', '-c', 'echo oops >&2; exit 7'], 10);
  assert.equal(r.exitCode, 7);
  assert.equal(r.stderr.toString(), 'oops\n');
});

test('a hostPort reaches the container through the portmap plugin; the privileged flag reaches the sandbox', { skip }, async (t) => {
  const node = await startNode(t);
  const hostPort = 20000 + (process.pid % 20000);
  await node.create(
    newPod('web', {
      containers: [
        {
          name: 'nginx',
          image: 'nginx',
          imagePullPolicy: 'IfNotPresent',
          ports: [{ containerPort: 80, hostPort }],
          securityContext: { privileged: true },
        },
      ],
    }),
  );
  const pod = await waitPod(node, 'web', 'Running', (p) => p.status?.phase === 'Running');
  const id = containerId(pod, 'nginx');
  // Privileged containers see the host's devices (e.g. /dev/kmsg is hidden otherwise).
  assert.equal((await node.cri.execSync(id, ['ls', '/dev/kmsg'], 10)).exitCode, 0);
  const gateway = node.gateway;
  let body = '';
  await eventually(`http://${gateway}:${hostPort}/`, async () => {
    const res = await fetch(`http://${gateway}:${hostPort}/`, { signal: AbortSignal.timeout(2000) });
    body = await res.text();
    return res.status === 200;
  });
  assert.equal(body, NginxWelcome);
});

test('a memory limit is enforced: over-limit container is OOMKilled with exit code 137; termination messages', { skip }, async (t) => {
  const node = await startNode(t);
  await node.create(newPod('bye', { containers: [{ name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'echo bye > /dev/termination-log; exit 3'] }] }));
  await node.create(
    newPod('crash', {
      containers: [{ name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'echo starting >&2; echo fatal error >&2; exit 2'], terminationMessagePolicy: 'FallbackToLogsOnError' }],
    }),
  );
  await node.create(
    newPod('hog', {
      containers: [
        {
          name: 'hog',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          // tail keeps the whole "line" of /dev/zero in memory until the cgroup limit kills it.
          command: ['tail', '/dev/zero'],
          resources: { limits: { memory: '16Mi' } },
        },
      ],
    }),
  );
  const pod = await waitPod(node, 'hog', 'terminated', (p) => p.status?.containerStatuses?.[0]?.state?.terminated !== undefined);
  const term = pod.status!.containerStatuses![0]!.state!.terminated!;
  assert.equal(term.reason, 'OOMKilled');
  assert.equal(term.exitCode, 137);
  assert.equal(pod.status!.phase, 'Failed');
  const bye = await waitPod(node, 'bye', 'terminated', (p) => p.status?.containerStatuses?.[0]?.state?.terminated !== undefined);
  assert.deepEqual([bye.status!.containerStatuses![0]!.state!.terminated!.exitCode, bye.status!.containerStatuses![0]!.state!.terminated!.message], [3, 'bye\n']);
  const crash = await waitPod(node, 'crash', 'terminated', (p) => p.status?.containerStatuses?.[0]?.state?.terminated !== undefined);
  // (Both lines on stderr: stdout and stderr are separate pipes, whose order in the log is not kept.)
  assert.deepEqual([crash.status!.containerStatuses![0]!.state!.terminated!.exitCode, crash.status!.containerStatuses![0]!.state!.terminated!.message], [2, 'starting\nfatal error\n']);
});

test('a missing ConfigMap is CreateContainerConfigError until it exists; an unavailable capability is CreateContainerError', { skip }, async (t) => {
  const node = await startNode(t);
  await node.create(
    newPod('needs-config', {
      containers: [
        {
          name: 'main',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', 'echo $(V) && sleep 3600'],
          env: [{ name: 'V', valueFrom: { configMapKeyRef: { name: 'later', key: 'v' } } }],
        },
      ],
    }),
  );
  await node.create(
    newPod('wants-cap', {
      containers: [{ name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'], securityContext: { capabilities: { add: ['SYS_RESOURCE'] } } }],
    }),
  );
  let pod = await waitPod(node, 'needs-config', 'CreateContainerConfigError', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError');
  assert.equal(pod.status!.containerStatuses![0]!.state!.waiting!.message, 'configmap "later" not found');
  assert.equal(pod.status!.phase, 'Pending');
  assert.ok(node.events.includes('Warning Failed: Error: configmap "later" not found'), node.events.join('\n'));

  const capPod = await waitPod(node, 'wants-cap', 'CreateContainerError', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerError');
  assert.match(capPod.status!.containerStatuses![0]!.state!.waiting!.message!, /capability CAP_SYS_RESOURCE is not available on this node/);

  await node.fake.resource<ConfigMap>(Resources.configmaps, 'default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later' }, data: { v: 'now' } });
  pod = await waitPod(node, 'needs-config', 'Running after the ConfigMap appeared', (p) => p.status?.phase === 'Running');
  assert.equal(pod.status!.containerStatuses![0]!.state!.running !== undefined, true);
});
