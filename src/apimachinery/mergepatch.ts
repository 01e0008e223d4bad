/**
 * RFC 7386 JSON Merge Patch as the API server applies `application/merge-patch+json`
 * (gopkg.in/evanphx/json-patch.v4 MergePatch), and CreateMergePatch for diffs.
 *
 * Semantics: objects merge member by member, `null` deletes a member, everything else
 * (arrays included) replaces. Where the target had no object to merge into, nulls inside
 * the patch value are dropped from objects (v4's pruneNulls; array elements are kept).
 */

/** A merge patch that cannot be applied; `message` is json-patch's text. */
export class MergePatchError extends Error {
  readonly kind: 'badDocument' | 'badPatch';

  constructor(kind: 'badDocument' | 'badPatch') {
    super(kind === 'badDocument' ? 'Invalid JSON Document' : 'Invalid JSON Patch');
    this.name = 'MergePatchError';
    this.kind = kind;
  }
}

type JSONObject = Record<string, unknown>;

function isObject(v: unknown): v is JSONObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** Drops null members from objects, recursively (arrays keep null elements). */
function pruneNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === null ? null : pruneNulls(x)));
  if (isObject(v)) {
    const out: JSONObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = pruneNulls(x);
    return out;
  }
  return v;
}

function mergeValue(cur: unknown, patch: unknown): unknown {
  if (!isObject(cur)) return pruneNulls(patch);
  if (!isObject(patch)) return patch;
  mergeDocs(cur, patch);
  return cur;
}

function mergeDocs(doc: JSONObject, patch: JSONObject): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete doc[k];
    } else if (!Object.prototype.hasOwnProperty.call(doc, k) || doc[k] === null) {
      doc[k] = pruneNulls(v);
    } else {
      doc[k] = mergeValue(doc[k], v);
    }
  }
}

/**
 * MergePatch: `patch` applied to a copy of `doc`. An array patch replaces the document;
 * a non-object document is replaced by the (pruned) patch. Throws {@link MergePatchError}
 * ("Invalid JSON Patch", a 400 from the API server) for a null or scalar patch, and
 * "Invalid JSON Document" for a null document.
 */
export function applyMergePatch(doc: unknown, patch: unknown): unknown {
  if (doc === null || doc === undefined) throw new MergePatchError('badDocument');
  if (patch === null || patch === undefined) throw new MergePatchError('badPatch');
  if (Array.isArray(patch)) return pruneNulls(clone(patch));
  if (!isObject(patch)) throw new MergePatchError('badPatch');
  if (!isObject(doc)) return pruneNulls(clone(patch));
  const out = clone(doc);
  mergeDocs(out, clone(patch));
  return out;
}

/** Parses JSON text for {@link applyMergePatchJSON}, mapping syntax errors to `kind`. */
function parse(text: string, kind: 'badDocument' | 'badPatch'): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new MergePatchError(kind);
  }
}

/** {@link applyMergePatch} over JSON text, returning JSON text. */
export function applyMergePatchJSON(docJSON: string, patchJSON: string): string {
  return JSON.stringify(applyMergePatch(parse(docJSON, 'badDocument'), parse(patchJSON, 'badPatch')));
}

function sameJSON(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJSON(x, b[i]));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJSON(a[k], b[k]));
  }
  return false;
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function diff(a: JSONObject, b: JSONObject): JSONObject {
  const into: JSONObject = {};
  for (const [key, bv] of Object.entries(b)) {
    if (!Object.prototype.hasOwnProperty.call(a, key)) {
      into[key] = clone(bv);
      continue;
    }
    const av = a[key];
    if (jsonKind(av) !== jsonKind(bv)) {
      into[key] = clone(bv);
      continue;
    }
    if (isObject(av)) {
      const d = diff(av, bv as JSONObject);
      if (Object.keys(d).length > 0) into[key] = d;
    } else if (!sameJSON(av, bv)) {
      into[key] = clone(bv);
    }
  }
  for (const key of Object.keys(a)) if (!Object.prototype.hasOwnProperty.call(b, key)) into[key] = null;
  return into;
}

/**
 * CreateMergePatch: the merge patch turning `original` into `modified` (objects), so that
 * `applyMergePatch(original, createMergePatch(original, modified))` equals `modified`
 * (except where `modified` itself holds nulls, which a merge patch cannot express).
 * Two arrays of equal length give an array of element-wise patches, as upstream;
 * anything else throws "Invalid JSON Document".
 */
export function createMergePatch(original: unknown, modified: unknown): unknown {
  if (Array.isArray(original) && Array.isArray(modified)) {
    if (original.length !== modified.length) throw new MergePatchError('badDocument');
    return original.map((o, i) => createMergePatch(o, modified[i]));
  }
  if (!isObject(original) || !isObject(modified)) throw new MergePatchError('badDocument');
  return diff(original, modified);
}

/**
 * jsonmergepatch.CreateThreeWayJSONMergePatch (what `kubectl apply` sends for types
 * without strategic merge): deletions of fields dropped between `original` (last applied)
 * and `modified`, plus the changes from `current` to `modified`.
 */
export function createThreeWayMergePatch(original: unknown, modified: unknown, current: unknown): JSONObject {
  const orig = isObject(original) ? original : {};
  const mod = isObject(modified) ? modified : {};
  const cur = isObject(current) ? current : {};
  const deletions = keepNullsOnly(diff(orig, mod));
  const changes = dropNulls(diff(cur, mod));
  return mergeKeepingNulls(deletions, changes);
}

/** The parts of a patch that delete (nulls), keeping the object structure leading to them. */
function keepNullsOnly(p: JSONObject): JSONObject {
  const out: JSONObject = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === null) out[k] = null;
    else if (isObject(v)) {
      const sub = keepNullsOnly(v);
      if (Object.keys(sub).length > 0) out[k] = sub;
    }
  }
  return out;
}

/** The parts of a patch that add or change (no nulls at object level). */
function dropNulls(p: JSONObject): JSONObject {
  const out: JSONObject = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === null) continue;
    if (isObject(v)) {
      const sub = dropNulls(v);
      if (Object.keys(sub).length > 0) out[k] = sub;
    } else {
      out[k] = v;
    }
  }
  return out;
}

function mergeKeepingNulls(a: JSONObject, b: JSONObject): JSONObject {
  const out: JSONObject = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = isObject(out[k]) && isObject(v) ? mergeKeepingNulls(out[k] as JSONObject, v) : v;
  }
  return out;
}
