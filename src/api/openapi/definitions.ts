/**
 * The OpenAPI definitions of the types Flotilla serves, as upstream publishes them: the
 * structure and descriptions generated at build time from the kubernetes-models package
 * (scripts/gen-openapi.mjs → generated/definitions.json), plus our own table of the
 * x-kubernetes-* extensions (extensions.ts), rendered in two dialects:
 *
 *  - v2 (`/openapi/v2`, swagger 2.0): refs are `#/definitions/<name>` and carry their
 *    description as a sibling: `{ $ref, description }`;
 *  - v3 (`/openapi/v3/...`, OpenAPI 3.0): refs are `#/components/schemas/<name>`, and a ref
 *    with any sibling is wrapped: `{ allOf: [{ $ref }], description, default: {} }`.
 *
 * Only the definitions reachable from the served kinds (and the meta types every API
 * server publishes) are rendered, like upstream, whose documents describe exactly the
 * types its scheme serves.
 */
import { readFileSync } from 'node:fs';
import type { GroupVersionKind, OpenAPISchema } from '../../apimachinery/schema.js';
import type { ResourceDef } from '../types.js';
import { definitionExtensions, fieldDefaults, fieldExtensions, type SchemaExtensions } from './extensions.js';

/** A schema in the generator's neutral form: refs are bare definition names. */
export interface RawSchema {
  description?: string;
  type?: string;
  format?: string;
  enum?: string[];
  properties?: Record<string, RawSchema>;
  required?: string[];
  items?: RawSchema;
  additionalProperties?: RawSchema;
  $ref?: string;
}

/** The content of generated/definitions.json. */
export interface GeneratedDefinitions {
  /** Hash of the generator and its inputs' versions (regeneration is skipped when equal). */
  stamp: string;
  /** npm package versions the descriptions were taken from. */
  source: Record<string, string>;
  /** GVK of every definition that is a kind (from its apiVersion/kind literals). */
  gvks: Record<string, GroupVersionKind>;
  definitions: Record<string, RawSchema>;
}

const GENERATED_URL = new URL('./generated/definitions.json', import.meta.url);

/**
 * Fields kubernetes-models 4.5 (generated from Kubernetes 1.33) has that a v1.32 API server
 * does not publish; removed on load so `kubectl explain` lists what a 1.32 cluster lists.
 * (No kubernetes-models release matches 1.32: 4.4 is ~1.28 and lacks many 1.32 fields.)
 */
export const fieldsNewerThanServed: readonly string[] = [
  'io.k8s.api.apps.v1.DeploymentStatus.terminatingReplicas',
  'io.k8s.api.apps.v1.ReplicaSetStatus.terminatingReplicas',
  'io.k8s.api.discovery.v1.EndpointHints.forNodes',
  'io.k8s.api.core.v1.ContainerStatus.stopSignal',
  'io.k8s.api.core.v1.Lifecycle.stopSignal',
  'io.k8s.api.core.v1.NodeSystemInfo.swap',
  'io.k8s.api.core.v1.PodCondition.observedGeneration',
  'io.k8s.api.core.v1.PodStatus.observedGeneration',
];

let generatedCache: GeneratedDefinitions | undefined;

/**
 * The generated definitions, read on first use (about 1 MB of JSON; processes that never
 * serve OpenAPI never pay for it).
 * @throws Error if the file was not generated (`node scripts/gen-openapi.mjs`, run by
 *   `npm run build` and `npm run test:dev`).
 */
export function generatedDefinitions(): GeneratedDefinitions {
  if (!generatedCache) {
    let text: string;
    try {
      text = readFileSync(GENERATED_URL, 'utf8');
    } catch (err) {
      throw new Error(
        `OpenAPI definitions not generated (${GENERATED_URL.pathname}): run \`node scripts/gen-openapi.mjs\` (npm run build does)`,
        { cause: err },
      );
    }
    const generated = JSON.parse(text) as GeneratedDefinitions;
    for (const key of fieldsNewerThanServed) {
      const dot = key.lastIndexOf('.');
      const def = generated.definitions[key.slice(0, dot)];
      const field = key.slice(dot + 1);
      if (def?.properties) delete def.properties[field];
      if (def?.required) def.required = def.required.filter((r) => r !== field);
    }
    generatedCache = generated;
  }
  return generatedCache;
}

