/**
 * The CRI sandbox ("pause") image on a machine that may be offline. containerd runs every
 * pod sandbox from it (1.6's default: registry.k8s.io/pause:3.6) and fails RunPodSandbox
 * when it is missing and cannot be pulled — so no pod would ever start on an air-gapped
 * node. When ImageStatus says it is missing and a pull fails, we build a stand-in from the
 * host's busybox-static: an image whose entrypoint sleeps forever (containerd stops
 * sandboxes with SIGKILL, so a process without signal handlers is fine), imported under
 * the exact sandbox image name.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../util/clock.js';
import { realClock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import type { ImageInfo } from '../runtime.js';
import { importImages } from './import.js';
import { buildBusyboxImage } from './oci.js';

/** containerd 1.6's default `sandbox_image`. */
export const DefaultSandboxImage = 'registry.k8s.io/pause:3.6';

/** What runs a pod sandbox in a busybox stand-in for the pause image. */
export const SandboxEntrypoint = ['/bin/sleep', '2147483647'];

export interface EnsureSandboxImageOptions {
  /** containerd's socket, for the import. */
  socketPath: string;
  /** The CRI runtime: asked whether the image is there, and (if it can) to pull it. */
  runtime: { imageStatus(image: string): Promise<ImageInfo | undefined>; pullImage?(image: string): Promise<string> };
  /** The sandbox image containerd is configured with (default registry.k8s.io/pause:3.6). */
  image?: string;
  /** Where the built archive is written (created if missing). */
  workDir: string;
  logger: Logger;
  /** Try a registry pull before building (default true when the runtime can pull). */
  pull?: boolean;
  /** Give up on the pull after this long (default 30 s): a blackholed network must not stall start-up. */
  pullTimeoutMs?: number;
  clock?: Clock;
  /** The static busybox to build from (default /bin/busybox). */
  busybox?: string;
  ctr?: string;
}

export type SandboxImageSource = 'present' | 'pulled' | 'built';

function withTimeout<T>(p: Promise<T>, ms: number, clock: Clock, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => { timer.cancel(); resolve(v); },
      (err: unknown) => { timer.cancel(); reject(err instanceof Error ? err : new Error(String(err))); },
    );
  });
}

/**
 * Makes sure the sandbox image is on the node: present already, pulled, or built from
 * busybox and imported. Resolves with which of the three happened; rejects (one line) only
 * when it is missing and could be neither pulled nor built.
 */
export async function ensureSandboxImage(opts: EnsureSandboxImageOptions): Promise<SandboxImageSource> {
  const image = opts.image ?? DefaultSandboxImage;
  const log = opts.logger;
  if (await opts.runtime.imageStatus(image)) {
    log.debug({ image }, 'sandbox image present');
    return 'present';
  }
  if (opts.pull !== false && opts.runtime.pullImage) {
    try {
      await withTimeout(opts.runtime.pullImage(image), opts.pullTimeoutMs ?? 30_000, opts.clock ?? realClock, `pulling ${image}`);
      log.info({ image }, 'pulled sandbox image');
      return 'pulled';
    } catch (err) {
      log.info({ image, err: (err as Error).message }, 'cannot pull the sandbox image; building it from the host busybox');
    }
  }
  await mkdir(opts.workDir, { recursive: true });
  const built = await buildBusyboxImage({
    name: image,
    config: { Entrypoint: SandboxEntrypoint, Labels: { 'io.flotilla.image.source': 'busybox-sandbox' } },
    outFile: join(opts.workDir, 'sandbox-image.tar'),
    // Imported right here: gzip would only be undone by the import.
    compress: false,
    ...(opts.busybox ? { busybox: opts.busybox } : {}),
  }).catch((err: unknown) => {
    throw new Error(`sandbox image ${image} is missing and cannot be pulled, and building it failed: ${(err as Error).message}`);
  });
  await importImages(opts.socketPath, [built.file], opts.ctr ? { ctr: opts.ctr } : {});
  log.info({ image: built.name, id: built.id, archive: built.file }, 'built the sandbox image from the host busybox and imported it');
  return 'built';
}
