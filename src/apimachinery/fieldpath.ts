/**
 * Field paths and field sets of server-side apply, as sigs.k8s.io/structured-merge-diff
 * (fieldpath package), with the `FieldsV1` wire encoding of `metadata.managedFields`.
 *
 * A path is a list of path elements, each one of:
 *   field  `f:<name>`       a field of a struct or a key of a map          `.spec`
 *   key    `k:<json>`       the item of a list-map with these key fields    `[containerPort=80,protocol="TCP"]`
 *   value  `v:<json>`       the item of a set list with this value          `[="example.com/x"]`
 *   index  `i:<n>`          the n-th item of a list (no keys known)         `[0]`
 * Key objects are JSON with fields sorted by name, encoded as Go's encoding/json does
 * (`<`, `>`, `&` escaped), so the strings are byte-identical to upstream's.
 *
 * A {@link FieldSet} is a set of paths stored as a tree. FieldsV1 writes the tree as
 * nested JSON objects in sorted order; a path that is itself in the set and also has
 * children in the set writes `".": {}` among those children. Worked example — the set
 * { .metadata.labels.app, .spec.replicas, .spec.template.spec.containers[name="c"],
 *   .spec.template.spec.containers[name="c"].image,
 *   .spec.template.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"],
 *   .spec.template.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"].containerPort,
 *   .metadata.finalizers[="example.com/x"] }
 * encodes as
 *
 *     {"f:metadata": {"f:finalizers": {"v:\"example.com/x\"": {}}, "f:labels": {"f:app": {}}},
 *      "f:spec": {"f:replicas": {},
 *                 "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {
 *                     ".": {}, "f:image": {},
 *                     "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}}}}}}
 *
 * Ordering (used for encoding and iteration) is upstream's: fields < keys < values <
 * indexes; fields by name, keys field by field, values numbers < strings < booleans <
 * lists < maps < null.
 */
import type { JSONObject, JSONValue } from './schema.js';

/** One named key field of a list-map item. */
export interface KeyField {
  readonly name: string;
  readonly value: JSONValue;
}

/** One step of a path; see the module comment. */
export type PathElement =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'key'; readonly fields: readonly KeyField[] }
  | { readonly kind: 'value'; readonly value: JSONValue }
  | { readonly kind: 'index'; readonly index: number };

/** A path from the object root to one field. */
export type Path = readonly PathElement[];

/** The path element of field / map key `name`. */
export function fieldElement(name: string): PathElement {
  return { kind: 'field', name };
}

/** The path element of a list-map item with these key fields (sorted by name here). */
export function keyElement(fields: Iterable<KeyField> | Record<string, JSONValue>): PathElement {
  const list: KeyField[] = Symbol.iterator in fields ? [...(fields as Iterable<KeyField>)] : Object.entries(fields).map(([name, value]) => ({ name, value }));
  list.sort((a, b) => compareStrings(a.name, b.name));
  return { kind: 'key', fields: list };
}

/** The path element of a set item with this (scalar) value. */
export function valueElement(value: JSONValue): PathElement {
  return { kind: 'value', value };
}

/** The path element of list item `index`. */
export function indexElement(index: number): PathElement {
  return { kind: 'index', index };
}

/** Builds a path from field names (strings), indexes (numbers) and path elements. */
export function makePath(...parts: (string | number | PathElement)[]): Path {
  return parts.map((p) => (typeof p === 'string' ? fieldElement(p) : typeof p === 'number' ? indexElement(p) : p));
}

const SURROGATE = /[\ud800-\udfff]/;

/** Go's string order (bytewise over UTF-8). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 code unit order equals UTF-8 byte order unless a surrogate pair is involved.
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function valueRank(v: JSONValue): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  if (v !== null) return 4;
  return 5;
}

/** Total order over JSON values, as structured-merge-diff's value.Compare. */
export function compareValues(a: JSONValue, b: JSONValue): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 1:
      return compareStrings(a as string, b as string);
    case 2:
      return a === b ? 0 : a ? 1 : -1;
    case 3: {
      const la = a as JSONValue[];
      const lb = b as JSONValue[];
      for (let i = 0; ; i++) {
        if (i >= la.length && i >= lb.length) return 0;
        if (i >= la.length) return -1;
        if (i >= lb.length) return 1;
        const c = compareValues(la[i], lb[i]);
        if (c !== 0) return c;
      }
    }
    case 4: {
      const ma = a as JSONObject;
      const mb = b as JSONObject;
      const keys = [...new Set([...Object.keys(ma), ...Object.keys(mb)])].sort(compareStrings);
      for (const k of keys) {
        if (!Object.hasOwn(ma, k)) return 1;
        if (!Object.hasOwn(mb, k)) return -1;
        const c = compareValues(ma[k], mb[k]);
        if (c !== 0) return c;
      }
      return 0;
    }
    default:
      return 0;
  }
}

