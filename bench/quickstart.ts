/**
 * `npm run bench -- quickstart`: the README's two-command quick start, timed as a newcomer
 * meets it — each round on a fresh `git clone` of this repository's HEAD (committed files
 * only) in a temp dir:
 *
 *  1. `npm install` with an empty npm cache (every package downloaded from the registry, as
 *     on a fresh machine), including the `prepare` build. Anchor: `npm ci --ignore-scripts`
 *     on another fresh clone with another empty cache (download + extract only), so the
 *     ratio is what our build (and install scripts) add.
 *  2. `npm start` (treated as a black box: whatever `prestart` does counts) in its own
 *     process group, with the default ./flotilla-data inside the clone, from spawn to
 *     "Cluster is up", to the node Ready, and to a first pod (`kubectl run first
 *     --image=nginx`) Running; then Ctrl-C (SIGINT to the process group, as a terminal
 *     sends it) until npm exits; then `npm start` again (resume) until the node is Ready
 *     with a heartbeat of the new run (a stale Ready from the first run does not count),
 *     and Ctrl-C again.
 *     Anchor, measured in the same round: a bare containerd (src/kubelet/containerd, the
 *     same binary and config `up` uses) on a fresh state dir until its CRI answers — the
 *     floor any real node pays — then one pod of the same image straight through the CRI
 *     (pull through the same mirror, RunPodSandbox, CreateContainer, StartContainer), its
 *     stop, and its restart on the same dir. Without root + containerd the node runs the
 *     simulated runtime and the anchor is a real etcd (test/util/etcd.ts) start-to-healthy,
 *     stop and restart.
 *  3. With `--with-tests`, `npm run test:ci` in the clone (13+ minutes; no anchor).
 *
 * Also printed: when each line of `up`'s output appeared (where the start-up time goes),
 * and how many container shims outlived each Ctrl-C (the bench removes them with the
 * node's own containerd before deleting the clone). Skipped with a note when the npm
 * registry does not answer.
 *
 * Arguments after `npm start --` keep the run off anything else on the machine: free ports
 * for etcd and the API server, a pod CIDR of its own, the kubelet on 127.0.0.1 with an
 * ephemeral port (as the e2e tests run clusters). With real containers there is no
 * internet here: docker.io is mirrored to a local docker-registry holding the busybox-built
 * nginx (as test/e2e/walkthrough-cri.test.ts does), so the pod's image is pulled as from
 * Docker Hub; without docker-registry the image goes into ./flotilla-data/images/ (the
 * air-gap folder `up` imports at start). Real-container rounds hold the host network lock
 * the e2e clusters take (test/util/cluster.ts), so they never overlap one.
 *
 * Flags: --quick (one round; default 3, figures are medians), --rounds N, --with-tests,
 * --simulated (npm start -- --runtime simulated, etcd anchor), --keep (leave the temp dirs).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { restClientFromKubeconfig, type RestClient } from '../src/client/rest.js';
import { Resources } from '../src/client/interface.js';
import type { Node, Pod } from '../src/client/objects.js';
import { CriRuntime } from '../src/kubelet/cri/runtime.js';
import { containerdSocket, startContainerd } from '../src/kubelet/containerd/index.js';
import { importImages } from '../src/kubelet/images/import.js';
import { buildBusyboxImage } from '../src/kubelet/images/oci.js';
import { writeRegistryHosts } from '../src/kubelet/images/registry.js';
import { LabelPodUID } from '../src/kubelet/runtime.js';
import { silentLogger } from '../src/util/log.js';
import { canRunContainers, hostNetworkLock, uniquePodCIDR } from '../test/util/cluster.js';
import { startEtcd } from '../test/util/etcd.js';
import { repoRoot } from '../test/util/flotilla.js';
import { testImageSpecs } from '../test/util/images.js';
import { freePorts } from '../test/util/net.js';
import { haveRegistry, startRegistry } from '../test/util/registry.js';
import { fmt, nowMs, printTable, progress } from './util.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function flag(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = args[i]!;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
}

function median(values: number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Cleanup steps, run last-registered first (a process stops before its dir goes). */
type Cleanups = Array<() => unknown>;

