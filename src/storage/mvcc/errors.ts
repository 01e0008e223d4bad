/**
 * Errors of the embedded store, carrying identity (STYLE.md rule 8): a `code` to switch
 * on and etcd's exact message text, which the gRPC server passes through unchanged so the
 * real etcdctl prints what it prints against a real etcd.
 */

export type MvccErrorCode =
  | 'Compacted'
  | 'FutureRevision'
  | 'KeyNotFound'
  | 'LeaseNotFound'
  | 'LeaseExists'
  | 'LeaseTTLTooLarge'
  | 'RequestTooLarge'
  | 'TooManyOps'
  | 'DuplicateKey'
  | 'EmptyKey'
  | 'Corrupt'
  | 'Closed';

/** etcd's wording for each code. */
export const mvccMessages: Record<MvccErrorCode, string> = {
  Compacted: 'mvcc: required revision has been compacted',
  FutureRevision: 'mvcc: required revision is a future revision',
  KeyNotFound: 'etcdserver: key not found',
  LeaseNotFound: 'etcdserver: requested lease not found',
  LeaseExists: 'etcdserver: lease already exists',
  LeaseTTLTooLarge: 'etcdserver: too large lease TTL',
  RequestTooLarge: 'etcdserver: request is too large',
  TooManyOps: 'etcdserver: too many operations in txn request',
  DuplicateKey: 'etcdserver: duplicate key given in txn request',
  EmptyKey: 'etcdserver: key is not provided',
  Corrupt: 'mvcc: data is corrupt',
  Closed: 'mvcc: store is closed',
};

export class MvccError extends Error {
  readonly code: MvccErrorCode;
  /** For Compacted: the compacted revision. */
  readonly compactRevision?: number;

  constructor(code: MvccErrorCode, opts: { message?: string; compactRevision?: number; cause?: unknown } = {}) {
    super(opts.message ?? mvccMessages[code], { cause: opts.cause });
    this.name = 'MvccError';
    this.code = code;
    this.compactRevision = opts.compactRevision;
  }
}

export function isMvccError(err: unknown, code?: MvccErrorCode): err is MvccError {
  return err instanceof MvccError && (code === undefined || err.code === code);
}
