/**
 * `flotilla up` as a user runs it: start on a fresh data dir, use the cluster with the real
 * etcdctl, stop with Ctrl-C (SIGINT), start again on the same dir and find the same data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { spawnFlotilla, type Spawned } from '../util/flotilla.js';
import { freePort } from '../util/net.js';
import { tempDir } from '../util/tmp.js';

const etcdctl = (endpoint: string, ...args: string[]) =>
  spawnSync('etcdctl', [`--endpoints=${endpoint}`, ...args], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 });

/** Waits (bounded) until the process printed `text` on stdout. */
async function waitForOutput(p: Spawned, text: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!p.stdout().includes(text)) {
    if (p.proc.exitCode !== null) throw new Error(`exited ${p.proc.exitCode} before printing ${JSON.stringify(text)}:\n${p.stdout()}\n${p.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(text)} after ${timeoutMs} ms:\n${p.stdout()}\n${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('flotilla up starts a cluster, stops on Ctrl-C and resumes it on the same data dir', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;

  const first = spawnFlotilla(['up', '--data-dir', dir, '--etcd-port', String(port)]);
  t.after(() => first.kill());
  await waitForOutput(first, 'Cluster is up');
  assert.match(first.stdout(), /✓ store\s+embedded, new at revision 1/);
  assert.ok(first.stdout().includes(`export ETCDCTL_API=3 ETCDCTL_ENDPOINTS=${endpoint}`), first.stdout());

  const put = etcdctl(endpoint, 'put', '/registry/greeting', 'ahoy');
  assert.equal(put.stdout.trim(), 'OK', put.stderr);

  first.proc.kill('SIGINT');
  assert.equal(await first.exited, 0, first.stderr());
  assert.match(first.stdout(), /flotilla up: stopped/);

  const second = spawnFlotilla(['up', '--data-dir', dir, '--etcd-port', String(port)]);
  t.after(() => second.kill());
  await waitForOutput(second, 'Cluster is up');
  assert.match(second.stdout(), /✓ store\s+embedded, resumed at revision 2/);
  const get = etcdctl(endpoint, 'get', '/registry/greeting', '--print-value-only');
  assert.equal(get.stdout.trim(), 'ahoy', get.stderr);
  second.proc.kill('SIGTERM');
  assert.equal(await second.exited, 0, second.stderr());
});

test('flotilla up says clearly when its port is taken', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const holder = spawnFlotilla(['etcd', '--data-dir', tempDir(t), '--listen-client-urls', `http://127.0.0.1:${port}`, '--listen-metrics-urls', '']);
  t.after(() => holder.kill());
  const deadline = Date.now() + 20_000;
  while (!holder.stderr().includes('ready to serve client requests') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

  const up = spawnFlotilla(['up', '--data-dir', dir, '--etcd-port', String(port)]);
  const code = await up.exited;
  assert.equal(code, 1);
  assert.match(up.stderr(), new RegExp(`port ${port} on 127.0.0.1 is already in use.*--etcd-port`));
});
