/**
 * The gRPC statuses etcd answers with. etcd's client matches the status *message* against
 * its table of known errors (rpctypes), so both the code and the exact text matter: a
 * client that sees "etcdserver: mvcc: required revision has been compacted" turns it into
 * its ErrCompacted, and etcdctl prints "Error: <message>".
 */
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { isMvccError, type MvccErrorCode } from '../mvcc/errors.js';

export interface EtcdStatus {
  code: GrpcStatus;
  message: string;
}

function st(code: GrpcStatus, message: string): EtcdStatus {
  return { code, message };
}

/** etcd's server-side errors that Flotilla produces (etcd's api/v3rpc/rpctypes wording). */
export const etcdErrors = {
  emptyKey: st(GrpcStatus.INVALID_ARGUMENT, 'etcdserver: key is not provided'),
  keyNotFound: st(GrpcStatus.INVALID_ARGUMENT, 'etcdserver: key not found'),
  valueProvided: st(GrpcStatus.INVALID_ARGUMENT, 'etcdserver: value is provided'),
  leaseProvided: st(GrpcStatus.INVALID_ARGUMENT, 'etcdserver: lease is provided'),
  tooManyOps: st(GrpcStatus.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'),
  duplicateKey: st(GrpcStatus.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'),
  compacted: st(GrpcStatus.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'),
  futureRev: st(GrpcStatus.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'),
  leaseNotFound: st(GrpcStatus.NOT_FOUND, 'etcdserver: requested lease not found'),
  leaseExist: st(GrpcStatus.FAILED_PRECONDITION, 'etcdserver: lease already exists'),
  leaseTTLTooLarge: st(GrpcStatus.OUT_OF_RANGE, 'etcdserver: too large lease TTL'),
  requestTooLarge: st(GrpcStatus.INVALID_ARGUMENT, 'etcdserver: request is too large'),
  corrupt: st(GrpcStatus.DATA_LOSS, 'etcdserver: corrupt cluster'),
  stopped: st(GrpcStatus.UNAVAILABLE, 'etcdserver: server stopped'),
  notCapable: st(GrpcStatus.UNAVAILABLE, 'etcdserver: not capable'),
  // Flotilla's own (etcd blocks the store's delivery instead); UNAVAILABLE makes etcd's
  // client re-establish the watch.
  watchStreamTooSlow: st(GrpcStatus.UNAVAILABLE, 'etcdserver: watch stream client too slow'),
  rootUserNotExist: st(GrpcStatus.FAILED_PRECONDITION, 'etcdserver: root user does not exist'),
  authNotEnabled: st(GrpcStatus.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled'),
  badLeaderTransferee: st(GrpcStatus.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'),
} satisfies Record<string, EtcdStatus>;

const byMvccCode: Record<MvccErrorCode, EtcdStatus> = {
  Compacted: etcdErrors.compacted,
  FutureRevision: etcdErrors.futureRev,
  KeyNotFound: etcdErrors.keyNotFound,
  LeaseNotFound: etcdErrors.leaseNotFound,
  LeaseExists: etcdErrors.leaseExist,
  LeaseTTLTooLarge: etcdErrors.leaseTTLTooLarge,
  RequestTooLarge: etcdErrors.requestTooLarge,
  TooManyOps: etcdErrors.tooManyOps,
  DuplicateKey: etcdErrors.duplicateKey,
  EmptyKey: etcdErrors.emptyKey,
  Corrupt: etcdErrors.corrupt,
  Closed: etcdErrors.stopped,
};

/** A status error thrown inside a handler; carries the gRPC code to answer with. */
export class EtcdServerError extends Error implements Partial<ServiceError> {
  readonly code: GrpcStatus;
  readonly details: string;

  constructor(s: EtcdStatus) {
    super(s.message);
    this.name = 'EtcdServerError';
    this.code = s.code;
    this.details = s.message;
  }
}

/**
 * The status to answer for any error a handler met: etcd's own for store errors, UNKNOWN
 * (etcd's fallback for errors it does not translate) with the message otherwise.
 */
export function toEtcdStatus(err: unknown): EtcdStatus {
  if (err instanceof EtcdServerError) return { code: err.code, message: err.message };
  if (isMvccError(err)) return byMvccCode[err.code];
  return st(GrpcStatus.UNKNOWN, err instanceof Error ? err.message : String(err));
}

/** grpc-js's error shape for a callback or stream.destroy(). */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const s = toEtcdStatus(err);
  return Object.assign(new Error(s.message), { code: s.code, details: s.message });
}
