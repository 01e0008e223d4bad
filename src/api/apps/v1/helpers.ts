/**
 * Helpers shared by the apps/v1 resource definitions (and the other non-core groups):
 * unstructured access, upstream's "semantic" equality, and the Go `%#v` renderings that
 * upstream's field errors print for structured bad values (label selectors, IntOrString).
 */
import { goQuote, goTyped, renderBadValue } from '../../../apimachinery/errors.js';
import type { KObject, ObjectMeta } from '../../../apimachinery/meta.js';
import { deepClone } from '../../../apimachinery/meta.js';
import type { LabelSelector } from '../../../apimachinery/labels.js';
import type { Verb } from '../../types.js';

/** A JSON object. */
export type Obj = Record<string, unknown>;

/** The value as a JSON object, or undefined. */
export function asObj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** The value as an array of JSON objects ([] when absent; non-objects dropped). */
export function asObjs(v: unknown): Obj[] {
  return (Array.isArray(v) ? v : []).map(asObj).filter((x): x is Obj => x !== undefined);
}

/** The value as a string, "" when absent (a Go string's zero value). */
export function asStr(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The value as a number, 0 when absent (a Go int's zero value). */
export function asNum(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

/** Whether a pointer-like field is set (neither undefined nor null). */
export function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** parent[key] as an object, attached as {} when absent. */
export function ensureObj(parent: Obj, key: string): Obj {
  const cur = asObj(parent[key]);
  if (cur) return cur;
  const created: Obj = {};
  parent[key] = created;
  return created;
}

/** obj.metadata, attached when absent. */
export function metaOf(obj: KObject): ObjectMeta {
  if (!obj.metadata) obj.metadata = {};
  return obj.metadata;
}

/** Whether a JSON value is Go's zero value once decoded (absent, null, 0, "", false, [] or {}). */
function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === 0 || v === '' || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as Obj).every((k) => isZero((v as Obj)[k]));
  return false;
}

/**
 * apiequality.Semantic.DeepEqual on decoded JSON: equal when Go would see equal structs,
 * so an absent field equals its zero value and nil equals an empty slice or map (what
 * upstream's generation bumps and "field is immutable" checks compare).
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (isZero(a) && isZero(b)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => semanticEqual(x, b[i]));
  }
  const oa = asObj(a);
  const ob = asObj(b);
  if (oa || ob) {
    if (!oa || !ob) return false;
    const keys = new Set([...Object.keys(oa), ...Object.keys(ob)]);
    for (const k of keys) if (!semanticEqual(oa[k], ob[k])) return false;
    return true;
  }
  return a === b;
}

/** A deep copy of a JSON value (undefined stays undefined). */
export function clone<T>(v: T): T {
  return v === undefined ? v : deepClone(v);
}

// ---------------------------------------------------------------------------------------
// Go renderings of structured bad values
// ---------------------------------------------------------------------------------------

/** A value that prints as the given text in a field error (renderBadValue uses toString). */
function rendered(text: string): { toString(): string } {
  return { toString: () => text };
}

function goStringSlice(v: unknown): string {
  return renderBadValue(goTyped('[]string', Array.isArray(v) ? v : null));
}

/**
 * A metav1.LabelSelector as upstream's `%#v` prints it in field errors, e.g.
 * `v1.LabelSelector{MatchLabels:map[string]string{"app":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`.
 */
export function goLabelSelector(sel: LabelSelector | null | undefined): { toString(): string } {
  const s = sel ?? {};
  const ml = renderBadValue(goTyped('map[string]string', asObj(s.matchLabels) ?? null));
  let me: string;
  if (!Array.isArray(s.matchExpressions)) {
    me = '[]v1.LabelSelectorRequirement(nil)';
  } else {
    const reqs = s.matchExpressions.map((r) =>
      `v1.LabelSelectorRequirement{Key:${goQuote(asStr(r.key))}, Operator:${goQuote(asStr(r.operator))}, Values:${goStringSlice(r.values)}}`);
    me = `[]v1.LabelSelectorRequirement{${reqs.join(', ')}}`;
  }
  return rendered(`v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:${me}}`);
}

/**
 * An intstr.IntOrString as `%#v` prints it: `intstr.IntOrString{Type:1, IntVal:0, StrVal:"25%"}`;
 * an absent value is the zero value (Type:0).
 */
export function goIntOrString(v: unknown): { toString(): string } {
  if (typeof v === 'string') return rendered(`intstr.IntOrString{Type:1, IntVal:0, StrVal:${goQuote(v)}}`);
  const n = typeof v === 'number' ? v : 0;
  return rendered(`intstr.IntOrString{Type:0, IntVal:${n}, StrVal:""}`);
}

/** A Go struct literal for field errors: `pkg.Type{A:"x", B:1}` from pre-rendered fields. */
export function goStruct(type: string, fields: [string, string][]): { toString(): string } {
  return rendered(`${type}{${fields.map(([k, v]) => `${k}:${v}`).join(', ')}}`);
}

/** `%#v` of a Go pointer field inside a struct: `(*T)(nil)`, or a stand-in address when set. */
export function goPtr(type: string, v: unknown): string {
  return isSet(v) ? `(*${type})(0xc000000000)` : `(*${type})(nil)`;
}

// ---------------------------------------------------------------------------------------
// Resource definition pieces
// ---------------------------------------------------------------------------------------

/** The verbs of every ordinary resource. */
export const standardVerbs: Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** generic.ObjectMetaFieldsSet: metadata.name, plus metadata.namespace when namespaced. */
export function objectMetaFields(obj: KObject, namespaced: boolean): Record<string, string> {
  const name = obj.metadata?.name ?? '';
  return namespaced ? { 'metadata.name': name, 'metadata.namespace': obj.metadata?.namespace ?? '' } : { 'metadata.name': name };
}

/** PrepareForCreate of a resource with status: status cleared, generation 1. */
export function resetStatusForCreate(obj: KObject): void {
  obj.status = {};
  metaOf(obj).generation = 1;
}

/**
 * PrepareForUpdate of a resource with status: status kept from old, generation bumped when
 * `changed` (upstream compares the spec), otherwise old's generation.
 */
export function keepStatusForUpdate(obj: KObject, old: KObject, changed: boolean): void {
  obj.status = clone(old.status) ?? {};
  const oldGen = old.metadata?.generation ?? 0;
  metaOf(obj).generation = changed ? oldGen + 1 : oldGen;
}

/** The status strategy's PrepareForUpdate: spec (and optionally labels) from old, generation kept. */
export function keepSpecForStatusUpdate(obj: KObject, old: KObject, keepLabels = false): void {
  obj.spec = clone(old.spec);
  if (obj.spec === undefined) delete obj.spec;
  const meta = metaOf(obj);
  if (old.metadata?.generation !== undefined) meta.generation = old.metadata.generation;
  if (keepLabels) {
    if (old.metadata?.labels) meta.labels = clone(old.metadata.labels);
    else delete meta.labels;
  }
}
