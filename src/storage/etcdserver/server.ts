/**
 * etcd's v3 gRPC API served from the embedded store, so the real etcdctl, kube-apiserver
 * and any etcd v3 client talk to Flotilla unchanged.
 *
 * The server is a thin translation over the store's `KV` contract (mvcc/types.ts): it
 * adds what etcd's gRPC layer adds on top of its store — request checks and the size
 * limit, response headers (cluster/member IDs, raft term), per-stream watch IDs, lease
 * keep-alive streams, membership and maintenance answers for a one-member cluster — and
 * translates store errors into etcd's gRPC statuses (errors.ts).
 *
 * One member, no raft: the member is always leader; the raft term is constant and the raft
 * index is the store's applied index (see `RAFT_TERM`).
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  Server, ServerCredentials, status as GrpcStatus, type ConnectionInjector,
  type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall, type ServerWritableStream,
  type ServiceDefinition, type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { realClock, type Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import { isMvccError } from '../mvcc/errors.js';
import type { KV } from '../mvcc/types.js';
import { Compactor, parseRetention, type AutoCompactionMode } from './compactor.js';
import {
  deleteFromPb, int, kvToPb, leaseId, putFromPb, rangeFromPb, responseOpToPb, txnFromPb,
  txnIsReadOnly, wire64,
} from './convert.js';
import { EtcdServerError, etcdErrors, toServiceError } from './errors.js';
import { looksLikeHttp2, rewritingDuplex, routeHttp2Connection } from './h2authority.js';
import { computeClusterId, computeMemberId, idString } from './member.js';
import { newEtcdServerMetrics, type EtcdServerMetrics, type GrpcType } from './metrics.js';
import {
  etcdService, type EtcdServiceName, type PbCompactionRequest, type PbDeleteRangeRequest,
  type PbLeaseGrantRequest, type PbLeaseIdRequest, type PbLeaseTimeToLiveRequest, type PbPutRequest,
  type PbRangeRequest, type PbResponseHeader, type PbTxnRequest, type PbWatchRequest, type PbWatchResponse,
} from './proto.js';
import { writeSnapshotFile } from './snapshot.js';
import { WatchSession } from './watch.js';

/** The etcd release whose API and answers we reproduce (Maintenance.Status version). */
export const ETCD_VERSION = '3.4.23';
/** The cluster version a 3.4 member reports on /version. */
export const ETCD_CLUSTER_VERSION = '3.4.0';
/** etcd's default --max-request-bytes (1.5 MiB). */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** etcd's gRPC receive limit is the request limit plus this allowance for framing. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** etcd's default --max-txn-ops. */
export const DEFAULT_MAX_TXN_OPS = 128;
/** etcd's lease.MaxLeaseTTL (seconds). */
export const MAX_LEASE_TTL = 9_000_000_000;
/**
 * A fresh single-member etcd elects itself in term 2 and, having no peers, never changes
 * term while it runs; we report that value forever since we have no elections at all.
 */
export const RAFT_TERM = 2;
/** Bytes a watch stream may have queued for a client that does not read before we drop it. */
export const MAX_WATCH_STREAM_BUFFER_BYTES = 64 * 1024 * 1024;
/** Snapshot stream chunk size (etcd's). */
const SNAPSHOT_CHUNK = 32 * 1024;

/** A store with a backup stream (mvcc's MvccStore). */
export interface SnapshotSource {
  /** The store's consistent backup, as chunks; restored by mvcc/restore.ts. */
  snapshotStream(): AsyncIterable<Buffer>;
}

export interface EtcdServerOptions {
  kv: KV;
  /** Source for Maintenance.Snapshot; without it the RPC answers UNIMPLEMENTED. */
  snapshot?: SnapshotSource;
  logger: Logger;
  registry?: Registry;
  clock?: Clock;
  /** --name (default "default"). */
  name?: string;
  /** --listen-client-urls: http://host:port (port 0 = any free port). */
  listenClientUrls: string[];
  /** --advertise-client-urls; default: the listen URLs as bound. */
  advertiseClientUrls?: string[];
  /** --initial-advertise-peer-urls; only shown in MemberList and hashed into the member ID. */
  initialAdvertisePeerUrls?: string[];
  /** --initial-cluster-token (default "etcd-cluster"), hashed into the member ID. */
  initialClusterToken?: string;
  /** --max-request-bytes (default 1.5 MiB). */
  maxRequestBytes?: number;
  /** --max-txn-ops (default 128). */
  maxTxnOps?: number;
  /** --auto-compaction-mode / --auto-compaction-retention; retention "0" or absent = off. */
  autoCompaction?: { mode: AutoCompactionMode; retention: string };
}

