/**
 * `npm run bench -- scheduler`: the scheduler benchmark, shaped like upstream
 * scheduler_perf's SchedulingBasic: 5,000 nodes (4 CPU, 32 GiB, 110 pods each), 1,000 pods
 * already placed, then 10,000 pods to schedule (50,000 with --large), each requesting
 * 100m CPU and 500 MiB as upstream's pod-default.yaml.
 *
 * Measured against three targets, the measured pods pending before the scheduler starts:
 *  - in-process: a real API server (embedded store, temp data dir) started in the bench
 *    process, the scheduler on the in-process transport (src/client/local.ts →
 *    ApiServer.handleLocal), as `flotilla up` runs it; events written too;
 *  - the scheduler alone over the FakeClient (no API server, no serialisation): the
 *    scheduler's own ceiling, not a cluster figure;
 *  - HTTPS + HTTP/2 against `flotilla apiserver` in its own process on the embedded store
 *    (events written too).
 * Reported per target:
 *  - throughput: pods scheduled per second, first scheduling attempt → last binding
 *    confirmed;
 *  - scheduling cycle p50/p99 (filter + score + assume, synchronous);
 *  - per-pod latency p50/p99: scheduling attempt → binding confirmed (the asynchronous
 *    binding round trip included).
 * Anchor: upstream's CI thresholds for SchedulingBasic (5000 nodes): 680 pods/s for the
 * 10k workload, 810 pods/s for 50k; our goal is ≥ 1,000 pods/s on this 2-core machine.
 *
 * Flags: --quick (500 nodes, 100 placed, 2,000 to schedule), --large (50,000 pods),
 * --fake-only (only the FakeClient target), --no-http (skip the HTTP target).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { newEventRecorder } from '../src/client/events.js';
import { FakeClient } from '../src/client/fake.js';
import { restClientFromKubeconfig } from '../src/client/rest.js';
import { newInformerFactory } from '../src/client/informer.js';
import { newLocalClient } from '../src/client/local.js';
import { startApiServer } from '../src/apiserver/index.js';
import { Resources, type Client, type EventRecorder, type InformerFactory } from '../src/client/interface.js';
import type { KObject } from '../src/apimachinery/meta.js';
import type { Node, Pod } from '../src/client/objects.js';
import { newScheduler } from '../src/scheduler/scheduler.js';
import { newNode, newPod } from '../src/scheduler/testing.js';
import { realClock } from '../src/util/clock.js';
import { silentLogger } from '../src/util/log.js';
import { spawnFlotilla } from '../test/util/flotilla.js';
import { freePort } from '../test/util/net.js';
import { Latencies, fmt, nowMs, printTable, progress, rssMiB } from './util.js';

interface Workload {
  name: string;
  nodes: number;
  initPods: number;
  measuredPods: number;
  /** Upstream's CI threshold for this workload, pods/s (undefined for smoke runs). */
  anchor?: number;
}

const WORKLOADS: Record<string, Workload> = {
  quick: { name: '500 nodes / 2k pods (smoke)', nodes: 500, initPods: 100, measuredPods: 2_000 },
  '10k': { name: '5000 nodes / 10k pods', nodes: 5_000, initPods: 1_000, measuredPods: 10_000, anchor: 680 },
  '50k': { name: '5000 nodes / 50k pods', nodes: 5_000, initPods: 1_000, measuredPods: 50_000, anchor: 810 },
};

const GOAL = 1_000;
const requests = { cpu: '100m', memory: '500Mi' };

interface Measurement {
  /** CPU seconds used meanwhile by this process and by the API server process (HTTP only). */
  cpu?: { self: number; apiserver?: number };
  target: string;
  workload: Workload;
  seconds: number;
  scheduled: number;
  cycle: Latencies;
  e2e: Latencies;
  rss: number;
}

const quietRecorder = (): EventRecorder => ({ event: () => undefined });

/**
 * Runs one workload: the measured pods already exist (pending) when the scheduler starts,
 * so the figure is the scheduler's throughput, not the rate at which pods can be created.
 * Throughput counts from the first scheduling attempt to the last binding confirmed;
 * latency is per pod from its scheduling attempt to its binding confirmed (the binding
 * round trip included); cycle is the synchronous scheduling cycle alone.
 */
