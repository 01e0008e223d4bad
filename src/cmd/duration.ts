/**
 * Parsing of the numeric flag values Kubernetes components take, with the messages their
 * flag library (pflag) gives for a bad value, so `flotilla <command> --flag=bad` reads like
 * the upstream binary's refusal.
 */

/** Nanoseconds per unit, Go's time.unitMap (µ as U+00B5 and U+03BC both spell micro). */
const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
/** time.Duration is an int64 of nanoseconds. */
const MAX_DURATION_NS = 2 ** 63;

/** Go's time-package quote(): ASCII as is (with " and \ escaped), other bytes as \xNN. */
function goQuote(s: string): string {
  let out = '"';
  for (const c of s) {
    const code = c.codePointAt(0)!;
    if (code < 0x20 || code >= 0x80) {
      for (const b of Buffer.from(c, 'utf8')) out += `\\x${b.toString(16).padStart(2, '0')}`;
    } else {
      out += c === '"' || c === '\\' ? `\\${c}` : c;
    }
  }
  return out + '"';
}

/**
 * Go's time.ParseDuration, error text included ("time: missing unit in duration \"5\"",
 * "time: unknown unit \"x\" in duration \"5x\"", "time: invalid duration \"\""): a
 * possibly signed sequence of decimal numbers, each with an optional fraction and a unit
 * (ns, us/µs, ms, s, m, h), such as "300ms", "-1.5h", "2h45m"; "0" alone needs no unit.
 * Returns milliseconds (fractional below 1 ms). No whitespace is trimmed, as in Go.
 */
export function goParseDuration(orig: string): number {
  const invalid = () => new Error(`time: invalid duration ${goQuote(orig)}`);
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let totalNs = 0;
  const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) throw invalid();
    let i = 0;
    while (isDigit(s[i])) i++;
    const intPart = s.slice(0, i);
    let fracPart = '';
    if (s[i] === '.') {
      let j = i + 1;
      while (isDigit(s[j])) j++;
      fracPart = s.slice(i + 1, j);
      i = j;
    }
    // No digits on either side of the point (".s", "-.s").
    if (intPart === '' && fracPart === '') throw invalid();
    s = s.slice(i);
    let u = 0;
    while (u < s.length && s[u] !== '.' && !isDigit(s[u])) u++;
    if (u === 0) throw new Error(`time: missing unit in duration ${goQuote(orig)}`);
    const unit = s.slice(0, u);
    s = s.slice(u);
    const ns = UNIT_NS[unit];
    if (ns === undefined) throw new Error(`time: unknown unit ${goQuote(unit)} in duration ${goQuote(orig)}`);
    totalNs += Number(`${intPart || '0'}.${fracPart || '0'}`) * ns;
    if (totalNs > MAX_DURATION_NS || (!neg && totalNs === MAX_DURATION_NS)) throw invalid();
  }
  const ms = totalNs / 1e6;
  return neg ? -ms : ms;
}

/**
 * Go's time.Duration.String() of a duration in milliseconds, as upstream prints durations
 * in messages: "0s", "-5s", "1m0s", "1h2m3.5s", "300ms", "1.5µs".
 */
export function formatGoDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const ns = Math.round(Math.abs(ms) * 1e6);
  // v in units of `unit` ns, with the fraction's trailing zeros dropped: (1500, 1e3) → "1.5".
  const frac = (v: number, unit: number): string => {
    const whole = Math.floor(v / unit);
    const rest = String(v % unit).padStart(String(unit).length - 1, '0').replace(/0+$/, '');
    return rest ? `${whole}.${rest}` : String(whole);
  };
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${sign}${ns}ns`;
  if (ns < 1e6) return `${sign}${frac(ns, 1e3)}µs`;
  if (ns < 1e9) return `${sign}${frac(ns, 1e6)}ms`;
  let out = `${frac(ns % 60e9, 1e9)}s`;
  if (ns >= 60e9) out = `${Math.floor(ns / 60e9) % 60}m${out}`;
  if (ns >= 3600e9) out = `${Math.floor(ns / 3600e9)}h${out}`;
  return sign + out;
}

/**
 * A duration flag as Kubernetes components (pflag's DurationVar) take it: Go's
 * time.ParseDuration, so "5s", "1m0s", "1.5h", "300ms" and a bare "0"; returns
 * milliseconds. A bad value throws pflag's message, e.g. `invalid argument "40" for
 * "--node-monitor-grace-period" flag: time: missing unit in duration "40"`. Negative
 * durations parse, as in Go; whether one makes sense is the flag's own check.
 */
export function parseDuration(flag: string, v: unknown): number {
  const s = String(v ?? '');
  try {
    return goParseDuration(s);
  } catch (err) {
    throw new Error(`invalid argument ${JSON.stringify(s)} for "--${flag}" flag: ${(err as Error).message}`);
  }
}

/**
 * A duration flag of a program built on Go's standard flag package, as etcd's server is
 * (--experimental-watch-progress-notify-interval): the same values as
 * {@link parseDuration}, but that package's message, which drops time's reason:
 * `invalid value "5x" for flag -experimental-watch-progress-notify-interval: parse error`.
 */
export function parseGoFlagDuration(flag: string, v: unknown): number {
  const s = String(v ?? '');
  try {
    return goParseDuration(s);
  } catch {
    throw new Error(`invalid value ${JSON.stringify(s)} for flag -${flag}: parse error`);
  }
}

/**
 * A whole number of seconds (an int64 flag such as --default-not-ready-toleration-seconds).
 * Not a number: pflag's strconv.ParseInt message. Negative numbers, which pflag would
 * take, are refused too: a negative tolerationSeconds means "evict at once", which 0 says
 * plainly.
 */
export function parseSeconds(flag: string, v: unknown): number {
  const s = String(v ?? '').trim();
  if (!/^[+-]?\d+$/.test(s)) throw new Error(`invalid argument ${JSON.stringify(s)} for "--${flag}" flag: strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (n < 0) throw new Error(`invalid argument ${JSON.stringify(s)} for "--${flag}" flag: must be 0 or more seconds`);
  return n;
}
