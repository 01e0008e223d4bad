/**
 * EtcdServer in-process: a grpc-js client against the server over loopback, the embedded
 * store in memory. Covers what etcdctl does not show directly: watch IDs and the
 * created/cancel/progress protocol, keep-alive of an unknown lease, request checks, the
 * snapshot stream format, headers and metrics.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type Client, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { silentLogger } from '../../util/log.js';
import { MvccStore, restoreBackup } from '../mvcc/index.js';
import { EtcdServer } from './server.js';
import { etcdClientConstructor, type EtcdServiceName } from './proto.js';
import { extractBackup, verifySnapshotFile } from './snapshot.js';

type Json = Record<string, unknown>;
type AnyClient = Client & Record<string, (...args: unknown[]) => unknown>;

let store: MvccStore;
let server: EtcdServer;
let registry: Registry;
const clients: Partial<Record<EtcdServiceName, AnyClient>> = {};

function client(name: EtcdServiceName): AnyClient {
  const C = etcdClientConstructor(name);
  return (clients[name] ??= new C(server.clientUrls[0]!.replace('http://', ''), credentials.createInsecure()) as unknown as AnyClient);
}

function unary(service: EtcdServiceName, method: string, req: Json): Promise<Json> {
  return new Promise((resolve, reject) => {
    client(service)[method]!(req, new Metadata(), (err: ServiceError | null, res: Json) => (err ? reject(err) : resolve(res)));
  });
}

async function rejects(p: Promise<unknown>, code: number, message: string): Promise<void> {
  await assert.rejects(p, (err: ServiceError) => {
    assert.equal(err.code, code);
    assert.equal(err.details, message);
    return true;
  });
}

/** A bidi stream with a queue of received messages. */
class Stream {
  readonly got: Json[] = [];
  private waiters: Array<() => void> = [];
  constructor(readonly call: ClientDuplexStream<Json, Json>) {
    call.on('data', (m: Json) => {
      this.got.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
    call.on('error', () => {});
  }
  send(m: Json): void {
    this.call.write(m);
  }
  /** The next message (bounded wait). */
  async next(): Promise<Json> {
    const deadline = Date.now() + 10_000;
    while (this.got.length === 0) {
      if (Date.now() > deadline) throw new Error('no message');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100).unref();
      });
    }
    return this.got.shift()!;
  }
}

function bidi(service: EtcdServiceName, method: string): Stream {
  return new Stream(client(service)[method]!() as ClientDuplexStream<Json, Json>);
}

const b = (s: string) => Buffer.from(s);

before(async () => {
  registry = new Registry();
  store = await MvccStore.open({ logger: silentLogger() });
  server = new EtcdServer({ kv: store, snapshot: store, logger: silentLogger(), registry, listenClientUrls: ['http://127.0.0.1:0'], maxRequestBytes: 64 * 1024 });
  await server.start();
});

after(async () => {
  for (const c of Object.values(clients)) c.close();
  await server.close();
  await store.close();
});

describe('KV', () => {
  test('responses carry etcd\'s header: cluster and member IDs as uint64, revision, term', async () => {
    const put = await unary('KV', 'Put', { key: b('h'), value: b('1') });
    const header = put.header as Json;
    assert.equal(header.cluster_id, '14841639068965178418');
    assert.equal(header.member_id, '10276657743932975437');
    assert.equal(header.raft_term, '2');
    assert.equal(Number(header.revision), store.status().revision);
  });

  test('empty keys are refused with etcd\'s error', async () => {
    await rejects(unary('KV', 'Range', { key: Buffer.alloc(0) }), 3, 'etcdserver: key is not provided');
    await rejects(unary('KV', 'Put', { key: Buffer.alloc(0), value: b('x') }), 3, 'etcdserver: key is not provided');
  });

  test('requests over --max-request-bytes are refused; read-only txns are not limited', async () => {
    await rejects(unary('KV', 'Put', { key: b('big'), value: Buffer.alloc(70 * 1024) }), 3, 'etcdserver: request is too large');
    const ops = Array.from({ length: 100 }, () => ({ request_range: { key: Buffer.alloc(700, 'k') } }));
    const res = await unary('KV', 'Txn', { success: ops });
    assert.equal(res.succeeded, true);
  });

  test('more than 128 ops in a txn are refused', async () => {
    const ops = Array.from({ length: 129 }, (_, i) => ({ request_put: { key: b(`t${i}`), value: b('v') } }));
    await rejects(unary('KV', 'Txn', { success: ops }), 3, 'etcdserver: too many operations in txn request');
  });

  test('compacted and future revisions answer OUT_OF_RANGE with etcd\'s text', async () => {
    await unary('KV', 'Put', { key: b('c'), value: b('1') });
    const rev = store.status().revision;
    await unary('KV', 'Compact', { revision: rev });
    await rejects(unary('KV', 'Range', { key: b('c'), revision: rev - 1 }), 11, 'etcdserver: mvcc: required revision has been compacted');
    await rejects(unary('KV', 'Range', { key: b('c'), revision: rev + 100 }), 11, 'etcdserver: mvcc: required revision is a future revision');
  });

  test('txn sub-responses carry only the revision in their header', async () => {
    const res = await unary('KV', 'Txn', { success: [{ request_put: { key: b('s'), value: b('1') } }] });
    const sub = ((res.responses as Json[])[0]!.response_put as Json).header as Json;
    assert.equal(sub.cluster_id, '0');
    assert.equal(Number(sub.revision), Number((res.header as Json).revision));
  });
});