async function measure(target: string, w: Workload, client: Client, informers: InformerFactory, recorder?: (c: string) => EventRecorder): Promise<Measurement> {
  const sched = newScheduler({ client, informers, clock: realClock, logger: silentLogger(), recorder: recorder ?? quietRecorder });
  const attempted = new Map<string, number>();
  const e2e = new Latencies();
  const cycle = new Latencies();
  let scheduled = 0;
  let first = 0;
  let lastBound = 0;
  let allDone: () => void = () => undefined;
  const done = new Promise<void>((r) => { allDone = r; });
  sched.onResult = (r) => {
    if (r.result !== 'scheduled') return;
    const t0 = attempted.get(r.pod);
    if (t0 === undefined) return;
    lastBound = nowMs();
    e2e.record(lastBound - t0);
    if (++scheduled === w.measuredPods) allDone();
  };
  const origScheduleOne = sched.scheduleOne.bind(sched);
  sched.scheduleOne = async (q) => {
    const t0 = nowMs();
    if (first === 0) first = t0;
    const m = q.pod.metadata ?? {};
    attempted.set(`${m.namespace}/${m.name}`, t0);
    const p = origScheduleOne(q);
    cycle.record(nowMs() - t0);
    return p;
  };
  const ac = new AbortController();
  progress(`${target}: starting the scheduler with ${w.measuredPods} pending pods`);
  const running = sched.run(ac.signal);
  await done;
  const seconds = (lastBound - first) / 1000;
  ac.abort();
  await running.catch(() => undefined);
  return { target, workload: w, seconds, scheduled, cycle, e2e, rss: rssMiB() };
}

const pending = (i: number) => newPod(`pod-${i}`, { namespace: 'sched-bench', requests });

async function seedFake(w: Workload): Promise<FakeClient> {
  const client = new FakeClient({ clock: realClock, watchHistory: 1000 });
  const nodes = Array.from({ length: w.nodes }, (_, i) => newNode(`node-${i}`, { allocatable: { cpu: '4', memory: '32Gi', pods: '110' } }));
  client.seed(Resources.nodes, ...(nodes as KObject[]));
  const placed = Array.from({ length: w.initPods }, (_, i) => newPod(`init-${i}`, { namespace: 'sched-bench', requests, nodeName: `node-${i % w.nodes}` }));
  client.seed(Resources.pods, ...(placed as KObject[]));
  client.seed(Resources.pods, ...(Array.from({ length: w.measuredPods }, (_, i) => pending(i)) as KObject[]));
  return client;
}

async function runFake(w: Workload): Promise<Measurement> {
  const client = await seedFake(w);
  const informers = newInformerFactory({ client, clock: realClock, logger: silentLogger() });
  return measure('scheduler alone (FakeClient, no API server)', w, client, informers);
}

/** Creates the workload's nodes, namespace, placed pods and pending pods through `client`. */
async function seedAPI(label: string, client: Client, w: Workload): Promise<void> {
  progress(`${label}: creating ${w.nodes} nodes and ${w.initPods} placed pods`);
  const nodesClient = client.resource<Node>(Resources.nodes);
  await runPool(w.nodes, 32, (i) => nodesClient.create(newNode(`node-${i}`, { allocatable: { cpu: '4', memory: '32Gi', pods: '110' } })));
  await client.resource(Resources.namespaces).create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sched-bench' } });
  const podsClient = client.resource<Pod>(Resources.pods, 'sched-bench');
  await runPool(w.initPods, 32, (i) => podsClient.create(newPod(`init-${i}`, { namespace: 'sched-bench', requests, nodeName: `node-${i % w.nodes}` })));
  progress(`${label}: creating ${w.measuredPods} pending pods`);
  await runPool(w.measuredPods, 32, (i) => podsClient.create(pending(i)));
}

/**
 * The in-process target, as `flotilla up` runs it: a real API server (embedded store) in
 * this process and the scheduler on the in-process transport over ApiServer.handleLocal —
 * the same handler, admission, validation and storage as HTTPS, without a socket. CPU is
 * this one process's (scheduler and API server together).
 */
