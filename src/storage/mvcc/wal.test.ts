import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, open, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { crc32, crc32Js, Wal, WalCorruptError, type WalOptions, type WalRecovery } from './wal.js';
import { walCrashPayload, walCrashSnapshotChunks } from './testdata/wal-crash-data.js';

// The on-disk format, spelled out here so a change to it is a deliberate test change.
const SEGMENT_HEADER = 24;
const RECORD_HEADER = 20;

const tmpDirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'flotilla-wal-test-'));
  tmpDirs.push(d);
  return d;
}
after(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

/** A payload with no zero bytes (a zero run could pass for an unwritten sector). */
function payload(i: number, len = 100 + (i % 50)): Buffer {
  const b = Buffer.alloc(len);
  for (let j = 0; j < len; j++) b[j] = ((i * 31 + j * 7) % 255) + 1;
  return b;
}

async function openWal(dir: string, opts: Partial<WalOptions> = {}) {
  return Wal.open({ dir, ...opts });
}

/** Appends `n` records one batch (one write+fsync) each; returns their payloads by index. */
async function appendSeparately(wal: Wal, n: number, len?: number): Promise<Map<number, Buffer>> {
  const out = new Map<number, Buffer>();
  for (let i = 0; i < n; i++) {
    const data = payload(wal.lastAppendedIndex + 1, len);
    const { index, durable } = wal.append(data);
    out.set(index, data);
    await durable;
  }
  return out;
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'wal'))).filter((n) => n.endsWith('.wal')).sort().map((n) => join(dir, 'wal', n));
}

async function snapFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'snap'))).filter((n) => n.endsWith('.snap')).sort().map((n) => join(dir, 'snap', n));
}

/** Byte offsets of the records in a segment written with the given payload lengths. */
function recordOffsets(lengths: number[]): number[] {
  const offs: number[] = [];
  let off = SEGMENT_HEADER;
  for (const l of lengths) {
    offs.push(off);
    off += RECORD_HEADER + l;
  }
  offs.push(off);
  return offs;
}

async function flipByte(file: string, offset: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] ^= 0x40;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

async function zeroRange(file: string, from: number, to: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.write(Buffer.alloc(to - from), 0, to - from, from);
  } finally {
    await fh.close();
  }
}

function assertRecords(rec: WalRecovery, expected: Map<number, Buffer>, from = 1): void {
  const want = [...expected.entries()].filter(([i]) => i >= from).sort((a, b) => a[0] - b[0]);
  assert.deepEqual(rec.records.map((r) => r.index), want.map(([i]) => i));
  for (let k = 0; k < want.length; k++) assert.ok(rec.records[k]!.data.equals(want[k]![1]), `record ${want[k]![0]} differs`);
}

async function expectCorrupt(dir: string, file: string, offset: number | undefined, opts: Partial<WalOptions> = {}): Promise<WalCorruptError> {
  let caught: unknown;
  try {
    const { wal } = await openWal(dir, opts);
    await wal.close();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof WalCorruptError, `expected WalCorruptError, got ${String(caught)}`);
  assert.equal(caught.file, file);
  assert.ok(caught.message.includes(file), caught.message);
  if (offset !== undefined) {
    assert.equal(caught.offset, offset);
    assert.ok(caught.message.includes(`offset ${offset}`), caught.message);
  }
  assert.match(caught.message, /restore the data directory from a backup/);
  return caught;
}

describe('crc32', () => {
  test('matches the IEEE check value and continues over concatenated input', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.from('6789'), crc32(Buffer.from('12345'))), 0xcbf43926);
  });

  test('the portable fallback computes the same checksums', () => {
    for (const len of [0, 1, 7, 100, 4096]) {
      const data = payload(len, len);
      assert.equal(crc32Js(data), crc32(data), `length ${len}`);
      assert.equal(crc32Js(data, 0x12345678), crc32(data, 0x12345678), `length ${len}, continued`);
    }
  });
});

