/**
 * The schema model consumed by strategic merge patch (strategicpatch.ts) and server-side
 * apply (managedfields.ts): OpenAPI v3 schema objects exactly as the Kubernetes API server
 * publishes them under `components.schemas`, plus a {@link SchemaResolver} that walks them.
 *
 * Upstream has two readers of the same extensions, and this module reproduces both views
 * on one node type so callers never re-derive them:
 *  - strategic merge patch reads `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key`
 *    from the *property* that leads to a value (k8s.io/apimachinery strategicpatch,
 *    PatchMetaFromOpenAPIV3);
 *  - structured-merge-diff reads list/map relationships (kube-openapi schemaconv): an
 *    explicit `x-kubernetes-list-type` wins; otherwise a list with patch strategy `merge`
 *    is associative (keyed by its merge key, or a set of scalars without one); every other
 *    list is atomic. `x-kubernetes-map-type: atomic` makes a map or struct a single leaf.
 *
 * Example: the property `spec.template.spec.containers` of a Deployment is published as
 *
 *     { type: 'array', items: { allOf: [{ $ref: '#/components/schemas/io.k8s.api.core.v1.Container' }] },
 *       'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'name',
 *       'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }
 *
 * and resolves to a node with kind `list`, patchStrategies `['merge']`, patchMergeKey `name`,
 * listType `map`, listMapKeys `['name']`, whose `items()` is the Container struct node.
 */

/** Any JSON value, as decoded by JSON.parse. */
export type JSONValue = null | boolean | number | string | JSONValue[] | JSONObject;

/** A JSON object. */
export interface JSONObject {
  [key: string]: JSONValue;
}

/** An API group/version/kind, as in `x-kubernetes-group-version-kind`. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** One OpenAPI v3 schema object with the Kubernetes extensions these algorithms read. */
export interface OpenAPISchema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  description?: string;
  properties?: Record<string, OpenAPISchema>;
  required?: string[];
  items?: OpenAPISchema;
  additionalProperties?: OpenAPISchema | boolean;
  allOf?: OpenAPISchema[];
  anyOf?: OpenAPISchema[];
  oneOf?: OpenAPISchema[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-group-version-kind'?: GroupVersionKind[];
  'x-kubernetes-unions'?: unknown[];
}

/** The definitions map, keyed by definition name (`io.k8s.api.apps.v1.Deployment`). */
export type SchemaDefinitions = Record<string, OpenAPISchema>;

/**
 * What a value at a node is:
 * - `struct`: an object with declared properties (named fields);
 * - `map`: an object whose keys are data (`additionalProperties`), e.g. labels;
 * - `list`: an array;
 * - `scalar`: string, number, integer, boolean, or int-or-string;
 * - `untyped`: anything (no schema, `x-kubernetes-preserve-unknown-fields` without
 *   properties, RawExtension). Merged the way structured-merge-diff's "deduced" type is:
 *   objects granular, lists atomic, scalars leaves.
 */
export type SchemaKind = 'struct' | 'map' | 'list' | 'scalar' | 'untyped';

/** Effective list relationship as structured-merge-diff sees it. */
export type ListType = 'atomic' | 'set' | 'map';

/** Effective map relationship: `atomic` maps/structs are one leaf owned as a whole. */
export type MapType = 'atomic' | 'granular';

const REF_PREFIXES = ['#/components/schemas/', '#/definitions/'];

/** Raised when a `$ref` names a definition that is not in the definitions map. */
export class SchemaResolutionError extends Error {
  constructor(readonly ref: string) {
    super(`unable to resolve ${ref} in OpenAPI V3`);
    this.name = 'SchemaResolutionError';
  }
}

/**
 * A position in a schema: the schema of one value, reached through one property or list
 * item. Extensions set on the property (patch strategy, list type) are merged with those
 * of the definition it references, the property's taking precedence, so a node answers
 * every question about the value in one place. Nodes are immutable and children are
 * cached, so walking the same path twice costs one map lookup per step.
 */
export class SchemaNode {
  /** Definition name or dotted path, for error messages. */
  readonly name: string;
  readonly kind: SchemaKind;
  /** `x-kubernetes-patch-strategy` split on ',' (e.g. `['merge', 'retainKeys']`); empty if none. */
  readonly patchStrategies: readonly string[];
  /** `x-kubernetes-patch-merge-key`, if declared. */
  readonly patchMergeKey: string | undefined;
  /** For lists: the effective relationship (see module comment); `atomic` otherwise. */
  readonly listType: ListType;
  /** For `map` lists: the key fields identifying an item. */
  readonly listMapKeys: readonly string[];
  /** For structs and maps: `atomic` if the whole object is one leaf. */
  readonly mapType: MapType;
  /** True for IntOrString values. */
  readonly intOrString: boolean;
  /** True if unknown fields of a struct are kept (and typed as `untyped`). */
  readonly preserveUnknownFields: boolean;
  /** The GVKs declared on the definition, if this node is a top-level kind. */
  readonly groupVersionKinds: readonly GroupVersionKind[];
  /**
   * The `default` declared on the property (or its definition). Server-side apply uses it
   * for list-map key fields an item omits, e.g. `protocol: TCP` of a container port.
   */
  readonly default: JSONValue | undefined;
  /** The OpenAPI `type` of a scalar (`string`, `integer`, `number`, `boolean`); undefined otherwise. */
  readonly scalarType: string | undefined;
  /** The OpenAPI `format` (e.g. `int32`, `int64`, `byte`, `date-time`), if declared. */
  readonly format: string | undefined;
  /** The definition this node's value is an instance of (e.g. `io.k8s.api.core.v1.Container`), if reached through a `$ref`. */
  readonly definition: string | undefined;

