/**
 * `npm run bench -- store`: the store benchmark of the foundation issue.
 *
 * Same client code and 1 KiB values against three targets, in one run:
 *  (a) the embedded store in-process (MvccStore, no network);
 *  (b) the embedded store over gRPC (`flotilla etcd` as its own process), via RemoteKV;
 *  (c) a real etcd 3.4 single member started here, via the same RemoteKV.
 * Every target fsyncs before acknowledging. Prints rate and p50/p99 per workload, the
 * ratio b/c, and the resident memory of the embedded store holding 1M keys.
 *
 * Fairness on a shared machine: both servers run for the whole benchmark and each gets the
 * same warm-up (JIT, connections, allocator); every workload then runs in rounds that
 * alternate b, c, b, c, ..., each round on fresh keys, and the round with the median rate
 * is reported per target, so a burst of outside load skews one round, not one target.
 * The load average is printed with the figures.
 *
 * Flags: --quick (smaller counts, for a smoke run), --no-memory (skip the 1M-key figure).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KV } from '../src/storage/mvcc/types.js';
import { MvccStore } from '../src/storage/mvcc/index.js';
import { RemoteKV } from '../src/storage/etcd3/index.js';
import { silentLogger } from '../src/util/log.js';
import { startEtcd } from '../test/util/etcd.js';
import { spawnFlotilla } from '../test/util/flotilla.js';
import { freePort, waitForPort } from '../test/util/net.js';
import { Latencies, fmt, nowMs, printTable, progress, rate, rssMiB, runConcurrent, type Result } from './util.js';

interface Counts {
  seqPuts: number;
  parPuts: number;
  seqGets: number;
  watchers: number;
  watchPuts: number;
  memoryKeys: number;
}

const full: Counts = { seqPuts: 3000, parPuts: 30000, seqGets: 20000, watchers: 1000, watchPuts: 200, memoryKeys: 1_000_000 };
const quick: Counts = { seqPuts: 300, parPuts: 3000, seqGets: 2000, watchers: 1000, watchPuts: 20, memoryKeys: 100_000 };
/** Rounds per workload and target; the median round is reported. */
const ROUNDS = 3;

const value = Buffer.alloc(1024, 'v');
const key = (prefix: string, i: number) => Buffer.from(`${prefix}${String(i).padStart(8, '0')}`);

type Workload = (kv: KV, c: Counts, round: number) => Promise<Result>;

const workloadList: Array<{ what: (c: Counts) => string; run: Workload }> = [
  {
    what: (c) => `${c.seqPuts} sequential puts`,
    run: (kv, c, r) => runConcurrent('put, sequential', c.seqPuts, 1, (i) => kv.put({ key: key(`/bench/${r}/seq/`, i), value })),
  },
  {
    what: (c) => `${c.parPuts} puts, 64 in flight`,
    run: (kv, c, r) => runConcurrent('put, 64 in flight', c.parPuts, 64, (i) => kv.put({ key: key(`/bench/${r}/par/`, i), value })),
  },
  {
    // Reads the keys the same round's parallel puts wrote.
    what: (c) => `${c.seqGets} sequential gets`,
    run: (kv, c, r) => runConcurrent('get, sequential', c.seqGets, 1, (i) => kv.range({ key: key(`/bench/${r}/par/`, i % c.parPuts) })),
  },
  {
    what: (c) => `watch delivery to ${c.watchers} watchers`,
    run: (kv, c, r) => watchDelivery(kv, c, r),
  },
];

/** The same warm-up for every target: JIT, connections and allocator settle before measuring. */
async function warmUp(target: string, kv: KV): Promise<void> {
  progress(`${target}: warm-up`);
  await runConcurrent('warm-up', 500, 1, (i) => kv.put({ key: key('/bench/warm/', i), value }));
  await runConcurrent('warm-up', 5000, 64, (i) => kv.put({ key: key('/bench/warm/', i), value }));
  await runConcurrent('warm-up', 1000, 1, (i) => kv.range({ key: key('/bench/warm/', i) }));
}

