/**
 * The store's Prometheus metrics, under etcd's names so etcd dashboards work. Registered
 * once per registry; a second store opened on the same registry takes the gauges over
 * (the gauges read from the most recently opened store). The WAL registers its own
 * (etcd_disk_wal_fsync_duration_seconds, etcd_disk_wal_write_bytes_total) on the same registry.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** What the gauges read at scrape time. */
export interface MetricsSource {
  liveKeys(): number;
  dbSize(): number;
  dbSizeInUse(): number;
  watchers(): number;
  currentRevision(): number;
  compactRevision(): number;
}

export interface StoreMetrics {
  put: Counter;
  del: Counter;
  txn: Counter;
  range: Counter;
  leaseGranted: Counter;
  leaseRevoked: Counter;
  /** Point the gauges at this store. */
  bind(src: MetricsSource): void;
}

const byRegistry = new WeakMap<Registry, StoreMetrics>();

export function storeMetrics(registry: Registry): StoreMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  let src: MetricsSource | undefined;
  const counter = (name: string, help: string) =>
    (registry.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, registers: [registry] });
  const gauge = (name: string, help: string, read: (s: MetricsSource) => number) => {
    if (registry.getSingleMetric(name)) return;
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (src) this.set(read(src));
      },
    });
  };
  gauge('etcd_debugging_mvcc_keys_total', 'Total number of keys.', (s) => s.liveKeys());
  gauge('etcd_mvcc_db_total_size_in_bytes', 'Total size of the underlying database physically allocated in bytes.', (s) => s.dbSize());
  gauge('etcd_mvcc_db_total_size_in_use_in_bytes', 'Total size of the underlying database logically in use in bytes.', (s) => s.dbSizeInUse());
  gauge('etcd_debugging_mvcc_watcher_total', 'Total number of watchers.', (s) => s.watchers());
  gauge('etcd_debugging_mvcc_current_revision', 'The current revision of store.', (s) => s.currentRevision());
  gauge('etcd_debugging_mvcc_compact_revision', 'The revision of the last compaction in store.', (s) => s.compactRevision());
  const m: StoreMetrics = {
    put: counter('etcd_mvcc_put_total', 'Total number of puts seen by this member.'),
    del: counter('etcd_mvcc_delete_total', 'Total number of deletes seen by this member.'),
    txn: counter('etcd_mvcc_txn_total', 'Total number of txns seen by this member.'),
    range: counter('etcd_mvcc_range_total', 'Total number of ranges seen by this member.'),
    leaseGranted: counter('etcd_debugging_lease_granted_total', 'The total number of granted leases.'),
    leaseRevoked: counter('etcd_debugging_lease_revoked_total', 'The total number of revoked leases.'),
    bind(s) {
      src = s;
    },
  };
  byRegistry.set(registry, m);
  return m;
}
