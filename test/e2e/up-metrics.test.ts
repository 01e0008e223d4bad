/**
 * Where a newcomer finds each component of `flotilla up`: every in-process component's
 * metrics on the API server's /metrics (`kubectl get --raw /metrics`), the store's on its
 * etcd client port as etcd serves them; each component's log in DATA_DIR/logs/<name>.log
 * (the simulated runtime's stand-ins cannot follow them: controlplane-cri checks that); up's
 * node labelled as the control plane node; `--simulated-nodes` nodes reachable by kubectl
 * logs/exec through their shared kubelet server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster } from '../util/cluster.js';
import { eventually } from '../util/wait.js';

/** The metric families (`# TYPE <name> <type>` lines) of a Prometheus text exposition. */
function families(text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]!);
}

test('up serves every in-process component\'s metrics on the API server\'s /metrics', async (t) => {
  const c = await startCluster(t, { runtime: 'simulated', extraArgs: ['--simulated-nodes', '1'] });
  const names = families(c.ok('get', '--raw', '/metrics'));
  // One family each component registers (a family is listed before any sample exists).
  const byComponent: Record<string, RegExp> = {
    'kube-apiserver': /^apiserver_request_total$/,
    'kube-controller-manager': /^workqueue_adds_total$/,
    'kube-scheduler': /^scheduler_schedule_attempts_total$/,
    kubelet: /^kubelet_running_pods$/,
    'kube-proxy': /^kubeproxy_sync_proxy_rules_duration_seconds$/,
    process: /^process_cpu_seconds_total$/,
  };
  for (const [component, re] of Object.entries(byComponent)) {
    assert.ok(names.some((n) => re.test(n)), `no ${re} (${component}) in /metrics: ${names.join(' ')}`);
  }
  // Every family once: the process metrics are registered once for all components.
  assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), []);
  // The store's are where etcd serves them: /metrics on its client port.
  const etcd = /etcd v3 API on (http:\/\/\S+)/.exec(c.up.stdout())?.[1];
  assert.ok(etcd, c.up.stdout());
  const etcdNames = families(await (await fetch(`${etcd}/metrics`)).text());
  assert.ok(etcdNames.includes('etcd_mvcc_db_total_size_in_bytes'), etcdNames.join(' '));
  // The controllers' queues are there by name.
  assert.match(c.ok('get', '--raw', '/metrics'), /^workqueue_adds_total\{name="replicaset"\} \d+/m);

  // up's node is the control plane node, as kubeadm labels it; the simulated node is not,
  // and no node is tainted.
  const rows = c.ok('get', 'nodes', '--no-headers').trim().split('\n').map((l) => l.split(/\s+/).slice(0, 3));
  assert.deepEqual(rows.sort(), [['node-1', 'Ready', 'control-plane'], ['sim-node-1', 'Ready', '<none>']]);
  assert.match(c.jsonpath('node/node-1', '{.metadata.labels}'), /"node-role\.kubernetes\.io\/control-plane":""/);
  assert.equal(c.jsonpath('node/node-1', '{.spec.taints}'), '');

  // The extra simulated node shares one kubelet server on up's node IP (kwok's way): kubectl
  // logs and exec reach a pod there. (It once advertised 172.16.0.2, and the API server
  // dialled whatever answered there.)
  assert.equal(c.jsonpath('node/sim-node-1', '{.status.addresses[?(@.type=="InternalIP")].address}'), c.jsonpath('node/node-1', '{.status.addresses[?(@.type=="InternalIP")].address}'));
  c.ok('run', 'far', '--image=busybox', '--overrides={"spec":{"nodeName":"sim-node-1"}}');
  await eventually('far running', () => c.jsonpath('pod/far', '{.status.phase}') === 'Running', 30_000);
  await eventually('far\'s log', () => /simulated container far started/.test(c.kubectl(['logs', 'far']).stdout), 30_000);
  assert.equal(c.ok('exec', 'far', '--', 'echo', 'from', 'sim-node-1').trim(), 'from sim-node-1');
});

test('up writes each component\'s log lines to DATA_DIR/logs/<component>.log as well as stderr', async (t) => {
  const c = await startCluster(t, { runtime: 'simulated' });
  // The logger component each file holds lines of (the "component" field of the JSON line).
  const files: Record<string, string> = {
    etcd: 'etcd',
    'kube-apiserver': 'apiserver',
    'kube-controller-manager': 'controller-manager',
    'kube-scheduler': 'scheduler',
    kubelet: 'kubelet',
    'kube-proxy': 'kube-proxy',
  };
  for (const [file, component] of Object.entries(files)) {
    const path = join(c.dir, 'logs', `${file}.log`);
    await eventually(`a ${component} line in ${path}`, () => existsSync(path) && readFileSync(path, 'utf8').includes(`"component":"${component}"`), 30_000);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `${path}: ${l}`);
    // stderr keeps every line.
    const first = JSON.parse(lines[0]!) as { msg?: string; time?: string };
    assert.ok(c.up.stderr().includes(`"time":"${first.time}"`), `${path}'s first line is not on stderr: ${lines[0]}`);
  }
  // No DNS server runs on the simulated runtime: its file exists, empty.
  assert.equal(readFileSync(join(c.dir, 'logs', 'coredns.log'), 'utf8'), '');
  assert.match(c.up.stdout(), new RegExp(`Each component logs to ${c.dir}/logs/<component>\\.log`));
});
