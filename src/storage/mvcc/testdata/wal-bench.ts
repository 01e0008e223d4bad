/**
 * Local measurement of the WAL (not a test): sequential append+sync latency next to the
 * disk's own synchronous-write latency, and throughput with N appends in flight. The three
 * are measured in alternating short rounds and summarized by their medians, so a busy
 * machine's noise hits all of them alike. Run from the repository root:
 *
 *   node --import tsx src/storage/mvcc/testdata/wal-bench.ts [rounds=40] [inflight=64] [bytes=1126] [--nosync] [--recovery]
 *
 * WAL_BENCH_DIR picks the file system (default: the OS temp dir).
 */
import { constants } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wal } from '../wal.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const rounds = Number(args[0] ?? 40);
const inflight = Number(args[1] ?? 64);
const bytes = Number(args[2] ?? 1126);
const noSync = process.argv.includes('--nosync');
const base = process.env.WAL_BENCH_DIR ?? tmpdir();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function compare(): Promise<void> {
  const dir = await mkdtemp(join(base, 'wal-bench-'));
  const { wal } = await Wal.open({ dir, noSync });
  const payload = Buffer.alloc(bytes, 0x61);
  // The disk's floor: a synchronous overwrite of preallocated space, as the WAL does.
  const rawPath = join(dir, 'raw');
  const raw = await open(rawPath, 'w+');
  await raw.write(Buffer.alloc(64 << 20));
  await raw.sync();
  await raw.close();
  const rawFh = await open(rawPath, constants.O_RDWR | (noSync ? 0 : constants.O_DSYNC));
  let rawPos = 0;

  const seqMs: number[] = [];
  const rawMs: number[] = [];
  const parPerSec: number[] = [];
  const parPerSync: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t = now();
    for (let i = 0; i < 50; i++) await wal.append(payload).durable;
    seqMs.push((now() - t) / 50);

    t = now();
    for (let i = 0; i < 50; i++) {
      await rawFh.write(payload, 0, payload.length, rawPos);
      rawPos = (rawPos + payload.length) % (60 << 20);
    }
    rawMs.push((now() - t) / 50);

    const before = wal.stats();
    t = now();
    await Promise.all(Array.from({ length: inflight }, async () => {
      for (let i = 0; i < 10; i++) await wal.append(payload).durable;
    }));
    const after = wal.stats();
    parPerSec.push((inflight * 10) / ((now() - t) / 1000));
    parPerSync.push((after.records - before.records) / Math.max(1, after.batches - before.batches));
  }
  await rawFh.close();
  await wal.close();
  await rm(dir, { recursive: true, force: true });
  console.log(`bytes=${bytes} noSync=${noSync} rounds=${rounds} (medians)`);
  console.log(`  sequential append+sync: ${median(seqMs).toFixed(3)} ms   (disk's synchronous ${bytes}-byte write: ${median(rawMs).toFixed(3)} ms)`);
  console.log(`  ${inflight} in flight: ${Math.round(median(parPerSec))} appends/s, ${median(parPerSync).toFixed(1)} records per write+sync`);
}

/** Time to reopen a log of `n` records (written without sync to save time). */
async function recovery(n: number): Promise<void> {
  const dir = await mkdtemp(join(base, 'wal-bench-'));
  const { wal } = await Wal.open({ dir, noSync: true });
  const payload = Buffer.alloc(bytes, 0x61);
  for (let i = 0; i < n; i++) {
    const { durable } = wal.append(payload);
    if (i % 1000 === 999) await durable;
  }
  await wal.close();
  const t0 = now();
  const { wal: again, recovery } = await Wal.open({ dir });
  const ms = now() - t0;
  console.log(`  recovery: ${recovery.records.length} records (${((n * (bytes + 20)) / 2 ** 20).toFixed(0)} MiB) in ${ms.toFixed(0)} ms`);
  await again.close();
  await rm(dir, { recursive: true, force: true });
}

await compare();
if (process.argv.includes('--recovery')) await recovery(200_000);
