/**
 * IntOrString, after k8s.io/apimachinery's pkg/util/intstr. On the wire it is a JSON
 * number or string (`maxSurge: 1` or `maxSurge: "25%"`), so here it is `number | string`.
 */

import { goQuote } from './errors.js';

/** intstr.IntOrString as it appears in JSON. */
export type IntOrString = number | string;

/** intstr.FromInt. */
export function fromInt(v: number): IntOrString {
  return Math.trunc(v);
}

/** intstr.FromString. */
export function fromString(v: string): IntOrString {
  return v;
}

/**
 * strconv.Atoi with Go's error text, e.g. `strconv.Atoi: parsing "abc": invalid syntax`.
 * Accepts an optional sign and decimal digits in the int64 range.
 */
export function atoi(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`);
  const v = BigInt(s);
  if (v > 9223372036854775807n || v < -9223372036854775808n) {
    throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: value out of range`);
  }
  return Number(v);
}

/** intstr.Parse: an integer when the string is one, otherwise the string. */
export function parseIntOrString(s: string): IntOrString {
  try {
    return atoi(s);
  } catch {
    return s;
  }
}

/** IntOrString.IntValue(): the number, or the string parsed as an integer (0 if it is not one). */
export function intValue(v: IntOrString): number {
  if (typeof v === 'number') return v;
  try {
    return atoi(v);
  } catch {
    return 0;
  }
}

/** IntOrString.String(). */
export function intOrStringToString(v: IntOrString): string {
  return typeof v === 'number' ? String(v) : v;
}

/** Whether a wire value is an IntOrString (an integer number or a string). */
export function isIntOrString(v: unknown): v is IntOrString {
  return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
}

function percentValueSafely(v: IntOrString): { value: number; isPercent: boolean } {
  if (typeof v === 'number') return { value: v, isPercent: false };
  if (typeof v !== 'string') throw new Error('invalid type: neither int nor percentage');
  if (!v.endsWith('%')) throw new Error('invalid type: string is not a percentage');
  try {
    return { value: atoi(v.slice(0, -1)), isPercent: true };
  } catch (e) {
    throw new Error(`invalid value ${goQuote(v)}: ${(e as Error).message}`);
  }
}

function scale(value: number, total: number, roundUp: boolean): number {
  // Same float64 arithmetic as upstream, so results agree bit for bit.
  const x = (value * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/**
 * intstr.GetScaledValueFromIntOrPercent: an integer as is, or a percentage ("25%") of
 * `total`, rounded up or down (Deployment maxSurge rounds up, maxUnavailable down).
 * Throws `nil value for IntOrString`, or `invalid value for IntOrString: ...` for strings
 * that are not `<int>%`.
 */
export function getScaledValueFromIntOrPercent(v: IntOrString | null | undefined, total: number, roundUp: boolean): number {
  if (v === null || v === undefined) throw new Error('nil value for IntOrString');
  let parsed: { value: number; isPercent: boolean };
  try {
    parsed = percentValueSafely(v);
  } catch (e) {
    throw new Error(`invalid value for IntOrString: ${(e as Error).message}`);
  }
  return parsed.isPercent ? scale(parsed.value, total, roundUp) : parsed.value;
}

/**
 * intstr.GetValueFromIntOrPercent (deprecated upstream): like
 * {@link getScaledValueFromIntOrPercent} but any string is a percentage with every '%' removed.
 */
export function getValueFromIntOrPercent(v: IntOrString | null | undefined, total: number, roundUp: boolean): number {
  if (v === null || v === undefined) throw new Error('nil value for IntOrString');
  if (typeof v === 'number') return v;
  let value: number;
  try {
    value = atoi(v.replaceAll('%', ''));
  } catch (e) {
    throw new Error(`invalid value for IntOrString: invalid value ${goQuote(v)}: ${(e as Error).message}`);
  }
  return scale(value, total, roundUp);
}
