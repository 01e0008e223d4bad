/**
 * The embedded store: etcd v3 KV/Lease/Watch semantics (etcd 3.4) over an in-memory MVCC
 * index, made durable by the WAL (wal.ts) with periodic snapshots.
 *
 *   const store = await MvccStore.open({ dataDir, clock, logger, registry });
 *   await store.put({ key, value });            // resolves once fsync'd
 *   store.watch({ key, rangeEnd }, (resp) => …); // async, in revision order
 *   for await (const chunk of store.snapshotStream()) …  // backup (sha256-terminated)
 *   await restoreBackup(backupFile, newDataDir);         // backup -> data dir
 *   await store.close();
 *
 * Without `dataDir` the store lives in memory only (tests).
 */
export {
  MvccStore,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_MAX_TXN_OPS,
  DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS,
  DEFAULT_SNAPSHOT_EVERY_RECORDS,
} from './store.js';
export type { MvccStoreOptions, WalLike, OpenWal } from './store.js';
export { restoreBackup } from './restore.js';
export { MvccError, isMvccError, mvccMessages } from './errors.js';
export type { MvccErrorCode } from './errors.js';
export { MAX_LEASE_TTL, DEFAULT_MIN_LEASE_TTL } from './lease.js';
export * from './types.js';
