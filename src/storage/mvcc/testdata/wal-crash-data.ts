/**
 * Deterministic record and snapshot contents shared by the WAL crash test and its child
 * process, so the test can check recovered bytes without being told them.
 */

/** Record payload for `index`: 64..2111 bytes, never all zeros. */
export function walCrashPayload(index: number): Buffer {
  const len = 64 + ((index * 7919) % 2048);
  const buf = Buffer.allocUnsafe(len);
  let x = (index * 2654435761) >>> 0;
  for (let i = 0; i < len; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    buf[i] = (x >>> 24) | 1;
  }
  buf.writeUInt32LE(index >>> 0, 0);
  return buf;
}

/** Snapshot chunks for `index`: a few chunks of varying size. */
export function* walCrashSnapshotChunks(index: number): Generator<Buffer> {
  for (let c = 0; c < 4; c++) yield Buffer.concat([Buffer.from(`snapshot ${index} chunk ${c}:`), walCrashPayload(index * 4 + c)]);
}
