/**
 * RFC 6902 JSON Patch as the API server applies it: with the semantics and error texts
 * of gopkg.in/evanphx/json-patch.v4, which kube-apiserver uses for
 * `application/json-patch+json`.
 *
 * v4's departures from the RFC are kept, since clients see them:
 * - negative array indices count from the end (`/a/-1` is the last element);
 * - `replace` of a missing object member adds it (only arrays check the index);
 * - `test` of a missing member against null (or no value) succeeds;
 * - a path without a leading '/' addresses the member named by its last segment.
 *
 * The API server reports a failed `apply` as a 422 with a generic message (see
 * errors.ts `newGenericServerResponse`); the texts here are what its logs show and what
 * in-process callers see. Decoding errors become 400 BadRequest.
 */

import { goQuote } from './errors.js';

/** One operation as decoded; fields are whatever JSON the client sent. */
export interface JSONPatchOperation {
  op?: unknown;
  path?: unknown;
  from?: unknown;
  value?: unknown;
  [key: string]: unknown;
}

/** Why a patch failed, mirroring json-patch's sentinel errors. */
export type JSONPatchErrorKind = 'decode' | 'missing' | 'invalidIndex' | 'testFailed' | 'unknownOp' | 'invalid';

/** A JSON patch failure; `message` follows json-patch v4's wording. */
export class JSONPatchError extends Error {
  readonly kind: JSONPatchErrorKind;

  constructor(kind: JSONPatchErrorKind, message: string) {
    super(message);
    this.name = 'JSONPatchError';
    this.kind = kind;
  }
}

/** The API server refuses patches with more operations than this (413). */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

const ErrMissing = 'missing value';
const ErrInvalidIndex = 'invalid index referenced';
const ErrTestFailed = 'test failed';

/** Go's name for a JSON value's type in "cannot unmarshal X into ..." errors. */
function goJSONType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  return typeof v; // string, number
}

/**
 * DecodePatch: the operations of a JSON Patch document (text or already-parsed JSON).
 * Throws {@link JSONPatchError} kind "decode" for anything but an array of objects;
 * a JSON null is an empty patch, as in Go.
 */
export function decodeJSONPatch(body: string | unknown): JSONPatchOperation[] {
  let v: unknown = body;
  if (typeof body === 'string') {
    try {
      v = JSON.parse(body);
    } catch (e) {
      throw new JSONPatchError('decode', (e as Error).message);
    }
  }
  if (v === null) return [];
  if (!Array.isArray(v)) throw new JSONPatchError('decode', `json: cannot unmarshal ${goJSONType(v)} into Go value of type jsonpatch.Patch`);
  for (const op of v) {
    if (op !== null && (typeof op !== 'object' || Array.isArray(op))) {
      throw new JSONPatchError('decode', `json: cannot unmarshal ${goJSONType(op)} into Go value of type jsonpatch.Operation`);
    }
  }
  return v.map((op) => (op ?? {}) as JSONPatchOperation);
}

/** RFC 6901 token decoding (`~1` → `/`, `~0` → `~`, in one pass). */
export function decodePointerToken(token: string): string {
  return token.replace(/~[01]/g, (m) => (m === '~1' ? '/' : '~'));
}

/** RFC 6901 token encoding (`~` → `~0`, `/` → `~1`). */
export function encodePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

type Container = Record<string, unknown> | unknown[];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isContainer(v: unknown): v is Container {
  return typeof v === 'object' && v !== null;
}