const kindRank = { field: 0, key: 1, value: 2, index: 3 } as const;

/** Total order over path elements, as upstream's PathElement.Compare. */
export function comparePathElements(a: PathElement, b: PathElement): number {
  if (a.kind !== b.kind) return kindRank[a.kind] - kindRank[b.kind];
  switch (a.kind) {
    case 'field':
      return compareStrings(a.name, (b as typeof a).name);
    case 'key': {
      const fa = a.fields;
      const fb = (b as typeof a).fields;
      for (let i = 0; ; i++) {
        if (i >= fa.length && i >= fb.length) return 0;
        if (i >= fa.length) return -1;
        if (i >= fb.length) return 1;
        const c = compareStrings(fa[i].name, fb[i].name) || compareValues(fa[i].value, fb[i].value);
        if (c !== 0) return c;
      }
    }
    case 'value':
      return compareValues(a.value, (b as typeof a).value);
    case 'index':
      return a.index - (b as typeof a).index;
  }
}

/** Go's `%v`-style rendering used in conflict messages (value.ToString). */
function valueToString(v: JSONValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(valueToString).join(',') + ']';
  if (typeof v === 'object') return Object.keys(v).map((k) => `${k}=${valueToString(v[k])}`).join('');
  return String(v);
}

/** The element as upstream prints it in paths: `.name`, `[k=v,...]`, `[=v]`, `[i]`. */
export function pathElementToString(pe: PathElement): string {
  switch (pe.kind) {
    case 'field':
      return '.' + pe.name;
    case 'key':
      return '[' + pe.fields.map((f) => `${f.name}=${valueToString(f.value)}`).join(',') + ']';
    case 'value':
      return `[=${valueToString(pe.value)}]`;
    case 'index':
      return `[${pe.index}]`;
  }
}

/** The path as upstream prints it, e.g. `.spec.containers[name="c"].image`. */
export function pathToString(p: Path): string {
  return p.map(pathElementToString).join('');
}

/**
 * JSON exactly as Go's encoding/json writes it: map keys sorted, `<` `>` `&` and
 * U+2028/U+2029 escaped.
 */
export function goJSON(v: JSONValue): string {
  const json = typeof v === 'object' && v !== null ? JSON.stringify(sortKeys(v)) : JSON.stringify(v);
  return GO_ESCAPED.test(json) ? json.replace(GO_ESCAPED_ALL, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) : json;
}

const GO_ESCAPED = /[<>&\u2028\u2029]/;
const GO_ESCAPED_ALL = /[<>&\u2028\u2029]/g;

function sortKeys(v: JSONValue): JSONValue {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: JSONObject = {};
    for (const k of Object.keys(v).sort(compareStrings)) out[k] = sortKeys(v[k]);
    return out;
  }
  return v;
}

/** Raised for an undecodable FieldsV1 key. */
export class PathElementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathElementError';
  }
}

/** Serialized forms, cached: path elements are immutable and the same ones recur constantly. */
const serialized = new WeakMap<PathElement, string>();

/** FieldsV1 key of a path element (`f:name`, `k:{...}`, `v:...`, `i:0`). */
export function serializePathElement(pe: PathElement): string {
  if (pe.kind === 'field') return 'f:' + pe.name;
  let s = serialized.get(pe);
  if (s === undefined) {
    switch (pe.kind) {
      case 'key':
        s = 'k:{' + pe.fields.map((f) => `${goJSON(f.name)}:${goJSON(f.value)}`).join(',') + '}';
        break;
      case 'value':
        s = 'v:' + goJSON(pe.value);
        break;
      case 'index':
        s = 'i:' + String(pe.index);
        break;
    }
    serialized.set(pe, s);
  }
  return s;
}

const unknownPathElementType = 'unknown path element type';

/**
 * Parses a FieldsV1 key. Throws PathElementError with upstream's messages; a key with an
 * unknown type letter throws with message `unknown path element type`.
 */
