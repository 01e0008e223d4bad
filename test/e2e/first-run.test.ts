/**
 * The first minutes of a newcomer with the real `flotilla` CLI: `flotilla status` on a
 * running cluster and on nothing, the one-line refusals of a data dir `up` must not open
 * (from a newer Flotilla, not Flotilla's, a corrupt store). The help texts are checked in
 * cli-help.test.ts (a file of its own: it starts a dozen CLI processes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFlotilla, spawnFlotilla, type Spawned } from '../util/flotilla.js';
import { freePort } from '../util/net.js';
import { tempDir } from '../util/tmp.js';
import { version } from '../../src/cmd/version.js';

/** Waits (bounded) until the process printed `text` on stdout. */
async function waitForOutput(p: Spawned, text: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!p.stdout().includes(text)) {
    if (p.proc.exitCode !== null) throw new Error(`exited ${p.proc.exitCode} before printing ${JSON.stringify(text)}:\n${p.stdout()}\n${p.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(text)} after ${timeoutMs} ms:\n${p.stdout()}\n${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The lines a refused command wrote on stderr that are not log records. */
const messageLines = (stderr: string) => stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));

test('flotilla status on a running cluster, after it stops, and up refusing its store once corrupted', async (t) => {
  const dir = tempDir(t);
  const etcdPort = await freePort();
  const up = spawnFlotilla(['up', '--data-dir', dir, '--etcd-port', String(etcdPort), '--secure-port', '0', '--kubelet-port', '0', '--node-name', 'first-run-node', '--runtime', 'simulated']);
  t.after(() => up.kill());
  await waitForOutput(up, 'Cluster is up');
  // The first up stamped the data dir with its format.
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'flotilla.json'), 'utf8')), { format: 1, createdBy: version });

  // The node turns Ready shortly after up reports it; status exits 0 once everything is healthy.
  let status = runFlotilla(['status', '--data-dir', dir]);
  for (let i = 0; i < 30 && status.status !== 0; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    status = runFlotilla(['status', '--data-dir', dir]);
  }
  assert.equal(status.status, 0, status.stdout + status.stderr);
  const out = status.stdout;
  assert.match(out, new RegExp(`^Cluster on data dir ${dir} \\(flotilla up, pid ${up.proc.pid}\\)$`, 'm'));
  assert.match(out, /^API server https:\/\/127\.0\.0\.1:\d+: ready, Kubernetes v1\.32\.\d+/m);
  assert.match(out, /^COMPONENT\s+STATUS\s+DETAILS$/m);
  assert.match(out, new RegExp(`^etcd\\s+Healthy\\s+revision \\d+, etcd 3\\.4\\.23 API on http://127\\.0\\.0\\.1:${etcdPort}, [\\d.]+ MiB$`, 'm'));
  assert.match(out, new RegExp(`^kube-controller-manager\\s+Running\\s+in flotilla up \\(pid ${up.proc.pid}\\), without leader election$`, 'm'));
  assert.match(out, new RegExp(`^kube-scheduler\\s+Running\\s+in flotilla up \\(pid ${up.proc.pid}\\)`, 'm'));
  assert.match(out, /^NODE\s+STATUS\s+ROLES\s+RUNTIME\s+PODS\s+HEARTBEAT\s+VERSION$/m);
  assert.match(out, /^first-run-node\s+Ready\s+\S+\s+simulated:\/\/\S+\s+\d+\s+\d+s ago\s+v1\.32/m);
  assert.match(out.trimEnd().split('\n').at(-1)!, /^Healthy: 3\/3 components ok, 1\/1 nodes Ready, \d+\/\d+ pods Running\.$/);

  // The same through a kubeconfig: any cluster, nothing known about the loops' process, so
  // the loops are judged by their kube-system pods (up shows them as kubeadm does).
  const byKubeconfig = runFlotilla(['status', '--kubeconfig', join(dir, 'admin.conf')]);
  assert.equal(byKubeconfig.status, 0, byKubeconfig.stdout + byKubeconfig.stderr);
  assert.match(byKubeconfig.stdout, /^kube-scheduler\s+Running\s+pod kube-system\/kube-scheduler-first-run-node Running, Ready; no leader Lease/m);
  assert.match(byKubeconfig.stdout, /^first-run-node\s+Ready/m);

  up.proc.kill('SIGINT');
  assert.equal(await up.exited, 0, up.stderr());

  // Stopped: one line saying how to start it.
  const stopped = runFlotilla(['status', '--data-dir', dir]);
  assert.equal(stopped.status, 1);
  assert.equal(stopped.stdout, '');
  assert.deepEqual(messageLines(stopped.stderr), [`no cluster running on ${dir}: start one with flotilla up --data-dir ${dir}`]);

  // A flipped bit in the first record of the store's WAL, with later writes after it: the
  // damage of an acknowledged write. up refuses with one line naming the file.
  const walDir = join(dir, 'etcd', 'wal');
  const segment = join(walDir, readdirSync(walDir).filter((f) => f.endsWith('.wal')).sort()[0]!);
  const bytes = readFileSync(segment);
  bytes[24 + 20 + 1]! ^= 0xff;
  writeFileSync(segment, bytes);
  const again = spawnFlotilla(['up', '--data-dir', dir, '--etcd-port', '0', '--secure-port', '0', '--kubelet-port', '0', '--runtime', 'simulated']);
  t.after(() => again.kill());
  assert.equal(await again.exited, 1, again.stdout());
  const lines = messageLines(again.stderr());
  assert.equal(lines.length, 1, again.stderr());
  assert.equal(
    lines[0],
    `flotilla: store: ${segment} is corrupt at byte offset 24; restore from a backup: move ${join(dir, 'etcd')} away, then ` +
      `\`flotilla etcd snapshot restore BACKUP.db --data-dir ${join(dir, 'etcd')}\` (a file taken with \`etcdctl snapshot save\`), ` +
      'or move that file away if losing its records is acceptable',
  );
});

