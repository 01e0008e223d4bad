/**
 * A small in-memory `KV` for the gRPC server's own tests: enough etcd semantics (ranges,
 * history, compaction, txn compares, leases, watches from history) to exercise every RPC
 * in-process without the real store. Not a store: no durability, O(n) everything.
 */
import { MvccError } from '../mvcc/errors.js';
import type {
  Compare, CompactionRequest, DeleteRangeRequest, DeleteRangeResponse, KV, KeyValue, LeaseGrantResponse,
  LeaseID, LeaseTimeToLiveResponse, PutRequest, PutResponse, RangeRequest, RangeResponse, RequestOp,
  ResponseHeader, ResponseOp, StoreStatus, TxnRequest, TxnResponse, WatchEvent, WatchRequest, WatchResponse, Watcher,
} from '../mvcc/types.js';

interface Version { kv: KeyValue; deleted: boolean }
interface Lease { id: LeaseID; ttl: number; expiresAt: number; keys: Set<string> }
interface FakeWatcher { id: number; req: WatchRequest; next: number; cb: (r: WatchResponse) => void; cancelled: boolean }

const hex = (b: Buffer) => b.toString('hex');

function inRange(key: Buffer, start: Buffer, end?: Buffer): boolean {
  if (!end || end.length === 0) return key.equals(start);
  if (end.length === 1 && end[0] === 0) return Buffer.compare(key, start) >= 0;
  return Buffer.compare(key, start) >= 0 && Buffer.compare(key, end) < 0;
}

export class MemKV implements KV {
  rev = 1;
  compacted = 0;
  private versions = new Map<string, Version[]>();
  private events: Array<{ rev: number; ev: WatchEvent }> = [];
  private leases = new Map<bigint, Lease>();
  private watchers = new Set<FakeWatcher>();
  private nextWatcher = 1;
  private nextLease = 0x694d000000000000n;
  now: () => number = () => Date.now();

  private hdr(): ResponseHeader { return { revision: this.rev }; }

  private at(key: string, rev: number): Version | undefined {
    const vs = this.versions.get(key) ?? [];
    let found: Version | undefined;
    for (const v of vs) if (v.kv.modRevision <= rev) found = v;
    return found && !found.deleted ? found : undefined;
  }

  private keysIn(start: Buffer, end: Buffer | undefined, rev: number): KeyValue[] {
    const out: KeyValue[] = [];
    for (const k of this.versions.keys()) {
      const key = Buffer.from(k, 'hex');
      if (!inRange(key, start, end)) continue;
      const v = this.at(k, rev);
      if (v) out.push(v.kv);
    }
    return out.sort((a, b) => Buffer.compare(a.key, b.key));
  }

  async range(req: RangeRequest): Promise<RangeResponse> { return this.rangeSync(req); }

