/**
 * `npm run bench -- kubelet`: what heartbeats of many simulated nodes cost one process.
 *
 * A real API server (`flotilla apiserver` on a temp data dir, embedded store, HTTPS +
 * HTTP/2) runs as its own process, so this process holds only the kubelets: one
 * `startSimulatedNodes` registering N nodes through the REST client (one HTTP/2 session),
 * each renewing its Lease every 10 s and checking its Node status every 10 s (written only
 * on change or every 5 min), all on one timer wheel. Measured:
 *  - registration: nodes/s until every Node and Lease exists;
 *  - steady state over a window after the first renewals: Lease renewals/s (should be
 *    N/10, upstream's one PUT per node per 10 s), CPU of this process
 *    (process.cpuUsage ÷ window, in cores) and per node, the API server's CPU (from /proc),
 *    and memory (RSS and heap growth per node).
 *
 * Anchor, measured in the same run against the same server: the same Lease PUT rate sent
 * by a bare loop (prepared objects, no kubelet), so kubelet overhead = heartbeat CPU ÷
 * bare-PUT CPU of this process. kwok publishes no per-node CPU or memory figures; its
 * README claims "can reliably maintain 1k nodes and 100k pods" and "can create 20 nodes or
 * pods per second", printed next to ours.
 *
 * The real-runtime part (bench/kubelet-cri.ts) runs first; --cri-only / --simulated-only
 * pick one.
 *
 * Flags: --quick (500 nodes, 20 s window), --nodes N, --window SECONDS, --in-process (API
 * server in this process: the CPU figures then include serving the requests; a single
 * event loop tops out at a few hundred PUTs/s, so keep N small).
 */
import { restClientFromKubeconfig } from '../src/client/rest.js';
import { Resources, type Client } from '../src/client/interface.js';
import type { Lease } from '../src/client/objects.js';
import { formatRFC3339Micro } from '../src/apimachinery/meta.js';
import { startSimulatedNodes } from '../src/kubelet/index.js';
import { realClock } from '../src/util/clock.js';
import { newRegistry } from '../src/util/health.js';
import { silentLogger } from '../src/util/log.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApiServer } from '../test/util/kubectl.js';
import { spawnFlotilla } from '../test/util/flotilla.js';
import { freePort } from '../test/util/net.js';
import { fmt, nowMs, printTable, progress } from './util.js';
import { runCri } from './kubelet-cri.js';

interface Window {
  seconds: number;
  cpuSeconds: number;
  /** CPU seconds of the API server process (NaN in-process). */
  serverCpuSeconds: number;
  writes: number;
}

