/**
 * Server-side apply and `metadata.managedFields` tracking, as
 * k8s.io/apimachinery/pkg/util/managedfields (the FieldManager the API server runs on
 * every create, update, patch and apply) on top of the structured-merge-diff core in
 * apply.ts.
 *
 * The pipeline, outermost first, mirrors upstream's NewDefaultFieldManager:
 *  - version check: an apply must carry the served apiVersion/kind;
 *  - last-applied updater: `kubectl` applying server-side keeps an existing
 *    `kubectl.kubernetes.io/last-applied-configuration` annotation current;
 *  - last-applied manager: conflicts of `kubectl` with fields its client-side
 *    last-applied configuration already set are not conflicts (CSA → SSA upgrade);
 *  - skip non-applied: objects that exist but were never tracked are not tracked by
 *    updates; the first apply attributes their fields to `before-first-apply`;
 *  - cap managers: at most 10 Update entries; the oldest fold into `ancient-changes`;
 *  - manager identity: one entry per (manager, operation, apiVersion for Update,
 *    subresource), updates merged into the same entry, time stamped on change;
 *  - strip meta: nobody owns apiVersion, kind, metadata.name/namespace/uid/... .
 *
 * An entry looks like upstream's:
 *
 *     {"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1",
 *      "time": "2024-05-01T10:00:00Z", "fieldsType": "FieldsV1",
 *      "fieldsV1": {"f:spec": {"f:replicas": {}}}}
 */
import { type Clock, realClock } from '../util/clock.js';
import { type StatusCause, StatusError, newApplyConflict, newBadRequest } from './errors.js';
import type { ManagedFieldsEntry } from './meta.js';
import { type JSONObject, type JSONValue, SchemaNode, isJSONObject } from './schema.js';
import { FieldSet, type Path, PathElementError, compareStrings, goJSON, makePath, pathToString } from './fieldpath.js';
import { type Conflict, ConflictsError, type ManagedFields, TypedValueError, Updater, compare, toFieldSet } from './apply.js';

/** The annotation client-side `kubectl apply` keeps its last applied configuration in. */
export const LAST_APPLIED_CONFIG_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** Upstream's default cap on Update entries. */
export const DEFAULT_MAX_UPDATE_MANAGERS = 10;

const ANCIENT_CHANGES_MANAGER = 'ancient-changes';
const BEFORE_FIRST_APPLY_MANAGER = 'before-first-apply';
const CURRENT_OPERATION = 'current-operation';

/** Fields nobody owns (upstream's stripMetaManager). */
const STRIPPED_FIELDS = FieldSet.of(
  makePath('apiVersion'),
  makePath('kind'),
  makePath('metadata'),
  makePath('metadata', 'name'),
  makePath('metadata', 'namespace'),
  makePath('metadata', 'creationTimestamp'),
  makePath('metadata', 'selfLink'),
  makePath('metadata', 'uid'),
  makePath('metadata', 'clusterName'),
  makePath('metadata', 'generation'),
  makePath('metadata', 'managedFields'),
  makePath('metadata', 'resourceVersion'),
);

/** Options of {@link FieldManager}. */
export interface FieldManagerOptions {
  /** Root schema node of the kind (e.g. `io.k8s.api.apps.v1.Deployment`). */
  schema: SchemaNode;
  /** The group/version served, e.g. `apps/v1` or `v1`. */
  apiVersion: string;
  /** The kind served; when set, applied configurations must name it. */
  kind?: string;
  /** `status`, `scale`, ... for a subresource endpoint; empty for the main resource. */
  subresource?: string;
  /** Source of entry timestamps. */
  clock?: Clock;
  /** Fields this endpoint resets, never owned through it (e.g. `.status` on the main resource). */
  resetFields?: FieldSet;
  /** Cap on Update entries (default 10). */
  maxUpdateManagers?: number;
  /**
   * Told about failures {@link FieldManager.update} swallows (upstream logs them as
   * "should not happen"); the write itself goes ahead with the live managedFields.
   */
  onUpdateError?: (err: unknown) => void;
}

