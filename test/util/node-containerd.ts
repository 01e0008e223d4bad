/**
 * A node-owned containerd for integration tests that drive images and containers straight
 * through the CRI (no kubelet): kept under `<dataDir>/containerd`, where `flotilla up
 * --data-dir` keeps its own, and stopped after the test; plus a one-shot container run.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { containerdDirOf, startContainerd, type ManagedContainerd } from '../../src/kubelet/containerd/index.js';
import { CriRuntime } from '../../src/kubelet/cri/runtime.js';
import { ensureSandboxImage } from '../../src/kubelet/images/sandbox.js';
import type { Runtime } from '../../src/kubelet/runtime.js';
import { silentLogger } from '../../src/util/log.js';
import { tempDir } from './tmp.js';
import { eventually } from './wait.js';

/** Why these tests can't run here (node:test's `skip`), or false. */
export const skipWithoutCtr =
  !(process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/usr/bin/containerd') && existsSync('/usr/bin/ctr') && existsSync('/bin/busybox')) &&
  'needs root, containerd, ctr and busybox-static';

let cidr = 0;

/** The containerd, stopped after the test; with `sandboxImage`, the pause image built into it. */
export async function startNodeContainerd(
  t: { after(fn: () => unknown): void },
  opts: { prefix?: string; sandboxImage?: boolean } = {},
): Promise<{ dataDir: string; ctd: ManagedContainerd; cri: CriRuntime }> {
  const dataDir = tempDir(t, opts.prefix ?? 'flotilla-images-');
  // Sandboxes here use the host network, so the bridge of this CIDR is never created.
  const ctd = await startContainerd({ dir: containerdDirOf(dataDir), podCIDR: `10.${210 + (process.pid % 40)}.${cidr++ % 250}.0/24`, logger: silentLogger() });
  const cri = new CriRuntime({ endpoint: ctd.socket, timeoutMs: 30_000 });
  t.after(async () => {
    cri.close();
    await ctd.stop();
  });
  if (opts.sandboxImage) await ensureSandboxImage({ socketPath: ctd.socket, runtime: cri, workDir: join(dataDir, 'build'), logger: silentLogger(), pull: false });
  return { dataDir, ctd, cri };
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
