/**
 * Kubernetes strategic merge patch, as k8s.io/apimachinery/pkg/util/strategicpatch.
 *
 * A strategic merge patch is a JSON merge patch (RFC 7386) whose lists can be merged
 * instead of replaced, driven by the schema's `x-kubernetes-patch-strategy` and
 * `x-kubernetes-patch-merge-key`, plus in-band directives:
 *
 *   `$patch: replace`                  (in a map) use this map as is; (in a list) replace the list
 *   `$patch: delete`                   (in a map) delete the map; (as a list item) delete the item with this merge key
 *   `$patch: merge`                    (in a map) the default; rejected inside lists
 *   `$retainKeys: [a, b]`              clear every key of the original map not listed
 *   `$deleteFromPrimitiveList/f: [x]`  remove scalars x from merging list f
 *   `$setElementOrder/f: [...]`        the order the merged list f must end up in
 *   `f: null`                          delete key f
 *
 * Example, with `containers` merged on `name`:
 *
 *   original: {containers: [{name: a, image: a1}, {name: b, image: b1}]}
 *   patch:    {containers: [{name: b, image: b2}, {name: a, $patch: delete}]}
 *   result:   {containers: [{name: b, image: b2}]}
 *
 * Fields the schema does not know (and values below them) merge as JSON merge patch does:
 * maps merge, lists are replaced. Error texts are upstream's, since clients see them.
 *
 * All functions treat their inputs as read-only and return fresh values.
 */
import { stringify as toYAML } from 'yaml';
import { type JSONObject, type JSONValue, type SchemaNode, isJSONObject } from './schema.js';

const directiveMarker = '$patch';
const deleteDirective = 'delete';
const replaceDirective = 'replace';
const mergeDirective = 'merge';
const retainKeysStrategy = 'retainKeys';
const deleteFromPrimitiveListDirectivePrefix = '$deleteFromPrimitiveList';
const retainKeysDirective = '$' + retainKeysStrategy;
const setElementOrderDirectivePrefix = '$setElementOrder';

/**
 * What went wrong, so the API layer can choose the HTTP status the way upstream's
 * `interpretStrategicMergePatchError` does without reading message text:
 * `BadRequest` → newBadRequest(message); `Invalid` → newGenericServerResponse(422, '',
 * {group: '', resource: ''}, '', message, 0, false); `Internal` → what upstream's API server makes of a plain
 * error (ErrorToAPIStatus): 500, empty reason, the bare message. `Conflict` and
 * `PreconditionFailed` only come from patch creation (client side in upstream).
 */
export type StrategicMergePatchErrorKind = 'BadRequest' | 'Invalid' | 'Conflict' | 'PreconditionFailed' | 'Internal';

/** An error applying or computing a strategic merge patch; `message` is upstream's text. */
export class StrategicMergePatchError extends Error {
  constructor(
    readonly kind: StrategicMergePatchErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'StrategicMergePatchError';
  }
}

/** Upstream's sentinel messages (k8s.io/apimachinery/pkg/util/mergepatch). */
export const ErrorMessages = {
  badJSONDoc: 'invalid JSON document',
  noListOfLists: 'lists of lists are not supported',
  badPatchFormatForPrimitiveList: 'invalid patch format of primitive list',
  badPatchFormatForRetainKeys: 'invalid patch format of retainKeys',
  badPatchFormatForSetElementOrderList: 'invalid patch format of setElementOrder list',
  patchContentNotMatchRetainKeys: "patch content doesn't match retainKeys list",
  unsupportedStrategicMergePatchFormat: 'strategic merge patch format is not supported',
} as const;

const badRequest = (m: string) => new StrategicMergePatchError('BadRequest', m);
const internal = (m: string) => new StrategicMergePatchError('Internal', m);
const errNoListOfLists = () => new StrategicMergePatchError('Invalid', ErrorMessages.noListOfLists);
const errBadPatchFormatForPrimitiveList = () => badRequest(ErrorMessages.badPatchFormatForPrimitiveList);
const errBadPatchFormatForRetainKeys = () => badRequest(ErrorMessages.badPatchFormatForRetainKeys);
const errBadPatchFormatForSetElementOrderList = () => badRequest(ErrorMessages.badPatchFormatForSetElementOrderList);
const errNoMergeKey = (m: JSONObject, k: string) => internal(`map: ${goString(m)} does not contain declared merge key: ${k}`);
const errBadArgType = (expected: string, actual: JSONValue | undefined) => internal(`expected a ${expected}, but received a ${goTypeName(actual)}`);
const errBadPatchType = (t: JSONValue, m: JSONObject) => internal(`unknown patch type: ${goString(t)} in map: ${goString(m)}`);

const GO_MAP = 'map[string]interface {}';
const GO_SLICE = '[]interface {}';

/** Go's `reflect.TypeOf(v)` name for a decoded JSON value, for upstream-identical messages. */
function goTypeName(v: JSONValue | undefined): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return GO_SLICE;
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int64' : 'float64';
    default:
      return GO_MAP;
  }
}

/** Go's `%v` of a decoded JSON value (maps print with sorted keys, as fmt does). */
export function goString(v: JSONValue | undefined): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[' + v.map(goString).join(' ') + ']';
  if (isJSONObject(v)) {
    return 'map[' + Object.keys(v).sort(compareStrings).map((k) => `${k}:${goString(v[k])}`).join(' ') + ']';
  }
  return String(v);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

type TypeTag = 'map' | 'slice' | 'string' | 'number' | 'bool' | 'nil';

function typeTag(v: JSONValue | undefined): TypeTag {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return 'slice';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    default:
      return 'map';
  }
}

// ---------------------------------------------------------------------------------------
// Patch metadata lookup (PatchMetaFromOpenAPIV3).

