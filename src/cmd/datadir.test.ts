import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR_FORMAT, DataDirError, explainCorruptStore, prepareDataDir, readStamp, STAMP_FILE } from './datadir.js';
import { version } from './version.js';
import { MvccError } from '../storage/mvcc/errors.js';
import { MvccStore } from '../storage/mvcc/store.js';
import { WalCorruptError } from '../storage/mvcc/wal.js';
import { silentLogger } from '../util/log.js';

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-datadir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const stampOf = (dir: string) => JSON.parse(readFileSync(join(dir, STAMP_FILE), 'utf8')) as unknown;

test('a new or empty dir is created and stamped with the format and our version', async (t) => {
  const base = tmp(t);
  for (const dir of [base, join(tmp(t), 'new', 'nested')]) {
    const { stamp, created } = await prepareDataDir(dir);
    assert.equal(created, true);
    assert.deepEqual(stamp, { format: DATA_DIR_FORMAT, createdBy: version });
    assert.deepEqual(stampOf(dir), { format: 1, createdBy: version });
  }
  // No temporary file is left behind.
  assert.deepEqual(readdirSync(base).filter((e) => e.includes('tmp')), []);
});

test('a stamped dir is kept as it is; a second prepare does not rewrite the stamp', async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, STAMP_FILE), JSON.stringify({ format: 1, createdBy: '0.0.9' }));
  mkdirSync(join(dir, 'something-of-ours-later'));
  const { stamp, created } = await prepareDataDir(dir);
  assert.equal(created, false);
  assert.deepEqual(stamp, { format: 1, createdBy: '0.0.9' });
  assert.deepEqual(stampOf(dir), { format: 1, createdBy: '0.0.9' });
});

test('a dir written before stamps existed (etcd/ present) is adopted and stamped', async (t) => {
  const dir = tmp(t);
  mkdirSync(join(dir, 'etcd', 'wal'), { recursive: true });
  writeFileSync(join(dir, 'admin.conf'), 'x');
  writeFileSync(join(dir, 'notes.txt'), 'the user put this here');
  const { created } = await prepareDataDir(dir);
  assert.equal(created, true);
  assert.deepEqual(stampOf(dir), { format: 1, createdBy: version });
});

test('a dir holding only an images/ folder prepared for an air-gapped first up is accepted', async (t) => {
  const dir = tmp(t);
  mkdirSync(join(dir, 'images'));
  writeFileSync(join(dir, 'images', 'busybox.tar'), '');
  assert.equal((await prepareDataDir(dir)).created, true);
});

test('a data dir from a newer Flotilla is refused with one line, and left untouched', async (t) => {
  const dir = tmp(t);
  const content = JSON.stringify({ format: 2, createdBy: '9.0.0' });
  writeFileSync(join(dir, STAMP_FILE), content);
  await assert.rejects(prepareDataDir(dir), (err: unknown) => {
    assert.ok(err instanceof DataDirError);
    assert.equal(err.message, `data dir ${dir} was written by a newer Flotilla (format 2; this one reads up to 1): upgrade flotilla or use another --data-dir`);
    return true;
  });
  assert.equal(readFileSync(join(dir, STAMP_FILE), 'utf8'), content);
});

test('a non-empty dir that is not a Flotilla data dir is refused, naming what it holds', async (t) => {
  const cases = [
    { name: 'one file', files: ['report.pdf'], holds: 'report.pdf' },
    { name: 'many entries', files: ['a', 'b', 'c', 'd', 'admin.conf'], holds: 'a, b, c, … (4 entries)' },
  ];
  for (const tc of cases) {
    await t.test(tc.name, async (t) => {
      const dir = tmp(t);
      for (const f of tc.files) writeFileSync(join(dir, f), '');
      await assert.rejects(prepareDataDir(dir), (err: unknown) => {
        assert.ok(err instanceof DataDirError);
        assert.equal(
          err.message,
          `data dir ${dir} is not empty and is not a Flotilla data dir (no flotilla.json, no etcd/; it holds ${tc.holds}): pass an empty or new directory with --data-dir`,
        );
        return true;
      });
      assert.deepEqual(readdirSync(dir).sort(), [...tc.files].sort(), 'nothing written');
    });
  }
});

