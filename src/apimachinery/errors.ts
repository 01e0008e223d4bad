/**
 * API errors that carry identity (STYLE.md rule 8), after k8s.io/apimachinery's
 * pkg/api/errors and pkg/util/validation/field.
 *
 * A {@link StatusError} holds the metav1.Status object the API server writes on the
 * wire, so the real kubectl prints exactly what it prints against a real cluster.
 * Callers switch on `reason`/`code` through the predicates (`isNotFound`, ...);
 * nothing should ever parse the message text.
 *
 * Field errors ({@link FieldError}) are the building blocks of `newInvalid`: each
 * becomes one `details.causes[]` entry and one clause of the aggregated message.
 * Their rendering follows Kubernetes v1.32 (the version kubectl v1.32 talks to).
 */

// ---------------------------------------------------------------------------------------
// metav1.Status
// ---------------------------------------------------------------------------------------

/** metav1.StatusReason values (the empty string is StatusReasonUnknown). */
export type StatusReason =
  | ''
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'ServerTimeout'
  | 'StoreReadError'
  | 'Timeout'
  | 'TooManyRequests'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'Expired'
  | 'ServiceUnavailable';

/** Reasons upstream "knows": for these, predicates trust the reason over the code. */
const knownReasons: ReadonlySet<string> = new Set<StatusReason>([
  'Unauthorized', 'Forbidden', 'NotFound', 'AlreadyExists', 'Conflict', 'Gone', 'Invalid',
  'ServerTimeout', 'StoreReadError', 'Timeout', 'TooManyRequests', 'BadRequest',
  'MethodNotAllowed', 'NotAcceptable', 'RequestEntityTooLarge', 'UnsupportedMediaType',
  'InternalError', 'Expired', 'ServiceUnavailable',
]);

/** metav1.StatusCause; JSON field `reason` is the Go field `Type`. Empty fields are omitted. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** metav1.StatusDetails. Empty fields are omitted, as Go's `omitempty` does. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** metav1.Status as serialised by the API server. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { selfLink?: string; resourceVersion?: string; continue?: string; remainingItemCount?: number };
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: StatusReason | string;
  details?: StatusDetails;
  code?: number;
}

/** schema.GroupResource: `group` is "" for the core group. */
export interface GroupResource {
  group: string;
  resource: string;
}

/** schema.GroupKind: `group` is "" for the core group. */
export interface GroupKind {
  group: string;
  kind: string;
}

