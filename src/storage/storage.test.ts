/**
 * Runs the storage contract suite on every backend: a real etcd 3.4 (through RemoteKV) and
 * the embedded MvccStore (in memory and on disk).
 */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, type EtcdCluster } from '../../test/util/etcd.js';
import { RemoteKV } from './etcd3/remote-kv.js';
import { MvccStore } from './mvcc/index.js';
import { KVStorage, openStorage } from './store.js';
import { runStorageContract } from './storage.contract.js';

let etcd: Promise<EtcdCluster> | undefined;
after(async () => {
  if (etcd) await (await etcd).stop();
});

runStorageContract('etcd (RemoteKV)', async () => {
  etcd ??= startEtcd();
  const cluster = await etcd;
  const kv = new RemoteKV({ endpoints: cluster.endpoints });
  const storage = new KVStorage({ kv, bookmarkIntervalMs: 0 });
  return { storage, kv, close: async () => { await storage.close(); await kv.close(); } };
});

runStorageContract('embedded (MvccStore, in memory)', async () => {
  const kv = await MvccStore.open({});
  const storage = new KVStorage({ kv, bookmarkIntervalMs: 0 });
  return { storage, kv, close: async () => { await storage.close(); await kv.close(); } };
});

// Through the factory, on disk: the path the API server takes.
runStorageContract('embedded (openStorage, on disk)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-storage-'));
  const storage = await openStorage({ backend: 'embedded', dataDir: dir, bookmarkIntervalMs: 0 });
  return {
    storage,
    kv: storage.kv,
    close: async () => {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