const REQUEST_SIZE = Symbol('requestSize');

/** The encoded size of a request, recorded when grpc-js decoded it. */
function requestSize(req: unknown): number {
  return (req as { [REQUEST_SIZE]?: number })[REQUEST_SIZE] ?? 0;
}

/**
 * The service definition with each request decoder also recording the message's size on
 * the decoded object: etcd limits the encoded request, which the decoded object has lost.
 */
function withRequestSize(def: ServiceDefinition): ServiceDefinition {
  const out: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(def)) {
    out[name] = {
      ...m,
      requestDeserialize: (buf: Buffer) => {
        const obj = m.requestDeserialize(buf) as { [REQUEST_SIZE]?: number };
        // A plain assignment: defineProperty per request costs a map transition. A symbol
        // key is invisible to Object.keys/JSON, like the non-enumerable property it replaced.
        if (obj && typeof obj === 'object') obj[REQUEST_SIZE] = buf.length;
        return obj;
      },
    };
  }
  return out as ServiceDefinition;
}

/** host:port for grpc-js from http://host:port. */
function bindAddress(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`invalid listen URL ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:') throw new Error(`listen URL ${url}: only http:// (plain-text gRPC) is supported`);
  if (!u.port) throw new Error(`listen URL ${url}: a port is required`);
  return `${u.hostname}:${u.port}`;
}

function waitWritable(call: NodeJS.EventEmitter & { cancelled?: boolean }): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('close', done);
      call.off('cancelled', done);
      call.off('error', done);
      resolve();
    };
    call.on('drain', done);
    call.on('close', done);
    call.on('cancelled', done);
    call.on('error', done);
  });
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();
const crc32cInit = () => 0xffffffff;
function crc32cUpdate(crc: number, buf: Buffer): number {
  let c = crc;
  for (const byte of buf) c = CRC32C_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}
const crc32cFinal = (crc: number) => (crc ^ 0xffffffff) >>> 0;

