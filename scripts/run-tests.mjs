#!/usr/bin/env node
// Runs every *.test.ts (as compiled JavaScript under dist/, after `npm run build`) with
// node's own test runner, whose closing summary CI reads.
//   node scripts/run-tests.mjs            all tests, compiled
//   node scripts/run-tests.mjs --dev [filter...]   TypeScript sources through tsx, no build;
//                                         a filter keeps files whose path contains it
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, dirname, resolve, relative } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const args = process.argv.slice(2);
const dev = args.includes('--dev');
const filters = args.filter((a) => !a.startsWith('--'));
const base = dev ? root : join(root, 'dist');
const suffix = dev ? '.test.ts' : '.test.js';

function* walk(dir) {
  let names;
  try { names = readdirSync(dir); } catch { return; }
  for (const name of names) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith(suffix)) yield p;
  }
}
const files = ['src', 'test']
  .flatMap((d) => [...walk(join(base, d))])
  .filter((f) => filters.length === 0 || filters.some((x) => relative(base, f).includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files found' + (dev ? '' : ' (run `npm run build` first)'));
  process.exit(1);
}
const concurrency = process.env.FLOTILLA_TEST_CONCURRENCY ?? '3';
const nodeArgs = [
  ...(dev ? ['--import', 'tsx'] : ['--enable-source-maps']),
  '--test',
  `--test-concurrency=${concurrency}`,
  // A hang guard, not a speed check: the slowest test here takes ~35 s, so a test still
  // running after 5 minutes is stuck, and failing it beats stalling CI until its deadline.
  '--test-timeout=300000',
  '--test-reporter=spec',
  ...files,
];
const r = spawnSync(process.execPath, nodeArgs, { stdio: 'inherit', cwd: root, env: { ...process.env, FLOTILLA_TEST_MODE: dev ? 'dev' : 'dist' } });
process.exit(r.status ?? 1);
