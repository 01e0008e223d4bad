/**
 * Small helpers over unstructured core/v1 objects: resource definitions work on the JSON
 * the API server decoded (KObject), so every field is `unknown` until checked.
 */
import { goTyped, type GoTyped } from '../../../apimachinery/errors.js';
import type { KObject } from '../../../apimachinery/meta.js';

/** A JSON object. */
export type Obj = Record<string, unknown>;

/** The value as a JSON object, or undefined. */
export function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** The value as an array ([] when absent or not an array). */
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The value as an array of JSON objects (non-objects dropped). */
export function objs(v: unknown): Obj[] {
  return arr(v).map(obj).filter((x): x is Obj => x !== undefined);
}

/** The value as a string ("" when absent or not a string), like a Go string's zero value. */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The value as a number (0 when absent), like a Go int's zero value. */
export function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

/** The value as a string map ({} when absent). */
export function strMap(v: unknown): Record<string, string> {
  const o = obj(v);
  if (!o) return {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o)) out[k] = typeof x === 'string' ? x : String(x);
  return out;
}

/** parent[key] as an object, created (as {}) when absent. */
export function ensureObj(parent: Obj, key: string): Obj {
  const cur = obj(parent[key]);
  if (cur) return cur;
  const created: Obj = {};
  parent[key] = created;
  return created;
}

/** The object's `spec` ({} view when absent; not attached). */
export function specOf(o: KObject): Obj {
  return obj(o.spec) ?? {};
}

/** The object's `status` ({} view when absent; not attached). */
export function statusOf(o: KObject): Obj {
  return obj(o.status) ?? {};
}

/** Whether a field is set (not undefined and not null), as a Go pointer being non-nil. */
export function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** A string map typed for error rendering: `map[string]string{"a":"b"}` / `map[string]string(nil)`. */
export function goStringMap(v: unknown): GoTyped {
  const o = obj(v);
  return goTyped('map[string]string', o ?? null);
}

/** A string slice typed for error rendering: `[]string{"a"}` / `[]string(nil)`. */
export function goStringSlice(v: unknown): GoTyped {
  return goTyped('[]string', Array.isArray(v) ? v : null);
}

/** Semantic (JSON) equality of plain data, null and undefined alike. */
export function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  return JSON.stringify(v ?? null, (_k, x: unknown) => {
    const o = obj(x);
    if (!o) return x;
    const sorted: Obj = {};
    for (const k of Object.keys(o).sort()) if (o[k] !== undefined) sorted[k] = o[k];
    return sorted;
  });
}

/** Go's strconv.FormatBool. */
export function formatBool(v: unknown): string {
  return v === true ? 'true' : 'false';
}
