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
import { importImages } from '../../src/kubelet/images/import.js';
import { buildBusyboxImage, buildBusyboxImages } from '../../src/kubelet/images/oci.js';
import { silentLogger } from '../../src/util/log.js';
import { runToExit, skipWithoutCtr, startNodeContainerd } from '../util/node-containerd.js';

const skip = skipWithoutCtr;

test('images: one archive of several images, imported with one ctr run, gives each image by name and ID, and each runs', { skip }, async (t) => {
  const { cri, ctd, dataDir } = await startNodeContainerd(t, { prefix: 'flotilla-images-multi-', sandboxImage: true });
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
  const { cri, ctd, dataDir } = await startNodeContainerd(t, { prefix: 'flotilla-images-multi-', sandboxImage: true });
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
