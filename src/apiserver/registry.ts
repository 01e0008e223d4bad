/**
 * The generic registry: one `ResourceStore` per ResourceDef, like upstream's
 * genericregistry.Store (k8s.io/apiserver/pkg/registry/generic/registry/store.go). It owns
 * the key layout, ObjectMeta system fields, the strategy calls (default → prepare →
 * validate), optimistic concurrency, graceful deletion with finalizers, managedFields on
 * every write, and the translation of StorageError into StatusError — the only place that
 * translation happens (STYLE.md #8).
 */
import {
  StatusError,
  deepClone,
  deepEqual,
  fieldInvalid,
  fieldRequired,
  fields as fieldsel,
  formatRFC3339,
  generateName,
  labels as labelsel,
  managedfields,
  nameIsDNS1035Label,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
  newAlreadyExists,
  newBadRequest,
  newConflict,
  newGenerateNameConflict,
  newInternalError,
  newInvalid,
  newNotFound,
  newPath,
  newResourceExpired,
  newServiceUnavailable,
  newTimeout,
  newUID,
  schema as schemaMod,
  validateObjectMeta,
  validateObjectMetaUpdate,
  FINALIZER_DELETE_DEPENDENTS,
  FINALIZER_ORPHAN_DEPENDENTS,
  type DeleteOptions,
  type FieldError,
  type GroupResource,
  type KObject,
  type ObjectMeta,
  type ValidateNameFunc,
} from '../apimachinery/index.js';
import type { ResourceDef } from '../api/types.js';
import { isStorageError, type Storage, type StoredObject, type WatchStream, type ListResult } from '../storage/interface.js';
import type { Clock } from '../util/clock.js';

/** Upstream's OptimisticLockErrorMsg. */
export const OPTIMISTIC_LOCK_ERROR_MSG = 'the object has been modified; please apply your changes to the latest version and try again';

/**
 * Key prefixes that differ from `/registry/<resource>` (upstream's storage prefixes in
 * pkg/registry/<group>/<resource>/storage and the StorageFactory overrides).
 */
const KEY_PREFIX_OVERRIDES: Record<string, string> = {
  '/services': '/registry/services/specs',
  '/endpoints': '/registry/services/endpoints',
  '/nodes': '/registry/minions',
  '/replicationcontrollers': '/registry/controllers',
  'networking.k8s.io/ingresses': '/registry/ingress',
  'extensions/ingresses': '/registry/ingress',
  'apiextensions.k8s.io/customresourcedefinitions': '/registry/apiextensions.k8s.io/customresourcedefinitions',
};

export function keyPrefixFor(def: Pick<ResourceDef, 'group' | 'resource' | 'sharedStorage'>): string {
  if (def.sharedStorage) return keyPrefixFor({ group: def.sharedStorage.group, resource: def.sharedStorage.resource });
  return KEY_PREFIX_OVERRIDES[`${def.group}/${def.resource}`] ?? `/registry/${def.resource}`;
}

/** Who is asking, and how (what upstream keeps on the request context). */
export interface RequestContext {
  namespace?: string;
  user?: string;
  groups?: string[];
  userAgent?: string;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

/** Result of a write: the object plus warnings for the Warning header. */
export interface WriteResult {
  object: KObject;
  warnings: string[];
  /** true when create (PUT/apply on a missing object) happened: 201. */
  created?: boolean;
}

export type DeleteResult = { object: KObject; deleted: boolean; warnings: string[] };

/** Translates a storage error for resource gr/name; anything else passes through. */
export function translateStorageError(err: unknown, gr: GroupResource, name: string): unknown {
  if (!isStorageError(err)) return err;
  switch (err.code) {
    case 'KeyNotFound':
      return newNotFound(gr, name);
    case 'KeyExists':
      return newAlreadyExists(gr, name);
    case 'ResourceVersionConflicts':
      return newConflict(gr, name, OPTIMISTIC_LOCK_ERROR_MSG);
    case 'InvalidObj':
      return newConflict(gr, name, err.message);
    case 'Expired': {
      // A watch from a compacted revision: upstream answers from its watch cache, whose
      // wording ("too old resource version: requested (oldest)") clients show and match.
      const e = newResourceExpired(
        err.compactRevision !== undefined && err.resourceVersion !== undefined
          ? `too old resource version: ${err.resourceVersion} (${err.compactRevision})`
          : err.message,
      );
      if (err.continue) e.status.metadata = { continue: err.continue };
      return e;
    }
    case 'TooLargeResourceVersion': {
      const e = newTimeout(err.message, 1);
      e.status.details = { ...e.status.details, causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }] };
      return e;
    }
    case 'BadRequest':
    case 'InvalidError':
      return newBadRequest(err.message);
    case 'Unreachable':
      return newServiceUnavailable(err.message);
    default:
      return newInternalError(err);
  }
}

