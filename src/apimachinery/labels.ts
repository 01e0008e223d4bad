/**
 * Label selectors, after k8s.io/apimachinery's pkg/labels (string grammar, matching,
 * canonical form) and pkg/apis/meta/v1 helpers (metav1.LabelSelector conversion and
 * validation).
 *
 * Grammar (as upstream):
 *
 *   selector    := <requirement> | <requirement> "," <selector>
 *   requirement := ["!"] KEY [ set_based | exact_match | ("<" | ">") INTEGER ]
 *   set_based   := ("in" | "notin") "(" VALUE ["," VALUE]* ")"
 *   exact_match := ("=" | "==" | "!=") VALUE
 *
 * A bare `KEY` means Exists, `!KEY` DoesNotExist. Parsed selectors are sorted by key, so
 * `String()` is canonical: `parse("b=2, a in (y,x)").toString()` is "a in (x,y),b=2".
 *
 * Empty versus null: {@link everything} (and the empty string, and an empty
 * metav1.LabelSelector) matches every object; {@link nothing} (and a null/absent
 * metav1.LabelSelector passed to {@link labelSelectorAsSelector}) matches none.
 */
import {
  FieldError, childPath, fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, goQuote, goTyped, toAggregate,
  type FieldErrorList, type FieldPath,
} from './errors.js';
import { isQualifiedName, isValidLabelValue, validateLabelName, validateLabels } from './validation.js';

/** A label map (labels.Set). */
export type Labels = Readonly<Record<string, string>>;

/** selection.Operator: the wire spelling of each operator. */
export type Operator = '!' | '=' | '==' | 'in' | '!=' | 'notin' | 'exists' | 'gt' | 'lt';

const binaryOperators: readonly string[] = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];
const unaryOperators: readonly string[] = ['exists', '!'];
const validRequirementOperators: readonly string[] = [...binaryOperators, ...unaryOperators];

/** An error from parsing or building a label selector; the text is upstream's. */
export class LabelSelectorError extends Error {
  /** The field errors behind the message, when it came from requirement validation. */
  readonly fieldErrors: readonly FieldError[];

  constructor(message: string, fieldErrors: readonly FieldError[] = []) {
    super(message);
    this.name = 'LabelSelectorError';
    this.fieldErrors = fieldErrors;
  }
}

function has(ls: Labels | undefined, key: string): boolean {
  return ls !== undefined && Object.prototype.hasOwnProperty.call(ls, key);
}

/** strconv.ParseInt(s, 10, 64): optional sign, decimal digits, int64 range. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  if (v > 9223372036854775807n || v < -9223372036854775808n) return undefined;
  return v;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One requirement of a selector: key, operator and (for most operators) values. */
export class Requirement {
  /** Use {@link newRequirement}, which validates; this constructor trusts its input. */
  constructor(
    readonly key: string,
    readonly operator: Operator,
    readonly values: readonly string[],
  ) {}

  /** Whether the labels satisfy this requirement (absent keys satisfy `!=` and `notin`). */
  matches(ls: Labels | undefined): boolean {
    switch (this.operator) {
      case 'in':
      case '=':
      case '==':
        return has(ls, this.key) && this.values.includes(ls![this.key]!);
      case 'notin':
      case '!=':
        return !has(ls, this.key) || !this.values.includes(ls![this.key]!);
      case 'exists':
        return has(ls, this.key);
      case '!':
        return !has(ls, this.key);
      case 'gt':
      case 'lt': {
        if (!has(ls, this.key)) return false;
        const lv = parseInt64(ls![this.key]!);
        if (lv === undefined || this.values.length !== 1) return false;
        const rv = parseInt64(this.values[0]!);
        if (rv === undefined) return false;
        return this.operator === 'gt' ? lv > rv : lv < rv;
      }
      default:
        return false;
    }
  }

