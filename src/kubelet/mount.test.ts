import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { mountAt, mountTmpfs, mountsUnder, unmountUnder } from './mount.js';
import { tempDir } from '../../test/util/tmp.js';

const asRoot = process.platform === 'linux' && process.getuid?.() === 0;
const skip = !asRoot && 'needs root on Linux (mount)';

test('mountTmpfs and unmountUnder: paths with spaces and quotes, several at once, each visible in mountinfo', { skip }, async (t) => {
  let root = '';
  t.after(() => unmountUnder(root));
  root = tempDir(t, 'flotilla-mount-');
  const dirs = ["plain", "with space", "it's", 'dollar $HOME `x`', 'back\\slash'].map((n) => join(root, n));
  for (const d of dirs) mkdirSync(d);
  await Promise.all(dirs.map((d) => mountTmpfs(d, ['size=1m'])));
  for (const d of dirs) {
    const m = await mountAt(d);
    assert.equal(m?.fsType, 'tmpfs', d);
    assert.match(m!.superOptions, /size=1024k/);
  }
  writeFileSync(join(dirs[1]!, 'f'), 'x');
  assert.equal(await unmountUnder(root), dirs.length);
  assert.deepEqual(await mountsUnder(root), []);
  assert.equal(existsSync(join(dirs[1]!, 'f')), false, 'the file was on the tmpfs');
});

test('mountTmpfs failure: upstream MountError wording with the exit status and the command output; later commands still run', { skip }, async (t) => {
  let root = '';
  t.after(() => unmountUnder(root));
  root = tempDir(t, 'flotilla-mount-');
  const missing = join(root, 'missing');
  await assert.rejects(mountTmpfs(missing, ['size=1m']), (err: Error) => {
    assert.match(err.message, /^mount failed: exit status \d+\nMounting command: mount\nMounting arguments: -t tmpfs -o size=1m tmpfs .*missing\nOutput: .+/);
    return true;
  });
  const ok = join(root, 'ok');
  mkdirSync(ok);
  await mountTmpfs(ok, []);
  assert.equal((await mountAt(ok))?.fsType, 'tmpfs');
});