export function deserializePathElement(s: string): PathElement {
  if (s.length < 2) throw new PathElementError('key must be 2 characters long:');
  if (s[1] !== ':') throw new PathElementError(`missing colon: ${s}`);
  const rest = s.slice(2);
  switch (s[0]) {
    case 'f':
      return fieldElement(rest);
    case 'v':
      return valueElement(parseJSON(rest));
    case 'k': {
      const obj = parseJSON(rest);
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new PathElementError(`invalid key: ${rest}`);
      return keyElement(obj);
    }
    case 'i': {
      if (!/^[+-]?\d+$/.test(rest)) throw new PathElementError(`strconv.Atoi: parsing ${JSON.stringify(rest)}: invalid syntax`);
      return indexElement(Number(rest));
    }
    default:
      throw new PathElementError(unknownPathElementType);
  }
}

function parseJSON(s: string): JSONValue {
  try {
    return JSON.parse(s) as JSONValue;
  } catch (e) {
    throw new PathElementError((e as Error).message);
  }
}

/**
 * A set of paths, as a tree: `members` are the paths ending here, `children` the subtrees.
 * Immutable from the outside: operations return new sets and never share mutable nodes
 * with their operands' callers (sub-trees are shared read-only).
 */
export class FieldSet {
  /** Path elements whose one-element path is in the set, keyed by serialized form. */
  readonly #members = new Map<string, PathElement>();
  /** Non-empty subtrees, keyed by serialized form of their path element. */
  readonly #children = new Map<string, { pe: PathElement; set: FieldSet }>();

  /** A set holding `paths`. */
  static of(...paths: Path[]): FieldSet {
    return FieldSet.fromPaths(paths);
  }

  /** A set holding every path of `paths` (for large collections, where spreading into {@link of} would not do). */
  static fromPaths(paths: Iterable<Path>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.#insert(p);
    return s;
  }