/** GroupResource.String(): "pods", "deployments.apps". */
export function groupResourceString(gr: GroupResource): string {
  return gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`;
}

/** GroupKind.String(): "Pod", "Deployment.apps". */
export function groupKindString(gk: GroupKind): string {
  return gk.group === '' ? gk.kind : `${gk.kind}.${gk.group}`;
}

/**
 * An error carrying a metav1.Status. `message` is the Status message; `status` is the
 * object the API server writes (with `kind`/`apiVersion` set), safe to JSON-encode as is.
 */
export class StatusError extends Error {
  readonly status: Status;

  constructor(status: Omit<Status, 'kind' | 'apiVersion' | 'metadata'> & Partial<Pick<Status, 'metadata'>>) {
    super(status.message ?? '');
    this.name = 'StatusError';
    this.status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: status.metadata ?? {},
      status: status.status ?? 'Failure',
      ...(status.message !== undefined ? { message: status.message } : {}),
      ...(status.reason ? { reason: status.reason } : {}),
      ...(status.details !== undefined ? { details: status.details } : {}),
      ...(status.code !== undefined ? { code: status.code } : {}),
    };
  }

  /** metav1.StatusReason, "" when unknown. */
  get reason(): string {
    return this.status.reason ?? '';
  }

  /** HTTP status code, 0 when unset. */
  get code(): number {
    return this.status.code ?? 0;
  }

  get details(): StatusDetails | undefined {
    return this.status.details;
  }

  /** The Status object to write on the wire. */
  toJSON(): Status {
    return this.status;
  }
}

/** Builds StatusDetails without empty members (Go `omitempty`). */
function details(d: StatusDetails): StatusDetails {
  const out: StatusDetails = {};
  if (d.name) out.name = d.name;
  if (d.group) out.group = d.group;
  if (d.kind) out.kind = d.kind;
  if (d.uid) out.uid = d.uid;
  if (d.causes && d.causes.length > 0) out.causes = d.causes;
  if (d.retryAfterSeconds) out.retryAfterSeconds = d.retryAfterSeconds;
  return out;
}

function cause(c: StatusCause): StatusCause {
  const out: StatusCause = {};
  if (c.reason) out.reason = c.reason;
  if (c.message) out.message = c.message;
  if (c.field) out.field = c.field;
  return out;
}

function errText(err: Error | string): string {
  return typeof err === 'string' ? err : err.message;
}

/** 404 NotFound: `pods "x" not found`. Details carry the resource as `kind`. */
export function newNotFound(qualifiedResource: GroupResource, name: string): StatusError {
  return new StatusError({
    code: 404,
    reason: 'NotFound',
    details: details({ group: qualifiedResource.group, kind: qualifiedResource.resource, name }),
    message: `${groupResourceString(qualifiedResource)} ${goQuote(name)} not found`,
  });
}

/** 409 AlreadyExists: `pods "x" already exists`. */
export function newAlreadyExists(qualifiedResource: GroupResource, name: string): StatusError {
  return new StatusError({
    code: 409,
    reason: 'AlreadyExists',
    details: details({ group: qualifiedResource.group, kind: qualifiedResource.resource, name }),
    message: `${groupResourceString(qualifiedResource)} ${goQuote(name)} already exists`,
  });
}

/** 409 AlreadyExists when generateName could not find a free name. */
export function newGenerateNameConflict(qualifiedResource: GroupResource, name: string, retryAfterSeconds: number): StatusError {
  return new StatusError({
    code: 409,
    reason: 'AlreadyExists',
    details: details({ group: qualifiedResource.group, kind: qualifiedResource.resource, name, retryAfterSeconds }),
    message: `${groupResourceString(qualifiedResource)} ${goQuote(name)} already exists, the server was not able to generate a unique name for the object`,
  });
}

/** 401 Unauthorized; an empty reason becomes "not authorized". */
export function newUnauthorized(reason: string): StatusError {
  return new StatusError({ code: 401, reason: 'Unauthorized', message: reason === '' ? 'not authorized' : reason });
}

/**
 * 403 Forbidden: `forbidden: <err>`, `pods is forbidden: <err>` or
 * `pods "x" is forbidden: <err>` depending on what is known.
 */
export function newForbidden(qualifiedResource: GroupResource, name: string, err: Error | string): StatusError {
  let message: string;
  if (qualifiedResource.group === '' && qualifiedResource.resource === '') message = `forbidden: ${errText(err)}`;
  else if (name === '') message = `${groupResourceString(qualifiedResource)} is forbidden: ${errText(err)}`;
  else message = `${groupResourceString(qualifiedResource)} ${goQuote(name)} is forbidden: ${errText(err)}`;
  return new StatusError({
    code: 403,
    reason: 'Forbidden',
    details: details({ group: qualifiedResource.group, kind: qualifiedResource.resource, name }),
    message,
  });
}

/** 409 Conflict: `Operation cannot be fulfilled on pods "x": <err>`. */
export function newConflict(qualifiedResource: GroupResource, name: string, err: Error | string): StatusError {
  return new StatusError({
    code: 409,
    reason: 'Conflict',
    details: details({ group: qualifiedResource.group, kind: qualifiedResource.resource, name }),
    message: `Operation cannot be fulfilled on ${groupResourceString(qualifiedResource)} ${goQuote(name)}: ${errText(err)}`,
  });
}

/** 409 Conflict for server-side apply field conflicts, with the caller's causes and message. */
export function newApplyConflict(causes: StatusCause[], message: string): StatusError {
  return new StatusError({ code: 409, reason: 'Conflict', details: { causes: causes.map(cause) }, message });
}

/** 410 Gone with the caller's message. */
export function newGone(message: string): StatusError {
  return new StatusError({ code: 410, reason: 'Gone', message });
}

/**
 * 410 Expired, what a watch or list with a compacted resourceVersion gets
 * (message e.g. "too old resource version: 5 (10)").
 */
export function newResourceExpired(message: string): StatusError {
  return new StatusError({ code: 410, reason: 'Expired', message });
}

/**
 * 422 Invalid: `Deployment.apps "x" is invalid: <errors>` where several distinct field
 * errors aggregate as `[a, b]`; each field error becomes a cause.
 */
export function newInvalid(qualifiedKind: GroupKind, name: string, errs: readonly FieldError[]): StatusError {
  const causes = errs.map((e) => cause({ reason: e.type, message: e.errorBody(), field: e.field }));
  const agg = aggregateMessage(errs);
  const subject = `${groupKindString(qualifiedKind)} ${goQuote(name)} is invalid`;
  return new StatusError({
    code: 422,
    reason: 'Invalid',
    details: details({ group: qualifiedKind.group, kind: qualifiedKind.kind, name, causes }),
    message: agg === undefined ? subject : `${subject}: ${agg}`,
  });
}

/** 400 BadRequest with the caller's message. */
export function newBadRequest(reason: string): StatusError {
  return new StatusError({ code: 400, reason: 'BadRequest', message: reason });
}

/** 429 TooManyRequests with the caller's message and a Retry-After hint. */
export function newTooManyRequests(message: string, retryAfterSeconds: number): StatusError {
  return new StatusError({ code: 429, reason: 'TooManyRequests', message, details: details({ retryAfterSeconds }) });
}

/** 429 TooManyRequests: `Too many requests: <message>`. */
export function newTooManyRequestsError(message: string): StatusError {
  return new StatusError({ code: 429, reason: 'TooManyRequests', message: `Too many requests: ${message}` });
}

/** 503 ServiceUnavailable with the caller's message. */
export function newServiceUnavailable(reason: string): StatusError {
  return new StatusError({ code: 503, reason: 'ServiceUnavailable', message: reason });
}

/** 405 MethodNotAllowed: `<action> is not supported on resources of kind "pods"`. */
export function newMethodNotSupported(qualifiedResource: GroupResource, action: string): StatusError {
  return new StatusError({
    code: 405,
    reason: 'MethodNotAllowed',
    details: details({ group: qualifiedResource.group, kind: qualifiedResource.resource }),
    message: `${action} is not supported on resources of kind ${goQuote(groupResourceString(qualifiedResource))}`,
  });
}

/** 500 ServerTimeout: `The <op> operation against <resource> could not be completed at this time, please try again.` */
export function newServerTimeout(qualifiedResource: GroupResource, operation: string, retryAfterSeconds: number): StatusError {
  return new StatusError({
    code: 500,
    reason: 'ServerTimeout',
    details: details({ group: qualifiedResource.group, kind: qualifiedResource.resource, name: operation, retryAfterSeconds }),
    message: `The ${operation} operation against ${groupResourceString(qualifiedResource)} could not be completed at this time, please try again.`,
  });
}

/** {@link newServerTimeout} for a kind rather than a resource. */
export function newServerTimeoutForKind(qualifiedKind: GroupKind, operation: string, retryAfterSeconds: number): StatusError {
  return newServerTimeout({ group: qualifiedKind.group, resource: qualifiedKind.kind }, operation, retryAfterSeconds);
}

/** 500 InternalError: `Internal error occurred: <err>`, the error text as the single cause. */
export function newInternalError(err: Error | string): StatusError {
  return new StatusError({
    code: 500,
    reason: 'InternalError',
    details: { causes: [cause({ message: errText(err) })] },
    message: `Internal error occurred: ${errText(err)}`,
  });
}

/** 504 Timeout: `Timeout: <message>`. */
export function newTimeout(message: string, retryAfterSeconds: number): StatusError {
  return new StatusError({ code: 504, reason: 'Timeout', message: `Timeout: ${message}`, details: details({ retryAfterSeconds }) });
}

/** 413 RequestEntityTooLarge: `Request entity too large: <message>`. */
export function newRequestEntityTooLarge(message: string): StatusError {
  return new StatusError({ code: 413, reason: 'RequestEntityTooLarge', message: `Request entity too large: ${message}` });
}

/**
 * 415 UnsupportedMediaType as the API server's content negotiation reports it:
 * `the body of the request was in an unknown format - accepted media types include: a, b`.
 */
export function newUnsupportedMediaType(accepted: readonly string[]): StatusError {
  return new StatusError({
    code: 415,
    reason: 'UnsupportedMediaType',
    message: `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  });
}

