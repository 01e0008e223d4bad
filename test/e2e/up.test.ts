/**
 * `flotilla up` as a user runs it: start on a fresh data dir, use the cluster with the real
 * kubectl and etcdctl, stop with Ctrl-C (SIGINT), start again on the same dir and find the
 * same objects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnFlotilla, type Spawned } from '../util/flotilla.js';
import { freePort } from '../util/net.js';
import { tempDir } from '../util/tmp.js';

const kubectl = (kubeconfig: string, ...args: string[]) =>
  spawnSync('kubectl', [`--kubeconfig=${kubeconfig}`, ...args], { encoding: 'utf8', timeout: 30_000 });
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

  const apiPort = await freePort();
  const kubeconfig = join(dir, 'admin.conf');
  // The node lifecycle flags reach the in-process API server: an explicit
  // --default-not-ready-toleration-seconds, and --pod-eviction-timeout for the other one.
  const args = ['up', '--data-dir', dir, '--etcd-port', String(port), '--secure-port', String(apiPort), '--node-name', 'up-node', '--runtime', 'simulated',
    '--pod-eviction-timeout', '1m30s', '--default-not-ready-toleration-seconds', '42'];

  const first = spawnFlotilla(args);
  t.after(() => first.kill());
  await waitForOutput(first, 'Cluster is up');
  assert.match(first.stdout(), /✓ store\s+embedded, new at revision 1/);
  assert.match(first.stdout(), new RegExp(`✓ apiserver\\s+https://127.0.0.1:${apiPort}`));
  // The control plane's loops and this machine's node, each reported as it starts.
  assert.match(first.stdout(), /✓ controller-manager\s+\d+ controllers/);
  assert.match(first.stdout(), /✓ scheduler\s+default-scheduler/);
  assert.match(first.stdout(), /✓ kubelet\s+node up-node \([\d.]+\), simulated runtime \(--runtime simulated\)/);
  // The last instruction is the exact line to use the cluster.
  assert.ok(first.stdout().includes(`  export KUBECONFIG=${kubeconfig}\n`), first.stdout());

  const ns = kubectl(kubeconfig, 'get', 'namespaces', '-o', 'name');
  assert.deepEqual(ns.stdout.trim().split('\n').sort(), ['namespace/default', 'namespace/kube-node-lease', 'namespace/kube-public', 'namespace/kube-system'], ns.stderr);
  const node = kubectl(kubeconfig, 'get', 'node', 'up-node', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}');
  assert.equal(node.stdout, 'True', node.stderr);
  const cm = kubectl(kubeconfig, 'create', 'configmap', 'greeting', '--from-literal=word=ahoy');
  assert.equal(cm.stdout.trim(), 'configmap/greeting created', cm.stderr);
  // The DefaultTolerationSeconds admission with up's flags.
  const run = kubectl(kubeconfig, 'run', 'sail', '--image=busybox', '--restart=Never');
  assert.equal(run.stdout.trim(), 'pod/sail created', run.stderr);
  const tolerations = kubectl(kubeconfig, 'get', 'pod', 'sail', '-o', 'jsonpath={range .spec.tolerations[*]}{.key}={.tolerationSeconds}{"\\n"}{end}');
  assert.deepEqual(tolerations.stdout.trim().split('\n').sort(), ['node.kubernetes.io/not-ready=42', 'node.kubernetes.io/unreachable=90'], tolerations.stderr);
  // … and the kube-apiserver manifest states them, as kubeadm's would.
  const manifest = readFileSync(join(dir, 'manifests', 'kube-apiserver.yaml'), 'utf8');
  assert.match(manifest, /^ {8}- --default-not-ready-toleration-seconds=42$/m);
  assert.match(manifest, /^ {8}- --default-unreachable-toleration-seconds=90$/m);

  // The API server's objects are in the store etcdctl reads, under /registry as in etcd.
  const keys = etcdctl(endpoint, 'get', '/registry/', '--prefix', '--keys-only');
  assert.match(keys.stdout, /^\/registry\/configmaps\/default\/greeting$/m, keys.stderr);
  assert.match(keys.stdout, /^\/registry\/namespaces\/kube-system$/m);
  const put = etcdctl(endpoint, 'put', '/flotilla-test/greeting', 'ahoy');
  assert.equal(put.stdout.trim(), 'OK', put.stderr);

  first.proc.kill('SIGINT');
  assert.equal(await first.exited, 0, first.stderr());
  assert.match(first.stdout(), /flotilla up: stopped/);

  const second = spawnFlotilla(args);
  t.after(() => second.kill());
  await waitForOutput(second, 'Cluster is up');
  assert.match(second.stdout(), /✓ store\s+embedded, resumed at revision \d+/);
  const get = etcdctl(endpoint, 'get', '/flotilla-test/greeting', '--print-value-only');
  assert.equal(get.stdout.trim(), 'ahoy', get.stderr);
  const word = kubectl(kubeconfig, 'get', 'configmap', 'greeting', '-o', 'jsonpath={.data.word}');
  assert.equal(word.stdout, 'ahoy', word.stderr);
  // The resumed node is the same Node object, registered again by its kubelet.
  const nodes = kubectl(kubeconfig, 'get', 'nodes', '-o', 'name');
  assert.equal(nodes.stdout.trim(), 'node/up-node', nodes.stderr);
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

  const up = spawnFlotilla(['up', '--data-dir', dir, '--etcd-port', String(port), '--secure-port', '0', '--runtime', 'simulated']);
  const code = await up.exited;
  assert.equal(code, 1);
  assert.match(up.stderr(), new RegExp(`port ${port} on 127.0.0.1 is already in use.*--etcd-port`));
});

test('flotilla up refuses a bad node lifecycle flag as the upstream component does, before touching the data dir', async (t) => {
  const dir = join(tempDir(t), 'never-made');
  // One of each kind (the parsers' cases are in src/cmd/duration.test.ts).
  const cases: [string, string, string][] = [
    ['--node-monitor-grace-period', '40', 'invalid argument "40" for "--node-monitor-grace-period" flag: time: missing unit in duration "40"'],
    ['--default-unreachable-toleration-seconds', '5m', 'invalid argument "5m" for "--default-unreachable-toleration-seconds" flag: strconv.ParseInt: parsing "5m": invalid syntax'],
    ['--node-status-update-frequency', '0', 'invalid configuration: nodeStatusUpdateFrequency (--node-status-update-frequency) 0s must be greater than 0'],
  ];
  // In parallel: each is a separate node process.
  const runs = cases.map(([flag, value, message]) => ({ flag, value, message, p: spawnFlotilla(['up', '--data-dir', dir, '--runtime', 'simulated', flag, value]) }));
  for (const { flag, value, message, p } of runs) {
    assert.equal(await p.exited, 1, `${flag} ${value}: ${p.stdout()}${p.stderr()}`);
    assert.ok(p.stderr().includes(message), `${flag} ${value}: ${p.stderr()}`);
  }
  assert.equal(existsSync(dir), false);
});
