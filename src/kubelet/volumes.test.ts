import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, openSync, closeSync, readFileSync, readlinkSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClient } from '../client/fake.js';
import { Resources } from '../client/interface.js';
import type { ConfigMap, Pod, Secret } from '../client/objects.js';
import { FakeClock } from '../util/clock.js';
import { silentLogger } from '../util/log.js';
import { ContainerConfigError } from './podconfig.js';
import { mountAt, mountsUnder, parseMountInfo, tmpfsNoswapSupported } from './mount.js';
import { VOLUME_REFRESH_MS, VolumeManager, checkHostPathType, fsUserFrom, memoryVolumeSize, podMemoryLimit, unmountPodVolumes, writeAtomic } from './volumes.js';
import { tempDir } from '../../test/util/tmp.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

const asRoot = process.platform === 'linux' && process.getuid?.() === 0;

function setup(t: { after(fn: () => unknown): void }, opts: { memoryBacked?: boolean } = {}) {
  let root = '';
  // Before the directory's removal (after-hooks run in order): a failed test leaves no tmpfs behind.
  if (opts.memoryBacked) t.after(() => unmountPodVolumes(root));
  root = tempDir(t, 'flotilla-volumes-');
  const client = new FakeClient();
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const tokens: unknown[] = [];
  client.prependReactor('create', 'serviceaccounts', (a) => {
    if (a.subresource !== 'token') return undefined;
    tokens.push(a.object);
    return { result: { status: { token: `tok-${tokens.length}`, expirationTimestamp: new Date(clock.now() + 3600_000).toISOString() } } };
  });
  const vm = new VolumeManager({ rootDir: root, client, clock, logger: silentLogger(), nodeAllocatable: () => ({ cpu: '2', memory: '4Gi' }), memoryBacked: opts.memoryBacked });
  return { root, client, clock, vm, tokens };
}

function newPod(volumes: NonNullable<Pod['spec']>['volumes'], volumeMounts: NonNullable<NonNullable<Pod['spec']>['containers'][number]['volumeMounts']> = []): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'uid-1', labels: { app: 'x' } },
    spec: { serviceAccountName: 'sa', containers: [{ name: 'c', image: 'busybox', volumeMounts, resources: { limits: { memory: '64Mi' } } }], volumes },
  };
}

test('writeAtomic: ..data scheme, unchanged payload not rewritten, removed keys disappear', async (t) => {
  const dir = join(tempDir(t, 'flotilla-atomic-'), 'v');
  const p1 = new Map([['a', { data: Buffer.from('1'), mode: 0o644 }], ['sub/b', { data: Buffer.from('2'), mode: 0o400 }]]);
  assert.equal(await writeAtomic(dir, p1, Date.UTC(2026, 0, 2, 3, 4, 5)), true);
  const target = readlinkSync(join(dir, '..data'));
  assert.match(target, /^\.\.2026_01_02_03_04_05\.\d+$/);
  assert.equal(readlinkSync(join(dir, 'a')), '..data/a');
  assert.equal(readlinkSync(join(dir, 'sub')), '..data/sub');
  assert.equal(readFileSync(join(dir, 'sub/b'), 'utf8'), '2');
  assert.equal(statSync(join(dir, 'sub/b')).mode & 0o777, 0o400);
  assert.equal(await writeAtomic(dir, p1, Date.UTC(2026, 0, 2, 3, 4, 6)), false);
  const p2 = new Map([['a', { data: Buffer.from('one'), mode: 0o644 }]]);
  assert.equal(await writeAtomic(dir, p2, Date.UTC(2026, 0, 2, 3, 4, 7)), true);
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'one');
  assert.equal(existsSync(join(dir, 'sub')), false);
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('..2026')).length, 1, 'old timestamped dir removed');
});

