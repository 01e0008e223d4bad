/**
 * Cron schedules as Kubernetes reads them: github.com/robfig/cron/v3's `ParseStandard`
 * (five fields — minute, hour, day of month, month, day of week — with `*`, `?`, ranges
 * `a-b`, steps `/n`, lists `a,b`, month and weekday names, and the descriptors
 * `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`,
 * `@every <duration>`), plus its `TZ=`/`CRON_TZ=` prefix.
 *
 * The API server validates `spec.schedule` with {@link parseStandard} (its error text is
 * robfig's, which upstream puts in the field error verbatim) and the CronJob controller
 * computes run times with {@link CronSchedule.next}.
 *
 * Day matching follows robfig (and Vixie cron): when either day-of-month or day-of-week
 * is a star (`*` or `?`, not stepped), a day must match both fields; otherwise either
 * one. So `0 0 1 * 1` runs on the 1st and on Mondays, `0 0 * * 1` only on Mondays.
 *
 * Times are computed on the wall clock of the schedule's time zone (IANA names through
 * Intl); a result is an instant (ms since the epoch).
 */

/** A parse failure; `message` is robfig/cron's wording. */
export class CronParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronParseError';
  }
}

/** A parsed schedule. */
export interface CronSchedule {
  /**
   * The first activation strictly after `afterMs` (whole seconds, as robfig: the search
   * starts at the next second), or undefined when none falls within five years (a
   * schedule such as `0 0 30 2 *` never fires).
   */
  next(afterMs: number): number | undefined;
}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = {
  min: 1, max: 12,
  names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 },
};
const DOW: Bounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

/** One field: which values match, and whether it was written as a star (`*`/`?` unstepped). */
interface Field {
  bits: boolean[];
  star: boolean;
}

function fieldOf(min: number, max: number, step = 1, star = false): Field {
  const bits: boolean[] = [];
  for (let i = min; i <= max; i += step) bits[i] = true;
  return { bits, star };
}

function orFields(a: Field, b: Field): Field {
  const bits = [...a.bits];
  b.bits.forEach((v, i) => { if (v) bits[i] = true; });
  return { bits, star: a.star || b.star };
}