/** 406 NotAcceptable: `only the following media types are accepted: a, b`. */
export function newNotAcceptable(accepted: readonly string[]): StatusError {
  return new StatusError({
    code: 406,
    reason: 'NotAcceptable',
    message: `only the following media types are accepted: ${accepted.join(', ')}`,
  });
}

/**
 * NewGenericServerResponse: the Status for a bare HTTP code. The API server uses it with
 * code 422 for failed JSON patches ("the server rejected our request due to an error in
 * our request"); `serverMessage` only shows for 403/406/415/5xx, as upstream.
 */
export function newGenericServerResponse(
  code: number,
  verb: string,
  qualifiedResource: GroupResource,
  name: string,
  serverMessage: string,
  retryAfterSeconds = 0,
  isUnexpectedResponse = false,
): StatusError {
  let reason: StatusReason = '';
  let message = `the server responded with the status code ${code} but did not return more information`;
  switch (code) {
    case 409:
      reason = verb === 'POST' ? 'AlreadyExists' : 'Conflict';
      message = 'the server reported a conflict';
      break;
    case 404:
      reason = 'NotFound';
      message = 'the server could not find the requested resource';
      break;
    case 400:
      reason = 'BadRequest';
      message = 'the server rejected our request for an unknown reason';
      break;
    case 401:
      reason = 'Unauthorized';
      message = 'the server has asked for the client to provide credentials';
      break;
    case 403:
      reason = 'Forbidden';
      message = serverMessage;
      break;
    case 406:
      reason = 'NotAcceptable';
      message = serverMessage === '' || serverMessage === 'unknown'
        ? 'the server was unable to respond with a content type that the client supports'
        : serverMessage;
      break;
    case 415:
      reason = 'UnsupportedMediaType';
      message = serverMessage;
      break;
    case 405:
      reason = 'MethodNotAllowed';
      message = 'the server does not allow this method on the requested resource';
      break;
    case 422:
      reason = 'Invalid';
      message = 'the server rejected our request due to an error in our request';
      break;
    case 503:
      reason = 'ServiceUnavailable';
      message = 'the server is currently unable to handle the request';
      break;
    case 504:
      reason = 'Timeout';
      message = 'the server was unable to return a response in the time allotted, but may still be processing the request';
      break;
    case 429:
      reason = 'TooManyRequests';
      message = 'the server has received too many requests and has asked us to try again later';
      break;
    default:
      if (code >= 500) {
        reason = 'InternalError';
        message = `an error on the server (${goQuote(serverMessage)}) has prevented the request from succeeding`;
      }
  }
  const hasResource = qualifiedResource.group !== '' || qualifiedResource.resource !== '';
  if (hasResource && name !== '') message = `${message} (${verb.toLowerCase()} ${groupResourceString(qualifiedResource)} ${name})`;
  else if (hasResource) message = `${message} (${verb.toLowerCase()} ${groupResourceString(qualifiedResource)})`;
  const causes = isUnexpectedResponse ? [cause({ reason: 'UnexpectedServerResponse', message: serverMessage })] : undefined;
  return new StatusError({
    code,
    reason,
    details: details({ group: qualifiedResource.group, kind: qualifiedResource.resource, name, causes, retryAfterSeconds }),
    message,
  });
}

