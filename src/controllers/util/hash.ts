/**
 * controller.ComputeHash: the pod-template-hash that names a Deployment's ReplicaSets
 * ("web-5644d7b6d9") and labels their pods.
 *
 * Upstream hashes a spew dump of the Go struct with FNV-32a; we hash a canonical JSON
 * rendering (keys sorted, undefined dropped) with the same FNV-32a, so the value differs
 * from upstream's but is stable across processes and restarts, and the format is the same:
 * the decimal uint32 passed through rand.SafeEncodeString (each digit mapped into the
 * vowel-free alphabet), 1–10 characters of [bcdfghjklmnpqrstvwxz2456789].
 */
import { NAME_SUFFIX_ALPHABET } from '../../apimachinery/meta.js';

const FNV32_OFFSET = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;

/** FNV-1a 32-bit over bytes, continuing from `h`. */
export function fnv32a(bytes: Uint8Array, h = FNV32_OFFSET): number {
  let hash = h >>> 0;
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, FNV32_PRIME) >>> 0;
  }
  return hash >>> 0;
}

/** JSON with object keys sorted at every level (a deterministic rendering to hash). */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJSON(x))).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.keys(v).sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJSON((v as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * rand.SafeEncodeString: maps each character to the alphabet by its byte value modulo 27,
 * so no encoded string spells a word.
 */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += NAME_SUFFIX_ALPHABET[s.charCodeAt(i) % NAME_SUFFIX_ALPHABET.length];
  return out;
}

/**
 * ComputeHash(template, collisionCount): the safe-encoded FNV-32a of the template, with
 * collisionCount (when set) hashed in as 4 little-endian bytes so that a bumped
 * Deployment status.collisionCount yields a new name.
 */
export function computeHash(template: unknown, collisionCount?: number | null): string {
  let h = fnv32a(new TextEncoder().encode(canonicalJSON(template)));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(b, h);
  }
  return safeEncodeString(String(h));
}
