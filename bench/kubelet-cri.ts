/**
 * `npm run bench -- kubelet` (real-runtime part): pods on real containers through
 * `flotilla up --runtime cri` (needs root, containerd, runc, CNI plugins, busybox-static;
 * skipped with a note otherwise).
 *
 * Measured:
 *  - `flotilla up` from spawn to "Cluster is up", to the node Ready, and to a first pod
 *    Running (image already imported), against k3s's ~50 s and kind's ~33 s published
 *    start-up figures (issue 5's anchors; goal under 2 s);
 *  - pod start-up latency for N pods (default 100, 8 creates in flight; creation request →
 *    Running observed by a watch, image present), p50/p99 against upstream's SLO (p99 ≤ 5 s;
 *    goal p99 ≤ 1 s).
 * Anchor measured in the same run: the same containers started straight through the CRI
 * (RunPodSandbox + CreateContainer + StartContainer, no API server, scheduler or kubelet) on
 * a containerd with the same configuration, so the ratio is what the rest of Flotilla adds to containerd's own
 * work.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { restClientFromKubeconfig } from '../src/client/rest.js';
import { Resources } from '../src/client/interface.js';
import type { Node, Pod } from '../src/client/objects.js';
import { CriRuntime } from '../src/kubelet/cri/runtime.js';
import { startContainerd } from '../src/kubelet/containerd/index.js';
import { importImages } from '../src/kubelet/images/import.js';
import { silentLogger } from '../src/util/log.js';
import { LabelPodUID } from '../src/kubelet/runtime.js';
import { buildBusyboxImage } from '../src/kubelet/images/oci.js';
import { canRunContainers, uniquePodCIDR } from '../test/util/cluster.js';
import { testImageSpecs } from '../test/util/images.js';
import { spawnFlotilla } from '../test/util/flotilla.js';
import { freePort } from '../test/util/net.js';
import { tempDir } from '../test/util/tmp.js';
import { fmt, nowMs, printTable, progress } from './util.js';

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

function podSpec(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { bench: 'startup' } },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'c', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
    },
  } as Pod;
}

export async function runCri(args: string[]): Promise<void> {
  if (!canRunContainers()) {
    console.log('\n## kubelet on containerd: skipped (needs root, containerd, runc, CNI plugins and busybox-static)\n');
    return;
  }
  const count = Number(flag(args, 'pods') ?? (args.includes('--quick') ? 30 : 100));
  const inFlight = 8;
  const cleanups: Array<() => unknown> = [];
  const t = { after: (fn: () => unknown) => { cleanups.push(fn); } };
  let up: ReturnType<typeof spawnFlotilla> | undefined;
  cleanups.push(async () => {
    if (!up || up.proc.exitCode !== null || up.proc.signalCode !== null) return;
    up.proc.kill('SIGTERM');
    await up.exited;
  });
  try {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'images'));
    await buildBusyboxImage({ ...testImageSpecs.busybox, outFile: join(dir, 'images', 'busybox.tar') });
    // The sandbox image too, so up's time is not a registry timeout on an offline machine.
    await buildBusyboxImage({ ...testImageSpecs.pause, outFile: join(dir, 'images', 'pause.tar') });
    // Anchor first, on a containerd of its own (same config, no kubelet to tidy its
    // sandboxes away): the same containers straight through the CRI.
    progress(`kubelet (cri): anchor — ${count} sandboxes + containers straight through the CRI`);
    const anchorDir = tempDir(t);
    const ctd = await startContainerd({ dir: anchorDir, podCIDR: uniquePodCIDR(), logger: silentLogger() });
    const cri = new CriRuntime({ endpoint: ctd.socket });
    const anchor: number[] = [];
    try {
      await importImages(ctd.socket, [join(dir, 'images', 'busybox.tar'), join(dir, 'images', 'pause.tar')]);
      const image = (await cri.imageStatus('busybox'))!;
      let k = 0;
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (k < count) {
            const i = k++;
            const s = nowMs();
            const uid = `anchor-${i}`;
            const sbConfig = { name: `anchor-${i}`, namespace: 'bench', uid, attempt: 0, labels: { [LabelPodUID]: uid } };
            const sb = await cri.runPodSandbox(sbConfig);
            const id = await cri.createContainer(sb, { name: 'c', attempt: 0, image: image.id, userImage: 'busybox', command: ['sleep', '3600'], args: [], env: [], labels: { [LabelPodUID]: uid } }, sbConfig);
            await cri.startContainer(id);
            anchor.push(nowMs() - s);
          }
        }),
      );
    } finally {
      cri.close();
      await ctd.stop();
    }

    progress('kubelet (cri): starting flotilla up --runtime cri');
    const t0 = nowMs();
    up = spawnFlotilla(['up', '--data-dir', dir, '--etcd-port', String(await freePort()), '--secure-port', String(await freePort()), '--runtime', 'cri', '--pod-cidr', uniquePodCIDR(), '--node-ip', '127.0.0.1', '--kubelet-port', '0', '--node-name', 'bench-node'], { FLOTILLA_LOG_LEVEL: 'warn' });
    while (!up.stdout().includes('Cluster is up')) {
      if (up.proc.exitCode !== null) throw new Error(`flotilla up exited:\n${up.stdout()}\n${up.stderr()}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const upS = (nowMs() - t0) / 1000;
    const client = await restClientFromKubeconfig(join(dir, 'admin.conf'), 'kubelet-cri-bench');
    cleanups.push(() => client.close());
    const nodes = client.resource<Node>(Resources.nodes);
    for (;;) {
      const n = await nodes.get('bench-node').catch(() => undefined);
      if (n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const readyS = (nowMs() - t0) / 1000;

    // Watch pods; record when each is first seen Running.
    const pods = client.resource<Pod>(Resources.pods, 'default');
    const running = new Map<string, number>();
    const waiters = new Map<string, () => void>();
    const abort = new AbortController();
    const list = await pods.list();
    const watching = (async () => {
      for await (const ev of pods.watch({ resourceVersion: list.metadata?.resourceVersion }, abort.signal)) {
        const p = ev.object as Pod;
        const name = p.metadata?.name ?? '';
        if (p.status?.phase === 'Running' && !running.has(name)) {
          running.set(name, nowMs());
          waiters.get(name)?.();
        }
      }
    })().catch(() => {});
    const runningAt = (name: string) =>
      running.has(name) ? Promise.resolve() : new Promise<void>((resolve) => waiters.set(name, resolve));

    await pods.create(podSpec('first'));
    await runningAt('first');
    const firstS = (nowMs() - t0) / 1000;

    progress(`kubelet (cri): ${count} pods, ${inFlight} creates in flight`);
    const lat: number[] = [];
    let next = 0;
    const startAll = nowMs();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < count) {
          const name = `p-${next++}`;
          const s = nowMs();
          await pods.create(podSpec(name));
          await runningAt(name);
          lat.push(running.get(name)! - s);
        }
      }),
    );
    const podsWall = (nowMs() - startAll) / 1000;
    abort.abort();
    await watching;
    progress('kubelet (cri): deleting the pods');
    await pods.deleteCollection({ labelSelector: 'bench=startup' }).catch(() => {});

    const p50 = pct(lat, 50);
    const p99 = pct(lat, 99);
    const a50 = pct(anchor, 50);
    const a99 = pct(anchor, 99);
    console.log(`\n## kubelet on containerd: flotilla up --runtime cri, ${count} pods\n`);
    printTable(
      ['measure', 'value', 'anchor / goal'],
      [
        ['up → "Cluster is up"', `${fmt(upS, 2)} s`, 'k3s ~50 s, kind ~33 s (published); goal < 2 s'],
        ['up → node Ready', `${fmt(readyS, 2)} s`, `${fmt(50 / readyS, 0)}× faster than k3s, ${fmt(33 / readyS, 0)}× than kind`],
        ['up → first pod Running', `${fmt(firstS, 2)} s`, 'goal < 2 s'],
        ['pod start-up p50', `${fmt(p50, 0)} ms`, `CRI alone p50 ${fmt(a50, 0)} ms → ×${fmt(p50 / a50, 2)}`],
        ['pod start-up p99', `${fmt(p99, 0)} ms`, `CRI alone p99 ${fmt(a99, 0)} ms → ×${fmt(p99 / a99, 2)}; SLO p99 ≤ 5000 ms; goal ≤ 1000 ms`],
        ['pods Running/s', `${fmt(count / podsWall, 1)}`, `${count} pods in ${fmt(podsWall, 1)} s, ${inFlight} in flight`],
      ],
    );
  } finally {
    // In order: flotilla up stops (removing its pods) before its data dir goes.
    for (const fn of cleanups) await fn();
  }
}