/**
 * The Success Status a DELETE returns for resources without a deleted object to show,
 * e.g. `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"x","kind":"pods","uid":"..."}}`.
 */
export function successStatus(d: StatusDetails = {}): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: details(d) };
}

/**
 * responsewriters.ErrorToAPIStatus: the Status to write for any error. A StatusError
 * keeps its Status (a missing code becomes 500); anything else is a 500 with reason ""
 * (Unknown) and the error text as message.
 */
export function errorToAPIStatus(err: unknown): Status {
  if (err instanceof StatusError) {
    const st = { ...err.status };
    if (st.status === 'Success' && !st.code) st.code = 200;
    if (st.status !== 'Success' && !st.code) st.code = 500;
    return st;
  }
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code: 500 };
}

// ---------------------------------------------------------------------------------------
// Predicates
// ---------------------------------------------------------------------------------------

/** True for a StatusError, or any object carrying a `status` that looks like a Status. */
export function isStatusError(err: unknown): err is StatusError {
  return err instanceof StatusError;
}

function reasonAndCode(err: unknown): [string, number] {
  if (err instanceof StatusError) return [err.reason, err.code];
  return ['', 0];
}

/** The Status reason of `err`, "" (StatusReasonUnknown) for anything that is not a StatusError. */
export function reasonForError(err: unknown): string {
  return reasonAndCode(err)[0];
}

