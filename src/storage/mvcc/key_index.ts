/**
 * The in-memory MVCC index: an ordered map from key to that key's newest revision, each
 * revision linking to the previous one of the same key (etcd's keyIndex, flattened).
 *
 * Keys are latin1 strings of the key bytes: one char per byte, so JS string order is
 * byte order and the string is compact.
 *
 * Invariants, per key (newest first through `prev`):
 *  - mod revisions strictly decrease along `prev`;
 *  - a tombstone (version 0) ends a generation: the revision before it (if retained) is
 *    the generation's last live one, the revision after it starts a new generation
 *    (version 1, createRevision = its own mod);
 *  - compaction at C keeps, per key, the newest revision <= C unless it is a tombstone,
 *    and cuts `prev` below it; a key whose only revision is such a tombstone is removed.
 *
 *   Example: put a@2, put a@3, del a@5, put a@7, compact(5):
 *     before: a -> {7,v1,c7} -> {5,tomb} -> {3,v2,c2} -> {2,v1,c2}
 *     after:  a -> {7,v1,c7}            (newest <= 5 is the tombstone: dropped)
 *     compact(4) instead would keep:  a -> {7} -> {5,tomb} -> {3,v2,c2}
 */
import sortedBtree from 'sorted-btree';
import type { KeyValue } from './types.js';

// sorted-btree is CommonJS with `exports.default`: under Node's ESM interop the default
// import is the exports object.
const BTree = sortedBtree.default;
type BTree<K, V> = sortedBtree.default<K, V>;

/**
 * A value as the store keeps it. Below 64 KiB: a latin1 string of the bytes, which lives
 * in the JS heap (16 bytes of overhead, moved and compacted by the GC, no fragmentation);
 * larger: an exact-size Buffer of its own. Never a caller's buffer (which may be reused
 * or be a slice of a large message) and never a slice of Node's shared 8 KiB pool, which a
 * long-lived value would pin together with unrelated garbage.
 */
export type ValueData = string | Buffer;

const STRING_VALUE_MAX = 64 * 1024;

/** Copies bytes into the store's own representation. */
export function toValueData(v: Buffer): ValueData {
  if (v.length < STRING_VALUE_MAX) return v.toString('latin1');
  const out = Buffer.allocUnsafeSlow(v.length);
  v.copy(out);
  return out;
}

/** One revision of one key. Immutable except `prev` (cut by compaction). */
export class Rev {
  constructor(
    /** The key as a latin1 string (shared with the index's key). */
    readonly key: string,
    readonly mod: number,
    /** 0 for a tombstone. */
    readonly create: number,
    /** 0 for a tombstone. */
    readonly version: number,
    /** The value bytes (see ValueData); '' for a tombstone. */
    readonly data: ValueData,
    readonly lease: bigint,
    public prev: Rev | undefined,
  ) {}

  /** The value as a fresh Buffer (callers may keep or modify it). */
  get value(): Buffer {
    const d = this.data;
    return typeof d === 'string' ? (d.length === 0 ? Buffer.alloc(0) : Buffer.from(d, 'latin1')) : Buffer.from(d);
  }

  get tombstone(): boolean {
    return this.version === 0;
  }
}

export const EMPTY = Buffer.alloc(0);

/** The newest revision of a chain at or before `rev`, or undefined; tombstones included. */
export function revAt(head: Rev | undefined, rev: number): Rev | undefined {
  let r = head;
  while (r !== undefined && r.mod > rev) r = r.prev;
  return r;
}

/** The live value at `rev` (undefined if missing or deleted). */
export function liveAt(head: Rev | undefined, rev: number): Rev | undefined {
  const r = revAt(head, rev);
  return r === undefined || r.version === 0 ? undefined : r;
}

export function toKeyValue(r: Rev, keysOnly = false): KeyValue {
  return {
    key: Buffer.from(r.key, 'latin1'),
    createRevision: r.create,
    modRevision: r.mod,
    version: r.version,
    value: keysOnly ? Buffer.alloc(0) : r.value,
    lease: r.lease,
  };
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Greater than every latin1 string: the exclusive upper bound of an open-ended range. */
export const KEY_INFINITY = '\u0100';

/**
 * A key range in latin1 form. end undefined = the single key `start`; otherwise the
 * half-open [start, end), where KEY_INFINITY means "no upper bound".
 */
export interface KeyRange {
  start: string;
  end?: string;
}

/** etcd's range semantics for (key, rangeEnd), see RangeRequest. */
export function keyRange(key: Buffer, rangeEnd?: Buffer): KeyRange {
  const start = key.toString('latin1');
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: KEY_INFINITY };
  return { start, end: rangeEnd.toString('latin1') };
}

export function inRange(r: KeyRange, k: string): boolean {
  return r.end === undefined ? k === r.start : k >= r.start && k < r.end;
}

export class KeyIndex {
  readonly tree: BTree<string, Rev> = new BTree<string, Rev>(undefined, compareKeys, 64);

  get(key: string): Rev | undefined {
    return this.tree.get(key);
  }

  set(key: string, head: Rev): void {
    this.tree.set(key, head);
  }

  delete(key: string): void {
    this.tree.delete(key);
  }

  /** Calls fn for the newest revision of every key in range, in key order. */
  forEach(r: KeyRange, fn: (head: Rev) => void): void {
    if (r.end === undefined) {
      const h = this.tree.get(r.start);
      if (h !== undefined) fn(h);
      return;
    }
    if (r.end <= r.start) return;
    this.tree.forRange(r.start, r.end, false, (_k, v) => {
      fn(v);
    });
  }

  get size(): number {
    return this.tree.size;
  }
}