async function runLocal(w: Workload): Promise<Measurement> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-sched-local-'));
  const api = await startApiServer({ dataDir: dir, storeDir: join(dir, 'store'), port: 0 });
  try {
    const client = newLocalClient({ roundTrip: (r) => api.server.handleLocal(r), userAgent: 'flotilla-bench-scheduler/v0' });
    await seedAPI('in-process', client, w);
    const informers = newInformerFactory({ client, clock: realClock, logger: silentLogger() });
    const recorder = (component: string) => newEventRecorder({ client, component, clock: realClock, logger: silentLogger() });
    const self0 = process.cpuUsage();
    const m = await measure('in-process API server (local transport)', w, client, informers, recorder);
    const self1 = process.cpuUsage(self0);
    m.cpu = { self: (self1.user + self1.system) / 1e6 };
    await client.close();
    return m;
  } finally {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The HTTP target: REST client over HTTPS + HTTP/2 to `flotilla apiserver` running as its
 * own process on the embedded store (scheduler and API server never share an event loop,
 * as with kube-scheduler and kube-apiserver).
 */
async function runHTTP(w: Workload): Promise<Measurement> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-sched-'));
  const port = await freePort();
  const api = spawnFlotilla(['apiserver', '--data-dir', dir, '--secure-port', String(port)], { FLOTILLA_LOG_LEVEL: 'warn' });
  const killOnExit = () => { if (api.proc.exitCode === null && api.proc.signalCode === null) api.proc.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  try {
    const deadline = Date.now() + 60_000;
    while (!api.stdout().includes('kubeconfig: ')) {
      if (api.proc.exitCode !== null || Date.now() > deadline) throw new Error(`flotilla apiserver did not start:\n${api.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const client = await restClientFromKubeconfig(join(dir, 'admin.conf'), 'flotilla-bench-scheduler');
    await seedAPI('http', client, w);
    const informers = newInformerFactory({ client, clock: realClock, logger: silentLogger() });
    // Events are written for real here, as kube-scheduler does (one Scheduled per pod).
    const recorder = (component: string) => newEventRecorder({ client, component, clock: realClock, logger: silentLogger() });
    const self0 = process.cpuUsage();
    const api0 = procCPUSeconds(api.proc.pid);
    const m = await measure('HTTP/2 to flotilla apiserver', w, client, informers, recorder);
    const self1 = process.cpuUsage(self0);
    m.cpu = { self: (self1.user + self1.system) / 1e6, apiserver: procCPUSeconds(api.proc.pid) - api0 };
    await client.close();
    return m;
  } finally {
    await api.kill('SIGTERM');
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** utime + stime of a process from /proc (Linux), in seconds; NaN elsewhere. */
function procCPUSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

async function runPool(total: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, async () => {
    while (next < total) await op(next++);
  }));
}

function report(ms: Measurement[], skipped: string[]): void {
  console.log('\nScheduler benchmark (SchedulingBasic shape: 4 CPU / 32 GiB / 110-pod nodes, pods request 100m / 500 MiB)');
  const rows = ms.map((m) => {
    const rate = m.scheduled / m.seconds;
    const anchor = m.workload.anchor;
    return [
      m.target,
      m.workload.name,
      fmt(rate),
      anchor ? `${anchor} (${fmt(rate / anchor, 2)}x)` : '-',
      `${GOAL} (${rate >= GOAL ? 'met' : 'not met'})`,
      fmt(m.cycle.percentile(50), 3),
      fmt(m.cycle.percentile(99), 3),
      fmt(m.e2e.percentile(50), 1),
      fmt(m.e2e.percentile(99), 1),
      fmt(m.rss),
    ];
  });
  printTable(
    ['target', 'workload', 'pods/s', 'upstream CI threshold', 'goal', 'cycle p50 ms', 'cycle p99 ms', 'attempt→bound p50 ms', 'p99 ms', 'RSS MiB'],
    rows,
  );
  for (const m of ms) {
    if (!m.cpu) continue;
    const perPod = (s: number) => `${fmt((s * 1e6) / m.scheduled, 0)} µs/pod`;
    if (m.cpu.apiserver === undefined) {
      console.log(`${m.target}: CPU while scheduling — one process (scheduler + API server) ${fmt(m.cpu.self, 1)} s = ${perPod(m.cpu.self)} (of ${fmt(m.seconds, 1)} s wall)`);
    } else {
      const total = m.cpu.self + m.cpu.apiserver;
      console.log(`${m.target}: CPU while scheduling — scheduler process ${fmt(m.cpu.self, 1)} s, API server process ${fmt(m.cpu.apiserver, 1)} s, together ${perPod(total)} (of ${fmt(m.seconds, 1)} s wall)`);
    }
  }
  for (const s of skipped) console.log(s);
  console.log(`load average before/after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

export async function run(flags: string[]): Promise<void> {
  const w = flags.includes('--quick') ? WORKLOADS.quick! : flags.includes('--large') ? WORKLOADS['50k']! : WORKLOADS['10k']!;
  const results: Measurement[] = [];
  const skipped: string[] = [];
  const fakeOnly = flags.includes('--fake-only');
  if (!fakeOnly) {
    try {
      results.push(await runLocal(w));
    } catch (e) {
      skipped.push(`in-process target failed: ${(e as Error).stack ?? (e as Error).message}`);
    }
  }
  results.push(await runFake(w));
  if (!fakeOnly && !flags.includes('--no-http')) {
    try {
      results.push(await runHTTP(w));
    } catch (e) {
      skipped.push(`HTTP target failed: ${(e as Error).message}`);
    }
  }
  report(results, skipped);
}

// Direct execution: `npx tsx bench/scheduler.ts --quick`.
if (import.meta.url === `file://${process.argv[1]}`) {
  await run(process.argv.slice(2));
  process.exit(0);
}