export interface ResourceStoreOptions {
  def: ResourceDef;
  storage: Storage;
  clock: Clock;
  /** Resolves the kind's schema for managedFields/SMP/unknown fields; untyped if absent. */
  schemaFor?: (def: ResourceDef) => schemaMod.SchemaNode | undefined;
  /** Checked before anything is created in a namespace (the NamespaceLifecycle admission). */
  admitNamespace?: (namespace: string) => Promise<void>;
  /** Admission of a delete, before anything is read (e.g. NamespaceLifecycle's immortal namespaces); throws to refuse it. */
  admitDelete?: (namespace: string | undefined, name: string) => void;
  /**
   * Runs after defaulting and before the strategy on every create and main-resource update
   * (upstream's BeginCreate/BeginUpdate, e.g. Service IP and port allocation); returned
   * field errors fail the write as Invalid.
   */
  beginWrite?: (obj: KObject, old: KObject | undefined) => Promise<FieldError[]>;
  /** Serializes whole writes (used with beginWrite allocations). */
  serialize?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** The name validation upstream's strategies use (ValidateXName), per resource. */
function nameFuncFor(def: ResourceDef): ValidateNameFunc {
  if (def.validateName) return (name, prefix) => def.validateName!(name, prefix);
  if (def.group === '' && def.resource === 'namespaces') return nameIsDNSLabel;
  if (def.group === '' && def.resource === 'services') return nameIsDNS1035Label;
  return nameIsDNSSubdomain;
}

const meta = (o: KObject): ObjectMeta => (o.metadata ??= {});

/** Mutations through a subresource endpoint. */
export type Subresource = '' | 'status' | 'scale' | 'finalize';

/** Options of {@link ResourceStore.update}. */
export type UpdateOptions = WriteOptions & {
  subresource?: Subresource;
  /** For PUT: a stale resourceVersion in the body is a Conflict; patches are transformed from current. */
  forceAllowCreate?: boolean;
  /** Apply and PUT record managedFields themselves when true (apply did it in transform). */
  managedFieldsDone?: boolean;
  /** Set by delete: transform may set deletionTimestamp/deletionGracePeriodSeconds. */
  deleting?: boolean;
  /** Write transform's result without the update strategy or validation (upstream's direct storage updates, e.g. binding). */
  raw?: boolean;
  manager: string;
};

/** Computes the object to write from the current one (PUT, patch, apply); `current` is the transform's own copy, which it may change and return. */
export type Transform = (current: KObject | undefined) => KObject | Promise<KObject>;

export class ResourceStore {
  readonly def: ResourceDef;
  readonly gr: GroupResource;
  readonly prefix: string;
  readonly apiVersion: string;
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #schemaFor?: (def: ResourceDef) => schemaMod.SchemaNode | undefined;
  readonly #admitNamespace?: (namespace: string) => Promise<void>;
  readonly #admitDelete?: (namespace: string | undefined, name: string) => void;
  readonly #beginWrite?: (obj: KObject, old: KObject | undefined) => Promise<FieldError[]>;
  readonly #serialize: <T>(fn: () => Promise<T>) => Promise<T>;
  readonly #managers = new Map<string, managedfields.FieldManager>();