function byReasonOrCode(reason: StatusReason, code: number): (err: unknown) => boolean {
  return (err) => {
    const [r, c] = reasonAndCode(err);
    if (r === reason) return true;
    return !knownReasons.has(r) && c === code;
  };
}

/** Reason NotFound, or an unknown reason with code 404. */
export const isNotFound = byReasonOrCode('NotFound', 404);
/** Reason AlreadyExists only (409 alone is ambiguous). */
export const isAlreadyExists = (err: unknown): boolean => reasonForError(err) === 'AlreadyExists';
/** Reason Conflict, or an unknown reason with code 409. */
export const isConflict = byReasonOrCode('Conflict', 409);
/** Reason Invalid, or an unknown reason with code 422. */
export const isInvalid = byReasonOrCode('Invalid', 422);
/** Reason Gone, or an unknown reason with code 410. */
export const isGone = byReasonOrCode('Gone', 410);
/** Reason Expired only. */
export const isResourceExpired = (err: unknown): boolean => reasonForError(err) === 'Expired';
/** Reason NotAcceptable, or an unknown reason with code 406. */
export const isNotAcceptable = byReasonOrCode('NotAcceptable', 406);
/** Reason UnsupportedMediaType, or an unknown reason with code 415. */
export const isUnsupportedMediaType = byReasonOrCode('UnsupportedMediaType', 415);
/** Reason MethodNotAllowed, or an unknown reason with code 405. */
export const isMethodNotSupported = byReasonOrCode('MethodNotAllowed', 405);
/** Reason ServiceUnavailable, or an unknown reason with code 503. */
export const isServiceUnavailable = byReasonOrCode('ServiceUnavailable', 503);
/** Reason BadRequest, or an unknown reason with code 400. */
export const isBadRequest = byReasonOrCode('BadRequest', 400);
/** Reason Unauthorized, or an unknown reason with code 401. */
export const isUnauthorized = byReasonOrCode('Unauthorized', 401);
/** Reason Forbidden, or an unknown reason with code 403. */
export const isForbidden = byReasonOrCode('Forbidden', 403);
/** Reason Timeout, or an unknown reason with code 504. */
export const isTimeout = byReasonOrCode('Timeout', 504);
/** Reason ServerTimeout only. */
export const isServerTimeout = (err: unknown): boolean => reasonForError(err) === 'ServerTimeout';
/** Reason InternalError, or an unknown reason with code 500. */
export const isInternalError = byReasonOrCode('InternalError', 500);
/** Reason TooManyRequests, or code 429 whatever the reason. */
export function isTooManyRequests(err: unknown): boolean {
  const [r, c] = reasonAndCode(err);
  return r === 'TooManyRequests' || c === 429;
}
/** Reason RequestEntityTooLarge, or code 413 whatever the reason. */
export function isRequestEntityTooLarge(err: unknown): boolean {
  const [r, c] = reasonAndCode(err);
  return r === 'RequestEntityTooLarge' || c === 413;
}
/** Reason StoreReadError only. */
export const isStoreReadError = (err: unknown): boolean => reasonForError(err) === 'StoreReadError';

/** The first cause of the given type (`reason`), if any. */
export function statusCause(err: unknown, type: string): StatusCause | undefined {
  if (!(err instanceof StatusError)) return undefined;
  return err.details?.causes?.find((c) => (c.reason ?? '') === type);
}

/** Whether the error has a cause of the given type. */
export function hasStatusCause(err: unknown, type: string): boolean {
  return statusCause(err, type) !== undefined;
}

/**
 * SuggestsClientDelay: the retry-after seconds the server asked for (always for
 * ServerTimeout, otherwise when positive).
 */
export function suggestsClientDelay(err: unknown): number | undefined {
  if (!(err instanceof StatusError) || err.details === undefined) return undefined;
  const secs = err.details.retryAfterSeconds ?? 0;
  if (err.reason === 'ServerTimeout') return secs;
  return secs > 0 ? secs : undefined;
}

/**
 * FromObject: a StatusError from a decoded Status object (kind Status, apiVersion v1 or
 * meta.k8s.io/v1); undefined for anything else.
 */
