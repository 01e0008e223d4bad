/**
 * Runs the storage contract suite on every backend: a real etcd 3.4 (through RemoteKV) and
 * the embedded MvccStore.
 */
import { existsSync } from 'node:fs';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEtcd, type EtcdCluster } from '../../test/util/etcd.js';
import { RemoteKV } from './etcd3/remote-kv.js';
import type { KV } from './mvcc/types.js';
import { KVStorage } from './store.js';
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

// The embedded store is wired in as soon as its module exists.
const mvccIndex = fileURLToPath(new URL(`./mvcc/index${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
if (existsSync(mvccIndex)) {
  type Opened = KV & { close(): Promise<void> };
  const { MvccStore } = (await import('./mvcc/index.js' as string)) as { MvccStore: { open(o: object): Promise<Opened> } };
  runStorageContract('embedded (MvccStore)', async () => {
    const kv = await MvccStore.open({});
    const storage = new KVStorage({ kv, bookmarkIntervalMs: 0 });
    return { storage, kv, close: async () => { await storage.close(); await kv.close(); } };
  });
}