describe('Wal append and recovery', () => {
  test('an empty dir starts at index 1 and records survive reopen byte-exact', async () => {
    const dir = await tempDir();
    const { wal, recovery } = await openWal(dir);
    assert.deepEqual(recovery, { snapshot: undefined, records: [], warnings: [] });
    assert.equal((await readFile(join(dir, 'wal', 'VERSION'), 'utf8')), 'flotilla-wal 1\n');
    const written = await appendSeparately(wal, 3);
    assert.deepEqual([...written.keys()], [1, 2, 3]);
    const big = Buffer.alloc(300_000, 7);
    const { index, durable } = wal.append(big);
    assert.equal(index, 4);
    written.set(4, big);
    const empty = wal.append(Buffer.alloc(0));
    written.set(empty.index, Buffer.alloc(0));
    await Promise.all([durable, empty.durable]);
    await wal.close();

    const again = await openWal(dir);
    assert.deepEqual(again.recovery.warnings, []);
    assertRecords(again.recovery, written);
    assert.equal(again.wal.append(payload(6)).index, 6);
    await again.wal.close();
  });

  test('segment layout matches the worked example in the module comment', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir, { preallocateBytes: 8 });
    const a = wal.append(Buffer.from('abc'));
    const b = wal.append(Buffer.from('hi'));
    await Promise.all([a.durable, b.durable]);
    await wal.close();
    const [seg] = await segmentFiles(dir);
    assert.ok(seg!.endsWith('/wal/0000000000000001-0000000000000001.wal'));
    const f = await readFile(seg!);
    assert.equal(f.length, 0x45 + 8);
    assert.equal(f.subarray(0, 8).toString('latin1'), 'FLOTWAL\n');
    assert.equal(f.readUInt32LE(8), 1);
    assert.equal(f.readUInt32LE(12), 1);
    assert.equal(f.readUInt32LE(20), crc32(f.subarray(0, 20)));
    const rec = (off: number, index: number, batchOffset: number, data: string) => {
      assert.equal(f.readUInt32LE(off + 4), data.length);
      assert.equal(f.readUInt32LE(off + 8), index);
      assert.equal(f.readUInt32LE(off + 12), 0);
      assert.equal(f.readUInt32LE(off + 16), batchOffset);
      assert.equal(f.subarray(off + 20, off + 20 + data.length).toString(), data);
      assert.equal(f.readUInt32LE(off), crc32(f.subarray(off + 4, off + 20 + data.length)));
    };
    rec(0x18, 1, 0, 'abc');
    rec(0x2f, 2, 1, 'hi');
    assert.deepEqual(f.subarray(0x45), Buffer.alloc(8));
  });

  test('append copies its input', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir);
    const data = payload(1);
    const copy = Buffer.from(data);
    const { durable } = wal.append(data);
    data.fill(0x55);
    await durable;
    await wal.close();
    const { wal: w2, recovery } = await openWal(dir);
    assert.ok(recovery.records[0]!.data.equals(copy));
    await w2.close();
  });

  test('close waits for pending appends and later appends throw', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir);
    const written = new Map<number, Buffer>();
    for (let i = 1; i <= 200; i++) written.set(wal.append(payload(i)).index, payload(i));
    await wal.close();
    assert.throws(() => wal.append(payload(0)), /after close/);
    await wal.close(); // idempotent
    const { wal: w2, recovery } = await openWal(dir);
    assertRecords(recovery, written);
    await w2.close();
  });

  test('a failed write or fsync rejects its batch and stops the log', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir);
    const ok = await appendSeparately(wal, 2);
    // Pull the file out from under the log: the next write fails with EBADF.
    await (wal as any).fh.close();
    const a = wal.append(payload(3));
    const b = wal.append(payload(4));
    await assert.rejects(a.durable, /EBADF|closed/);
    await assert.rejects(b.durable);
    assert.throws(() => wal.append(payload(5)), /failed earlier/);
    await wal.close();
    const { wal: w2, recovery } = await openWal(dir);
    assertRecords(recovery, ok);
    await w2.close();
  });

  test('without preallocation the segment holds exactly header + records', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir, { preallocateBytes: 0 });
    await appendSeparately(wal, 3, 10);
    await wal.close();
    const [seg] = await segmentFiles(dir);
    assert.equal((await stat(seg!)).size, SEGMENT_HEADER + 3 * (RECORD_HEADER + 10));
    const { wal: w2, recovery } = await openWal(dir);
    assert.equal(recovery.records.length, 3);
    await w2.close();
  });
});

