/**
 * A node-owned containerd for integration tests that drive images and containers through
 * the CRI or a kubelet: kept under `<dataDir>/containerd`, where `flotilla up --data-dir`
 * keeps its own, and stopped after the test; plus a one-shot container run.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerdDirOf, startContainerd, type ManagedContainerd } from '../../src/kubelet/containerd/index.js';
import { CriRuntime } from '../../src/kubelet/cri/runtime.js';
import { ensureSandboxImage } from '../../src/kubelet/images/sandbox.js';
import type { Runtime } from '../../src/kubelet/runtime.js';
import { silentLogger } from '../../src/util/log.js';
import { importTestImages, type TestImageKey } from './images.js';
import { eventually } from './wait.js';

/** Why these tests can't run here (node:test's `skip`), or false. */
export const skipWithoutCtr =
  !(process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/usr/bin/containerd') && existsSync('/usr/bin/ctr') && existsSync('/bin/busybox')) &&
  'needs root, containerd, ctr and busybox-static';

/** Why tests whose pods join the CNI bridge (no host network) can't run here, or false. */
export const skipWithoutCni =
  (skipWithoutCtr || !existsSync('/usr/lib/cni/bridge') || !existsSync('/usr/lib/cni/host-local')) &&
  'needs root, containerd, ctr, busybox-static and the CNI plugins';

let cidr = 0;

/**
 * The containerd, stopped after the test with every sandbox it still has, its data dir
 * removed after that; with `sandboxImage`, the pause image built into it; with `images`,
 * those test images (test/util/images.ts) imported. `podCIDR` is its CNI bridge's network
 * (default: one per call, enough where sandboxes use the host network).
 */
export async function startNodeContainerd(
  t: { after(fn: () => unknown): void },
  opts: { prefix?: string; sandboxImage?: boolean; images?: TestImageKey[]; podCIDR?: string } = {},
): Promise<{ dataDir: string; podCIDR: string; ctd: ManagedContainerd; cri: CriRuntime }> {
  const dataDir = mkdtempSync(join(tmpdir(), opts.prefix ?? 'flotilla-images-'));
  const node: { ctd?: ManagedContainerd; cri?: CriRuntime } = {};
  // One hook, in this order: containerd removes its sandboxes as it stops, and only then can
  // the data dir go (a directory with live sandbox mounts cannot be removed).
  t.after(async () => {
    node.cri?.close();
    await node.ctd?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const podCIDR = opts.podCIDR ?? `10.${210 + (process.pid % 40)}.${cidr++ % 250}.0/24`;
  const ctd = await startContainerd({ dir: containerdDirOf(dataDir), podCIDR, logger: silentLogger() });
  node.ctd = ctd;
  const cri = new CriRuntime({ endpoint: ctd.socket, timeoutMs: 30_000 });
  node.cri = cri;
  if (opts.sandboxImage) await ensureSandboxImage({ socketPath: ctd.socket, runtime: cri, workDir: join(dataDir, 'build'), logger: silentLogger(), pull: false });
  if (opts.images) await importTestImages(ctd.socket, opts.images);
  return { dataDir, podCIDR, ctd, cri };
}

/** Runs `command` in a container of `image` on the host network and resolves its exit code. */
export async function runToExit(rt: Runtime, image: string, command: string[]): Promise<number> {
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