test('hostPath type checks with upstream messages', async (t) => {
  const dir = tempDir(t, 'flotilla-hostpath-');
  writeFileSync(join(dir, 'file'), 'x');
  await checkHostPathType(join(dir, 'nope'), '');
  await checkHostPathType(join(dir, 'made/deep'), 'DirectoryOrCreate');
  assert.ok(statSync(join(dir, 'made/deep')).isDirectory());
  await checkHostPathType(join(dir, 'newfile'), 'FileOrCreate');
  assert.ok(statSync(join(dir, 'newfile')).isFile());
  await checkHostPathType(join(dir, 'file'), 'File');
  await checkHostPathType(dir, 'Directory');
  const cases: Array<[string, string, string]> = [
    [join(dir, 'file'), 'Directory', `hostPath type check failed: ${join(dir, 'file')} is not a directory`],
    [join(dir, 'nope'), 'Directory', `hostPath type check failed: ${join(dir, 'nope')} is not a directory`],
    [join(dir, 'file'), 'DirectoryOrCreate', `hostPath type check failed: ${join(dir, 'file')} is not a directory`],
    [dir, 'File', `hostPath type check failed: ${dir} is not a file`],
    [dir, 'FileOrCreate', `hostPath type check failed: ${dir} is not a file`],
    [dir, 'Socket', `hostPath type check failed: ${dir} is not a socket file`],
    [dir, 'CharDevice', `hostPath type check failed: ${dir} is not a character device`],
    [dir, 'BlockDevice', `hostPath type check failed: ${dir} is not a block device`],
    [dir, 'Bogus', 'Bogus is an invalid volume type'],
  ];
  for (const [p, type, msg] of cases) await assert.rejects(checkHostPathType(p, type), { message: msg }, `${type} ${p}`);
});

