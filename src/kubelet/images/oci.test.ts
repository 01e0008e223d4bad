import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { tempDir } from '../../../test/util/tmp.js';
import { AnnotationImageName, AnnotationRefName, buildBusyboxImage, buildBusyboxImages, fileEntries, MediaTypes, ociArchitecture, type BusyboxImageSpec } from './oci.js';
import { readTar, type TarMember } from './tar.js';

const haveBusybox = existsSync('/bin/busybox');
const skip = !haveBusybox && 'no /bin/busybox (busybox-static)';

function sha(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

interface Parsed {
  members: Map<string, TarMember>;
  index: { manifests: Array<{ mediaType: string; digest: string; size: number; annotations: Record<string, string>; platform: { architecture: string; os: string } }> };
  manifest: { mediaType: string; config: { digest: string }; layers: Array<{ mediaType: string; digest: string; size: number }> };
  config: { architecture: string; os: string; config: Record<string, unknown>; rootfs: { type: string; diff_ids: string[] } };
  layers: TarMember[][];
}

/** A one-image archive, read back (the first image of parseAll). */
function parse(file: string): Parsed {
  const { members, index, images } = parseAll(file);
  return { members, index, ...images[0]! };
}

test('oci: a busybox image archive is an OCI layout naming the image for containerd', { skip }, async (t) => {
  const dir = tempDir(t);
  const built = await buildBusyboxImage({
    name: 'nginx',
    config: { Cmd: ['httpd', '-f', '-p', '80', '-h', '/var/www'], ExposedPorts: { '80/tcp': {} }, WorkingDir: '/var/www' },
    files: { '/var/www/index.html': 'Welcome to nginx!\n', '/tmp/x/run.sh': { content: '#!/bin/sh\n', mode: 0o755 } },
    outFile: join(dir, 'nginx.tar'),
  });
  assert.equal(built.name, 'docker.io/library/nginx:latest');
  const p = parse(built.file);
  assert.deepEqual(JSON.parse(p.members.get('oci-layout')!.content.toString()), { imageLayoutVersion: '1.0.0' });
  assert.equal(p.index.manifests.length, 1);
  const d = p.index.manifests[0]!;
  assert.equal(d.mediaType, MediaTypes.manifest);
  assert.equal(d.digest, built.manifestDigest);
  assert.deepEqual(d.annotations, { [AnnotationImageName]: 'docker.io/library/nginx:latest', [AnnotationRefName]: 'latest' });
  assert.deepEqual(d.platform, { architecture: ociArchitecture(), os: 'linux' });
  assert.equal(p.manifest.config.digest, built.id, 'the image ID is the config digest');
  assert.deepEqual(p.manifest.layers.map((l) => l.mediaType), [MediaTypes.layerGzip, MediaTypes.layerGzip]);
  assert.equal(p.config.os, 'linux');
  assert.deepEqual(p.config.config.Cmd, ['httpd', '-f', '-p', '80', '-h', '/var/www']);
  assert.deepEqual(p.config.config.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  assert.equal(p.config.config.WorkingDir, '/var/www');

  const base = new Map(p.layers[0]!.map((m) => [m.path, m]));
  assert.equal(base.get('bin/busybox')?.mode, 0o755);
  assert.equal(base.get('bin/sh')?.type, 'symlink');
  assert.equal(base.get('bin/sh')?.linkname, 'busybox');
  assert.equal(base.get('bin/httpd')?.linkname, 'busybox');
  assert.equal(base.get('tmp/')?.mode, 0o1777);
  assert.equal(base.get('root/')?.type, 'dir');
  assert.equal(base.get('var/www/')?.type, 'dir');
  assert.match(base.get('etc/passwd')!.content.toString(), /^root:x:0:0:root:\/root:\/bin\/sh$/m);
  assert.match(base.get('etc/group')!.content.toString(), /^root:x:0:$/m);
  for (const m of base.values()) {
    assert.equal(m.uid, 0);
    assert.equal(m.mtime, 0);
  }
  const paths = [...base.keys()];
  assert.deepEqual(paths, [...paths].sort(), 'entries in name order');

  const extra = new Map(p.layers[1]!.map((m) => [m.path, m]));
  assert.equal(extra.get('var/www/index.html')?.content.toString(), 'Welcome to nginx!\n');
  assert.equal(extra.get('var/www/index.html')?.mode, 0o644);
  assert.equal(extra.get('tmp/x/run.sh')?.mode, 0o755);
  assert.equal(extra.get('tmp/')?.mode, 0o1777, 'a parent from the base layer keeps its mode');
});

test('oci: the same input gives the same archive and digests; another name another manifest', { skip }, async (t) => {
  const dir = tempDir(t);
  const opts = { name: 'registry.k8s.io/pause:3.6', config: { Entrypoint: ['/bin/sleep', '2147483647'] } };
  const a = await buildBusyboxImage({ ...opts, outFile: join(dir, 'a.tar') });
  const b = await buildBusyboxImage({ ...opts, outFile: join(dir, 'b.tar') });
  assert.ok(readFileSync(a.file).equals(readFileSync(b.file)));
  assert.equal(a.id, b.id);
  assert.equal(a.manifestDigest, b.manifestDigest);
  const c = await buildBusyboxImage({ ...opts, name: 'example.com/pause:1', outFile: join(dir, 'c.tar') });
  assert.equal(c.id, a.id, 'the name is not part of the image');
  const pc = parse(c.file);
  assert.equal(pc.index.manifests[0]!.annotations[AnnotationImageName], 'example.com/pause:1');
  assert.equal(pc.index.manifests[0]!.annotations[AnnotationRefName], '1');
  assert.equal(parse(a.file).layers.length, 1, 'no files, no second layer');
});

test('oci: fileEntries creates parents and rejects paths leaving the root', () => {
  assert.deepEqual(fileEntries({ '/a/b/c': 'x' }).map((e) => [e.path, e.type]), [['a', 'dir'], ['a/b', 'dir'], ['a/b/c', 'file']]);
  assert.throws(() => fileEntries({ '../etc/passwd': 'x' }), /invalid image file path/);
  assert.throws(() => fileEntries({ '/': 'x' }), /invalid image file path/);
});

test('oci: a dynamically linked or missing busybox is refused with a clear error', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(buildBusyboxImage({ name: 'x', busybox: join(dir, 'none'), outFile: join(dir, 'x.tar') }), /cannot read busybox at .*ENOENT.*busybox-static/);
  if (existsSync('/bin/sh')) {
    const sh = readFileSync('/bin/sh');
    if (sh.readUInt32BE(0) === 0x7f454c46) {
      await assert.rejects(buildBusyboxImage({ name: 'x', busybox: '/bin/sh', outFile: join(dir, 'x.tar') }), /dynamically linked/);
    }
  }
  await assert.rejects(buildBusyboxImage({ name: 'x', busybox: '/etc/passwd', outFile: join(dir, 'x.tar') }), /not an ELF executable/);
});

test('oci: another process building the same image writes the same bytes', { skip }, async (t) => {
  const { runFlotilla } = await import('../../../test/util/flotilla.js');
  const dir = tempDir(t);
  const here = await buildBusyboxImage({ name: 'example.com/web:1', config: { Cmd: ['httpd', '-f', '-p', '8080'] }, outFile: join(dir, 'here.tar') });
  const r = runFlotilla(['images', 'build-busybox', '--name', 'example.com/web:1', '--cmd', 'httpd -f -p 8080', '-o', join(dir, 'there.tar')]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(readFileSync(here.file).equals(readFileSync(join(dir, 'there.tar'))));
});

/** Every image of a (multi-image) archive, read back through its index, blobs checked. */
function parseAll(file: string): { members: Map<string, TarMember>; index: Parsed['index']; images: Array<Omit<Parsed, 'members' | 'index'>> } {
  const members = new Map(readTar(readFileSync(file)).map((m) => [m.path, m]));
  const blob = (digest: string) => {
    const m = members.get(`blobs/sha256/${digest.slice('sha256:'.length)}`);
    assert.ok(m, `blob ${digest} in the archive`);
    assert.equal(sha(m.content), digest, 'blob content matches its digest');
    return m.content;
  };
  const index = JSON.parse(members.get('index.json')!.content.toString()) as Parsed['index'];
  const images = index.manifests.map((d) => {
    const raw = blob(d.digest);
    assert.equal(raw.length, d.size, 'manifest size in the index');
    const manifest = JSON.parse(raw.toString()) as Parsed['manifest'] & { config: { size: number } };
    const configBlob = blob(manifest.config.digest);
    assert.equal(configBlob.length, manifest.config.size, 'config size in the manifest');
    const config = JSON.parse(configBlob.toString()) as Parsed['config'];
    const layers = manifest.layers.map((l, i) => {
      const b = blob(l.digest);
      assert.equal(b.length, l.size, 'layer size in the manifest');
      const tar = l.mediaType === MediaTypes.layerGzip ? gunzipSync(b) : b;
      assert.equal(sha(tar), config.rootfs.diff_ids[i], 'diff_id is the digest of the uncompressed layer');
      return readTar(tar);
    });
    return { manifest, config, layers };
  });
  return { members, index, images };
}

test('oci: buildBusyboxImages writes one archive with a manifest per image, sharing the busybox layer', { skip }, async (t) => {
  const dir = tempDir(t);
  const specs: BusyboxImageSpec[] = [
    { name: 'registry.k8s.io/etcd:3.4.23-0', config: { Cmd: ['/usr/local/bin/etcd'] }, files: { '/usr/local/bin/etcd': { content: '#!/bin/sh\nexec sleep 1d\n', mode: 0o755 } } },
    { name: 'registry.k8s.io/pause:3.6', config: { Entrypoint: ['/bin/sleep', '2147483647'] } },
    { name: 'coredns/coredns:v1', config: { Entrypoint: ['/coredns'] }, files: { '/coredns': { content: '#!/bin/sh\n', mode: 0o755 } } },
  ];
  const built = await buildBusyboxImages({ images: specs, outFile: join(dir, 'all.tar') });
  assert.deepEqual(built.map((b) => b.name), ['registry.k8s.io/etcd:3.4.23-0', 'registry.k8s.io/pause:3.6', 'docker.io/coredns/coredns:v1']);
  assert.ok(built.every((b) => b.file === join(dir, 'all.tar')));
  const p = parseAll(join(dir, 'all.tar'));
  assert.deepEqual(p.index.manifests.map((d) => [d.digest, d.annotations]), built.map((b) => [b.manifestDigest, { [AnnotationImageName]: b.name, [AnnotationRefName]: b.name.slice(b.name.lastIndexOf(':') + 1) }]));
  assert.deepEqual(p.images.map((i) => i.manifest.config.digest), built.map((b) => b.id), 'each image ID is its config digest');
  assert.deepEqual(p.images.map((i) => i.manifest.layers.map((l) => l.mediaType)), [[MediaTypes.layerTar, MediaTypes.layerTar], [MediaTypes.layerTar], [MediaTypes.layerTar, MediaTypes.layerTar]], 'plain tar layers by default');
  const baseDigests = new Set(p.images.map((i) => i.manifest.layers[0]!.digest));
  assert.equal(baseDigests.size, 1, 'one busybox layer for every image');
  const blobs = [...p.members.keys()].filter((k) => k.startsWith('blobs/sha256/') && !k.endsWith('/'));
  assert.equal(blobs.length, 3 /* configs */ + 3 /* manifests */ + 1 /* busybox */ + 2 /* files */, 'each blob stored once');
  assert.equal(p.images[0]!.layers[1]!.find((m) => m.path === 'usr/local/bin/etcd')?.mode, 0o755);
  assert.deepEqual(p.images[2]!.config.config.Entrypoint, ['/coredns']);

  // The same image, alone and gzip-compressed (buildBusyboxImage), has the same ID: the
  // config does not depend on the layers' compression or on the other images.
  const [etcdSpec] = specs;
  const alone = await buildBusyboxImage({ ...etcdSpec!, outFile: join(dir, 'etcd.tar') });
  assert.equal(alone.id, built[0]!.id);
  assert.notEqual(alone.manifestDigest, built[0]!.manifestDigest, 'the manifest names the gzip blobs');
  const gz = await buildBusyboxImages({ images: specs, outFile: join(dir, 'gz.tar'), compress: true });
  assert.deepEqual(gz.map((b) => b.id), built.map((b) => b.id));
  assert.ok(parseAll(join(dir, 'gz.tar')).images.every((i) => i.manifest.layers.every((l) => l.mediaType === MediaTypes.layerGzip)));

  const again = await buildBusyboxImages({ images: specs, outFile: join(dir, 'again.tar') });
  assert.ok(readFileSync(join(dir, 'again.tar')).equals(readFileSync(join(dir, 'all.tar'))), 'deterministic');
  assert.deepEqual(again, built.map((b) => ({ ...b, file: join(dir, 'again.tar') })));
});

test('oci: buildBusyboxImages refuses a name twice or a digest, writing nothing', { skip }, async (t) => {
  const dir = tempDir(t);
  await assert.rejects(buildBusyboxImages({ images: [{ name: 'nginx' }, { name: 'docker.io/library/nginx:latest' }], outFile: join(dir, 'x.tar') }), /image docker.io\/library\/nginx:latest is twice in one archive/);
  await assert.rejects(buildBusyboxImages({ images: [{ name: `nginx@sha256:${'0'.repeat(64)}` }], outFile: join(dir, 'x.tar') }), /must be a tag, not a digest/);
  assert.equal(existsSync(join(dir, 'x.tar')), false);
});
