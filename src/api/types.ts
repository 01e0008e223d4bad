/**
 * What the API server needs to know about each resource it serves: the contract between
 * `src/api` (one definition per resource: names, defaults, validation, printing, schema)
 * and `src/apiserver` (one generic registry that serves any definition).
 *
 * This mirrors how upstream splits the same work: the scheme (defaulting), the
 * registry strategy (pkg/registry/<group>/<resource>/strategy.go: PrepareForCreate,
 * Validate, …), the printers (pkg/printers/internalversion) and discovery metadata
 * (short names, categories). "A resource is configuration, not code" (STYLE.md).
 */
import type { FieldError } from '../apimachinery/errors.js';
import type { KObject } from '../apimachinery/meta.js';

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

/** Behaviour of a resource's writes (upstream's RESTCreateStrategy/RESTUpdateStrategy). */
export interface Strategy {
  /**
   * Scheme defaulting (upstream SetDefaults_*): fills unset fields in place. Runs on every
   * create/update/patch body before validation, and on read of stored objects is NOT needed.
   */
  default?(obj: KObject): void;
  /** Clears fields users may not set on create (e.g. status), sets generation 1, … In place. */
  prepareForCreate?(obj: KObject): void;
  /**
   * Carries over what an update of the main resource may not change (e.g. status), and bumps
   * metadata.generation when the spec changed. In place on obj; old is read-only.
   */
  prepareForUpdate?(obj: KObject, old: KObject): void;
  /** Resource-specific validation on create (ObjectMeta is validated by the API server). */
  validate(obj: KObject): FieldError[];
  /** Resource-specific validation on update, incl. immutable fields. */
  validateUpdate(obj: KObject, old: KObject): FieldError[];
  /** Warnings returned to the client (Warning headers), upstream's WarningsOnCreate/Update. */
  warnings?(obj: KObject, old?: KObject): string[];
  /** Whether PUT of a missing object creates it (upstream AllowCreateOnUpdate). */
  allowCreateOnUpdate?: boolean;
  /** Whether updates without metadata.resourceVersion are accepted (AllowUnconditionalUpdate). */
  allowUnconditionalUpdate?: boolean;
}

/** The `status` subresource's strategy: only status changes are kept from the request. */
export interface StatusStrategy {
  prepareForUpdate(obj: KObject, old: KObject): void;
  validateUpdate(obj: KObject, old: KObject): FieldError[];
}

/** A column of the server-side Table (meta.k8s.io/v1 TableColumnDefinition). */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description: string;
  /** 0 = shown by default; 1 = only with -o wide. */
  priority: 0 | 1;
}

/** Server-side printing (upstream pkg/printers/internalversion, per resource). */
export interface TablePrinter {
  columns: TableColumn[];
  /** One row's cells, in column order (all columns, wide ones included). nowMs for ages. */
  row(obj: KObject, nowMs: number): unknown[];
  /**
   * The row's conditions (metav1.TableRowCondition), e.g. a finished pod's
   * `{type: 'Completed', status: 'True', reason: 'Succeeded', message: …}`. Optional.
   */
  conditions?(obj: KObject): TableRowCondition[];
}

/** meta.k8s.io/v1 TableRowCondition. */
export interface TableRowCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

/** The scale subresource's mapping (autoscaling/v1 Scale). */
export interface ScaleSubresource {
  specReplicasPath: string[];
  statusReplicasPath: string[];
  /** Where a label selector string for Scale.status.selector comes from. */
  labelSelectorPath?: string[];
  /**
   * Scale.status.selector computed from the object, for resources whose selector is a
   * structured metav1.LabelSelector (apps/v1: `LabelSelectorAsSelector(spec.selector).String()`).
   * Takes precedence over labelSelectorPath.
   */
  selector?(obj: KObject): string;
}

export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** Plural, lowercase: the URL segment ("replicasets"). */
  resource: string;
  singular: string;
  shortNames?: string[];
  categories?: string[];
  namespaced: boolean;
  verbs: Verb[];
  /** OpenAPI definition name of the kind, e.g. "io.k8s.api.apps.v1.ReplicaSet". */
  openAPIDefinition: string;
  strategy: Strategy;
  status?: StatusStrategy;
  scale?: ScaleSubresource;
  /** Other subresources served for this resource by the API server (e.g. "binding", "eviction", "finalize", "log", "exec"). */
  subresources?: string[];
  /**
   * Strategies of update-style subresources other than status, by name (e.g. namespaces'
   * "finalize": only spec.finalizers may change). Each also appears in `subresources`.
   */
  subresourceStrategies?: Record<string, StatusStrategy>;
  table: TablePrinter;
  /**
   * Fields a field selector may use, with their values for obj (upstream's
   * GetAttrs/SelectableFields: always metadata.name and metadata.namespace, plus e.g.
   * spec.nodeName and status.phase for pods).
   */
  selectableFields(obj: KObject): Record<string, string>;
  /**
   * The ValidateNameFunc for metadata.name and generateName when the API server validates
   * ObjectMeta (upstream passes it to ValidateObjectMeta per resource). Returns upstream's
   * messages; unset means NameIsDNSSubdomain. E.g. statefulsets use NameIsDNSLabel, RBAC
   * objects IsValidPathSegmentName ("system:controller:x" is a valid ClusterRole name).
   */
  validateName?(name: string, prefix: boolean): string[];
  /**
   * Set when this resource is another resource's storage seen through a different schema
   * (events.k8s.io/v1 events are core/v1 events in storage, as upstream): the API server
   * reads and writes `resource` of `group` and converts each object on the way.
   */
  sharedStorage?: {
    group: string;
    resource: string;
    /** This resource's object → the stored resource's object. */
    toStorage(obj: KObject): KObject;
    /** The stored resource's object → this resource's object. */
    fromStorage(obj: KObject): KObject;
  };
}