test('emptyDir, configMap, secret, downwardAPI and projected volumes become files and CRI mounts', async (t) => {
  const { root, client, vm, tokens } = setup(t);
  await client.resource<ConfigMap>(Resources.configmaps, 'default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { 'app.conf': 'x=1', other: 'o' } });
  await client.resource<ConfigMap>(Resources.configmaps, 'default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': 'CA' } });
  await client.resource<Secret>(Resources.secrets, 'default').create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec' }, data: { password: b64('s3cret') } });
  const hostDir = join(root, 'host');
  const pod = newPod(
    [
      { name: 'scratch', emptyDir: {} },
      { name: 'cfg', configMap: { name: 'cfg', items: [{ key: 'app.conf', path: 'conf/app.conf', mode: 0o600 }] } },
      { name: 'sec', secret: { secretName: 'sec', defaultMode: 0o400 } },
      { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'mem', resourceFieldRef: { containerName: 'c', resource: 'limits.memory', divisor: '1Mi' } }] } },
      {
        name: 'kube-api-access-abcde',
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      },
      { name: 'host', hostPath: { path: hostDir, type: 'DirectoryOrCreate' } },
      { name: 'opt', configMap: { name: 'absent', optional: true } },
    ],
    [
      { name: 'scratch', mountPath: '/scratch' },
      { name: 'scratch', mountPath: '/sub', subPath: 'a/b' },
      { name: 'scratch', mountPath: '/expr', subPathExpr: '$(POD_NAME)' },
      { name: 'cfg', mountPath: '/etc/cfg' },
      { name: 'cfg', mountPath: '/etc/app.conf', subPath: 'conf/app.conf' },
      { name: 'sec', mountPath: '/etc/sec', readOnly: true },
      { name: 'info', mountPath: '/etc/info' },
      { name: 'kube-api-access-abcde', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
      { name: 'host', mountPath: '/host' },
      { name: 'opt', mountPath: '/opt' },
    ],
  );
  assert.deepEqual(await vm.setUpPod(pod), []);
  const vols = join(root, 'pods/uid-1/volumes');
  const empty = join(vols, 'kubernetes.io~empty-dir/scratch');
  assert.equal(statSync(empty).mode & 0o777, 0o777);
  assert.equal(readFileSync(join(vols, 'kubernetes.io~configmap/cfg/conf/app.conf'), 'utf8'), 'x=1');
  assert.equal(statSync(join(vols, 'kubernetes.io~configmap/cfg/conf/app.conf')).mode & 0o777, 0o600);
  assert.equal(existsSync(join(vols, 'kubernetes.io~configmap/cfg/other')), false);
  assert.equal(readFileSync(join(vols, 'kubernetes.io~secret/sec/password'), 'utf8'), 's3cret');
  assert.equal(statSync(join(vols, 'kubernetes.io~secret/sec/password')).mode & 0o777, 0o400);
  assert.equal(readFileSync(join(vols, 'kubernetes.io~downward-api/info/labels'), 'utf8'), 'app="x"');
  assert.equal(readFileSync(join(vols, 'kubernetes.io~downward-api/info/mem'), 'utf8'), '64');
  const sa = join(vols, 'kubernetes.io~projected/kube-api-access-abcde');
  assert.equal(readFileSync(join(sa, 'token'), 'utf8'), 'tok-1');
  assert.equal(readFileSync(join(sa, 'ca.crt'), 'utf8'), 'CA');
  assert.equal(readFileSync(join(sa, 'namespace'), 'utf8'), 'default');
  assert.deepEqual(tokens, [{ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3607, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'uid-1' } } }]);
  assert.ok(statSync(hostDir).isDirectory());

  const hosts = await vm.writeHostsFile(pod, ['10.244.0.9']);
  assert.equal(hosts, join(root, 'pods/uid-1/etc-hosts'));
  assert.match(readFileSync(hosts, 'utf8'), /\n10\.244\.0\.9\tp\n$/);
  const mounts = await vm.mountsFor(pod, pod.spec!.containers[0]!, 0, [{ key: 'POD_NAME', value: 'p' }], hosts);
  assert.deepEqual(mounts, [
    { containerPath: '/scratch', hostPath: empty, readonly: false },
    { containerPath: '/sub', hostPath: join(empty, 'a/b'), readonly: false },
    { containerPath: '/expr', hostPath: join(empty, 'p'), readonly: false },
    { containerPath: '/etc/cfg', hostPath: join(vols, 'kubernetes.io~configmap/cfg'), readonly: true },
    { containerPath: '/etc/app.conf', hostPath: join(vols, 'kubernetes.io~configmap/cfg/conf/app.conf'), readonly: true },
    { containerPath: '/etc/sec', hostPath: join(vols, 'kubernetes.io~secret/sec'), readonly: true },
    { containerPath: '/etc/info', hostPath: join(vols, 'kubernetes.io~downward-api/info'), readonly: true },
    { containerPath: '/var/run/secrets/kubernetes.io/serviceaccount', hostPath: sa, readonly: true },
    { containerPath: '/host', hostPath: hostDir, readonly: false },
    { containerPath: '/opt', hostPath: join(vols, 'kubernetes.io~configmap/opt'), readonly: true },
    { containerPath: '/etc/hosts', hostPath: hosts, readonly: false },
    { containerPath: '/dev/termination-log', hostPath: join(root, 'pods/uid-1/containers/c/0.termination-log'), readonly: false },
  ]);
  assert.ok(statSync(join(empty, 'a/b')).isDirectory());
  // Restarts keep the previous instance's termination-log file only.
  for (const attempt of [1, 2, 3]) await vm.mountsFor(pod, pod.spec!.containers[0]!, attempt, [{ key: 'POD_NAME', value: 'p' }], hosts);
  assert.deepEqual(readdirSync(join(root, 'pods/uid-1/containers/c')).sort(), ['2.termination-log', '3.termination-log']);

  await vm.tearDownPod('uid-1');
  assert.equal(existsSync(join(root, 'pods/uid-1')), false);
});

