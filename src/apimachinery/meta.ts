/**
 * Object metadata types and small helpers over unstructured objects, after
 * k8s.io/apimachinery's pkg/apis/meta/v1 (types, Time), pkg/apis/meta/v1/unstructured
 * (nested field access), pkg/util/rand and apiserver's names.SimpleNameGenerator.
 *
 * Objects are plain JSON values ({@link KObject}); nothing here mutates its input unless
 * the name says so (`setNestedField`, `removeNestedField`).
 */
import { randomInt, randomUUID } from 'node:crypto';

/** A JSON value as decoded from the wire. */
export type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };

/** metav1.OwnerReference. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** metav1.ManagedFieldsEntry. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update' | string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

/** metav1.ObjectMeta (timestamps are RFC 3339 strings, as on the wire). */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  selfLink?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | null;
  deletionTimestamp?: string | null;
  deletionGracePeriodSeconds?: number | null;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

/** metav1.ListMeta. */
export interface ListMeta {
  selfLink?: string;
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

/** metav1.TypeMeta. */
export interface TypeMeta {
  apiVersion?: string;
  kind?: string;
}

/** Any Kubernetes object in unstructured form. */
export interface KObject extends TypeMeta {
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

/** A list object (`kind: XList`). */
export interface KList<T extends KObject = KObject> extends TypeMeta {
  metadata: ListMeta;
  items: T[];
}

/** watch.EventType: the `type` of a watch event on the wire. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** metav1.WatchEvent: one line of a watch stream (`object` is a Status for ERROR). */
export interface WatchEvent<T = KObject> {
  type: WatchEventType;
  object: T;
}

/** metav1.ListOptions as query parameters decode (numbers already parsed). */
export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  watch?: boolean;
  allowWatchBookmarks?: boolean;
  resourceVersion?: string;
  resourceVersionMatch?: 'NotOlderThan' | 'Exact' | string;
  timeoutSeconds?: number;
  limit?: number;
  continue?: string;
  sendInitialEvents?: boolean;
}

/** metav1.Preconditions. */
export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

/** metav1.DeletionPropagation. */
export type DeletionPropagation = 'Orphan' | 'Background' | 'Foreground';

/** metav1.DeleteOptions. */
export interface DeleteOptions {
  gracePeriodSeconds?: number | null;
  preconditions?: Preconditions;
  orphanDependents?: boolean;
  propagationPolicy?: DeletionPropagation;
  dryRun?: string[];
}

/** types.PatchType: the Content-Type of each patch flavour. */
export const PatchType = {
  JSONPatch: 'application/json-patch+json',
  MergePatch: 'application/merge-patch+json',
  StrategicMergePatch: 'application/strategic-merge-patch+json',
  ApplyPatch: 'application/apply-patch+yaml',
  ApplyCBORPatch: 'application/apply-patch+cbor',
} as const;
export type PatchType = (typeof PatchType)[keyof typeof PatchType];

/** schema.GroupVersion. */
export interface GroupVersion {
  group: string;
  version: string;
}

/** schema.GroupVersionKind. */
export interface GroupVersionKind extends GroupVersion {
  kind: string;
}

/** schema.GroupVersionResource. */
export interface GroupVersionResource extends GroupVersion {
  resource: string;
}

/**
 * schema.ParseGroupVersion: "v1" → {"", v1}, "apps/v1" → {apps, v1}, "" → {"", ""};
 * throws `unexpected GroupVersion string: a/b/c` for more than one '/'.
 */
export function parseGroupVersion(apiVersion: string): GroupVersion {
  if (apiVersion === '' || apiVersion === '/') return { group: '', version: '' };
  const parts = apiVersion.split('/');
  if (parts.length === 1) return { group: '', version: parts[0]! };
  if (parts.length === 2) return { group: parts[0]!, version: parts[1]! };
  throw new Error(`unexpected GroupVersion string: ${apiVersion}`);
}

/** GroupVersion.String(): "v1", "apps/v1". */
export function groupVersionString(gv: GroupVersion): string {
  if (gv.group === '') return gv.version;
  return `${gv.group}/${gv.version}`;
}

/** The GroupVersionKind of an object from its apiVersion and kind ("" when absent). */
export function objectGVK(obj: TypeMeta): GroupVersionKind {
  return { ...parseGroupVersion(obj.apiVersion ?? ''), kind: obj.kind ?? '' };
}

// ---------------------------------------------------------------------------------------
// Nested field access (unstructured.NestedFieldNoCopy and friends)
// ---------------------------------------------------------------------------------------

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The value at `path` inside `obj`, or undefined when any step is missing or not an
 * object. Returns the stored value itself (no copy).
 */
export function getNestedField(obj: unknown, ...path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** The string at `path`, or undefined when absent or not a string. */
export function getNestedString(obj: unknown, ...path: string[]): string | undefined {
  const v = getNestedField(obj, ...path);
  return typeof v === 'string' ? v : undefined;
}

/** The number at `path`, or undefined when absent or not a number. */
export function getNestedNumber(obj: unknown, ...path: string[]): number | undefined {
  const v = getNestedField(obj, ...path);
  return typeof v === 'number' ? v : undefined;
}

/** The object at `path`, or undefined when absent or not an object. */
export function getNestedMap(obj: unknown, ...path: string[]): Record<string, unknown> | undefined {
  const v = getNestedField(obj, ...path);
  return isPlainObject(v) ? v : undefined;
}

/** The string map at `path` (non-string values dropped), or undefined when absent. */
export function getNestedStringMap(obj: unknown, ...path: string[]): Record<string, string> | undefined {
  const v = getNestedMap(obj, ...path);
  if (v === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** The array at `path`, or undefined when absent or not an array. */
export function getNestedSlice(obj: unknown, ...path: string[]): unknown[] | undefined {
  const v = getNestedField(obj, ...path);
  return Array.isArray(v) ? v : undefined;
}

/**
 * Sets `value` at `path`, creating intermediate objects and replacing non-object
 * intermediates (as unstructured.SetNestedField). Mutates `obj`.
 */
export function setNestedField(obj: Record<string, unknown>, value: unknown, ...path: string[]): void {
  if (path.length === 0) throw new Error('setNestedField: empty path');
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    const next = cur[p];
    if (isPlainObject(next)) {
      cur = next;
    } else {
      const created: Record<string, unknown> = {};
      cur[p] = created;
      cur = created;
    }
  }
  cur[path[path.length - 1]!] = value;
}

/** Deletes the field at `path` if present. Mutates `obj`. */
export function removeNestedField(obj: Record<string, unknown>, ...path: string[]): void {
  if (path.length === 0) return;
  const parent = getNestedField(obj, ...path.slice(0, -1));
  if (isPlainObject(parent)) delete parent[path[path.length - 1]!];
}

// ---------------------------------------------------------------------------------------
// Deep copy and equality of JSON-like values
// ---------------------------------------------------------------------------------------

/**
 * A deep copy of a JSON-like value (objects, arrays, primitives). Properties whose value
 * is undefined are dropped, as a JSON round trip would.
 */
export function deepClone<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => deepClone(x)) as T;
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = deepClone(x);
    return out as T;
  }
  return v;
}

