/**
 * Field selectors, after k8s.io/apimachinery's pkg/fields.
 *
 * A field selector is a comma-joined list of `field=value`, `field==value` or
 * `field!=value` terms; in values, `\`, `,` and `=` are escaped with a backslash.
 * Matching is against a flat field set that the caller computes from the object
 * (e.g. `{"metadata.name": "x", "spec.nodeName": "n1", "status.phase": "Running"}`);
 * a field absent from the set reads as "".
 *
 * Which fields a resource supports is the API server's business: it passes a
 * {@link TransformFunc} (e.g. {@link defaultMetaV1FieldSelectorConversion}) to
 * {@link parseAndTransformSelector} and turns a thrown error into a 400 BadRequest.
 */
import { goQuote } from './errors.js';

/** A flat field set: field path → value. */
export type Fields = Readonly<Record<string, string>>;

/** selection.Operator values used by field selectors. */
export type FieldOperator = '=' | '==' | '!=';

/** One term of a field selector (fields.Requirement). */
export interface FieldRequirement {
  field: string;
  operator: FieldOperator;
  value: string;
}

/** Maps a field and value to their canonical form, or throws when the field is not supported. */
export type TransformFunc = (field: string, value: string) => [field: string, value: string];

/** An error from parsing a field selector; the message is upstream's text. */
export class FieldSelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldSelectorError';
  }
}

/** A field selector. */
export interface FieldSelector {
  /** Whether the field set satisfies every term (a missing field reads as ""). */
  matches(fields: Fields | undefined): boolean;
  /** True when there are no terms (matches everything). */
  empty(): boolean;
  /** The value this selector requires for `field`, if it has an `=` term for it. */
  requiresExactMatch(field: string): string | undefined;
  /** A new selector with every term passed through `fn`; terms mapped to ("", "") are dropped. */
  transform(fn: TransformFunc): FieldSelector;
  /** The terms, in order. */
  requirements(): FieldRequirement[];
  /** The canonical string, with values escaped. */
  toString(): string;
}

function get(fields: Fields | undefined, field: string): string {
  return fields !== undefined && Object.prototype.hasOwnProperty.call(fields, field) ? fields[field]! : '';
}

class HasTerm implements FieldSelector {
  constructor(readonly field: string, readonly value: string) {}
  matches(fields: Fields | undefined): boolean { return get(fields, this.field) === this.value; }
  empty(): boolean { return false; }
  requiresExactMatch(field: string): string | undefined { return field === this.field ? this.value : undefined; }
  transform(fn: TransformFunc): FieldSelector {
    const [f, v] = fn(this.field, this.value);
    return f === '' && v === '' ? everything() : new HasTerm(f, v);
  }
  requirements(): FieldRequirement[] { return [{ field: this.field, operator: '=', value: this.value }]; }
  toString(): string { return `${this.field}=${escapeValue(this.value)}`; }
}

class NotHasTerm implements FieldSelector {
  constructor(readonly field: string, readonly value: string) {}
  matches(fields: Fields | undefined): boolean { return get(fields, this.field) !== this.value; }
  empty(): boolean { return false; }
  requiresExactMatch(): string | undefined { return undefined; }
  transform(fn: TransformFunc): FieldSelector {
    const [f, v] = fn(this.field, this.value);
    return f === '' && v === '' ? everything() : new NotHasTerm(f, v);
  }
  requirements(): FieldRequirement[] { return [{ field: this.field, operator: '!=', value: this.value }]; }
  toString(): string { return `${this.field}!=${escapeValue(this.value)}`; }
}

class AndTerm implements FieldSelector {
  constructor(readonly terms: readonly FieldSelector[]) {}
  matches(fields: Fields | undefined): boolean { return this.terms.every((t) => t.matches(fields)); }
  empty(): boolean { return this.terms.every((t) => t.empty()); }
  requiresExactMatch(field: string): string | undefined {
    for (const t of this.terms) {
      const v = t.requiresExactMatch(field);
      if (v !== undefined) return v;
    }
    return undefined;
  }
  transform(fn: TransformFunc): FieldSelector {
    return new AndTerm(this.terms.map((t) => t.transform(fn)).filter((t) => !t.empty()));
  }
  requirements(): FieldRequirement[] { return this.terms.flatMap((t) => t.requirements()); }
  toString(): string { return this.terms.map((t) => t.toString()).join(','); }
}

class NothingSelector implements FieldSelector {
  matches(): boolean { return false; }
  empty(): boolean { return false; }
  requiresExactMatch(): string | undefined { return undefined; }
  transform(): FieldSelector { return this; }
  requirements(): FieldRequirement[] { return []; }
  toString(): string { return ''; }
}

/** fields.Everything(): matches all objects. */
export function everything(): FieldSelector {
  return new AndTerm([]);
}

/** fields.Nothing(): matches no object. */
export function nothing(): FieldSelector {
  return new NothingSelector();
}

