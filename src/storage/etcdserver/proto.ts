/**
 * Loads etcd's v3 API (our own .proto files under ./proto, copied next to the compiled
 * JavaScript by scripts/copy-assets.mjs) and names the decoded wire shapes.
 *
 * Loader options, and what callers may rely on because of them:
 *  - keepCase: field names are the proto's (`range_end`, `ID`, `TTL`, `peerURLs`), so a
 *    reader can hold this file next to etcd's rpc.proto;
 *  - longs: String: every 64-bit integer arrives as a decimal string. Lease IDs span the
 *    whole int64 range and member/cluster IDs the whole uint64 range, which a JS number
 *    cannot hold; outgoing 64-bit fields may be given as number or decimal string;
 *  - enums: String, defaults: true, oneofs: true: enums are their names, absent fields
 *    hold proto3 defaults (bytes: empty Buffer), and a oneof's name property says which
 *    member is set (`op.request === 'request_put'`).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

export const protoDir = join(dirname(fileURLToPath(import.meta.url)), 'proto');

let cached: PackageDefinition | undefined;

/** The parsed package definition (etcdserverpb.* and mvccpb.*), loaded once per process. */
export function etcdPackageDefinition(): PackageDefinition {
  cached ??= loadSync('rpc.proto', {
    includeDirs: [protoDir],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return cached;
}

export type EtcdServiceName = 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance' | 'Auth';

/** The service definition for `etcdserverpb.<name>`, for grpc-js Server.addService. */
export function etcdService(name: EtcdServiceName): ServiceDefinition {
  return etcdPackageDefinition()[`etcdserverpb.${name}`] as unknown as ServiceDefinition;
}

/** A client constructor for `etcdserverpb.<name>` (used by `flotilla etcd snapshot save`). */
export function etcdClientConstructor(name: EtcdServiceName): ServiceClientConstructor {
  const pkg = loadPackageDefinition(etcdPackageDefinition());
  return (pkg.etcdserverpb as GrpcObject)[name] as ServiceClientConstructor;
}

/** A 64-bit integer as it travels through the loader: decimal string in, string or number out. */
export type Int64 = string;
export type Int64Out = string | number;

// ---- wire shapes (decoded requests; responses use the same names) ----

export interface PbResponseHeader {
  cluster_id: Int64Out;
  member_id: Int64Out;
  revision: Int64Out;
  raft_term: Int64Out;
}

export interface PbKeyValue {
  key: Buffer;
  create_revision: Int64Out;
  mod_revision: Int64Out;
  version: Int64Out;
  value: Buffer;
  lease: Int64Out;
}

export interface PbEvent {
  type: 'PUT' | 'DELETE';
  kv: PbKeyValue;
  prev_kv?: PbKeyValue | null;
}

export interface PbRangeRequest {
  key: Buffer;
  range_end: Buffer;
  limit: Int64;
  revision: Int64;
  sort_order: 'NONE' | 'ASCEND' | 'DESCEND';
  sort_target: 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';
  serializable: boolean;
  keys_only: boolean;
  count_only: boolean;
  min_mod_revision: Int64;
  max_mod_revision: Int64;
  min_create_revision: Int64;
  max_create_revision: Int64;
}

export interface PbPutRequest {
  key: Buffer;
  value: Buffer;
  lease: Int64;
  prev_kv: boolean;
  ignore_value: boolean;
  ignore_lease: boolean;
}

export interface PbDeleteRangeRequest {
  key: Buffer;
  range_end: Buffer;
  prev_kv: boolean;
}

export interface PbRequestOp {
  request?: 'request_range' | 'request_put' | 'request_delete_range' | 'request_txn';
  request_range?: PbRangeRequest | null;
  request_put?: PbPutRequest | null;
  request_delete_range?: PbDeleteRangeRequest | null;
  request_txn?: PbTxnRequest | null;
}

export interface PbCompare {
  result: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';
  target: 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE';
  key: Buffer;
  target_union?: 'version' | 'create_revision' | 'mod_revision' | 'value' | 'lease';
  version?: Int64;
  create_revision?: Int64;
  mod_revision?: Int64;
  value?: Buffer;
  lease?: Int64;
  range_end: Buffer;
}

export interface PbTxnRequest {
  compare: PbCompare[];
  success: PbRequestOp[];
  failure: PbRequestOp[];
}

export interface PbCompactionRequest {
  revision: Int64;
  physical: boolean;
}

export interface PbWatchCreateRequest {
  key: Buffer;
  range_end: Buffer;
  start_revision: Int64;
  progress_notify: boolean;
  filters: Array<'NOPUT' | 'NODELETE'>;
  prev_kv: boolean;
  watch_id: Int64;
  fragment: boolean;
}

export interface PbWatchRequest {
  request_union?: 'create_request' | 'cancel_request' | 'progress_request';
  create_request?: PbWatchCreateRequest | null;
  cancel_request?: { watch_id: Int64 } | null;
  progress_request?: object | null;
}

export interface PbWatchResponse {
  header: PbResponseHeader;
  watch_id: Int64Out;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: Int64Out;
  cancel_reason?: string;
  events?: PbEvent[];
}

export interface PbLeaseGrantRequest { TTL: Int64; ID: Int64 }
export interface PbLeaseIdRequest { ID: Int64 }
export interface PbLeaseTimeToLiveRequest { ID: Int64; keys: boolean }