  /** @internal Mutating insert; only used while building a new set. */
  #insert(p: Path): void {
    if (p.length === 0) return; // the whole object is never owned
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let s: FieldSet = this;
    for (let i = 0; i < p.length - 1; i++) s = s.#descend(p[i]);
    const last = p[p.length - 1];
    s.#members.set(serializePathElement(last), last);
  }

  #descend(pe: PathElement): FieldSet {
    const k = serializePathElement(pe);
    let c = this.#children.get(k);
    if (!c) {
      c = { pe, set: new FieldSet() };
      this.#children.set(k, c);
    }
    return c.set;
  }

  /**
   * @internal Builder access for code constructing a fresh set level by level
   * (apply.ts): adds `pe` as a member of this node. Never call on a published set.
   */
  addMemberUnsafe(pe: PathElement): void {
    this.#members.set(serializePathElement(pe), pe);
  }

  /** @internal Builder access: the child node for `pe`, created if missing. */
  childUnsafe(pe: PathElement): FieldSet {
    return this.#descend(pe);
  }

  /** A copy of this set with `paths` added. */
  with(...paths: Path[]): FieldSet {
    const s = this.union(new FieldSet());
    for (const p of paths) s.#insert(p);
    return s;
  }

  /** True if the set has no paths. */
  empty(): boolean {
    if (this.#members.size > 0) return false;
    for (const c of this.#children.values()) if (!c.set.empty()) return false;
    return true;
  }

  /** Number of paths. */
  size(): number {
    let n = this.#members.size;
    for (const c of this.#children.values()) n += c.set.size();
    return n;
  }

  /** True if path `p` itself is in the set. */
  has(p: Path): boolean {
    if (p.length === 0) return false;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let s: FieldSet | undefined = this;
    for (let i = 0; i < p.length - 1; i++) {
      s = s.#children.get(serializePathElement(p[i]))?.set;
      if (!s) return false;
    }
    return s.#members.has(serializePathElement(p[p.length - 1]));
  }

  /** True if `pe` (as a one-element path) is a member. */
  hasMember(pe: PathElement): boolean {
    return this.#members.has(serializePathElement(pe));
  }

  /** The paths below `pe`, with `pe` removed from their front. */
  withPrefix(pe: PathElement): FieldSet {
    return this.#children.get(serializePathElement(pe))?.set ?? EMPTY;
  }

  /** Paths in either set. */
  union(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.#members) out.#members.set(k, pe);
    for (const [k, pe] of other.#members) out.#members.set(k, pe);
    for (const [k, c] of this.#children) out.#children.set(k, c);
    for (const [k, c] of other.#children) {
      const mine = out.#children.get(k);
      out.#children.set(k, mine ? { pe: mine.pe, set: mine.set.union(c.set) } : c);
    }
    return out;
  }

  /** Paths in both sets. */
  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.#members) if (other.#members.has(k)) out.#members.set(k, pe);
    for (const [k, c] of this.#children) {
      const o = other.#children.get(k);
      if (!o) continue;
      const res = c.set.intersection(o.set);
      if (!res.empty()) out.#children.set(k, { pe: c.pe, set: res });
    }
    return out;
  }

  /** Paths of this set not in `other` (exact paths: removing a parent keeps its children). */
  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.#members) if (!other.#members.has(k)) out.#members.set(k, pe);
    for (const [k, c] of this.#children) {
      const o = other.#children.get(k);
      if (!o) {
        out.#children.set(k, c);
        continue;
      }
      const diff = c.set.difference(o.set);
      if (!diff.empty()) out.#children.set(k, { pe: c.pe, set: diff });
    }
    return out;
  }

  /** Like {@link difference}, but a path of `other` also removes everything below it. */
  recursiveDifference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.#members) if (!other.#members.has(k)) out.#members.set(k, pe);
    for (const [k, c] of this.#children) {
      if (other.#members.has(k)) continue;
      const o = other.#children.get(k);
      if (!o) {
        out.#children.set(k, c);
        continue;
      }
      const diff = c.set.recursiveDifference(o.set);
      if (!diff.empty()) out.#children.set(k, { pe: c.pe, set: diff });
    }
    return out;
  }

  /** True if both sets hold the same paths. */
  equals(other: FieldSet): boolean {
    return this.difference(other).empty() && other.difference(this).empty();
  }

  /** Members of this node in upstream order. */
  members(): PathElement[] {
    return [...this.#members.values()].sort(comparePathElements);
  }

  /** Non-empty children of this node in upstream order. */
  children(): { pe: PathElement; set: FieldSet }[] {
    return [...this.#children.values()].filter((c) => !c.set.empty()).sort((a, b) => comparePathElements(a.pe, b.pe));
  }

  /** Every path, members before children at each level, each group in sorted order (upstream's Iterate). */
  *paths(prefix: Path = []): Generator<Path> {
    for (const pe of this.members()) yield [...prefix, pe];
    for (const c of this.children()) yield* c.set.paths([...prefix, c.pe]);
  }

  /** The paths one per line, as upstream's Set.String. */
  toString(): string {
    return [...this.paths()].map(pathToString).join('\n');
  }

  /** The FieldsV1 encoding (see module comment). */
  toFieldsV1(): JSONObject {
    return this.#emit(false);
  }

  #emit(includeSelf: boolean): JSONObject {
    const out: JSONObject = {};
    // Members and non-empty children, each once by serialized key, in upstream order.
    const entries: { pe: PathElement; key: string; child: FieldSet | undefined }[] = [];
    for (const [key, pe] of this.#members) {
      const c = this.#children.get(key);
      entries.push({ pe, key, child: c && !c.set.empty() ? c.set : undefined });
    }
    for (const [key, c] of this.#children) {
      if (!this.#members.has(key) && !c.set.empty()) entries.push({ pe: c.pe, key, child: c.set });
    }
    if (includeSelf && entries.length > 0) out['.'] = {};
    entries.sort((a, b) => comparePathElements(a.pe, b.pe));
    for (const { key, child } of entries) out[key] = child ? child.#emit(this.#members.has(key)) : {};
    return out;
  }

  /**
   * Decodes FieldsV1. Keys with an unknown type letter are skipped (as upstream);
   * malformed keys throw PathElementError.
   */
  static fromFieldsV1(fields: unknown): FieldSet {
    const out = new FieldSet();
    if (fields === null || fields === undefined) return out;
    if (typeof fields !== 'object' || Array.isArray(fields)) throw new PathElementError('FieldsV1 must be a JSON object');
    out.#read(fields as Record<string, unknown>);
    return out;
  }

  /** Reads the entries of one FieldsV1 object into this node; returns whether it holds "." . */
  #read(obj: Record<string, unknown>): boolean {
    let self = false;
    for (const [key, val] of Object.entries(obj)) {
      if (key === '.') {
        self = true;
        continue;
      }
      let pe: PathElement;
      try {
        pe = deserializePathElement(key);
      } catch (e) {
        if (e instanceof PathElementError && e.message === unknownPathElementType) continue;
        throw new PathElementError(`parsing key as path element: ${(e as Error).message}`);
      }
      const sub = val !== null && typeof val === 'object' && !Array.isArray(val) ? (val as Record<string, unknown>) : {};
      const child = new FieldSet();
      const childSelf = child.#read(sub);
      const hasChildren = !child.empty();
      if (childSelf || !hasChildren) this.#members.set(serializePathElement(pe), pe);
      if (hasChildren) {
        const k = serializePathElement(pe);
        const existing = this.#children.get(k);
        this.#children.set(k, { pe, set: existing ? existing.set.union(child) : child });
      }
    }
    return self;
  }
}

const EMPTY = new FieldSet();