  constructor(opts: ResourceStoreOptions) {
    this.def = opts.def;
    this.gr = { group: opts.def.group, resource: opts.def.resource };
    this.prefix = keyPrefixFor(opts.def);
    this.apiVersion = opts.def.group ? `${opts.def.group}/${opts.def.version}` : opts.def.version;
    const shared = opts.def.sharedStorage;
    this.#storage = shared ? new ConvertingStorage(opts.storage, shared.toStorage, shared.fromStorage) : opts.storage;
    this.#clock = opts.clock;
    this.#schemaFor = opts.schemaFor;
    this.#admitNamespace = opts.admitNamespace;
    this.#admitDelete = opts.admitDelete;
    this.#beginWrite = opts.beginWrite;
    this.#serialize = opts.serialize ?? ((fn) => fn());
  }

  /** The key of one object, or the prefix of a namespace/everything when name is absent. */
  key(namespace: string | undefined, name?: string): string {
    if (name === undefined) return this.def.namespaced && namespace ? `${this.prefix}/${namespace}/` : `${this.prefix}/`;
    return this.def.namespaced ? `${this.prefix}/${namespace}/${name}` : `${this.prefix}/${name}`;
  }

  schema(): schemaMod.SchemaNode {
    return this.#schemaFor?.(this.def) ?? schemaMod.SchemaNode.untyped(this.def.openAPIDefinition);
  }

  fieldManager(subresource: Subresource): managedfields.FieldManager {
    let fm = this.#managers.get(subresource);
    if (!fm) {
      fm = new managedfields.FieldManager({
        schema: this.schema(),
        apiVersion: this.apiVersion,
        kind: this.def.kind,
        subresource,
        clock: this.#clock,
      });
      this.#managers.set(subresource, fm);
    }
    return fm;
  }

  #now(): string {
    return formatRFC3339(this.#clock.now());
  }

  #translate(err: unknown, name: string): unknown {
    return translateStorageError(err, this.gr, name);
  }

  /** Checks and fills apiVersion/kind and the namespace of a request body. */
  checkBody(obj: unknown, ctx: RequestContext, name?: string): KObject {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw newBadRequest('the body of the request was in an unknown format - accepted media types include: application/json, application/yaml');
    const o = obj as KObject;
    if (o.apiVersion !== undefined && o.apiVersion !== '' && o.apiVersion !== this.apiVersion) {
      throw newBadRequest(`the API version in the data (${o.apiVersion}) does not match the expected API version (${this.apiVersion})`);
    }
    if (o.kind !== undefined && o.kind !== '' && o.kind !== this.def.kind) {
      throw newBadRequest(`the kind in the data (${o.kind}) does not match the expected kind (${this.def.kind})`);
    }
    o.apiVersion = this.apiVersion;
    o.kind = this.def.kind;
    const m = meta(o);
    if (this.def.namespaced) {
      if (m.namespace && ctx.namespace && m.namespace !== ctx.namespace) {
        throw newBadRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      if (ctx.namespace) m.namespace = ctx.namespace;
    } else if (m.namespace) {
      delete m.namespace;
    }
    if (name !== undefined && m.name && m.name !== name) {
      throw newBadRequest('the name of the object (' + m.name + ') does not match the name on the URL (' + name + ')');
    }
    return o;
  }

  #invalid(name: string, errs: FieldError[]): StatusError {
    return newInvalid({ group: this.def.group, kind: this.def.kind }, name, errs);
  }

  // ---- reads -----------------------------------------------------------------------

  async get(ns: string | undefined, name: string, opts: { resourceVersion?: string } = {}): Promise<KObject> {
    let obj: StoredObject | undefined;
    try {
      obj = await this.#storage.get(this.key(ns, name), { resourceVersion: opts.resourceVersion });
    } catch (err) {
      throw this.#translate(err, name);
    }
    if (!obj) throw newNotFound(this.gr, name);
    return obj as KObject;
  }

  /** The supported field-selector labels (selectableFields of an empty object). */
  selectableFieldNames(): string[] {
    return Object.keys(this.def.selectableFields({ metadata: {} }));
  }

