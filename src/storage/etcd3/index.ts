/** The etcd3 backend: the KV contract over a real etcd cluster. */
export { RemoteKV, parseEtcdServers, mapEtcdError, type RemoteKVOptions } from './remote-kv.js';
