/**
 * Where a newcomer finds each component of `flotilla up`: every in-process component's
 * metrics on the API server's /metrics (`kubectl get --raw /metrics`), the store's on its
 * etcd client port as etcd serves them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from '../util/cluster.js';

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
  // The controllers' queues are there by name.
  assert.match(c.ok('get', '--raw', '/metrics'), /^workqueue_adds_total\{name="replicaset"\} \d+/m);
});