  readonly #resolver: SchemaResolver | undefined;
  readonly #schema: OpenAPISchema;
  readonly #children = new Map<string, SchemaNode | null>();
  #items: SchemaNode | undefined;
  #elementNode: SchemaNode | undefined;

  /** @internal Use {@link SchemaResolver.root} or {@link SchemaNode.untyped}. */
  constructor(resolver: SchemaResolver | undefined, name: string, edge: OpenAPISchema, resolved: OpenAPISchema) {
    this.#resolver = resolver;
    this.#schema = resolved;
    this.name = name;
    const ext = <K extends keyof OpenAPISchema>(k: K): OpenAPISchema[K] => (edge[k] !== undefined ? edge[k] : resolved[k]);

    const strategy = ext('x-kubernetes-patch-strategy');
    this.patchStrategies = strategy ? strategy.split(',').map((s) => s.trim()).filter((s) => s !== '') : [];
    this.patchMergeKey = ext('x-kubernetes-patch-merge-key') || undefined;
    this.intOrString = ext('x-kubernetes-int-or-string') === true || resolved.format === 'int-or-string';
    this.preserveUnknownFields = ext('x-kubernetes-preserve-unknown-fields') === true;
    this.groupVersionKinds = resolved['x-kubernetes-group-version-kind'] ?? [];
    this.default = ext('default') as JSONValue | undefined;
    this.mapType = ext('x-kubernetes-map-type') === 'atomic' ? 'atomic' : 'granular';
    this.kind = kindOf(resolved, this.intOrString, this.preserveUnknownFields);
    const type = Array.isArray(resolved.type) ? resolved.type.find((t) => t !== 'null') : resolved.type;
    this.scalarType = this.kind === 'scalar' && !this.intOrString ? type : undefined;
    this.format = resolved.format;
    this.definition = resolver?.definitionOf(resolved);

    let listType: ListType = 'atomic';
    let keys: string[] = [];
    if (this.kind === 'list') {
      const explicit = ext('x-kubernetes-list-type');
      if (explicit === 'set' || explicit === 'map' || explicit === 'atomic') {
        listType = explicit;
        if (explicit === 'map') keys = [...(ext('x-kubernetes-list-map-keys') ?? [])];
      } else if (this.patchStrategies.includes('merge')) {
        listType = this.patchMergeKey ? 'map' : 'set';
        if (this.patchMergeKey) keys = [this.patchMergeKey];
      }
    }
    this.listType = listType;
    this.listMapKeys = keys;
  }

  /** A node for values without a schema: everything below is untyped too. */
  static untyped(name = 'untyped'): SchemaNode {
    return new SchemaNode(undefined, name, {}, {});
  }

  /** True if `name` is a declared property of this struct (a "named field"). */
  hasField(name: string): boolean {
    return this.kind === 'struct' && this.#schema.properties !== undefined && Object.hasOwn(this.#schema.properties, name);
  }

  /** The declared properties of a struct, in schema order; empty for other kinds. */
  fieldNames(): string[] {
    return this.kind === 'struct' && this.#schema.properties ? Object.keys(this.#schema.properties) : [];
  }

  /** True if `name` is listed in the struct's `required`. */
  isRequired(name: string): boolean {
    return this.kind === 'struct' && (this.#schema.required ?? []).includes(name);
  }

  /**
   * The node of the value under key `name`: a declared property of a struct, the element
   * of a map, or an untyped node inside untyped values and preserve-unknown-fields structs.
   * Undefined when the schema does not know the field (a struct without it, or a scalar).
   */
  field(name: string): SchemaNode | undefined {
    if (this.kind === 'struct') {
      const cached = this.#children.get(name);
      if (cached !== undefined) return cached ?? undefined;
      const props = this.#schema.properties;
      const prop = props && Object.hasOwn(props, name) ? props[name] : undefined;
      if (prop && this.#resolver) {
        const child = this.#resolver.node(`${this.name}.${name}`, prop);
        this.#children.set(name, child);
        return child;
      }
      // Unknown keys are data, not schema: one shared node, so the cache cannot grow with them.
      return this.preserveUnknownFields ? this.#element() : undefined;
    }
    if (this.kind === 'map' || this.kind === 'untyped') return this.#element();
    return undefined;
  }

  /** The single node shared by every key of a map (or every unknown key). */
  #element(): SchemaNode {
    if (!this.#elementNode) {
      const ap = this.#schema.additionalProperties;
      this.#elementNode =
        this.kind === 'map' && typeof ap === 'object' && this.#resolver
          ? this.#resolver.node(`${this.name}.*`, ap)
          : SchemaNode.untyped(`${this.name}.*`);
    }
    return this.#elementNode;
  }

