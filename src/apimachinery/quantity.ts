/**
 * resource.Quantity, after k8s.io/apimachinery's pkg/api/resource: parsing with
 * upstream's grammar and errors, exact arithmetic, and upstream's canonical string form.
 *
 * A quantity is held exactly as `unscaled × 10^scale` with a bigint `unscaled` (never a
 * float), plus the format the user wrote it in, which decides the canonical form:
 *
 *   "1000m" → "1"    "0.5" → "500m"    "1024Mi" → "1Gi"    "1.5Gi" → "1536Mi"
 *   "1e3" → "1e3"    ".001Ki" → "1024m" (too small to stay binary)
 *
 * Parsing rounds the magnitude up to nano (10^-9) precision, as upstream does. When a
 * parsed string is already canonical it is kept verbatim and `toString()` returns it
 * (upstream's cached `s`), so "100m" round-trips as "100m" and "+1" as "+1".
 *
 * Quantities are immutable: `add`, `sub`, `neg` and `roundUp` return new values.
 */

/** How a quantity is written: `12e6`, `12Mi` (× 2^20) or `12M` (× 10^6). */
export type QuantityFormat = 'DecimalExponent' | 'BinarySI' | 'DecimalSI';

const splitREString = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';

/** The error kinds of {@link parseQuantity}, with upstream's texts. */
export const quantityErrors = {
  formatWrong: `quantities must match the regular expression '${splitREString}'`,
  numeric: 'unable to parse numeric part of quantity',
  suffix: "unable to parse quantity's suffix",
} as const;

/** A quantity string that does not parse; `message` is upstream's text. */
export class QuantityParseError extends Error {
  readonly kind: keyof typeof quantityErrors;

  constructor(kind: keyof typeof quantityErrors) {
    super(quantityErrors[kind]);
    this.name = 'QuantityParseError';
    this.kind = kind;
  }
}

const MAX_INT64 = 9223372036854775807n;
const MIN_INT64 = -9223372036854775808n;
/** Parsing rounds to this scale (10^-9). */
const NANO = -9;

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

function abs(v: bigint): bigint {
  return v < 0n ? -v : v;
}

/** Number of decimal digits of |v| (0 for 0). */
function digits(v: bigint): number {
  return v === 0n ? 0 : abs(v).toString().length;
}

/**
 * Largest power-of-ten spread between two operands that arithmetic will align. Beyond it
 * (e.g. "1e999999999" + "1") exact math would need gigabytes; upstream's inf.Dec would
 * too. Such operations throw a RangeError instead.
 */
const MAX_SCALE_SPREAD = 1000;

/** Divides by 10^n rounding the magnitude up (away from zero); reports exactness. */
function divPow10RoundUp(v: bigint, n: number): { value: bigint; exact: boolean } {
  if (n <= 0) {
    if (-n > MAX_SCALE_SPREAD && v !== 0n) throw new RangeError('quantity out of range');
    return { value: v * pow10(-n), exact: true };
  }
  // |v| < 10^n: the quotient is 0, so a nonzero value rounds up to ±1 without computing 10^n.
  if (n > digits(v)) return v === 0n ? { value: 0n, exact: true } : { value: v < 0n ? -1n : 1n, exact: false };
  const d = pow10(n);
  const q = v / d; // truncates toward zero
  const exact = q * d === v;
  if (exact) return { value: q, exact };
  return { value: v < 0n ? q - 1n : q + 1n, exact };
}

interface DecSuffix {
  base: 2 | 10;
  exponent: number;
  format: QuantityFormat;
}

const decimalSuffixes: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const binarySuffixes: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const decimalSuffixByExponent = new Map(Object.entries(decimalSuffixes).map(([s, e]) => [e, s]));
const binarySuffixByExponent = new Map(Object.entries(binarySuffixes).map(([s, e]) => [e, s]));