test('ConfigMap edits and token renewal are picked up on refresh', async (t) => {
  const { root, client, clock, vm, tokens } = setup(t);
  const cms = client.resource<ConfigMap>(Resources.configmaps, 'default');
  await cms.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { k: 'v1' } });
  const pod = newPod([{ name: 'cfg', configMap: { name: 'cfg' } }, { name: 'tok', projected: { sources: [{ serviceAccountToken: { path: 'token', audience: 'vault', expirationSeconds: 600 } }] } }]);
  assert.deepEqual(await vm.setUpPod(pod), []);
  const file = join(root, 'pods/uid-1/volumes/kubernetes.io~configmap/cfg/k');
  assert.equal(readFileSync(file, 'utf8'), 'v1');
  const cm = await cms.get('cfg');
  await cms.update({ ...cm, data: { k: 'v2' } });
  assert.deepEqual(await vm.setUpPod(pod), []);
  assert.equal(readFileSync(file, 'utf8'), 'v1', 'not refreshed before the period');
  clock.step(VOLUME_REFRESH_MS);
  assert.deepEqual(await vm.setUpPod(pod), []);
  assert.equal(readFileSync(file, 'utf8'), 'v2');
  assert.equal(tokens.length, 1, 'token still fresh');
  assert.deepEqual((tokens[0] as { spec: { audiences: string[] } }).spec.audiences, ['vault']);
  clock.step(3600_000);
  assert.deepEqual(await vm.setUpPod(pod), []);
  assert.equal(tokens.length, 2);
  assert.equal(readFileSync(join(root, 'pods/uid-1/volumes/kubernetes.io~projected/tok/token'), 'utf8'), 'tok-2');
});

test('failures: missing ConfigMap/Secret/key, unknown volume in a mount, subPath escaping the volume', async (t) => {
  const { root, client, vm } = setup(t);
  await client.resource<ConfigMap>(Resources.configmaps, 'default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: '1' } });
  const pod = newPod([
    { name: 'm1', configMap: { name: 'nope' } },
    { name: 'm2', secret: { secretName: 'nope' } },
    { name: 'm3', configMap: { name: 'cfg', items: [{ key: 'zz', path: 'zz' }] } },
    { name: 'm4', configMap: { name: 'cfg', items: [{ key: 'zz', path: 'zz' }], optional: true } },
    { name: 'm5', persistentVolumeClaim: { claimName: 'x' } },
    { name: 'e', emptyDir: {} },
  ]);
  assert.deepEqual(await vm.setUpPod(pod), [
    { volume: 'm1', message: 'MountVolume.SetUp failed for volume "m1" : configmap "nope" not found' },
    { volume: 'm2', message: 'MountVolume.SetUp failed for volume "m2" : secret "nope" not found' },
    { volume: 'm3', message: 'MountVolume.SetUp failed for volume "m3" : configmap references non-existent config key: zz' },
    { volume: 'm5', message: 'MountVolume.SetUp failed for volume "m5" : volume type persistentVolumeClaim is not supported by this kubelet' },
  ]);
  const c = { name: 'c', volumeMounts: [{ name: 'gone', mountPath: '/x' }] };
  await assert.rejects(vm.mountsFor(pod, c, 0, []), (err: unknown) => err instanceof ContainerConfigError && err.reason === 'CreateContainerConfigError' && err.message === 'cannot find volume "gone" to mount into container "c"');
  const empty = join(root, 'pods/uid-1/volumes/kubernetes.io~empty-dir/e');
  mkdirSync(join(root, 'outside'));
  symlinkSync(join(root, 'outside'), join(empty, 'link'));
  await assert.rejects(vm.mountsFor(pod, { name: 'c', volumeMounts: [{ name: 'e', mountPath: '/x', subPath: 'link' }] }, 0, []), /points outside the volume/);
  await assert.rejects(vm.mountsFor(pod, { name: 'c', volumeMounts: [{ name: 'e', mountPath: '/x', subPathExpr: '$(X)' }] }, 0, [{ key: 'X', value: '../..' }]), /invalid subpath/);
  assert.ok(lstatSync(join(empty, 'link')).isSymbolicLink());
  assert.equal(await vm.cleanupOrphans(new Set(['other'])), 1);
  assert.equal(existsSync(join(root, 'pods/uid-1')), false);
});

test('memory-backed volume size: node allocatable, the pod memory limit or sizeLimit when smaller (calculateEmptyDirMemorySize)', () => {
  const Mi = 2 ** 20;
  const pod = (containers: Array<string | undefined>, init: Array<{ mem?: string; sidecar?: boolean }> = [], overhead?: string): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: {
      containers: containers.map((m, i) => ({ name: `c${i}`, resources: m ? { limits: { memory: m } } : {} })),
      initContainers: init.map((c, i) => ({ name: `i${i}`, restartPolicy: c.sidecar ? 'Always' : undefined, resources: c.mem ? { limits: { memory: c.mem } } : {} })),
      overhead: overhead ? { memory: overhead } : undefined,
    },
  });
  assert.equal(podMemoryLimit(pod(['64Mi', '32Mi'])), 96 * Mi);
  assert.equal(podMemoryLimit(pod(['64Mi', undefined])), undefined, 'a container without a limit: no pod limit');
  assert.equal(podMemoryLimit(pod(['64Mi'], [{ mem: '128Mi' }])), 128 * Mi, 'a larger init container');
  assert.equal(podMemoryLimit(pod(['64Mi'], [{ mem: '16Mi', sidecar: true }, { mem: '70Mi' }])), 80 * Mi, 'sidecars add up with the containers');
  assert.equal(podMemoryLimit(pod(['64Mi'], [{}])), undefined);
  assert.equal(podMemoryLimit(pod(['64Mi'], [], '1Mi')), 65 * Mi, 'overhead');
  const cases: Array<[string, Pod, number | undefined, number | undefined, number | undefined]> = [
    ['node allocatable', pod([undefined]), 4096 * Mi, undefined, 4096 * Mi],
    ['the pod limit', pod(['64Mi']), 4096 * Mi, undefined, 64 * Mi],
    ['sizeLimit below the pod limit', pod(['64Mi']), 4096 * Mi, 8 * Mi, 8 * Mi],
    ['sizeLimit above the pod limit is ignored', pod(['64Mi']), 4096 * Mi, 128 * Mi, 64 * Mi],
    ['sizeLimit above node allocatable is ignored', pod([undefined]), 100 * Mi, 200 * Mi, 100 * Mi],
    ['nothing known', pod([undefined]), undefined, undefined, undefined],
    ['only sizeLimit', pod([undefined]), undefined, 8 * Mi, 8 * Mi],
  ];
  for (const [name, p, alloc, limit, want] of cases) assert.equal(memoryVolumeSize(p, alloc, limit), want, name);
});