export function fromStatusObject(obj: unknown): StatusError | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const o = obj as Record<string, unknown>;
  if (o.kind !== 'Status' || (o.apiVersion !== 'v1' && o.apiVersion !== 'meta.k8s.io/v1')) return undefined;
  return new StatusError({
    status: o.status === 'Success' ? 'Success' : 'Failure',
    message: typeof o.message === 'string' ? o.message : undefined,
    reason: typeof o.reason === 'string' ? o.reason : undefined,
    details: typeof o.details === 'object' && o.details !== null ? (o.details as StatusDetails) : undefined,
    code: typeof o.code === 'number' ? o.code : undefined,
  });
}

// ---------------------------------------------------------------------------------------
// field: paths
// ---------------------------------------------------------------------------------------

/**
 * field.Path: an immutable path to a field, printed as upstream prints it:
 * `root('spec').child('template', 'metadata').index(0).key('x')` is
 * "spec.template.metadata[0][x]".
 */
export class FieldPath {
  private constructor(
    /** Field name, or "" when this element is a subscript. */
    private readonly name: string,
    /** The subscript (index or map key) when `name` is "". */
    private readonly subscript: string,
    private readonly parent: FieldPath | undefined,
  ) {}

  /** A new root path; extra names become children. */
  static root(name: string, ...more: string[]): FieldPath {
    let p = new FieldPath(name, '', undefined);
    for (const n of more) p = new FieldPath(n, '', p);
    return p;
  }

  /** This path followed by one or more field names. */
  child(name: string, ...more: string[]): FieldPath {
    let p = new FieldPath(name, '', this);
    for (const n of more) p = new FieldPath(n, '', p);
    return p;
  }

  /** This path followed by `[index]`. */
  index(index: number): FieldPath {
    return new FieldPath('', String(index), this);
  }

  /** This path followed by `[key]` (the key is not quoted, as upstream). */
  key(key: string): FieldPath {
    return new FieldPath('', key, this);
  }

  /** The outermost element. */
  root(): FieldPath {
    return this.parent ? this.parent.root() : this;
  }

  toString(): string {
    const elems: FieldPath[] = [this];
    for (let p = this.parent; p; p = p.parent) elems.push(p);
    let out = '';
    for (let i = elems.length - 1; i >= 0; i--) {
      const e = elems[i]!;
      if (e.name !== '') out += (e.parent ? '.' : '') + e.name;
      else out += `[${e.subscript}]`;
    }
    return out;
  }
}

/** field.NewPath. */
export function newPath(name: string, ...more: string[]): FieldPath {
  return FieldPath.root(name, ...more);
}

/** Child of a possibly absent path, as Go's `(*Path)(nil).Child(...)` (a new root). */
export function childPath(p: FieldPath | undefined, name: string, ...more: string[]): FieldPath {
  return p ? p.child(name, ...more) : FieldPath.root(name, ...more);
}

/** A path as printed in an error: upstream prints a nil path as "<nil>". */
function pathString(p: FieldPath | undefined): string {
  return p ? p.toString() : '<nil>';
}

// ---------------------------------------------------------------------------------------
// field: errors
// ---------------------------------------------------------------------------------------

/** field.ErrorType: the value is what appears as `details.causes[].reason`. */
export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'FieldValueTypeInvalid';

/** The human text of each error type. */
export const fieldErrorTypeText: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
};

/** Marker for a bad value that must not be printed (upstream's omitValue). */
export const omitValue: unique symbol = Symbol('omitValue');

/**
 * A Go type name for a bad value, so it renders as upstream's `%#v` would
 * (e.g. `map[string]string{"a":"b"}`); plain JS values get a best guess.
 */
export interface GoTyped {
  readonly [goTypedBrand]: true;
  readonly goType: string;
  readonly value: unknown;
}

const goTypedBrand: unique symbol = Symbol('GoTyped');

/** Wraps a value with its Go type for rendering (`goTyped('[]int32', [80])` → `[]int32{80}`). */
export function goTyped(goType: string, value: unknown): GoTyped {
  return { [goTypedBrand]: true, goType, value };
}

/**
 * field.Error: one validation failure. `message` is `<field>: <body>`, where body is
 * e.g. `Invalid value: "abc": detail`.
 */
