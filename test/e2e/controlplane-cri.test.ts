/**
 * The control plane as kubeadm's cluster shows it, on `flotilla up --runtime cri` and
 * `--runtime simulated`: `kubectl get pods -n kube-system` lists etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler as mirror pods `<name>-<node>`, kube-proxy and
 * coredns with hashed names, all Running and Ready; with real containers, etcdctl inside the
 * etcd pod lists the embedded store's /registry keys and `kubectl logs` of a stand-in shows
 * the real component's log lines (src/cmd/controlplane.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skipWithoutContainers, startCluster, type Cluster } from '../util/cluster.js';
import { eventually } from '../util/wait.js';

const expected = [
  /^etcd-node-1$/,
  /^kube-apiserver-node-1$/,
  /^kube-controller-manager-node-1$/,
  /^kube-scheduler-node-1$/,
  /^kube-proxy-[a-z0-9]{5}$/,
  /^coredns-[a-z0-9]{8,10}-[a-z0-9]{5}$/,
];

/** Waits until every expected pod is listed 1/1 Running; resolves the `get pods` output. */
async function controlPlaneRunning(c: Cluster): Promise<string> {
  let out = '';
  await eventually('the control plane pods to be 1/1 Running in kube-system', () => {
    out = c.kubectl(['get', 'pods', '-n', 'kube-system', '--no-headers']).stdout;
    const rows = out.trim().split('\n').map((l) => l.split(/\s+/));
    return expected.every((re) => rows.some((r) => re.test(r[0] ?? '') && r[1] === '1/1' && r[2] === 'Running'));
  }, 120_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${out}\n${c.kubectl(['describe', 'pods', '-n', 'kube-system']).stdout.slice(-6000)}`);
  });
  return out;
}

test('kube-system shows the control plane as pods; etcdctl in the etcd pod lists the store', { skip: skipWithoutContainers }, async (t) => {
  const c = await startCluster(t, { runtime: 'cri' });
  assert.match(c.up.stdout(), /✓ kube-system {2}control-plane pods etcd-node-1, kube-apiserver-node-1/);
  const out = await controlPlaneRunning(c);
  assert.equal(out.trim().split('\n').length, expected.length, out);

  // kubeadm's labels and the node-critical priority class on the static pods.
  assert.equal(c.ok('get', 'pods', '-n', 'kube-system', '-l', 'tier=control-plane', '-o', 'jsonpath={.items[*].metadata.labels.component}').split(' ').sort().join(' '), 'etcd kube-apiserver kube-controller-manager kube-scheduler');
  assert.equal(c.ok('get', 'pod', 'etcd-node-1', '-n', 'kube-system', '-o', 'jsonpath={.spec.priorityClassName} {.spec.hostNetwork} {.spec.containers[0].image}'), 'system-node-critical true registry.k8s.io/etcd:3.4.23-0');
  assert.match(c.ok('get', 'daemonset', 'kube-proxy', '-n', 'kube-system'), /^kube-proxy\s+1\s+1\s+1\s+1\s+1\s/m);
  assert.match(c.ok('get', 'deployment', 'coredns', '-n', 'kube-system'), /^coredns\s+1\/1\s+1\s+1\s/m);

  // The real etcdctl, inside the etcd pod, against the embedded store.
  const keys = c.ok('exec', 'etcd-node-1', '-n', 'kube-system', '--', 'etcdctl', 'get', '/', '--prefix', '--keys-only');
  assert.match(keys, /^\/registry\/namespaces\/kube-system$/m);
  assert.match(keys, /^\/registry\/pods\/kube-system\/etcd-node-1$/m);

  // The stand-in says what it is, then shows the real component's log (DATA_DIR/logs), as on kubeadm.
  assert.match(c.ok('logs', 'kube-apiserver-node-1', '-n', 'kube-system'), /kube-apiserver runs inside the 'flotilla up' process/);
  let schedulerLog = '';
  await eventually('a line of the real scheduler in kubectl logs kube-scheduler-node-1', () => {
    schedulerLog = c.kubectl(['logs', 'kube-scheduler-node-1', '-n', 'kube-system']).stdout;
    return /^\{.*"component":"scheduler".*\}$/m.test(schedulerLog);
  }, 30_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${schedulerLog}`);
  });
  assert.match(schedulerLog, /^flotilla: kube-scheduler's log follows/m);
  assert.match(c.ok('logs', 'etcd-node-1', '-n', 'kube-system'), /^\{.*"component":"(etcd|mvcc|etcdserver)".*\}$/m);

  // The cluster DNS server's metrics are on the API server's /metrics with the others.
  assert.match(c.ok('get', '--raw', '/metrics'), /^# TYPE coredns_dns_requests_total counter$/m);
});

test('kube-system shows the same control plane pods on the simulated runtime', async (t) => {
  const c = await startCluster(t, { runtime: 'simulated' });
  const out = await controlPlaneRunning(c);
  assert.equal(out.trim().split('\n').length, expected.length, out);
});
