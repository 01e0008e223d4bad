import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tempDir } from '../../../test/util/tmp.js';
import { explainCtrError, importImages, importImagesFolder, listImageArchives, parseCtrImportOutput, sniffArchive } from './import.js';
import { writeTar } from './tar.js';

const tar = writeTar([{ type: 'file', path: 'index.json', mode: 0o644, content: Buffer.from('{}') }]);

test('import: sniffArchive tells tar, gzip and everything else apart in one line', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.tar'), tar);
  writeFileSync(join(dir, 'a.tar.gz'), gzipSync(tar));
  writeFileSync(join(dir, 'junk'), 'hello\n');
  assert.equal(await sniffArchive(join(dir, 'a.tar')), 'tar');
  assert.equal(await sniffArchive(join(dir, 'a.tar.gz')), 'gzip');
  await assert.rejects(sniffArchive(join(dir, 'junk')), { message: `image archive ${join(dir, 'junk')}: not a tar archive (want the output of docker save, ctr export or an OCI image archive)` });
  await assert.rejects(sniffArchive(join(dir, 'nope.tar')), { message: `image archive ${join(dir, 'nope.tar')}: no such file` });
  await assert.rejects(sniffArchive(dir), /is a directory/);
});

test('import: ctr output and errors', () => {
  assert.deepEqual(parseCtrImportOutput([
    'unpacking docker.io/library/nginx:latest (sha256:f41d200c1097b7a46c90a91f61da021b91293eac59e142065debe2898a7f1a37)...done',
    'unpacking registry.k8s.io/pause:3.6 (sha256:8cb0a040cb0a65a876cb642cd3e2415037ef0eedef7c9c7158285829652e20e6)...done',
    '',
  ].join('\n')), ['docker.io/library/nginx:latest', 'registry.k8s.io/pause:3.6']);
  const cases: Array<[string, RegExp]> = [
    ['ctr: failed to dial "/s": connection error: desc = "transport: error while dialing: dial unix /s: connect: connection refused"', /^containerd is not reachable at \/s: failed to dial/],
    ['ctr: unrecognized image format', /^image archive f.tar: not an image archive \(a tar without index.json or manifest.json\)$/],
    ['ctr: archive/tar: invalid tar header', /^image archive f.tar: damaged or truncated tar/],
    ['ctr: something else', /^importing f.tar: something else$/],
  ];
  for (const [stderr, want] of cases) assert.match(explainCtrError('f.tar', '/s', stderr), want);
});

/** A fake ctr printing what a real import prints, recording its arguments and stdin size. */
function fakeCtr(dir: string, exit = 0, stderr = ''): { ctr: string; args: () => string[]; stdinBytes: () => number } {
  const ctr = join(dir, 'ctr');
  writeFileSync(ctr, [
    '#!/bin/sh',
    `printf '%s\\n' "$@" > ${dir}/args`,
    `for a; do last="$a"; done; if [ "$last" = "-" ]; then cat > ${dir}/stdin; fi`,
    exit === 0 ? 'echo "unpacking docker.io/library/x:1 (sha256:0123abcd)...done"' : `echo '${stderr}' >&2`,
    `exit ${exit}`,
    '',
  ].join('\n'));
  chmodSync(ctr, 0o755);
  return {
    ctr,
    args: () => readFileSync(join(dir, 'args'), 'utf8').trim().split('\n'),
    stdinBytes: () => readFileSync(join(dir, 'stdin')).length,
  };
}

async function fakeSocket(t: { after(fn: () => unknown): void }, path: string): Promise<void> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(path, resolve));
  t.after(() => new Promise<void>((resolve) => srv.close(() => resolve())));
}

test('import: importImages checks files and socket, runs ctr, gunzips into its stdin', async (t) => {
  const dir = tempDir(t);
  const sock = join(dir, 'containerd.sock');
  writeFileSync(join(dir, 'a.tar'), tar);
  writeFileSync(join(dir, 'b.tar.gz'), gzipSync(tar));
  const f = fakeCtr(dir);
  await assert.rejects(importImages(sock, [join(dir, 'a.tar')], { ctr: f.ctr }), { message: `containerd is not reachable: no socket at ${sock}` });
  await fakeSocket(t, sock);
  await assert.rejects(importImages(sock, [join(dir, 'a.tar'), join(dir, 'missing.tar')], { ctr: f.ctr }), /missing.tar: no such file/);
  const r = await importImages(sock, [join(dir, 'a.tar')], { ctr: f.ctr });
  assert.deepEqual(r, [{ file: join(dir, 'a.tar'), images: ['docker.io/library/x:1'] }]);
  assert.deepEqual(f.args(), ['--address', sock, '--connect-timeout', '10s', '-n', 'k8s.io', 'images', 'import', join(dir, 'a.tar')]);
  await importImages(sock, [join(dir, 'b.tar.gz')], { ctr: f.ctr, namespace: 'other', allPlatforms: true });
  assert.deepEqual(f.args().slice(-5), ['other', 'images', 'import', '--all-platforms', '-']);
  assert.equal(f.stdinBytes(), tar.length);
  await assert.rejects(importImages(sock, [join(dir, 'a.tar')], { ctr: join(dir, 'no-ctr') }), /no-ctr not found \(install the containerd package, which ships ctr\)/);
  const bad = fakeCtr(dir, 1, 'ctr: unrecognized image format');
  await assert.rejects(importImages(sock, [join(dir, 'a.tar')], { ctr: bad.ctr }), /not an image archive/);
});

test('import: an images folder imports its archives in name order and skips bad ones', async (t) => {
  const dir = tempDir(t);
  const sock = join(dir, 'containerd.sock');
  await fakeSocket(t, sock);
  const images = join(dir, 'images');
  assert.deepEqual(await importImagesFolder(images, { socketPath: sock }), [], 'a missing folder imports nothing');
  mkdirSync(images);
  writeFileSync(join(images, 'b.tar'), tar);
  writeFileSync(join(images, 'a.tar.gz'), gzipSync(tar));
  writeFileSync(join(images, 'c.tar'), 'not a tar');
  writeFileSync(join(images, 'README'), 'ignored');
  assert.deepEqual(await listImageArchives(images), ['a.tar.gz', 'b.tar', 'c.tar'].map((n) => join(images, n)));
  const f = fakeCtr(dir);
  const r = await importImagesFolder(images, { socketPath: sock, ctr: f.ctr });
  assert.deepEqual(r.map((x) => x.file), [join(images, 'a.tar.gz'), join(images, 'b.tar')]);
});