interface PatchMeta {
  strategies: readonly string[];
  mergeKey: string;
}

type Schema = SchemaNode | undefined;

const noMeta: PatchMeta = { strategies: [], mergeKey: '' };

/**
 * The schema below field `key` of a map and the field's patch metadata. A field the
 * schema does not know yields no schema and no metadata: JSON merge patch semantics.
 */
function lookupStruct(schema: Schema, key: string): [Schema, PatchMeta] {
  const node = schema?.field(key);
  if (!node) return [undefined, noMeta];
  return [node, { strategies: node.patchStrategies, mergeKey: node.patchMergeKey ?? '' }];
}

/** As {@link lookupStruct} for a list field; the returned schema is the list's items. */
function lookupSlice(schema: Schema, key: string): [Schema, PatchMeta] {
  const node = schema?.field(key);
  if (!node) return [undefined, noMeta];
  const sub = node.kind === 'list' ? node.items() : node;
  return [sub, { strategies: node.patchStrategies, mergeKey: node.patchMergeKey ?? '' }];
}

function schemaName(schema: Schema): string {
  if (!schema) return 'Struct';
  switch (schema.kind) {
    case 'list':
      return 'array';
    case 'map':
    case 'struct':
      return 'object';
    default:
      return 'Struct';
  }
}

/** Splits strategies into (has retainKeys, the other strategy), as upstream. */
function extractRetainKeysPatchStrategy(strategies: readonly string[]): [boolean, string] {
  switch (strategies.length) {
    case 0:
      return [false, ''];
    case 1:
      return strategies[0] === retainKeysStrategy ? [true, ''] : [false, strategies[0]];
    case 2:
      if (strategies[0] === retainKeysStrategy) return [true, strategies[1]];
      if (strategies[1] === retainKeysStrategy) return [true, strategies[0]];
      throw internal(`unexpected patch strategy: [${strategies.join(' ')}]`);
    default:
      throw internal(`unexpected patch strategy: [${strategies.join(' ')}]`);
  }
}

// ---------------------------------------------------------------------------------------
// Applying a patch.

interface MergeOptions {
  /** Merge parallel lists ($deleteFromPrimitiveList, $setElementOrder) into the result
   *  (server side) rather than carrying them along (when merging two patches). */
  mergeParallelList: boolean;
  /** Drop nulls that have nothing to delete (server side) rather than keeping them. */
  ignoreUnmatchedNulls: boolean;
}

/**
 * Applies strategic merge patch `patch` to `original` under `schema` (the root node of the
 * object's kind; undefined = no schema, i.e. JSON merge patch semantics everywhere).
 * The API server's PATCH with `application/strategic-merge-patch+json` is this function.
 * @throws StrategicMergePatchError with upstream's message (`invalid JSON document` when
 *   either document is not a JSON object).
 */
export function strategicMergePatch(original: JSONObject, patch: JSONObject | null, schema: SchemaNode | undefined): JSONObject {
  // A `null` patch decodes to a nil map upstream, which changes nothing.
  if (patch === null && isJSONObject(original)) return structuredClone(original);
  if (!isJSONObject(original) || !isJSONObject(patch)) throw badRequest(ErrorMessages.badJSONDoc);
  return mergeMap(structuredClone(original), structuredClone(patch), schema, {
    mergeParallelList: true,
    ignoreUnmatchedNulls: true,
  });
}

/**
 * Merges several strategic merge patches into one that, applied once, has the effect of
 * applying them in order (nulls and parallel lists are kept).
 */
export function mergeStrategicMergePatches(schema: SchemaNode | undefined, ...patches: JSONObject[]): JSONObject {
  let merged: JSONObject = {};
  for (const p of patches) {
    merged = mergeMap(merged, structuredClone(p), schema, { mergeParallelList: false, ignoreUnmatchedNulls: false });
  }
  return merged;
}

function handleDirectiveInMergeMap(directive: JSONValue, patch: JSONObject): JSONObject {
  if (directive === replaceDirective) {
    delete patch[directiveMarker];
    return patch;
  }
  if (directive === deleteDirective) return {};
  throw errBadPatchType(directive, patch);
}

function mergeMap(original: JSONObject | null, patch: JSONObject, schema: Schema, options: MergeOptions): JSONObject {
  if (Object.hasOwn(patch, directiveMarker)) return handleDirectiveInMergeMap(patch[directiveMarker], patch);
  const orig: JSONObject = original ?? {};

  applyRetainKeysDirective(orig, patch, options);
  mergePatchIntoOriginal(orig, patch, schema, options);

  for (const key of Object.keys(patch)) {
    const patchV = patch[key];
    let k = key;
    let isDeleteList = false;
    if (k.startsWith(deleteFromPrimitiveListDirectivePrefix)) {
      if (!options.mergeParallelList) {
        orig[k] = patchV;
        continue;
      }
      k = extractKey(k, deleteFromPrimitiveListDirectivePrefix);
      isDeleteList = true;
    }

    if (patchV === null) {
      delete orig[k];
      if (options.ignoreUnmatchedNulls) continue;
    }

    if (!Object.hasOwn(orig, k)) {
      if (!isDeleteList) {
        if (options.ignoreUnmatchedNulls) discardNullValuesFromPatch(patchV);
        setOrDeleteWithoutDirectives(orig, k, patchV);
      }
      continue;
    }

    const origV = orig[k];
    if (typeTag(origV) !== typeTag(patchV)) {
      if (!isDeleteList) {
        if (options.ignoreUnmatchedNulls) discardNullValuesFromPatch(patchV);
        setOrDeleteWithoutDirectives(orig, k, patchV);
      }
      continue;
    }
    if (isJSONObject(origV) && isJSONObject(patchV)) {
      const [subschema, meta] = lookupStruct(schema, k);
      const [, strategy] = extractRetainKeysPatchStrategy(meta.strategies);
      orig[k] = strategy !== replaceDirective ? mergeMap(origV, patchV, subschema, options) : patchV;
    } else if (Array.isArray(origV) && Array.isArray(patchV)) {
      const [subschema, meta] = lookupSlice(schema, k);
      const [, strategy] = extractRetainKeysPatchStrategy(meta.strategies);
      orig[k] = mergeSliceHandler(origV, patchV, subschema, strategy, meta.mergeKey, isDeleteList, options);
    } else {
      setOrDeleteWithoutDirectives(orig, k, patchV);
    }
  }
  return orig;
}

