/**
 * Translation between etcd's wire messages (proto.ts) and the store's API (mvcc/types.ts),
 * plus the request checks etcd's gRPC layer makes before a request reaches its store
 * (etcd's api/v3rpc key.go): empty keys and oversized transactions are refused here, with
 * etcd's errors, whatever the store would do.
 */
import type {
  Compare, DeleteRangeRequest, KeyValue, PutRequest, RangeRequest, RequestOp, ResponseOp,
  TxnRequest, WatchEvent,
} from '../mvcc/types.js';
import { EtcdServerError, etcdErrors } from './errors.js';
import type {
  Int64, PbCompare, PbDeleteRangeRequest, PbEvent, PbKeyValue, PbPutRequest, PbRangeRequest,
  PbRequestOp, PbTxnRequest,
} from './proto.js';

/** An int64 revision/count from the wire; exact up to 2^53 (see mvcc/types.ts). */
export function int(v: Int64 | number | undefined | null): number {
  if (v === undefined || v === null || v === '') return 0;
  return typeof v === 'number' ? v : Number(v);
}

/** A lease ID from the wire: the full signed int64 range, as etcd draws them. */
export function leaseId(v: Int64 | number | undefined | null): bigint {
  if (v === undefined || v === null || v === '') return 0n;
  return BigInt(v);
}

/** A bigint for a 64-bit wire field (int64 or uint64), as the decimal string the loader encodes. */
export function wire64(v: bigint): string {
  return v.toString();
}

export function kvToPb(kv: KeyValue): PbKeyValue {
  return {
    key: kv.key,
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    value: kv.value,
    lease: wire64(kv.lease),
  };
}

export function eventToPb(ev: WatchEvent): PbEvent {
  const out: PbEvent = { type: ev.type, kv: kvToPb(ev.kv) };
  if (ev.prevKv) out.prev_kv = kvToPb(ev.prevKv);
  return out;
}

function optBuf(b: Buffer | undefined): Buffer | undefined {
  return b && b.length > 0 ? b : undefined;
}

function requireKey(key: Buffer | undefined): Buffer {
  if (!key || key.length === 0) throw new EtcdServerError(etcdErrors.emptyKey);
  return key;
}

export function rangeFromPb(r: PbRangeRequest): RangeRequest {
  return {
    key: requireKey(r.key),
    rangeEnd: optBuf(r.range_end),
    limit: int(r.limit),
    revision: int(r.revision),
    sortOrder: r.sort_order,
    sortTarget: r.sort_target,
    keysOnly: r.keys_only,
    countOnly: r.count_only,
    minModRevision: int(r.min_mod_revision),
    maxModRevision: int(r.max_mod_revision),
    minCreateRevision: int(r.min_create_revision),
    maxCreateRevision: int(r.max_create_revision),
  };
}

/** etcd's checkPutRequest: "ignore" flags exclude giving the value or lease they keep. */
export function putFromPb(r: PbPutRequest): PutRequest {
  if (r.ignore_value && r.value.length > 0) throw new EtcdServerError(etcdErrors.valueProvided);
  if (r.ignore_lease && leaseId(r.lease) !== 0n) throw new EtcdServerError(etcdErrors.leaseProvided);
  return {
    key: requireKey(r.key),
    value: r.value ?? Buffer.alloc(0),
    lease: leaseId(r.lease),
    prevKv: r.prev_kv,
    ignoreValue: r.ignore_value,
    ignoreLease: r.ignore_lease,
  };
}

export function deleteFromPb(r: PbDeleteRangeRequest): DeleteRangeRequest {
  return { key: requireKey(r.key), rangeEnd: optBuf(r.range_end), prevKv: r.prev_kv };
}

function compareFromPb(c: PbCompare): Compare {
  const out: Compare = { key: requireKey(c.key), rangeEnd: optBuf(c.range_end), target: c.target, result: c.result };
  // The operand is the oneof member matching the target; an absent member is proto3's zero.
  switch (c.target) {
    case 'VERSION': out.version = int(c.version); break;
    case 'CREATE': out.createRevision = int(c.create_revision); break;
    case 'MOD': out.modRevision = int(c.mod_revision); break;
    case 'VALUE': out.value = c.value ?? Buffer.alloc(0); break;
    case 'LEASE': out.lease = leaseId(c.lease); break;
  }
  return out;
}

function opFromPb(op: PbRequestOp, maxTxnOps: number): RequestOp {
  switch (op.request) {
    case 'request_range': return { range: rangeFromPb(op.request_range!) };
    case 'request_put': return { put: putFromPb(op.request_put!) };
    case 'request_delete_range': return { deleteRange: deleteFromPb(op.request_delete_range!) };
    case 'request_txn': return { txn: txnFromPb(op.request_txn!, maxTxnOps) };
    // etcd's checkRequestOp treats an empty op as a key-less request.
    default: throw new EtcdServerError(etcdErrors.emptyKey);
  }
}

/** etcd's checkTxnRequest: at most maxTxnOps compares, success ops and failure ops each. */
export function txnFromPb(t: PbTxnRequest, maxTxnOps: number): TxnRequest {
  if (t.compare.length > maxTxnOps || t.success.length > maxTxnOps || t.failure.length > maxTxnOps) {
    throw new EtcdServerError(etcdErrors.tooManyOps);
  }
  return {
    compare: t.compare.map(compareFromPb),
    success: t.success.map((op) => opFromPb(op, maxTxnOps)),
    failure: t.failure.map((op) => opFromPb(op, maxTxnOps)),
  };
}

/** True when a txn only reads: etcd serves those without a proposal, so no size limit. */
export function txnIsReadOnly(t: TxnRequest): boolean {
  const ro = (op: RequestOp): boolean => 'range' in op || ('txn' in op && txnIsReadOnly(op.txn));
  return t.success.every(ro) && t.failure.every(ro);
}

/**
 * A txn sub-response in etcd's shape: sub-response headers carry only the revision (etcd
 * fills cluster/member/term on the outer header alone).
 */
export function responseOpToPb(op: ResponseOp): object {
  if ('range' in op) {
    const r = op.range;
    return { response_range: { header: { revision: r.header.revision }, kvs: r.kvs.map(kvToPb), more: r.more, count: r.count } };
  }
  if ('put' in op) {
    const r = op.put;
    return { response_put: { header: { revision: r.header.revision }, prev_kv: r.prevKv ? kvToPb(r.prevKv) : null } };
  }
  if ('deleteRange' in op) {
    const r = op.deleteRange;
    return { response_delete_range: { header: { revision: r.header.revision }, deleted: r.deleted, prev_kvs: r.prevKvs.map(kvToPb) } };
  }
  const r = op.txn;
  return { response_txn: { header: { revision: r.header.revision }, succeeded: r.succeeded, responses: r.responses.map(responseOpToPb) } };
}