test('mountinfo parsing, tmpfs noswap by kernel version, fsUser of a pod', () => {
  const info = [
    '36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
    '120 25 0:52 / /var/lib/kubelet/pods/u\\0401/volumes/kubernetes.io~secret/s rw,relatime shared:60 - tmpfs tmpfs rw,size=65536k',
    'garbage',
    '',
  ].join('\n');
  assert.deepEqual(parseMountInfo(info), [
    { mountPoint: '/mnt2', fsType: 'ext3', source: '/dev/root', superOptions: 'rw,errors=continue' },
    { mountPoint: '/var/lib/kubelet/pods/u 1/volumes/kubernetes.io~secret/s', fsType: 'tmpfs', source: 'tmpfs', superOptions: 'rw,size=65536k' },
  ]);
  assert.equal(tmpfsNoswapSupported('6.1.0-18-amd64'), false);
  assert.equal(tmpfsNoswapSupported('6.4.0'), true);
  assert.equal(tmpfsNoswapSupported('6.18.44-fc-v1045'), true);
  assert.equal(tmpfsNoswapSupported('5.15.0'), false);
  const pod = (podUser: number | undefined, users: Array<number | undefined>): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    spec: { securityContext: podUser === undefined ? {} : { runAsUser: podUser }, containers: users.map((u, i) => ({ name: `c${i}`, securityContext: u === undefined ? undefined : { runAsUser: u } })) },
  });
  assert.equal(fsUserFrom(pod(1000, [undefined, undefined])), 1000);
  assert.equal(fsUserFrom(pod(undefined, [1000, 1000])), 1000);
  assert.equal(fsUserFrom(pod(undefined, [1000, undefined])), undefined, 'one container without a user');
  assert.equal(fsUserFrom(pod(1000, [undefined, 2000])), undefined, 'two users');
});

