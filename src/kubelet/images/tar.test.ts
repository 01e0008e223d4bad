import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../../test/util/tmp.js';
import { readTar, sortEntries, tarChunks, writeTar, type TarEntry } from './tar.js';

const entries: TarEntry[] = [
  { type: 'dir', path: 'tmp', mode: 0o1777 },
  { type: 'file', path: 'bin/busybox', mode: 0o755, content: Buffer.from('#!/bin/true\n') },
  { type: 'dir', path: 'bin', mode: 0o755 },
  { type: 'symlink', path: 'bin/sh', target: 'busybox' },
  { type: 'file', path: `deep/${'d'.repeat(90)}/${'f'.repeat(90)}`, mode: 0o600, content: Buffer.alloc(513, 7) },
  { type: 'file', path: 'empty', mode: 0o644, content: Buffer.alloc(0) },
];

test('tar: sortEntries orders by path byte-wise, as tar --sort=name does', () => {
  assert.deepEqual(sortEntries(entries).map((e) => e.path), ['bin', 'bin/busybox', 'bin/sh', `deep/${'d'.repeat(90)}/${'f'.repeat(90)}`, 'empty', 'tmp']);
});

test('tar: readTar reads back what writeTar wrote (modes, owners, epoch, links, long paths)', () => {
  const got = readTar(writeTar(entries));
  assert.deepEqual(got.map((m) => [m.path, m.type, m.mode, m.uid, m.gid, m.mtime, m.linkname, m.content.length]), [
    ['tmp/', 'dir', 0o1777, 0, 0, 0, '', 0],
    ['bin/busybox', 'file', 0o755, 0, 0, 0, '', 12],
    ['bin/', 'dir', 0o755, 0, 0, 0, '', 0],
    ['bin/sh', 'symlink', 0o777, 0, 0, 0, 'busybox', 0],
    [`deep/${'d'.repeat(90)}/${'f'.repeat(90)}`, 'file', 0o600, 0, 0, 0, '', 513],
    ['empty', 'file', 0o644, 0, 0, 0, '', 0],
  ]);
  assert.ok(got[4]!.content.every((b) => b === 7));
});

test('tar: the same entries give the same bytes', () => {
  assert.ok(writeTar(entries).equals(writeTar(entries.map((e) => ({ ...e })))));
});

test('tar: GNU tar lists and verifies the archive', { skip: spawnSync('tar', ['--version']).status !== 0 && 'no tar' }, (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a.tar');
  writeFileSync(file, writeTar(sortEntries(entries)));
  const r = spawnSync('tar', ['-tvf', file, '--numeric-owner'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, entries.length);
  assert.match(lines[0]!, /^drwxr-xr-x 0\/0 +0 1970-01-01 00:00 bin\/$/);
  assert.match(lines[2]!, /^lrwxrwxrwx 0\/0 +0 1970-01-01 00:00 bin\/sh -> busybox$/);
  assert.match(lines[5]!, /^drwxrwxrwt 0\/0 +0 1970-01-01 00:00 tmp\/$/);
  assert.match(lines[3]!, new RegExp(`-rw------- 0/0 +513 .* deep/d{90}/f{90}$`));
  const x = spawnSync('tar', ['-xf', file, '-C', dir], { encoding: 'utf8' });
  assert.equal(x.status, 0, x.stderr);
});

test('tar: a file given in pieces is written as if in one buffer, and tarChunks copies no content', () => {
  const content = Buffer.alloc(1300, 3);
  const whole = writeTar([{ type: 'file', path: 'blob', mode: 0o644, content }]);
  const pieces = [content.subarray(0, 100), Buffer.alloc(0), content.subarray(100)];
  const chunks = tarChunks([{ type: 'file', path: 'blob', mode: 0o644, content: pieces }]);
  assert.ok(Buffer.concat(chunks).equals(whole));
  assert.ok(chunks.includes(pieces[2]!), 'the content buffers themselves, not copies');
  assert.equal(readTar(whole)[0]!.content.length, 1300);
});
