/**
 * Container images made on this machine, with no registry: a busybox-static root file
 * system packed as an OCI image archive (the single-file form of an OCI image layout) that
 * `ctr images import` — and so containerd's CRI — accepts. An offline node builds its
 * sandbox ("pause") image this way, and tests build the images their pods run.
 *
 * The archive holds `oci-layout`, `index.json` and `blobs/sha256/…`. Each manifest
 * descriptor in the index carries `io.containerd.image.name` (the full normalized name,
 * which containerd's importer uses as the image name) and `org.opencontainers.image.ref.name`
 * (the tag, as `docker save`/skopeo write it for other tools). One archive may hold several
 * images ({@link buildBusyboxImages}): a blob they share (the busybox layer) is stored once,
 * and one `ctr images import` creates them all — each `ctr` run costs a few hundred ms.
 *
 * Layers are gzip-compressed (the registry form) unless the caller asks for plain tar
 * layers (`application/vnd.oci.image.layer.v1.tar`, valid OCI that containerd unpacks as
 * is): an archive imported on this machine gains nothing from compression, and gzip is
 * most of the cost of building an image holding etcdctl. The image config — and so the
 * image ID — is the same either way (its `diff_ids` are the uncompressed tars' digests).
 *
 * Everything is deterministic: the same inputs give the same bytes and so the same
 * digests (layer entries owned by 0:0 and dated at the epoch, gzip without a name or
 * time, JSON with a fixed key order, a fixed `created`).
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, basename, join, posix } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { normalizeImageName } from '../runtime.js';
import { sortEntries, tarChunks, type TarEntry, type TarSource } from './tar.js';

const gzipAsync = promisify(gzip);
const execFileAsync = promisify(execFile);

export const MediaTypes = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
} as const;

/** Annotation containerd's importer names an image by. */
export const AnnotationImageName = 'io.containerd.image.name';
/** OCI's annotation for a manifest's tag within an image layout. */
export const AnnotationRefName = 'org.opencontainers.image.ref.name';

/** The runtime part of an OCI image config (the fields of Docker's `ContainerConfig` we use). */
export interface ImageRuntimeConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  /** "KEY=value" entries; PATH defaults to the usual one when not given. */
  Env?: string[];
  WorkingDir?: string;
  /** Keys like "80/tcp". */
  ExposedPorts?: Record<string, Record<string, never>>;
  User?: string;
  Labels?: Record<string, string>;
}

/** A file to add: its content (mode 0644), or content and mode. */
export type ImageFile = string | Buffer | { content: string | Buffer; mode?: number };

export interface BuildBusyboxImageOptions {
  /** Image reference; stored under its normalized form ("nginx" → "docker.io/library/nginx:latest"). */
  name: string;
  config?: ImageRuntimeConfig;
  /** Extra files by absolute path, e.g. { '/var/www/index.html': '<h1>hi</h1>' }; parents are created. */
  files?: Record<string, ImageFile>;
  /** A statically linked busybox (Debian's busybox-static). Default /bin/busybox. */
  busybox?: string;
  /** Where to write the archive. */
  outFile: string;
  /** gzip the layers (default true); false writes plain tar layers, for a local import. */
  compress?: boolean;
}

/** One image of {@link buildBusyboxImages}: busybox plus `files`, with `config`. */
export type BusyboxImageSpec = Pick<BuildBusyboxImageOptions, 'name' | 'config' | 'files'>;

export interface BuildBusyboxImagesOptions {
  images: readonly BusyboxImageSpec[];
  /** A statically linked busybox (Debian's busybox-static). Default /bin/busybox. */
  busybox?: string;
  /** Where to write the one archive holding every image. */
  outFile: string;
  /** gzip the layers (default false: the archive is meant for a local `ctr images import`). */
  compress?: boolean;
}

export interface BuiltImage {
  /** The normalized name the archive carries. */
  name: string;
  file: string;
  /** The image ID as the CRI reports it: the config's digest. */
  id: string;
  manifestDigest: string;
}