  /** Builds a predicate from label/field selectors (400 on a bad one, as upstream). */
  predicate(labelSelector?: string, fieldSelector?: string): ((o: StoredObject) => boolean) | undefined {
    let ls: labelsel.Selector | undefined;
    let fs: fieldsel.FieldSelector | undefined;
    if (labelSelector) {
      try {
        ls = labelsel.parseSelector(labelSelector);
      } catch (err) {
        throw newBadRequest((err as Error).message);
      }
    }
    if (fieldSelector) {
      const allowed = new Set(this.selectableFieldNames());
      allowed.add('metadata.name');
      if (this.def.namespaced) allowed.add('metadata.namespace');
      try {
        fs = fieldsel.parseAndTransformSelector(fieldSelector, (label, value) => {
          if (allowed.has(label)) return [label, value];
          throw fieldsel.fieldLabelNotSupported(label);
        });
      } catch (err) {
        throw newBadRequest((err as Error).message);
      }
    }
    if ((!ls || ls.empty()) && (!fs || fs.empty())) return undefined;
    const def = this.def;
    return (o: StoredObject) => {
      const k = o as KObject;
      if (ls && !ls.matches(k.metadata?.labels ?? {})) return false;
      if (fs) {
        const f = { ...fieldsel.objectMetaFieldsSet(k.metadata, def.namespaced), ...def.selectableFields(k) };
        if (!fs.matches(f)) return false;
      }
      return true;
    };
  }