describe('Watch', () => {
  test('created responses carry IDs in order; events follow with their watch ID', async () => {
    const s = bidi('Watch', 'Watch');
    s.send({ create_request: { key: b('wa') } });
    s.send({ create_request: { key: b('wb') } });
    const c0 = await s.next();
    const c1 = await s.next();
    assert.deepEqual([c0.created, c0.watch_id, c1.created, c1.watch_id], [true, '0', true, '1']);
    await unary('KV', 'Put', { key: b('wb'), value: b('x') });
    const ev = await s.next();
    assert.equal(ev.watch_id, '1');
    const events = ev.events as Json[];
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, 'PUT');
    assert.equal(((events[0]!.kv as Json).key as Buffer).toString(), 'wb');
    s.call.end();
  });

  test('a requested ID is used; a duplicate is created+canceled with etcd\'s reason', async () => {
    const s = bidi('Watch', 'Watch');
    s.send({ create_request: { key: b('x'), watch_id: 7 } });
    assert.equal((await s.next()).watch_id, '7');
    s.send({ create_request: { key: b('y'), watch_id: 7 } });
    const dup = await s.next();
    assert.equal(dup.created, true);
    assert.equal(dup.canceled, true);
    assert.equal(dup.cancel_reason, 'mvcc: duplicate watch ID provided on the WatchStream');
    s.call.end();
  });

  test('cancel answers canceled for a live watcher and nothing for an unknown one', async () => {
    const s = bidi('Watch', 'Watch');
    s.send({ create_request: { key: b('cx') } });
    const id = (await s.next()).watch_id;
    s.send({ cancel_request: { watch_id: 42 } });
    s.send({ cancel_request: { watch_id: id } });
    const c = await s.next();
    assert.equal(c.watch_id, id);
    assert.equal(c.canceled, true);
    await unary('KV', 'Put', { key: b('cx'), value: b('after cancel') });
    s.send({ progress_request: {} });
    const p = await s.next();
    assert.equal(p.watch_id, '-1'); // nothing from the cancelled watcher came first
    s.call.end();
  });

  test('a progress request is answered once every watcher is in sync, for all of them (watch_id -1)', async () => {
    const s = bidi('Watch', 'Watch');
    s.send({ create_request: { key: b('p1') } });
    s.send({ create_request: { key: b('p2') } });
    await s.next();
    await s.next();
    await unary('KV', 'Put', { key: b('other'), value: b('x') });
    s.send({ progress_request: {} });
    const p = await s.next();
    assert.equal(p.watch_id, '-1');
    assert.equal(Number((p.header as Json).revision), store.status().revision);
    assert.deepEqual(p.events, []);
    s.call.end();
  });

  test('watching from a compacted revision: one response with compact_revision, canceled', async () => {
    await unary('KV', 'Put', { key: b('wc'), value: b('1') });
    const rev = store.status().revision;
    await unary('KV', 'Compact', { revision: rev });
    const s = bidi('Watch', 'Watch');
    s.send({ create_request: { key: b('wc'), start_revision: 1 } });
    assert.equal((await s.next()).created, true);
    const c = await s.next();
    assert.equal(c.canceled, true);
    assert.equal(Number(c.compact_revision), rev);
    s.call.end();
  });

  test('prev_kv and filters', async () => {
    const s = bidi('Watch', 'Watch');
    s.send({ create_request: { key: b('f'), prev_kv: true, filters: ['NOPUT'] } });
    await s.next();
    await unary('KV', 'Put', { key: b('f'), value: b('1') });
    await unary('KV', 'DeleteRange', { key: b('f') });
    const ev = await s.next();
    const e = (ev.events as Json[])[0]!;
    assert.equal(e.type, 'DELETE');
    assert.equal(((e.prev_kv as Json).value as Buffer).toString(), '1');
    s.call.end();
  });
});

describe('Lease', () => {
  test('keep-alive answers TTL 0 for an unknown lease and the TTL for a live one', async () => {
    const grant = await unary('Lease', 'LeaseGrant', { TTL: 30 });
    const s = bidi('Lease', 'LeaseKeepAlive');
    s.send({ ID: '1234' });
    s.send({ ID: grant.ID });
    const unknown = await s.next();
    const live = await s.next();
    assert.deepEqual([unknown.ID, unknown.TTL], ['1234', '0']);
    assert.deepEqual([live.ID, live.TTL], [grant.ID, '30']);
    s.call.end();
  });

  test('lease IDs use the whole int64 range', async () => {
    const id = '-8070450532247928832';
    const grant = await unary('Lease', 'LeaseGrant', { TTL: 30, ID: id });
    assert.equal(grant.ID, id);
    const ttl = await unary('Lease', 'LeaseTimeToLive', { ID: id });
    assert.equal(ttl.ID, id);
    await unary('Lease', 'LeaseRevoke', { ID: id });
  });

  test('time-to-live of an unknown lease is -1; revoking it is NOT_FOUND', async () => {
    const ttl = await unary('Lease', 'LeaseTimeToLive', { ID: 999 });
    assert.equal(ttl.TTL, '-1');
    await rejects(unary('Lease', 'LeaseRevoke', { ID: 999 }), 5, 'etcdserver: requested lease not found');
  });

  test('a TTL over etcd\'s maximum is refused', async () => {
    await rejects(unary('Lease', 'LeaseGrant', { TTL: '9000000001' }), 11, 'etcdserver: too large lease TTL');
  });
});