async function runCleanups(cleanups: Cleanups): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (err) {
      progress(`quickstart: clean-up step failed: ${(err as Error).message}`);
    }
  }
}

function tempDir(cleanups: Cleanups, keep: boolean, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => {
    if (keep) progress(`quickstart: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/**
 * The environment of a newcomer's shell: this process may itself run under `npm run bench`,
 * whose npm_* variables (npm_config_local_prefix, npm_config_cache, …) and
 * node_modules/.bin PATH entries would otherwise steer the clone's npm.
 */
function freshEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !/^npm_config_registry$/i.test(k)) continue;
    if (k === 'INIT_CWD' || k === 'NODE_ENV' || k === 'KUBECONFIG') continue;
    env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '').split(delimiter).filter((p) => !/node_modules[\\/]\.bin$/.test(p)).join(delimiter);
  return { ...env, ...extra };
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  seconds: number;
}

/** Runs a command to its end (killed after timeoutMs), timing it from spawn to exit. */
function timed(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number; echo?: boolean }): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? freshEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (opts.echo) process.stderr.write(d); });
    proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (opts.echo) process.stderr.write(d); });
    const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs);
    proc.once('error', (e) => { clearTimeout(timer); reject(new Error(`${cmd}: ${e.message}`)); });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err, seconds: (nowMs() - t0) / 1000 });
    });
  });
}

function mustSucceed(what: string, r: Finished): Finished {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code ?? r.signal}) after ${fmt(r.seconds, 1)} s:\n${(r.out + r.err).slice(-4000)}`);
  return r;
}

function gitClone(cleanups: Cleanups, keep: boolean, prefix: string): string {
  const parent = tempDir(cleanups, keep, prefix);
  const dir = join(parent, 'flotilla');
  const r = spawnSync('git', ['clone', '--quiet', repoRoot, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git clone ${repoRoot}: ${r.stderr}`);
  return dir;
}

/** `npm start -- …` in its own process group, as a shell runs a foreground job. */
interface Started {
  proc: ChildProcess;
  t0: number;
  out(): string;
  err(): string;
  /** Seconds from spawn at which each progress line ("  ✓ store …") first appeared. */
  steps: Array<{ line: string; at: number }>;
  exited: Promise<void>;
  alive(): boolean;
  /** Ctrl-C: SIGINT to the whole group; resolves with the seconds until npm has exited. */
  interrupt(timeoutMs: number): Promise<number>;
}

function npmStart(cwd: string, extraArgs: string[], cleanups: Cleanups): Started {
  const t0 = nowMs();
  // FLOTILLA_STOP_WITH_PARENT: the cluster stops if npm dies (e.g. this bench is killed).
  const proc = spawn('npm', ['start', '--', ...extraArgs], { cwd, env: freshEnv({ FLOTILLA_STOP_WITH_PARENT: '1' }), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  const steps: Array<{ line: string; at: number }> = [];
  proc.stdout!.on('data', (d: Buffer) => {
    const at = (nowMs() - t0) / 1000;
    const before = out.length;
    out += d.toString();
    // Lines completed by this chunk (a line split across chunks counts when it ends).
    const start = out.lastIndexOf('\n', before - 1) + 1;
    const done = out.slice(start, out.lastIndexOf('\n') + 1);
    for (const line of done.split('\n')) if (/^(flotilla up:|\s+✓|Cluster is up)/.test(line)) steps.push({ line: line.trim(), at });
  });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const group = (sig: NodeJS.Signals) => {
    try {
      process.kill(-proc.pid!, sig);
    } catch {
      // The group is gone already.
    }
  };
  // Last resort if this process ends without stopping it: the whole group goes.
  const killOnExit = () => group('SIGKILL');
  process.once('exit', killOnExit);
  const started: Started = {
    proc,
    t0,
    out: () => out,
    err: () => err,
    steps,
    exited,
    alive,
    async interrupt(timeoutMs) {
      const s = nowMs();
      group('SIGINT');
      const timer = setTimeout(() => group('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
      return (nowMs() - s) / 1000;
    },
  };
  cleanups.push(async () => {
    if (alive()) await started.interrupt(60_000);
    process.removeListener('exit', killOnExit);
  });
  return started;
}

/**
 * containerd-shim processes still serving the node's containerd under `dataDir`: what a
 * Ctrl-C left running (containers outlive their containerd by design; `up` removes its
 * pods when it stops containerd itself).
 */
function leftoverShims(dataDir: string): number[] {
  const socket = containerdSocket(join(dataDir, 'containerd'));
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (/containerd-shim/.test(cmd[0] ?? '') && cmd.includes(socket)) pids.push(Number(e));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/**
 * Removes pods a stopped cluster left behind, the way `up` itself would: the node's
 * containerd started again on its own dir and stopped (every sandbox removed, mounts
 * released, bridge deleted), so the data dir can be deleted.
 */
async function tidyLeftoverPods(dataDir: string, podCIDR: string): Promise<void> {
  const left = leftoverShims(dataDir);
  if (left.length === 0) return;
  progress(`quickstart: removing the ${left.length} pod(s) the cluster left running`);
  const ctd = await startContainerd({ dir: join(dataDir, 'containerd'), podCIDR, logger: silentLogger() });
  await ctd.stop();
}

async function waitFor<T>(what: string, s: Started, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!s.alive()) throw new Error(`npm start exited while waiting for ${what}:\n${s.out().slice(-3000)}\n${s.err().slice(-3000)}`);
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s:\n${s.out().slice(-3000)}\n${s.err().slice(-3000)}`);
    await sleep(50);
  }
}

/** Ready=True with a heartbeat no older than `since` (ms since the epoch, whole seconds). */
function readyHeartbeat(n: Node | undefined, since: number): string | undefined {
  const c = n?.status?.conditions?.find((x) => x.type === 'Ready');
  if (c?.status !== 'True' || !c.lastHeartbeatTime) return undefined;
  return Date.parse(String(c.lastHeartbeatTime)) >= since ? String(c.lastHeartbeatTime) : undefined;
}

interface ClusterTimes {
  runtime: string;
  up: number;
  ready: number;
  pod: number;
  podAfterRun: number;
  stop: number;
  resumeUp: number;
  resumeReady: number;
  resumeStop: number;
  /** containerd shims still running after each Ctrl-C. */
  leftAfterStop: number;
  leftAfterResumeStop: number;
  firstSteps: Array<{ line: string; at: number }>;
  resumeSteps: Array<{ line: string; at: number }>;
}

interface AnchorTimes {
  what: 'containerd' | 'etcd';
  start: number;
  /** start + one pod straight through the CRI (NaN for etcd). */
  pod: number;
  stop: number;
  restart: number;
}

/** One cluster life: start, first pod, Ctrl-C, resume, Ctrl-C. */
async function clusterRound(clone: string, upArgs: string[], podCIDR: string, cleanups: Cleanups): Promise<ClusterTimes> {
  const dataDir = join(clone, 'flotilla-data');
  // Runs after npm start has stopped (cleanups run last-registered first).
  cleanups.push(() => tidyLeftoverPods(dataDir, podCIDR));
  const kubeconfigOf = (s: Started) => /export KUBECONFIG=(\S+)/.exec(s.out())?.[1];
  const withClient = async <T>(path: string, fn: (c: RestClient) => Promise<T>): Promise<T> => {
    const c = await restClientFromKubeconfig(path, 'quickstart-bench');
    try {
      return await fn(c);
    } finally {
      await c.close();
    }
  };
  const anyReady = async (c: RestClient, since: number) => {
    const list = await c.resource<Node>(Resources.nodes).list();
    for (const n of list.items) {
      const hb = readyHeartbeat(n, since);
      if (hb) return hb;
    }
    return undefined;
  };

  progress(`quickstart: npm start -- ${upArgs.join(' ')}`);
  const first = npmStart(clone, upArgs, cleanups);
  const wallStart = Math.floor(Date.now() / 1000) * 1000;
  const kubeconfig = await waitFor('"Cluster is up"', first, 300_000, async () => (first.out().includes('Cluster is up') ? kubeconfigOf(first) : undefined));
  const up = (nowMs() - first.t0) / 1000;
  const runtime = /✓ kubelet .*?, (containerd \(CRI\)|simulated runtime[^:]*)/.exec(first.out())?.[1] ?? 'unknown';
  progress(`quickstart: "Cluster is up" after ${fmt(up, 2)} s (${runtime}); waiting for the node Ready`);
  let lastHeartbeat = '';
  let ready = NaN;
  let pod = NaN;
  let podAfterRun = NaN;
  await withClient(kubeconfig, async (c) => {
    lastHeartbeat = await waitFor('node Ready', first, 120_000, () => anyReady(c, wallStart));
    ready = (nowMs() - first.t0) / 1000;
    progress(`quickstart: node Ready after ${fmt(ready, 2)} s; kubectl run first --image=nginx`);
    const r0 = nowMs();
    mustSucceed('kubectl run first --image=nginx', await timed('kubectl', ['run', 'first', '--image=nginx'], { cwd: clone, env: freshEnv({ KUBECONFIG: kubeconfig }), timeoutMs: 60_000 }));
    await waitFor('pod first Running', first, 120_000, async () => ((await c.resource<Pod>(Resources.pods, 'default').get('first')).status?.phase === 'Running' ? true : undefined));
    pod = (nowMs() - first.t0) / 1000;
    podAfterRun = (nowMs() - r0) / 1000;
    lastHeartbeat = (await anyReady(c, 0)) ?? lastHeartbeat;
  });
  progress(`quickstart: pod Running after ${fmt(pod, 2)} s; Ctrl-C`);
  const stop = await first.interrupt(120_000);
  const leftAfterStop = leftoverShims(dataDir).length;
  if (!first.out().includes('flotilla up: stopped')) progress(`quickstart: warning: no "flotilla up: stopped" line after Ctrl-C:\n${first.out().slice(-1500)}\n${first.err().slice(-1500)}`);

  progress(`quickstart: stopped in ${fmt(stop, 2)} s; npm start again (resume)`);
  const second = npmStart(clone, upArgs, cleanups);
  const resumeWall = Math.floor(Date.now() / 1000) * 1000;
  await waitFor('"Cluster is up" (resume)', second, 300_000, async () => (second.out().includes('Cluster is up') ? true : undefined));
  const resumeUp = (nowMs() - second.t0) / 1000;
  let resumeReady = NaN;
  await withClient(kubeconfig, async (c) => {
    // The first run's Ready stays in the store; only a heartbeat of this run counts.
    await waitFor('node Ready (resume)', second, 120_000, async () => {
      const hb = await anyReady(c, resumeWall);
      return hb !== undefined && hb !== lastHeartbeat ? hb : undefined;
    });
    resumeReady = (nowMs() - second.t0) / 1000;
  });
  progress(`quickstart: resumed, node Ready after ${fmt(resumeReady, 2)} s; Ctrl-C`);
  const resumeStop = await second.interrupt(120_000);
  const leftAfterResumeStop = leftoverShims(dataDir).length;
  if (!second.out().includes('flotilla up: stopped')) progress(`quickstart: warning: no "flotilla up: stopped" line after the second Ctrl-C:\n${second.out().slice(-1500)}\n${second.err().slice(-1500)}`);
  return { runtime, up, ready, pod, podAfterRun, stop, resumeUp, resumeReady, resumeStop, leftAfterStop, leftAfterResumeStop, firstSteps: first.steps, resumeSteps: second.steps };
}

/** The floor of a real node: containerd alone, one pod through its CRI, stop, restart. */
async function containerdAnchor(work: string, mirrorURL: string | undefined, images: { pause: string; nginx: string }): Promise<AnchorTimes> {
  const dir = join(work, 'containerd-anchor');
  const podCIDR = uniquePodCIDR();
  const t0 = nowMs();
  let ctd = await startContainerd({ dir, podCIDR, logger: silentLogger() });
  const start = (nowMs() - t0) / 1000;
  let pod = NaN;
  let stop = NaN;
  try {
    // The sandbox image is present (up builds or pulls its own; not part of this floor).
    await importImages(ctd.socket, [images.pause]);
    const cri = new CriRuntime({ endpoint: ctd.socket });
    try {
      const p0 = nowMs();
      let image = 'docker.io/library/nginx:latest';
      if (mirrorURL) {
        await writeRegistryHosts(join(dir, 'certs.d'), { 'docker.io': [mirrorURL] });
        image = await cri.pullImage(image);
      } else {
        await importImages(ctd.socket, [images.nginx]);
        image = (await cri.imageStatus(image))!.id;
      }
      const uid = 'quickstart-anchor';
      const sbConfig = { name: 'first', namespace: 'default', uid, attempt: 0, labels: { [LabelPodUID]: uid } };
      const sb = await cri.runPodSandbox(sbConfig);
      const id = await cri.createContainer(sb, { name: 'first', attempt: 0, image, userImage: 'nginx', command: [], args: [], env: [], labels: { [LabelPodUID]: uid } }, sbConfig);
      await cri.startContainer(id);
      pod = start + (nowMs() - p0) / 1000;
    } finally {
      cri.close();
    }
    const s0 = nowMs();
    await ctd.stop();
    stop = (nowMs() - s0) / 1000;
  } catch (err) {
    await ctd.stop();
    throw err;
  }
  const r0 = nowMs();
  ctd = await startContainerd({ dir, podCIDR, logger: silentLogger() });
  const restart = (nowMs() - r0) / 1000;
  await ctd.stop();
  return { what: 'containerd', start, pod, stop, restart };
}

/** Without containers: a real etcd from spawn to healthy, its stop, its restart on the same data. */
async function etcdAnchor(work: string): Promise<AnchorTimes | undefined> {
  if (!existsSync(process.env.ETCD_BIN ?? '/usr/bin/etcd')) return undefined;
  const dataDir = join(work, 'etcd-anchor');
  mkdirSync(dataDir);
  const t0 = nowMs();
  const etcd = await startEtcd({ dataDir });
  const start = (nowMs() - t0) / 1000;
  const s0 = nowMs();
  await etcd.stop();
  const stop = (nowMs() - s0) / 1000;
  const r0 = nowMs();
  let restart = NaN;
  try {
    const again = await startEtcd({ dataDir });
    restart = (nowMs() - r0) / 1000;
    await again.stop();
  } catch (err) {
    progress(`quickstart: etcd restart anchor failed: ${(err as Error).message.split('\n')[0]}`);
  }
  return { what: 'etcd', start, pod: NaN, stop, restart };
}

interface Round {
  ci: number;
  install: number;
  cluster: ClusterTimes;
  anchor: AnchorTimes | undefined;
  tests?: Finished;
}

async function round(i: number, opts: { real: boolean; keep: boolean; withTests: boolean; last: boolean }): Promise<Round> {
  const cleanups: Cleanups = [];
  try {
    // 1. The install and its anchor, each on its own fresh clone with its own empty cache.
    const ciClone = gitClone(cleanups, opts.keep, 'flotilla-quickstart-ci-');
    const ciCache = tempDir(cleanups, opts.keep, 'flotilla-quickstart-npm-cache-');
    progress(`quickstart: round ${i}: anchor — npm ci --ignore-scripts, empty cache`);
    const ci = mustSucceed('npm ci --ignore-scripts', await timed('npm', ['ci', '--ignore-scripts', '--cache', ciCache], { cwd: ciClone, timeoutMs: 20 * 60_000 }));
    progress(`quickstart: round ${i}: npm ci --ignore-scripts ${fmt(ci.seconds, 1)} s`);
    // This clone's node_modules are not needed again: free the disk before the next.
    await runCleanups(cleanups);

    const clone = gitClone(cleanups, opts.keep, 'flotilla-quickstart-');
    const cache = tempDir(cleanups, opts.keep, 'flotilla-quickstart-npm-cache-');
    progress(`quickstart: round ${i}: npm install (with the prepare build), empty cache`);
    const install = mustSucceed('npm install', await timed('npm', ['install', '--cache', cache], { cwd: clone, timeoutMs: 30 * 60_000 }));
    if (!existsSync(join(clone, 'dist', 'src', 'cmd', 'flotilla.js'))) throw new Error(`npm install left no dist/src/cmd/flotilla.js:\n${(install.out + install.err).slice(-3000)}`);
    progress(`quickstart: round ${i}: npm install ${fmt(install.seconds, 1)} s`);

    // 2. The cluster, and its anchor, under the host network lock when on real containers;
    // lock, registry and cluster go before the suite (whose cri files take the same lock).
    const work = tempDir(cleanups, opts.keep, 'flotilla-quickstart-work-');
    const clusterCleanups: Cleanups = [];
    cleanups.push(() => runCleanups(clusterCleanups));
    const [etcdPort, apiPort] = await freePorts(2);
    const podCIDR = uniquePodCIDR();
    const upArgs = ['--etcd-port', String(etcdPort), '--secure-port', String(apiPort), '--pod-cidr', podCIDR, '--node-ip', '127.0.0.1', '--kubelet-port', '0'];
    let anchor: AnchorTimes | undefined;
    if (opts.real) {
      progress(`quickstart: round ${i}: taking the host network lock (/tmp/flotilla-test-locks/host-network)`);
      await hostNetworkLock({ after: (fn) => clusterCleanups.push(fn) });
      const images = { pause: join(work, 'pause.tar'), nginx: join(work, 'nginx.tar') };
      await buildBusyboxImage({ ...testImageSpecs.pause, outFile: images.pause });
      await buildBusyboxImage({ ...testImageSpecs.nginx, outFile: images.nginx });
      let mirrorURL: string | undefined;
      if (haveRegistry) {
        const reg = await startRegistry({ after: (fn) => clusterCleanups.push(fn) });
        await reg.push(testImageSpecs.nginx);
        mirrorURL = reg.url;
        upArgs.push('--registry-mirror', `docker.io=${reg.url}`);
      } else {
        mkdirSync(join(clone, 'flotilla-data', 'images'), { recursive: true });
        await buildBusyboxImage({ ...testImageSpecs.nginx, outFile: join(clone, 'flotilla-data', 'images', 'nginx.tar') });
      }
      progress(`quickstart: round ${i}: anchor — bare containerd start, one pod through the CRI, stop, restart`);
      anchor = await containerdAnchor(work, mirrorURL, images);
    } else {
      upArgs.push('--runtime', 'simulated');
      progress(`quickstart: round ${i}: anchor — a real etcd start, stop, restart`);
      anchor = await etcdAnchor(work);
    }
    let cluster: ClusterTimes;
    try {
      cluster = await clusterRound(clone, upArgs, podCIDR, clusterCleanups);
    } finally {
      await runCleanups(clusterCleanups);
    }

    // 3. The suite, once, in the last round's clone.
    let tests: Finished | undefined;
    if (opts.withTests && opts.last) {
      progress(`quickstart: round ${i}: npm run test:ci (13+ minutes); its output follows on stderr`);
      tests = await timed('npm', ['run', 'test:ci'], { cwd: clone, timeoutMs: 120 * 60_000, echo: true });
    }
    return { ci: ci.seconds, install: install.seconds, cluster, anchor, tests };
  } finally {
    await runCleanups(cleanups);
  }
}

/** Whether npm's registry answers (the round downloads every package from it). */
async function registryReachable(): Promise<string | undefined> {
  const r = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8', env: freshEnv() });
  const url = r.stdout.trim() || 'https://registry.npmjs.org/';
  const ok = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) }).then((res) => res.status < 500, () => false);
  return ok ? undefined : url;
}

