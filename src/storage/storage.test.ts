/**
 * Runs the storage contract suite on the embedded MvccStore, in memory and (through the
 * openStorage factory, as the API server opens it) on disk. The same suite runs on a real
 * etcd in test/storage/storage-etcd.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MvccStore } from './mvcc/index.js';
import { KVStorage, openStorage } from './store.js';
import { runStorageContract } from './storage.contract.js';

runStorageContract('embedded (MvccStore, in memory)', async () => {
  const kv = await MvccStore.open({});
  const storage = new KVStorage({ kv, bookmarkIntervalMs: 0 });
  return { storage, kv, close: async () => { await storage.close(); await kv.close(); } };
});

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