/** The round with the median rate (rounds hold one workload's results). */
function median(rounds: Result[]): Result {
  const sorted = [...rounds].sort((x, y) => rate(x) - rate(y));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/**
 * Runs every workload ROUNDS times on every target, alternating targets within each
 * round; returns per target the median round of each workload, plus every round's rate.
 */
async function measure(targets: Array<{ label: string; kv: KV }>, c: Counts): Promise<{ median: Result[][]; rates: number[][][] }> {
  const med: Result[][] = targets.map(() => []);
  const rates: number[][][] = targets.map(() => []);
  for (const w of workloadList) {
    const rounds: Result[][] = targets.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      for (const [t, target] of targets.entries()) {
        progress(`${target.label}: ${w.what(c)} (round ${r + 1}/${ROUNDS})`);
        rounds[t]!.push(await w.run(target.kv, c, r));
      }
    }
    rounds.forEach((rs, t) => {
      med[t]!.push(median(rs));
      rates[t]!.push(rs.map(rate));
    });
  }
  return { median: med, rates };
}

/**
 * `watchers` watchers on one key; `watchPuts` sequential puts, each awaited until every
 * watcher has it. Latency = put issued → event received, per watcher per put.
 */
async function watchDelivery(kv: KV, c: Counts, round: number): Promise<Result> {
  const k = Buffer.from(`/bench/${round}/watched`);
  const lat = new Latencies();
  let sentAt = 0;
  let pending = 0;
  let done: () => void = () => {};
  const watchers = [];
  for (let i = 0; i < c.watchers; i++) {
    watchers.push(kv.watch({ key: k }, (resp) => {
      for (let e = 0; e < resp.events.length; e++) {
        lat.record(nowMs() - sentAt);
        if (--pending === 0) done();
      }
    }));
  }
  // Let every watch be registered server-side before the first put.
  await new Promise((r) => setTimeout(r, 500));
  const start = nowMs();
  for (let i = 0; i < c.watchPuts; i++) {
    const all = new Promise<void>((r) => { done = r; });
    pending = c.watchers;
    sentAt = nowMs();
    await kv.put({ key: k, value });
    await all;
  }
  const seconds = (nowMs() - start) / 1000;
  for (const w of watchers) w.cancel();
  return { name: `watch, ${c.watchers} watchers (events)`, ops: c.watchPuts * c.watchers, seconds, lat };
}

