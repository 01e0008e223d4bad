/**
 * Child process for wal.test.ts's crash test: opens the WAL in argv[2], appends
 * deterministic records (see walCrashPayload) with 64 appends in flight, and prints each
 * index on its own line once `durable` resolved. Every few thousand records it also saves a
 * deterministic snapshot and prints "snap <index>" once saved. Runs until killed.
 */
import { Wal } from '../wal.js';
import { walCrashPayload, walCrashSnapshotChunks } from './wal-crash-data.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: wal-crash-child <dir>');
const segmentBytes = Number(process.argv[3] ?? 256 * 1024);
const snapshotEvery = Number(process.argv[4] ?? 3000);

const { wal } = await Wal.open({ dir, segmentBytes });
process.stdout.write(`open ${wal.lastAppendedIndex}\n`);

async function worker(): Promise<void> {
  for (;;) {
    const want = wal.lastAppendedIndex + 1;
    const { index, durable } = wal.append(walCrashPayload(want));
    if (index !== want) throw new Error(`append returned index ${index}, expected ${want}`);
    await durable;
    process.stdout.write(`${index}\n`);
    if (index % snapshotEvery === 0) {
      void wal.saveSnapshot(index, walCrashSnapshotChunks(index)).then(() => process.stdout.write(`snap ${index}\n`));
    }
  }
}

await Promise.all(Array.from({ length: 64 }, worker));
