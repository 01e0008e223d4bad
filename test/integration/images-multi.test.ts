/**
 * Several images in ONE busybox-built OCI archive (plain tar layers, the busybox layer
 * shared) against a real containerd: one `ctr images import` creates every image under its
 * name with the image ID its config gives, and each runs with its own files. `up`'s
 * control-plane stand-ins are built this way (ensureControlPlaneImages): the six images
 * come out with the IDs the per-image gzip archives gave, the etcd image runs etcdctl, and
 * a second start builds nothing while one removed is rebuilt alone. Skipped without root,
 * containerd, ctr or busybox-static.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlaneImages, controlPlaneImageSpecs, ensureControlPlaneImages } from '../../src/cmd/controlplane.js';
import { containerdDirOf, startContainerd, type ManagedContainerd } from '../../src/kubelet/containerd/index.js';
import { CriRuntime } from '../../src/kubelet/cri/runtime.js';
import { importImages } from '../../src/kubelet/images/import.js';
import { buildBusyboxImage, buildBusyboxImages } from '../../src/kubelet/images/oci.js';
import { ensureSandboxImage } from '../../src/kubelet/images/sandbox.js';
import type { Runtime } from '../../src/kubelet/runtime.js';
import { silentLogger } from '../../src/util/log.js';
import { tempDir } from '../util/tmp.js';
import { eventually } from '../util/wait.js';

const canRun = process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/usr/bin/containerd') && existsSync('/usr/bin/ctr') && existsSync('/bin/busybox');
const skip = !canRun && 'needs root, containerd, ctr and busybox-static';

let cidr = 100;

/** A node-owned containerd under a temp data dir, with the sandbox image; stopped after the test. */
async function startNodeContainerd(t: { after(fn: () => unknown): void }): Promise<{ dataDir: string; ctd: ManagedContainerd; cri: CriRuntime }> {
  const dataDir = tempDir(t, 'flotilla-images-multi-');
  // Sandboxes here use the host network, so the bridge of this CIDR is never created.
  const ctd = await startContainerd({ dir: containerdDirOf(dataDir), podCIDR: `10.${210 + (process.pid % 40)}.${cidr++}.0/24`, logger: silentLogger() });
  const cri = new CriRuntime({ endpoint: ctd.socket, timeoutMs: 30_000 });
  t.after(async () => {
    cri.close();
    await ctd.stop();
  });
  await ensureSandboxImage({ socketPath: ctd.socket, runtime: cri, workDir: join(dataDir, 'build'), logger: silentLogger(), pull: false });
  return { dataDir, ctd, cri };
}

/** Runs `command` in a container of `image` on the host network and resolves its exit code. */
async function runToExit(rt: Runtime, image: string, command: string[]): Promise<number> {
  const uid = `uid-${Math.random().toString(36).slice(2)}`;
  const labels = { 'io.kubernetes.pod.uid': uid };
  const sandboxConfig = { name: 'p', namespace: 'default', uid, attempt: 0, labels, hostNetwork: true };
  const sb = await rt.runPodSandbox(sandboxConfig);
  try {
    const info = await rt.imageStatus(image);
    assert.ok(info, `${image} present`);
    const id = await rt.createContainer(sb, { name: 'c', attempt: 0, image: info.id, userImage: image, command, args: [], env: [], labels }, sandboxConfig);
    await rt.startContainer(id);
    let code = -1;
    await eventually('container exit', async () => {
      const s = await rt.containerStatus(id);
      code = s.exitCode;
      return s.state === 'exited';
    });
    return code;
  } finally {
    await rt.stopPodSandbox(sb);
    await rt.removePodSandbox(sb);
  }
}

test('images: one archive of several images, imported with one ctr run, gives each image by name and ID, and each runs', { skip }, async (t) => {
  const { cri, ctd, dataDir } = await startNodeContainerd(t);
  const file = join(dataDir, 'multi.tar');
  const built = await buildBusyboxImages({
    images: [
      { name: 'example.com/a:1', files: { '/marker': 'a' } },
      { name: 'example.com/b:2', config: { Env: ['WHO=b'] }, files: { '/marker': 'b' } },
      { name: 'example.com/bare:3' },
    ],
    outFile: file,
  });
  const [r] = await importImages(ctd.socket, [file]);
  assert.deepEqual([...r!.images].sort(), ['example.com/a:1', 'example.com/b:2', 'example.com/bare:3']);
  for (const b of built) assert.equal((await cri.imageStatus(b.name))?.id, b.id, `${b.name} has its config's digest as ID`);
  assert.equal(await runToExit(cri, 'example.com/a:1', ['/bin/sh', '-c', 'test "$(cat /marker)" = a']), 0);
  assert.equal(await runToExit(cri, 'example.com/b:2', ['/bin/sh', '-c', 'test "$(cat /marker)" = b && test "$WHO" = b']), 0);
  assert.equal(await runToExit(cri, 'example.com/bare:3', ['/bin/sh', '-c', 'test -e /marker']), 1, 'no files of the other images');
});

test('images: the control-plane stand-ins come from one archive with the IDs per-image gzip archives gave; etcdctl runs; a second start builds nothing, a removed one is rebuilt alone', { skip }, async (t) => {
  const { cri, ctd, dataDir } = await startNodeContainerd(t);
  const workDir = join(dataDir, 'build');
  const names = await ensureControlPlaneImages({ socketPath: ctd.socket, workDir, logger: silentLogger() });
  assert.deepEqual([...names].sort(), Object.values(ControlPlaneImages).sort());
  // The same image as the per-image, gzip-compressed archives `up` built before: same config, same ID.
  for (const spec of await controlPlaneImageSpecs()) {
    const alone = await buildBusyboxImage({ ...spec, outFile: join(dataDir, 'alone.tar') });
    assert.equal((await cri.imageStatus(spec.name))?.id, alone.id, spec.name);
  }
  if (existsSync('/usr/bin/etcdctl')) assert.equal(await runToExit(cri, ControlPlaneImages.etcd, ['/usr/local/bin/etcdctl', 'version']), 0, 'etcdctl and its libraries are in the etcd image');
  assert.equal(await runToExit(cri, ControlPlaneImages['kube-scheduler'], ['/bin/sh', '-c', 'test -x /usr/local/bin/kube-scheduler']), 0);
  assert.deepEqual(await ensureControlPlaneImages({ socketPath: ctd.socket, workDir, logger: silentLogger() }), []);

  // An image removed behind up's back is rebuilt alone.
  execFileSync('ctr', ['--address', ctd.socket, '-n', 'k8s.io', 'images', 'rm', ControlPlaneImages.coredns]);
  assert.deepEqual(await ensureControlPlaneImages({ socketPath: ctd.socket, workDir, logger: silentLogger() }), [ControlPlaneImages.coredns]);
  assert.ok(await cri.imageStatus(ControlPlaneImages.coredns));
  assert.ok(await cri.imageStatus(ControlPlaneImages.etcd), 'the others stay');
});