/** Go's strconv.Atoi, with the error robfig wraps. */
function atoi(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new CronParseError(`strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new CronParseError(`strconv.Atoi: parsing ${JSON.stringify(s)}: value out of range`);
  return n;
}

function mustParseInt(expr: string): number {
  let n: number;
  try {
    n = atoi(expr);
  } catch (err) {
    throw new CronParseError(`failed to parse int from ${expr}: ${(err as Error).message}`);
  }
  if (n < 0) throw new CronParseError(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function parseIntOrName(expr: string, names: Record<string, number> | undefined): number {
  const named = names?.[expr.toLowerCase()];
  return named ?? mustParseInt(expr);
}

/** getRange: one comma-separated element of a field. */
function getRange(expr: string, r: Bounds): Field {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0]!.split('-');
  const singleDigit = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = r.min;
    end = r.max;
    star = true;
  } else {
    start = parseIntOrName(lowAndHigh[0]!, r.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1]!, r.names);
    else throw new CronParseError(`too many hyphens: ${expr}`);
  }
  let step: number;
  if (rangeAndStep.length === 1) {
    step = 1;
  } else if (rangeAndStep.length === 2) {
    step = mustParseInt(rangeAndStep[1]!);
    // "N/step" means "N-max/step".
    if (singleDigit) end = r.max;
    if (step > 1) star = false;
  } else {
    throw new CronParseError(`too many slashes: ${expr}`);
  }
  if (start < r.min) throw new CronParseError(`beginning of range (${start}) below minimum (${r.min}): ${expr}`);
  if (end > r.max) throw new CronParseError(`end of range (${end}) above maximum (${r.max}): ${expr}`);
  if (start > end) throw new CronParseError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronParseError(`step of range should be a positive number: ${expr}`);
  return fieldOf(start, end, step, star);
}

function getField(field: string, r: Bounds): Field {
  let out: Field = { bits: [], star: false };
  for (const expr of field.split(',').filter((s) => s !== '')) out = orFields(out, getRange(expr, r));
  return out;
}

// ---------------------------------------------------------------------------------------
// Time zones
// ---------------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * Go's time.LoadLocation as the API server and controller see it: "" and "UTC" are UTC,
 * "Local" is the process' zone, anything else must be an IANA name. Returns the name to
 * compute with, or throws `unknown time zone <name>`.
 */
export function loadLocation(name: string): string {
  if (name === '' || name === 'UTC') return 'UTC';
  if (name === 'Local') return Intl.DateTimeFormat().resolvedOptions().timeZone;
  let resolved: string;
  try {
    resolved = formatter(name).resolvedOptions().timeZone;
  } catch {
    throw new CronParseError(`unknown time zone ${name}`);
  }
  // Go reads zoneinfo files by exact name; Intl also accepts other casings.
  if (resolved.toLowerCase() === name.toLowerCase() && resolved !== name) throw new CronParseError(`unknown time zone ${name}`);
  return name;
}

/** The zone's UTC offset (ms) at instant ms. */
function offsetAt(ms: number, timeZone: string): number {
  if (timeZone === 'UTC') return 0;
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The wall-clock time of instant ms, as a naive UTC timestamp. */
function toWall(ms: number, timeZone: string): number {
  return ms + offsetAt(ms, timeZone);
}

/**
 * The instant of a wall-clock time (Go's time.Date): for a time inside a DST gap or
 * overlap the offset in effect just before the transition wins.
 */
function fromWall(wall: number, timeZone: string): number {
  if (timeZone === 'UTC') return wall;
  const first = offsetAt(wall, timeZone);
  const second = offsetAt(wall - first, timeZone);
  return wall - second;
}

// ---------------------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------------------

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A schedule of five cron fields (robfig's SpecSchedule, seconds fixed at 0). */
class SpecSchedule implements CronSchedule {
  constructor(
    private readonly minute: Field,
    private readonly hour: Field,
    private readonly dom: Field,
    private readonly month: Field,
    private readonly dow: Field,
    private readonly timeZone: string,
  ) {}

  private dayMatches(w: Date): boolean {
    const domMatch = this.dom.bits[w.getUTCDate()] === true;
    const dowMatch = this.dow.bits[w.getUTCDay()] === true;
    if (this.dom.star || this.dow.star) return domMatch && dowMatch;
    return domMatch || dowMatch;
  }

  /** SpecSchedule.Next on the wall clock: the first matching wall time at or after `start`. */
  private searchWall(start: number): number | undefined {
    let w = new Date(start);
    let added = false;
    const yearLimit = w.getUTCFullYear() + 5;
    wrap: for (;;) {
      if (w.getUTCFullYear() > yearLimit) return undefined;
      while (this.month.bits[w.getUTCMonth() + 1] !== true) {
        if (!added) {
          added = true;
          w = new Date(Date.UTC(w.getUTCFullYear(), w.getUTCMonth(), 1));
        }
        w = new Date(Date.UTC(w.getUTCFullYear(), w.getUTCMonth() + 1, w.getUTCDate(), w.getUTCHours(), w.getUTCMinutes()));
        if (w.getUTCMonth() === 0) continue wrap;
      }
      while (!this.dayMatches(w)) {
        if (!added) {
          added = true;
          w = new Date(Date.UTC(w.getUTCFullYear(), w.getUTCMonth(), w.getUTCDate()));
        }
        w = new Date(w.getTime() + DAY);
        if (w.getUTCDate() === 1) continue wrap;
      }
      while (this.hour.bits[w.getUTCHours()] !== true) {
        if (!added) {
          added = true;
          w = new Date(Math.floor(w.getTime() / HOUR) * HOUR);
        }
        w = new Date(w.getTime() + HOUR);
        if (w.getUTCHours() === 0) continue wrap;
      }
      while (this.minute.bits[w.getUTCMinutes()] !== true) {
        if (!added) {
          added = true;
          w = new Date(Math.floor(w.getTime() / MINUTE) * MINUTE);
        }
        w = new Date(w.getTime() + MINUTE);
        if (w.getUTCMinutes() === 0) continue wrap;
      }
      while (w.getUTCSeconds() !== 0) {
        if (!added) {
          added = true;
          w = new Date(Math.floor(w.getTime() / SECOND) * SECOND);
        }
        w = new Date(w.getTime() + SECOND);
        if (w.getUTCSeconds() === 0) continue wrap;
      }
      return w.getTime();
    }
  }

  next(afterMs: number): number | undefined {
    // Start at the upcoming second, on the zone's wall clock.
    let start = Math.floor(toWall(afterMs, this.timeZone) / SECOND) * SECOND + SECOND;
    for (let tries = 0; tries < 4; tries++) {
      const wall = this.searchWall(start);
      if (wall === undefined) return undefined;
      const at = fromWall(wall, this.timeZone);
      // A wall time repeated by a DST fall-back may map before afterMs: look further on.
      if (at > afterMs) return at;
      start = wall + SECOND;
    }
    return undefined;
  }
}

/** `@every <duration>` (robfig's ConstantDelaySchedule): at least one second, whole seconds. */
class ConstantDelaySchedule implements CronSchedule {
  private readonly delayMs: number;

  constructor(delayMs: number) {
    const d = Math.max(delayMs, SECOND);
    this.delayMs = d - (d % SECOND);
  }

  next(afterMs: number): number {
    return afterMs + this.delayMs - (((afterMs % SECOND) + SECOND) % SECOND);
  }
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: SECOND, m: MINUTE, h: HOUR };

/** Go's time.ParseDuration, in ms. */
function parseDuration(s: string): number {
  const invalid = () => new CronParseError(`time: invalid duration ${JSON.stringify(s)}`);
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();
  let total = 0;
  const re = /^(\d*(?:\.\d*)?)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest !== '') {
    const m = re.exec(rest);
    if (!m || m[1] === '' || m[1] === '.') {
      if (m === null && /^\d*(?:\.\d*)?$/.test(rest)) throw new CronParseError(`time: missing unit in duration ${JSON.stringify(s)}`);
      throw invalid();
    }
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

function parseDescriptor(descriptor: string, timeZone: string): CronSchedule {
  const all = (b: Bounds) => fieldOf(b.min, b.max, 1, true);
  const one = (v: number) => fieldOf(v, v);
  switch (descriptor) {
    case '@yearly':
    case '@annually':
      return new SpecSchedule(one(0), one(0), one(1), one(1), all(DOW), timeZone);
    case '@monthly':
      return new SpecSchedule(one(0), one(0), one(1), all(MONTHS), all(DOW), timeZone);
    case '@weekly':
      return new SpecSchedule(one(0), one(0), all(DOM), all(MONTHS), one(0), timeZone);
    case '@daily':
    case '@midnight':
      return new SpecSchedule(one(0), one(0), all(DOM), all(MONTHS), all(DOW), timeZone);
    case '@hourly':
      return new SpecSchedule(one(0), all(HOURS), all(DOM), all(MONTHS), all(DOW), timeZone);
  }
  const every = '@every ';
  if (descriptor.startsWith(every)) {
    let ms: number;
    try {
      ms = parseDuration(descriptor.slice(every.length));
    } catch (err) {
      throw new CronParseError(`failed to parse duration ${descriptor}: ${(err as Error).message}`);
    }
    return new ConstantDelaySchedule(ms);
  }
  throw new CronParseError(`unrecognized descriptor: ${descriptor}`);
}

/** Go's `%s` of a []string: `[a b c]`. */
function goStrings(fields: readonly string[]): string {
  return `[${fields.join(' ')}]`;
}

/**
 * cron.ParseStandard. `defaultTimeZone` stands for Go's time.Local (the zone a schedule
 * without `TZ=` runs in).
 * @throws CronParseError with robfig's message, e.g. `expected exactly 5 fields, found 1: [foo]`.
 */
export function parseStandard(spec: string, defaultTimeZone = 'UTC'): CronSchedule {
  if (spec.length === 0) throw new CronParseError('empty spec string');
  let timeZone = defaultTimeZone;
  let rest = spec;
  if (rest.startsWith('TZ=') || rest.startsWith('CRON_TZ=')) {
    const space = rest.indexOf(' ');
    const eq = rest.indexOf('=');
    const name = space < 0 ? rest.slice(eq + 1) : rest.slice(eq + 1, space);
    try {
      timeZone = loadLocation(name);
    } catch (err) {
      throw new CronParseError(`provided bad location ${name}: ${(err as Error).message}`);
    }
    rest = space < 0 ? '' : rest.slice(space).trim();
  }
  if (rest.startsWith('@')) return parseDescriptor(rest, timeZone);
  const fields = rest.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) throw new CronParseError(`expected exactly 5 fields, found ${fields.length}: ${goStrings(fields)}`);
  const minute = getField(fields[0]!, MINUTES);
  const hour = getField(fields[1]!, HOURS);
  const dom = getField(fields[2]!, DOM);
  const month = getField(fields[3]!, MONTHS);
  const dow = getField(fields[4]!, DOW);
  return new SpecSchedule(minute, hour, dom, month, dow, timeZone);
}

/** Go's `t.In(loc).Format(time.RFC3339)`: `2026-01-01T09:00:00+09:00`, or `Z` for UTC. */
export function formatRFC3339In(ms: number, timeZone: string): string {
  const secs = Math.floor(ms / SECOND) * SECOND;
  const offset = offsetAt(secs, timeZone);
  const wall = new Date(secs + offset).toISOString().slice(0, 19);
  if (offset === 0) return `${wall}Z`;
  const abs = Math.abs(offset) / MINUTE;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${wall}${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