/** fields.OneTermEqualSelector. */
export function oneTermEqualSelector(field: string, value: string): FieldSelector {
  return new HasTerm(field, value);
}

/** fields.OneTermNotEqualSelector. */
export function oneTermNotEqualSelector(field: string, value: string): FieldSelector {
  return new NotHasTerm(field, value);
}

/** fields.AndSelectors. */
export function andSelectors(...selectors: FieldSelector[]): FieldSelector {
  return new AndTerm(selectors);
}

/** fields.SelectorFromSet: `field=value` for each entry (undefined → everything). */
export function selectorFromSet(set: Fields | undefined): FieldSelector {
  if (set === undefined) return everything();
  const items = Object.entries(set).map(([f, v]) => new HasTerm(f, v));
  return items.length === 1 ? items[0]! : new AndTerm(items);
}

/** fields.Set.String(): "a=b,c=d" sorted, values unescaped (as upstream). */
export function fieldsSetString(set: Fields): string {
  return Object.entries(set).map(([k, v]) => `${k}=${v}`).sort().join(',');
}

/** fields.EscapeValue: backslash-escapes `\`, `,` and `=`. */
export function escapeValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/**
 * fields.UnescapeValue. Throws `invalid field selector: invalid escape sequence: \x` for
 * a backslash before anything else, and `invalid field selector: unescaped character in
 * value: 61` (the code point, as upstream prints the rune) for a bare `,` or `=`.
 */
export function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') throw new FieldSelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    else if (c === ',' || c === '=') throw new FieldSelectorError(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    else out += c;
  }
  if (inSlash) throw new FieldSelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Splits on commas that are not escaped. */
function splitTerms(selector: string): string[] {
  if (selector === '') return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

/** The first operator occurrence, trying `!=`, `==`, `=` at each position. */
function splitTerm(term: string): [string, FieldOperator, string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '='] as const) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

function parse(selector: string, fn: TransformFunc): FieldSelector {
  // Upstream sorts the raw terms (byte order) before parsing, so String() is canonical.
  const parts = splitTerms(selector).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const items: FieldSelector[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const split = splitTerm(part);
    if (!split) throw new FieldSelectorError(`invalid selector: '${selector}'; can't understand '${part}'`);
    const [lhs, op, rhs] = split;
    const value = unescapeValue(rhs);
    items.push(op === '!=' ? new NotHasTerm(lhs, value) : new HasTerm(lhs, value));
  }
  return items.length === 1 ? items[0]!.transform(fn) : new AndTerm(items).transform(fn);
}

/** fields.ParseSelector: throws {@link FieldSelectorError} with upstream's text. */
export function parseFieldSelector(selector: string): FieldSelector {
  return parse(selector, (f, v) => [f, v]);
}

/**
 * fields.ParseAndTransformSelector: parses, then maps every term through `fn` (which
 * throws for unsupported fields; the API server turns that into a 400).
 */
export function parseAndTransformSelector(selector: string, fn: TransformFunc): FieldSelector {
  return parse(selector, fn);
}

/** `field label not supported: <label>`, what resource-specific conversions throw. */
export function fieldLabelNotSupported(label: string): Error {
  return new FieldSelectorError(`field label not supported: ${label}`);
}

/**
 * runtime.DefaultMetaV1FieldSelectorConversion: the fields every resource supports;
 * anything else throws `"foo" is not a known field selector: only "metadata.name", "metadata.namespace"`.
 */
export const defaultMetaV1FieldSelectorConversion: TransformFunc = (label, value) => {
  if (label === 'metadata.name' || label === 'metadata.namespace') return [label, value];
  throw new FieldSelectorError(`${goQuote(label)} is not a known field selector: only "metadata.name", "metadata.namespace"`);
};

/**
 * A TransformFunc accepting `metadata.name`, `metadata.namespace` (unless cluster scoped)
 * and the given extra fields, throwing {@link fieldLabelNotSupported} otherwise; `aliases`
 * renames legacy fields (e.g. Pod's `spec.host` → `spec.nodeName`).
 */
export function supportedFieldsConversion(opts: {
  fields: readonly string[];
  clusterScoped?: boolean;
  aliases?: Readonly<Record<string, string>>;
}): TransformFunc {
  const allowed = new Set(['metadata.name', ...(opts.clusterScoped ? [] : ['metadata.namespace']), ...opts.fields]);
  return (label, value) => {
    if (allowed.has(label)) return [label, value];
    const alias = opts.aliases?.[label];
    if (alias !== undefined) return [alias, value];
    throw fieldLabelNotSupported(label);
  };
}

/** The metadata fields every object offers to field selectors. */
export function objectMetaFieldsSet(meta: { name?: string; namespace?: string } | undefined, namespaceScoped: boolean): Record<string, string> {
  const out: Record<string, string> = { 'metadata.name': meta?.name ?? '' };
  if (namespaceScoped) out['metadata.namespace'] = meta?.namespace ?? '';
  return out;
}