test('a file given as the data dir is refused', async (t) => {
  const file = join(tmp(t), 'f');
  writeFileSync(file, '');
  await assert.rejects(prepareDataDir(file), /data dir .* is a file, not a directory: pass another --data-dir/);
});

test('a damaged stamp is refused with the file named', async (t) => {
  const cases = ['not json', '{}', '{"format": "1"}', '{"format": 0}'];
  for (const content of cases) {
    const dir = tmp(t);
    writeFileSync(join(dir, STAMP_FILE), content);
    await assert.rejects(readStamp(dir), (err: unknown) => {
      assert.ok(err instanceof DataDirError);
      assert.match(err.message, new RegExp(`^data dir ${dir}: ${join(dir, STAMP_FILE)} is damaged`));
      return true;
    }, content);
  }
});

test('explainCorruptStore: one line naming the file for WAL damage, the store for replay damage, nothing for other errors', () => {
  const wal = explainCorruptStore(new WalCorruptError('/d/etcd/wal/1.wal', 44, 'record checksum mismatch'), '/d/etcd');
  assert.equal(
    wal,
    'store: /d/etcd/wal/1.wal is corrupt at byte offset 44; restore from a backup: move /d/etcd away, then ' +
      '`flotilla etcd snapshot restore BACKUP.db --data-dir /d/etcd` (a file taken with `etcdctl snapshot save`), ' +
      'or move that file away if losing its records is acceptable',
  );
  const snap = explainCorruptStore(new WalCorruptError('/d/etcd/snap/0000000000000010.snap', 0, 'bad magic'), '/d/etcd');
  assert.match(snap!, /^store: \/d\/etcd\/snap\/0000000000000010.snap is corrupt at byte offset 0; restore from a backup: .*`etcdctl snapshot save`\)$/);
  const replay = explainCorruptStore(new MvccError('Corrupt', { message: 'mvcc: data is corrupt: record 3 has revision 9, expected 3' }), '/d/etcd');
  assert.match(replay!, /^store: the data in \/d\/etcd is corrupt \(mvcc: data is corrupt: record 3 has revision 9, expected 3\); restore from a backup/);
  assert.equal(explainCorruptStore(new Error('listen EADDRINUSE'), '/d/etcd'), undefined);
  assert.equal(explainCorruptStore(new MvccError('Closed'), '/d/etcd'), undefined);
  for (const line of [wal!, snap!, replay!]) assert.doesNotMatch(line, /\n/);
});

test('explainCorruptStore recognises what the real store throws on a flipped bit in its WAL', async (t) => {
  const dir = tmp(t);
  const store = await MvccStore.open({ dataDir: dir, logger: silentLogger() });
  for (let i = 0; i < 3; i++) await store.put({ key: Buffer.from(`k${i}`), value: Buffer.from('v') });
  await store.close();
  const seg = join(dir, 'wal', readdirSync(join(dir, 'wal')).find((f) => f.endsWith('.wal'))!);
  const buf = readFileSync(seg);
  // The first record's payload (after the 24-byte segment header and 20-byte record header);
  // later writes follow it, so this is damage to an acknowledged write, not a torn tail. The
  // error names the start of the damaged record.
  buf[24 + 20 + 1]! ^= 0xff;
  writeFileSync(seg, buf);
  const err = await MvccStore.open({ dataDir: dir, logger: silentLogger() }).then(
    async (s) => { await s.close(); return undefined; },
    (e: unknown) => e,
  );
  assert.ok(err instanceof WalCorruptError, String(err));
  assert.match(explainCorruptStore(err, dir)!, new RegExp(`^store: ${seg} is corrupt at byte offset 24; `));
});