  /** The node of this list's items; untyped if the list declares none. */
  items(): SchemaNode {
    if (this.#items) return this.#items;
    const items = this.#schema.items;
    this.#items = items && this.#resolver ? this.#resolver.node(`${this.name}[]`, items) : SchemaNode.untyped(`${this.name}[]`);
    return this.#items;
  }
}

function kindOf(s: OpenAPISchema, intOrString: boolean, preserveUnknown: boolean): SchemaKind {
  if (intOrString) return 'scalar';
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'array':
      return 'list';
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean':
      return 'scalar';
  }
  if (s.properties && Object.keys(s.properties).length > 0) return 'struct';
  if (typeof s.additionalProperties === 'object') return 'map';
  if (s.additionalProperties === true) return 'untyped';
  if (type === 'object' && !preserveUnknown) {
    // An object with neither properties nor additionalProperties (e.g. FieldsV1,
    // RawExtension) carries arbitrary JSON.
    return 'untyped';
  }
  if (s.items) return 'list';
  return 'untyped';
}

/** Options for {@link SchemaResolver}. */
export interface SchemaResolverOptions {
  /** Definitions keyed by name, as in OpenAPI v3 `components.schemas` (or v2 `definitions`). */
  definitions: SchemaDefinitions;
}

/**
 * Resolves `$ref`s and `allOf` wrappers over a definitions map and hands out cached root
 * nodes. One resolver per published OpenAPI document; it is safe to share.
 */
export class SchemaResolver {
  readonly #definitions: SchemaDefinitions;
  readonly #roots = new Map<string, SchemaNode>();
  readonly #byGVK = new Map<string, string>();
  readonly #names = new Map<OpenAPISchema, string>();

  constructor(options: SchemaResolverOptions) {
    this.#definitions = options.definitions;
    for (const [name, def] of Object.entries(this.#definitions)) {
      this.#names.set(def, name);
      for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
        this.#byGVK.set(gvkKey(gvk), name);
      }
    }
  }

  /** True if the definitions contain `name`. */
  has(name: string): boolean {
    return Object.hasOwn(this.#definitions, name);
  }

  /**
   * The node of definition `name` (e.g. `io.k8s.api.apps.v1.Deployment`).
   * @throws SchemaResolutionError if there is no such definition.
   */
  root(name: string): SchemaNode {
    let node = this.#roots.get(name);
    if (!node) {
      if (!this.has(name)) throw new SchemaResolutionError(`#/components/schemas/${name}`);
      const def = this.#definitions[name];
      node = new SchemaNode(this, name, {}, this.resolve(def));
      this.#roots.set(name, node);
    }
    return node;
  }

  /** The root node of the definition declaring `gvk` in `x-kubernetes-group-version-kind`, if any. */
  forGVK(gvk: GroupVersionKind): SchemaNode | undefined {
    const name = this.#byGVK.get(gvkKey(gvk));
    return name === undefined ? undefined : this.root(name);
  }

  /** The name of the definition whose schema object `resolved` is (as returned by {@link resolve}), if any. */
  definitionOf(resolved: OpenAPISchema): string | undefined {
    return this.#names.get(resolved);
  }

  /** @internal Builds the node reached through `edge` (a property or items schema). */
  node(name: string, edge: OpenAPISchema): SchemaNode {
    return new SchemaNode(this, name, edge, this.resolve(edge));
  }

  /**
   * Follows `allOf[0]` wrappers and `$ref`s until reaching a schema that is neither; the
   * way Kubernetes' own OpenAPI v3 reader does. A cycle of refs throws.
   */
  resolve(schema: OpenAPISchema): OpenAPISchema {
    let s = schema;
    for (let hops = 0; hops < 64; hops++) {
      if (s.allOf && s.allOf.length > 0 && !s.properties) {
        s = s.allOf[0];
        continue;
      }
      if (s.$ref) {
        s = this.#lookupRef(s.$ref);
        continue;
      }
      return s;
    }
    throw new SchemaResolutionError(schema.$ref ?? '(allOf)');
  }

  #lookupRef(ref: string): OpenAPISchema {
    for (const prefix of REF_PREFIXES) {
      if (ref.startsWith(prefix)) {
        const name = ref.slice(prefix.length);
        if (Object.hasOwn(this.#definitions, name)) return this.#definitions[name];
        break;
      }
    }
    throw new SchemaResolutionError(ref);
  }
}

function gvkKey(gvk: GroupVersionKind): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}`;
}

/** True for a JSON object (not an array, not null). */
export function isJSONObject(v: unknown): v is JSONObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural deep equality of JSON values; object key order is irrelevant. */
export function jsonEqual(a: JSONValue | undefined, b: JSONValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (isJSONObject(a)) {
    if (!isJSONObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!Object.hasOwn(b, k) || !jsonEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/** A deep copy of a JSON value. */
export function deepCopyJSON<T extends JSONValue>(v: T): T {
  return structuredClone(v);
}