describe('Cluster and Maintenance', () => {
  test('one member, which is the leader', async () => {
    const members = (await unary('Cluster', 'MemberList', {})).members as Json[];
    assert.equal(members.length, 1);
    assert.equal(members[0]!.ID, '10276657743932975437');
    assert.equal(members[0]!.name, 'default');
    assert.deepEqual(members[0]!.peerURLs, ['http://localhost:2380']);
    assert.deepEqual(members[0]!.clientURLs, server.clientUrls);
    const status = await unary('Maintenance', 'Status', {});
    assert.equal(status.version, '3.4.23');
    assert.equal(status.leader, members[0]!.ID);
    assert.equal(status.raftTerm, '2');
    const alarms = await unary('Maintenance', 'Alarm', {});
    assert.deepEqual(alarms.alarms, []);
  });

  test('snapshot: etcd-shaped stream (checksum, remaining bytes) that restores to the same data', async () => {
    await unary('KV', 'Put', { key: b('snap'), value: b('shot') });
    const rev = store.status().revision;
    const call = client('Maintenance').Snapshot!({}, new Metadata()) as NodeJS.ReadableStream;
    const blobs: Buffer[] = [];
    const remaining: number[] = [];
    for await (const m of call as AsyncIterable<Json>) {
      blobs.push(m.blob as Buffer);
      remaining.push(Number(m.remaining_bytes));
    }
    const file = Buffer.concat(blobs);
    assert.equal(file.length % 512, 32); // etcd's "has a sha256 checksum" shape
    assert.equal(remaining.at(-1), 0);
    assert.equal(remaining[0], file.length - blobs[0]!.length);
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-etcdserver-test-'));
    try {
      await writeFile(join(dir, 'snap.db'), file);
      const { backupSize } = await verifySnapshotFile(join(dir, 'snap.db'));
      await extractBackup(join(dir, 'snap.db'), backupSize, join(dir, 'backup'));
      const restored = await restoreBackup(join(dir, 'backup'), join(dir, 'data'));
      assert.equal(restored.revision, rev);
      const again = await MvccStore.open({ dataDir: join(dir, 'data'), logger: silentLogger() });
      try {
        const r = await again.range({ key: b('snap') });
        assert.equal(r.kvs[0]?.value.toString(), 'shot');
      } finally {
        await again.close();
      }
      // A damaged file is refused.
      file[10] = file[10]! ^ 0xff;
      await writeFile(join(dir, 'bad.db'), file);
      await assert.rejects(verifySnapshotFile(join(dir, 'bad.db')), /expected sha256/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('gRPC metrics count calls by method and code', async () => {
    await unary('KV', 'Range', { key: b('m') });
    await unary('Lease', 'LeaseRevoke', { ID: 5 }).catch(() => {});
    const text = await registry.metrics();
    assert.match(text, /grpc_server_handled_total\{grpc_type="unary",grpc_service="etcdserverpb\.KV",grpc_method="Range",grpc_code="OK"\} [1-9]/);
    assert.match(text, /grpc_server_handled_total\{grpc_type="unary",grpc_service="etcdserverpb\.Lease",grpc_method="LeaseRevoke",grpc_code="NotFound"\} [1-9]/);
    assert.match(text, /grpc_server_started_total\{grpc_type="bidi_stream",grpc_service="etcdserverpb\.Watch",grpc_method="Watch"\} [1-9]/);
    assert.match(text, /etcd_server_is_leader 1/);
  });
});

describe('shutdown', () => {
  test('close() fails open streams with "server stopped" and stops listening', async () => {
    const st = await MvccStore.open({ logger: silentLogger() });
    const srv = new EtcdServer({ kv: st, logger: silentLogger(), listenClientUrls: ['http://127.0.0.1:0'] });
    await srv.start();
    const Watch = etcdClientConstructor('Watch');
    const c = new Watch(srv.clientUrls[0]!.replace('http://', ''), credentials.createInsecure()) as unknown as AnyClient;
    try {
      const s = new Stream(c.Watch!() as ClientDuplexStream<Json, Json>);
      const failed = new Promise<ServiceError>((resolve) => s.call.on('error', resolve));
      s.send({ create_request: { key: b('z') } });
      assert.equal((await s.next()).created, true);
      await srv.close();
      const err = await failed;
      assert.equal(err.code, 14);
      assert.equal(err.details, 'etcdserver: server stopped');
    } finally {
      c.close();
      await st.close();
    }
  });
});