export class FieldError extends Error {
  readonly type: FieldErrorType;
  readonly field: string;
  readonly badValue: unknown;
  detail: string;

  constructor(type: FieldErrorType, field: FieldPath | string | undefined, badValue: unknown, detail: string) {
    const f = typeof field === 'string' ? field : pathString(field);
    const body = errorBody(type, badValue, detail);
    super(`${f}: ${body}`);
    this.name = 'FieldError';
    this.type = type;
    this.field = f;
    this.badValue = badValue;
    this.detail = detail;
  }

  /** The message without the field path: what a Status cause carries. */
  errorBody(): string {
    return errorBody(this.type, this.badValue, this.detail);
  }

  override toString(): string {
    return `${this.field}: ${this.errorBody()}`;
  }
}

function errorBody(type: FieldErrorType, badValue: unknown, detail: string): string {
  let s: string;
  switch (type) {
    case 'FieldValueRequired':
    case 'FieldValueForbidden':
    case 'FieldValueTooLong':
    case 'InternalError':
      s = fieldErrorTypeText[type];
      break;
    default:
      s = badValue === omitValue ? fieldErrorTypeText[type] : `${fieldErrorTypeText[type]}: ${renderBadValue(badValue)}`;
  }
  if (detail !== '') s += `: ${detail}`;
  return s;
}

/**
 * How upstream (v1.32) prints a bad value: numbers and booleans plainly, strings
 * Go-quoted, values with their own toString through it, anything else as Go's `%#v`.
 */
export function renderBadValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
      return goQuote(v);
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(v);
    case 'object': {
      if (isGoTyped(v)) return goSharpV(v.value, v.goType);
      const ts = (v as { toString?: unknown }).toString;
      if (!Array.isArray(v) && typeof ts === 'function' && ts !== Object.prototype.toString) return String(v);
      return goSharpV(v, undefined);
    }
    default:
      return String(v);
  }
}

function isGoTyped(v: object): v is GoTyped {
  return goTypedBrand in v;
}

/** Guesses a Go type for a JSON-like value. */
function goTypeOf(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every((x) => typeof x === 'string')) return '[]string';
    return '[]interface {}';
  }
  if (typeof v === 'object' && v !== null) {
    const vals = Object.values(v);
    if (vals.every((x) => typeof x === 'string')) return 'map[string]string';
    return 'map[string]interface {}';
  }
  return 'interface {}';
}

/** Go's `%#v` for JSON-like values, given (or guessing) the static Go type. */
function goSharpV(v: unknown, goType: string | undefined): string {
  const t = goType ?? goTypeOf(v);
  if (t === 'interface {}' && (v === null || v === undefined)) return 'interface {}(nil)';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null || v === undefined) return `${t}(nil)`;
  const elemType = (inner: string): string | undefined => (inner === 'interface {}' ? undefined : inner);
  if (Array.isArray(v)) {
    const inner = t.startsWith('[]') ? t.slice(2) : 'interface {}';
    return `${t}{${v.map((x) => goSharpV(x, elemType(inner))).join(', ')}}`;
  }
  if (typeof v === 'object') {
    const m = /^map\[([^\]]+)\](.*)$/.exec(t);
    const inner = m ? m[2]! : 'interface {}';
    const keys = Object.keys(v).sort();
    const rec = v as Record<string, unknown>;
    return `${t}{${keys.map((k) => `${goQuote(k)}:${goSharpV(rec[k], elemType(inner))}`).join(', ')}}`;
  }
  return String(v);
}

/**
 * Go's strconv.Quote: double-quoted, with `\a \b \f \n \r \t \v \\ \"` escapes, other
 * non-printable runes as `\xNN`, `\uNNNN` or `\UNNNNNNNN`, printable Unicode kept.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case '\\': out += '\\\\'; continue;
      case '\x07': out += '\\a'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '\v': out += '\\v'; continue;
    }
    if (cp >= 0x20 && cp < 0x7f) { out += ch; continue; }
    if (cp < 0x80) { out += `\\x${cp.toString(16).padStart(2, '0')}`; continue; }
    if (cp >= 0xd800 && cp <= 0xdfff) { out += '\\ufffd'; continue; } // lone surrogate: Go sees invalid UTF-8
    if (/[\p{C}\p{Z}]/u.test(ch)) {
      out += cp < 0x10000 ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`;
      continue;
    }
    out += ch;
  }
  return out + '"';
}

/** field.NotFound. */
export function fieldNotFound(path: FieldPath | undefined, value: unknown): FieldError {
  return new FieldError('FieldValueNotFound', path, value, '');
}