export async function run(args: string[]): Promise<void> {
  const unreachable = await registryReachable();
  if (unreachable) {
    console.log(`\n## quickstart: skipped (the npm registry ${unreachable} does not answer; npm install needs it)\n`);
    return;
  }
  const quick = args.includes('--quick');
  const rounds = Number(flag(args, 'rounds') ?? (quick ? 1 : 3));
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`invalid --rounds ${JSON.stringify(flag(args, 'rounds'))}: want a whole number ≥ 1`);
  const withTests = args.includes('--with-tests');
  const keep = args.includes('--keep');
  const real = !args.includes('--simulated') && canRunContainers();
  const head = spawnSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).stdout.trim();
  if (dirty) progress(`quickstart: note: uncommitted changes in ${repoRoot} are not measured (clones of HEAD ${head})`);

  const results: Round[] = [];
  for (let i = 1; i <= rounds; i++) results.push(await round(i, { real, keep, withTests, last: i === rounds }));

  const m = (f: (r: Round) => number) => median(results.map(f));
  const a = (f: (x: AnchorTimes) => number) => median(results.map((r) => (r.anchor ? f(r.anchor) : NaN)));
  const anchorKind = results[0]!.anchor?.what;
  const row = (step: string, s: number, anchorS: number, note: string) => [step, fmt(s, 2), fmt(anchorS, 2), Number.isFinite(anchorS) && anchorS > 0 ? `${fmt(s / anchorS, 1)}×` : '-', note];
  const ctd = anchorKind === 'containerd';
  const floor = ctd ? 'containerd start → CRI answers' : anchorKind === 'etcd' ? 'real etcd start → healthy' : 'no anchor (etcd not installed)';
  const rows = [
    row('npm install (empty cache, + prepare build)', m((r) => r.install), m((r) => r.ci), 'npm ci --ignore-scripts, empty cache (download + extract)'),
    row('npm start → "Cluster is up"', m((r) => r.cluster.up), a((x) => x.start), floor),
    row('npm start → node Ready', m((r) => r.cluster.ready), a((x) => x.start), floor),
    row('npm start → first pod Running', m((r) => r.cluster.pod), ctd ? a((x) => x.pod) : NaN, ctd ? 'containerd start + pull + sandbox + container via CRI' : ''),
    row('  kubectl run → Running', m((r) => r.cluster.podAfterRun), ctd ? a((x) => x.pod - x.start) : NaN, ctd ? 'pull + sandbox + container via CRI' : ''),
    row('Ctrl-C → npm exited', m((r) => r.cluster.stop), a((x) => x.stop), ctd ? 'containerd stop, its pod removed' : 'etcd stop'),
    row('npm start again → "Cluster is up"', m((r) => r.cluster.resumeUp), a((x) => x.restart), ctd ? 'containerd restart, same dir' : 'etcd restart, same data'),
    row('npm start again → node Ready', m((r) => r.cluster.resumeReady), a((x) => x.restart), ctd ? 'containerd restart, same dir' : 'etcd restart, same data'),
    row('Ctrl-C again → npm exited', m((r) => r.cluster.resumeStop), a((x) => x.stop), ctd ? 'containerd stop' : 'etcd stop'),
  ];
  const tests = results.at(-1)!.tests;
  if (tests) rows.push(row(`npm run test:ci (exit ${tests.code ?? tests.signal})`, tests.seconds, NaN, 'no anchor'));

  const runtimes = [...new Set(results.map((r) => r.cluster.runtime))].join(', ');
  console.log(`\n## quickstart: the README's two commands on fresh clones of ${head} (${rounds === 1 ? 'one round' : `median of ${rounds} rounds`}; node on ${runtimes})\n`);
  printTable(['step', 'seconds', 'anchor s', 'ratio', 'anchor'], rows);
  const last = results.at(-1)!.cluster;
  const steps = (xs: Array<{ line: string; at: number }>) =>
    xs.map((x) => `  ${fmt(x.at, 2).padStart(6)} s  ${x.line.length > 110 ? x.line.slice(0, 107) + '...' : x.line}`).join('\n');
  console.log(`\nFirst npm start, each line of flotilla up's output by seconds since spawn (last round):\n${steps(last.firstSteps)}`);
  console.log(`\nSecond npm start (resume):\n${steps(last.resumeSteps)}`);
  const left = results.map((r) => `${r.cluster.leftAfterStop} / ${r.cluster.leftAfterResumeStop}`).join(', ');
  if (results.some((r) => r.cluster.leftAfterStop + r.cluster.leftAfterResumeStop > 0)) {
    console.log(`\nContainer shims still running after Ctrl-C (first / second stop, per round): ${left} — a Ctrl-C must leave none (a defect of up's stop); the bench removed them.`);
  }
  if (!tests) console.log('\nnpm run test:ci not timed (13+ minutes): npm run bench -- quickstart --with-tests');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run(process.argv.slice(2));
  process.exit(0);
}