/** strconv.Atoi with Go's error text. */
function atoi(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: value out of range`);
  return n;
}

function invalidIndex(idx: number): Error {
  return new Error(`Unable to access invalid index: ${idx}: ${ErrInvalidIndex}`);
}

/** Reads a member: undefined for a missing object key; throws for a bad array index. */
function get(c: Container, key: string): unknown {
  if (!Array.isArray(c)) return Object.prototype.hasOwnProperty.call(c, key) ? c[key] : undefined;
  let idx = atoi(key);
  if (idx < 0) {
    if (idx < -c.length) throw invalidIndex(idx);
    idx += c.length;
  }
  if (idx >= c.length) throw invalidIndex(idx);
  return c[idx];
}

function add(c: Container, key: string, val: unknown): void {
  if (!Array.isArray(c)) {
    c[key] = val;
    return;
  }
  if (key === '-') {
    c.push(val);
    return;
  }
  let idx: number;
  try {
    idx = atoi(key);
  } catch (e) {
    throw new Error(`value was not a proper array index: '${key}': ${(e as Error).message}`);
  }
  const size = c.length + 1;
  if (idx >= size) throw invalidIndex(idx);
  if (idx < 0) {
    if (idx < -size) throw invalidIndex(idx);
    idx += size;
  }
  c.splice(idx, 0, val);
}

function remove(c: Container, key: string): void {
  if (!Array.isArray(c)) {
    if (!Object.prototype.hasOwnProperty.call(c, key)) throw new Error(`Unable to remove nonexistent key: ${key}: ${ErrMissing}`);
    delete c[key];
    return;
  }
  let idx = atoi(key);
  if (idx >= c.length) throw invalidIndex(idx);
  if (idx < 0) {
    if (idx < -c.length) throw invalidIndex(idx);
    idx += c.length;
  }
  c.splice(idx, 1);
}

function set(c: Container, key: string, val: unknown): void {
  if (!Array.isArray(c)) {
    c[key] = val;
    return;
  }
  let idx = atoi(key);
  if (idx < 0) {
    if (idx < -c.length) throw invalidIndex(idx);
    idx += c.length;
  }
  c[idx] = val;
}

/** findObject: the container holding the last path segment, and that segment decoded. */
function findObject(root: unknown, path: string): { con: Container; key: string } | undefined {
  const split = path.split('/');
  if (split.length < 2 || !isContainer(root)) return undefined;
  let doc: Container = root;
  for (const part of split.slice(1, -1)) {
    let next: unknown;
    try {
      next = get(doc, decodePointerToken(part));
    } catch {
      return undefined;
    }
    if (!isContainer(next)) return undefined;
    doc = next;
  }
  return { con: doc, key: decodePointerToken(split[split.length - 1]!) };
}

function stringField(op: JSONPatchOperation, name: 'path' | 'from'): string | Error {
  const v = op[name];
  if (v === undefined || v === null) return new Error(`operation missing ${name === 'path' ? 'path field' : 'from field'}: ${ErrMissing}`);
  if (typeof v !== 'string') return new Error(`json: cannot unmarshal ${goJSONType(v)} into Go value of type string`);
  return v;
}

/** The op's value; a missing or null value is JSON null. */
function opValue(op: JSONPatchOperation): unknown {
  return op.value === undefined ? null : op.value;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function fail(kind: JSONPatchErrorKind, message: string): never {
  throw new JSONPatchError(kind, message);
}

function kindOf(message: string): JSONPatchErrorKind {
  if (message.endsWith(ErrTestFailed)) return 'testFailed';
  if (message.endsWith(ErrInvalidIndex)) return 'invalidIndex';
  if (message.endsWith(ErrMissing)) return 'missing';
  return 'invalid';
}

/**
 * Applies `patch` to a copy of `doc` and returns the result; `doc` is not modified.
 * Throws {@link JSONPatchError} at the first failing operation.
 */
export function applyJSONPatch(doc: unknown, patch: readonly JSONPatchOperation[]): unknown {
  const holder = { root: clone(doc) };
  for (const op of patch) {
    const kind = typeof op.op === 'string' ? op.op : 'unknown';
    try {
      switch (kind) {
        case 'add': applyAdd(holder, op); break;
        case 'remove': applyRemove(holder, op); break;
        case 'replace': applyReplace(holder, op); break;
        case 'move': applyMove(holder, op); break;
        case 'test': applyTest(holder, op); break;
        case 'copy': applyCopy(holder, op); break;
        default: fail('unknownOp', `Unexpected kind: ${kind}`);
      }
    } catch (e) {
      if (e instanceof JSONPatchError) throw e;
      const message = (e as Error).message;
      throw new JSONPatchError(kindOf(message), message);
    }
  }
  return holder.root;
}

interface Holder {
  root: unknown;
}

function applyAdd(h: Holder, op: JSONPatchOperation): void {
  const path = stringField(op, 'path');
  if (path instanceof Error) fail('missing', `add operation failed to decode path: ${ErrMissing}`);
  const found = findObject(h.root, path);
  if (!found) fail('missing', `add operation does not apply: doc is missing path: "${path}": ${ErrMissing}`);
  try {
    add(found.con, found.key, clone(opValue(op)));
  } catch (e) {
    throw new Error(`error in add for path: '${path}': ${(e as Error).message}`);
  }
}

function applyRemove(h: Holder, op: JSONPatchOperation): void {
  const path = stringField(op, 'path');
  if (path instanceof Error) fail('missing', `remove operation failed to decode path: ${ErrMissing}`);
  const found = findObject(h.root, path);
  if (!found) fail('missing', `remove operation does not apply: doc is missing path: "${path}": ${ErrMissing}`);
  try {
    remove(found.con, found.key);
  } catch (e) {
    throw new Error(`error in remove for path: '${path}': ${(e as Error).message}`);
  }
}

function applyReplace(h: Holder, op: JSONPatchOperation): void {
  const path = stringField(op, 'path');
  if (path instanceof Error) throw new Error(`replace operation failed to decode path: ${path.message}`);
  if (path === '') {
    const v = opValue(op);
    if (!isContainer(v)) fail('invalid', 'replace operation value must be object or array: <nil>');
    h.root = clone(v);
    return;
  }
  const found = findObject(h.root, path);
  if (!found) fail('missing', `replace operation does not apply: doc is missing path: ${path}: ${ErrMissing}`);
  try {
    get(found.con, found.key);
  } catch {
    fail('missing', `replace operation does not apply: doc is missing key: ${path}: ${ErrMissing}`);
  }
  try {
    set(found.con, found.key, clone(opValue(op)));
  } catch (e) {
    throw new Error(`error in remove for path: '${path}': ${(e as Error).message}`);
  }
}

function applyMove(h: Holder, op: JSONPatchOperation): void {
  const from = stringField(op, 'from');
  if (from instanceof Error) throw new Error(`move operation failed to decode from: ${from.message}`);
  const src = findObject(h.root, from);
  if (!src) fail('missing', `move operation does not apply: doc is missing from path: ${from}: ${ErrMissing}`);
  let val: unknown;
  try {
    val = get(src.con, src.key);
    remove(src.con, src.key);
  } catch (e) {
    throw new Error(`error in move for path: '${src.key}': ${(e as Error).message}`);
  }
  const path = stringField(op, 'path');
  if (path instanceof Error) throw new Error(`move operation failed to decode path: ${path.message}`);
  const dst = findObject(h.root, path);
  if (!dst) fail('missing', `move operation does not apply: doc is missing destination path: ${path}: ${ErrMissing}`);
  try {
    add(dst.con, dst.key, val);
  } catch (e) {
    throw new Error(`error in move for path: '${path}': ${(e as Error).message}`);
  }
}

function applyTest(h: Holder, op: JSONPatchOperation): void {
  const path = stringField(op, 'path');
  if (path instanceof Error) throw new Error(`test operation failed to decode path: ${path.message}`);
  if (path === '') {
    if (jsonEqual(h.root, opValue(op))) return;
    fail('testFailed', `testing value ${path} failed: ${ErrTestFailed}`);
  }
  const found = findObject(h.root, path);
  if (!found) fail('missing', `test operation does not apply: is missing path: ${path}: ${ErrMissing}`);
  let val: unknown;
  try {
    val = get(found.con, found.key);
  } catch (e) {
    throw new Error(`error in test for path: '${path}': ${(e as Error).message}`);
  }
  if (val === undefined) {
    if (opValue(op) === null) return;
    fail('testFailed', `testing value ${path} failed: ${ErrTestFailed}`);
  }
  if (!jsonEqual(val, opValue(op))) fail('testFailed', `testing value ${path} failed: ${ErrTestFailed}`);
}

function applyCopy(h: Holder, op: JSONPatchOperation): void {
  const from = stringField(op, 'from');
  if (from instanceof Error) throw new Error(`copy operation failed to decode from: ${from.message}`);
  const src = findObject(h.root, from);
  if (!src) fail('missing', `copy operation does not apply: doc is missing from path: ${from}: ${ErrMissing}`);
  let val: unknown;
  try {
    val = get(src.con, src.key);
  } catch (e) {
    throw new Error(`error in copy for from: '${from}': ${(e as Error).message}`);
  }
  const path = stringField(op, 'path');
  if (path instanceof Error) fail('missing', `copy operation failed to decode path: ${ErrMissing}`);
  const dst = findObject(h.root, path);
  if (!dst) fail('missing', `copy operation does not apply: doc is missing destination path: ${path}: ${ErrMissing}`);
  try {
    add(dst.con, dst.key, clone(val === undefined ? null : val));
  } catch (e) {
    throw new Error(`error while adding value during copy: ${(e as Error).message}`);
  }
}