/** field.Required: `Required value[: detail]`. */
export function fieldRequired(path: FieldPath | undefined, detail = ''): FieldError {
  return new FieldError('FieldValueRequired', path, '', detail);
}

/** field.Duplicate: `Duplicate value: <value>`. */
export function fieldDuplicate(path: FieldPath | undefined, value: unknown): FieldError {
  return new FieldError('FieldValueDuplicate', path, value, '');
}

/** field.Invalid: `Invalid value: <value>[: detail]`. */
export function fieldInvalid(path: FieldPath | undefined, value: unknown, detail = ''): FieldError {
  return new FieldError('FieldValueInvalid', path, value, detail);
}

/** field.TypeInvalid: `Invalid value: <value>[: detail]` with type FieldValueTypeInvalid. */
export function fieldTypeInvalid(path: FieldPath | undefined, value: unknown, detail = ''): FieldError {
  return new FieldError('FieldValueTypeInvalid', path, value, detail);
}

/** field.NotSupported: `Unsupported value: "x": supported values: "a", "b"`. */
export function fieldNotSupported(path: FieldPath | undefined, value: unknown, validValues: readonly string[]): FieldError {
  const detail = validValues.length > 0 ? `supported values: ${validValues.map((v) => goQuote(v)).join(', ')}` : '';
  return new FieldError('FieldValueNotSupported', path, value, detail);
}

/** field.Forbidden: `Forbidden[: detail]`. */
export function fieldForbidden(path: FieldPath | undefined, detail = ''): FieldError {
  return new FieldError('FieldValueForbidden', path, '', detail);
}

/** field.TooLong: `Too long: may not be more than N bytes` (negative max: "value is too long"). */
export function fieldTooLong(path: FieldPath | undefined, _value: unknown, maxLength: number): FieldError {
  const detail = maxLength >= 0 ? `may not be more than ${maxLength} bytes` : 'value is too long';
  return new FieldError('FieldValueTooLong', path, '<value omitted>', detail);
}

/** field.TooMany: `Too many: <actual>: must have at most N items` (negative actual is omitted). */
export function fieldTooMany(path: FieldPath | undefined, actualQuantity: number, maxQuantity: number): FieldError {
  const detail = maxQuantity >= 0 ? `must have at most ${maxQuantity} items` : 'has too many items';
  return new FieldError('FieldValueTooMany', path, actualQuantity >= 0 ? actualQuantity : omitValue, detail);
}

/** field.InternalError: `Internal error: <err>`. */
export function fieldInternalError(path: FieldPath | undefined, err: Error | string): FieldError {
  return new FieldError('InternalError', path, null, errText(err));
}

/** field.ErrorList. */
export type FieldErrorList = FieldError[];

/**
 * ErrorList.ToAggregate().Error(): undefined for no errors, the sole message for one
 * distinct message, otherwise `[a, b, ...]` (duplicates dropped, order kept).
 */
export function aggregateMessage(errs: readonly Error[]): string | undefined {
  if (errs.length === 0) return undefined;
  const seen: string[] = [];
  for (const e of errs) {
    const msg = e.message;
    if (!seen.includes(msg)) seen.push(msg);
  }
  return seen.length === 1 ? seen[0] : `[${seen.join(', ')}]`;
}

/**
 * An error aggregating field errors (ErrorList.ToAggregate()); `errors` keeps the distinct
 * field errors for callers that want them.
 */
export class AggregateError extends Error {
  readonly errors: readonly FieldError[];

  constructor(errs: readonly FieldError[]) {
    super(aggregateMessage(errs) ?? '');
    this.name = 'AggregateError';
    const seen = new Set<string>();
    this.errors = errs.filter((e) => (seen.has(e.message) ? false : (seen.add(e.message), true)));
  }
}

/** ErrorList.ToAggregate(): undefined when the list is empty. */
export function toAggregate(errs: readonly FieldError[]): AggregateError | undefined {
  return errs.length === 0 ? undefined : new AggregateError(errs);
}