describe('group commit', () => {
  test('appends made in one tick share one write and one fdatasync', async () => {
    const dir = await tempDir();
    const registry = new Registry();
    const { wal } = await openWal(dir, { registry });
    const before = wal.stats();
    const appends = Array.from({ length: 64 }, (_, i) => wal.append(payload(i)));
    assert.equal(new Set(appends.map((a) => a.durable)).size, 1, 'one batch, one promise');
    await Promise.all(appends.map((a) => a.durable));
    const after = wal.stats();
    assert.equal(after.fsyncs - before.fsyncs, 1);
    assert.equal(after.batches - before.batches, 1);
    assert.equal(after.records - before.records, 64);

    const text = await registry.metrics();
    assert.match(text, /flotilla_wal_batch_records_sum 64/);
    assert.match(text, /flotilla_wal_batch_records_count 1/);
    assert.match(text, /etcd_disk_wal_fsync_duration_seconds_count 1/);
    assert.match(text, new RegExp(`etcd_disk_wal_write_bytes_total ${after.bytesWritten + after.preallocatedBytes}\\b`));
    await wal.close();
    // A second Wal on the same registry reuses the metrics instead of failing to register.
    const { wal: w2 } = await openWal(dir, { registry });
    await w2.close();
  });

  test('concurrent writers share fdatasyncs', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir);
    const before = wal.stats();
    const written = new Map<number, Buffer>();
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let k = 0; k < 20; k++) {
          const data = payload(wal.lastAppendedIndex + 1);
          const { index, durable } = wal.append(data);
          written.set(index, data);
          await durable;
        }
      }),
    );
    const s = wal.stats();
    assert.equal(s.records - before.records, 64 * 20);
    assert.ok(s.fsyncs - before.fsyncs < (64 * 20) / 4, `${s.fsyncs - before.fsyncs} fsyncs for ${64 * 20} appends`);
    await wal.close();
    const { wal: w2, recovery } = await openWal(dir);
    assertRecords(recovery, written);
    await w2.close();
  });

  test('noSync writes without fdatasync', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir, { noSync: true });
    const written = await appendSeparately(wal, 10);
    assert.equal(wal.stats().fsyncs, 0);
    await wal.close();
    const { wal: w2, recovery } = await openWal(dir);
    assertRecords(recovery, written);
    await w2.close();
  });
});

describe('segments', () => {
  test('roll over at segmentBytes, named by sequence and first index', async () => {
    const dir = await tempDir();
    const segmentBytes = 4096;
    const { wal } = await openWal(dir, { segmentBytes });
    const written = await appendSeparately(wal, 100, 300);
    await wal.close();
    const files = await segmentFiles(dir);
    assert.ok(files.length >= 8, `${files.length} segments`);
    let expectedFirst = 1;
    for (const [k, f] of files.entries()) {
      const m = /(\w{16})-(\w{16})\.wal$/.exec(f)!;
      assert.equal(parseInt(m[1]!, 16), k + 1);
      assert.equal(parseInt(m[2]!, 16), expectedFirst);
      const size = (await stat(f)).size;
      assert.ok(size <= segmentBytes, `${f} is ${size} bytes`);
      const n = Math.round((size - SEGMENT_HEADER) / (RECORD_HEADER + 300));
      if (k < files.length - 1) assert.equal(size, SEGMENT_HEADER + n * (RECORD_HEADER + 300), 'closed segments have no preallocated tail');
      expectedFirst += n;
    }
    const { wal: w2, recovery } = await openWal(dir, { segmentBytes });
    assertRecords(recovery, written);
    assert.equal(w2.sizeBytes(), (await Promise.all(files.map((f) => stat(f)))).reduce((a, s) => a + s.size, 0));
    await w2.close();
  });

  test('a missing middle segment is corruption', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir, { segmentBytes: 2048 });
    await appendSeparately(wal, 40, 200);
    await wal.close();
    const files = await segmentFiles(dir);
    await unlink(files[1]!);
    const err = await expectCorrupt(dir, files[2]!, 0);
    assert.match(err.message, /missing/);
  });

  test('a missing first segment without a snapshot is corruption', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir, { segmentBytes: 2048 });
    await appendSeparately(wal, 40, 200);
    await wal.close();
    const files = await segmentFiles(dir);
    await unlink(files[0]!);
    await expectCorrupt(dir, files[1]!, 0);
  });
});