export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** Definitions every API server publishes, whatever it serves. */
export const metaDefinitions: readonly string[] = [
  `${META}.APIGroup`,
  `${META}.APIGroupList`,
  `${META}.APIResource`,
  `${META}.APIResourceList`,
  `${META}.APIVersions`,
  `${META}.DeleteOptions`,
  `${META}.ListMeta`,
  `${META}.ObjectMeta`,
  `${META}.Patch`,
  `${META}.Status`,
  `${META}.WatchEvent`,
  'io.k8s.apimachinery.pkg.version.Info',
];

/** The definition describing a subresource's body, where it is not the kind itself. */
export const subresourceDefinitions: Readonly<Record<string, string>> = {
  scale: 'io.k8s.api.autoscaling.v1.Scale',
  binding: 'io.k8s.api.core.v1.Binding',
  eviction: 'io.k8s.api.policy.v1.Eviction',
};

/** The definition name of a resource's list kind (`…apps.v1.ReplicaSetList`). */
export function listDefinition(r: ResourceDef): string {
  return r.openAPIDefinition.slice(0, r.openAPIDefinition.lastIndexOf('.') + 1) + r.listKind;
}

/** The definitions a resource's operations name directly: kind, list, subresource bodies. */
export function resourceRoots(r: ResourceDef): string[] {
  const roots = [r.openAPIDefinition, listDefinition(r)];
  if (r.scale) roots.push(subresourceDefinitions.scale);
  for (const s of r.subresources ?? []) if (subresourceDefinitions[s]) roots.push(subresourceDefinitions[s]);
  return roots;
}

/** Every definition reachable from `roots` through $refs, sorted by name. */
export function reachable(roots: Iterable<string>): string[] {
  const defs = generatedDefinitions().definitions;
  const seen = new Set<string>();
  const stack = [...roots];
  const visit = (s: RawSchema | undefined): void => {
    if (!s) return;
    if (s.$ref !== undefined && !seen.has(s.$ref)) stack.push(s.$ref);
    visit(s.items);
    visit(s.additionalProperties);
    for (const p of Object.values(s.properties ?? {})) visit(p);
  };
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    const def = defs[name];
    if (!def) throw new Error(`OpenAPI definition ${name} is not known (not in kubernetes-models)`);
    seen.add(name);
    visit(def);
  }
  return [...seen].sort();
}

/** The group/versions served by `resources`, "" for the core group. */
export function servedGroupVersions(resources: readonly ResourceDef[]): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of resources) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
  return [...seen.values()];
}

/**
 * The GVKs published on a definition. Kinds carry their own; DeleteOptions and WatchEvent
 * are registered in every served group/version (plus the core v1 one), like upstream.
 */
function groupVersionKinds(name: string, resources: readonly ResourceDef[]): GroupVersionKind[] | undefined {
  const kind = name.slice(name.lastIndexOf('.') + 1);
  if (name === `${META}.DeleteOptions` || name === `${META}.WatchEvent`) {
    const gvs = servedGroupVersions(resources);
    if (!gvs.some((gv) => gv.group === '' && gv.version === 'v1')) gvs.unshift({ group: '', version: 'v1' });
    return gvs
      .sort((a, b) => (a.group === b.group ? cmp(a.version, b.version) : cmp(a.group, b.group)))
      .map((gv) => ({ ...gv, kind }));
  }
  if (name === `${META}.Status`) return [{ group: '', version: 'v1', kind: 'Status' }];
  const gvk = generatedDefinitions().gvks[name];
  return gvk ? [gvk] : undefined;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export type Dialect = 'v2' | 'v3';

/**
 * Types that publish `oneOf` instead of `type` in v3 (their Go OpenAPIV3OneOfTypes). kubectl
 * explain names a ref by its definition when the target has no `type`, which is why a 1.32
 * cluster shows `maxSurge <IntOrString>` and `limits <map[string]Quantity>`.
 */
const v3OneOfTypes: Readonly<Record<string, string[]>> = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': ['integer', 'string'],
  'io.k8s.apimachinery.pkg.api.resource.Quantity': ['string', 'number'],
};

