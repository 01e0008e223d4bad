/**
 * Deep freezing of shared objects (STYLE.md 3, "never mutate a cached object"): informer
 * caches and the fake client's store hand the same parsed object to every reader, so it
 * is frozen once, bottom-up, and a stray write throws (ESM code is strict) instead of
 * silently corrupting every other reader's view.
 */

/**
 * Freezes v and everything reachable from it; returns v. An already frozen object is
 * taken as deeply frozen (this function always freezes children before parents), so
 * freezing a shared object twice costs nothing.
 */
export function deepFreeze<T>(v: T): T {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return v;
  if (Array.isArray(v)) {
    for (const x of v) deepFreeze(x);
  } else {
    for (const k in v) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return Object.freeze(v);
}
