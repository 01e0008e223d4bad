/**
 * A whole `flotilla up` cluster for e2e tests, with the real kubectl pointed at it.
 *
 * With runtime 'cri' the node runs real containers through its own containerd: each
 * cluster gets its own pod CIDR (so its own CNI bridge) and the kubelet listens on
 * 127.0.0.1 (--node-ip), so tests never listen on the host's real interfaces. Images come
 * from archives the test puts in the data dir's images/ folder (the air-gap folder `up`
 * imports at start): no registry, no network.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusyboxImage, type BuildBusyboxImageOptions } from '../../src/kubelet/images/oci.js';
import { spawnFlotilla, type Spawned } from './flotilla.js';
import { testImageSpecs } from './images.js';
import { haveRegistry, startRegistry } from './registry.js';
import { eventually } from './wait.js';
import { after, before } from 'node:test';
import { freePorts } from './net.js';
import { tempDir } from './tmp.js';

/** Whether this machine can run `flotilla up --runtime cri` (root, containerd, runc, CNI). */
export function canRunContainers(): boolean {
  return (
    process.platform === 'linux' &&
    process.getuid?.() === 0 &&
    existsSync('/usr/bin/containerd') &&
    existsSync('/usr/sbin/runc') &&
    existsSync('/usr/lib/cni/bridge') &&
    existsSync('/bin/busybox')
  );
}

export const skipWithoutContainers = canRunContainers() ? false : 'needs root, containerd, runc, CNI plugins and busybox-static';

let cidrCounter = 0;
/** A /24 no other cluster of this machine's test run uses (process id + counter). */
export function uniquePodCIDR(): string {
  const n = (process.pid * 7 + cidrCounter++ * 13) % 200;
  return `10.${200 + Math.floor(n / 100)}.${n % 100 + 100}.0/24`;
}

/** The images a cri cluster starts with: busybox and nginx (busybox httpd serving "Welcome to nginx!" on 80). */
export const defaultClusterImages: Omit<BuildBusyboxImageOptions, 'outFile'>[] = [testImageSpecs.busybox, testImageSpecs.nginx];

/**
 * A machine-wide lock for clusters that own the host's iptables (kube-proxy's nat chains
 * and ClusterIPs are per network namespace): test files run in parallel, so clusters with
 * real containers take turns. Released after the cluster stops (hooks run in order).
 */