async function memoryFor(keys: number): Promise<{ before: number; after: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-mem-'));
  try {
    globalThis.gc?.();
    const before = rssMiB();
    const store = await MvccStore.open({ dataDir: dir, logger: silentLogger() });
    await runConcurrent('fill', keys, 64, (i) => {
      if (i % 100_000 === 0) progress(`memory: ${i}/${keys} keys`);
      return store.put({ key: key('/registry/pods/default/pod-', i), value });
    });
    globalThis.gc?.();
    const after = rssMiB();
    await store.close();
    return { before, after };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(flags: string[]): Promise<void> {
  const c = flags.includes('--quick') ? quick : full;
  const tmp = mkdtempSync(join(tmpdir(), 'flotilla-bench-store-'));
  const results: Record<string, Result[]> = {};
  const roundRates: Record<string, number[][]> = {};
  const loadBefore = loadavg();
  try {
    // (a) in-process
    {
      const store = await MvccStore.open({ dataDir: join(tmp, 'a'), logger: silentLogger() });
      await warmUp('(a) embedded, in-process', store);
      const m = await measure([{ label: '(a) embedded, in-process', kv: store }], c);
      results.a = m.median[0]!;
      roundRates.a = m.rates[0]!;
      await store.close();
    }
    // (b) over gRPC, our server in its own process, and (c) real etcd, both up throughout
    const port = await freePort();
    const metricsPort = await freePort();
    const server = spawnFlotilla([
      'etcd', '--data-dir', join(tmp, 'b'),
      '--listen-client-urls', `http://127.0.0.1:${port}`,
      '--advertise-client-urls', `http://127.0.0.1:${port}`,
      '--listen-metrics-urls', `http://127.0.0.1:${metricsPort}`,
    ], { FLOTILLA_LOG_LEVEL: 'warn' });
    try {
      await waitForPort(port);
      const etcd = await startEtcd({ dataDir: join(tmp, 'c') });
      try {
        const kvB = new RemoteKV({ endpoints: [`http://127.0.0.1:${port}`] });
        const kvC = new RemoteKV({ endpoints: [etcd.clientURL] });
        await warmUp('(b) embedded, gRPC', kvB);
        await warmUp('(c) real etcd 3.4', kvC);
        const m = await measure([{ label: '(b) embedded, gRPC', kv: kvB }, { label: '(c) real etcd 3.4', kv: kvC }], c);
        [results.b, results.c] = m.median;
        [roundRates.b, roundRates.c] = m.rates;
        await kvB.close();
        await kvC.close();
      } finally {
        await etcd.stop();
      }
    } finally {
      await server.kill('SIGTERM');
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const loadAfter = loadavg();

  console.log(`\nStore benchmark: 1 KiB values, fsync before every acknowledgement; median of ${ROUNDS} rounds (b and c alternating)`);
  console.log(`Load average (1/5/15 min): before ${loadBefore.map((l) => fmt(l, 2)).join(' ')}, after ${loadAfter.map((l) => fmt(l, 2)).join(' ')}\n`);
  const rows: string[][] = [];
  const names = results.a.map((r) => r.name);
  names.forEach((name, i) => {
    for (const [label, rs] of [['(a) embedded in-process', results.a], ['(b) embedded over gRPC', results.b], ['(c) real etcd 3.4', results.c]] as const) {
      const r = rs[i];
      rows.push([name, label, fmt(rate(r)), fmt(r.lat.percentile(50), 3), fmt(r.lat.percentile(99), 3)]);
    }
    rows.push([name, 'ratio b/c (rate)', fmt(rate(results.b[i]) / rate(results.c[i]), 2) + 'x', '', '']);
  });
  printTable(['workload', 'target', 'ops/s', 'p50 ms', 'p99 ms'], rows);
  console.log('\nRates of every round (ops/s):');
  names.forEach((name, i) => {
    console.log(`  ${name}: ${(['a', 'b', 'c'] as const).map((t) => `(${t}) ${roundRates[t]![i]!.map((x) => fmt(x)).join(' / ')}`).join('   ')}`);
  });

  const seq = rate(results.b[0]) / rate(results.c[0]);
  const par = rate(results.b[1]) / rate(results.c[1]);
  const inproc = rate(results.a[1]);
  console.log('\nGoals (issue "Foundation"):');
  console.log(`  b/c sequential puts      ${fmt(seq, 2)}x   (goal >= 1.5x)  ${seq >= 1.5 ? 'met' : 'NOT met'}`);
  console.log(`  b/c puts, 64 in flight   ${fmt(par, 2)}x   (goal >= 2x)    ${par >= 2 ? 'met' : 'NOT met'}`);
  console.log(`  (a) puts, 64 in flight   ${fmt(inproc)}/s (goal >= 50,000/s) ${inproc >= 50000 ? 'met' : 'NOT met'}`);

  if (!flags.includes('--no-memory')) {
    progress(`memory: ${c.memoryKeys} keys of 1 KiB in the embedded store`);
    const m = await memoryFor(c.memoryKeys);
    console.log(`\nResident memory, embedded store with ${fmt(c.memoryKeys)} keys of 1 KiB: ${fmt(m.after)} MiB (process before: ${fmt(m.before)} MiB; ${fmt(((m.after - m.before) * 1024 * 1024) / c.memoryKeys)} bytes/key incl. the value)`);
  }
}