export const DefaultPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function sha256(b: Buffer | readonly Buffer[]): string {
  const h = createHash('sha256');
  if (Buffer.isBuffer(b)) h.update(b);
  else for (const c of b as readonly Buffer[]) h.update(c);
  return `sha256:${h.digest('hex')}`;
}

/** The OCI platform architecture of this process (Go's GOARCH names). */
export function ociArchitecture(arch: string = process.arch): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[arch] ?? arch;
}

/**
 * A layer: the uncompressed tar's digest (diff_id) and its blob — the gzip of the tar, or
 * the tar itself (then digest = diffId) — kept as the buffers it is made of.
 */
export interface Layer {
  diffId: string;
  mediaType: typeof MediaTypes.layerGzip | typeof MediaTypes.layerTar;
  blob: readonly Buffer[];
  size: number;
  digest: string;
}

function byteLength(chunks: readonly Buffer[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

/** The layer of a tar given as chunks, gzip-compressed unless `compress` is false. */
async function layerOf(tar: readonly Buffer[], diffId: string, compress: boolean): Promise<Layer> {
  if (!compress) return { diffId, mediaType: MediaTypes.layerTar, blob: tar, size: byteLength(tar), digest: diffId };
  // zlib's gzip header has no file name and mtime 0, like `gzip -n`.
  const gz = await gzipAsync(Buffer.concat(tar));
  return { diffId, mediaType: MediaTypes.layerGzip, blob: [gz], size: gz.length, digest: sha256(gz) };
}

/** The layer of `entries` (written in `tar --sort=name` order); gzip unless `compress` is false. */
export async function newLayer(entries: readonly TarEntry[], opts: { compress?: boolean } = {}): Promise<Layer> {
  const tar = tarChunks(sortEntries(entries));
  return layerOf(tar, sha256(tar), opts.compress !== false);
}

/** Fails clearly unless `path` is a statically linked ELF executable (no PT_INTERP). */
async function checkStatic(path: string): Promise<void> {
  let head: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      head = Buffer.alloc(64 * 1024);
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new Error(`cannot read busybox at ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (install the busybox-static package)`);
  }
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path} is not an ELF executable (want a busybox-static binary)`);
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  const u16 = (o: number) => (le ? head.readUInt16LE(o) : head.readUInt16BE(o));
  const u32 = (o: number) => (le ? head.readUInt32LE(o) : head.readUInt32BE(o));
  const phoff = is64 ? Number(le ? head.readBigUInt64LE(32) : head.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (o + 4 > head.length) break;
    if (u32(o) === 3 /* PT_INTERP */) {
      throw new Error(`${path} is dynamically linked and would not run inside an image; install busybox-static or pass a static busybox`);
    }
  }
}

/** The busybox base: its entries, its tar, and its layer in each form (made on first use). */
interface Base {
  entries: Map<string, TarEntry>;
  layer(compress: boolean): Promise<Layer>;
}

const bases = new Map<string, Promise<Base>>();

function base(busybox: string): Promise<Base> {
  let p = bases.get(busybox);
  if (!p) {
    p = buildBase(busybox);
    p.catch(() => bases.delete(busybox));
    bases.set(busybox, p);
  }
  return p;
}

/**
 * The busybox root file system as one layer, built once per process per busybox binary and
 * form (gzip or not): /bin/busybox and one symlink per applet in /bin, /etc/passwd and
 * /etc/group (root and nobody), /tmp (1777), /root, /var/www (for httpd).
 */
export async function busyboxBaseLayer(busybox = '/bin/busybox', opts: { compress?: boolean } = {}): Promise<{ layer: Layer; entries: Map<string, TarEntry> }> {
  const b = await base(busybox);
  return { layer: await b.layer(opts.compress !== false), entries: b.entries };
}

async function buildBase(busybox: string): Promise<Base> {
  await checkStatic(busybox);
  const content = await readFile(busybox);
  const { stdout } = await execFileAsync(busybox, ['--list'], { encoding: 'utf8' });
  const applets = stdout.split('\n').map((s) => s.trim()).filter((s) => s && s !== 'busybox' && !s.includes('/'));
  const list: TarEntry[] = [
    { type: 'dir', path: 'bin', mode: 0o755 },
    { type: 'file', path: 'bin/busybox', mode: 0o755, content },
    ...applets.map((a): TarEntry => ({ type: 'symlink', path: `bin/${a}`, target: 'busybox' })),
    { type: 'dir', path: 'etc', mode: 0o755 },
    { type: 'file', path: 'etc/passwd', mode: 0o644, content: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n') },
    { type: 'file', path: 'etc/group', mode: 0o644, content: Buffer.from('root:x:0:\nnogroup:x:65534:\n') },
    { type: 'dir', path: 'root', mode: 0o700 },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'dir', path: 'var', mode: 0o755 },
    { type: 'dir', path: 'var/www', mode: 0o755 },
  ];
  const tar = tarChunks(sortEntries(list));
  const diffId = sha256(tar);
  const forms = new Map<boolean, Promise<Layer>>();
  return {
    entries: new Map(list.map((e) => [e.path, e])),
    layer(compress) {
      let l = forms.get(compress);
      if (!l) forms.set(compress, (l = layerOf(tar, diffId, compress)));
      return l;
    },
  };
}

/** The entries of a layer adding `files` on top of `base` (parents keep base's modes). */
export function fileEntries(files: Record<string, ImageFile>, base: ReadonlyMap<string, TarEntry> = new Map()): TarEntry[] {
  const out = new Map<string, TarEntry>();
  for (const [p, f] of Object.entries(files)) {
    const path = posix.normalize(p).replace(/^\/+/, '');
    if (!path || path === '.' || path.startsWith('..')) throw new Error(`invalid image file path ${JSON.stringify(p)}`);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const known = base.get(dir);
      out.set(dir, known?.type === 'dir' ? known : { type: 'dir', path: dir, mode: 0o755 });
    }
    const content = typeof f === 'string' || Buffer.isBuffer(f) ? f : f.content;
    const mode = typeof f === 'string' || Buffer.isBuffer(f) ? 0o644 : (f.mode ?? 0o644);
    out.set(path, { type: 'file', path, mode, content: Buffer.isBuffer(content) ? content : Buffer.from(content) });
  }
  return [...out.values()];
}

/** An image of an archive: its name, runtime config and layers (bottom first). */
export interface ArchiveImage {
  name: string;
  config: ImageRuntimeConfig;
  layers: readonly Layer[];
}

/** What an archive says about one of its images. */
export interface ArchivedImage {
  /** The normalized name. */
  name: string;
  /** The config's digest (the image ID). */
  id: string;
  manifestDigest: string;
}

/**
 * The OCI image archive (tar of an OCI image layout) of `images`, as the buffers it is
 * made of: one manifest per image in index.json, in the order given, each blob stored once.
 * Names must be tags (not digests) and distinct once normalized.
 */
export function ociArchiveChunks(images: readonly ArchiveImage[], architecture = ociArchitecture()): { chunks: Buffer[]; images: ArchivedImage[] } {
  const blobs = new Map<string, readonly Buffer[]>();
  const descriptors: unknown[] = [];
  const out: ArchivedImage[] = [];
  for (const { name, config, layers } of images) {
    const full = normalizeImageName(name);
    if (full.includes('@')) throw new Error(`image name ${JSON.stringify(name)} must be a tag, not a digest`);
    if (out.some((i) => i.name === full)) throw new Error(`image ${full} is twice in one archive`);
    const tag = full.slice(full.lastIndexOf(':') + 1);
    const env = config.Env ?? [];
    const imageConfig = {
      created: '1970-01-01T00:00:00Z',
      architecture,
      os: 'linux',
      config: { ...config, Env: env.some((e) => e.startsWith('PATH=')) ? env : [DefaultPath, ...env] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'flotilla images build-busybox' })),
    };
    const configBlob = Buffer.from(JSON.stringify(imageConfig));
    const configDigest = sha256(configBlob);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.manifest,
      config: { mediaType: MediaTypes.config, digest: configDigest, size: configBlob.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }));
    const manifestDigest = sha256(manifest);
    descriptors.push({
      mediaType: MediaTypes.manifest,
      digest: manifestDigest,
      size: manifest.length,
      platform: { architecture, os: 'linux' },
      annotations: { [AnnotationImageName]: full, [AnnotationRefName]: tag },
    });
    blobs.set(configDigest, [configBlob]);
    blobs.set(manifestDigest, [manifest]);
    for (const l of layers) blobs.set(l.digest, l.blob);
    out.push({ name: full, id: configDigest, manifestDigest });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.index, manifests: descriptors }));
  const entries: TarSource[] = [
    { type: 'file', path: 'oci-layout', mode: 0o644, content: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { type: 'file', path: 'index.json', mode: 0o644, content: index },
    { type: 'dir', path: 'blobs', mode: 0o755 },
    { type: 'dir', path: 'blobs/sha256', mode: 0o755 },
    ...[...blobs].map(([digest, content]): TarSource => ({ type: 'file', path: `blobs/sha256/${digest.slice('sha256:'.length)}`, mode: 0o644, content })),
  ];
  return { chunks: tarChunks(sortEntries(entries)), images: out };
}

/**
 * The OCI image archive (tar of an OCI image layout) of one image named `name` with
 * `layers` (bottom first) and `config`.
 */
export function ociArchive(name: string, config: ImageRuntimeConfig, layers: readonly Layer[], architecture = ociArchitecture()): { archive: Buffer; id: string; manifestDigest: string; name: string } {
  const { chunks, images: [image] } = ociArchiveChunks([{ name, config, layers }], architecture);
  return { archive: Buffer.concat(chunks), ...image! };
}

/** Writes `chunks` beside `outFile`, then renames: a reader never sees half an archive. */
async function writeArchive(outFile: string, chunks: readonly Buffer[]): Promise<void> {
  const tmp = join(dirname(outFile), `.${basename(outFile)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, chunks);
    await rename(tmp, outFile);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Writes an OCI image archive of busybox (see {@link busyboxBaseLayer}) plus `files` (a
 * second layer) with `config`, named `name`. The base layer is built once per process.
 */
export async function buildBusyboxImage(opts: BuildBusyboxImageOptions): Promise<BuiltImage> {
  const [built] = await buildBusyboxImages({ images: [opts], outFile: opts.outFile, compress: opts.compress !== false, ...(opts.busybox ? { busybox: opts.busybox } : {}) });
  return built!;
}

/**
 * Writes ONE OCI image archive holding every image of `images` (each busybox plus its
 * `files`, see {@link buildBusyboxImage}), for one `ctr images import`. They share the
 * busybox layer — the same bytes, so one blob in the archive and one snapshot in
 * containerd. Layers are plain tar unless `compress` is true. Resolves with each image,
 * in the order given.
 */
export async function buildBusyboxImages(opts: BuildBusyboxImagesOptions): Promise<BuiltImage[]> {
  const compress = opts.compress === true;
  const b = await base(opts.busybox ?? '/bin/busybox');
  const baseLayer = await b.layer(compress);
  const images: ArchiveImage[] = [];
  for (const spec of opts.images) {
    const layers = [baseLayer];
    if (spec.files && Object.keys(spec.files).length > 0) layers.push(await newLayer(fileEntries(spec.files, b.entries), { compress }));
    images.push({ name: spec.name, config: spec.config ?? {}, layers });
  }
  const built = ociArchiveChunks(images);
  await writeArchive(opts.outFile, built.chunks);
  return built.images.map((i) => ({ ...i, file: opts.outFile }));
}
