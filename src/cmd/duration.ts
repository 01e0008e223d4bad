/**
 * Parsing of the numeric flag values Kubernetes components take, with the messages their
 * flag library (pflag) gives for a bad value, so `flotilla <command> --flag=bad` reads like
 * the upstream binary's refusal.
 */
const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Go's time.ParseDuration for flag values ("5s", "1m0s", "1.5h", "300ms"), as Kubernetes
 * components take durations; returns milliseconds. A bare "0" is accepted, as in Go.
 */
export function parseDuration(flag: string, v: unknown): number {
  const s = String(v ?? '').trim();
  const bad = () => new Error(`invalid argument ${JSON.stringify(s)} for "--${flag}" flag: time: invalid duration ${JSON.stringify(s)}`);
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  const sign = s.startsWith('-') ? -1 : 1;
  if (s.startsWith('-') || s.startsWith('+')) pos = 1;
  if (pos >= s.length) throw bad();
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw bad();
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return sign * total;
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
