/**
 * Images with no registry against a real containerd (Debian's 1.6, node-owned: its own
 * root, state and socket under a temp data dir, as `flotilla up` runs it): busybox-built
 * OCI archives and hand-made `docker save` archives imported with ctr are seen by the CRI
 * under the right names and IDs and run; the sandbox image is built when missing; the
 * `flotilla images` CLI finds the cluster's containerd from --data-dir. Skipped without
 * root, containerd, ctr or busybox-static.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { importImages, importImagesFolder } from '../../src/kubelet/images/import.js';
import { buildBusyboxImage } from '../../src/kubelet/images/oci.js';
import { DefaultSandboxImage, ensureSandboxImage } from '../../src/kubelet/images/sandbox.js';
import { silentLogger } from '../../src/util/log.js';
import { runFlotilla } from '../util/flotilla.js';
import { importTestImages, NginxWelcome, testImages, writeDockerArchive } from '../util/images.js';
import { tempDir } from '../util/tmp.js';
import { runToExit, skipWithoutCtr, startNodeContainerd } from '../util/node-containerd.js';

const skip = skipWithoutCtr;

test('images: busybox-built archives imported into containerd are seen by the CRI by name and ID, and run', { skip }, async (t) => {
  const { cri, ctd } = await startNodeContainerd(t, { prefix: 'flotilla-images-' });
  const built = await testImages();
  const imported = await importTestImages(ctd.socket);
  assert.deepEqual(imported.map((r) => r.images), [['docker.io/library/busybox:latest'], ['docker.io/library/nginx:latest'], [DefaultSandboxImage]]);

  for (const [ref, img] of [['busybox', built.busybox], ['nginx:latest', built.nginx], [DefaultSandboxImage, built.pause]] as const) {
    const s = await cri.imageStatus(ref);
    assert.ok(s, `${ref} seen by the CRI`);
    assert.equal(s.id, img.id, 'the CRI image ID is the config digest');
    assert.deepEqual(s.repoTags, [img.name]);
  }
  assert.deepEqual((await cri.listImages()).flatMap((i) => i.repoTags).sort(), ['docker.io/library/busybox:latest', 'docker.io/library/nginx:latest', DefaultSandboxImage].sort());

  // The layers unpack as built: the nginx image's page is in its second layer, /tmp keeps its sticky bit.
  const check = `test "$(cat /usr/share/nginx/html/index.html)" = "${NginxWelcome.trim()}" && test -k /tmp && test -x /bin/httpd && grep -q ^root: /etc/passwd`;
  assert.equal(await runToExit(cri, 'nginx', ['sh', '-c', check]), 0);
  assert.equal(await runToExit(cri, 'busybox', ['sh', '-c', 'exit 7']), 7);

  // Importing the same archive again changes nothing.
  const again = await importImages(ctd.socket, [built.nginx.file]);
  assert.deepEqual(again[0]!.images, ['docker.io/library/nginx:latest']);
  assert.equal((await cri.imageStatus('nginx'))!.id, built.nginx.id);
});

test('images: a docker save archive, plain and gzipped, imports under its RepoTags', { skip }, async (t) => {
  const { cri, ctd } = await startNodeContainerd(t, { prefix: 'flotilla-images-' });
  const dir = tempDir(t);
  const file = join(dir, 'docker.tar');
  const { id } = writeDockerArchive(file, {
    repoTags: ['example.com/team/tool:1.0', 'example.com/team/tool:stable'],
    config: { Cmd: ['/hello'] },
    layer: [{ type: 'file', path: 'hello', mode: 0o755, content: Buffer.from('#!/bin/sh\necho hi\n') }],
  });
  const [r] = await importImages(ctd.socket, [file]);
  assert.deepEqual([...r!.images].sort(), ['example.com/team/tool:1.0', 'example.com/team/tool:stable']);
  const s = await cri.imageStatus('example.com/team/tool:stable');
  assert.ok(s);
  assert.equal(s.id, id);
  assert.deepEqual([...s.repoTags].sort(), ['example.com/team/tool:1.0', 'example.com/team/tool:stable']);

  const gz = join(dir, 'other.tar.gz');
  const other = writeDockerArchive(join(dir, 'other.tar'), { repoTags: ['example.com/other:2'], layer: [{ type: 'dir', path: 'data', mode: 0o755 }] });
  writeFileSync(gz, gzipSync(readFileSync(join(dir, 'other.tar'))));
  assert.deepEqual((await importImages(ctd.socket, [gz]))[0]!.images, ['example.com/other:2']);
  assert.equal((await cri.imageStatus('example.com/other:2'))?.id, other.id);
});

test('images: a missing sandbox image is built from busybox, imported, and runs a pod sandbox', { skip }, async (t) => {
  const { cri, ctd, dataDir } = await startNodeContainerd(t, { prefix: 'flotilla-images-' });
  assert.equal(await cri.imageStatus(DefaultSandboxImage), undefined);
  const source = await ensureSandboxImage({ socketPath: ctd.socket, runtime: cri, workDir: join(dataDir, 'build'), logger: silentLogger(), pull: false });
  assert.equal(source, 'built');
  assert.ok(await cri.imageStatus(DefaultSandboxImage));
  assert.equal(await ensureSandboxImage({ socketPath: ctd.socket, runtime: cri, workDir: join(dataDir, 'build'), logger: silentLogger() }), 'present');
  const labels = { 'io.kubernetes.pod.uid': 'sb-1' };
  const sb = await cri.runPodSandbox({ name: 'p', namespace: 'default', uid: 'sb-1', attempt: 0, labels, hostNetwork: true });
  assert.equal((await cri.podSandboxStatus(sb)).state, 'ready');
  await cri.stopPodSandbox(sb);
  await cri.removePodSandbox(sb);
});

test('images: the air-gap folder imports every archive, skipping a broken one', { skip }, async (t) => {
  const { cri, ctd, dataDir } = await startNodeContainerd(t, { prefix: 'flotilla-images-' });
  const folder = join(dataDir, 'images');
  mkdirSync(folder);
  await buildBusyboxImage({ name: 'example.com/a:1', config: { Cmd: ['true'] }, outFile: join(folder, 'a.tar') });
  writeFileSync(join(folder, 'b.tar'), 'not an archive');
  const r = await importImagesFolder(folder, { socketPath: ctd.socket, logger: silentLogger() });
  assert.deepEqual(r.map((x) => x.images), [['example.com/a:1']]);
  assert.ok(await cri.imageStatus('example.com/a:1'));
});

test('flotilla images import/ls/build-busybox find the cluster containerd from --data-dir', { skip }, async (t) => {
  const { cri, dataDir } = await startNodeContainerd(t, { prefix: 'flotilla-images-' });
  const dir = tempDir(t);
  const archive = join(dir, 'web.tar');
  const build = runFlotilla(['images', 'build-busybox', '--name', 'example.com/web:2', '--cmd', 'httpd -f -p 8080', '--port', '8080', '-o', archive]);
  assert.equal(build.status, 0, build.stderr);
  assert.match(build.stdout, /^built example\.com\/web:2 \(image ID sha256:[0-9a-f]{64}\) in /);

  const imp = runFlotilla(['images', 'import', '--data-dir', dataDir, archive]);
  assert.equal(imp.status, 0, imp.stderr);
  assert.equal(imp.stdout, `imported example.com/web:2 (${archive})\n`);
  assert.ok(await cri.imageStatus('example.com/web:2'));

  const ls = runFlotilla(['images', 'ls', '--data-dir', dataDir]);
  assert.equal(ls.status, 0, ls.stderr);
  const lines = ls.stdout.trim().split('\n');
  assert.match(lines[0]!, /^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$/);
  assert.ok(lines.some((l) => /^example\.com\/web\s+2\s+[0-9a-f]{13}\s+[\d.]+[kM]?B$/.test(l)), ls.stdout);

  const missing = runFlotilla(['images', 'import', '--data-dir', dataDir, join(dir, 'nope.tar')]);
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, `flotilla: image archive ${join(dir, 'nope.tar')}: no such file\n`);
});

test('flotilla images import without a running cluster says how to start one', (t) => {
  const dir = tempDir(t);
  const archive = join(dir, 'x.tar');
  // Any tar passes the archive check that comes first.
  writeFileSync(archive, Buffer.concat([Buffer.alloc(257), Buffer.from('ustar\0'), Buffer.alloc(1024 - 263)]));
  const r = runFlotilla(['images', 'import', '--data-dir', join(dir, 'data'), archive]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^flotilla: no running cluster on ${join(dir, 'data')} \\(.*\\): start one with \`flotilla up --data-dir ${join(dir, 'data')}\`\\n$`));
  const junk = join(dir, 'junk.tar');
  writeFileSync(junk, 'hello');
  const j = runFlotilla(['images', 'import', '--data-dir', join(dir, 'data'), junk]);
  assert.equal(j.status, 1);
  assert.match(j.stderr, /not a tar archive/);
});