/**
 * Structural equality of JSON-like values: key order does not matter, array order does,
 * a property set to undefined equals an absent one.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    for (const k of ka) if (!(k in b) || !deepEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------

/**
 * metav1.Time's wire form: RFC 3339 in UTC with whole seconds, e.g.
 * "2024-05-01T12:34:56Z" (fractional seconds are truncated, as upstream).
 */
export function formatRFC3339(t: Date | number): string {
  const d = typeof t === 'number' ? new Date(t) : t;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * metav1.MicroTime's wire form: RFC 3339 in UTC with six fractional digits, e.g.
 * "2024-05-01T12:34:56.789000Z" (JS time has millisecond resolution).
 */
export function formatRFC3339Micro(t: Date | number): string {
  const d = typeof t === 'number' ? new Date(t) : t;
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Parses an RFC 3339 timestamp to epoch milliseconds; throws on a malformed one. */
export function parseRFC3339(s: string): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s)) {
    throw new Error(`parsing time ${JSON.stringify(s)} as "2006-01-02T15:04:05Z07:00": cannot parse`);
  }
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) throw new Error(`parsing time ${JSON.stringify(s)}: out of range`);
  return ms;
}

// ---------------------------------------------------------------------------------------
// Names and UIDs
// ---------------------------------------------------------------------------------------

/** pkg/util/rand's alphabet: no vowels (no accidental words) and no 0/1/3 look-alikes. */
export const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The random suffix length of generateName. */
export const GENERATE_NAME_RANDOM_LENGTH = 5;

/** Longest base kept by generateName, so base + suffix fits in 63 characters. */
export const MAX_GENERATED_NAME_BASE_LENGTH = 63 - GENERATE_NAME_RANDOM_LENGTH;

/** rand.String(n) over {@link NAME_SUFFIX_ALPHABET}; `random(n)` returns an int in [0, n). */
export function randomString(n: number, random: (n: number) => number = randomInt): string {
  let out = '';
  for (let i = 0; i < n; i++) out += NAME_SUFFIX_ALPHABET[random(NAME_SUFFIX_ALPHABET.length)];
  return out;
}

/**
 * names.SimpleNameGenerator.GenerateName: base (cut to 58 characters) plus 5 random
 * characters, e.g. "web-" → "web-x7k2p".
 */
export function generateName(base: string, random?: (n: number) => number): string {
  const b = base.length > MAX_GENERATED_NAME_BASE_LENGTH ? base.slice(0, MAX_GENERATED_NAME_BASE_LENGTH) : base;
  return b + randomString(GENERATE_NAME_RANDOM_LENGTH, random);
}

/** A new object UID (RFC 4122 v4, as the API server assigns). */
export function newUID(): string {
  return randomUUID();
}

// ---------------------------------------------------------------------------------------
// Accessors
// ---------------------------------------------------------------------------------------

/** metadata.name or "". */
export function getName(obj: KObject): string {
  return obj.metadata?.name ?? '';
}

/** metadata.namespace or "". */
export function getNamespace(obj: KObject): string {
  return obj.metadata?.namespace ?? '';
}

/** The cache key client-go uses: "namespace/name", or "name" for cluster-scoped objects. */
export function namespacedKey(obj: KObject): string {
  const ns = getNamespace(obj);
  return ns === '' ? getName(obj) : `${ns}/${getName(obj)}`;
}

/** The controller owner reference (controller: true), if any. */
export function getControllerOf(obj: KObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** Builds a controller OwnerReference to `owner` (blockOwnerDeletion and controller true). */
export function newControllerRef(owner: KObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? '',
    kind: owner.kind ?? '',
    name: getName(owner),
    uid: owner.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}
