/**
 * Local measurement of the WAL (not a test): sequential append+fsync latency and
 * throughput with N appends in flight. Run from the repository root:
 *   node --import tsx src/storage/mvcc/testdata/wal-bench.ts [seconds=2] [inflight=64] [bytes=1126] [--nosync] [--recovery]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wal } from '../wal.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const seconds = Number(args[0] ?? 2);
const inflight = Number(args[1] ?? 64);
const bytes = Number(args[2] ?? 1126);
const noSync = process.argv.includes('--nosync');
const base = process.env.WAL_BENCH_DIR ?? tmpdir();

async function run(concurrency: number): Promise<void> {
  const dir = await mkdtemp(join(base, 'wal-bench-'));
  const { wal } = await Wal.open({ dir, noSync });
  const payload = Buffer.alloc(bytes, 0x61);
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (performance.now() < deadline) {
      await wal.append(payload).durable;
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const dt = (performance.now() - t0) / 1000;
  const s = wal.stats();
  await wal.close();
  await rm(dir, { recursive: true, force: true });
  console.log(
    `inflight=${concurrency} bytes=${bytes} noSync=${noSync}: ${Math.round(done / dt)} appends/s, ` +
      `${((dt * 1000) / (done / concurrency)).toFixed(3)} ms/append latency, ${(s.records / Math.max(1, s.batches)).toFixed(1)} records/batch, ` +
      `${s.fsyncs} fsyncs for ${s.records} records`,
  );
}

/** Time to reopen a log of `n` records (written without fsync to save time). */
async function recovery(n: number): Promise<void> {
  const dir = await mkdtemp(join(base, 'wal-bench-'));
  const { wal } = await Wal.open({ dir, noSync: true });
  const payload = Buffer.alloc(bytes, 0x61);
  for (let i = 0; i < n; i++) {
    const { durable } = wal.append(payload);
    if (i % 1000 === 999) await durable;
  }
  await wal.close();
  const t0 = performance.now();
  const { wal: again, recovery } = await Wal.open({ dir });
  const ms = performance.now() - t0;
  console.log(`recovery: ${recovery.records.length} records (${((n * (bytes + 20)) / 2 ** 20).toFixed(0)} MiB) in ${ms.toFixed(0)} ms`);
  await again.close();
  await rm(dir, { recursive: true, force: true });
}

await run(1);
await run(inflight);
if (process.argv.includes('--recovery')) await recovery(200_000);