  async list(
    ns: string | undefined,
    opts: { labelSelector?: string; fieldSelector?: string; limit?: number; continue?: string; resourceVersion?: string; resourceVersionMatch?: string },
  ): Promise<ListResult> {
    const predicate = this.predicate(opts.labelSelector, opts.fieldSelector);
    if (opts.resourceVersionMatch && opts.resourceVersionMatch !== 'NotOlderThan' && opts.resourceVersionMatch !== 'Exact') {
      throw newBadRequest(`resourceVersionMatch: Unsupported value: "${opts.resourceVersionMatch}": supported values: "Exact", "NotOlderThan", ""`);
    }
    try {
      return await this.#storage.getList(this.key(ns), {
        predicate,
        limit: opts.limit,
        continue: opts.continue,
        resourceVersion: opts.resourceVersion,
        resourceVersionMatch: opts.resourceVersionMatch as 'Exact' | 'NotOlderThan' | undefined,
      });
    } catch (err) {
      throw this.#translate(err, '');
    }
  }

  async watch(
    ns: string | undefined,
    opts: { labelSelector?: string; fieldSelector?: string; resourceVersion?: string; allowBookmarks?: boolean; sendInitialEvents?: boolean },
    signal?: AbortSignal,
  ): Promise<WatchStream> {
    const predicate = this.predicate(opts.labelSelector, opts.fieldSelector);
    try {
      return await this.#storage.watch(
        this.key(ns),
        { recursive: true, predicate, resourceVersion: opts.resourceVersion, allowBookmarks: opts.allowBookmarks, sendInitialEvents: opts.sendInitialEvents },
        signal,
      );
    } catch (err) {
      throw this.#translate(err, '');
    }
  }

  // ---- create ----------------------------------------------------------------------

  /** Fills system fields, runs the create strategy and validation. Returns warnings. */
  async #prepareCreate(obj: KObject): Promise<string[]> {
    const m = meta(obj);
    m.uid = newUID();
    m.creationTimestamp = this.#now();
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.resourceVersion;
    delete m.selfLink;
    if (!m.name && m.generateName) m.name = generateName(m.generateName);
    this.def.strategy.default?.(obj);
    const begin = (await this.#beginWrite?.(obj, undefined)) ?? [];
    if (begin.length > 0) throw this.#invalid(m.name ?? '', begin);
    this.def.strategy.prepareForCreate?.(obj);
    const errs = [
      ...validateObjectMeta(m, this.def.namespaced, nameFuncFor(this.def), newPath('metadata')),
      ...this.def.strategy.validate(obj),
    ];
    if (errs.length > 0) throw this.#invalid(m.name ?? '', errs);
    return this.def.strategy.warnings?.(obj) ?? [];
  }

  create(ctx: RequestContext, body: unknown, opts: WriteOptions & { manager: string }): Promise<WriteResult> {
    return this.#serialize(() => this.#create(ctx, body, opts));
  }

  async #create(ctx: RequestContext, body: unknown, opts: WriteOptions & { manager: string }): Promise<WriteResult> {
    const obj = this.checkBody(deepClone(body), ctx);
    const m = meta(obj);
    if (!m.name && !m.generateName) {
      throw this.#invalid('', [fieldRequired(newPath('metadata', 'name'), 'name or generateName is required')]);
    }
    if (this.def.namespaced) await this.#admitNamespace?.(m.namespace ?? '');
    const withManaged = this.fieldManager('').update(undefined, obj as never, opts.manager) as KObject;
    const generated = !m.name;
    for (let attempt = 0; ; attempt++) {
      // Only a generated name retries with the same object, so only then does prepareCreate get a copy.
      const candidate = generated ? deepClone(withManaged) : withManaged;
      const warnings = await this.#prepareCreate(candidate);
      const name = candidate.metadata!.name!;
      if (opts.dryRun) {
        // A dry run still reports an existing name.
        const existing = await this.#storage.get(this.key(candidate.metadata!.namespace, name), { ignoreNotFound: true }).catch((e) => { throw this.#translate(e, name); });
        if (existing) throw newAlreadyExists(this.gr, name);
        return { object: candidate, warnings, created: true };
      }
      try {
        const created = await this.#storage.create(this.key(candidate.metadata!.namespace, name), candidate as StoredObject);
        return { object: created as KObject, warnings, created: true };
      } catch (err) {
        if (generated && isStorageError(err, 'KeyExists')) {
          if (attempt < 7) continue;
          throw newGenerateNameConflict(this.gr, name, 1);
        }
        throw this.#translate(err, name);
      }
    }
  }

  // ---- update / patch / apply --------------------------------------------------------

  /**
   * The one write path for PUT, patch and apply (upstream's Store.Update with an
   * UpdatedObjectInfo): `transform` maps the current object (undefined if missing) to the
   * desired one, inside the storage's optimistic-concurrency loop.
   */
  update(ctx: RequestContext, name: string, transform: Transform, opts: UpdateOptions): Promise<WriteResult> {
    return this.#serialize(() => this.#update(ctx, name, transform, opts));
  }

  async #update(ctx: RequestContext, name: string, transform: Transform, opts: UpdateOptions): Promise<WriteResult> {
    const sub = opts.subresource ?? '';
    const ns = this.def.namespaced ? ctx.namespace : undefined;
    const key = this.key(ns, name);
    const allowCreate = sub === '' && (opts.forceAllowCreate || this.def.strategy.allowCreateOnUpdate === true);
    let warnings: string[] = [];
    let created = false;
    let deleteAfter = false;
    let dryRunResult: KObject | undefined;
    const tryUpdate = async (currentStored: StoredObject): Promise<StoredObject> => {
      const exists = Object.keys(currentStored).length > 0;
      const current = exists ? (currentStored as KObject) : undefined;
      if (!current && !allowCreate) throw newNotFound(this.gr, name);
      const desired = this.checkBody(deepClone(await transform(current ? deepClone(current) : undefined)), ctx, name);
      const dm = meta(desired);
      if (!dm.name) dm.name = name;
      if (!current) {
        if (this.def.namespaced) await this.#admitNamespace?.(dm.namespace ?? '');
        const withManaged = opts.managedFieldsDone ? desired : (this.fieldManager('').update(undefined, desired as never, opts.manager) as KObject);
        warnings = await this.#prepareCreate(withManaged);
        created = true;
        if (opts.dryRun) {
          dryRunResult = withManaged;
          throw DRY_RUN_DONE;
        }
        return withManaged as StoredObject;
      }
      const cm = current.metadata!;
      if (dm.resourceVersion) {
        if (dm.resourceVersion !== cm.resourceVersion) throw newConflict(this.gr, name, OPTIMISTIC_LOCK_ERROR_MSG);
      } else if (this.def.strategy.allowUnconditionalUpdate === false && sub === '') {
        throw this.#invalid(name, [fieldInvalid(newPath('metadata', 'resourceVersion'), dm.resourceVersion ?? '', 'must be specified for an update')]);
      } else {
        // An unconditional update writes over the latest state (upstream's Store.Update sets the
        // stored resourceVersion on the object before ValidateObjectMetaUpdate runs).
        dm.resourceVersion = cm.resourceVersion;
      }
      // System fields are the server's (upstream's BeforeUpdate + FillObjectMetaSystemFields).
      dm.uid = cm.uid;
      dm.creationTimestamp = cm.creationTimestamp;
      if (!opts.deleting) {
        dm.deletionTimestamp = cm.deletionTimestamp;
        dm.deletionGracePeriodSeconds = cm.deletionGracePeriodSeconds;
      }
      if (dm.deletionTimestamp === undefined) delete dm.deletionTimestamp;
      if (dm.deletionGracePeriodSeconds === undefined) delete dm.deletionGracePeriodSeconds;
      if (cm.generation !== undefined) dm.generation = cm.generation;
      else delete dm.generation;
      let next = desired;
      const subStrategy = sub === 'status' ? this.def.status : sub ? this.def.subresourceStrategies?.[sub] : undefined;
      if (opts.deleting || opts.raw) {
        // A deletion writes its changes as they are (upstream's BeforeDelete, e.g. a namespace's Terminating phase).
      } else if (subStrategy) {
        subStrategy.prepareForUpdate(next, current);
      } else if (sub === 'finalize') {
        // Only spec.finalizers changes through /finalize (upstream FinalizeREST).
        const finalizers = (next.spec as { finalizers?: unknown } | undefined)?.finalizers;
        next = deepClone(current);
        next.spec = { ...((current.spec as object) ?? {}), finalizers };
      } else {
        // The main resource and its scale subresource share the strategy (generation bumps on spec.replicas).
        this.def.strategy.default?.(next);
        if (sub === '') {
          const begin = (await this.#beginWrite?.(next, current)) ?? [];
          if (begin.length > 0) throw this.#invalid(name, begin);
        }
        this.def.strategy.prepareForUpdate?.(next, current);
      }
      if (!opts.managedFieldsDone) next = this.fieldManager(sub).update(current as never, next as never, opts.manager) as KObject;
      // A deletion's own update and a raw write are not validated (upstream writes them from
      // BeforeDelete or straight to storage, e.g. pods/binding), so the checks are not even run.
      if (!opts.deleting && !opts.raw) {
        const errs: FieldError[] = [
          ...validateObjectMetaUpdate(next.metadata, cm, newPath('metadata')),
          ...(subStrategy ? subStrategy.validateUpdate(next, current) : this.def.strategy.validateUpdate(next, current)),
        ];
        if (errs.length > 0) throw this.#invalid(name, errs);
      }
      warnings = this.def.strategy.warnings?.(next, current) ?? [];
      // Only bump what changed: an identical object is not written (no new resourceVersion).
      const cmp = { ...next, metadata: { ...next.metadata, resourceVersion: cm.resourceVersion } };
      if (deepEqual(withoutTimes(cmp), withoutTimes(current))) {
        dryRunResult = current;
        throw UNCHANGED;
      }
      delete next.metadata!.resourceVersion;
      // upstream's ShouldDeleteDuringUpdate: terminating, no grace left, no finalizers.
      const specFinalizers = this.def.group === '' && this.def.resource === 'namespaces' ? ((next.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []) : [];
      if (next.metadata!.deletionTimestamp && !next.metadata!.deletionGracePeriodSeconds && (next.metadata!.finalizers ?? []).length === 0 && specFinalizers.length === 0) {
        deleteAfter = true;
      }
      if (opts.dryRun) {
        dryRunResult = { ...next, metadata: { ...next.metadata, resourceVersion: cm.resourceVersion } };
        throw DRY_RUN_DONE;
      }
      return next as StoredObject;
    };
    let out: StoredObject;
    try {
      out = await this.#storage.guaranteedUpdate(key, tryUpdate, { ignoreNotFound: allowCreate });
    } catch (err) {
      if (err === DRY_RUN_DONE || err === UNCHANGED) return { object: dryRunResult!, warnings, created };
      if (isStorageError(err, 'KeyNotFound')) throw newNotFound(this.gr, name);
      throw this.#translate(err, name);
    }
    if (deleteAfter) {
      try {
        out = await this.#storage.delete(key, { preconditions: { uid: out.metadata?.uid } });
      } catch (err) {
        if (!isStorageError(err, 'KeyNotFound')) throw this.#translate(err, name);
      }
    }
    return { object: out as KObject, warnings, created };
  }

  // ---- delete ----------------------------------------------------------------------

  /**
   * Seconds a deletion waits (upstream's pod CheckGracefulDelete): the request's
   * gracePeriodSeconds, else spec.terminationGracePeriodSeconds (default 30); 0 for a pod
   * never scheduled or already finished, and for every other resource.
   */
  #gracePeriod(obj: KObject, requested: number | undefined): number {
    if (!isPods(this.def)) return 0;
    const spec = (obj.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
    const phase = (obj.status as { phase?: string } | undefined)?.phase;
    if (!spec.nodeName || phase === 'Failed' || phase === 'Succeeded') return 0;
    const g = requested ?? spec.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, g);
  }

  async delete(ctx: RequestContext, name: string, opts: Omit<DeleteOptions, 'dryRun'> & { dryRun?: boolean }): Promise<DeleteResult> {
    const ns = this.def.namespaced ? ctx.namespace : undefined;
    const key = this.key(ns, name);
    // Upstream runs delete admission before the object is read: refused even as a dry run.
    this.#admitDelete?.(ns, name);
    const current = await this.get(ns, name);
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== current.metadata?.uid) {
      throw newConflict(this.gr, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata?.uid ?? ''}`);
    }
    if (pre.resourceVersion && pre.resourceVersion !== current.metadata?.resourceVersion) {
      throw newConflict(
        this.gr,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata?.resourceVersion ?? ''}`,
      );
    }
    if (opts.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(opts.propagationPolicy)) {
      throw this.#invalid(name, [
        fieldInvalid(newPath('propagationPolicy'), opts.propagationPolicy, 'must be one of Orphan, Background, Foreground or nil'),
      ]);
    }
    // Finalizers the deletion adds (upstream deletionFinalizersForGarbageCollection).
    const add: string[] = [];
    const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : undefined);
    if (policy === 'Orphan') add.push(FINALIZER_ORPHAN_DEPENDENTS);
    if (policy === 'Foreground') add.push(FINALIZER_DELETE_DEPENDENTS);
    const isNamespace = this.def.group === '' && this.def.resource === 'namespaces';
    const specFinalizers = isNamespace ? (((current.spec as { finalizers?: string[] } | undefined)?.finalizers) ?? []) : [];
    const finalizers = current.metadata?.finalizers ?? [];
    const grace = this.#gracePeriod(current, opts.gracePeriodSeconds ?? undefined);
    const graceful = grace > 0 || finalizers.length > 0 || add.length > 0 || specFinalizers.length > 0;
    if (graceful) {
      const res = await this.update(
        ctx,
        name,
        (cur) => {
          const next = deepClone(cur!);
          const m = meta(next);
          const due = formatRFC3339(this.#clock.now() + grace * 1000);
          // A later delete may shorten the grace period, never extend it (upstream BeforeDelete).
          if (!m.deletionTimestamp || (grace < (m.deletionGracePeriodSeconds ?? 0) && due < m.deletionTimestamp)) {
            m.deletionTimestamp = due;
            // Namespaces' own delete sets only the timestamp (upstream's namespace REST).
            if (!isNamespace) m.deletionGracePeriodSeconds = grace;
          }
          let fin = m.finalizers ?? [];
          if (policy === 'Orphan') fin = fin.filter((f) => f !== FINALIZER_DELETE_DEPENDENTS);
          if (policy === 'Foreground') fin = fin.filter((f) => f !== FINALIZER_ORPHAN_DEPENDENTS);
          for (const f of add) if (!fin.includes(f)) fin.push(f);
          if (fin.length > 0) m.finalizers = fin;
          if (isNamespace) next.status = { ...((next.status as object) ?? {}), phase: 'Terminating' };
          return next;
        },
        { dryRun: opts.dryRun, manager: '', managedFieldsDone: true, deleting: true },
      ).catch((err: unknown) => {
        if (err instanceof StatusError && err.code === 422) throw err;
        throw err;
      });
      return { object: res.object, deleted: false, warnings: [] };
    }
    if (opts.dryRun) return { object: current, deleted: true, warnings: [] };
    try {
      const out = await this.#storage.delete(key, { cachedExistingObject: current as StoredObject, preconditions: { uid: pre.uid, resourceVersion: pre.resourceVersion } });
      return { object: out as KObject, deleted: true, warnings: [] };
    } catch (err) {
      throw this.#translate(err, name);
    }
  }
}