function setOrDeleteWithoutDirectives(obj: JSONObject, k: string, v: JSONValue): void {
  const [value, keep] = removeDirectives(v);
  if (keep) obj[k] = value;
  else delete obj[k];
}

/** Removes directive-bearing maps from a value taken verbatim from a patch. */
function removeDirectives(v: JSONValue): [JSONValue, boolean] {
  if (isJSONObject(v)) {
    if (Object.hasOwn(v, directiveMarker)) return [null, false];
    for (const k of Object.keys(v)) {
      const [nv, keep] = removeDirectives(v[k]);
      if (keep) v[k] = nv;
      else delete v[k];
    }
    return [v, true];
  }
  if (Array.isArray(v)) {
    const res: JSONValue[] = [];
    for (const item of v) {
      const [nv, keep] = removeDirectives(item);
      if (keep) res.push(nv);
    }
    return [res, true];
  }
  return [v, true];
}

function discardNullValuesFromPatch(v: JSONValue): void {
  if (isJSONObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else discardNullValuesFromPatch(v[k]);
    }
  } else if (Array.isArray(v)) {
    for (const item of v) discardNullValuesFromPatch(item);
  }
}

function extractKey(s: string, prefix: string): string {
  const slash = s.indexOf('/');
  if (slash < 0 || s.slice(0, slash) !== prefix) {
    if (prefix === deleteFromPrimitiveListDirectivePrefix) throw errBadPatchFormatForPrimitiveList();
    if (prefix === setElementOrderDirectivePrefix) throw errBadPatchFormatForSetElementOrderList();
    throw internal(`fail to find unknown prefix "${prefix}" in ${s}\n`);
  }
  return s.slice(slash + 1);
}

function applyRetainKeysDirective(original: JSONObject, patch: JSONObject, options: MergeOptions): void {
  if (!Object.hasOwn(patch, retainKeysDirective)) return;
  const retainKeysInPatch = patch[retainKeysDirective];
  delete patch[retainKeysDirective];

  if (!options.mergeParallelList) {
    if (Object.hasOwn(original, retainKeysDirective)) {
      const inOriginal = original[retainKeysDirective];
      if (JSON.stringify(inOriginal) !== JSON.stringify(retainKeysInPatch)) {
        throw internal(`${goString(inOriginal)} and ${goString(retainKeysInPatch)} are not deep equal: this may happen when calculating the 3-way diff patch`);
      }
    } else {
      original[retainKeysDirective] = retainKeysInPatch;
    }
    return;
  }

  if (!Array.isArray(retainKeysInPatch)) throw errBadPatchFormatForRetainKeys();
  const retain = new Set<JSONValue>(retainKeysInPatch);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(deleteFromPrimitiveListDirectivePrefix) || k.startsWith(setElementOrderDirectivePrefix)) continue;
    if (!retain.has(k)) throw errBadPatchFormatForRetainKeys();
  }
  for (const k of Object.keys(original)) {
    if (!retain.has(k)) delete original[k];
  }
}

/**
 * Processes `$setElementOrder/<list>` directives together with their lists; the merged
 * list is ordered by precedence setElementOrder > order in the patch > order in the live
 * list (design proposal "preserve-order-in-strategic-merge-patch").
 */
function mergePatchIntoOriginal(original: JSONObject, patch: JSONObject, schema: Schema, options: MergeOptions): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(setElementOrderDirectivePrefix)) continue;
    const setElementOrderInPatch = patch[key];
    if (!options.mergeParallelList) {
      if (Object.hasOwn(original, key)) {
        if (JSON.stringify(original[key]) !== JSON.stringify(setElementOrderInPatch)) throw errBadPatchFormatForSetElementOrderList();
      } else {
        original[key] = setElementOrderInPatch;
      }
    }
    delete patch[key];

    if (!Array.isArray(setElementOrderInPatch)) throw errBadArgType(GO_SLICE, setElementOrderInPatch);
    const originalKey = extractKey(key, setElementOrderDirectivePrefix);
    const foundOriginal = Object.hasOwn(original, originalKey);
    const foundPatch = Object.hasOwn(patch, originalKey);
    const originalList = original[originalKey];
    const patchList = patch[originalKey];
    let originalFieldValue: JSONValue[] = [];
    let patchFieldValue: JSONValue[] = [];
    if (foundOriginal) {
      if (!Array.isArray(originalList)) throw errBadArgType(GO_SLICE, originalList);
      originalFieldValue = originalList;
    }
    if (foundPatch) {
      if (!Array.isArray(patchList)) throw errBadArgType(GO_SLICE, patchList);
      patchFieldValue = patchList;
    }
    const [subschema, meta] = lookupSlice(schema, originalKey);
    const [, strategy] = extractRetainKeysPatchStrategy(meta.strategies);
    validatePatchWithSetOrderList(patchFieldValue, setElementOrderInPatch, meta.mergeKey);

    let merged: JSONValue[];
    if (foundOriginal && !foundPatch) {
      merged = originalFieldValue;
    } else if (!foundOriginal && foundPatch) {
      merged = removeDirectives(patchFieldValue)[0] as JSONValue[];
    } else if (foundOriginal && foundPatch) {
      // originalFieldValue is deliberately shared: see mergeSliceWithSpecialElements.
      merged = mergeSliceHandler(originalFieldValue, patchFieldValue, subschema, strategy, meta.mergeKey, false, options);
    } else {
      continue;
    }

    const [patchItems, serverOnlyItems] =
      meta.mergeKey === ''
        ? partitionPrimitivesByPresentInList(merged, setElementOrderInPatch)
        : partitionMapsByPresentInList(merged, setElementOrderInPatch, meta.mergeKey);
    const kind = sliceElementType(originalFieldValue, patchFieldValue);
    original[originalKey] = normalizeElementOrder(patchItems, serverOnlyItems, setElementOrderInPatch, originalFieldValue, meta.mergeKey, kind);
    delete patch[originalKey];
  }
}

