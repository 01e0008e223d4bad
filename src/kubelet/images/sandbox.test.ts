import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../../../test/util/tmp.js';
import { silentLogger } from '../../util/log.js';
import type { ImageInfo } from '../runtime.js';
import { AnnotationImageName } from './oci.js';
import { ensureSandboxImage } from './sandbox.js';
import { readTar } from './tar.js';

const present: ImageInfo = { id: 'sha256:1', repoTags: ['registry.k8s.io/pause:3.6'], repoDigests: [], size: 1 };

test('sandbox image: present or pullable images are left alone', async (t) => {
  const dir = tempDir(t);
  const base = { socketPath: join(dir, 'none.sock'), workDir: dir, logger: silentLogger() };
  assert.equal(await ensureSandboxImage({ ...base, runtime: { imageStatus: async () => present } }), 'present');
  const pulled: string[] = [];
  assert.equal(await ensureSandboxImage({
    ...base,
    image: 'example.com/pause:9',
    runtime: { imageStatus: async () => undefined, pullImage: async (i) => { pulled.push(i); return 'sha256:2'; } },
  }), 'pulled');
  assert.deepEqual(pulled, ['example.com/pause:9']);
});

test('sandbox image: missing and not pullable, it is built from busybox and imported under its name', { skip: !existsSync('/bin/busybox') && 'no /bin/busybox' }, async (t) => {
  const dir = tempDir(t);
  const sock = join(dir, 'containerd.sock');
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(sock, resolve));
  t.after(() => new Promise<void>((resolve) => srv.close(() => resolve())));
  const ctr = join(dir, 'ctr');
  writeFileSync(ctr, `#!/bin/sh\nprintf '%s\\n' "$@" > ${dir}/args\necho "unpacking registry.k8s.io/pause:3.6 (sha256:00)...done"\n`);
  chmodSync(ctr, 0o755);
  const result = await ensureSandboxImage({
    socketPath: sock,
    workDir: join(dir, 'work'),
    logger: silentLogger(),
    ctr,
    runtime: { imageStatus: async () => undefined, pullImage: async () => { throw new Error('dial tcp: lookup registry.k8s.io: no such host'); } },
  });
  assert.equal(result, 'built');
  const archive = join(dir, 'work/sandbox-image.tar');
  assert.equal(readFileSync(join(dir, 'args'), 'utf8').trim().split('\n').pop(), archive);
  const members = new Map(readTar(readFileSync(archive)).map((m) => [m.path, m.content]));
  const index = JSON.parse(members.get('index.json')!.toString());
  assert.equal(index.manifests[0].annotations[AnnotationImageName], 'registry.k8s.io/pause:3.6');
  const manifest = JSON.parse(members.get(`blobs/sha256/${index.manifests[0].digest.slice(7)}`)!.toString());
  const config = JSON.parse(members.get(`blobs/sha256/${manifest.config.digest.slice(7)}`)!.toString());
  assert.deepEqual(config.config.Entrypoint, ['/bin/sleep', '2147483647']);
});