  private rangeSync(req: RangeRequest): RangeResponse {
    const rev = req.revision && req.revision > 0 ? req.revision : this.rev;
    if (rev > this.rev) throw new MvccError('FutureRevision');
    if (rev < this.compacted) throw new MvccError('Compacted', { compactRevision: this.compacted });
    let kvs = this.keysIn(req.key, req.rangeEnd, rev);
    const count = kvs.length;
    if (req.sortOrder === 'DESCEND') kvs.reverse();
    const more = !!req.limit && kvs.length > req.limit;
    if (req.limit) kvs = kvs.slice(0, req.limit);
    if (req.countOnly) kvs = [];
    if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: Buffer.alloc(0) }));
    return { header: this.hdr(), kvs, more, count };
  }

  private write(rev: number, key: Buffer, value: Buffer | null, lease: bigint): WatchEvent {
    const k = hex(key);
    const prev = this.at(k, rev);
    const vs = this.versions.get(k) ?? [];
    this.versions.set(k, vs);
    if (prev?.kv.lease) this.leases.get(prev.kv.lease)?.keys.delete(k);
    if (value === null) {
      const kv: KeyValue = { key, createRevision: 0, modRevision: rev, version: 0, value: Buffer.alloc(0), lease: 0n };
      vs.push({ kv, deleted: true });
      const ev: WatchEvent = { type: 'DELETE', kv, prevKv: prev?.kv };
      this.events.push({ rev, ev });
      return ev;
    }
    const kv: KeyValue = {
      key, value, lease, modRevision: rev,
      createRevision: prev ? prev.kv.createRevision : rev,
      version: prev ? prev.kv.version + 1 : 1,
    };
    if (lease) this.leases.get(lease)!.keys.add(k);
    vs.push({ kv, deleted: false });
    const ev: WatchEvent = { type: 'PUT', kv, prevKv: prev?.kv };
    this.events.push({ rev, ev });
    return ev;
  }

  private putAt(rev: number, req: PutRequest): PutResponse {
    const prev = this.at(hex(req.key), rev);
    if ((req.ignoreValue || req.ignoreLease) && !prev) throw new MvccError('KeyNotFound');
    const lease = req.ignoreLease ? prev!.kv.lease : req.lease ?? 0n;
    if (lease && !this.leases.has(lease)) throw new MvccError('LeaseNotFound');
    this.write(rev, req.key, req.ignoreValue ? prev!.kv.value : req.value, lease);
    return { header: { revision: rev }, prevKv: req.prevKv ? prev?.kv : undefined };
  }

  private deleteAt(rev: number, req: DeleteRangeRequest): DeleteRangeResponse {
    const victims = this.keysIn(req.key, req.rangeEnd, rev);
    for (const kv of victims) this.write(rev, kv.key, null, 0n);
    return { header: { revision: rev }, deleted: victims.length, prevKvs: req.prevKv ? victims : [] };
  }

  async put(req: PutRequest): Promise<PutResponse> {
    const res = this.putAt(this.rev + 1, req);
    this.rev++;
    this.notify();
    return res;
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    const res = this.deleteAt(this.rev + 1, req);
    if (res.deleted > 0) { this.rev++; this.notify(); }
    res.header.revision = this.rev;
    return res;
  }

  private compare(c: Compare): boolean {
    const kvs = c.rangeEnd ? this.keysIn(c.key, c.rangeEnd, this.rev) : [this.at(hex(c.key), this.rev)?.kv];
    return kvs.every((kv) => {
      let cmp: number;
      switch (c.target) {
        case 'VERSION': cmp = (kv?.version ?? 0) - (c.version ?? 0); break;
        case 'CREATE': cmp = (kv?.createRevision ?? 0) - (c.createRevision ?? 0); break;
        case 'MOD': cmp = (kv?.modRevision ?? 0) - (c.modRevision ?? 0); break;
        case 'VALUE': if (!kv) return false; cmp = Buffer.compare(kv.value, c.value ?? Buffer.alloc(0)); break;
        case 'LEASE': { const d = (kv?.lease ?? 0n) - (c.lease ?? 0n); cmp = d > 0n ? 1 : d < 0n ? -1 : 0; break; }
      }
      switch (c.result) {
        case 'EQUAL': return cmp === 0;
        case 'NOT_EQUAL': return cmp !== 0;
        case 'GREATER': return cmp > 0;
        case 'LESS': return cmp < 0;
      }
      return false;
    });
  }

  private runOps(rev: number, ops: RequestOp[]): { responses: ResponseOp[]; wrote: boolean } {
    let wrote = false;
    const responses = ops.map((op): ResponseOp => {
      if ('range' in op) return { range: this.rangeSync({ ...op.range, revision: op.range.revision || rev - 1 }) };
      if ('put' in op) { wrote = true; return { put: this.putAt(rev, op.put) }; }
      if ('deleteRange' in op) { const r = this.deleteAt(rev, op.deleteRange); wrote ||= r.deleted > 0; return { deleteRange: r }; }
      const ok = op.txn.compare.every((c) => this.compare(c));
      const inner = this.runOps(rev, ok ? op.txn.success : op.txn.failure);
      wrote ||= inner.wrote;
      return { txn: { header: { revision: rev }, succeeded: ok, responses: inner.responses } };
    });
    return { responses, wrote };
  }

  async txn(req: TxnRequest): Promise<TxnResponse> {
    const ok = req.compare.every((c) => this.compare(c));
    const { responses, wrote } = this.runOps(this.rev + 1, ok ? req.success : req.failure);
    if (wrote) { this.rev++; this.notify(); }
    const fix = (rs: ResponseOp[]) => rs.forEach((r) => {
      const inner = 'range' in r ? r.range : 'put' in r ? r.put : 'deleteRange' in r ? r.deleteRange : r.txn;
      inner.header.revision = this.rev;
      if ('txn' in r) fix(r.txn.responses);
    });
    fix(responses);
    return { header: this.hdr(), succeeded: ok, responses };
  }

  async compact(req: CompactionRequest): Promise<ResponseHeader> {
    if (req.revision <= this.compacted) throw new MvccError('Compacted', { compactRevision: this.compacted });
    if (req.revision > this.rev) throw new MvccError('FutureRevision');
    this.compacted = req.revision;
    return this.hdr();
  }

  async leaseGrant(ttl: number, id?: LeaseID): Promise<LeaseGrantResponse> {
    const lid = id || this.nextLease++;
    if (this.leases.has(lid)) throw new MvccError('LeaseExists');
    const granted = Math.max(ttl, 2);
    this.leases.set(lid, { id: lid, ttl: granted, expiresAt: this.now() + granted * 1000, keys: new Set() });
    return { header: this.hdr(), id: lid, ttl: granted };
  }

  async leaseRevoke(id: LeaseID): Promise<ResponseHeader> {
    const l = this.leases.get(id);
    if (!l) throw new MvccError('LeaseNotFound');
    this.leases.delete(id);
    if (l.keys.size > 0) {
      this.rev++;
      for (const k of l.keys) this.write(this.rev, Buffer.from(k, 'hex'), null, 0n);
      this.notify();
    }
    return this.hdr();
  }

  async leaseKeepAlive(id: LeaseID): Promise<{ header: ResponseHeader; id: LeaseID; ttl: number }> {
    const l = this.leases.get(id);
    if (!l) throw new MvccError('LeaseNotFound');
    l.expiresAt = this.now() + l.ttl * 1000;
    return { header: this.hdr(), id, ttl: l.ttl };
  }

  async leaseTimeToLive(id: LeaseID, keys?: boolean): Promise<LeaseTimeToLiveResponse> {
    const l = this.leases.get(id);
    if (!l) return { header: this.hdr(), id, ttl: -1, grantedTtl: 0, keys: [] };
    return {
      header: this.hdr(), id, grantedTtl: l.ttl,
      ttl: Math.max(0, Math.ceil((l.expiresAt - this.now()) / 1000) - 1),
      keys: keys ? [...l.keys].map((k) => Buffer.from(k, 'hex')) : [],
    };
  }

  async leaseLeases(): Promise<{ header: ResponseHeader; leases: LeaseID[] }> {
    return { header: this.hdr(), leases: [...this.leases.keys()] };
  }

  watch(req: WatchRequest, onResponse: (resp: WatchResponse) => void): Watcher {
    const w: FakeWatcher = { id: this.nextWatcher++, req, next: req.startRevision || this.rev + 1, cb: onResponse, cancelled: false };
    this.watchers.add(w);
    setImmediate(() => {
      if (w.cancelled) return;
      if (req.startRevision && req.startRevision <= this.compacted) {
        this.watchers.delete(w);
        w.cb({ header: this.hdr(), events: [], compactRevision: this.compacted, canceled: true });
        return;
      }
      this.catchUp(w);
    });
    return {
      id: w.id,
      cancel: () => { w.cancelled = true; this.watchers.delete(w); },
      requestProgress: () => setImmediate(() => { if (!w.cancelled) w.cb({ header: this.hdr(), events: [] }); }),
    };
  }

  private catchUp(w: FakeWatcher): void {
    const byRev = new Map<number, WatchEvent[]>();
    for (const { rev, ev } of this.events) {
      if (rev < w.next || !inRange(ev.kv.key, w.req.key, w.req.rangeEnd)) continue;
      if ((ev.type === 'PUT' && w.req.noPut) || (ev.type === 'DELETE' && w.req.noDelete)) continue;
      const e = w.req.prevKv ? ev : { type: ev.type, kv: ev.kv };
      byRev.set(rev, [...(byRev.get(rev) ?? []), e]);
    }
    w.next = this.rev + 1;
    const revs = [...byRev.keys()].sort((a, b) => a - b);
    if (revs.length > 0) w.cb({ header: { revision: revs[revs.length - 1]! }, events: revs.flatMap((r) => byRev.get(r)!) });
  }

  private notify(): void {
    setImmediate(() => { for (const w of this.watchers) if (!w.cancelled) this.catchUp(w); });
  }

  status(): StoreStatus {
    return { revision: this.rev, compactRevision: this.compacted, dbSize: 20480, dbSizeInUse: 16384, appliedIndex: this.rev + 3 };
  }

  async *snapshotStream(): AsyncIterable<Buffer> {
    const state = this.keysIn(Buffer.from([0]), Buffer.from([0]), this.rev);
    yield Buffer.from(JSON.stringify({ rev: this.rev, kvs: state.map((kv) => ({ ...kv, key: hex(kv.key), value: kv.value.toString('base64'), lease: kv.lease.toString() })) }));
  }
}
