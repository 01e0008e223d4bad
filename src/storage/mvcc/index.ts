/** The embedded store's public API. */
export { MvccStore, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_TXN_OPS, DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS, DEFAULT_SNAPSHOT_EVERY_RECORDS } from './store.js';
export type { MvccStoreOptions, WalLike, OpenWal } from './store.js';
export { restoreBackup } from './restore.js';
export { MvccError, isMvccError, mvccMessages } from './errors.js';
export type { MvccErrorCode } from './errors.js';
export { MAX_LEASE_TTL, DEFAULT_MIN_LEASE_TTL } from './lease.js';
export * from './types.js';
