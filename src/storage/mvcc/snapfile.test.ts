import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  checkSnapshotFile,
  parseSnapshotFileName,
  readSnapshotData,
  SNAP_HEADER_BYTES,
  SNAP_TRAILER_BYTES,
  snapshotFileName,
  writeSnapshotFile,
} from './snapfile.js';

const tmpDirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'flotilla-snapfile-test-'));
  tmpDirs.push(d);
  return d;
}
after(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 17) & 0xff;
  return b;
}

describe('snapshot file', () => {
  test('the worked example in the module comment', async () => {
    const dir = await tempDir();
    const { path, size } = await writeSnapshotFile(dir, 0x2a, [Buffer.from('hi')], { sync: true });
    assert.equal(path, join(dir, '000000000000002a.snap'));
    assert.equal(size, 82);
    const f = await readFile(path);
    assert.equal(f.length, 82);
    assert.equal(f.subarray(0, 8).toString('latin1'), 'FLOTSNAP');
    assert.equal(f.readUInt32LE(8), 1);
    assert.equal(f.readUInt32LE(16), 0x2a);
    assert.deepEqual(f.subarray(24, 28), createHash('sha256').update(f.subarray(0, 24)).digest().subarray(0, 4));
    assert.equal(f.subarray(0x20, 0x22).toString(), 'hi');
    assert.equal(f.subarray(0x22, 0x2a).toString('latin1'), 'FLOTSEND');
    assert.equal(f.readUInt32LE(0x2a), 2);
    assert.deepEqual(f.subarray(0x32), createHash('sha256').update(f.subarray(0, 0x22)).digest());
  });

  const cases: { name: string; chunks: () => Iterable<Buffer> | AsyncIterable<Buffer> }[] = [
    { name: 'no chunks', chunks: () => [] },
    { name: 'empty chunks', chunks: () => [Buffer.alloc(0), Buffer.alloc(0)] },
    { name: 'many tiny chunks', chunks: () => Array.from({ length: 5000 }, (_, i) => bytes(1 + (i % 7), i)) },
    { name: 'one chunk larger than the write size', chunks: () => [bytes(3 * 1024 * 1024 + 5, 1)] },
    { name: 'mixed sizes from an async generator', chunks: async function* () {
      for (let i = 0; i < 20; i++) yield bytes(i % 3 === 0 ? 700_000 : 100 + i, i);
    } },
  ];
  for (const tc of cases) {
    test(`round trip: ${tc.name}`, async () => {
      const dir = await tempDir();
      const want = Buffer.concat([...(await collect((async function* () { yield* tc.chunks(); })()))]);
      const { path, size } = await writeSnapshotFile(dir, 7, tc.chunks(), { sync: false });
      assert.equal(size, SNAP_HEADER_BYTES + want.length + SNAP_TRAILER_BYTES);
      assert.deepEqual(await checkSnapshotFile(path, 7), { size });
      const got = await collect(readSnapshotData(path, size));
      for (const c of got) assert.ok(c.length > 0 && c.length <= 1024 * 1024);
      assert.ok(Buffer.concat(got).equals(want));
    });
  }

  test('a producer may reuse its buffer after yielding it', async () => {
    const dir = await tempDir();
    const shared = Buffer.alloc(100);
    const { path, size } = await writeSnapshotFile(dir, 1, (function* () {
      for (let i = 0; i < 50; i++) {
        shared.fill(i);
        yield shared;
      }
    })(), { sync: false });
    const got = Buffer.concat(await collect(readSnapshotData(path, size)));
    for (let i = 0; i < 50; i++) assert.ok(got.subarray(i * 100, i * 100 + 100).equals(Buffer.alloc(100, i)));
  });

  test('a failing producer leaves no file behind', async () => {
    const dir = await tempDir();
    await assert.rejects(
      writeSnapshotFile(dir, 3, (async function* () {
        yield Buffer.from('partial');
        throw new Error('producer broke');
      })(), { sync: true }),
      /producer broke/,
    );
    assert.deepEqual(await readdir(dir), []);
    await assert.rejects(writeSnapshotFile(dir, 3, ['not a buffer' as unknown as Buffer], { sync: true }), TypeError);
    assert.deepEqual(await readdir(dir), []);
  });

  test('every flipped byte and every truncation is detected', async () => {
    const dir = await tempDir();
    const { path } = await writeSnapshotFile(dir, 9, [Buffer.from('some state'), Buffer.from(' and more')], { sync: false });
    const image = await readFile(path);
    for (let at = 0; at < image.length; at++) {
      const damaged = Buffer.from(image);
      damaged[at]! ^= 0x01;
      await writeFile(path, damaged);
      const { damage } = await checkSnapshotFile(path, 9);
      assert.ok(damage, `flip at ${at} not detected`);
      assert.ok(damage.offset <= at, `flip at ${at} reported at ${damage.offset}`);
    }
    for (let len = 0; len < image.length; len++) {
      await writeFile(path, image.subarray(0, len));
      assert.ok((await checkSnapshotFile(path, 9)).damage, `truncation to ${len} not detected`);
    }
    await writeFile(path, image);
    assert.equal((await checkSnapshotFile(path, 9)).damage, undefined);
    assert.match((await checkSnapshotFile(path, 10)).damage!.problem, /file name says 10/);
  });

  test('file names', () => {
    assert.equal(snapshotFileName(0x1234), '0000000000001234.snap');
    assert.equal(parseSnapshotFileName('0000000000001234.snap'), 0x1234);
    assert.equal(parseSnapshotFileName('0000000000001234.snap.tmp'), undefined);
    assert.equal(parseSnapshotFileName('1234.snap'), undefined);
  });
});
