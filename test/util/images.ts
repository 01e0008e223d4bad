/**
 * Images for tests that run real containers, built from the host's busybox-static — no
 * registry, no network. Archives are built once per process per folder and reused.
 *
 *   docker.io/library/busybox:latest   sh, sleep, wget, … (Cmd sh)
 *   docker.io/library/nginx:latest     busybox httpd on port 80 serving "Welcome to nginx!", stopping on
 *                                      SIGTERM as the real nginx does
 *   registry.k8s.io/pause:3.6          sleep forever: containerd 1.6's default sandbox image
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBusyboxImage, type BuildBusyboxImageOptions, type BuiltImage } from '../../src/kubelet/images/oci.js';
import { importImages, type ImportedArchive } from '../../src/kubelet/images/import.js';
import { DefaultSandboxImage, SandboxEntrypoint } from '../../src/kubelet/images/sandbox.js';
import { writeTar, type TarEntry } from '../../src/kubelet/images/tar.js';

export const NginxWelcome = '<h1>Welcome to nginx!</h1>\n';

/** What each test image is, by a short key. */
export const testImageSpecs = {
  busybox: { name: 'docker.io/library/busybox:latest', config: { Cmd: ['sh'] } },
  nginx: {
    name: 'docker.io/library/nginx:latest',
    // Behind a shell that stops it on SIGTERM: busybox httpd as PID 1 ignores the signal, so
    // every deletion of such a pod would wait out its grace period (30 s by default). A test
    // that wants a container ignoring SIGTERM says so in its own command.
    config: {
      Cmd: ['sh', '-c', "httpd -f -v -p 80 -h /usr/share/nginx/html & trap 'kill $!; exit 0' TERM; wait"],
      ExposedPorts: { '80/tcp': {} },
    },
    files: { '/usr/share/nginx/html/index.html': NginxWelcome },
  },
  pause: { name: DefaultSandboxImage, config: { Entrypoint: SandboxEntrypoint } },
} satisfies Record<string, Omit<BuildBusyboxImageOptions, 'outFile'>>;

export type TestImageKey = keyof typeof testImageSpecs;
export type TestImages = Record<TestImageKey, BuiltImage>;

let processDir: string | undefined;
const cache = new Map<string, Promise<TestImages>>();

/** A folder for this process's archives, removed when the process exits. */
function defaultDir(): string {
  if (!processDir) {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-test-images-'));
    processDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return processDir;
}

/**
 * The test images' archives in `dir` (default: one folder per process), built on first use
 * and cached: later calls with the same folder cost nothing.
 */
export function testImages(dir: string = defaultDir()): Promise<TestImages> {
  let p = cache.get(dir);
  if (!p) {
    p = (async () => {
      mkdirSync(dir, { recursive: true });
      const out: Partial<TestImages> = {};
      for (const [key, spec] of Object.entries(testImageSpecs) as Array<[TestImageKey, Omit<BuildBusyboxImageOptions, 'outFile'>]>) {
        out[key] = await buildBusyboxImage({ ...spec, outFile: join(dir, `${key}.tar`) });
      }
      return out as TestImages;
    })();
    p.catch(() => cache.delete(dir));
    cache.set(dir, p);
  }
  return p;
}

/** Imports the test images (or only `keys`) into the containerd at `socket` (namespace k8s.io). */
export async function importTestImages(socket: string, keys: TestImageKey[] = Object.keys(testImageSpecs) as TestImageKey[]): Promise<ImportedArchive[]> {
  const images = await testImages();
  return importImages(socket, keys.map((k) => images[k].file));
}

function sha256hex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * A `docker save` archive (Docker image spec v1.2: manifest.json, repositories, one folder
 * per layer with an uncompressed layer.tar) of one image with the given tags and files. For
 * testing the Docker-archive import path without Docker.
 */
export function writeDockerArchive(outFile: string, opts: { repoTags: string[]; config?: Record<string, unknown>; layer: TarEntry[] }): { id: string } {
  const layer = writeTar(opts.layer);
  const diffId = sha256hex(layer);
  const config = Buffer.from(JSON.stringify({
    architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
    os: 'linux',
    created: '1970-01-01T00:00:00Z',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...opts.config },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
  }));
  const configHex = sha256hex(config);
  const repositories: Record<string, Record<string, string>> = {};
  for (const t of opts.repoTags) {
    const colon = t.lastIndexOf(':');
    (repositories[t.slice(0, colon)] ??= {})[t.slice(colon + 1)] = diffId;
  }
  const entries: TarEntry[] = [
    { type: 'dir', path: diffId, mode: 0o755 },
    { type: 'file', path: `${diffId}/VERSION`, mode: 0o644, content: Buffer.from('1.0') },
    { type: 'file', path: `${diffId}/json`, mode: 0o644, content: Buffer.from(JSON.stringify({ id: diffId })) },
    { type: 'file', path: `${diffId}/layer.tar`, mode: 0o644, content: layer },
    { type: 'file', path: `${configHex}.json`, mode: 0o644, content: config },
    { type: 'file', path: 'manifest.json', mode: 0o644, content: Buffer.from(JSON.stringify([{ Config: `${configHex}.json`, RepoTags: opts.repoTags, Layers: [`${diffId}/layer.tar`] }])) },
    { type: 'file', path: 'repositories', mode: 0o644, content: Buffer.from(JSON.stringify(repositories)) },
  ];
  writeFileSync(outFile, writeTar(entries));
  return { id: `sha256:${configHex}` };
}
