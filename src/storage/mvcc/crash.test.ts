import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../util/log.js';
import { MvccStore } from './store.js';

const here = dirname(fileURLToPath(import.meta.url));
const fromSources = import.meta.url.endsWith('.ts');

/** node arguments that run the fixture, from sources (tsx) or compiled (dist). */
function fixtureArgs(): string[] {
  return fromSources
    ? ['--import', 'tsx', join(here, 'testdata/crash_writer.ts')]
    : ['--enable-source-maps', join(here, 'testdata/crash_writer.js')];
}

for (const tc of [
  { name: 'no snapshot during the run', snapshotEvery: 1_000_000, acked: 3000 },
  { name: 'snapshots during the run', snapshotEvery: 700, acked: 5000 },
]) {
  test(`crash: every acknowledged write survives SIGKILL (${tc.name})`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mvcc-crash-'));
    try {
      const child = spawn(process.execPath, [...fixtureArgs(), dir, String(tc.snapshotEvery)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          // Count lines cheaply: kill once enough puts were acknowledged.
          if (out.length > tc.acked * 12 && out.split('\n').length > tc.acked) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.once('exit', (code) => reject(new Error(`writer exited early (${code}): ${err}`)));
      });
      await exited;
      // Only complete lines were acknowledged.
      const lines = out.split('\n').slice(0, -1);
      assert.ok(lines[0]!.startsWith('lease '));
      const acked = lines.slice(1).map((l) => l.split(' ') as [string, string]);
      assert.ok(acked.length >= tc.acked);

      const store = await MvccStore.open({ dataDir: dir, logger: silentLogger() });
      try {
        const all = await store.range({ key: Buffer.from('k'), rangeEnd: Buffer.from('l') });
        const got = new Map(all.kvs.map((kv) => [kv.key.toString(), kv]));
        const missing = acked.filter(([k, v]) => got.get(k)?.value.toString() !== v);
        assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged writes lost`);
        // Every put is its own revision: revisions are dense and match the key count.
        assert.equal(store.status().revision, 1 + all.count);
        assert.ok((await store.leaseLeases()).leases.includes(77n));
        const leased = await store.leaseTimeToLive(77n, true);
        assert.equal(leased.keys.length, all.kvs.filter((kv) => kv.lease === 77n).length);
        // The reopened store takes writes again.
        const p = await store.put({ key: Buffer.from('after'), value: Buffer.from('crash') });
        assert.equal(p.header.revision, 2 + all.count);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
