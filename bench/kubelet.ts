/**
 * `npm run bench -- kubelet`: what heartbeats of many simulated nodes cost one process.
 *
 * A real API server runs in this process (temp data dir, embedded store, HTTPS + HTTP/2);
 * `startSimulatedNodes` registers N nodes through the REST client (one HTTP/2 session),
 * each renewing its Lease every 10 s and checking its Node status every 10 s (written
 * only on change or every 5 min), all on one timer wheel. Measured:
 *  - registration: nodes/s from start until every Node and Lease exists;
 *  - steady state over a window after the first renewals: Lease renewals/s (should be
 *    N/10), CPU used by the process (process.cpuUsage ÷ window, in cores), CPU per node,
 *    and memory (RSS and heap growth per node).
 *
 * Because the API server shares the process, its cost of serving the renewals is in the
 * CPU figure. The anchor, measured in the same run against the same server: the same
 * number of Lease PUTs per second sent by a bare loop (prepared objects, no kubelet),
 * so kubelet overhead = heartbeat CPU ÷ bare-PUT CPU. kwok publishes no per-node CPU or
 * memory figures; its README claims "can reliably maintain 1k nodes and 100k pods" and
 * "can create 20 nodes or pods per second", printed next to ours for reference.
 *
 * Flags: --quick (500 nodes, 20 s window), --nodes N, --window SECONDS.
 */
import { restClientFromKubeconfig } from '../src/client/rest.js';
import { Resources, type Client } from '../src/client/interface.js';
import type { Lease } from '../src/client/objects.js';
import { formatRFC3339Micro } from '../src/apimachinery/meta.js';
import { startSimulatedNodes } from '../src/kubelet/index.js';
import { realClock } from '../src/util/clock.js';
import { newRegistry } from '../src/util/health.js';
import { silentLogger } from '../src/util/log.js';
import { startTestApiServer } from '../test/util/kubectl.js';
import { fmt, nowMs, printTable, progress } from './util.js';

interface Window {
  seconds: number;
  cpuSeconds: number;
  writes: number;
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

async function measure(seconds: number, writes: () => number): Promise<Window> {
  const w0 = writes();
  const c0 = process.cpuUsage();
  const t0 = nowMs();
  await sleep(seconds * 1000);
  const c = process.cpuUsage(c0);
  const elapsed = (nowMs() - t0) / 1000;
  return { seconds: elapsed, cpuSeconds: (c.user + c.system) / 1e6, writes: writes() - w0 };
}

/** The anchor: `rate` Lease PUTs per second for `seconds`, paced every 100 ms, no kubelet logic. */
async function bareLeasePuts(client: Client, names: string[], rate: number, seconds: number): Promise<Window> {
  const leases = client.resource<Lease>(Resources.leases, 'kube-node-lease');
  const current = new Map<string, Lease>();
  for (const n of names) current.set(n, await leases.get(n));
  let sent = 0;
  let next = 0;
  const perTick = rate / 10;
  let carry = 0;
  const inflight = new Set<Promise<void>>();
  const tick = () => {
    carry += perTick;
    while (carry >= 1) {
      carry -= 1;
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
  const w = await measure(seconds, () => sent);
  clearInterval(timer);
  await Promise.all(inflight);
  return w;
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const count = Number(flag(args, 'nodes') ?? (quick ? 500 : 5000));
  const windowS = Number(flag(args, 'window') ?? (quick ? 20 : 60));
  const cleanups: Array<() => unknown> = [];
  try {
    progress(`kubelet: starting an in-process API server`);
    const api = await startTestApiServer({ after: (fn) => cleanups.push(fn) });
    const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kubelet-bench');
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
    const hb = await measure(windowS, () => leaseCount);
    gc();
    const mem = process.memoryUsage();
    clearInterval(poll);
    await sim.stop();

    progress(`kubelet: anchor — the same Lease PUT rate from a bare loop for ${windowS} s`);
    const rate = count / 10;
    const bare = await bareLeasePuts(client, sim.names, rate, windowS);

    const cores = (w: Window) => w.cpuSeconds / w.seconds;
    const rssMiB = (mem.rss - rss0) / 1024 / 1024;
    const heapMiB = (mem.heapUsed - heap0) / 1024 / 1024;
    console.log(`\n## kubelet: ${count} simulated nodes in one process (in-process API server, embedded store)\n`);
    printTable(
      ['measure', 'value', 'note'],
      [
        ['registration', `${fmt(count / registerS, 0)} nodes/s`, `${fmt(registerS, 1)} s for ${count} Nodes + Leases; kwok README: 20 nodes/s`],
        ['lease renewals', `${fmt(hb.writes / hb.seconds, 0)}/s`, `expected N/10 = ${fmt(rate, 0)}/s (upstream: one PUT per node per 10 s)`],
        ['CPU, heartbeats', `${fmt(cores(hb), 3)} cores`, `kubelet + API server serving it; ${fmt((hb.cpuSeconds / hb.seconds / count) * 1e6, 1)} µs CPU per node per second`],
        ['CPU, bare PUTs (anchor)', `${fmt(cores(bare), 3)} cores`, `${fmt(bare.writes / bare.seconds, 0)} Lease PUTs/s, no kubelet logic`],
        ['kubelet overhead', `${fmt(cores(hb) / cores(bare), 2)}×`, 'heartbeat CPU ÷ bare-PUT CPU (1.00× = the kubelet costs nothing beyond its requests)'],
        ['memory (RSS growth)', `${fmt(rssMiB, 0)} MiB`, `${fmt((rssMiB * 1024) / count, 1)} KiB per node (includes the API server's share)`],
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
