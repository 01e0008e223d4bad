import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClient } from '../client/fake.js';
import { Resources } from '../client/interface.js';
import type { ConfigMap, Pod, Secret } from '../client/objects.js';
import { FakeClock } from '../util/clock.js';
import { silentLogger } from '../util/log.js';
import { ContainerConfigError } from './podconfig.js';
import { VOLUME_REFRESH_MS, VolumeManager, checkHostPathType, writeAtomic } from './volumes.js';
import { tempDir } from '../../test/util/tmp.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function setup(t: { after(fn: () => void): void }) {
  const root = tempDir(t, 'flotilla-volumes-');
  const client = new FakeClient();
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const tokens: unknown[] = [];
  client.prependReactor('create', 'serviceaccounts', (a) => {
    if (a.subresource !== 'token') return undefined;
    tokens.push(a.object);
    return { result: { status: { token: `tok-${tokens.length}`, expirationTimestamp: new Date(clock.now() + 3600_000).toISOString() } } };
  });
  const vm = new VolumeManager({ rootDir: root, client, clock, logger: silentLogger(), nodeAllocatable: () => ({ cpu: '2', memory: '4Gi' }) });
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