/** An object as handled here: any JSON object with optional ObjectMeta. */
export type ObjectJSON = JSONObject;

/** managedFields decoded: fields and entry times, both keyed by manager identifier. */
export interface DecodedManagedFields {
  fields: ManagedFields;
  times: Map<string, string | undefined>;
}

type Managed = DecodedManagedFields;

/**
 * Tracks field ownership for one kind at one endpoint (main resource or a subresource).
 * Stateless between calls; safe to share.
 */
export class FieldManager {
  readonly #schema: SchemaNode;
  readonly #apiVersion: string;
  readonly #kind: string | undefined;
  readonly #subresource: string;
  readonly #clock: Clock;
  readonly #updater: Updater;
  readonly #maxUpdateManagers: number;
  readonly #onUpdateError: ((err: unknown) => void) | undefined;

  constructor(options: FieldManagerOptions) {
    if (!options.apiVersion) throw new Error('FieldManager: apiVersion is required');
    this.#schema = options.schema;
    this.#apiVersion = options.apiVersion;
    this.#kind = options.kind;
    this.#subresource = options.subresource ?? '';
    this.#clock = options.clock ?? realClock;
    this.#updater = new Updater({ ignoredFields: options.resetFields });
    this.#maxUpdateManagers = options.maxUpdateManagers ?? DEFAULT_MAX_UPDATE_MANAGERS;
    this.#onUpdateError = options.onUpdateError;
  }

