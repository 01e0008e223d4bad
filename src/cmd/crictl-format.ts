/**
 * How `flotilla crictl` prints, after kubernetes-sigs/cri-tools cmd/crictl (display.go,
 * util.go) and the Go libraries it prints with: text/tabwriter tables (min width 20,
 * padding 3), go-units HumanDuration for CREATED, protojson (EmitDefaultValues, two-space
 * indent) for `-o json`, and encoding/json (sorted keys, HTML-escaped) for inspect output.
 * Pure functions, so the exact shapes are unit-tested without a runtime.
 */

/** crictl's truncated ID length (util.go truncatedIDLen). */
export const TRUNCATED_ID_LEN = 13;

/** util.go getTruncatedID: strip `prefix`, keep the first 13 characters. */
export function truncatedID(id: string, prefix = ''): string {
  const s = prefix && id.startsWith(prefix) ? id.slice(prefix.length) : id;
  return s.length > TRUNCATED_ID_LEN ? s.slice(0, TRUNCATED_ID_LEN) : s;
}

/** go-units HumanDuration (what crictl prints before " ago"). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

/** The CREATED cell: "2 minutes ago". `createdNs` as the CRI gives it (ns since the epoch). */
export function createdAgo(createdNs: bigint, nowMs: number): string {
  return `${humanDuration(nowMs - Number(createdNs / 1_000_000n))} ago`;
}

/**
 * text/tabwriter with crictl's settings (minwidth 20, tabwidth 1, padding 3, ' '): every
 * cell but a line's last is padded to max(20, widest cell of its column + 3).
 */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    for (let c = 0; c < r.length - 1; c++) widths[c] = Math.max(widths[c] ?? 20, [...r[c]!].length + 3);
  }
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell + ' '.repeat(widths[c]! - [...cell].length))).join('') + '\n').join('');
}

/** Go's time.RFC3339Nano of a CRI time (ns since the epoch), in UTC. */
export function rfc3339NanoFromNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const frac = (ns % 1_000_000_000n + 1_000_000_000n) % 1_000_000_000n;
  const base = new Date(Number(ms)).toISOString().slice(0, 19);
  const f = frac.toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${f ? `.${f}` : ''}Z`;
}

/** Fields that are proto maps: protojson prints their keys sorted. */
const MAP_FIELDS = new Set(['labels', 'annotations', 'info', 'labelSelector']);

/**
 * A decoded message (proto-loader, camelCase, defaults, longs/enums as strings) in
 * protojson's EmitDefaultValues shape: unset sub-messages (null) left out, map keys sorted,
 * fields in declaration order (the decoder's order).
 */
export function protojsonValue(v: unknown, key = ''): unknown {
  if (v === null || v === undefined) return undefined;
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (Array.isArray(v)) return v.map((x) => protojsonValue(x));
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = MAP_FIELDS.has(key) ? Object.keys(o).sort() : Object.keys(o);
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const x = protojsonValue(o[k], k);
      if (x !== undefined) out[k] = x;
    }
    return out;
  }
  return v;
}

/** protojson.MarshalOptions{EmitDefaultValues: true, Indent: "  "} of a decoded message. */
export function protojson(msg: unknown): string {
  return JSON.stringify(protojsonValue(msg), null, 2);
}

/** Go's encoding/json escaping of <, > and & (json.Marshal's default). */
function goEscape(s: string): string {
  return s.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) out[k] = sortKeysDeep(o[k]);
    return out;
  }
  return v;
}

/**
 * util.go outputStatusData for `-o json`: per object `{status, <info keys>}` (an info value
 * starting with "{" is parsed as JSON, else its quotes are trimmed), a single object not
 * wrapped in an array, keys sorted as Go maps marshal, two-space indent.
 */
export function statusDataJSON(items: Array<{ status: unknown; info?: Record<string, string> }>): string {
  const result = items.map(({ status, info }) => {
    const m: Record<string, unknown> = { status };
    for (const [k, val] of Object.entries(info ?? {})) {
      if (val.startsWith('{')) m[k] = JSON.parse(val) as unknown;
      else m[k] = val.replace(/^"+|"+$/g, '');
    }
    return m;
  });
  const v = result.length === 1 ? result[0] : result;
  return goEscape(JSON.stringify(sortKeysDeep(v), null, 2));
}

/** A CRI sandbox state as crictl's tables print it. */
export function podStateName(state: string): string {
  return state === 'SANDBOX_READY' ? 'Ready' : 'NotReady';
}

/** A CRI container state as crictl's tables print it. */
export function containerStateName(state: string): string {
  return ({ CONTAINER_CREATED: 'Created', CONTAINER_RUNNING: 'Running', CONTAINER_EXITED: 'Exited' } as Record<string, string>)[state] ?? 'Unknown';
}

/** image.go normalizeRepoTagPair: [repository, tag] pairs, `<none>` when untagged. */
export function repoTagPairs(repoTags: string[], imageName: string): Array<[string, string]> {
  if (repoTags.length === 0) return [[imageName, '<none>']];
  return repoTags.map((t): [string, string] => {
    const i = t.lastIndexOf(':');
    if (i < 0) return ['errorRepoTag', 'errorRepoTag'];
    const name = t.slice(0, i);
    return [name === '<none>' ? imageName : name, t.slice(i + 1)];
  });
}

/** image.go normalizeRepoDigest: [repository, digest] of the first repo digest. */
export function repoDigest(repoDigests: string[]): [string, string] {
  if (repoDigests.length === 0) return ['<none>', '<none>'];
  const parts = repoDigests[0]!.split('@');
  return parts.length === 2 ? [parts[0]!, parts[1]!] : ['errorName', 'errorRepoDigest'];
}