describe('snapshots', () => {
  test('save, purge old segments and snapshots, recover snapshot + later records', async () => {
    const dir = await tempDir();
    const segmentBytes = 4096;
    const { wal } = await openWal(dir, { segmentBytes, keepSnapshots: 1 });
    const written = await appendSeparately(wal, 100, 300);
    const sizeBefore = wal.sizeBytes();
    const snapData = [Buffer.from('state at 60: '), Buffer.alloc(100_000, 3), Buffer.from('end')];
    await wal.saveSnapshot(60, snapData);
    const files = await segmentFiles(dir);
    const firstKept = parseInt(/-(\w{16})\.wal$/.exec(files[0]!)![1]!, 16);
    assert.ok(firstKept <= 61 && firstKept > 1, `first kept segment starts at ${firstKept}`);
    assert.ok(wal.sizeBytes() < sizeBefore + 100_100);

    const more = await appendSeparately(wal, 20, 300);
    await wal.saveSnapshot(110, (async function* () {
      yield Buffer.from('state at 110');
    })());
    assert.deepEqual((await snapFiles(dir)).map((f) => f.slice(-21)), ['000000000000006e.snap']);
    const all = [...(await segmentFiles(dir)), ...(await snapFiles(dir))];
    assert.equal(wal.sizeBytes(), (await Promise.all(all.map((f) => stat(f)))).reduce((a, s) => a + s.size, 0));
    await wal.close();

    const { wal: w2, recovery } = await openWal(dir, { segmentBytes, keepSnapshots: 1 });
    assert.equal(recovery.snapshot?.index, 110);
    assert.equal((await collect(recovery.snapshot!.chunks())).toString(), 'state at 110');
    assertRecords(recovery, new Map([...written, ...more]), 111);
    assert.equal(w2.append(payload(121)).index, 121);
    await w2.close();
  });

  test('open finishes a purge that a crash interrupted', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir, { segmentBytes: 2048 });
    const written = await appendSeparately(wal, 30, 200);
    await wal.saveSnapshot(10, [Buffer.from('s10')]);
    await appendSeparately(wal, 30, 200);
    await wal.saveSnapshot(50, [Buffer.from('s50')]);
    await wal.close();
    const segsBefore = (await segmentFiles(dir)).length;
    // keepSnapshots 1 now: as if the process died after saving snapshot 50, before purging.
    const { wal: w2, recovery } = await openWal(dir, { segmentBytes: 2048, keepSnapshots: 1 });
    assert.equal(recovery.snapshot?.index, 50);
    assert.deepEqual((await snapFiles(dir)).map((f) => f.slice(-7)), ['32.snap']);
    assert.ok((await segmentFiles(dir)).length < segsBefore);
    const all = [...(await segmentFiles(dir)), ...(await snapFiles(dir))];
    assert.equal(w2.sizeBytes(), (await Promise.all(all.map((f) => stat(f)))).reduce((a, s) => a + s.size, 0));
    assert.ok(written.size === 30);
    await w2.close();
  });

  test('chunks() returns the snapshot bytes exactly, however large', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir);
    await appendSeparately(wal, 5);
    const chunks = Array.from({ length: 40 }, (_, i) => payload(i, 50_000 + i));
    await wal.saveSnapshot(5, chunks);
    await wal.close();
    const { wal: w2, recovery } = await openWal(dir);
    assert.equal(recovery.snapshot?.index, 5);
    assert.deepEqual(recovery.records, []);
    assert.ok((await collect(recovery.snapshot!.chunks())).equals(Buffer.concat(chunks)));
    assert.ok((await collect(recovery.snapshot!.chunks())).equals(Buffer.concat(chunks)), 'chunks() can be read twice');
    await w2.close();
  });

  test('appends continue while a snapshot is being written', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir, { segmentBytes: 4096 });
    const written = await appendSeparately(wal, 30, 300);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const saving = wal.saveSnapshot(30, (async function* () {
      yield Buffer.from('part 1;');
      await gate;
      yield Buffer.from('part 2');
    })());
    for (const [i, d] of await appendSeparately(wal, 30, 300)) written.set(i, d);
    release();
    await saving;
    for (const [i, d] of await appendSeparately(wal, 5, 300)) written.set(i, d);
    await wal.close();
    const { wal: w2, recovery } = await openWal(dir, { segmentBytes: 4096 });
    assert.equal(recovery.snapshot?.index, 30);
    assert.equal((await collect(recovery.snapshot!.chunks())).toString(), 'part 1;part 2');
    assertRecords(recovery, written, 31);
    await w2.close();
  });

  test('rejects a snapshot index beyond the log or before the newest snapshot', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir);
    await appendSeparately(wal, 10);
    await assert.rejects(wal.saveSnapshot(11, []), /beyond the last appended index/);
    await wal.saveSnapshot(8, [Buffer.from('x')]);
    await assert.rejects(wal.saveSnapshot(7, []), /precedes the newest snapshot/);
    await wal.saveSnapshot(8, [Buffer.from('y')]);
    await wal.close();
    const { wal: w2, recovery } = await openWal(dir);
    assert.equal((await collect(recovery.snapshot!.chunks())).toString(), 'y');
    await w2.close();
  });

  test('a snapshot ahead of the durable log continues after the snapshot index', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir, { preallocateBytes: 0 });
    const written = await appendSeparately(wal, 20, 10);
    await wal.saveSnapshot(20, [Buffer.from('s20')]);
    await wal.close();
    // As if records 16..20 never reached the disk but the snapshot did.
    const [seg] = await segmentFiles(dir);
    await truncate(seg!, recordOffsets(Array(20).fill(10))[15]!);
    const { wal: w2, recovery } = await openWal(dir);
    assert.equal(recovery.snapshot?.index, 20);
    assert.deepEqual(recovery.records, []);
    assert.equal(w2.append(payload(21)).index, 21);
    await w2.close();
    const { wal: w3, recovery: r3 } = await openWal(dir);
    assert.deepEqual(r3.records.map((r) => r.index), [21]);
    assert.ok(written.size === 20);
    await w3.close();
  });

  test('leftover .tmp files from a crash are removed', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir);
    await appendSeparately(wal, 3);
    await wal.close();
    await writeFile(join(dir, 'snap', '0000000000000003.snap.tmp'), 'half a snapshot');
    await writeFile(join(dir, 'wal', '0000000000000002-0000000000000004.wal.tmp'), 'half a header');
    const { wal: w2, recovery } = await openWal(dir);
    assert.equal(recovery.snapshot, undefined);
    assert.equal(recovery.records.length, 3);
    assert.deepEqual((await readdir(join(dir, 'snap'))), []);
    await w2.close();
  });
});