/** Seconds of CPU (user + system) a process has used, from /proc; NaN when unreadable. */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return NaN;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** `flotilla apiserver` on a temp dir as a child process; resolves with its kubeconfig. */
async function spawnApiServer(cleanups: Array<() => unknown>): Promise<{ kubeconfig: string; pid: number | undefined }> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-kubelet-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const proc = spawnFlotilla(['apiserver', '--data-dir', dir, '--secure-port', String(port)], { FLOTILLA_LOG_LEVEL: 'warn' });
  const killOnExit = () => { if (proc.proc.exitCode === null && proc.proc.signalCode === null) proc.proc.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  cleanups.push(() => proc.kill('SIGTERM'));
  const deadline = Date.now() + 60_000;
  while (!proc.stdout().includes('kubeconfig: ')) {
    if (proc.proc.exitCode !== null || proc.proc.signalCode !== null) throw new Error(`flotilla apiserver exited during startup:\n${proc.stderr().slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`flotilla apiserver not serving after 60 s:\n${proc.stderr().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { kubeconfig: join(dir, 'admin.conf'), pid: proc.proc.pid };
}

function flag(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = args[i]!;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function measure(seconds: number, writes: () => number, serverPid: number | undefined): Promise<Window> {
  const w0 = writes();
  const s0 = await cpuSeconds(serverPid);
  const c0 = process.cpuUsage();
  const t0 = nowMs();
  await sleep(seconds * 1000);
  const c = process.cpuUsage(c0);
  const elapsed = (nowMs() - t0) / 1000;
  const s1 = await cpuSeconds(serverPid);
  return { seconds: elapsed, cpuSeconds: (c.user + c.system) / 1e6, serverCpuSeconds: s1 - s0, writes: writes() - w0 };
}

/** The anchor: `rate` Lease PUTs per second for `seconds`, paced every 100 ms, no kubelet logic. */
async function bareLeasePuts(client: Client, names: string[], rate: number, seconds: number, serverPid: number | undefined): Promise<Window> {
  const leases = client.resource<Lease>(Resources.leases, 'kube-node-lease');
  const current = new Map<string, Lease>();
  for (const n of names) current.set(n, await leases.get(n));
  let sent = 0;
  let next = 0;
  let issued = 0;
  const started = Date.now();
  const inflight = new Set<Promise<void>>();
  // Paced by the clock, not by counting callbacks: intervals fire late on a busy loop.
  const tick = () => {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    while (issued < due) {
      issued++;
      const name = names[next++ % names.length]!;
      const l = current.get(name)!;
      const p = leases
        .update({ ...l, spec: { ...l.spec, renewTime: formatRFC3339Micro(Date.now()) } })
        .then((out) => {
          current.set(name, out);
          sent++;
        }, () => {})
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
  };
  const timer = setInterval(tick, 100);
  const w = await measure(seconds, () => sent, serverPid);
  clearInterval(timer);
  await Promise.all(inflight);
  return w;
}

export async function run(args: string[]): Promise<void> {
  if (!args.includes('--simulated-only')) await runCri(args);
  if (args.includes('--cri-only')) return;
  const quick = args.includes('--quick');
  const count = Number(flag(args, 'nodes') ?? (quick ? 500 : 5000));
  const windowS = Number(flag(args, 'window') ?? (quick ? 20 : 60));
  const cleanups: Array<() => unknown> = [];
  try {
    const inProcess = args.includes('--in-process');
    progress(`kubelet: starting ${inProcess ? 'an in-process' : 'a separate'} API server`);
    let kubeconfig: string;
    let serverPid: number | undefined;
    if (inProcess) {
      kubeconfig = (await startTestApiServer({ after: (fn) => cleanups.push(fn) })).kubeconfigPath;
    } else {
      ({ kubeconfig, pid: serverPid } = await spawnApiServer(cleanups));
    }
    const client = await restClientFromKubeconfig(kubeconfig, 'kubelet-bench');
    cleanups.push(() => client.close());
    gc();
    const rss0 = process.memoryUsage().rss;
    const heap0 = process.memoryUsage().heapUsed;

    progress(`kubelet: registering ${count} simulated nodes`);
    const registry = newRegistry();
    const t0 = nowMs();
    const sim = await startSimulatedNodes({ client, count, namePrefix: 'bench-node-', clock: realClock, logger: silentLogger(), registry, noEvents: true, concurrency: 64 });
    const registerS = (nowMs() - t0) / 1000;
    const leaseWrites = async () => {
      const m = await registry.getSingleMetric('kubelet_api_writes_total')!.get();
      return m.values.filter((v) => v.labels.kind === 'lease').reduce((a, v) => a + v.value, 0);
    };
    let leaseCount = await leaseWrites();
    const poll = setInterval(() => void leaseWrites().then((n) => { leaseCount = n; }), 250);

    // First renewals are spread over 10–20 s after registration; measure after them.
    progress(`kubelet: registered in ${fmt(registerS, 1)} s; warming up 20 s`);
    await sleep(20_000);
    gc();
    progress(`kubelet: measuring ${windowS} s of heartbeats`);
    const hb = await measure(windowS, () => leaseCount, serverPid);
    gc();
    const mem = process.memoryUsage();
    clearInterval(poll);
    await sim.stop();

    progress(`kubelet: anchor — the same Lease PUT rate from a bare loop for ${windowS} s`);
    const rate = count / 10;
    const bare = await bareLeasePuts(client, sim.names, rate, windowS, serverPid);

    const cores = (w: Window) => w.cpuSeconds / w.seconds;
    const perPut = (w: Window) => w.cpuSeconds / Math.max(1, w.writes);
    const rssMiB = (mem.rss - rss0) / 1024 / 1024;
    const heapMiB = (mem.heapUsed - heap0) / 1024 / 1024;
    const where = inProcess ? 'API server in this process: CPU includes serving the requests' : 'API server in its own process, embedded store';
    const server = (w: Window) => (Number.isNaN(w.serverCpuSeconds) ? '-' : `API server ${fmt(w.serverCpuSeconds / w.seconds, 3)} cores`);
    console.log(`\n## kubelet: ${count} simulated nodes in one process (${where})\n`);
    printTable(
      ['measure', 'value', 'note'],
      [
        ['registration', `${fmt(count / registerS, 0)} nodes/s`, `${fmt(registerS, 1)} s for ${count} Nodes + Leases; kwok README: 20 nodes/s`],
        ['lease renewals', `${fmt(hb.writes / hb.seconds, 0)}/s`, `expected N/10 = ${fmt(rate, 0)}/s (upstream: one PUT per node per 10 s)`],
        ['CPU, heartbeats', `${fmt(cores(hb), 3)} cores`, `${fmt((hb.cpuSeconds / hb.seconds / count) * 1e6, 1)} µs CPU per node per second; ${server(hb)}`],
        ['CPU, bare PUTs (anchor)', `${fmt(cores(bare), 3)} cores`, `${fmt(bare.writes / bare.seconds, 0)} Lease PUTs/s, no kubelet logic; ${server(bare)}`],
        ['kubelet overhead', `${fmt(perPut(hb) / perPut(bare), 2)}×`, `CPU per renewal ${fmt(perPut(hb) * 1e6, 0)} µs ÷ per bare PUT ${fmt(perPut(bare) * 1e6, 0)} µs (1.00× = nothing beyond the request)`],
        ['memory (RSS growth)', `${fmt(rssMiB, 0)} MiB`, `${fmt((rssMiB * 1024) / count, 1)} KiB per node${inProcess ? " (includes the API server's share)" : ''}`],
        ['memory (heap growth)', `${fmt(heapMiB, 0)} MiB`, `${fmt((heapMiB * 1024) / count, 1)} KiB per node`],
      ],
    );
    console.log('\nkwok publishes no per-node CPU/memory figures; its README claims 1k nodes + 100k pods "reliably" and 20 nodes or pods created per second.');
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run(process.argv.slice(2));
  process.exit(0);
}