function interpretSuffix(s: string): DecSuffix | undefined {
  if (Object.prototype.hasOwnProperty.call(decimalSuffixes, s)) return { base: 10, exponent: decimalSuffixes[s]!, format: 'DecimalSI' };
  if (Object.prototype.hasOwnProperty.call(binarySuffixes, s)) return { base: 2, exponent: binarySuffixes[s]!, format: 'BinarySI' };
  if (s.length > 1 && (s[0] === 'e' || s[0] === 'E')) {
    const rest = s.slice(1);
    if (!/^[+-]?[0-9]+$/.test(rest)) return undefined;
    const v = BigInt(rest);
    if (v > MAX_INT64 || v < MIN_INT64) return undefined;
    // Upstream narrows the parsed int64 to int32.
    return { base: 10, exponent: Number(BigInt.asIntN(32, v)), format: 'DecimalExponent' };
  }
  return undefined;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

interface SplitQuantity {
  positive: boolean;
  /** The numeric prefix as written, sign included. */
  value: string;
  /** Integer digits without leading zeros ("0" when none). */
  num: string;
  /** Fraction digits. */
  denom: string;
  suffix: string;
}

/** Upstream's parseQuantityString, step for step (its quirks decide what parses). */
function splitQuantity(str: string): SplitQuantity {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (pos < end) {
    if (str[0] === '-') {
      positive = false;
      pos++;
    } else if (str[0] === '+') {
      pos++;
    }
  }
  // Leading zeros; a string of only zeros (or only a sign) is zero.
  for (;;) {
    if (pos >= end) return { positive, value: '0', num: '0', denom: '', suffix: '' };
    if (str[pos] !== '0') break;
    pos++;
  }
  let i = pos;
  while (i < end && isDigit(str[i])) i++;
  let num = str.slice(pos, i);
  if (i >= end) return { positive, value: str, num, denom: '', suffix: '' };
  pos = i;
  if (num === '') num = '0';
  let denom = '';
  if (str[pos] === '.') {
    pos++;
    let j = pos;
    while (j < end && isDigit(str[j])) j++;
    denom = str.slice(pos, j);
    if (j >= end) return { positive, value: str, num, denom, suffix: '' };
    pos = j;
  }
  const value = str.slice(0, pos);
  const suffixStart = pos;
  while (pos < end && 'eEinumkKMGTP'.includes(str[pos]!)) pos++;
  if (pos >= end) return { positive, value, num, denom, suffix: str.slice(suffixStart) };
  if (str[pos] === '-' || str[pos] === '+') pos++;
  while (pos < end && isDigit(str[pos])) pos++;
  if (pos >= end) return { positive, value, num, denom, suffix: str.slice(suffixStart) };
  throw new QuantityParseError('formatWrong');
}

/** A decimal string with optional sign and point ("-1.50", ".5") as unscaled × 10^scale. */
function parseDecimal(s: string): { unscaled: bigint; scale: number } | undefined {
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const frac = m[3] ?? '';
  const digits = BigInt((m[2] || '0') + frac);
  return { unscaled: m[1] === '-' ? -digits : digits, scale: -frac.length };
}

/**
 * resource.Quantity. Construct with {@link parseQuantity}, {@link newQuantity},
 * {@link newMilliQuantity} or {@link newScaledQuantity}.
 */
export class Quantity {
  /** @internal use the factories; value is `unscaled × 10^scale`. */
  constructor(
    private readonly unscaled: bigint,
    private readonly scale: number,
    readonly format: QuantityFormat,
    private readonly cached?: string,
  ) {}

  /** True when the value is zero. */
  isZero(): boolean {
    return this.unscaled === 0n;
  }

  /** -1, 0 or 1. */
  sign(): -1 | 0 | 1 {
    return this.unscaled < 0n ? -1 : this.unscaled > 0n ? 1 : 0;
  }

  /** The exact value as `unscaled × 10^scale` (for callers doing their own exact math). */
  asDec(): { unscaled: bigint; scale: number } {
    return { unscaled: this.unscaled, scale: this.scale };
  }

  private aligned(y: Quantity): [bigint, bigint, number] {
    // A zero operand needs no alignment (keeps "0 + 1e999999999" cheap).
    if (this.unscaled === 0n) return [0n, y.unscaled, y.scale];
    if (y.unscaled === 0n) return [this.unscaled, 0n, this.scale];
    const s = Math.min(this.scale, y.scale);
    if (Math.max(this.scale, y.scale) - s > MAX_SCALE_SPREAD) throw new RangeError('quantity out of range');
    return [this.unscaled * pow10(this.scale - s), y.unscaled * pow10(y.scale - s), s];
  }

  /** -1, 0 or 1 as this is less than, equal to or greater than `y`. */
  cmp(y: Quantity): -1 | 0 | 1 {
    const sa = this.sign();
    const sb = y.sign();
    if (sa !== sb) return sa < sb ? -1 : 1;
    if (sa === 0) return 0;
    // Same sign: different orders of magnitude decide without aligning.
    const ma = digits(this.unscaled) + this.scale;
    const mb = digits(y.unscaled) + y.scale;
    if (ma !== mb) return ((ma > mb ? 1 : -1) * sa) as -1 | 1;
    const [a, b] = this.aligned(y);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  /** Compares with an integer. */
  cmpInt64(y: number | bigint): -1 | 0 | 1 {
    return this.cmp(new Quantity(BigInt(y), 0, 'DecimalSI'));
  }

  /** Numeric equality (formats may differ). */
  equal(y: Quantity): boolean {
    return this.cmp(y) === 0;
  }

  /** The sum; a zero receiver takes `y`'s format, as upstream. */
  add(y: Quantity): Quantity {
    const [a, b, s] = this.aligned(y);
    return new Quantity(a + b, s, this.isZero() ? y.format : this.format);
  }

  /** The difference; a zero receiver takes `y`'s format, as upstream. */
  sub(y: Quantity): Quantity {
    const [a, b, s] = this.aligned(y);
    return new Quantity(a - b, s, this.isZero() ? y.format : this.format);
  }

  /** The product with an integer. */
  mul(y: number | bigint): Quantity {
    return new Quantity(this.unscaled * BigInt(y), this.scale, this.format);
  }

  /** The negation. */
  neg(): Quantity {
    return new Quantity(-this.unscaled, this.scale, this.format);
  }

  /**
   * Rounds the magnitude up to a multiple of 10^scale (e.g. -3 for milli); `exact` is
   * false when that changed the value.
   */
  roundUp(scale: number): { quantity: Quantity; exact: boolean } {
    if (this.scale >= scale) return { quantity: this, exact: true };
    const r = divPow10RoundUp(this.unscaled, scale - this.scale);
    return { quantity: new Quantity(r.value, scale, this.format), exact: r.exact };
  }

  /**
   * The value in units of 10^scale, magnitude rounded up (away from zero), exact as a
   * bigint: `scaledValueBig(-3)` of "1.5m" is 2n. Values beyond int64 saturate at
   * ±(2^63-1) (upstream's int64 result is undefined there).
   */
  scaledValueBig(scale: number): bigint {
    const n = scale - this.scale;
    // |unscaled| × 10^-n has at least digits - n digits: past 19 it is beyond int64.
    if (n < 0 && this.unscaled !== 0n && digits(this.unscaled) - n > 19) return this.unscaled < 0n ? -MAX_INT64 : MAX_INT64;
    const v = divPow10RoundUp(this.unscaled, n).value;
    if (v > MAX_INT64) return MAX_INT64;
    if (v < -MAX_INT64) return -MAX_INT64;
    return v;
  }

  /** {@link scaledValueBig} as a number (callers stay within ±2^53). */
  scaledValue(scale: number): number {
    return Number(this.scaledValueBig(scale));
  }

  /** Value(): whole units, rounded up ("100m" → 1). */
  value(): number {
    return this.scaledValue(0);
  }

  /** MilliValue(): thousandths, rounded up ("1.5" → 1500). */
  milliValue(): number {
    return this.scaledValue(-3);
  }

  /** AsApproximateFloat64: for display and scoring, never for decisions. */
  asApproximateFloat64(): number {
    return Number(this.unscaled) * 10 ** this.scale;
  }

  /** The canonical string (or the parsed string when that was already canonical). */
  toString(): string {
    if (this.cached !== undefined) return this.cached;
    const [number, suffix] = this.canonicalize();
    return number + suffix;
  }

  /** JSON form: the string, as upstream's MarshalJSON. */
  toJSON(): string {
    return this.toString();
  }

  /** Upstream's CanonicalizeBytes: the number and suffix of the canonical form. */
  canonicalize(): [number: string, suffix: string] {
    if (this.isZero()) return ['0', ''];
    let format = this.format;
    let roundedInt: bigint | undefined;
    if (format === 'BinarySI') {
      if ((this.cmpInt64(-1024) > 0 && this.cmpInt64(1024) < 0) || this.scale > MAX_SCALE_SPREAD) {
        format = 'DecimalSI';
      } else {
        const r = divPow10RoundUp(this.unscaled, -this.scale);
        if (r.exact) roundedInt = r.value;
        else format = 'DecimalSI';
      }
    }
    if (format === 'BinarySI' && roundedInt !== undefined) {
      let amount = roundedInt;
      let times = 0;
      while (abs(amount) >= 1024n && amount % 1024n === 0n) {
        amount /= 1024n;
        times++;
      }
      // Upstream has no suffix beyond Ei (or for 1024^0) and then prints none.
      return [amount.toString(), binarySuffixByExponent.get(times * 10) ?? ''];
    }
    let amount = this.unscaled;
    let exponent = this.scale;
    while (abs(amount) >= 10n && amount % 10n === 0n) {
      amount /= 10n;
      exponent++;
    }
    while (exponent % 3 !== 0) {
      amount *= 10n;
      exponent--;
    }
    if (format === 'DecimalExponent') return [amount.toString(), exponent === 0 ? '' : `e${exponent}`];
    // DecimalSI outside n..E: upstream finds no suffix and prints the bare number.
    return [amount.toString(), decimalSuffixByExponent.get(exponent) ?? ''];
  }
}

/**
 * resource.ParseQuantity. Throws {@link QuantityParseError} with upstream's message,
 * e.g. "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'".
 * No surrounding whitespace is allowed (JSON decoding trims; see {@link quantityFromJSON}).
 */
export function parseQuantity(str: string): Quantity {
  if (str.length === 0) throw new QuantityParseError('formatWrong');
  if (str === '0') return new Quantity(0n, 0, 'DecimalSI', str);
  const { positive, value, num, denom, suffix } = splitQuantity(str);
  const suf = interpretSuffix(suffix);
  if (!suf) throw new QuantityParseError('suffix');
  let format = suf.format;

  // Upstream's int64 fast path decides whether the input string is kept as canonical;
  // its value equals the general path's whenever it applies.
  let precision: number;
  let scale = 0;
  let mantissa = 1n;
  if (format === 'BinarySI') {
    if (suf.exponent >= 0 && denom.length === 0) {
      mantissa = 1n << BigInt(suf.exponent);
      precision = 15 - num.length - Math.trunc((suf.exponent * 3) / 10) - 1;
    } else {
      precision = -1;
    }
  } else {
    scale = suf.exponent;
    precision = 18 - (num.length + denom.length);
  }
  if (precision >= 0) {
    scale -= denom.length;
    if (scale >= NANO) {
      const shifted = num + denom;
      const v = BigInt(shifted);
      const product = v * mantissa;
      if (product <= MAX_INT64) {
        const result = positive ? product : -product;
        const keep = format === 'BinarySI'
          ? suf.exponent % 10 === 0 && (v & 7n) !== 0n
          : scale % 3 === 0 && !shifted.endsWith('000') && shifted[0] !== '0';
        return new Quantity(result, scale, format, keep ? str : undefined);
      }
    }
  }

  const dec = parseDecimal(value);
  if (!dec) throw new QuantityParseError('numeric');
  let unscaled = abs(dec.unscaled);
  let exp = dec.scale;
  if (suf.base === 10) exp += suf.exponent;
  else unscaled *= 1n << BigInt(suf.exponent);
  if (unscaled !== 0n && exp < NANO) {
    unscaled = divPow10RoundUp(unscaled, NANO - exp).value;
    exp = NANO;
  }
  if (format === 'BinarySI') {
    const q = new Quantity(unscaled, exp, format);
    if (q.cmpInt64(MAX_INT64) > 0) {
      unscaled = MAX_INT64;
      exp = 0;
    } else if (q.cmpInt64(1) < 0 && !q.isZero()) {
      format = 'DecimalSI';
    }
  }
  const negative = dec.unscaled < 0n || !positive;
  return new Quantity(negative ? -unscaled : unscaled, exp, format);
}

/** MustParse: {@link parseQuantity} for constants; throws `cannot parse '<s>': <err>`. */
export function mustParseQuantity(str: string): Quantity {
  try {
    return parseQuantity(str);
  } catch (e) {
    throw new Error(`cannot parse '${str}': ${(e as Error).message}`);
  }
}

/**
 * UnmarshalJSON: a quantity from its JSON value, a string (trimmed) or a number
 * (`cpu: 0.5` in YAML). null/undefined give undefined.
 */
export function quantityFromJSON(v: unknown): Quantity | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return parseQuantity(String(v));
  if (typeof v === 'string') return parseQuantity(v.trim());
  throw new QuantityParseError('formatWrong');
}

/** NewQuantity: an integer in the given format. */
export function newQuantity(value: number | bigint, format: QuantityFormat): Quantity {
  return new Quantity(BigInt(value), 0, format);
}

/** NewMilliQuantity: `value` thousandths in the given format. */
export function newMilliQuantity(value: number | bigint, format: QuantityFormat): Quantity {
  return new Quantity(BigInt(value), -3, format);
}

/** NewScaledQuantity: `value × 10^scale`, DecimalSI. */
export function newScaledQuantity(value: number | bigint, scale: number): Quantity {
  return new Quantity(BigInt(value), scale, 'DecimalSI');
}

/** A zero quantity (DecimalSI). */
export const ZERO_QUANTITY: Quantity = new Quantity(0n, 0, 'DecimalSI');