describe('torn tail', () => {
  const lengths = [300, 700, 650];

  async function prepare(preallocateBytes?: number) {
    const dir = await tempDir();
    const { wal } = await openWal(dir, { preallocateBytes });
    const written = new Map<number, Buffer>();
    for (const len of lengths) {
      const data = payload(wal.lastAppendedIndex + 1, len);
      const { index, durable } = wal.append(data);
      written.set(index, data);
      await durable;
    }
    await wal.close();
    const [seg] = await segmentFiles(dir);
    return { dir, seg: seg!, written, image: await readFile(seg!) };
  }

  test('a last record cut at every byte offset is dropped with a warning', async () => {
    const { dir, seg, written, image } = await prepare();
    const offs = recordOffsets(lengths);
    const start = offs[2]!;
    const end = offs[3]!;
    for (let cut = start; cut < end; cut++) {
      await writeFile(seg, image.subarray(0, cut));
      const { wal, recovery } = await openWal(dir, { preallocateBytes: 4096 });
      const what = `cut at ${cut}`;
      assertRecords(recovery, new Map([...written].filter(([i]) => i <= 2)));
      if (cut === start) {
        assert.deepEqual(recovery.warnings, [], what);
      } else {
        assert.equal(recovery.warnings.length, 1, what);
        assert.ok(recovery.warnings[0]!.includes(`${seg}`) && recovery.warnings[0]!.includes(`offset ${start}`), recovery.warnings[0]);
      }
      assert.equal((await stat(seg)).size, start, what);
      // The log continues at index 3 and the new record survives another reopen.
      const { durable, index } = wal.append(payload(99));
      assert.equal(index, 3);
      await durable;
      await wal.close();
      const again = await openWal(dir, { preallocateBytes: 0 });
      assert.deepEqual(again.recovery.warnings, [], what);
      assert.deepEqual(again.recovery.records.map((r) => r.index), [1, 2, 3]);
      assert.ok(again.recovery.records[2]!.data.equals(payload(99)));
      await again.wal.close();
    }
  });

  test('sectors of the last record that never reached the disk (zeros) are a torn tail', async () => {
    const { dir, seg, written, image } = await prepare();
    const offs = recordOffsets(lengths);
    const start = offs[2]!;
    const end = offs[3]!;
    // Zero every 512-byte sector piece of the last record in turn (out-of-order persistence).
    for (let s = Math.floor(start / 512) * 512; s < end; s += 512) {
      const from = Math.max(s, start);
      const to = Math.min(s + 512, end);
      if (to - from < 8) continue;
      await writeFile(seg, image);
      await zeroRange(seg, from, to);
      const { wal, recovery } = await openWal(dir);
      assertRecords(recovery, new Map([...written].filter(([i]) => i <= 2)));
      assert.equal(recovery.warnings.length, 1, `zeroed ${from}..${to}`);
      await wal.close();
    }
  });

  test('a torn batch may hold valid records after the damaged one; they were never acknowledged', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir);
    const first = wal.append(payload(1, 600));
    await first.durable;
    // One batch of three records; the middle one loses a sector.
    const batch = [700, 800, 300].map((len, k) => wal.append(payload(2 + k, len)));
    await Promise.all(batch.map((b) => b.durable));
    await wal.close();
    const [seg] = await segmentFiles(dir);
    const offs = recordOffsets([600, 700, 800, 300]);
    const sector = Math.ceil(offs[2]! / 512) * 512;
    assert.ok(sector + 512 < offs[3]!);
    await zeroRange(seg!, sector, sector + 512);
    const { wal: w2, recovery } = await openWal(dir);
    assert.deepEqual(recovery.records.map((r) => r.index), [1, 2]);
    assert.equal(recovery.warnings.length, 1);
    await w2.close();
  });

  test('power loss: any subset of the last batch\'s sectors missing loses no acknowledged record', async () => {
    // WAL_SEED / WAL_TRIALS explore more cases locally (a failure prints the trial's seed).
    let seed = Number(process.env.WAL_SEED ?? 12345);
    const rand = (n: number) => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
    };
    const dir = await tempDir();
    for (let trial = 0; trial < Number(process.env.WAL_TRIALS ?? 150); trial++) {
      const trialSeed = seed;
      await rm(dir, { recursive: true, force: true });
      const { wal } = await openWal(dir, { preallocateBytes: 16 * 1024 });
      const lengths: number[] = [];
      const written = new Map<number, Buffer>();
      const addRecord = (len: number) => {
        const data = Buffer.alloc(len);
        for (let j = 0; j < len; j++) data[j] = rand(4) === 0 ? 0 : rand(256); // zero bytes are common in real records
        lengths.push(len);
        const { index, durable } = wal.append(data);
        written.set(index, data);
        return durable;
      };
      const acked = 1 + rand(4);
      for (let k = 0; k < acked; k++) await addRecord(1 + rand(1500));
      const last = Array.from({ length: 1 + rand(8) }, () => addRecord(1 + rand(1500)));
      await Promise.all(last);
      await wal.close();
      const [seg] = await segmentFiles(dir);
      const offs = recordOffsets(lengths);
      const batchStart = offs[acked]!;
      const batchEnd = offs.at(-1)!;
      // Each sector the last write touched reached the disk or did not (then it reads as zeros).
      for (let s = Math.floor(batchStart / 512) * 512; s < batchEnd; s += 512) {
        if (rand(3) === 0) await zeroRange(seg!, Math.max(s, batchStart), Math.min(s + 512, batchEnd));
      }
      const what = `trial ${trial} (seed ${trialSeed})`;
      const { wal: w2, recovery } = await openWal(dir).catch((err: Error) => assert.fail(`${what}: ${err.message}`));
      assert.ok(recovery.records.length >= acked, what);
      recovery.records.forEach((r, k) => {
        assert.equal(r.index, k + 1, what);
        assert.ok(r.data.equals(written.get(r.index)!), `${what}: record ${r.index}`);
      });
      assert.ok(recovery.warnings.length <= 1, what);
      await w2.close();
    }
  });

  test('preallocated zeros after the last record are not a tear', async () => {
    const { dir, seg, written } = await prepare(64 * 1024);
    assert.ok((await stat(seg)).size >= 64 * 1024);
    const { wal, recovery } = await openWal(dir);
    assert.deepEqual(recovery.warnings, []);
    assertRecords(recovery, written);
    await wal.close();
  });
});