  /**
   * Records an ordinary write of `newObj` by `manager` (operation Update) and returns a
   * copy of `newObj` with `metadata.managedFields` set. `liveObj` is undefined on create
   * (compared against {@link zeroObject}).
   * A client may send managedFields to replace them, or an empty list (or one empty
   * entry) to reset them. Never throws: on internal failure the live managedFields are
   * kept, as upstream's UpdateNoErrors does.
   */
  update(liveObj: ObjectJSON | undefined, newObj: ObjectJSON, manager: string): ObjectJSON {
    const live = liveObj ?? zeroObject(this.#schema);
    const out = copyJSON(newObj);
    try {
      const managed = this.#decodeLiveOrNew(live, newObj);
      const meta = metadataOf(out);
      if (meta) delete meta.managedFields;
      if (managed.fields.size === 0 && liveObj !== undefined && uidOf(liveObj)) {
        // An existing object nobody ever tracked stays untracked (skipNonApplied).
        return out;
      }
      const id = this.#managerIdentifier(manager, 'Update');
      const updated = this.#trackUpdate(live, out, managed, id);
      setManagedFields(out, encodeManagedFields(updated));
      return out;
    } catch (err) {
      this.#onUpdateError?.(err);
      const liveEntries = managedFieldsOf(live);
      setManagedFields(out, liveEntries && structuredClone(liveEntries));
      return out;
    }
  }

  /**
   * Server-side apply of `config` by `manager`: returns the new object with
   * `metadata.managedFields` set (the live object, with only managedFields possibly
   * changed, when the apply changes nothing). `liveObj` is undefined on create; the
   * result then starts from {@link zeroObject} (e.g. carries `status: {}`), as upstream's.
   * @throws StatusError: 409 Conflict with upstream's message and FieldManagerConflict
   *   causes unless `force`; 400 for a configuration of the wrong kind/version or one
   *   that sets managedFields; 500 with an empty reason (what upstream's API server makes
   *   of the plain errors its field manager returns) for unidentifiable or duplicate list
   *   items in the configuration and for corrupt live managedFields.
   */
  apply(liveObj: ObjectJSON | undefined, config: ObjectJSON, manager: string, force: boolean): ObjectJSON {
    const live = liveObj ?? zeroObject(this.#schema);
    const gvk = `${groupOf(str(config.apiVersion))}/${versionOf(str(config.apiVersion))}, Kind=${str(config.kind)}`;
    if (str(config.apiVersion) !== this.#apiVersion || (this.#kind !== undefined && str(config.kind) !== this.#kind)) {
      if (this.#kind !== undefined) throw newBadRequest(`invalid object type: ${gvk}`);
      throw newBadRequest(
        `Incorrect version specified in apply patch. Specified patch version: ${groupVersionString(str(config.apiVersion))}, expected: ${groupVersionString(this.#apiVersion)}`,
      );
    }
    const configMeta = metadataOf(config);
    if (configMeta && configMeta.managedFields !== undefined && configMeta.managedFields !== null) {
      throw newBadRequest('metadata.managedFields must be nil');
    }
    let managed: Managed;
    try {
      managed = decodeManagedFields(managedFieldsOf(live));
    } catch (e) {
      throw unknownServerError(`failed to decode managed fields: ${(e as Error).message}`);
    }

    const runApply = (forceNow: boolean) => this.#applyTracked(live, config, copyManaged(managed), manager, forceNow);
    let result: { object: ObjectJSON; managed: Managed };
    try {
      result = runApply(force);
    } catch (e) {
      if (!(e instanceof ConflictsError)) throw this.#wrapApplyError(e, config);
      if (manager !== 'kubectl') throw conflictError(e.conflicts);
      // Conflicts with what kubectl's own client-side apply set are allowed (lastAppliedManager).
      const allowed = this.#allowedConflictsFromLastApplied(live);
      if (!allowed) throw conflictError(e.conflicts);
      const remaining = e.conflicts.filter((c) => !allowed.has(c.path));
      if (remaining.length > 0) throw conflictError(remaining);
      result = runApply(true);
    }

    const object = result.object;
    if (manager === 'kubectl' && hasLastApplied(object)) {
      setLastApplied(object, buildLastApplied(config));
    }
    setManagedFields(object, encodeManagedFields(result.managed));
    return object;
  }

  #wrapApplyError(e: unknown, config: ObjectJSON): StatusError | unknown {
    if (e instanceof TypedValueError) {
      const meta = metadataOf(config);
      const nsName = `${str(meta?.namespace) || '<unknown>'}/${str(meta?.name) || '<unknown>'}`;
      const gvk = `${groupOf(str(config.apiVersion))}/${versionOf(str(config.apiVersion))}, Kind=${str(config.kind)}`;
      return unknownServerError(`failed to create typed patch object (${nsName}; ${gvk}): ${e.message}`);
    }
    return e;
  }

  #applyTracked(live: ObjectJSON, config: ObjectJSON, managed: Managed, manager: string, force: boolean): { object: ObjectJSON; managed: Managed } {
    let m = managed;
    if (m.fields.size === 0) {
      // skipNonApplied: attribute whatever exists to before-first-apply.
      m = this.#trackUpdate(zeroObject(this.#schema), live, m, this.#managerIdentifier(BEFORE_FIRST_APPLY_MANAGER, 'Update'));
    }
    const id = this.#managerIdentifier(manager, 'Apply');
    const res = this.#updater.apply(withoutManagedFields(live), withoutManagedFields(config), this.#apiVersion, m.fields, id, force, this.#schema);
    const fields = stripMeta(res.managers, id);
    const times = new Map(m.times);
    let object: ObjectJSON;
    if (res.object !== undefined) {
      times.set(id, this.#now());
      object = res.object;
    } else {
      object = withoutManagedFields(live);
    }
    return { object: structuredClone(object), managed: { fields, times } };
  }

  /** Update tracking below the manager-identity layer (managedFieldsUpdater + capManagers). */
  #trackUpdate(live: ObjectJSON, newObj: ObjectJSON, managed: Managed, id: string): Managed {
    const before = managed.fields;
    const after = stripMeta(
      this.#updater.update(withoutManagedFields(live), withoutManagedFields(newObj), this.#apiVersion, before, CURRENT_OPERATION, this.#schema),
      CURRENT_OPERATION,
    );
    const times = new Map(managed.times);
    const current = after.get(CURRENT_OPERATION);
    if (current) {
      after.delete(CURRENT_OPERATION);
      const previous = after.get(id);
      after.set(id, previous ? { ...current, set: current.set.union(previous.set) } : current);
      times.set(id, this.#now());
    }
    return this.#capUpdateManagers({ fields: after, times });
  }

  #capUpdateManagers(managed: Managed): Managed {
    const updaters = [...managed.fields].filter(([, vs]) => !vs.applied).map(([id]) => id);
    if (updaters.length <= this.#maxUpdateManagers) return managed;
    const seconds = (id: string) => unixSeconds(managed.times.get(id));
    updaters.sort((a, b) => seconds(a) - seconds(b) || compareStrings(a, b));
    const fields = new Map(managed.fields);
    const times = new Map(managed.times);
    const versionToFirstManager = new Map<string, string>();
    let length = updaters.length;
    for (let i = 0; i < updaters.length && length > this.#maxUpdateManagers; i++) {
      const id = updaters[i];
      const vs = fields.get(id)!;
      const bucket = buildManagerIdentifier({ manager: ANCIENT_CHANGES_MANAGER, operation: 'Update', apiVersion: vs.apiVersion });
      const first = versionToFirstManager.get(vs.apiVersion);
      if (first === undefined) {
        versionToFirstManager.set(vs.apiVersion, id);
        continue;
      }
      if (!fields.has(bucket)) {
        fields.set(bucket, fields.get(first)!);
        fields.delete(first);
      }
      fields.set(bucket, { set: vs.set.union(fields.get(bucket)!.set), apiVersion: vs.apiVersion, applied: vs.applied });
      fields.delete(id);
      length--;
      times.set(bucket, times.get(id));
    }
    return { fields, times };
  }

  #decodeLiveOrNew(live: ObjectJSON, newObj: ObjectJSON): Managed {
    const fromLive = () => {
      try {
        return decodeManagedFields(managedFieldsOf(live));
      } catch {
        return emptyManaged();
      }
    };
    if (this.#subresource !== '') return fromLive();
    const sent = metadataOf(newObj)?.managedFields;
    if (isResetManagedFields(sent)) return emptyManaged();
    try {
      const managed = decodeManagedFields(Array.isArray(sent) ? (sent as ManagedFieldsEntry[]) : undefined);
      if (managed.fields.size > 0) return managed;
    } catch {
      // fall through to the live object's
    }
    return fromLive();
  }

  #managerIdentifier(manager: string, operation: 'Apply' | 'Update'): string {
    return buildManagerIdentifier({
      manager: manager || 'unknown',
      operation,
      apiVersion: this.#apiVersion,
      subresource: this.#subresource || undefined,
    });
  }

  #allowedConflictsFromLastApplied(live: ObjectJSON): FieldSet | undefined {
    const annotations = metadataOf(live)?.annotations;
    const raw = isJSONObject(annotations) ? annotations[LAST_APPLIED_CONFIG_ANNOTATION] : undefined;
    if (typeof raw !== 'string' || raw === '') return undefined;
    let lastApplied: JSONValue;
    try {
      lastApplied = JSON.parse(raw) as JSONValue;
    } catch {
      return undefined;
    }
    if (!isJSONObject(lastApplied) || lastApplied.apiVersion !== this.#apiVersion) return undefined;
    const liveValue = withoutManagedFields(live);
    const set = toFieldSet(lastApplied, this.#schema);
    const cmp = compare(lastApplied, liveValue, this.#schema);
    return set.difference(cmp.modified).difference(cmp.added).difference(cmp.removed);
  }

  #now(): string {
    return rfc3339(this.#clock.now());
  }
}

/**
 * One-shot server-side apply (see {@link FieldManager.apply}); `options` supplies the
 * served apiVersion (default: the configuration's), subresource and clock.
 */
export function apply(
  live: ObjectJSON | undefined,
  config: ObjectJSON,
  manager: string,
  force: boolean,
  schema: SchemaNode,
  options: Omit<FieldManagerOptions, 'schema' | 'apiVersion'> & { apiVersion?: string } = {},
): ObjectJSON {
  return new FieldManager({ ...options, schema, apiVersion: options.apiVersion ?? str(config.apiVersion) }).apply(live, config, manager, force);
}

/** One-shot update tracking (see {@link FieldManager.update}). */
export function update(
  live: ObjectJSON | undefined,
  newObj: ObjectJSON,
  manager: string,
  schema: SchemaNode,
  options: Omit<FieldManagerOptions, 'schema' | 'apiVersion'> & { apiVersion?: string } = {},
): ObjectJSON {
  return new FieldManager({ ...options, schema, apiVersion: options.apiVersion ?? str(newObj.apiVersion) }).update(live, newObj, manager);
}

/**
 * The Status upstream's API server answers for an error that is not a StatusError
 * (responsewriters.ErrorToAPIStatus): 500, reason unknown, the bare message.
 */
function unknownServerError(message: string): StatusError {
  return new StatusError({ code: 500, reason: '', message });
}

// ---------------------------------------------------------------------------------------
// The scale subresource.

/** The group/version of Scale objects. */
export const SCALE_GROUP_VERSION = 'autoscaling/v1';
const REPLICAS_PATH_IN_SCALE = makePath('spec', 'replicas');

/** Parent apiVersion → path of its replicas field (undefined: that version has none). */
export type ResourcePathMappings = Record<string, Path | undefined>;

/**
 * Moves ownership of the replicas field between a resource and its `scale` subresource
 * (upstream's managedfields.ScaleHandler). A scale update runs as: build the Scale with
 * `toSubresource()` as its managedFields, track the write with a Scale FieldManager
 * (subresource `scale`), then store `toParent(scale's managedFields)` on the parent.
 * Entries keep their identity; only the replicas path and apiVersion are translated.
 */
export class ScaleHandler {
  readonly #parentEntries: readonly ManagedFieldsEntry[] | undefined;
  readonly #groupVersion: string;
  readonly #mappings: ResourcePathMappings;

  /**
   * @param parentEntries the parent's managedFields
   * @param groupVersion the parent's served group/version, e.g. `apps/v1`
   * @param mappings where replicas live per parent version, e.g. `{'apps/v1': makePath('spec', 'replicas')}`
   */
  constructor(parentEntries: readonly ManagedFieldsEntry[] | undefined, groupVersion: string, mappings: ResourcePathMappings) {
    this.#parentEntries = parentEntries;
    this.#groupVersion = groupVersion;
    this.#mappings = mappings;
  }

  /** The parent's entries that own replicas, as Scale (autoscaling/v1) entries. @throws Error on undecodable entries. */
  toSubresource(): ManagedFieldsEntry[] | undefined {
    const parent = decodeManagedFields(this.#parentEntries);
    const out: DecodedManagedFields = { fields: new Map(), times: new Map() };
    for (const [id, vs] of parent.fields) {
      const path = this.#mappings[vs.apiVersion];
      if (!path || !vs.set.has(path)) continue;
      out.fields.set(id, { set: FieldSet.of(REPLICAS_PATH_IN_SCALE), apiVersion: SCALE_GROUP_VERSION, applied: vs.applied });
      out.times.set(id, parent.times.get(id));
    }
    return encodeManagedFields(out);
  }

  /**
   * The parent's entries after a scale write whose resulting Scale managedFields are
   * `scaleEntries`: parent owners of replicas that the scale write displaced lose it;
   * scale owners appear with the parent's apiVersion. @throws Error on undecodable entries.
   */
  toParent(scaleEntries: readonly ManagedFieldsEntry[] | undefined): ManagedFieldsEntry[] | undefined {
    const parent = decodeManagedFields(this.#parentEntries);
    const scale = decodeManagedFields(scaleEntries);
    const scaleFields = new Map(scale.fields);
    const out: DecodedManagedFields = { fields: new Map(), times: new Map() };
    for (const [id, vs] of parent.fields) {
      if (!Object.hasOwn(this.#mappings, vs.apiVersion)) continue;
      const path = this.#mappings[vs.apiVersion];
      if (!path || !vs.set.has(path)) {
        out.fields.set(id, vs);
        out.times.set(id, parent.times.get(id));
        continue;
      }
      if (!scaleFields.has(id)) {
        const set = vs.set.difference(FieldSet.of(path));
        if (!set.empty()) {
          out.fields.set(id, { ...vs, set });
          out.times.set(id, parent.times.get(id));
        }
      } else {
        out.fields.set(id, vs);
        out.times.set(id, parent.times.get(id));
        scaleFields.delete(id);
      }
    }
    const replicas = this.#mappings[this.#groupVersion];
    for (const [id, vs] of scaleFields) {
      if (!vs.set.has(REPLICAS_PATH_IN_SCALE) || !replicas) continue;
      out.fields.set(id, { set: FieldSet.of(replicas), apiVersion: this.#groupVersion, applied: vs.applied });
      // Upstream takes the time from the parent's entries, which a new owner has none of.
      out.times.set(id, parent.times.get(id));
    }
    return encodeManagedFields(out);
  }
}

// ---------------------------------------------------------------------------------------
// Conflicts.

/**
 * Upstream's printManager: `"name"` for appliers, `"name" using apps/v1` for updaters,
 * with ` with subresource "status"` after the name for subresource entries.
 */
export function printManager(manager: string): string {
  let entry: ManagedFieldsEntry;
  try {
    entry = JSON.parse(manager) as ManagedFieldsEntry;
    if (!isJSONObject(entry as unknown as JSONValue)) throw new Error('not an object');
  } catch {
    return JSON.stringify(manager);
  }
  let s = JSON.stringify(entry.manager ?? '');
  if (entry.subresource) s = `${s} with subresource ${JSON.stringify(entry.subresource)}`;
  if (entry.operation === 'Update') {
    if (!entry.time) return `${s} using ${entry.apiVersion ?? ''}`;
    return `${s} using ${entry.apiVersion ?? ''} at ${rfc3339(Date.parse(entry.time))}`;
  }
  return s;
}

/** The 409 upstream returns for apply conflicts (NewConflictError). */
export function conflictError(conflicts: readonly Conflict[]): StatusError {
  // Upstream iterates a Go map; order by manager for determinism, paths in set order.
  const sorted = [...conflicts].sort((a, b) => compareStrings(a.manager, b.manager));
  const causes: StatusCause[] = sorted.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(c.manager)}`,
    field: pathToString(c.path),
  }));
  return newApplyConflict(causes, conflictMessage(sorted));
}

function conflictMessage(conflicts: readonly Conflict[]): string {
  if (conflicts.length === 1) {
    return `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0].manager)}: ${pathToString(conflicts[0].path)}`;
  }
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), pathToString(c.path)]);
  const lines: string[] = [];
  for (const m of [...byManager.keys()].sort(compareStrings)) {
    lines.push(`conflicts with ${printManager(m)}:`);
    for (const p of byManager.get(m)!) lines.push(`- ${p}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

// ---------------------------------------------------------------------------------------
// managedFields encoding.

/**
 * The identity of an entry (BuildManagerIdentifier): the entry as JSON without
 * fieldsType, fieldsV1 and time, and without apiVersion for Apply.
 */
export function buildManagerIdentifier(entry: ManagedFieldsEntry): string {
  const parts: string[] = [];
  const add = (k: string, v: string | undefined) => {
    if (v) parts.push(`${goJSON(k)}:${goJSON(v)}`);
  };
  add('manager', entry.manager);
  add('operation', entry.operation);
  if (entry.operation !== 'Apply') add('apiVersion', entry.apiVersion);
  add('subresource', entry.subresource);
  return `{${parts.join(',')}}`;
}

function copyManaged(m: Managed): Managed {
  // FieldSets are immutable; the maps are what callers change.
  return { fields: new Map(m.fields), times: new Map(m.times) };
}

/**
 * The object a freshly allocated Go struct of the kind serializes to, which upstream
 * uses as the live object on create: struct-valued properties (published with
 * `default: {}`) are present and recursed into, other required properties are null.
 * Comparing against it rather than `{}` keeps created parents like `.spec` out of the
 * creator's field set, as upstream.
 */
export function zeroObject(schema: SchemaNode, depth = 0): JSONObject {
  const out: JSONObject = {};
  if (depth > 32) return out;
  for (const name of schema.fieldNames()) {
    const node = schema.field(name);
    if (!node) continue;
    if (node.kind === 'struct' && isJSONObject(node.default ?? null)) out[name] = zeroObject(node, depth + 1);
    else if (schema.isRequired(name)) out[name] = null;
  }
  return out;
}

/**
 * A deep copy of a JSON object, as structuredClone makes of one (every own key kept, an
 * undefined value too) at a fraction of its cost on the write path.
 */
function copyJSON<T extends JSONValue>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => copyJSON(x)) as T;
  if (v !== null && typeof v === 'object') {
    const out: JSONObject = {};
    for (const k of Object.keys(v)) {
      const x = copyJSON(v[k] as JSONValue);
      // An own "__proto__" key (JSON.parse makes one) stays a key, not a prototype.
      if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
      else out[k] = x;
    }
    return out as T;
  }
  return v;
}

function emptyManaged(): Managed {
  return { fields: new Map(), times: new Map() };
}

/**
 * Decodes `metadata.managedFields` (DecodeManagedFields).
 * @throws Error with upstream's text for an entry with a bad operation, apiVersion,
 *   fieldsType or FieldsV1.
 */
export function decodeManagedFields(entries: readonly ManagedFieldsEntry[] | undefined): DecodedManagedFields {
  const managed = emptyManaged();
  (entries ?? []).forEach((e, i) => {
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (!e.apiVersion) throw new Error('apiVersion must not be empty');
    if (!e.fieldsType) throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (e.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType ${JSON.stringify(e.fieldsType)} in managed fields entry ${i}`);
    const id = buildManagerIdentifier(e);
    let set: FieldSet;
    try {
      set = FieldSet.fromFieldsV1(e.fieldsV1 ?? {});
    } catch (err) {
      throw new Error(`error decoding versioned set: error decoding set: ${err instanceof PathElementError ? err.message : String(err)}`);
    }
    managed.fields.set(id, { set, apiVersion: e.apiVersion, applied: e.operation === 'Apply' });
    managed.times.set(id, e.time ?? undefined);
  });
  return managed;
}

/** Encodes ownership back to `metadata.managedFields` entries, sorted as upstream; undefined when there is none. */
export function encodeManagedFields(managed: DecodedManagedFields): ManagedFieldsEntry[] | undefined {
  if (managed.fields.size === 0) return undefined;
  const entries: ManagedFieldsEntry[] = [];
  for (const [id, vs] of managed.fields) {
    const idEntry = JSON.parse(id) as ManagedFieldsEntry;
    const time = managed.times.get(id);
    const e: ManagedFieldsEntry = { manager: idEntry.manager, operation: vs.applied ? 'Apply' : (idEntry.operation ?? 'Update') };
    e.apiVersion = vs.apiVersion;
    if (time) e.time = time;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = vs.set.toFieldsV1();
    if (idEntry.subresource) e.subresource = idEntry.subresource;
    if (e.manager === undefined) delete e.manager;
    entries.push(e);
  }
  return sortManagedFieldsEntries(entries);
}

/**
 * Upstream's entry order: Apply before Update, then by time (whole seconds, none first),
 * manager, apiVersion, subresource. Returns a sorted copy.
 */
export function sortManagedFieldsEntries(entries: readonly ManagedFieldsEntry[]): ManagedFieldsEntry[] {
  return [...entries].sort(
    (p, q) =>
      compareStrings(p.operation ?? '', q.operation ?? '') ||
      unixSeconds(p.time) - unixSeconds(q.time) ||
      compareStrings(p.manager ?? '', q.manager ?? '') ||
      compareStrings(p.apiVersion ?? '', q.apiVersion ?? '') ||
      compareStrings(p.subresource ?? '', q.subresource ?? ''),
  );
}

function isResetManagedFields(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  if (v.length === 0) return true;
  return v.length === 1 && isJSONObject(v[0] as JSONValue) && Object.keys(v[0] as object).length === 0;
}

function stripMeta(managers: ManagedFields, id: string): ManagedFields {
  const vs = managers.get(id);
  if (!vs) return managers;
  const out = new Map(managers);
  const set = vs.set.difference(STRIPPED_FIELDS);
  if (set.empty()) out.delete(id);
  else out.set(id, { ...vs, set });
  return out;
}

// ---------------------------------------------------------------------------------------
// Small object helpers.

function str(v: JSONValue | undefined): string {
  return typeof v === 'string' ? v : '';
}

function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

function versionOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? apiVersion : apiVersion.slice(i + 1);
}

/** schema.GroupVersion.String(): `v1` for the core group, `apps/v1` otherwise. */
function groupVersionString(apiVersion: string): string {
  const g = groupOf(apiVersion);
  return g ? `${g}/${versionOf(apiVersion)}` : versionOf(apiVersion);
}

function metadataOf(obj: ObjectJSON): JSONObject | undefined {
  const m = obj.metadata;
  return isJSONObject(m) ? m : undefined;
}

function uidOf(obj: ObjectJSON): string {
  return str(metadataOf(obj)?.uid);
}

function managedFieldsOf(obj: ObjectJSON): ManagedFieldsEntry[] | undefined {
  const mf = metadataOf(obj)?.managedFields;
  return Array.isArray(mf) ? (mf as unknown as ManagedFieldsEntry[]) : undefined;
}

function setManagedFields(obj: ObjectJSON, entries: ManagedFieldsEntry[] | undefined): void {
  let meta = metadataOf(obj);
  if (!entries || entries.length === 0) {
    if (meta) delete meta.managedFields;
    return;
  }
  if (!meta) {
    meta = {};
    obj.metadata = meta;
  }
  meta.managedFields = entries as unknown as JSONValue; // freshly built by encodeManagedFields
}

function withoutManagedFields(obj: ObjectJSON): ObjectJSON {
  const meta = metadataOf(obj);
  if (!meta || !Object.hasOwn(meta, 'managedFields')) return obj;
  const { managedFields: _dropped, ...rest } = meta;
  return { ...obj, metadata: rest };
}

function hasLastApplied(obj: ObjectJSON): boolean {
  const annotations = metadataOf(obj)?.annotations;
  const v = isJSONObject(annotations) ? annotations[LAST_APPLIED_CONFIG_ANNOTATION] : undefined;
  return typeof v === 'string' && v.length > 0;
}

/** The annotation value upstream writes: the applied configuration as compact JSON without the annotation itself. */
function buildLastApplied(config: ObjectJSON): string {
  const copy = structuredClone(config);
  const meta = metadataOf(copy);
  const annotations = meta?.annotations;
  if (meta && isJSONObject(annotations)) {
    delete annotations[LAST_APPLIED_CONFIG_ANNOTATION];
    if (Object.keys(annotations).length === 0) delete meta.annotations;
  }
  return goJSON(copy);
}

/** Annotations may total at most 256 KiB; past that upstream drops the last-applied annotation. */
const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

function setLastApplied(obj: ObjectJSON, value: string): void {
  let meta = metadataOf(obj);
  if (!meta) {
    meta = {};
    obj.metadata = meta;
  }
  const annotations: JSONObject = isJSONObject(meta.annotations) ? meta.annotations : {};
  annotations[LAST_APPLIED_CONFIG_ANNOTATION] = value;
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) size += Buffer.byteLength(k) + Buffer.byteLength(str(v));
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) delete annotations[LAST_APPLIED_CONFIG_ANNOTATION];
  meta.annotations = annotations;
}

function unixSeconds(time: string | undefined): number {
  if (!time) return 0;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** metav1.Time's wire form: RFC 3339 in UTC at whole seconds. */
function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
