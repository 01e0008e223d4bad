/**
 * The storage contract suite over the wire to our own etcd v3 gRPC server: Storage →
 * RemoteKV (the etcd3 npm client) → EtcdServer → MvccStore. Together with the real-etcd run
 * (storage-etcd.test.ts) this checks that our server answers the client library exactly as
 * etcd does, for everything Kubernetes' storage layer relies on.
 */
import { after } from 'node:test';
import { RemoteKV } from '../../src/storage/etcd3/remote-kv.js';
import { EtcdServer } from '../../src/storage/etcdserver/server.js';
import { MvccStore } from '../../src/storage/mvcc/index.js';
import { KVStorage } from '../../src/storage/store.js';
import { runStorageContract } from '../../src/storage/storage.contract.js';
import { silentLogger } from '../../src/util/log.js';

let served: Promise<{ server: EtcdServer; store: MvccStore }> | undefined;
after(async () => {
  if (!served) return;
  const { server, store } = await served;
  await server.close();
  await store.close();
});

runStorageContract('our etcd server (RemoteKV → EtcdServer → MvccStore)', async () => {
  served ??= (async () => {
    const store = await MvccStore.open({});
    const server = new EtcdServer({ kv: store, logger: silentLogger(), listenClientUrls: ['http://127.0.0.1:0'] });
    await server.start();
    return { server, store };
  })();
  const { server } = await served;
  const kv = new RemoteKV({ endpoints: server.clientUrls });
  const storage = new KVStorage({ kv, bookmarkIntervalMs: 0 });
  return { storage, kv, close: async () => { await storage.close(); await kv.close(); } };
});