const DRY_RUN_DONE = new Error('dry run');

/** Resources whose objects are deleted gracefully (upstream's CheckGracefulDelete): pods. */
function isPods(def: ResourceDef): boolean {
  return def.group === '' && def.resource === 'pods';
}

const UNCHANGED = new Error('unchanged');

/** managedFields timestamps change on every write; they alone do not make a change. */
function withoutTimes(o: KObject): unknown {
  const mf = o.metadata?.managedFields;
  if (!mf) return o;
  return { ...o, metadata: { ...o.metadata, managedFields: mf.map((e) => ({ ...e, time: undefined })) } };
}

/**
 * A view of the storage through another schema (ResourceDef.sharedStorage: e.g.
 * events.k8s.io/v1 Events kept as core/v1 Events): objects convert on every read and write.
 */
class ConvertingStorage implements Storage {
  constructor(
    readonly inner: Storage,
    readonly toStorage: (o: KObject) => KObject,
    readonly fromStorage: (o: KObject) => KObject,
  ) {}

  #to = (o: StoredObject): StoredObject => this.toStorage(o as KObject) as StoredObject;
  #from = (o: StoredObject): StoredObject => this.fromStorage(o as KObject) as StoredObject;

  async create(key: string, obj: StoredObject, opts?: { ttlSeconds?: number }): Promise<StoredObject> {
    return this.#from(await this.inner.create(key, this.#to(obj), opts));
  }
  async get(key: string, opts?: Parameters<Storage['get']>[1]): Promise<StoredObject | undefined> {
    const o = await this.inner.get(key, opts);
    return o && this.#from(o);
  }
  async getList(key: string, opts?: Parameters<Storage['getList']>[1]): Promise<ListResult> {
    const pred = opts?.predicate;
    const res = await this.inner.getList(key, { ...opts, predicate: pred && ((o) => pred(this.#from(o))) });
    return { ...res, items: res.items.map(this.#from) };
  }
  async guaranteedUpdate(key: string, tryUpdate: Parameters<Storage['guaranteedUpdate']>[1], opts?: Parameters<Storage['guaranteedUpdate']>[2]): Promise<StoredObject> {
    const out = await this.inner.guaranteedUpdate(
      key,
      async (cur) => this.#to(await tryUpdate(Object.keys(cur).length === 0 ? cur : this.#from(cur))),
      opts && { ...opts, cachedExistingObject: opts.cachedExistingObject && this.#to(opts.cachedExistingObject) },
    );
    return this.#from(out);
  }
  async delete(key: string, opts?: Parameters<Storage['delete']>[1]): Promise<StoredObject> {
    const validate = opts?.validate;
    return this.#from(
      await this.inner.delete(key, {
        ...opts,
        validate: validate && ((o) => validate(this.#from(o))),
        cachedExistingObject: opts?.cachedExistingObject && this.#to(opts.cachedExistingObject),
      }),
    );
  }
  async watch(key: string, opts?: Parameters<Storage['watch']>[1], signal?: AbortSignal): Promise<WatchStream> {
    const pred = opts?.predicate;
    const inner = await this.inner.watch(key, { ...opts, predicate: pred && ((o) => pred(this.#from(o))) }, signal);
    const from = this.#from;
    return {
      stop: () => inner.stop(),
      requestProgress: () => inner.requestProgress(),
      async *[Symbol.asyncIterator]() {
        for await (const ev of inner) {
          yield ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED' ? { ...ev, object: from(ev.object) } : ev;
        }
      },
    };
  }
  count(key: string): Promise<number> {
    return this.inner.count(key);
  }
  currentRevision(): Promise<number> {
    return this.inner.currentRevision();
  }
  compact(revision: number): Promise<void> {
    return this.inner.compact(revision);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
