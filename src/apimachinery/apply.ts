/**
 * The structured-merge-diff core of server-side apply (sigs.k8s.io/structured-merge-diff
 * typed + merge packages) over plain JSON values and our {@link SchemaNode}s:
 * which fields a value sets ({@link toFieldSet}), how two values differ ({@link compare}),
 * merging an applied configuration into a live object ({@link merge}), removing fields
 * ({@link removeItems}), and the ownership bookkeeping of apply and update
 * ({@link Updater}). managedfields.ts wraps this with the Kubernetes `managedFields`
 * encoding and policies.
 *
 * How a schema node shapes a value here (kube-openapi schemaconv semantics):
 *  - struct: a map whose declared properties are "named fields" (a named field holding a
 *    non-empty map is not itself owned, only its leaves; map keys always are);
 *  - map (additionalProperties) and untyped objects: granular maps of un-named keys;
 *  - `x-kubernetes-map-type: atomic` structs/maps and `atomic` lists: one leaf;
 *  - `set` lists: items identified by value (`v:`); `map` lists: by key fields (`k:`),
 *    a missing key field taking the schema default (e.g. `protocol: TCP`);
 *  - untyped values: objects granular, lists atomic, scalars leaves.
 */
import { type JSONObject, type JSONValue, SchemaNode, isJSONObject, jsonEqual } from './schema.js';
import {
  FieldSet,
  type Path,
  type PathElement,
  fieldElement,
  keyElement,
  pathElementToString,
  pathToString,
  serializePathElement,
  valueElement,
} from './fieldpath.js';

/** A value that does not fit the schema (duplicate list keys, items without keys ...). */
export class TypedValueError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(path ? `${path}: ${detail}` : detail);
    this.name = 'TypedValueError';
  }
}

type Shape =
  | { type: 'leaf' }
  | { type: 'map'; atomic: boolean; node: SchemaNode }
  | { type: 'list'; atomic: boolean; node: SchemaNode };

function shapeOf(node: SchemaNode, v: JSONValue | undefined): Shape {
  if (v === undefined || v === null) {
    // Absent/null values take the schema's shape; they are empty.
    if (node.kind === 'struct' || node.kind === 'map') return { type: 'map', atomic: node.mapType === 'atomic', node };
    if (node.kind === 'list') return { type: 'list', atomic: node.listType === 'atomic', node };
    return { type: 'leaf' };
  }
  if (isJSONObject(v)) {
    if (node.kind === 'struct' || node.kind === 'map') return { type: 'map', atomic: node.mapType === 'atomic', node };
    if (node.kind === 'untyped') return { type: 'map', atomic: false, node };
    return { type: 'leaf' };
  }
  if (Array.isArray(v)) {
    if (node.kind === 'list') return { type: 'list', atomic: node.listType === 'atomic', node };
    return { type: 'leaf' }; // untyped lists are atomic
  }
  return { type: 'leaf' };
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.type === b.type;
}

/** The schema of map key / field `k` below a map-shaped node. */
function childNode(node: SchemaNode, k: string): SchemaNode {
  return node.field(k) ?? SchemaNode.untyped(`${node.name}.${k}`);
}

function isNamedField(node: SchemaNode, k: string): boolean {
  return node.hasField(k);
}

function goQuoteList(keys: readonly string[]): string {
  return '[' + keys.map((k) => JSON.stringify(k)).join(' ') + ']';
}

/** The path element identifying `item` in an associative list (throws for bad items). */
export function listItemToPathElement(list: SchemaNode, item: JSONValue): PathElement {
  const keys = list.listMapKeys;
  if (list.listType === 'map' && keys.length > 0) {
    if (item === null) throw new Error('associative list with keys may not have a null element');
    if (!isJSONObject(item)) throw new Error('associative list with keys may not have non-map elements');
    const fields: { name: string; value: JSONValue }[] = [];
    const itemNode = list.items();
    for (const name of keys) {
      if (Object.hasOwn(item, name)) {
        fields.push({ name, value: item[name] });
      } else {
        const def = itemNode.field(name)?.default;
        if (def !== undefined && def !== null) fields.push({ name, value: def });
      }
    }
    if (fields.length === 0) {
      throw new Error(`associative list with keys has an element that omits all key fields ${goQuoteList(keys)} (and doesn't have default values for any key fields)`);
    }
    return keyElement(fields);
  }
  if (isJSONObject(item)) throw new Error("associative list without keys has an element that's a map type");
  if (Array.isArray(item)) throw new Error('not supported: associative list with lists as elements');
  if (item === null) throw new Error("associative list without keys has an element that's an explicit null");
  return valueElement(item);
}