test('fsGroup: volumes go to the group with setgid directories and group-readable files; the token is 0640 for the pod user', { skip: !asRoot && 'needs root (chown)' }, async (t) => {
  const { root, client, clock, vm } = setup(t);
  await client.resource<ConfigMap>(Resources.configmaps, 'default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { k: 'v' } });
  await client.resource<Secret>(Resources.secrets, 'default').create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec' }, data: { password: b64('s3cret') } });
  const pod = newPod([
    { name: 'scratch', emptyDir: {} },
    { name: 'cfg', configMap: { name: 'cfg', items: [{ key: 'k', path: 'sub/k' }] } },
    { name: 'sec', secret: { secretName: 'sec', defaultMode: 0o400 } },
    { name: 'tok', projected: { defaultMode: 0o644, sources: [{ serviceAccountToken: { path: 'token' } }, { configMap: { name: 'cfg' } }] } },
    { name: 'host', hostPath: { path: join(root, 'host'), type: 'DirectoryOrCreate' } },
  ]);
  pod.spec!.securityContext = { runAsUser: 1000, fsGroup: 2000 };
  assert.deepEqual(await vm.setUpPod(pod), []);
  const vols = join(root, 'pods/uid-1/volumes');
  const modeGid = (p: string) => {
    const st = statSync(p);
    return [(st.mode & 0o7777).toString(8), st.gid, st.uid];
  };
  assert.deepEqual(modeGid(join(vols, 'kubernetes.io~empty-dir/scratch')), ['2777', 2000, 0]);
  assert.deepEqual(modeGid(join(vols, 'kubernetes.io~configmap/cfg')), ['2777', 2000, 0]);
  assert.deepEqual(modeGid(join(vols, 'kubernetes.io~configmap/cfg/sub')), ['2755', 2000, 0]);
  assert.deepEqual(modeGid(join(vols, 'kubernetes.io~configmap/cfg/sub/k')), ['644', 2000, 0]);
  assert.deepEqual(modeGid(join(vols, 'kubernetes.io~secret/sec/password')), ['440', 2000, 0], 'defaultMode 0400 plus group read');
  assert.equal(lstatSync(join(vols, 'kubernetes.io~secret/sec/..data')).gid, 2000, 'symlinks change group too');
  assert.deepEqual(modeGid(join(vols, 'kubernetes.io~projected/tok/token')), ['640', 2000, 1000], 'token: 0600 for the pod user, group read');
  assert.deepEqual(modeGid(join(vols, 'kubernetes.io~projected/tok/k')), ['644', 2000, 0]);
  assert.equal(statSync(join(root, 'host')).gid, 0, 'hostPath is not managed');
  // Files created in the emptyDir inherit the group (setgid).
  writeFileSync(join(vols, 'kubernetes.io~empty-dir/scratch/new'), 'x');
  assert.equal(statSync(join(vols, 'kubernetes.io~empty-dir/scratch/new')).gid, 2000);

  // An unchanged payload is not rewritten although ownership changed the modes.
  const before = readlinkSync(join(vols, 'kubernetes.io~secret/sec/..data'));
  clock.step(VOLUME_REFRESH_MS);
  assert.deepEqual(await vm.setUpPod(pod), []);
  assert.equal(readlinkSync(join(vols, 'kubernetes.io~secret/sec/..data')), before);

  // Without fsGroup, a token is 0600 for the pod user, other files keep their mode.
  const pod2 = newPod([{ name: 'tok', projected: { defaultMode: 0o644, sources: [{ serviceAccountToken: { path: 'token' } }] } }]);
  pod2.metadata!.uid = 'uid-2';
  pod2.spec!.securityContext = { runAsUser: 1000 };
  assert.deepEqual(await vm.setUpPod(pod2), []);
  assert.deepEqual(modeGid(join(root, 'pods/uid-2/volumes/kubernetes.io~projected/tok/token')), ['600', 0, 1000]);
  const pod3 = newPod([{ name: 'tok', projected: { defaultMode: 0o644, sources: [{ serviceAccountToken: { path: 'token' } }] } }]);
  pod3.metadata!.uid = 'uid-3';
  assert.deepEqual(await vm.setUpPod(pod3), []);
  assert.deepEqual(modeGid(join(root, 'pods/uid-3/volumes/kubernetes.io~projected/tok/token')), ['644', 0, 0], 'no fsUser, no fsGroup: defaultMode');
});

test('memory-backed: tmpfs for emptyDir Memory, Secret, downward API and projected volumes (not ConfigMap), unmounted on tear-down and orphan cleanup', { skip: !asRoot && 'needs root on Linux (mount)' }, async (t) => {
  const { root, client, clock, vm } = setup(t, { memoryBacked: true });
  await client.resource<ConfigMap>(Resources.configmaps, 'default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { k: 'v' } });
  await client.resource<Secret>(Resources.secrets, 'default').create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec' }, data: { password: b64('s3cret') } });
  const pod = newPod([
    { name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } },
    { name: 'disk', emptyDir: {} },
    { name: 'cfg', configMap: { name: 'cfg' } },
    { name: 'sec', secret: { secretName: 'sec' } },
    { name: 'info', downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } },
    { name: 'tok', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
  ]);
  pod.spec!.securityContext = { fsGroup: 2000 };
  assert.deepEqual(await vm.setUpPod(pod), []);
  const vols = join(root, 'pods/uid-1/volumes');
  const fs = async (rel: string) => (await mountAt(join(vols, rel)))?.fsType;
  assert.equal(await fs('kubernetes.io~empty-dir/mem'), 'tmpfs');
  assert.equal(await fs('kubernetes.io~empty-dir/disk'), undefined);
  assert.equal(await fs('kubernetes.io~configmap/cfg'), undefined);
  assert.equal(await fs('kubernetes.io~secret/sec'), 'tmpfs');
  assert.equal(await fs('kubernetes.io~downward-api/info'), 'tmpfs');
  assert.equal(await fs('kubernetes.io~projected/tok'), 'tmpfs');
  // sizeLimit 8Mi; the others: the pod's memory limit (64Mi, below node allocatable 4Gi).
  assert.match((await mountAt(join(vols, 'kubernetes.io~empty-dir/mem')))!.superOptions, /(^|,)size=8192k(,|$)/);
  assert.match((await mountAt(join(vols, 'kubernetes.io~secret/sec')))!.superOptions, /(^|,)size=65536k(,|$)/);
  assert.equal(readFileSync(join(vols, 'kubernetes.io~secret/sec/password'), 'utf8'), 's3cret');
  // The tmpfs root (1777) gets the group and setgid.
  const st = statSync(join(vols, 'kubernetes.io~empty-dir/mem'));
  assert.deepEqual([(st.mode & 0o7777).toString(8), st.gid], ['3777', 2000]);
  // Set-up again (a refresh) mounts nothing more.
  const podDir = join(root, 'pods/uid-1');
  const mounted = (await mountsUnder(podDir)).length;
  assert.equal(mounted, 4);
  clock.step(VOLUME_REFRESH_MS);
  assert.deepEqual(await vm.setUpPod(pod), []);
  assert.equal((await mountsUnder(podDir)).length, 4);

  // A busy tmpfs (a file open in it) is unmounted lazily; the pod directory goes.
  const fd = openSync(join(vols, 'kubernetes.io~secret/sec/password'), 'r');
  t.after(() => closeSync(fd));
  await vm.tearDownPod('uid-1');
  assert.deepEqual(await mountsUnder(root), []);
  assert.equal(existsSync(podDir), false);

  // After a restart (a new manager), an orphaned pod's mounts go with its directory.
  const orphan = newPod([{ name: 'sec', secret: { secretName: 'sec' } }]);
  orphan.metadata!.uid = 'uid-orphan';
  assert.deepEqual(await vm.setUpPod(orphan), []);
  assert.equal((await mountsUnder(join(root, 'pods/uid-orphan'))).length, 1);
  const restarted = new VolumeManager({ rootDir: root, client, clock: new FakeClock(0), logger: silentLogger(), memoryBacked: true });
  assert.equal(await restarted.cleanupOrphans(new Set()), 1);
  assert.deepEqual(await mountsUnder(root), []);
  assert.equal(existsSync(join(root, 'pods/uid-orphan')), false);
});