/**
 * Checks that the patch list's items (deletions aside) appear in `$setElementOrder` in the
 * same relative order.
 */
function validatePatchWithSetOrderList(patchList: JSONValue[], setOrderList: JSONValue[], mergeKey: string): void {
  if (setOrderList.length === 0 || patchList.length === 0) return;
  const nonDeleteList = mergeKey !== '' ? extractToDeleteItems(patchList)[0] : patchList;
  let patchIndex = 0;
  let setOrderIndex = 0;
  while (patchIndex < nonDeleteList.length && setOrderIndex < setOrderList.length) {
    if (containsDirectiveMarker(nonDeleteList[patchIndex])) {
      patchIndex++;
      continue;
    }
    if (mergeKeyValueEqual(nonDeleteList[patchIndex], setOrderList[setOrderIndex], mergeKey)) patchIndex++;
    setOrderIndex++;
  }
  if (patchIndex < nonDeleteList.length && setOrderIndex >= setOrderList.length) {
    throw internal(
      `The order in patch list:\n${goString(patchList)}\n doesn't match ${setElementOrderDirectivePrefix} list:\n${goString(setOrderList)}\n`,
    );
  }
}

function containsDirectiveMarker(item: JSONValue): boolean {
  return isJSONObject(item) && Object.hasOwn(item, directiveMarker);
}

function mergeKeyValueEqual(left: JSONValue, right: JSONValue, mergeKey: string): boolean {
  if (mergeKey === '') return left === right;
  if (!isJSONObject(left)) throw errBadArgType(GO_MAP, left);
  if (!isJSONObject(right)) throw errBadArgType(GO_MAP, right);
  if (!Object.hasOwn(left, mergeKey)) throw errNoMergeKey(left, mergeKey);
  if (!Object.hasOwn(right, mergeKey)) throw errNoMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

function mergeSliceHandler(
  original: JSONValue[],
  patch: JSONValue[],
  schema: Schema,
  strategy: string,
  mergeKey: string,
  isDeleteList: boolean,
  options: MergeOptions,
): JSONValue[] {
  if (strategy === mergeDirective || isDeleteList) return mergeSlice(original, patch, schema, mergeKey, options, isDeleteList);
  return patch;
}

function mergeSlice(original: JSONValue[], patch: JSONValue[], schema: Schema, mergeKey: string, options: MergeOptions, isDeleteList: boolean): JSONValue[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementType(original, patch);
  let merged: JSONValue[];
  let orig = original;
  let p = patch;
  if (kind !== 'map') {
    if (options.mergeParallelList && isDeleteList) return deleteFromSlice(original, patch);
    merged = deduplicateScalars([...original, ...patch]);
  } else {
    if (mergeKey === '') throw internal(`cannot merge lists without merge key for ${schemaName(schema)}`);
    [orig, p] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements(orig, p, mergeKey, schema, options, original);
  }
  const [patchItems, serverOnlyItems] =
    mergeKey === '' ? partitionPrimitivesByPresentInList(merged, p) : partitionMapsByPresentInList(merged, p, mergeKey);
  return normalizeElementOrder(patchItems, serverOnlyItems, p, orig, mergeKey, kind);
}

/**
 * Applies `$patch` items of a merging list; returns the list left after deletions (or the
 * replacement list) and the rest of the patch.
 *
 * Deletions are made in place in `original` exactly as Go's `append(s[:i], s[i+1:]...)`
 * does: later items shift left and the vacated tail keeps stale copies. Upstream's
 * ordering of a `$setElementOrder` list reads the caller's view of that same backing
 * array afterwards, so reproducing the aliasing is what makes our order match theirs.
 */
function mergeSliceWithSpecialElements(original: JSONValue[], patch: JSONValue[], mergeKey: string): [JSONValue[], JSONValue[]] {
  const rest: JSONValue[] = [];
  let replace = false;
  let len = original.length;
  for (const v of patch) {
    const m = v as JSONObject;
    if (!Object.hasOwn(m, directiveMarker)) {
      rest.push(v);
      continue;
    }
    const patchType = m[directiveMarker];
    if (patchType === deleteDirective) {
      if (!Object.hasOwn(m, mergeKey)) throw errNoMergeKey(m, mergeKey);
      const mergeValue = m[mergeKey];
      for (;;) {
        const [found, i] = findMapInSliceBasedOnKeyValue(original.slice(0, len), mergeKey, mergeValue);
        if (!found) break;
        original.copyWithin(i, i + 1, len);
        len--;
      }
    } else if (patchType === replaceDirective) {
      replace = true;
    } else if (patchType === mergeDirective) {
      throw internal('merging lists cannot yet be specified in the patch');
    } else {
      throw errBadPatchType(patchType, m);
    }
  }
  if (replace) return [rest, []];
  return [original.slice(0, len), rest];
}

/**
 * Merges patch items into the list by merge key; new items are appended. `backing` is
 * the array `original` was sliced from: appends write through to it while it has room,
 * as Go's append does (see mergeSliceWithSpecialElements).
 */
function mergeSliceWithoutSpecialElements(
  original: JSONValue[],
  patch: JSONValue[],
  mergeKey: string,
  schema: Schema,
  options: MergeOptions,
  backing: JSONValue[],
): JSONValue[] {
  const merged = [...original];
  const aliased = merged.length <= backing.length && original.every((v, i) => backing[i] === v);
  for (const v of patch) {
    const m = v as JSONObject;
    if (!Object.hasOwn(m, mergeKey)) throw errNoMergeKey(m, mergeKey);
    const [found, index] = findMapInSliceBasedOnKeyValue(merged, mergeKey, m[mergeKey]);
    if (found) {
      merged[index] = mergeMap(found, m, schema, options);
      if (aliased && index < backing.length) backing[index] = merged[index];
    } else {
      if (aliased && merged.length < backing.length) backing[merged.length] = v;
      merged.push(v);
    }
  }
  return merged;
}

function findMapInSliceBasedOnKeyValue(list: JSONValue[], key: string, value: JSONValue): [JSONObject | undefined, number] {
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (!isJSONObject(item)) throw internal(`value for key ${i} is not a map`);
    if (Object.hasOwn(item, key) && item[key] === value) return [item, i];
  }
  return [undefined, 0];
}