function asList(v: JSONValue | undefined): JSONValue[] {
  return Array.isArray(v) ? v : [];
}

function asMap(v: JSONValue | undefined): JSONObject {
  return isJSONObject(v) ? v : {};
}

/**
 * A path while walking, as a list linked from the leaf up: descending costs one small
 * object instead of copying the path, and `undefined` is the root.
 */
interface PathLink {
  readonly parent: Where;
  readonly pe: PathElement;
}
type Where = PathLink | undefined;

function down(w: Where, pe: PathElement): PathLink {
  return { parent: w, pe };
}

function toPath(w: Where): PathElement[] {
  const out: PathElement[] = [];
  for (let x = w; x; x = x.parent) out.push(x.pe);
  return out.reverse();
}

function whereString(w: Where): string {
  return pathToString(toPath(w));
}

/** The node of `set` at `w`, created as needed (`set` must be one being built). */
function nodeAt(set: FieldSet, w: Where): FieldSet {
  return w ? nodeAt(set, w.parent).childUnsafe(w.pe) : set;
}

/** Adds path `w` to `set` (being built); the root is never a member. */
function insertAt(set: FieldSet, w: Where): void {
  if (w) nodeAt(set, w.parent).addMemberUnsafe(w.pe);
}

// ---------------------------------------------------------------------------------------
// toFieldSet

/**
 * The set of fields `value` sets, as upstream's TypedValue.ToFieldSet. Items that cannot
 * be identified are skipped (callers validate with {@link validate} first if they care).
 */
export function toFieldSet(value: JSONValue, schema: SchemaNode): FieldSet {
  const out = new FieldSet();
  walkFieldSet(value, schema, undefined, out);
  return out;
}

function walkFieldSet(v: JSONValue, node: SchemaNode, path: Where, out: FieldSet): void {
  const shape = shapeOf(node, v);
  if (shape.type === 'leaf' || shape.atomic) {
    insertAt(out, path);
    return;
  }
  if (shape.type === 'list') {
    if (!Array.isArray(v)) return;
    const seen = new Set<string>();
    const duplicates = new Set<string>();
    const pes: (PathElement | undefined)[] = v.map((item) => {
      try {
        return listItemToPathElement(node, item);
      } catch {
        return undefined;
      }
    });
    for (const pe of pes) {
      if (!pe) continue;
      const k = serializePathElement(pe);
      if (seen.has(k)) {
        if (!duplicates.has(k)) {
          insertAt(out, down(path, pe));
          duplicates.add(k);
        }
      } else {
        seen.add(k);
      }
    }
    v.forEach((item, i) => {
      const pe = pes[i];
      if (!pe || duplicates.has(serializePathElement(pe))) return;
      const p = down(path, pe);
      walkFieldSet(item, node.items(), p, out);
      insertAt(out, p);
    });
    return;
  }
  if (!isJSONObject(v)) return;
  for (const [k, val] of Object.entries(v)) {
    const p = down(path, fieldElement(k));
    walkFieldSet(val, childNode(node, k), p, out);
    if (val === null || (isJSONObject(val) && Object.keys(val).length === 0) || !isNamedField(node, k)) insertAt(out, p);
  }
}

// ---------------------------------------------------------------------------------------
// validate

/**
 * Checks what upstream checks when converting an object to a typed value: list items
 * can be identified and, unless `allowDuplicates`, no two items share an identity.
 * @throws TypedValueError naming the first offending path, in upstream's words.
 */