export class EtcdServer {
  readonly name: string;
  readonly memberId: bigint;
  readonly clusterId: bigint;
  /** The IDs as the loader encodes them, converted once rather than per response. */
  private readonly memberIdWire: string;
  private readonly clusterIdWire: string;
  private readonly kv: KV;
  private readonly snapshotSource?: SnapshotSource;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly listenUrls: string[];
  private readonly advertiseUrls?: string[];
  private readonly peerUrls: string[];
  private readonly maxRequestBytes: number;
  private readonly maxTxnOps: number;
  private readonly metrics?: EtcdServerMetrics;
  private readonly compactor?: Compactor;
  private readonly grpc: Server;
  private boundUrls: string[] = [];
  private readonly listeners: NetServer[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly registry?: Registry;
  /** HTTP/1 on the client port, as etcd answers it: /health, /version, /metrics. */
  private readonly http: HttpServer = createHttpServer((req, res) => this.serveHttp(req, res));
  private injector?: ConnectionInjector;
  /**
   * Open streams (watch, keep-alive, snapshot) and how to count their end. close() fails
   * them with etcd's "server stopped" (UNAVAILABLE, so clients reconnect elsewhere or
   * later) rather than ending them cleanly: a snapshot cut short must not look complete,
   * and shutdown must not wait for clients to hang up.
   */
  private readonly streams = new Map<NodeJS.EventEmitter, (code: number) => void>();
  private started = false;
  private closed = false;

  constructor(opts: EtcdServerOptions) {
    if (opts.listenClientUrls.length === 0) throw new Error('at least one listen client URL is required');
    opts.listenClientUrls.forEach(bindAddress); // validate early
    this.kv = opts.kv;
    this.snapshotSource = opts.snapshot;
    this.logger = opts.logger;
    this.clock = opts.clock ?? realClock;
    this.name = opts.name ?? 'default';
    this.listenUrls = opts.listenClientUrls;
    this.advertiseUrls = opts.advertiseClientUrls?.length ? opts.advertiseClientUrls : undefined;
    this.peerUrls = opts.initialAdvertisePeerUrls?.length ? opts.initialAdvertisePeerUrls : ['http://localhost:2380'];
    this.maxRequestBytes = opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    this.maxTxnOps = opts.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
    this.memberId = computeMemberId(this.peerUrls, opts.initialClusterToken ?? 'etcd-cluster');
    this.clusterId = computeClusterId([this.memberId]);
    this.memberIdWire = wire64(this.memberId);
    this.clusterIdWire = wire64(this.clusterId);
    this.registry = opts.registry;
    if (opts.registry) this.metrics = newEtcdServerMetrics(opts.registry, () => this.kv.status().dbSize);
    if (opts.autoCompaction) {
      const retention = parseRetention(opts.autoCompaction.mode, opts.autoCompaction.retention);
      if (retention > 0) {
        this.compactor = new Compactor({ kv: this.kv, mode: opts.autoCompaction.mode, retention, clock: this.clock, logger: this.logger });
      }
    }
    this.grpc = new Server({
      'grpc.max_receive_message_length': this.maxRequestBytes + GRPC_OVERHEAD_BYTES,
      'grpc.max_send_message_length': -1,
      // etcd's server keepalive defaults (--grpc-keepalive-interval/-timeout).
      'grpc.keepalive_time_ms': 2 * 3600_000,
      'grpc.keepalive_timeout_ms': 20_000,
      // Channelz (grpc's introspection service, which we do not serve) would otherwise
      // count and timestamp every call.
      'grpc.enable_channelz': 0,
    });
    this.addServices();
  }

  /** The client URLs as bound (a requested port 0 replaced by the actual port). */
  get clientUrls(): string[] {
    return [...this.boundUrls];
  }

  /** The member's advertised client URLs (MemberList). */
  get advertisedClientUrls(): string[] {
    return this.advertiseUrls ?? this.clientUrls;
  }

  /** Binds every listen URL and starts serving; rejects if a port cannot be bound. */
  async start(): Promise<void> {
    if (this.started) throw new Error('EtcdServer already started');
    this.started = true;
    // We accept connections ourselves and hand them to grpc-js through an injector, as the
    // raw socket or, if a client's :authority needs it, behind an AuthorityRewriter
    // (h2authority.ts explains why and how it decides).
    this.injector = this.grpc.createConnectionInjector(ServerCredentials.createInsecure());
    for (const url of this.listenUrls) {
      const u = new URL(url);
      const listener = createNetServer((socket) => {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
        socket.setNoDelay(true);
        // etcd serves gRPC and plain HTTP (/health, /version, /metrics) on the client port;
        // the first bytes tell which one a connection speaks.
        socket.once('data', (first: Buffer) => {
          socket.pause();
          socket.unshift(first);
          if (!looksLikeHttp2(first)) {
            this.http.emit('connection', rewritingDuplex(socket));
            return;
          }
          routeHttp2Connection(socket, {
            native: (s) => this.injector!.injectConnection(s),
            rewriting: (d) => this.injector!.injectConnection(d),
          });
        });
      });
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(Number(u.port), u.hostname.replace(/^\[|\]$/g, ''), () => { listener.off('error', reject); resolve(); });
      });
      this.listeners.push(listener);
      u.port = String((listener.address() as AddressInfo).port);
      this.boundUrls.push(u.toString().replace(/\/$/, ''));
    }
    this.compactor?.start();
    this.logger.info({ memberId: idString(this.memberId), clusterId: idString(this.clusterId), clientUrls: this.boundUrls }, 'ready to serve client requests');
    for (const u of this.boundUrls) {
      this.logger.warn({ address: new URL(u).host }, 'serving insecure client requests, this is strongly discouraged!');
    }
  }

  /**
   * Stops serving: ends open streams, lets in-flight unary calls finish (bounded by
   * graceMs), then closes the listeners. The store is the caller's to close afterwards.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.compactor?.stop();
    for (const [call, finish] of [...this.streams]) {
      finish(etcdErrors.stopped.code);
      call.emit('error', toServiceError(new EtcdServerError(etcdErrors.stopped)));
    }
    this.streams.clear();
    // Stop accepting now; a listener's close completes only once its connections are gone.
    const listenersClosed = this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve())));
    await new Promise<void>((resolve) => {
      const timer = this.clock.setTimeout(() => { this.grpc.forceShutdown(); resolve(); }, graceMs);
      this.grpc.tryShutdown(() => { timer.cancel(); resolve(); });
    });
    this.injector?.destroy();
    this.http.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(listenersClosed);
  }

  /** A full response header at `revision` (etcd fills all four fields on top-level responses). */
  header(revision: number): PbResponseHeader {
    return { cluster_id: this.clusterIdWire, member_id: this.memberIdWire, revision, raft_term: RAFT_TERM };
  }

  private checkSize(req: unknown): void {
    if (requestSize(req) > this.maxRequestBytes) throw new EtcdServerError(etcdErrors.requestTooLarge);
  }

  // ---- plumbing: metrics and error translation around every handler ----

  private unary<Req, Res>(service: EtcdServiceName, method: string, fn: (req: Req) => Promise<Res>) {
    const metrics = this.metrics?.forMethod('unary', `etcdserverpb.${service}`, method);
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      metrics?.started();
      fn(call.request).then(
        (res) => {
          metrics?.handled(GrpcStatus.OK);
          callback(null, res);
        },
        (err: unknown) => {
          const e = toServiceError(err);
          metrics?.handled(e.code ?? GrpcStatus.UNKNOWN);
          if (e.code === GrpcStatus.UNKNOWN) this.logger.warn({ err, method }, 'request failed');
          callback(e);
        },
      );
    };
  }

  /** Counts a stream's start now and its end (with its status) once, however it ends. */
  private trackStream(type: GrpcType, service: EtcdServiceName, method: string, call: NodeJS.EventEmitter): (code: number) => void {
    const svc = `etcdserverpb.${service}`;
    this.metrics?.started(type, svc, method);
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      this.streams.delete(call);
      this.metrics?.handled(type, svc, method, code);
    };
    this.streams.set(call, finish);
    return finish;
  }

  private addServices(): void {
    const impl = (m: Record<string, unknown>) => m as UntypedServiceImplementation;
    this.grpc.addService(withRequestSize(etcdService('KV')), impl({
      Range: this.unary('KV', 'Range', (r: PbRangeRequest) => this.range(r)),
      Put: this.unary('KV', 'Put', (r: PbPutRequest) => this.put(r)),
      DeleteRange: this.unary('KV', 'DeleteRange', (r: PbDeleteRangeRequest) => this.deleteRange(r)),
      Txn: this.unary('KV', 'Txn', (r: PbTxnRequest) => this.txn(r)),
      Compact: this.unary('KV', 'Compact', (r: PbCompactionRequest) => this.compact(r)),
    }));
    this.grpc.addService(etcdService('Watch'), impl({
      Watch: (call: ServerDuplexStream<PbWatchRequest, PbWatchResponse>) => this.watch(call),
    }));
    this.grpc.addService(withRequestSize(etcdService('Lease')), impl({
      LeaseGrant: this.unary('Lease', 'LeaseGrant', (r: PbLeaseGrantRequest) => this.leaseGrant(r)),
      LeaseRevoke: this.unary('Lease', 'LeaseRevoke', (r: PbLeaseIdRequest) => this.leaseRevoke(r)),
      LeaseKeepAlive: (call: ServerDuplexStream<PbLeaseIdRequest, object>) => this.leaseKeepAlive(call),
      LeaseTimeToLive: this.unary('Lease', 'LeaseTimeToLive', (r: PbLeaseTimeToLiveRequest) => this.leaseTimeToLive(r)),
      LeaseLeases: this.unary('Lease', 'LeaseLeases', () => this.leaseLeases()),
    }));
    // MemberAdd/Remove/Update/Promote are left to grpc-js's UNIMPLEMENTED default: a
    // Flotilla store has exactly one member.
    this.grpc.addService(etcdService('Cluster'), impl({
      MemberList: this.unary('Cluster', 'MemberList', async () => this.memberList()),
    }));
    this.grpc.addService(etcdService('Maintenance'), impl({
      Alarm: this.unary('Maintenance', 'Alarm', async () => ({ header: this.header(this.kv.status().revision), alarms: [] })),
      Status: this.unary('Maintenance', 'Status', async () => this.status()),
      // Nothing to defragment: the store compacts its files itself.
      Defragment: this.unary('Maintenance', 'Defragment', async () => ({ header: this.header(this.kv.status().revision) })),
      Snapshot: (call: ServerWritableStream<object, object>) => void this.snapshot(call),
      HashKV: this.unary('Maintenance', 'HashKV', (r: { revision: string }) => this.hashKV(int(r.revision))),
      Hash: this.unary('Maintenance', 'Hash', async () => {
        const res = await this.hashKV(0);
        return { header: res.header, hash: res.hash };
      }),
      // The only member is the leader already; any other target does not exist.
      MoveLeader: this.unary('Maintenance', 'MoveLeader', async (r: { targetID: string }) => {
        if (BigInt(r.targetID || '0') !== this.memberId) throw new EtcdServerError(etcdErrors.badLeaderTransferee);
        return { header: this.header(this.kv.status().revision) };
      }),
    }));
    // Authentication is never enabled here; answer as etcd does with auth disabled.
    this.grpc.addService(etcdService('Auth'), impl({
      AuthEnable: this.unary('Auth', 'AuthEnable', async () => { throw new EtcdServerError(etcdErrors.rootUserNotExist); }),
      AuthDisable: this.unary('Auth', 'AuthDisable', async () => ({ header: this.header(this.kv.status().revision) })),
      Authenticate: this.unary('Auth', 'Authenticate', async () => { throw new EtcdServerError(etcdErrors.authNotEnabled); }),
      UserList: this.unary('Auth', 'UserList', async () => ({ header: this.header(this.kv.status().revision), users: [] })),
      RoleList: this.unary('Auth', 'RoleList', async () => ({ header: this.header(this.kv.status().revision), roles: [] })),
    }));
  }

  private serveHttp(req: IncomingMessage, res: ServerResponse): void {
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/health') {
      let ok = true;
      try { this.kv.status(); } catch { ok = false; }
      send(ok ? 200 : 503, 'application/json', JSON.stringify({ health: String(ok) }));
    } else if (path === '/version') {
      send(200, 'application/json', JSON.stringify({ etcdserver: ETCD_VERSION, etcdcluster: ETCD_CLUSTER_VERSION }));
    } else if (path === '/metrics' && this.registry) {
      const registry = this.registry;
      registry.metrics().then((m) => send(200, registry.contentType, m), (e: Error) => send(500, 'text/plain', e.message));
    } else {
      send(404, 'text/plain; charset=utf-8', '404 page not found\n');
    }
  }

  // ---- KV ----

  private async range(r: PbRangeRequest): Promise<object> {
    const res = await this.kv.range(rangeFromPb(r));
    return { header: this.header(res.header.revision), kvs: res.kvs.map(kvToPb), more: res.more, count: res.count };
  }

  private async put(r: PbPutRequest): Promise<object> {
    this.checkSize(r);
    const res = await this.kv.put(putFromPb(r));
    return { header: this.header(res.header.revision), prev_kv: res.prevKv ? kvToPb(res.prevKv) : null };
  }

  private async deleteRange(r: PbDeleteRangeRequest): Promise<object> {
    this.checkSize(r);
    const res = await this.kv.deleteRange(deleteFromPb(r));
    return { header: this.header(res.header.revision), deleted: res.deleted, prev_kvs: res.prevKvs.map(kvToPb) };
  }

  private async txn(r: PbTxnRequest): Promise<object> {
    const req = txnFromPb(r, this.maxTxnOps);
    // Read-only txns are served without a proposal in etcd, so the proposal size limit
    // does not apply to them.
    if (!txnIsReadOnly(req)) this.checkSize(r);
    const res = await this.kv.txn(req);
    return { header: this.header(res.header.revision), succeeded: res.succeeded, responses: res.responses.map(responseOpToPb) };
  }

  private async compact(r: PbCompactionRequest): Promise<object> {
    const res = await this.kv.compact({ revision: int(r.revision), physical: r.physical });
    return { header: this.header(res.revision) };
  }

  // ---- Watch ----

  private watch(call: ServerDuplexStream<PbWatchRequest, PbWatchResponse>): void {
    const finish = this.trackStream('bidi_stream', 'Watch', 'Watch', call);
    const session = new WatchSession({
      kv: this.kv,
      send: (resp) => {
        if (call.destroyed || call.writableEnded) return;
        call.write(resp);
        // The store pushes events without flow control; a client that stops reading must
        // not make us buffer without bound. Ending its stream makes it re-watch from its
        // last revision, which the store serves from history.
        if (call.writableLength > MAX_WATCH_STREAM_BUFFER_BYTES) {
          this.logger.warn({ buffered: call.writableLength }, 'watch stream client too slow; closing the stream');
          stop(GrpcStatus.UNAVAILABLE);
          call.emit('error', toServiceError(new EtcdServerError(etcdErrors.watchStreamTooSlow)));
        }
      },
      header: (rev) => this.header(rev),
      logger: this.logger,
    });
    const stop = (code: number) => { session.close(); finish(code); };
    call.on('data', (req: PbWatchRequest) => {
      try {
        session.handle(req);
      } catch (err) {
        this.logger.warn({ err }, 'watch request failed');
        stop(toServiceError(err).code ?? GrpcStatus.UNKNOWN);
        call.emit('error', toServiceError(err));
      }
    });
    call.on('end', () => { stop(GrpcStatus.OK); call.end(); });
    call.on('cancelled', () => stop(GrpcStatus.CANCELLED));
    call.on('error', () => stop(GrpcStatus.CANCELLED));
    call.on('close', () => stop(GrpcStatus.OK));
  }

  // ---- Lease ----

  private async leaseGrant(r: PbLeaseGrantRequest): Promise<object> {
    this.checkSize(r);
    const ttl = int(r.TTL);
    if (ttl > MAX_LEASE_TTL) throw new EtcdServerError(etcdErrors.leaseTTLTooLarge);
    const res = await this.kv.leaseGrant(ttl, leaseId(r.ID));
    return { header: this.header(res.header.revision), ID: wire64(res.id), TTL: res.ttl, error: '' };
  }

  private async leaseRevoke(r: PbLeaseIdRequest): Promise<object> {
    const res = await this.kv.leaseRevoke(leaseId(r.ID));
    return { header: this.header(res.revision) };
  }

  private async leaseTimeToLive(r: PbLeaseTimeToLiveRequest): Promise<object> {
    const id = leaseId(r.ID);
    try {
      const res = await this.kv.leaseTimeToLive(id, r.keys);
      return { header: this.header(res.header.revision), ID: wire64(id), TTL: res.ttl, grantedTTL: res.grantedTtl, keys: res.keys };
    } catch (err) {
      // etcd answers an unknown lease with TTL -1 rather than an error.
      if (!isMvccError(err, 'LeaseNotFound')) throw err;
      return { header: this.header(this.kv.status().revision), ID: wire64(id), TTL: -1, grantedTTL: 0, keys: [] };
    }
  }

  private async leaseLeases(): Promise<object> {
    const res = await this.kv.leaseLeases();
    return { header: this.header(res.header.revision), leases: res.leases.map((id) => ({ ID: wire64(id) })) };
  }

  /**
   * Answers each keep-alive in order. An unknown (expired, revoked) lease is answered with
   * TTL 0, not an error, as etcd does: the client then reports the lease as gone.
   */
  private leaseKeepAlive(call: ServerDuplexStream<PbLeaseIdRequest, object>): void {
    const finish = this.trackStream('bidi_stream', 'Lease', 'LeaseKeepAlive', call);
    let chain = Promise.resolve();
    let ended = false;
    call.on('data', (req: PbLeaseIdRequest) => {
      const id = leaseId(req.ID);
      chain = chain.then(async () => {
        if (ended) return;
        let resp: object;
        try {
          const res = await this.kv.leaseKeepAlive(id);
          resp = { header: this.header(res.header.revision), ID: wire64(id), TTL: res.ttl };
        } catch (err) {
          if (!isMvccError(err, 'LeaseNotFound')) {
            ended = true;
            const e = toServiceError(err);
            finish(e.code ?? GrpcStatus.UNKNOWN);
            call.emit('error', e);
            return;
          }
          resp = { header: this.header(this.kv.status().revision), ID: wire64(id), TTL: 0 };
        }
        if (!ended && !call.destroyed && !call.writableEnded) call.write(resp);
      });
    });
    call.on('end', () => {
      void chain.then(() => {
        ended = true;
        finish(GrpcStatus.OK);
        if (!call.writableEnded) call.end();
      });
    });
    call.on('cancelled', () => { ended = true; finish(GrpcStatus.CANCELLED); });
    call.on('error', () => { ended = true; finish(GrpcStatus.CANCELLED); });
    call.on('close', () => { ended = true; finish(GrpcStatus.OK); });
  }

  // ---- Cluster and Maintenance ----

  private memberList(): object {
    return {
      header: { cluster_id: wire64(this.clusterId), member_id: wire64(this.memberId), raft_term: RAFT_TERM },
      members: [{
        ID: wire64(this.memberId),
        name: this.name,
        peerURLs: this.peerUrls,
        clientURLs: this.advertisedClientUrls,
        isLearner: false,
      }],
    };
  }

  private status(): object {
    const s = this.kv.status();
    return {
      header: this.header(s.revision),
      version: ETCD_VERSION,
      dbSize: s.dbSize,
      leader: wire64(this.memberId),
      raftIndex: s.appliedIndex,
      raftTerm: RAFT_TERM,
      raftAppliedIndex: s.appliedIndex,
      errors: [],
      dbSizeInUse: s.dbSizeInUse,
      isLearner: false,
    };
  }

  /**
   * etcd's HashKV is a checksum of the key bucket up to a revision, for comparing members.
   * Ours is CRC-32C over every live key-value (key, value, revisions, version, lease) at
   * the revision: equal stores give equal hashes, but the values differ from etcd's.
   */
  private async hashKV(revision: number): Promise<{ header: PbResponseHeader; hash: number; compact_revision: number }> {
    const res = await this.kv.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]), revision });
    let crc = crc32cInit();
    for (const kv of res.kvs) {
      const meta = Buffer.alloc(40);
      meta.writeBigInt64BE(BigInt(kv.createRevision), 0);
      meta.writeBigInt64BE(BigInt(kv.modRevision), 8);
      meta.writeBigInt64BE(BigInt(kv.version), 16);
      meta.writeBigInt64BE(BigInt.asIntN(64, kv.lease), 24);
      meta.writeUInt32BE(kv.key.length, 32);
      meta.writeUInt32BE(kv.value.length, 36);
      crc = crc32cUpdate(crc32cUpdate(crc32cUpdate(crc, meta), kv.key), kv.value);
    }
    return { header: this.header(res.header.revision), hash: crc32cFinal(crc), compact_revision: this.kv.status().compactRevision };
  }

  /**
   * Streams the store's backup in the snapshot file format (snapshot.ts). The backup is
   * spooled to a temporary file first so every message can carry the exact remaining
   * byte count and the trailing checksum, as etcd's stream does.
   */
  private async snapshot(call: ServerWritableStream<object, object>): Promise<void> {
    const finish = this.trackStream('server_stream', 'Maintenance', 'Snapshot', call);
    const fail = (err: unknown) => {
      const e = toServiceError(err);
      finish(e.code ?? GrpcStatus.UNKNOWN);
      call.emit('error', e);
    };
    if (!this.snapshotSource) {
      fail(new EtcdServerError({ code: GrpcStatus.UNIMPLEMENTED, message: 'snapshot is not supported by this store' }));
      return;
    }
    let cancelled = false;
    call.on('cancelled', () => { cancelled = true; finish(GrpcStatus.CANCELLED); });
    call.on('error', () => { cancelled = true; });
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-snapshot-'));
    try {
      const header = this.header(this.kv.status().revision);
      const path = join(dir, 'snapshot.db');
      const size = await writeSnapshotFile(this.snapshotSource.snapshotStream(), path);
      this.logger.info({ size }, 'sending database snapshot to client');
      let remaining = size;
      for await (const chunk of createReadStream(path, { highWaterMark: SNAPSHOT_CHUNK })) {
        if (cancelled || call.destroyed) return;
        const blob = chunk as Buffer;
        remaining -= blob.length;
        if (!call.write({ header, remaining_bytes: remaining, blob })) await waitWritable(call);
      }
      if (cancelled) return;
      finish(GrpcStatus.OK);
      call.end();
      this.logger.info({ size }, 'sent database snapshot to client');
    } catch (err) {
      this.logger.warn({ err }, 'snapshot failed');
      if (!cancelled) fail(err);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
