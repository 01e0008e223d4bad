#!/usr/bin/env node
// Runs every *.test.ts (as compiled JavaScript under dist/, after `npm run build`) with
// node's own test runner, whose closing summary CI reads.
//   node scripts/run-tests.mjs            all tests, compiled
//   node scripts/run-tests.mjs --dev [filter...]   TypeScript sources through tsx, no build;
//                                         a filter keeps files whose path contains it
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
// Clusters with real containers own the host's network namespace (kube-proxy's nat chains,
// ClusterIPs 10.96.0.0/12): their e2e files run one at a time, after the others, so none
// waits on another inside its own time limit.
const hostNetwork = (f) => /[\\/]e2e[\\/]/.test(f) && /-cri[^\\/]*\.test\.[jt]s$/.test(f);
const phases = [
  { files: files.filter((f) => !hostNetwork(f)), concurrency },
  { files: files.filter(hostNetwork), concurrency: '1' },
].filter((p) => p.files.length > 0);

let passed = 0;
let failed = 0;
const durations = [];
let status = 0;
for (const phase of phases) {
  const nodeArgs = [
    ...(dev ? ['--import', 'tsx'] : ['--enable-source-maps']),
    '--test',
    `--test-concurrency=${phase.concurrency}`,
    // A hang guard, not a speed check: the slowest test file here takes ~2 min, so one
    // still running after 5 minutes is stuck, and failing it beats stalling CI.
    '--test-timeout=300000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${join(tmpdir(), `flotilla-tests-${process.pid}.tap`)}`,
    ...phase.files,
  ];
  const r = spawnSync(process.execPath, nodeArgs, { stdio: 'inherit', cwd: root, env: { ...process.env, FLOTILLA_TEST_MODE: dev ? 'dev' : 'dist' } });
  if ((r.status ?? 1) !== 0) status = r.status ?? 1;
  // Count from the TAP summary the same run wrote beside the spec output.
  const tap = readFileSync(join(tmpdir(), `flotilla-tests-${process.pid}.tap`), 'utf8');
  passed += Number(/^# pass (\d+)$/m.exec(tap)?.[1] ?? 0);
  failed += Number(/^# fail (\d+)$/m.exec(tap)?.[1] ?? 0) + Number(/^# cancelled (\d+)$/m.exec(tap)?.[1] ?? 0);
  rmSync(join(tmpdir(), `flotilla-tests-${process.pid}.tap`), { force: true });
  // Top-level TAP entries (a file's describe blocks and tests), each with its duration.
  for (const m of tap.matchAll(/^(?:not )?ok \d+ - (.+)\n {2}---\n(?: {2}.*\n)*? {2}duration_ms: ([\d.]+)/gm)) {
    durations.push({ name: m[1], ms: Number(m[2]) });
  }
}
// The suite must stay well inside CI's budget: the slowest tests say where the time goes.
durations.sort((a, b) => b.ms - a.ms);
if (durations.length > 0) {
  console.log(`\nslowest top-level tests:\n${durations.slice(0, 8).map((d) => `  ${(d.ms / 1000).toFixed(1).padStart(6)} s  ${d.name}`).join('\n')}`);
}
if (phases.length > 1) console.log(`\n${passed} passed, ${failed} failed`);
process.exit(status);