/**
 * Renders the definitions reachable from the served resources in one dialect. The
 * result is freshly built; callers cache it.
 */
export function renderDefinitions(
  names: readonly string[],
  resources: readonly ResourceDef[],
  dialect: Dialect,
): Record<string, OpenAPISchema> {
  const defs = generatedDefinitions().definitions;
  const out: Record<string, OpenAPISchema> = {};
  for (const name of names) {
    const raw = defs[name];
    const isKind = generatedDefinitions().gvks[name] !== undefined;
    const schema = renderSchema(raw, dialect, (field, prop) => {
      const ext: SchemaExtensions & { default?: unknown } = { ...fieldExtensions[`${name}.${field}`] };
      const dflt = fieldDefaults[`${name}.${field}`];
      if (dflt !== undefined) ext.default = dflt;
      // Upstream publishes `default: {}` on the non-pointer structs of a kind
      // (metadata, spec, status); v3 only, as upstream.
      else if (isKind && prop.$ref !== undefined && (field === 'metadata' || field === 'spec' || field === 'status')) {
        ext.default = {};
      }
      return ext;
    });
    Object.assign(schema, definitionExtensions[name]);
    const oneOf = v3OneOfTypes[name];
    if (dialect === 'v3' && oneOf) {
      delete schema.type;
      schema.oneOf = oneOf.map((type) => ({ type }));
    }
    const gvks = groupVersionKinds(name, resources);
    if (gvks) schema['x-kubernetes-group-version-kind'] = gvks;
    out[name] = schema;
  }
  return out;
}

type FieldHook = (field: string, prop: RawSchema) => SchemaExtensions & { default?: unknown };

function refTo(name: string, dialect: Dialect): string {
  return dialect === 'v2' ? `#/definitions/${name}` : `#/components/schemas/${name}`;
}

/**
 * One schema in a dialect. `extra` holds what the position adds to the value's own
 * schema (extensions and default of a property, `default: {}` of a list's struct items).
 */
function renderSchema(
  raw: RawSchema,
  dialect: Dialect,
  fieldHook?: FieldHook,
  extra: SchemaExtensions & { default?: unknown } = {},
): OpenAPISchema {
  const { default: dflt, ...ext } = extra;
  if (raw.$ref !== undefined) {
    const ref = refTo(raw.$ref, dialect);
    const withDefault = dialect === 'v3' && dflt !== undefined;
    if (dialect === 'v3' && (raw.description !== undefined || withDefault || Object.keys(ext).length > 0)) {
      const s: OpenAPISchema = { allOf: [{ $ref: ref }] };
      if (withDefault) s.default = dflt;
      if (raw.description !== undefined) s.description = raw.description;
      return Object.assign(s, ext);
    }
    const s: OpenAPISchema = { $ref: ref };
    if (raw.description !== undefined) s.description = raw.description;
    return Object.assign(s, ext);
  }
  const s: OpenAPISchema = {};
  if (dialect === 'v3' && dflt !== undefined) s.default = dflt;
  if (raw.description !== undefined) s.description = raw.description;
  if (raw.enum !== undefined) s.enum = [...raw.enum];
  if (raw.format !== undefined) s.format = raw.format;
  if (raw.items !== undefined) {
    // Lists of structs are lists of values in Go: their items default to {} (v3).
    const itemExtra = raw.items.$ref !== undefined && isStruct(raw.items.$ref) ? { default: {} } : {};
    s.items = renderSchema(raw.items, dialect, undefined, itemExtra);
  }
  if (raw.additionalProperties !== undefined) s.additionalProperties = renderSchema(raw.additionalProperties, dialect);
  if (raw.properties !== undefined) {
    s.properties = {};
    for (const [field, prop] of Object.entries(raw.properties)) {
      s.properties[field] = renderSchema(prop, dialect, undefined, fieldHook ? fieldHook(field, prop) : {});
    }
  }
  if (raw.required !== undefined) s.required = [...raw.required];
  if (raw.type !== undefined) s.type = raw.type;
  return Object.assign(s, ext);
}

function isStruct(name: string): boolean {
  const def = generatedDefinitions().definitions[name];
  return def !== undefined && def.type === 'object' && def.properties !== undefined;
}