export function validate(value: JSONValue, schema: SchemaNode, allowDuplicates = false): void {
  const walk = (v: JSONValue, node: SchemaNode, path: Where): void => {
    const shape = shapeOf(node, v);
    if (shape.type === 'leaf' || shape.atomic) return;
    if (shape.type === 'list') {
      if (!Array.isArray(v)) return;
      const seen = new Set<string>();
      v.forEach((item, i) => {
        let pe: PathElement;
        try {
          pe = listItemToPathElement(node, item);
        } catch (e) {
          throw new TypedValueError(whereString(path), `element ${i}: ${(e as Error).message}`);
        }
        const k = serializePathElement(pe);
        if (seen.has(k) && !allowDuplicates) throw new TypedValueError(whereString(path), `duplicate entries for key ${pathElementToString(pe)}`);
        seen.add(k);
        walk(item, node.items(), down(path, pe));
      });
      return;
    }
    if (!isJSONObject(v)) return;
    for (const [k, val] of Object.entries(v)) walk(val, childNode(node, k), down(path, fieldElement(k)));
  };
  walk(value, schema, undefined);
}

// ---------------------------------------------------------------------------------------
// compare

/** How `rhs` differs from `lhs`, field by field. */
export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** The fields added, modified and removed going from `lhs` to `rhs` (TypedValue.Compare). */
export function compare(lhs: JSONValue | undefined, rhs: JSONValue | undefined, schema: SchemaNode): Comparison {
  const added = new FieldSet();
  const modified = new FieldSet();
  const removed = new FieldSet();
  const leaf = (l: JSONValue | undefined, r: JSONValue | undefined, path: Where): void => {
    if (l === undefined) insertAt(added, path);
    else if (r === undefined) insertAt(removed, path);
    else if (!jsonEqual(l, r)) insertAt(modified, path);
  };
  const walk = (l: JSONValue | undefined, r: JSONValue | undefined, node: SchemaNode, path: Where): void => {
    if (l === undefined && r === undefined) return;
    // Equal values differ nowhere below (whatever their shape), so an unchanged subtree —
    // most of an object on an ordinary update — is not walked.
    if (l !== undefined && r !== undefined && jsonEqual(l, r)) return;
    const ls = shapeOf(node, l);
    const rs = shapeOf(node, r);
    const shape = l === undefined ? rs : r === undefined ? ls : sameShape(ls, rs) ? rs : undefined;
    if (!shape || shape.type === 'leaf') return leaf(l, r, path);
    if (shape.type === 'list') {
      const ll = asList(l);
      const rl = asList(r);
      if (shape.atomic || (ll.length === 0 && rl.length === 0)) return leaf(l, r, path);
      compareListItems(ll, rl, node, path);
    } else {
      const lm = asMap(l);
      const rm = asMap(r);
      if (shape.atomic || (Object.keys(lm).length === 0 && Object.keys(rm).length === 0)) return leaf(l, r, path);
      const keys = new Set([...Object.keys(lm), ...Object.keys(rm)]);
      for (const k of keys) {
        walk(Object.hasOwn(lm, k) ? lm[k] : undefined, Object.hasOwn(rm, k) ? rm[k] : undefined, childNode(node, k), down(path, fieldElement(k)));
      }
    }
    if (l === undefined) insertAt(added, path);
    else if (r === undefined) insertAt(removed, path);
  };
  const compareListItems = (ll: JSONValue[], rl: JSONValue[], node: SchemaNode, path: Where) => {
    const order: { key: string; pe: PathElement }[] = [];
    const lValues = new Map<string, JSONValue[]>();
    const rValues = new Map<string, JSONValue[]>();
    const index = (list: JSONValue[], values: Map<string, JSONValue[]>, other?: Map<string, JSONValue[]>) => {
      for (const item of list) {
        let pe: PathElement;
        try {
          pe = listItemToPathElement(node, item);
        } catch {
          continue;
        }
        const k = serializePathElement(pe);
        const existing = values.get(k);
        if (existing) existing.push(item);
        else {
          values.set(k, [item]);
          if (!other || !other.has(k)) order.push({ key: k, pe });
        }
      }
    };
    index(ll, lValues);
    index(rl, rValues, lValues);
    for (const { key, pe } of order) {
      const lList = lValues.get(key) ?? [];
      const rList = rValues.get(key) ?? [];
      const p = down(path, pe);
      if (lList.length <= 1 && rList.length <= 1) {
        walk(lList[0], rList[0], node.items(), p);
      } else if (lList.length >= 2 && rList.length >= 2) {
        if (lList.length !== rList.length || lList.some((v, i) => !jsonEqual(v, rList[i]))) insertAt(modified, p);
      } else if (lList.length >= 2) {
        if (rList.length !== 0) walk(undefined, rList[0], node.items(), p);
        insertAt(removed, p);
      } else {
        if (lList.length !== 0) walk(lList[0], undefined, node.items(), p);
        insertAt(added, p);
      }
    }
  };
  walk(lhs, rhs, schema, undefined);
  return { added, modified, removed };
}