describe('corruption', () => {
  test('a flipped byte anywhere in a middle record names the file and the record offset', async () => {
    const dir = await tempDir();
    const lengths = [120, 130, 140, 150];
    const { wal } = await openWal(dir);
    for (const len of lengths) await wal.append(payload(wal.lastAppendedIndex + 1, len)).durable;
    await wal.close();
    const [seg] = await segmentFiles(dir);
    const image = await readFile(seg!);
    const offs = recordOffsets(lengths);
    for (let b = offs[1]!; b < offs[2]!; b++) {
      await writeFile(seg!, image);
      await flipByte(seg!, b);
      await expectCorrupt(dir, seg!, offs[1]!);
    }
    // Undamaged, the same file opens cleanly.
    await writeFile(seg!, image);
    const { wal: w2, recovery } = await openWal(dir);
    assert.equal(recovery.records.length, 4);
    await w2.close();
  });

  test('a flipped payload byte in the last record is corruption, not a tear', async () => {
    const dir = await tempDir();
    const lengths = [120, 130];
    const { wal } = await openWal(dir);
    for (const len of lengths) await wal.append(payload(wal.lastAppendedIndex + 1, len)).durable;
    await wal.close();
    const [seg] = await segmentFiles(dir);
    const offs = recordOffsets(lengths);
    await flipByte(seg!, offs[1]! + RECORD_HEADER + 50);
    await expectCorrupt(dir, seg!, offs[1]!);
  });

  test('a flipped byte in a segment that is not the last one', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir, { segmentBytes: 2048 });
    await appendSeparately(wal, 30, 200);
    await wal.close();
    const files = await segmentFiles(dir);
    assert.ok(files.length >= 3);
    const offs = recordOffsets([200, 200, 200]);
    // Even the last record of a closed segment: the next segment proves it was complete.
    const image = await readFile(files[0]!);
    const count = Math.round((image.length - SEGMENT_HEADER) / (RECORD_HEADER + 200));
    const lastOff = SEGMENT_HEADER + (count - 1) * (RECORD_HEADER + 200);
    for (const [off, at] of [[offs[1]!, offs[1]! + 30], [lastOff, lastOff + RECORD_HEADER + 199]] as const) {
      await writeFile(files[0]!, image);
      await flipByte(files[0]!, at);
      await expectCorrupt(dir, files[0]!, off, { segmentBytes: 2048 });
    }
    // A truncated non-last segment is corruption too.
    await writeFile(files[0]!, image.subarray(0, lastOff + 10));
    await expectCorrupt(dir, files[0]!, lastOff, { segmentBytes: 2048 });
  });

  test('a damaged segment header', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir);
    await appendSeparately(wal, 3);
    await wal.close();
    const [seg] = await segmentFiles(dir);
    await flipByte(seg!, 14);
    await expectCorrupt(dir, seg!, 0);
  });

  test('a flipped byte in the only snapshot (header, data, trailer)', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir, { segmentBytes: 2048, keepSnapshots: 1 });
    await appendSeparately(wal, 30, 200);
    await wal.saveSnapshot(25, [Buffer.alloc(5000, 9)]);
    await wal.close();
    const [snap] = await snapFiles(dir);
    const image = await readFile(snap!);
    const trailer = image.length - 48;
    const cases = [
      [3, 0], // header magic
      [17, 0], // header index (header checksum)
      [40, 32], // data: the sha256 cannot say where, so the offset is the start of the data
      [2000, 32],
      [trailer + 2, trailer], // trailer magic
      [trailer + 9, trailer + 8], // trailer data length
      [trailer + 30, 32], // the sha256 itself
    ] as const;
    for (const [at, off] of cases) {
      await writeFile(snap!, image);
      await flipByte(snap!, at);
      await expectCorrupt(dir, snap!, off, { segmentBytes: 2048, keepSnapshots: 1 });
    }
    await writeFile(snap!, image.subarray(0, 100));
    await expectCorrupt(dir, snap!, undefined, { segmentBytes: 2048, keepSnapshots: 1 });
  });

  test('a damaged newest snapshot falls back to the older one plus the log, with a warning', async () => {
    const dir = await tempDir();
    const opts = { segmentBytes: 2048 };
    const { wal } = await openWal(dir, opts);
    const written = await appendSeparately(wal, 30, 200);
    await wal.saveSnapshot(10, [Buffer.from('s10')]);
    for (const [i, d] of await appendSeparately(wal, 30, 200)) written.set(i, d);
    await wal.saveSnapshot(50, [Buffer.from('s50')]);
    for (const [i, d] of await appendSeparately(wal, 5, 200)) written.set(i, d);
    await wal.close();
    const snaps = await snapFiles(dir);
    assert.equal(snaps.length, 2);
    await flipByte(snaps[1]!, 33);
    const { wal: w2, recovery } = await openWal(dir, opts);
    assert.equal(recovery.snapshot?.index, 10);
    assert.equal((await collect(recovery.snapshot!.chunks())).toString(), 's10');
    assertRecords(recovery, written, 11);
    assert.equal(recovery.warnings.length, 1);
    assert.ok(recovery.warnings[0]!.includes(snaps[1]!), recovery.warnings[0]);
    await w2.close();
  });

  test('a damaged snapshot whose records were purged cannot fall back', async () => {
    const dir = await tempDir();
    const opts = { segmentBytes: 2048 };
    const { wal } = await openWal(dir, opts);
    await appendSeparately(wal, 30, 200);
    await wal.saveSnapshot(10, [Buffer.from('s10')]);
    await appendSeparately(wal, 30, 200);
    await wal.saveSnapshot(50, [Buffer.from('s50')]);
    await appendSeparately(wal, 30, 200);
    await wal.saveSnapshot(80, [Buffer.from('s80')]);
    await wal.close();
    const snaps = await snapFiles(dir);
    assert.deepEqual(snaps.map((s) => s.slice(-7)), ['32.snap', '50.snap']);
    await flipByte(snaps[1]!, 33);
    await flipByte(snaps[0]!, 33);
    await expectCorrupt(dir, snaps[1]!, 32, opts);
  });

  test('a directory locked by a live process is refused; a lock left by a dead one is taken over', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir);
    await appendSeparately(wal, 2);
    await wal.close();
    const lockPath = join(dir, 'wal', 'LOCK');
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const otherExited = new Promise((r) => other.once('exit', r));
    try {
      await writeFile(lockPath, `pid=${other.pid} start=unknown\n`);
      await assert.rejects(openWal(dir), (err: Error) => err.message.includes(`in use by process ${other.pid}`) && err.message.includes(lockPath));
    } finally {
      other.kill('SIGKILL');
      await otherExited;
    }
    const { wal: w2, recovery } = await openWal(dir);
    assert.equal(recovery.records.length, 2);
    assert.match(await readFile(lockPath, 'utf8'), new RegExp(`^pid=${process.pid} `));
    await w2.close();
    await assert.rejects(stat(lockPath), /ENOENT/);
  });

  test('a data dir of another format version is refused with a clear message', async () => {
    const dir = await tempDir();
    const { wal } = await openWal(dir);
    await wal.close();
    await writeFile(join(dir, 'wal', 'VERSION'), 'flotilla-wal 2\n');
    await assert.rejects(openWal(dir), /reads only "flotilla-wal 1"/);
  });
});