  /** The canonical text, e.g. "a in (x,y)", "!a", "a!=b", "a>1" (values sorted). */
  toString(): string {
    let s = this.operator === '!' ? `!${this.key}` : this.key;
    switch (this.operator) {
      case '=': s += '='; break;
      case '==': s += '=='; break;
      case '!=': s += '!='; break;
      case 'in': s += ' in '; break;
      case 'notin': s += ' notin '; break;
      case 'gt': s += '>'; break;
      case 'lt': s += '<'; break;
      case 'exists':
      case '!':
        return s;
    }
    const setBased = this.operator === 'in' || this.operator === 'notin';
    const vals = this.values.length === 1 ? this.values[0]! : [...this.values].sort(compareStrings).join(',');
    return setBased ? `${s}(${vals})` : s + vals;
  }

  /** Requirement.Equal. */
  equals(other: Requirement): boolean {
    return this.key === other.key && this.operator === other.operator &&
      this.values.length === other.values.length && this.values.every((v, i) => v === other.values[i]);
  }
}

function validateLabelKey(key: string, path: FieldPath | undefined): FieldError | undefined {
  const errs = isQualifiedName(key);
  return errs.length === 0 ? undefined : fieldInvalid(path, key, errs.join('; '));
}

function validateLabelValue(key: string, value: string, path: FieldPath | undefined): FieldError | undefined {
  const errs = isValidLabelValue(value);
  if (errs.length === 0) return undefined;
  // Go's (*Path)(nil).Key(k) prints as "[k]".
  return new FieldError('FieldValueInvalid', path ? path.key(key) : `[${key}]`, value, errs.join('; '));
}

/**
 * labels.NewRequirement: validates key, operator arity and values. Throws a
 * {@link LabelSelectorError} whose message is the aggregate of the field errors
 * (fields under `path`, or "key"/"values[i]" when no path is given).
 */