export async function hostNetworkLock(t: { after(fn: () => unknown): void }): Promise<void> {
  const dir = '/tmp/flotilla-test-locks';
  const lock = join(dir, 'host-network');
  mkdirSync(dir, { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      // Held: by a live process, wait; by a dead one, take it over.
      let pid = 0;
      try {
        pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // Being created or removed right now.
      }
      let alive = pid > 0;
      if (alive) {
        try {
          process.kill(pid, 0);
        } catch {
          alive = false;
        }
      }
      if (pid > 0 && !alive) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  t.after(() => rmSync(lock, { recursive: true, force: true }));
}

export interface Cluster {
  dir: string;
  kubeconfig: string;
  podCIDR: string;
  up: Spawned;
  /** Runs kubectl; never throws. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): SpawnSyncReturns<string>;
  /** Runs kubectl and asserts success; resolves stdout. */
  ok(...args: string[]): string;
  /** Runs kubectl asynchronously (for -f, port-forward, long waits). */
  spawnKubectl(args: string[]): ReturnType<typeof spawn>;
  /** `kubectl get <what> -o jsonpath=<path>`, asserted to succeed. */
  jsonpath(what: string, path: string): string;
  /** Waits (bounded) until the pod reaches the phase. */
  waitPhase(pod: string, phase: string): Promise<void>;
  /** Waits (bounded) until the pod's first container waits with a reason matching. */
  waitReason(pod: string, reason: RegExp): Promise<string>;
}

/**
 * One cluster for the tests of a describe() block: started in before(), stopped in
 * after(). Call inside describe; the returned function gives the cluster inside tests.
 */
export function useCluster(opts: StartClusterOptions): () => Cluster {
  let c: Cluster | undefined;
  const hooks: Array<() => unknown> = [];
  before(async () => {
    c = await startCluster({ after: (fn) => hooks.push(fn) }, opts);
  });
  after(async () => {
    for (const fn of hooks) await fn();
  });
  return () => c!;
}

export interface StartClusterOptions {
  runtime: 'cri' | 'simulated';
  /**
   * Mirror docker.io to a local docker-registry holding the busybox-built nginx and busybox,
   * so pods with the default pull policy (Always for :latest) pull them offline (cri only).
   */
  mirrorNginx?: boolean;
  nodeName?: string;
  /** Build and put these images into the air-gap folder before up (cri only). */
  images?: Omit<BuildBusyboxImageOptions, 'outFile'>[];
  extraArgs?: string[];
  readyTimeoutMs?: number;
  /** The store's and the API server's ports (default: free ones; the README's tour wants 2379 and 6443). */
  ports?: { etcd: number; api: number };
}

export async function startCluster(t: { after(fn: () => unknown): void }, opts: StartClusterOptions): Promise<Cluster> {
  // after-hooks run in order: up must stop (its containerd unmounting the pods) before the
  // data dir goes, so its hook is registered first.
  // Stopped as a user stops it: Ctrl-C, i.e. SIGINT to its whole process group. With real
  // containers nothing of the cluster may outlive it (its containerd, shims and containers
  // all name the data dir on their command lines).
  let up: Spawned | undefined = undefined;
  let dir = '';
  t.after(async () => {
    if (!up || up.proc.exitCode !== null || up.proc.signalCode !== null) return;
    const timer = setTimeout(() => up?.proc.kill('SIGKILL'), 30_000);
    up.interrupt();
    await up.exited;
    clearTimeout(timer);
    if (opts.runtime !== 'cri') return;
    const left = spawnSync('pgrep', ['-af', join(dir, 'containerd')], { encoding: 'utf8' }).stdout.trim();
    if (left) {
      for (const line of left.split('\n')) process.kill(Number(line.split(' ')[0]), 'SIGKILL');
      assert.fail(`processes of the cluster outlived flotilla up's Ctrl-C:\n${left}`);
    }
  });
  if (opts.runtime === 'cri') await hostNetworkLock(t);
  const mirrorArgs: string[] = [];
  if (opts.runtime === 'cri' && opts.mirrorNginx && haveRegistry) {
    const reg = await startRegistry(t);
    await reg.push(testImageSpecs.nginx);
    await reg.push(testImageSpecs.busybox);
    mirrorArgs.push('--registry-mirror', `docker.io=${reg.url}`);
  }
  dir = tempDir(t);
  const podCIDR = uniquePodCIDR();
  if (opts.runtime === 'cri') {
    mkdirSync(join(dir, 'images'), { recursive: true });
    let i = 0;
    for (const spec of opts.images ?? defaultClusterImages) await buildBusyboxImage({ ...spec, outFile: join(dir, 'images', `image-${i++}.tar`) });
  }
  const [etcdPort, apiPort] = opts.ports ? [opts.ports.etcd, opts.ports.api] : await freePorts(2);
  const args = [
    'up',
    '--data-dir', dir,
    '--etcd-port', String(etcdPort),
    '--secure-port', String(apiPort),
    '--node-name', opts.nodeName ?? 'node-1',
    '--runtime', opts.runtime,
    '--pod-cidr', podCIDR,
    '--node-ip', '127.0.0.1',
    '--kubelet-port', '0',
    ...mirrorArgs,
    ...(opts.extraArgs ?? []),
  ];
  up = spawnFlotilla(args, {}, { ownGroup: true });
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000);
  const u = up;
  while (!u.stdout().includes('Cluster is up')) {
    assert.equal(u.proc.exitCode, null, `flotilla up exited:\n${u.stdout()}\n${u.stderr()}`);
    assert.ok(Date.now() < deadline, `flotilla up not ready:\n${u.stdout()}\n${u.stderr().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const kubeconfig = join(dir, 'admin.conf');
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const kubectl = (a: string[], o: { input?: string; timeoutMs?: number } = {}) =>
    spawnSync('kubectl', a, { encoding: 'utf8', env, input: o.input, timeout: o.timeoutMs ?? 60_000 });
  const ok = (...a: string[]) => {
    const r = kubectl(a);
    assert.equal(r.status, 0, `kubectl ${a.join(' ')}\n${r.stdout}${r.stderr}\n--- flotilla up stderr (tail) ---\n${u.stderr().slice(-3000)}`);
    return r.stdout;
  };
  const jsonpath = (what: string, path: string) => ok('get', what, '-o', `jsonpath=${path}`);
  return {
    dir,
    kubeconfig,
    podCIDR,
    up: u,
    kubectl,
    ok,
    spawnKubectl: (a: string[]) => spawn('kubectl', a, { env, stdio: ['pipe', 'pipe', 'pipe'] }),
    jsonpath,
    async waitPhase(pod: string, phase: string) {
      await eventually(`pod ${pod} ${phase}`, () => jsonpath(`pod/${pod}`, '{.status.phase}') === phase, 60_000);
    },
    async waitReason(pod: string, reason: RegExp) {
      let last = '';
      await eventually(`pod ${pod} waiting reason ${reason}`, () => reason.test((last = jsonpath(`pod/${pod}`, '{.status.containerStatuses[0].state.waiting.reason}'))), 60_000);
      return last;
    },
  };
}
