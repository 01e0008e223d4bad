/**
 * `flotilla etcd snapshot restore` (etcdctl snapshot restore): turns a backup written by
 * MvccStore.snapshotStream() into a fresh data directory.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { RecordType, decodeSnapshot, encodeRecord } from './codec.js';
import { Wal } from './wal.js';

/**
 * Validates `backupFile` (format and sha256 trailer; throws MvccError('Corrupt') on any
 * damage) and writes a new data directory at `dataDir` (which must be missing or empty)
 * whose recovery yields exactly the backed-up state: revision, compact revision, retained
 * history and leases. Returns the backup's revision.
 */
export async function restoreBackup(backupFile: string, dataDir: string): Promise<{ revision: number }> {
  // Validate the whole file before touching the target.
  const header = await decodeSnapshot(createReadStream(backupFile, { highWaterMark: 1 << 20 }), () => {}, () => {});
  await mkdir(dataDir, { recursive: true });
  const existing = await readdir(dataDir);
  if (existing.length > 0) throw new Error(`restore: data directory ${dataDir} is not empty`);
  const { wal } = await Wal.open({ dir: dataDir });
  try {
    // The WAL's snapshot must cover a record index, so write one no-op record first.
    const { index, durable } = wal.append(encodeRecord({ type: RecordType.Noop }));
    await durable;
    await wal.saveSnapshot(index, createReadStream(backupFile, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>);
  } finally {
    await wal.close();
  }
  return { revision: header.revision };
}