test('flotilla status with nothing running says how to start a cluster and exits 1', (t) => {
  const dir = join(tempDir(t), 'never-used');
  const r = runFlotilla(['status', '--data-dir', dir]);
  assert.equal(r.status, 1);
  assert.deepEqual(messageLines(r.stderr), [`no cluster running on ${dir}: start one with flotilla up --data-dir ${dir}`]);
});

test('flotilla up refuses a data dir written by a newer Flotilla, and leaves it as it was', (t) => {
  const dir = tempDir(t);
  const stamp = JSON.stringify({ format: 2, createdBy: '9.0.0' });
  writeFileSync(join(dir, 'flotilla.json'), stamp);
  const r = runFlotilla(['up', '--data-dir', dir, '--etcd-port', '0', '--secure-port', '0', '--kubelet-port', '0', '--runtime', 'simulated']);
  assert.equal(r.status, 1, r.stdout);
  assert.deepEqual(messageLines(r.stderr), [
    `flotilla: data dir ${dir} was written by a newer Flotilla (format 2; this one reads up to 1): upgrade flotilla or use another --data-dir`,
  ]);
  assert.deepEqual(readdirSync(dir), ['flotilla.json']);
  assert.equal(readFileSync(join(dir, 'flotilla.json'), 'utf8'), stamp);
});

test('flotilla up refuses a non-empty directory that is not a Flotilla data dir', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'thesis.tex'), '\\documentclass{article}');
  mkdirSync(join(dir, 'figures'));
  const r = runFlotilla(['up', '--data-dir', dir, '--etcd-port', '0', '--secure-port', '0', '--kubelet-port', '0', '--runtime', 'simulated']);
  assert.equal(r.status, 1, r.stdout);
  assert.deepEqual(messageLines(r.stderr), [
    `flotilla: data dir ${dir} is not empty and is not a Flotilla data dir (no flotilla.json, no etcd/; it holds figures, thesis.tex): pass an empty or new directory with --data-dir`,
  ]);
  assert.deepEqual(readdirSync(dir).sort(), ['figures', 'thesis.tex']);
});