export function newRequirement(key: string, op: Operator | string, vals: readonly string[], path?: FieldPath): Requirement {
  const errs: FieldErrorList = [];
  const keyErr = validateLabelKey(key, childPath(path, 'key'));
  if (keyErr) errs.push(keyErr);
  const valuePath = childPath(path, 'values');
  const valsValue = goTyped('[]string', vals);
  switch (op) {
    case 'in':
    case 'notin':
      if (vals.length === 0) errs.push(fieldInvalid(valuePath, valsValue, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (vals.length !== 1) errs.push(fieldInvalid(valuePath, valsValue, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (vals.length !== 0) errs.push(fieldInvalid(valuePath, valsValue, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (vals.length !== 1) errs.push(fieldInvalid(valuePath, valsValue, "for 'Gt', 'Lt' operators, exactly one value is required"));
      vals.forEach((v, i) => {
        if (parseInt64(v) === undefined) errs.push(fieldInvalid(valuePath.index(i), v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
    default:
      errs.push(fieldNotSupported(childPath(path, 'operator'), op, validRequirementOperators));
  }
  vals.forEach((v, i) => {
    const e = validateLabelValue(key, v, valuePath.index(i));
    if (e) errs.push(e);
  });
  const agg = toAggregate(errs);
  if (agg) throw new LabelSelectorError(agg.message, agg.errors);
  return new Requirement(key, op as Operator, [...vals]);
}

/** A label selector: a conjunction of requirements, or the match-nothing selector. */
export interface Selector {
  /** Whether the labels satisfy every requirement. */
  matches(labels: Labels | undefined): boolean;
  /** True when the selector has no requirements (matches everything). */
  empty(): boolean;
  /** The canonical selector string (what `?labelSelector=` carries). */
  toString(): string;
  /** A new selector with the requirements added (sorted by key). */
  add(...reqs: Requirement[]): Selector;
  /** The requirements; `selectable` is false for the match-nothing selector. */
  requirements(): { requirements: readonly Requirement[]; selectable: boolean };
  /** The single value the selector requires for `label` (=, ==, or in with one value). */
  requiresExactMatch(label: string): string | undefined;
}

function sortByKey(reqs: Requirement[]): Requirement[] {
  // Array.prototype.sort is stable; upstream's sort.Sort is not, but ties keep input order here.
  return reqs.sort((a, b) => compareStrings(a.key, b.key));
}

class InternalSelector implements Selector {
  constructor(private readonly reqs: readonly Requirement[]) {}

  matches(labels: Labels | undefined): boolean {
    return this.reqs.every((r) => r.matches(labels));
  }

  empty(): boolean {
    return this.reqs.length === 0;
  }

  toString(): string {
    return this.reqs.map((r) => r.toString()).join(',');
  }

  add(...reqs: Requirement[]): Selector {
    return new InternalSelector(sortByKey([...this.reqs, ...reqs]));
  }

  requirements(): { requirements: readonly Requirement[]; selectable: boolean } {
    return { requirements: this.reqs, selectable: true };
  }

  requiresExactMatch(label: string): string | undefined {
    for (const r of this.reqs) {
      if (r.key !== label) continue;
      if ((r.operator === '=' || r.operator === '==' || r.operator === 'in') && r.values.length === 1) return r.values[0];
      return undefined;
    }
    return undefined;
  }
}

class NothingSelector implements Selector {
  matches(): boolean { return false; }
  empty(): boolean { return false; }
  toString(): string { return ''; }
  add(): Selector { return this; }
  requirements(): { requirements: readonly Requirement[]; selectable: boolean } { return { requirements: [], selectable: false }; }
  requiresExactMatch(): string | undefined { return undefined; }
}

const everythingSelector: Selector = new InternalSelector([]);
const nothingSelector: Selector = new NothingSelector();

/** labels.Everything(): matches all objects. */
export function everything(): Selector {
  return everythingSelector;
}

/** labels.Nothing(): matches no object. */
export function nothing(): Selector {
  return nothingSelector;
}

// ---------------------------------------------------------------------------------------
// Lexer and parser
// ---------------------------------------------------------------------------------------

const enum Token {
  Error = 0,
  EndOfString,
  ClosedPar,
  Comma,
  DoesNotExist,
  DoubleEquals,
  Equals,
  GreaterThan,
  Identifier,
  In,
  LessThan,
  NotEquals,
  NotIn,
  OpenPar,
}

const string2token: ReadonlyMap<string, Token> = new Map([
  [')', Token.ClosedPar],
  [',', Token.Comma],
  ['!', Token.DoesNotExist],
  ['==', Token.DoubleEquals],
  ['=', Token.Equals],
  ['>', Token.GreaterThan],
  ['in', Token.In],
  ['<', Token.LessThan],
  ['!=', Token.NotEquals],
  ['notin', Token.NotIn],
  ['(', Token.OpenPar],
]);

interface ScannedItem {
  tok: Token;
  literal: string;
}

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function isSpecialSymbol(ch: string): boolean {
  return ch === '=' || ch === '!' || ch === '(' || ch === ')' || ch === ',' || ch === '>' || ch === '<';
}

class Lexer {
  private pos = 0;
  constructor(private readonly s: string) {}

  /** The next character, or "" at the end (Go's lexer returns byte 0 there). */
  private read(): string {
    return this.pos < this.s.length ? this.s[this.pos++]! : '';
  }

  private unread(): void {
    this.pos--;
  }

  private scanIDOrKeyword(): ScannedItem {
    let buf = '';
    for (;;) {
      const ch = this.read();
      if (ch === '') break;
      if (isSpecialSymbol(ch) || isWhitespace(ch)) {
        this.unread();
        break;
      }
      buf += ch;
    }
    const tok = string2token.get(buf);
    return tok !== undefined ? { tok, literal: buf } : { tok: Token.Identifier, literal: buf };
  }

  private scanSpecialSymbol(): ScannedItem {
    let last: ScannedItem | undefined;
    let buf = '';
    for (;;) {
      const ch = this.read();
      if (ch === '') break;
      if (!isSpecialSymbol(ch)) {
        this.unread();
        break;
      }
      buf += ch;
      const tok = string2token.get(buf);
      if (tok !== undefined) {
        last = { tok, literal: buf };
      } else if (last) {
        this.unread();
        break;
      }
    }
    return last ?? { tok: Token.Error, literal: `error expected: keyword found '${buf}'` };
  }

  lex(): ScannedItem {
    let ch = this.read();
    while (isWhitespace(ch)) ch = this.read();
    if (ch === '') return { tok: Token.EndOfString, literal: '' };
    this.unread();
    return isSpecialSymbol(ch) ? this.scanSpecialSymbol() : this.scanIDOrKeyword();
  }
}

const enum ParserContext {
  KeyAndOperator,
  Values,
}

class Parser {
  private items: ScannedItem[] = [];
  private position = 0;

  constructor(private readonly input: string, private readonly path: FieldPath | undefined) {}

  private lookahead(ctx: ParserContext): ScannedItem {
    return this.contextual(this.items[this.position]!, ctx);
  }

  private consume(ctx: ParserContext): ScannedItem {
    return this.contextual(this.items[this.position++]!, ctx);
  }

  /** In a value position, the keywords `in`/`notin` are ordinary identifiers. */
  private contextual(item: ScannedItem, ctx: ParserContext): ScannedItem {
    if (ctx === ParserContext.Values && (item.tok === Token.In || item.tok === Token.NotIn)) {
      return { tok: Token.Identifier, literal: item.literal };
    }
    return item;
  }

  parse(): Requirement[] {
    const lexer = new Lexer(this.input);
    for (;;) {
      const item = lexer.lex();
      this.items.push(item);
      if (item.tok === Token.EndOfString) break;
    }
    const reqs: Requirement[] = [];
    for (;;) {
      const { tok, literal } = this.lookahead(ParserContext.Values);
      switch (tok) {
        case Token.Identifier:
        case Token.DoesNotExist: {
          let r: Requirement;
          try {
            r = this.parseRequirement();
          } catch (e) {
            if (e instanceof LabelSelectorError) throw new LabelSelectorError(`unable to parse requirement: ${e.message}`, e.fieldErrors);
            throw e;
          }
          reqs.push(r);
          const next = this.consume(ParserContext.Values);
          if (next.tok === Token.EndOfString) return reqs;
          if (next.tok === Token.Comma) {
            const t2 = this.lookahead(ParserContext.Values);
            if (t2.tok !== Token.Identifier && t2.tok !== Token.DoesNotExist) {
              throw new LabelSelectorError(`found '${t2.literal}', expected: identifier after ','`);
            }
            break;
          }
          throw new LabelSelectorError(`found '${next.literal}', expected: ',' or 'end of string'`);
        }
        case Token.EndOfString:
          return reqs;
        default:
          throw new LabelSelectorError(`found '${literal}', expected: !, identifier, or 'end of string'`);
      }
    }
  }

  private parseRequirement(): Requirement {
    const { key, op: inferred } = this.parseKeyAndInferOperator();
    if (inferred === 'exists' || inferred === '!') return newRequirement(key, inferred, [], this.path);
    const op = this.parseOperator();
    const values = op === 'in' || op === 'notin' ? this.parseValues() : this.parseExactValue();
    return newRequirement(key, op, [...values].sort(compareStrings), this.path);
  }

  private parseKeyAndInferOperator(): { key: string; op: Operator | undefined } {
    let op: Operator | undefined;
    let item = this.consume(ParserContext.Values);
    if (item.tok === Token.DoesNotExist) {
      op = '!';
      item = this.consume(ParserContext.Values);
    }
    if (item.tok !== Token.Identifier) throw new LabelSelectorError(`found '${item.literal}', expected: identifier`);
    const keyErr = validateLabelKey(item.literal, this.path);
    if (keyErr) throw new LabelSelectorError(keyErr.message, [keyErr]);
    const next = this.lookahead(ParserContext.Values).tok;
    if ((next === Token.EndOfString || next === Token.Comma) && op !== '!') op = 'exists';
    return { key: item.literal, op };
  }

  private parseOperator(): Operator {
    const { tok, literal } = this.consume(ParserContext.KeyAndOperator);
    switch (tok) {
      case Token.In: return 'in';
      case Token.Equals: return '=';
      case Token.DoubleEquals: return '==';
      case Token.GreaterThan: return 'gt';
      case Token.LessThan: return 'lt';
      case Token.NotIn: return 'notin';
      case Token.NotEquals: return '!=';
      default:
        throw new LabelSelectorError(`found '${literal}', expected: ${binaryOperators.join(', ')}`);
    }
  }

  private parseValues(): Set<string> {
    const open = this.consume(ParserContext.Values);
    if (open.tok !== Token.OpenPar) throw new LabelSelectorError(`found '${open.literal}' expected: '('`);
    const { tok, literal } = this.lookahead(ParserContext.Values);
    switch (tok) {
      case Token.Identifier:
      case Token.Comma: {
        const s = this.parseIdentifiersList();
        if (this.consume(ParserContext.Values).tok !== Token.ClosedPar) {
          throw new LabelSelectorError(`found '${literal}', expected: ')'`);
        }
        return s;
      }
      case Token.ClosedPar:
        this.consume(ParserContext.Values);
        return new Set(['']);
      default:
        throw new LabelSelectorError(`found '${literal}', expected: ',', ')' or identifier`);
    }
  }

  private parseIdentifiersList(): Set<string> {
    const s = new Set<string>();
    for (;;) {
      const { tok, literal } = this.consume(ParserContext.Values);
      switch (tok) {
        case Token.Identifier: {
          s.add(literal);
          const next = this.lookahead(ParserContext.Values);
          if (next.tok === Token.Comma) continue;
          if (next.tok === Token.ClosedPar) return s;
          throw new LabelSelectorError(`found '${next.literal}', expected: ',' or ')'`);
        }
        case Token.Comma: {
          // "(," ",)" and ",," each stand for an empty value.
          if (s.size === 0) s.add('');
          const next = this.lookahead(ParserContext.Values).tok;
          if (next === Token.ClosedPar) {
            s.add('');
            return s;
          }
          if (next === Token.Comma) {
            this.consume(ParserContext.Values);
            s.add('');
          }
          break;
        }
        default:
          throw new LabelSelectorError(`found '${literal}', expected: ',', or identifier`);
      }
    }
  }

  private parseExactValue(): Set<string> {
    const ahead = this.lookahead(ParserContext.Values).tok;
    if (ahead === Token.EndOfString || ahead === Token.Comma) return new Set(['']);
    const { tok, literal } = this.consume(ParserContext.Values);
    if (tok === Token.Identifier) return new Set([literal]);
    throw new LabelSelectorError(`found '${literal}', expected: identifier`);
  }
}

/**
 * labels.Parse: the selector for a `?labelSelector=` string; "" is {@link everything}.
 * Throws {@link LabelSelectorError} with upstream's message on bad input.
 */
export function parseSelector(selector: string, path?: FieldPath): Selector {
  return new InternalSelector(parseToRequirements(selector, path));
}

/** labels.ParseToRequirements: the parsed requirements, sorted by key. */
export function parseToRequirements(selector: string, path?: FieldPath): Requirement[] {
  return sortByKey(new Parser(selector, path).parse());
}

/** labels.SelectorFromSet / SelectorFromValidatedSet: `k=v` for each entry, no validation. */
export function selectorFromSet(set: Labels | undefined): Selector {
  if (!set) return everythingSelector;
  return new InternalSelector(sortByKey(Object.entries(set).map(([k, v]) => new Requirement(k, '=', [v]))));
}

/** labels.ValidatedSelectorFromSet: as {@link selectorFromSet} but validates keys and values. */
export function validatedSelectorFromSet(set: Labels | undefined): Selector {
  if (!set) return everythingSelector;
  return new InternalSelector(sortByKey(Object.entries(set).map(([k, v]) => newRequirement(k, '=', [v]))));
}

/** labels.Set.String(): "a=b,c=d", sorted. */
export function labelsString(set: Labels | undefined): string {
  return Object.entries(set ?? {}).map(([k, v]) => `${k}=${v}`).sort(compareStrings).join(',');
}

/** labels.FormatLabels: {@link labelsString}, or "<none>" when empty. */
export function formatLabels(set: Labels | undefined): string {
  return labelsString(set) || '<none>';
}

/** labels.Conflicts: whether a key is present in both with different values. */
export function labelsConflict(a: Labels | undefined, b: Labels | undefined): boolean {
  for (const [k, v] of Object.entries(a ?? {})) if (has(b, k) && b![k] !== v) return true;
  return false;
}

/** labels.Merge: a copy of `a` overridden by `b`. */
export function mergeLabels(a: Labels | undefined, b: Labels | undefined): Record<string, string> {
  return { ...(a ?? {}), ...(b ?? {}) };
}

/** labels.Equals: same keys and values. */
export function labelsEqual(a: Labels | undefined, b: Labels | undefined): boolean {
  const ea = Object.entries(a ?? {});
  if (ea.length !== Object.keys(b ?? {}).length) return false;
  return ea.every(([k, v]) => has(b, k) && b![k] === v);
}

/**
 * labels.ConvertSelectorToLabelsMap: "a=b,c=d" to a map (only `=`; spaces trimmed);
 * throws `invalid selector: [a b c]` for a term without exactly one '='.
 */
export function convertSelectorToLabelsMap(selector: string, path?: FieldPath): Record<string, string> {
  const out: Record<string, string> = {};
  if (selector === '') return out;
  for (const term of selector.split(',')) {
    const l = term.split('=');
    if (l.length !== 2) throw new LabelSelectorError(`invalid selector: [${l.join(' ')}]`);
    const key = l[0]!.trim();
    const keyErr = validateLabelKey(key, path);
    if (keyErr) throw new LabelSelectorError(keyErr.message, [keyErr]);
    const value = l[1]!.trim();
    const valErr = validateLabelValue(key, value, path);
    if (valErr) throw new LabelSelectorError(valErr.message, [valErr]);
    out[key] = value;
  }
  return out;
}


// ---------------------------------------------------------------------------------------
// metav1.LabelSelector
// ---------------------------------------------------------------------------------------

/** metav1.LabelSelectorOperator. */
export type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

/** metav1.LabelSelectorRequirement (operator may be anything on the wire; validation rejects it). */
export interface LabelSelectorRequirement {
  key: string;
  operator: LabelSelectorOperator | string;
  values?: string[];
}

/** metav1.LabelSelector. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

const selectorOps: Readonly<Record<LabelSelectorOperator, Operator>> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

/**
 * metav1.LabelSelectorAsSelector: null/undefined → {@link nothing}; no matchLabels and no
 * matchExpressions → {@link everything}; otherwise the conjunction. Throws
 * {@link LabelSelectorError} (`"Foo" is not a valid label selector operator`, or
 * requirement validation errors).
 */
export function labelSelectorAsSelector(ps: LabelSelector | null | undefined): Selector {
  if (ps === null || ps === undefined) return nothingSelector;
  const matchLabels = Object.entries(ps.matchLabels ?? {}).sort(([a], [b]) => compareStrings(a, b));
  const exprs = ps.matchExpressions ?? [];
  if (matchLabels.length + exprs.length === 0) return everythingSelector;
  const reqs: Requirement[] = matchLabels.map(([k, v]) => newRequirement(k, '=', [v]));
  for (const expr of exprs) {
    const op = Object.prototype.hasOwnProperty.call(selectorOps, expr.operator)
      ? selectorOps[expr.operator as LabelSelectorOperator]
      : undefined;
    if (op === undefined) throw new LabelSelectorError(`${goQuote(expr.operator)} is not a valid label selector operator`);
    reqs.push(newRequirement(expr.key, op, [...(expr.values ?? [])]));
  }
  return new InternalSelector(sortByKey(reqs));
}

/**
 * metav1.LabelSelectorAsMap: matchLabels plus single-value In expressions; undefined for
 * a null selector; throws for operators the map form cannot express.
 */
export function labelSelectorAsMap(ps: LabelSelector | null | undefined): Record<string, string> | undefined {
  if (ps === null || ps === undefined) return undefined;
  const out: Record<string, string> = { ...(ps.matchLabels ?? {}) };
  for (const expr of ps.matchExpressions ?? []) {
    switch (expr.operator) {
      case 'In':
        if ((expr.values ?? []).length !== 1) {
          throw new LabelSelectorError(`operator ${goQuote(expr.operator)} without a single value cannot be converted into the old label selector format`);
        }
        out[expr.key] = expr.values![0]!;
        break;
      case 'NotIn':
      case 'Exists':
      case 'DoesNotExist':
        throw new LabelSelectorError(`operator ${goQuote(expr.operator)} cannot be converted into the old label selector format`);
      default:
        throw new LabelSelectorError(`${goQuote(expr.operator)} is not a valid selector operator`);
    }
  }
  return out;
}

/**
 * metav1.ParseToLabelSelector: a selector string to a metav1.LabelSelector
 * (`=`/`==` become matchLabels; `!=`, `gt`, `lt` cannot be expressed and throw).
 */
export function parseToLabelSelector(selector: string): LabelSelector {
  let reqs: Requirement[];
  try {
    reqs = parseToRequirements(selector);
  } catch (e) {
    if (e instanceof LabelSelectorError) throw new LabelSelectorError(`couldn't parse the selector string "${selector}": ${e.message}`, e.fieldErrors);
    throw e;
  }
  const out: Required<LabelSelector> = { matchLabels: {}, matchExpressions: [] };
  for (const r of reqs) {
    let op: LabelSelectorOperator;
    switch (r.operator) {
      case '=':
      case '==':
        out.matchLabels[r.key] = r.values[0]!;
        continue;
      case 'in': op = 'In'; break;
      case 'notin': op = 'NotIn'; break;
      case 'exists': op = 'Exists'; break;
      case '!': op = 'DoesNotExist'; break;
      case 'gt':
      case 'lt':
        throw new LabelSelectorError(`${goQuote(r.operator)} isn't supported in label selectors`);
      default:
        throw new LabelSelectorError(`${goQuote(r.operator)} is not a valid label selector operator`);
    }
    out.matchExpressions.push({ key: r.key, operator: op, values: [...new Set(r.values)].sort(compareStrings) });
  }
  return out;
}

/** metav1.FormatLabelSelector: the canonical string, "<none>" when empty, "<error>" when invalid. */
export function formatLabelSelector(ps: LabelSelector | null | undefined): string {
  try {
    return labelSelectorAsSelector(ps).toString() || '<none>';
  } catch {
    return '<error>';
  }
}

/** Options of {@link validateLabelSelector} (metav1validation.LabelSelectorValidationOptions). */
export interface LabelSelectorValidationOptions {
  /** Accept label values that are not valid label values (for old stored objects). */
  allowInvalidLabelValueInSelector?: boolean;
  /** Accept operators other than In/NotIn/Exists/DoesNotExist. */
  allowUnknownOperatorInRequirement?: boolean;
}

/** metav1validation.ValidateLabelSelectorRequirement. */
export function validateLabelSelectorRequirement(
  sr: LabelSelectorRequirement,
  opts: LabelSelectorValidationOptions,
  fldPath: FieldPath,
): FieldErrorList {
  const errs: FieldErrorList = [];
  const values = sr.values ?? [];
  switch (sr.operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) errs.push(fieldRequired(fldPath.child('values'), "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) errs.push(fieldForbidden(fldPath.child('values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    default:
      if (!opts.allowUnknownOperatorInRequirement) errs.push(fieldInvalid(fldPath.child('operator'), sr.operator, 'not a valid selector operator'));
  }
  errs.push(...validateLabelName(sr.key, fldPath.child('key')));
  if (!opts.allowInvalidLabelValueInSelector) {
    values.forEach((v, i) => {
      for (const msg of isValidLabelValue(v)) errs.push(fieldInvalid(fldPath.child('values').index(i), v, msg));
    });
  }
  return errs;
}

/** metav1validation.ValidateLabelSelector: nothing to report for a null selector. */
export function validateLabelSelector(
  ps: LabelSelector | null | undefined,
  opts: LabelSelectorValidationOptions,
  fldPath: FieldPath,
): FieldErrorList {
  if (ps === null || ps === undefined) return [];
  const errs: FieldErrorList = [...validateLabels(ps.matchLabels, fldPath.child('matchLabels'))];
  (ps.matchExpressions ?? []).forEach((expr, i) => {
    errs.push(...validateLabelSelectorRequirement(expr, opts, fldPath.child('matchExpressions').index(i)));
  });
  return errs;
}