function deleteFromSlice(current: JSONValue[], toDelete: JSONValue[]): JSONValue[] {
  const del = new Set<JSONValue>(toDelete);
  return current.filter((v) => !del.has(v));
}

function partitionPrimitivesByPresentInList(original: JSONValue[], partitionBy: JSONValue[]): [JSONValue[], JSONValue[]] {
  const inPatch = new Set<JSONValue>(partitionBy);
  const patch: JSONValue[] = [];
  const serverOnly: JSONValue[] = [];
  for (const v of original) (inPatch.has(v) ? patch : serverOnly).push(v);
  return [patch, serverOnly];
}

function partitionMapsByPresentInList(original: JSONValue[], partitionBy: JSONValue[], mergeKey: string): [JSONValue[], JSONValue[]] {
  const patch: JSONValue[] = [];
  const serverOnly: JSONValue[] = [];
  for (const v of original) {
    if (!isJSONObject(v)) throw errBadArgType(GO_MAP, v);
    if (!Object.hasOwn(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    const [found] = findMapInSliceBasedOnKeyValue(partitionBy, mergeKey, v[mergeKey]);
    (found ? patch : serverOnly).push(v);
  }
  return [patch, serverOnly];
}

/** The common element type of the lists; lists of lists and mixed types are errors. */
function sliceElementType(...lists: JSONValue[][]): TypeTag {
  let prev: TypeTag | undefined;
  for (const l of lists) {
    for (const v of l) {
      const t = typeTag(v);
      if (prev === undefined) {
        prev = t;
        if (prev === 'slice') throw errNoListOfLists();
      } else if (prev !== t) {
        throw internal(`list element types are not identical: [${lists.map(goString).join(' ')}]`);
      }
    }
  }
  if (prev === undefined) throw internal('no elements in any of the given slices');
  return prev;
}

/** Removes duplicates the way upstream does (moving the last element into a duplicate's slot). */
function deduplicateScalars(s: JSONValue[]): JSONValue[] {
  let length = s.length - 1;
  for (let i = 0; i < length; i++) {
    for (let j = i + 1; j <= length; j++) {
      if (s[i] === s[j]) {
        s[j] = s[length];
        s.length = length;
        length--;
        j--;
      }
    }
  }
  return s;
}

function indexIn(list: JSONValue[], v: JSONValue, mergeKey: string, kind: TypeTag): number {
  const get = kind === 'map' ? (item: JSONValue) => (isJSONObject(item) ? item[mergeKey] : undefined) : (item: JSONValue) => item;
  const want = get(v);
  for (let i = 0; i < list.length; i++) if (get(list[i]) === want) return i;
  return -1;
}

function extractToDeleteItems(l: JSONValue[]): [JSONValue[], JSONValue[]] {
  const nonDelete: JSONValue[] = [];
  const toDelete: JSONValue[] = [];
  for (const v of l) {
    if (!isJSONObject(v)) throw errBadArgType(GO_MAP, v);
    (v[directiveMarker] === deleteDirective ? toDelete : nonDelete).push(v);
  }
  return [nonDelete, toDelete];
}

/** Sorts `toSort` by position in `order` (stable); `$patch: delete` items go last. */
function normalizeSliceOrder(toSort: JSONValue[], order: JSONValue[], mergeKey: string, kind: TypeTag): JSONValue[] {
  let items = toSort;
  let toDelete: JSONValue[] = [];
  if (kind === 'map') {
    validateMergeKeyInLists(mergeKey, toSort, order);
    [items, toDelete] = extractToDeleteItems(toSort);
  }
  const keyed = items.map((v, i) => ({ v, i, at: indexIn(order, v, mergeKey, kind) }));
  keyed.sort((a, b) => (a.at >= 0 && b.at >= 0 ? a.at - b.at : a.i - b.i));
  return [...keyed.map((x) => x.v), ...toDelete];
}

function validateMergeKeyInLists(mergeKey: string, ...lists: JSONValue[][]): void {
  for (const l of lists) {
    for (const item of l) {
      if (!isJSONObject(item)) throw errBadArgType(GO_MAP, item);
      if (!Object.hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
    }
  }
}

function normalizeElementOrder(patch: JSONValue[], serverOnly: JSONValue[], patchOrder: JSONValue[], serverOrder: JSONValue[], mergeKey: string, kind: TypeTag): JSONValue[] {
  const p = normalizeSliceOrder(patch, patchOrder, mergeKey, kind);
  const s = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSortedSlice(s, p, serverOrder, mergeKey, kind);
}

/**
 * Interleaves server-only items (`left`) into the patch items (`right`), keeping each
 * side's relative order; a left item goes before the first right item that follows it
 * in the live list.
 */
function mergeSortedSlice(left: JSONValue[], right: JSONValue[], serverOrder: JSONValue[], mergeKey: string, kind: TypeTag): JSONValue[] {
  const out: JSONValue[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, kind);
      const ri = indexIn(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Computing a patch.

interface DiffOptions {
  /** Generate `$setElementOrder` parallel lists. */
  setElementOrder?: boolean;
  /** Leave changes and additions out of the patch. */
  ignoreChangesAndAdditions?: boolean;
  /** Leave deletions out of the patch. */
  ignoreDeletions?: boolean;
  /** Generate a `$retainKeys` directive for this map (its field has strategy retainKeys). */
  buildRetainKeysDirective?: boolean;
}

/** A check on a computed patch; returning false fails patch creation (mergepatch.PreconditionFunc). */
export type PatchPrecondition = (patch: JSONObject) => boolean;

/**
 * A patch that turns `original` into `modified` when applied with
 * {@link strategicMergePatch}: additions and changes, nulls for deleted map keys,
 * `$patch: delete` items and `$deleteFromPrimitiveList` for merging lists, and
 * `$setElementOrder` lists so the result keeps `modified`'s order.
 * @throws StrategicMergePatchError (kind `PreconditionFailed` if a precondition fails).
 */
export function createTwoWayMergePatch(
  original: JSONObject,
  modified: JSONObject,
  schema: SchemaNode | undefined,
  ...preconditions: PatchPrecondition[]
): JSONObject {
  const patch = diffMaps(original, modified, schema, { setElementOrder: true });
  checkPreconditions(patch, preconditions);
  return patch;
}

/**
 * The patch client-side `kubectl apply` sends: changes from `current` (live) to `modified`
 * (the new configuration) without deletions, plus deletions from `original` (the
 * last-applied configuration) to `modified`. Fields changed in `current` by others and
 * not mentioned in the configuration are left alone.
 *
 * Unless `overwrite`, a patch that would change a value differently from how it changed
 * between `original` and `current` fails with kind `Conflict`.
 */
export function createThreeWayMergePatch(
  original: JSONObject | undefined,
  modified: JSONObject,
  current: JSONObject,
  schema: SchemaNode | undefined,
  overwrite: boolean,
  ...preconditions: PatchPrecondition[]
): JSONObject {
  const orig = original ?? {};
  const deltaMap = diffMaps(current, modified, schema, { ignoreDeletions: true, setElementOrder: true });
  const deletionsMap = diffMaps(orig, modified, schema, { setElementOrder: true, ignoreChangesAndAdditions: true });
  const patch = mergeMap(deletionsMap, deltaMap, schema, { mergeParallelList: false, ignoreUnmatchedNulls: false });
  checkPreconditions(patch, preconditions);

  if (!overwrite) {
    const changed = diffMaps(orig, current, schema, {});
    if (mergingMapsHaveConflicts(patch, changed, schema)) {
      throw new StrategicMergePatchError(
        'Conflict',
        `patch:\n${toSortedYAML(patch)}\nconflicts with changes made from original to current:\n${toSortedYAML(changed)}\n`,
      );
    }
  }
  return patch;
}

function checkPreconditions(patch: JSONObject, preconditions: PatchPrecondition[]): void {
  for (const fn of preconditions) {
    if (!fn(patch)) throw new StrategicMergePatchError('PreconditionFailed', `precondition failed for: ${goString(patch)}`);
  }
}

function sortKeysDeep(v: JSONValue): JSONValue {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (isJSONObject(v)) {
    const out: JSONObject = {};
    for (const k of Object.keys(v).sort(compareStrings)) out[k] = sortKeysDeep(v[k]);
    return out;
  }
  return v;
}

function toSortedYAML(v: JSONObject): string {
  return toYAML(sortKeysDeep(v));
}

function diffMaps(original: JSONObject, modified: JSONObject, schema: Schema, options: DiffOptions): JSONObject {
  const patch: JSONObject = {};
  const retainKeysList: string[] = [];

  for (const [key, modifiedValue] of Object.entries(modified)) {
    if (options.buildRetainKeysDirective && modifiedValue !== null) retainKeysList.push(key);

    if (!Object.hasOwn(original, key)) {
      if (!options.ignoreChangesAndAdditions) patch[key] = modifiedValue;
      continue;
    }
    const originalValue = original[key];

    if (key === directiveMarker) {
      if (typeof originalValue !== 'string' || typeof modifiedValue !== 'string') {
        throw internal(`invalid value for special key: ${directiveMarker}`);
      }
      if (modifiedValue !== originalValue) patch[directiveMarker] = modifiedValue;
      continue;
    }

    if (typeTag(originalValue) !== typeTag(modifiedValue)) {
      if (!options.ignoreChangesAndAdditions) patch[key] = modifiedValue;
      continue;
    }

    if (isJSONObject(originalValue) && isJSONObject(modifiedValue)) {
      handleMapDiff(key, originalValue, modifiedValue, patch, schema, options);
    } else if (Array.isArray(originalValue) && Array.isArray(modifiedValue)) {
      handleSliceDiff(key, originalValue, modifiedValue, patch, schema, options);
    } else {
      replacePatchFieldIfNotEqual(key, originalValue, modifiedValue, patch, options);
    }
  }

  if (!options.ignoreDeletions) {
    for (const key of Object.keys(original)) {
      if (!Object.hasOwn(modified, key)) patch[key] = null;
    }
  }

  if (retainKeysList.length > 0 && (Object.keys(patch).length > 0 || hasAdditionalNewField(original, modified))) {
    patch[retainKeysDirective] = sortScalars(retainKeysList);
  }
  return patch;
}

function hasAdditionalNewField(original: JSONObject, modified: JSONObject): boolean {
  for (const [k, v] of Object.entries(original)) {
    if (v !== null && !Object.hasOwn(modified, k)) return true;
  }
  return false;
}

function replacePatchFieldIfNotEqual(key: string, original: JSONValue, modified: JSONValue, patch: JSONObject, options: DiffOptions): void {
  if (options.ignoreChangesAndAdditions) return;
  if (jsonDeepEqual(original, modified)) return;
  patch[key] = modified;
}

function handleMapDiff(key: string, original: JSONObject, modified: JSONObject, patch: JSONObject, schema: Schema, options: DiffOptions): void {
  const [subschema, meta] = lookupStruct(schema, key);
  const [retainKeys, strategy] = extractRetainKeysPatchStrategy(meta.strategies);
  const opts = { ...options, buildRetainKeysDirective: retainKeys };
  if (strategy === replaceDirective) {
    if (!opts.ignoreChangesAndAdditions) patch[key] = modified;
    return;
  }
  const patchValue = diffMaps(original, modified, subschema, opts);
  if (Object.keys(patchValue).length > 0) patch[key] = patchValue;
}

function handleSliceDiff(key: string, original: JSONValue[], modified: JSONValue[], patch: JSONObject, schema: Schema, options: DiffOptions): void {
  const [subschema, meta] = lookupSlice(schema, key);
  const [retainKeys, strategy] = extractRetainKeysPatchStrategy(meta.strategies);
  if (strategy !== mergeDirective) {
    replacePatchFieldIfNotEqual(key, original, modified, patch, options);
    return;
  }
  const opts = { ...options, buildRetainKeysDirective: retainKeys };
  const [addList, deletionList, setOrderList] = diffLists(original, modified, subschema, meta.mergeKey, opts);
  if (addList.length > 0) patch[key] = addList;
  if (deletionList.length > 0) patch[`${deleteFromPrimitiveListDirectivePrefix}/${key}`] = deletionList;
  if (setOrderList.length > 0) patch[`${setElementOrderDirectivePrefix}/${key}`] = setOrderList;
}

function diffLists(original: JSONValue[], modified: JSONValue[], schema: Schema, mergeKey: string, options: DiffOptions): [JSONValue[], JSONValue[], JSONValue[]] {
  if (original.length === 0) {
    if (modified.length === 0 || options.ignoreChangesAndAdditions) return [[], [], []];
    return [modified, [], []];
  }
  const kind = sliceElementType(original, modified);
  let patchList: JSONValue[];
  let deleteList: JSONValue[];
  let setOrderList: JSONValue[] = [];
  if (kind === 'map') {
    [patchList, deleteList] = diffListsOfMaps(original, modified, schema, mergeKey, options);
    patchList = normalizeSliceOrder(patchList, modified, mergeKey, kind);
    const orderSame = isOrderSame(original, modified, mergeKey);
    patchList = [...patchList, ...deleteList];
    deleteList = [];
    if (
      options.setElementOrder &&
      ((!options.ignoreChangesAndAdditions && (patchList.length > 0 || !orderSame)) || (!options.ignoreDeletions && patchList.length > 0))
    ) {
      setOrderList = modified.map((v) => ({ [mergeKey]: (v as JSONObject)[mergeKey] }));
    }
  } else if (kind === 'slice') {
    throw errNoListOfLists();
  } else {
    [patchList, deleteList] = diffListsOfScalars(original, modified, options);
    patchList = normalizeSliceOrder(patchList, modified, mergeKey, kind);
    if (
      options.setElementOrder &&
      ((!options.ignoreDeletions && deleteList.length > 0) || (!options.ignoreChangesAndAdditions && !jsonDeepEqual(original, modified)))
    ) {
      setOrderList = modified;
    }
  }
  return [patchList, deleteList, setOrderList];
}

function isOrderSame(original: JSONValue[], modified: JSONValue[], mergeKey: string): boolean {
  if (original.length !== modified.length) return false;
  for (let i = 0; i < modified.length; i++) {
    if (!mergeKeyValueEqual(original[i], modified[i], mergeKey)) return false;
  }
  return true;
}

function sortScalars<T extends JSONValue>(s: T[]): T[] {
  return [...s].sort((a, b) => compareStrings(goString(a), goString(b)));
}

function diffListsOfScalars(original: JSONValue[], modified: JSONValue[], options: DiffOptions): [JSONValue[], JSONValue[]] {
  const o = sortScalars(original);
  const m = sortScalars(modified);
  const addList: JSONValue[] = [];
  const deletionList: JSONValue[] = [];
  let oi = 0;
  let mi = 0;
  while (oi < o.length || mi < m.length) {
    const oIn = oi < o.length;
    const mIn = mi < m.length;
    const os = oIn ? goString(o[oi]) : '';
    const ms = mIn ? goString(m[mi]) : '';
    if (oIn && mIn && os === ms) {
      oi++;
      mi++;
    } else if (!oIn || (mIn && os > ms)) {
      if (!options.ignoreChangesAndAdditions) addList.push(m[mi]);
      mi++;
    } else {
      if (!options.ignoreDeletions) deletionList.push(o[oi]);
      oi++;
    }
  }
  return [addList, deduplicateScalars(deletionList)];
}

function sortMapsByMergeKey(list: JSONValue[], mergeKey: string): JSONObject[] {
  for (const item of list) if (!isJSONObject(item)) throw errBadArgType(GO_MAP, item);
  return [...(list as JSONObject[])].sort((a, b) => compareStrings(goString(a[mergeKey]), goString(b[mergeKey])));
}

function diffListsOfMaps(original: JSONValue[], modified: JSONValue[], schema: Schema, mergeKey: string, options: DiffOptions): [JSONValue[], JSONValue[]] {
  const patch: JSONValue[] = [];
  const deletionList: JSONValue[] = [];
  const o = sortMapsByMergeKey(original, mergeKey);
  const m = sortMapsByMergeKey(modified, mergeKey);
  let oi = 0;
  let mi = 0;
  while (oi < o.length || mi < m.length) {
    const oIn = oi < o.length;
    const mIn = mi < m.length;
    let os = '';
    let ms = '';
    if (oIn) {
      if (!Object.hasOwn(o[oi], mergeKey)) throw errNoMergeKey(o[oi], mergeKey);
      os = goString(o[oi][mergeKey]);
    }
    if (mIn) {
      if (!Object.hasOwn(m[mi], mergeKey)) throw errNoMergeKey(m[mi], mergeKey);
      ms = goString(m[mi][mergeKey]);
    }
    if (oIn && mIn && os === ms) {
      const patchValue = diffMaps(o[oi], m[mi], schema, options);
      if (Object.keys(patchValue).length > 0) {
        patchValue[mergeKey] = m[mi][mergeKey];
        patch.push(patchValue);
      }
      oi++;
      mi++;
    } else if (!oIn || (mIn && os > ms)) {
      if (!options.ignoreChangesAndAdditions) patch.push(m[mi]);
      mi++;
    } else {
      if (!options.ignoreDeletions) deletionList.push({ [mergeKey]: o[oi][mergeKey], [directiveMarker]: deleteDirective });
      oi++;
    }
  }
  return [patch, deletionList];
}

function jsonDeepEqual(a: JSONValue, b: JSONValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonDeepEqual(v, b[i]));
  }
  if (isJSONObject(a) && isJSONObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonDeepEqual(a[k], b[k]));
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Conflict detection between two patches.

/**
 * True if the two patches change some key in different ways (strategic merge patch
 * semantics: merging lists of scalars never conflict; lists merged by key compare item by
 * item). Used by {@link createThreeWayMergePatch}.
 */
export function mergingMapsHaveConflicts(left: JSONObject, right: JSONObject, schema: SchemaNode | undefined): boolean {
  return mergingMapFieldsHaveConflicts(left, right, schema, '', '');
}

function mergingMapFieldsHaveConflicts(left: JSONValue, right: JSONValue, schema: Schema, strategy: string, mergeKey: string): boolean {
  if (isJSONObject(left)) {
    if (!isJSONObject(right)) return true;
    const l = Object.hasOwn(left, directiveMarker);
    const r = Object.hasOwn(right, directiveMarker);
    if (l || r) {
      if (l !== r) return true;
      if (left[directiveMarker] !== right[directiveMarker]) return true;
    }
    if (strategy === replaceDirective) return false;
    return mapsHaveConflicts(left, right, schema);
  }
  if (Array.isArray(left)) {
    if (!Array.isArray(right)) return true;
    return slicesHaveConflicts(left, right, schema, strategy, mergeKey);
  }
  return !jsonDeepEqual(left, right);
}

function mapsHaveConflicts(left: JSONObject, right: JSONObject, schema: Schema): boolean {
  for (const [key, leftValue] of Object.entries(left)) {
    if (key === directiveMarker || key === retainKeysDirective || !Object.hasOwn(right, key)) continue;
    let subschema: Schema;
    let meta: PatchMeta = noMeta;
    let strategy = '';
    if (Array.isArray(leftValue)) {
      [subschema, meta] = lookupSlice(schema, key);
      [, strategy] = extractRetainKeysPatchStrategy(meta.strategies);
    } else if (isJSONObject(leftValue)) {
      [subschema, meta] = lookupStruct(schema, key);
      [, strategy] = extractRetainKeysPatchStrategy(meta.strategies);
    }
    if (mergingMapFieldsHaveConflicts(leftValue, right[key], subschema, strategy, meta.mergeKey)) return true;
  }
  return false;
}

function slicesHaveConflicts(left: JSONValue[], right: JSONValue[], schema: Schema, strategy: string, mergeKey: string): boolean {
  const kind = sliceElementType(left, right);
  if (strategy === mergeDirective) {
    if (kind !== 'map') return false;
    const l = sliceOfMapsToMapOfMaps(left, mergeKey);
    const r = sliceOfMapsToMapOfMaps(right, mergeKey);
    for (const [k, v] of l) {
      if (r.has(k) && mergingMapFieldsHaveConflicts(v, r.get(k)!, schema, '', '')) return true;
    }
    return false;
  }
  if (left.length !== right.length) return true;
  let l = left;
  let r = right;
  if (kind !== 'map') {
    l = sortScalars(deduplicateScalars([...left]));
    r = sortScalars(deduplicateScalars([...right]));
  }
  for (let i = 0; i < l.length; i++) {
    if (mergingMapFieldsHaveConflicts(l[i], r[i], schema, '', '')) return true;
  }
  return false;
}

function sliceOfMapsToMapOfMaps(slice: JSONValue[], mergeKey: string): Map<string, JSONObject> {
  const out = new Map<string, JSONObject>();
  for (const v of slice) {
    if (!isJSONObject(v)) throw internal(`invalid element type in merging list:${goString(slice)}`);
    if (!Object.hasOwn(v, mergeKey)) throw internal(`cannot find merge key \`${mergeKey}\` in merging list element:${goString(v)}`);
    out.set(goString(v[mergeKey]), v);
  }
  return out;
}
