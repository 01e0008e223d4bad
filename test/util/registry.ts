/**
 * A real local OCI registry for tests (Debian's docker-registry, the CNCF distribution
 * server) on 127.0.0.1, and a push of our busybox-built archives into it, so a node whose
 * containerd mirrors docker.io to it pulls `nginx` with imagePullPolicy Always exactly as
 * it would from Docker Hub — with no network.
 *
 * A push is the registry API's three plain steps: POST an upload, PUT each blob with its
 * digest, PUT the manifest under its tag (RUNTIME.md "A local registry").
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusyboxImage, type BuildBusyboxImageOptions } from '../../src/kubelet/images/oci.js';
import { readTar } from '../../src/kubelet/images/tar.js';
import { freePort } from './net.js';
import { tempDir } from './tmp.js';

export const haveRegistry = existsSync('/usr/bin/docker-registry');

export interface LocalRegistry {
  url: string;
  /** Builds the image and pushes it as <repository>:<tag> of its normalized name minus docker.io/. */
  push(spec: Omit<BuildBusyboxImageOptions, 'outFile'>): Promise<void>;
}

export async function startRegistry(t: { after(fn: () => unknown): void }): Promise<LocalRegistry> {
  const dir = tempDir(t);
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(config, [
    'version: 0.1',
    'log:',
    '  level: error',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n'));
  const proc = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  t.after(async () => {
    proc.kill('SIGTERM');
    await exited;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await fetch(`${url}/v2/`).then((r) => r.ok, () => false);
    if (ok) break;
    assert.ok(Date.now() < deadline && proc.exitCode === null, `docker-registry did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const build = join(dir, 'build');
  mkdirSync(build);
  let n = 0;
  return {
    url,
    async push(spec) {
      const built = await buildBusyboxImage({ ...spec, outFile: join(build, `image-${n++}.tar`) });
      const members = new Map(readTar(readFileSync(built.file)).map((m) => [m.path.replace(/^\.\//, ''), m.content]));
      const blob = (digest: string) => members.get(`blobs/sha256/${digest.replace(/^sha256:/, '')}`)!;
      const name = built.name.replace(/^docker\.io\//, '');
      const colon = name.lastIndexOf(':');
      const repo = name.slice(0, colon);
      const tag = name.slice(colon + 1);
      const manifestBytes = blob(built.manifestDigest);
      const manifest = JSON.parse(manifestBytes.toString()) as { config: { digest: string }; layers: { digest: string }[] };
      for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
        const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
        assert.equal(start.status, 202, `upload start: ${start.status} ${await start.text()}`);
        const loc = new URL(start.headers.get('location')!, url);
        loc.searchParams.set('digest', d);
        const put = await fetch(loc, { method: 'PUT', body: blob(d), headers: { 'content-type': 'application/octet-stream' } });
        assert.equal(put.status, 201, `blob ${d}: ${put.status} ${await put.text()}`);
      }
      const put = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
        method: 'PUT',
        body: manifestBytes,
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(put.status, 201, `manifest: ${put.status} ${await put.text()}`);
    },
  };
}
