/**
 * Helpers shared by every resource's server-side Table printer (upstream
 * pkg/printers/internalversion and k8s.io/apimachinery/pkg/util/duration).
 *
 * The AGE cell of every table is {@link translateTimestampSince}: kubectl prints the cell
 * string as is, so the rounding here is what users see (`5m`, `3h12m`, `2d3h`, `<unknown>`).
 */
import type { TableColumn } from './types.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Go's int(x) on a float: truncation toward zero. */
function trunc(x: number): number {
  return Math.trunc(x);
}

/**
 * duration.HumanDuration: a succinct duration with ~2-3 significant figures, used for AGE
 * columns. Examples: 59s → "59s", 119s → "119s", 2m → "2m", 9m59s → "9m59s",
 * 10m30s → "10m", 3h5m → "3h5m", 8h30m → "8h", 47h → "47h", 2d → "2d", 2d5h → "2d5h",
 * 8d → "8d", 2y → "2y", 2y30d → "2y30d", 8y → "8y". Negative durations within two seconds
 * print "0s" (clock skew); further in the future is "<invalid>".
 */
export function humanDuration(ms: number): string {
  const seconds = trunc(ms / SECOND);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = trunc(ms / MINUTE);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = trunc(ms / HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${trunc(hours / 24)}d` : `${trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = trunc(hours / 24) % 365;
    const years = trunc(hours / 24 / 365);
    return dy === 0 ? `${years}y` : `${years}y${dy}d`;
  }
  return `${trunc(hours / 24 / 365)}y`;
}

/** duration.ShortHumanDuration: one unit only ("45s", "12m", "5h", "3d", "2y"). */
export function shortHumanDuration(ms: number): string {
  const seconds = trunc(ms / SECOND);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60) return `${seconds}s`;
  const minutes = trunc(ms / MINUTE);
  if (minutes < 60) return `${minutes}m`;
  const hours = trunc(ms / HOUR);
  if (hours < 24) return `${hours}h`;
  if (hours < 24 * 365) return `${trunc(hours / 24)}d`;
  return `${trunc(hours / 24 / 365)}y`;
}

/** Parses an RFC 3339 timestamp (metav1.Time / MicroTime); undefined when absent or bad. */
export function parseTimestamp(ts: unknown): number | undefined {
  if (typeof ts !== 'string' || ts === '') return undefined;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * translateTimestampSince: the AGE cell for a metav1.Time, `<unknown>` when unset (Go's
 * zero time), otherwise {@link humanDuration} of now − ts.
 */
export function translateTimestampSince(ts: unknown, nowMs: number): string {
  const t = parseTimestamp(ts);
  if (t === undefined) return '<unknown>';
  return humanDuration(nowMs - t);
}

/** translateMicroTimestampSince: the same for a metav1.MicroTime (events' eventTime). */
export function translateMicroTimestampSince(ts: unknown, nowMs: number): string {
  return translateTimestampSince(ts, nowMs);
}

/** ObjectMeta's swagger doc for `name`: the description of every table's Name column. */
export const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';

/** ObjectMeta's swagger doc for `creationTimestamp`: the description of every Age column. */
export const CREATION_TIMESTAMP_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

/** The Name column every upstream table starts with (format "name", which kubectl uses for -o name and sorting). */
export const nameColumn: TableColumn = { name: 'Name', type: 'string', format: 'name', description: NAME_DESCRIPTION, priority: 0 };

/** The Age column (a string cell from {@link translateTimestampSince}). */
export const ageColumn: TableColumn = { name: 'Age', type: 'string', description: CREATION_TIMESTAMP_DESCRIPTION, priority: 0 };

/** A column literal with priority defaulted to 0 (shown without -o wide). */
export function column(name: string, type: TableColumn['type'], description: string, priority: 0 | 1 = 0, format?: string): TableColumn {
  return format === undefined ? { name, type, description, priority } : { name, type, format, description, priority };
}

/** The object's metadata.name ("" when unset), the first cell of every row. */
export function objectName(obj: { metadata?: { name?: string } }): string {
  return obj.metadata?.name ?? '';
}

/** The AGE cell for obj's creationTimestamp. */
export function objectAge(obj: { metadata?: { creationTimestamp?: string | null } }, nowMs: number): string {
  return translateTimestampSince(obj.metadata?.creationTimestamp ?? undefined, nowMs);
}

/**
 * labels.FormatLabels / a selector map printed as upstream's `labels.SelectorFromSet(m).String()`:
 * `k=v,k2=v2` sorted by key, `<none>` when empty (the SELECTOR cells).
 */
export function formatSelectorMap(m: Record<string, string> | undefined | null): string {
  if (!m) return '<none>';
  const keys = Object.keys(m).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${m[k]}`).join(',');
}

/** Upstream's `strings.Join(list, ",")` with `<none>` for an empty list. */
export function joinOrNone(list: readonly string[]): string {
  return list.length === 0 ? '<none>' : list.join(',');
}

/**
 * layoutContainerCells: the CONTAINERS and IMAGES cells of workload tables, each the
 * containers' names (images) joined with ",".
 */
export function layoutContainerCells(containers: readonly { name?: string; image?: string }[] | undefined): [names: string, images: string] {
  const list = containers ?? [];
  return [list.map((c) => c.name ?? '').join(','), list.map((c) => c.image ?? '').join(',')];
}