// ---------------------------------------------------------------------------------------
// merge

/**
 * `rhs` merged over `lhs` (TypedValue.Merge): leaves and atomic values come from `rhs`,
 * maps merge key by key, associative lists merge item by item keeping `rhs`'s order for
 * the items it has and placing `lhs`-only items where they were relative to them.
 * @throws TypedValueError if a list item of a merged list cannot be identified or `rhs`
 *   repeats one (call {@link validate} on `rhs` to check all of it up front).
 * The result shares unchanged subtrees with `lhs` and `rhs`: copy before mutating it.
 */
export function merge(lhs: JSONValue | undefined, rhs: JSONValue | undefined, schema: SchemaNode): JSONValue | undefined {
  return mergeAt(lhs, rhs, schema, undefined);
}

function mergeAt(l: JSONValue | undefined, r: JSONValue | undefined, node: SchemaNode, path: Where): JSONValue | undefined {
  if (r === undefined) return l;
  if (l === undefined) return r;
  const ls = shapeOf(node, l);
  const rs = shapeOf(node, r);
  if (!sameShape(ls, rs) || rs.type === 'leaf') return r;
  if (rs.type === 'list') {
    const ll = asList(l);
    const rl = asList(r);
    if (rs.atomic || (ll.length === 0 && rl.length === 0)) return r;
    const out = mergeListItems(ll, rl, node, path);
    return out.length > 0 ? out : undefined;
  }
  const lm = asMap(l);
  const rm = asMap(r);
  if (rs.atomic || (Object.keys(lm).length === 0 && Object.keys(rm).length === 0)) return r;
  const out: JSONObject = {};
  for (const k of new Set([...Object.keys(lm), ...Object.keys(rm)])) {
    const v = mergeAt(Object.hasOwn(lm, k) ? lm[k] : undefined, Object.hasOwn(rm, k) ? rm[k] : undefined, childNode(node, k), down(path, fieldElement(k)));
    if (v !== undefined) out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function indexListItems(
  list: JSONValue[],
  node: SchemaNode,
  path: Where,
  allowDuplicates: boolean,
): { pes: PathElement[]; keys: string[]; observed: Map<string, JSONValue>; items: JSONValue[] } {
  const pes: PathElement[] = [];
  const keys: string[] = [];
  const items: JSONValue[] = [];
  const observed = new Map<string, JSONValue>();
  list.forEach((item, i) => {
    let pe: PathElement;
    try {
      pe = listItemToPathElement(node, item);
    } catch (e) {
      throw new TypedValueError(whereString(path), `element ${i}: ${(e as Error).message}`);
    }
    const k = serializePathElement(pe);
    if (observed.has(k)) {
      if (!allowDuplicates) throw new TypedValueError(whereString(path), `duplicate entries for key ${pathElementToString(pe)}`);
      observed.set(k, null);
    } else {
      observed.set(k, item);
    }
    pes.push(pe);
    keys.push(k);
    items.push(item);
  });
  return { pes, keys, observed, items };
}

/**
 * The item order of upstream's mergingWalker.visitListItems: walk both lists; shared
 * items follow the applied list's order, and live-only items stay just before the next
 * shared item that followed them in the live list.
 */
function mergeListItems(ll: JSONValue[], rl: JSONValue[], node: SchemaNode, path: Where): JSONValue[] {
  const rhs = indexListItems(rl, node, path, false);
  const lhs = indexListItems(ll, node, path, true);
  const out: JSONValue[] = [];
  const item = node.items();
  const sharedOrder = rhs.keys.filter((k) => lhs.observed.has(k));
  let nextShared: string | undefined = sharedOrder.shift();
  const mergedRHS = new Set<string>();
  const push = (pe: PathElement, lChild: JSONValue | undefined, rChild: JSONValue | undefined) => {
    const v = mergeAt(lChild, rChild, item, down(path, pe));
    if (v !== undefined) out.push(v);
  };
  let lI = 0;
  let rI = 0;
  while (lI < lhs.keys.length || rI < rhs.keys.length) {
    if (lI < lhs.keys.length && rI < rhs.keys.length) {
      const k = lhs.keys[lI];
      if (k === rhs.keys[rI]) {
        mergedRHS.add(k);
        push(lhs.pes[lI], lhs.observed.get(k) ?? undefined, rhs.observed.get(k));
        lI++;
        rI++;
        nextShared = sharedOrder.shift();
        continue;
      }
      if (rhs.observed.has(k) && nextShared !== undefined && nextShared !== k) {
        lI++;
        continue;
      }
    }
    if (lI < lhs.keys.length) {
      const k = lhs.keys[lI];
      if (!rhs.observed.has(k)) {
        push(lhs.pes[lI], lhs.items[lI], undefined);
        lI++;
        continue;
      } else if (mergedRHS.has(k)) {
        lI++;
      }
    }
    if (rI < rhs.keys.length) {
      const k = rhs.keys[rI];
      mergedRHS.add(k);
      const lChild = lhs.observed.get(k);
      push(rhs.pes[rI], lChild === null ? undefined : lChild, rhs.observed.get(k));
      rI++;
      if (nextShared !== undefined && nextShared === k) nextShared = sharedOrder.shift();
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// removeItems / ensureNamedFieldsAreMembers

/**
 * `value` without the fields in `toRemove` (TypedValue.RemoveItems). A map or list left
 * empty by the removal disappears from its parent, which is what upstream's result looks
 * like once decoded into a typed object. Shares untouched subtrees with `value`.
 */
export function removeItems(value: JSONValue, toRemove: FieldSet, schema: SchemaNode): JSONValue | undefined {
  const walk = (v: JSONValue, remove: FieldSet, node: SchemaNode): JSONValue | undefined => {
    const shape = shapeOf(node, v);
    if (shape.type === 'leaf') return v;
    if (shape.type === 'list') {
      if (!Array.isArray(v) || v.length === 0 || shape.atomic) return undefined;
      const out: JSONValue[] = [];
      for (const item of v) {
        let pe: PathElement;
        try {
          pe = listItemToPathElement(node, item);
        } catch {
          out.push(item);
          continue;
        }
        if (remove.has([pe])) continue;
        const sub = remove.withPrefix(pe);
        if (!sub.empty()) {
          const nv = walk(item, sub, node.items());
          out.push(nv === undefined ? (isJSONObject(item) ? {} : null) : nv);
        } else {
          out.push(item);
        }
      }
      return out.length > 0 ? out : undefined;
    }
    if (!isJSONObject(v) || Object.keys(v).length === 0 || shape.atomic) return undefined;
    const out: JSONObject = {};
    for (const [k, val] of Object.entries(v)) {
      const pe = fieldElement(k);
      if (remove.has([pe])) continue;
      const sub = remove.withPrefix(pe);
      if (!sub.empty()) {
        const nv = walk(val, sub, childNode(node, k));
        if (nv !== undefined) out[k] = nv;
      } else {
        out[k] = val;
      }
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };
  return walk(value, toRemove, schema);
}

/**
 * `set` plus, as members, every named struct field it has children under: owning
 * `.spec.replicas` then also means owning `.spec` (but not a map like `.metadata.labels`).
 */
export function ensureNamedFieldsAreMembers(set: FieldSet, schema: SchemaNode | undefined): FieldSet {
  const walk = (s: FieldSet, node: SchemaNode | undefined, out: FieldSet) => {
    for (const pe of s.members()) out.addMemberUnsafe(pe);
    for (const c of s.children()) {
      let child: SchemaNode | undefined;
      if (c.pe.kind === 'field' && node && (node.kind === 'struct' || node.kind === 'map' || node.kind === 'untyped')) {
        if (node.hasField(c.pe.name)) out.addMemberUnsafe(c.pe);
        child = node.field(c.pe.name);
      } else if (c.pe.kind === 'key' && node?.kind === 'list') {
        child = node.items();
      }
      walk(c.set, child, out.childUnsafe(c.pe));
    }
  };
  const out = new FieldSet();
  walk(set, schema, out);
  return out;
}

// ---------------------------------------------------------------------------------------
// Ownership: the Updater.

/** The fields one manager owns, at an API version, and whether by Apply. */
export interface VersionedSet {
  set: FieldSet;
  apiVersion: string;
  applied: boolean;
}

/** Manager identifier → owned fields. */
export type ManagedFields = Map<string, VersionedSet>;

/** One field another manager owns that an apply would change. */
export interface Conflict {
  manager: string;
  path: Path;
}

/** An apply changed fields other managers own (merge.Conflicts). */
export class ConflictsError extends Error {
  constructor(readonly conflicts: Conflict[]) {
    super(conflictsMessage(conflicts));
    this.name = 'ConflictsError';
  }
}

function conflictsMessage(conflicts: Conflict[]): string {
  if (conflicts.length === 1) return `conflict with ${JSON.stringify(conflicts[0].manager)}: ${pathToString(conflicts[0].path)}`;
  const byManager = new Map<string, Path[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.path]);
  const lines: string[] = [];
  for (const m of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${JSON.stringify(m)}:`);
    for (const p of byManager.get(m)!) lines.push(`- ${pathToString(p)}`);
  }
  return lines.join('\n');
}

/** Options of {@link Updater}. */
export interface UpdaterOptions {
  /** Fields whose changes are not tracked (upstream's reset fields, e.g. `.status` on the main resource). */
  ignoredFields?: FieldSet;
}

/**
 * Field ownership bookkeeping of merge.Updater. All objects are at one API version
 * (Flotilla serves one version per kind, so no conversion is involved).
 */
export class Updater {
  readonly #ignored: FieldSet | undefined;

  constructor(options: UpdaterOptions = {}) {
    this.#ignored = options.ignoredFields && !options.ignoredFields.empty() ? options.ignoredFields : undefined;
  }

  #compare(oldObj: JSONValue | undefined, newObj: JSONValue | undefined, schema: SchemaNode): Comparison {
    const c = compare(oldObj, newObj, schema);
    if (!this.#ignored) return c;
    return { added: c.added.recursiveDifference(this.#ignored), modified: c.modified.recursiveDifference(this.#ignored), removed: c.removed.recursiveDifference(this.#ignored) };
  }

  #filter(set: FieldSet): FieldSet {
    return this.#ignored ? set.recursiveDifference(this.#ignored) : set;
  }

  /**
   * Removes changed fields from the other managers (conflicts unless `force`) and
   * removed fields from everyone else.
   * @throws ConflictsError if not `force` and another manager owns a changed field.
   */
  #update(oldObj: JSONValue | undefined, newObj: JSONValue | undefined, managers: ManagedFields, workflow: string, force: boolean, schema: SchemaNode): [ManagedFields, Comparison] {
    const cmp = this.#compare(oldObj, newObj, schema);
    const changed = cmp.modified.union(cmp.added);
    const conflicts = new Map<string, FieldSet>();
    const out: ManagedFields = new Map(managers);
    for (const [manager, vs] of managers) {
      if (manager === workflow) continue;
      const conflictSet = vs.set.intersection(changed);
      if (!conflictSet.empty()) conflicts.set(manager, conflictSet);
    }
    if (!force && conflicts.size > 0) {
      const list: Conflict[] = [];
      for (const [manager, set] of conflicts) for (const path of set.paths()) list.push({ manager, path });
      throw new ConflictsError(list);
    }
    for (const [manager, vs] of out) {
      if (manager === workflow) continue;
      let set = vs.set;
      const c = conflicts.get(manager);
      if (c) set = set.difference(c);
      if (!cmp.removed.empty()) set = set.difference(cmp.removed);
      if (set !== vs.set) out.set(manager, { ...vs, set });
    }
    for (const [manager, vs] of out) if (vs.set.empty()) out.delete(manager);
    return [out, cmp];
  }

  /**
   * Records an ordinary write (create/update/patch) by `manager`: it takes ownership of
   * everything it added or changed, and nobody owns removed fields any more.
   * Returns the new ownership; `managers` is not modified.
   */
  update(liveObj: JSONValue | undefined, newObj: JSONValue, apiVersion: string, managers: ManagedFields, manager: string, schema: SchemaNode): ManagedFields {
    const [out, cmp] = this.#update(liveObj, newObj, managers, manager, true, schema);
    const previous = out.get(manager)?.set ?? new FieldSet();
    const set = this.#filter(previous.difference(cmp.removed).union(cmp.modified).union(cmp.added));
    if (set.empty()) out.delete(manager);
    else out.set(manager, { set, apiVersion, applied: false });
    return out;
  }

  /**
   * Applies configuration `config` for `manager` (server-side apply): merges it into the
   * live object, removes fields the manager applied before and no longer does (unless
   * someone else owns them too), and moves ownership of changed fields to it.
   * Returns the new object (undefined if it equals `liveObj`; it shares subtrees with the
   * inputs) and the new ownership; the inputs are not modified.
   * @throws ConflictsError unless `force`; TypedValueError for invalid configurations.
   */
  apply(
    liveObj: JSONObject,
    config: JSONObject,
    apiVersion: string,
    managers: ManagedFields,
    manager: string,
    force: boolean,
    schema: SchemaNode,
  ): { object: JSONObject | undefined; managers: ManagedFields } {
    validate(config, schema, false);
    let newObj = (merge(liveObj, config, schema) ?? {}) as JSONObject;
    const lastSet = managers.get(manager);
    const set = this.#filter(toFieldSet(config, schema));
    const withApplier: ManagedFields = new Map(managers);
    withApplier.set(manager, { set, apiVersion, applied: true });
    newObj = this.#prune(newObj, withApplier, lastSet, schema);
    const [out] = this.#update(liveObj, newObj, withApplier, manager, force, schema);
    return { object: jsonEqual(liveObj, newObj) ? undefined : newObj, managers: out };
  }

  #prune(merged: JSONObject, managers: ManagedFields, lastSet: VersionedSet | undefined, schema: SchemaNode): JSONObject {
    if (!lastSet || lastSet.set.empty()) return merged;
    const named = (s: FieldSet) => ensureNamedFieldsAreMembers(s, schema);
    const removeFromMerged = (s: FieldSet) => (removeItems(merged, s, schema) ?? {}) as JSONObject;

    let pruned = removeFromMerged(named(lastSet.set));
    // Add back what any manager (the applier's new set included) still owns.
    let managed = new FieldSet();
    for (const vs of managers.values()) managed = managed.union(vs.set);
    const mergedSet = named(toFieldSet(merged, schema));
    pruned = removeFromMerged(mergedSet.difference(named(toFieldSet(pruned, schema)).union(named(managed))));
    // Add back items nobody owned that only disappeared because their parent did.
    const prunedSet = named(toFieldSet(pruned, schema));
    return removeFromMerged(mergedSet.difference(prunedSet).intersection(named(lastSet.set)));
  }
}
