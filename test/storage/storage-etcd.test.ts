/**
 * The storage contract suite on a real etcd 3.4 (through RemoteKV), plus what only a remote
 * backend has: an unreachable cluster, and the openStorage factory's etcd backend.
 * (Beside src/storage/storage.test.ts, which runs the suite on the embedded store; this one
 * lives under test/ because it starts etcd with test/util, which src/ may not import.)
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startEtcd, type EtcdCluster } from '../util/etcd.js';
import { freePort } from '../util/net.js';
import { RemoteKV } from '../../src/storage/etcd3/remote-kv.js';
import { isStorageError, type StoredObject } from '../../src/storage/interface.js';
import { KVStorage, openStorage } from '../../src/storage/store.js';
import { runStorageContract } from '../../src/storage/storage.contract.js';

let etcd: Promise<EtcdCluster> | undefined;
after(async () => {
  if (etcd) await (await etcd).stop();
});
const cluster = () => (etcd ??= startEtcd());

runStorageContract('etcd (RemoteKV)', async () => {
  const kv = new RemoteKV({ endpoints: (await cluster()).endpoints });
  const storage = new KVStorage({ kv, bookmarkIntervalMs: 0 });
  return { storage, kv, close: async () => { await storage.close(); await kv.close(); } };
});

const obj = (name: string): StoredObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { v: '1' } });

test('an unreachable etcd surfaces as StorageError Unreachable', async () => {
  const port = await freePort();
  const kv = new RemoteKV({ endpoints: [`http://127.0.0.1:${port}`], maxAttempts: 2, callTimeoutMs: 5000 });
  const s = new KVStorage({ kv, onClose: () => kv.close() });
  try {
    for (const p of [s.get('/registry/pods/default/a'), s.create('/registry/pods/default/a', obj('a')), s.currentRevision(), s.getList('/registry/pods/')]) {
      await assert.rejects(p, (err) => {
        assert.ok(isStorageError(err, 'Unreachable'), String(err));
        return true;
      });
    }
  } finally {
    await s.close();
  }
});

test('openStorage opens the etcd backend from a server list', async () => {
  const s = await openStorage({ backend: 'etcd', servers: (await cluster()).endpoints });
  try {
    const key = `/registry/open-storage-${process.pid}/default/a`;
    const a = await s.create(key, obj('a'));
    assert.deepEqual(await s.get(key), a);
    assert.equal(await s.count(`/registry/open-storage-${process.pid}/`), 1);
  } finally {
    await s.close();
  }
});
