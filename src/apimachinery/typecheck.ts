/**
 * Decoding a JSON body into a built-in kind's Go types, as far as types go: upstream
 * decodes every create/update body with sigs.k8s.io/json (Go's encoding/json), which
 * refuses a value of the wrong JSON type for its field — `replicas: "3"`, `containers:`
 * given an object, a label value that is a number — and a Quantity that does not parse.
 * Flotilla keeps objects as JSON, so without this check such values were stored as sent
 * and broke every reader of the object. {@link typeMismatch} walks a body against the
 * kind's OpenAPI schema and returns the first error in document order with encoding/json's
 * message:
 *
 *     json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32
 *
 * `<Struct>.<field path>` is the innermost struct's Go name and the JSON names from the
 * root (no list indexes or map keys), as encoding/json reports them. The Go type is derived
 * from the schema: `int32`, `[]v1.Container`, `map[string]string`, `v1.PodSpec`. Go's named
 * scalar and map types (`v1.Protocol`, `v1.ResourceList`) are not in the OpenAPI document,
 * so those print as their underlying type — the one departure from upstream's text.
 *
 * Null is always accepted (Go leaves the zero value). Fields the schema does not declare
 * are not this check's business (see fieldValidation); untyped nodes accept anything.
 */
import { quantityFromJSON } from './quantity.js';
import type { SchemaNode } from './schema.js';

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const TIMES = new Set(['io.k8s.apimachinery.pkg.apis.meta.v1.Time', 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime']);
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** The JSON kind of a value as encoding/json names it in a type error. */
function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    default:
      return 'object';
  }
}

/** A definition's Go type name: its package (the name's second-to-last segment) and type. */
function definitionGoName(def: string): string {
  const parts = def.split('.');
  return `${parts[parts.length - 2]}.${parts[parts.length - 1]}`;
}

/** The Go type a node decodes into, as reflect prints it. */
export function goTypeOf(node: SchemaNode): string {
  if (node.intOrString) return 'intstr.IntOrString';
  if (node.definition && (node.kind === 'struct' || node.definition === QUANTITY || TIMES.has(node.definition))) {
    return definitionGoName(node.definition);
  }
  switch (node.kind) {
    case 'list':
      return `[]${goTypeOf(node.items())}`;
    case 'map':
      return `map[string]${goTypeOf(node.field('') ?? node)}`;
    case 'scalar':
      switch (node.scalarType) {
        case 'integer':
          return node.format === 'int32' ? 'int32' : node.format === 'int64' ? 'int64' : 'int';
        case 'number':
          return node.format === 'float' ? 'float32' : 'float64';
        case 'boolean':
          return 'bool';
        default:
          return node.format === 'byte' ? '[]uint8' : 'string';
      }
    default:
      return 'interface {}';
  }
}

interface Where {
  /** The innermost struct's Go name ('' at the root, before any struct). */
  struct: string;
  fields: readonly string[];
}

function unmarshalError(value: string, where: Where, type: string): string {
  if (where.fields.length === 0) return `json: cannot unmarshal ${value} into Go value of type ${type}`;
  return `json: cannot unmarshal ${value} into Go struct field ${where.struct}.${where.fields.join('.')} of type ${type}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An integer value fits the Go integer type; otherwise the "number <literal>" error. */
function integerError(v: number, where: Where, type: string): string | undefined {
  const fits = Number.isInteger(v) && (type !== 'int32' || (v >= INT32_MIN && v <= INT32_MAX));
  return fits ? undefined : unmarshalError(`number ${String(v)}`, where, type);
}

function check(v: unknown, node: SchemaNode, where: Where): string | undefined {
  if (v === null || v === undefined) return undefined;
  // Quantity is published without a type (it takes strings and numbers): before 'untyped'.
  if (node.definition === QUANTITY) {
    // resource.Quantity's UnmarshalJSON: a string or a bare number, parsed; its own messages.
    try {
      quantityFromJSON(typeof v === 'string' || typeof v === 'number' ? v : JSON.stringify(v));
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }
  if (node.definition && TIMES.has(node.definition)) {
    // metav1.Time's UnmarshalJSON decodes a string (its RFC 3339 parse is left to validation).
    return typeof v === 'string' ? undefined : unmarshalError(jsonKind(v), where, 'string');
  }
  if (node.kind === 'untyped') return undefined;
  if (node.intOrString) {
    // IntOrString's UnmarshalJSON: a string, or else an int32.
    if (typeof v === 'string') return undefined;
    if (typeof v === 'number') return integerError(v, where, 'int32');
    return unmarshalError(jsonKind(v), where, 'int32');
  }
  switch (node.kind) {
    case 'struct': {
      if (!isObject(v)) return unmarshalError(jsonKind(v), where, goTypeOf(node));
      const struct = node.definition ? node.definition.slice(node.definition.lastIndexOf('.') + 1) : where.struct;
      for (const [k, val] of Object.entries(v)) {
        const child = node.field(k);
        if (!child) continue;
        const e = check(val, child, { struct, fields: [...where.fields, k] });
        if (e) return e;
      }
      return undefined;
    }
    case 'map': {
      if (!isObject(v)) return unmarshalError(jsonKind(v), where, goTypeOf(node));
      for (const [k, val] of Object.entries(v)) {
        const e = check(val, node.field(k)!, where);
        if (e) return e;
      }
      return undefined;
    }
    case 'list': {
      if (!Array.isArray(v)) return unmarshalError(jsonKind(v), where, goTypeOf(node));
      const items = node.items();
      for (const item of v) {
        const e = check(item, items, where);
        if (e) return e;
      }
      return undefined;
    }
    case 'scalar': {
      const type = goTypeOf(node);
      switch (node.scalarType) {
        case 'integer':
          return typeof v === 'number' ? integerError(v, where, type) : unmarshalError(jsonKind(v), where, type);
        case 'number':
          return typeof v === 'number' ? undefined : unmarshalError(jsonKind(v), where, type);
        case 'boolean':
          return typeof v === 'boolean' ? undefined : unmarshalError(jsonKind(v), where, type);
        case 'string':
          return typeof v === 'string' ? undefined : unmarshalError(jsonKind(v), where, type);
        default:
          return undefined;
      }
    }
    default:
      return undefined;
  }
}

/**
 * The first value in `body` whose JSON type the kind's Go type would not decode, as
 * encoding/json words it; undefined if every value fits. Only meaningful for built-in
 * kinds (a root node with a definition); other schemas answer undefined.
 */
export function typeMismatch(body: unknown, root: SchemaNode): string | undefined {
  if (!root.definition) return undefined;
  return check(body, root, { struct: '', fields: [] });
}