describe('crash', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const fromSources = import.meta.url.endsWith('.ts');
  const SEGMENT_BYTES = 256 * 1024;
  const SNAPSHOT_EVERY = 1000;
  const childArgs = fromSources
    ? ['--import', 'tsx', join(here, 'testdata', 'wal-crash-child.ts')]
    : ['--enable-source-maps', join(here, 'testdata', 'wal-crash-child.js')];

  /** Runs the child until it has acknowledged at least `minAcks` records, then SIGKILLs it after a random delay. */
  async function runAndKill(dir: string, minAcks: number): Promise<{ acked: number[]; snaps: number[] }> {
    const proc = spawn(process.execPath, [...childArgs, dir, String(SEGMENT_BYTES), String(SNAPSHOT_EVERY)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let acks = 0;
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          acks += d.toString().split('\n').length - 1;
          if (acks >= minAcks) resolve();
        });
        proc.once('exit', (code) => reject(new Error(`child exited early (${code}): ${err}`)));
      });
      await new Promise((r) => setTimeout(r, Math.random() * 150));
    } finally {
      proc.kill('SIGKILL');
      await exited;
    }
    const lines = out.split('\n');
    lines.pop(); // an incomplete last line is not an acknowledgement
    return {
      acked: lines.filter((l) => /^\d+$/.test(l)).map(Number),
      snaps: lines.filter((l) => l.startsWith('snap ')).map((l) => Number(l.slice(5))),
    };
  }

  test('SIGKILL at a random moment loses no acknowledged record', { timeout: 120_000 }, async (t) => {
    const dir = await tempDir();
    let maxAcked = 0;
    let maxSnap = 0;
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const { acked, snaps } = await runAndKill(dir, 1500 + Math.floor(Math.random() * 3000));
      assert.ok(acked.length > 0);
      maxAcked = Math.max(maxAcked, ...acked);
      maxSnap = Math.max(maxSnap, ...snaps);

      const { wal, recovery } = await openWal(dir, { segmentBytes: SEGMENT_BYTES });
      const base = recovery.snapshot?.index ?? 0;
      assert.ok(base >= maxSnap, `snapshot ${base} older than acknowledged snapshot ${maxSnap}`);
      if (recovery.snapshot) {
        const want = Buffer.concat([...walCrashSnapshotChunks(base)]);
        assert.ok((await collect(recovery.snapshot.chunks())).equals(want), `snapshot ${base} content`);
      }
      let expect = base + 1;
      for (const r of recovery.records) {
        assert.equal(r.index, expect++);
        assert.ok(r.data.equals(walCrashPayload(r.index)), `record ${r.index} content`);
      }
      const last = expect - 1;
      assert.ok(last >= maxAcked, `round ${round}: acknowledged ${maxAcked} but recovered only up to ${last}`);
      for (const w of recovery.warnings) assert.match(w, /torn tail/);
      t.diagnostic(`round ${round}: acknowledged up to ${maxAcked}, recovered snapshot ${base} + ${recovery.records.length} records up to ${last}, ${recovery.warnings.length} warnings`);
      if (round === rounds - 1) assert.ok(recovery.snapshot, 'snapshots were taken and recovered');
      await wal.close();
    }
  });
});
