/**
 * The seeds' walkthrough on `flotilla up --runtime simulated` (the steps of
 * test/util/walkthrough-steps.ts that do not need real containers), then the seeds' node
 * controller ("Node Controller는 5초마다 node의 상태를 모니터링하고, node의 상태가
 * Unreachable로 표시되면 40초 후에 제거되며, … 최대 시간은 5분"), on a control plane
 * whose flags are shortened as the course lists them:
 *
 *   --node-monitor-period=5s        → 1s
 *   --node-monitor-grace-period=40s → 20s (two of the kubelet's 10 s heartbeats; `flotilla
 *                                     kubelet` has no --node-status-update-frequency to shorten)
 *   --pod-eviction-timeout=5m0s     → 10s (the API server's default unreachable/not-ready
 *                                     tolerationSeconds, which carry it since Kubernetes 1.27)
 *
 * `flotilla up` does not take these flags, so the control plane runs as its own processes
 * (`flotilla apiserver`, `controller-manager`, `scheduler`) with two `flotilla kubelet`
 * nodes on the simulated runtime; stopping a node is killing its kubelet. The real kubectl
 * watches what a course student sees: the node NotReady, its Unknown condition and taints,
 * its pods not ready, then evicted and replaced on the healthy node, and the node back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnFlotilla, type Spawned } from '../util/flotilla.js';
import { freePort } from '../util/net.js';
import { replicaSetDefinition, startWalkthrough, type Walkthrough } from '../util/seeds.js';
import { tempDir } from '../util/tmp.js';
import { eventually } from '../util/wait.js';
import { walkthroughSteps } from '../util/walkthrough-steps.js';

describe('the seeds\' walkthrough on flotilla up --runtime simulated', () => {
  let w: Walkthrough;
  const hooks: Array<() => unknown> = [];
  before(async () => {
    w = await startWalkthrough({ after: (fn) => hooks.push(fn) }, 'simulated');
  });
  after(async () => {
    for (const fn of hooks) await fn();
  });
  for (const step of walkthroughSteps.filter((s) => !s.realContainersOnly)) test(step.name, () => step.run(w));
});

test('the node controller marks a stopped node Unknown, taints it, and evicts its pods (shortened flags)', async (t) => {
  const procs: Spawned[] = [];
  // Stopped before the data dir goes (after-hooks run in order).
  t.after(async () => {
    for (const p of procs.reverse()) await p.kill();
  });
  const dir = tempDir(t);
  const port = await freePort();
  const start = (args: string[]) => {
    const p = spawnFlotilla(args, { FLOTILLA_LOG_LEVEL: 'warn' });
    procs.push(p);
    return p;
  };
  const api = start(['apiserver', '--data-dir', dir, '--secure-port', String(port),
    '--default-not-ready-toleration-seconds', '10', '--default-unreachable-toleration-seconds', '10']);
  await eventually(`apiserver serving (${api.stderr()})`, () => /apiserver: serving on/.test(api.stdout()), 60_000);
  const kubeconfig = join(dir, 'admin.conf');
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const kubectl = (...a: string[]) => spawnSync('kubectl', a, { encoding: 'utf8', env, timeout: 30_000 });
  const ok = (...a: string[]) => {
    const r = kubectl(...a);
    assert.equal(r.status, 0, `kubectl ${a.join(' ')}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  start(['controller-manager', '--kubeconfig', kubeconfig, '--secure-port', '0',
    '--node-monitor-period', '1s', '--node-monitor-grace-period', '20s', '--pod-eviction-timeout', '10s']);
  start(['scheduler', '--kubeconfig', kubeconfig, '--secure-port', '0']);
  const kubelet = (name: string, cidr: string) =>
    start(['kubelet', '--kubeconfig', kubeconfig, '--node-name', name, '--runtime', 'simulated', '--pod-cidr', cidr, '--healthz-port', '0']);
  kubelet('ship-1', '10.244.1.0/24');
  let ship2 = kubelet('ship-2', '10.244.2.0/24');
  await eventually('two Ready nodes', () => /^ship-1\s+Ready\s[^\n]*\nship-2\s+Ready\s/m.test(kubectl('get', 'nodes', '--no-headers').stdout), 60_000);

  // The seeds' ReplicaSet, spread over both nodes.
  const file = join(dir, 'replicaset-definition.yaml');
  writeFileSync(file, replicaSetDefinition.replace('  replicas: 3\n', '  replicas: 4\n'));
  ok('create', '-f', file);
  const podsOn = (node: string) =>
    ok('get', 'pods', '-l', 'type=front-end', '--field-selector', `spec.nodeName=${node},status.phase=Running`, '-o', 'jsonpath={.items[*].metadata.name}').split(' ').filter(Boolean);
  await eventually('4 running pods', () => podsOn('ship-1').length + podsOn('ship-2').length === 4, 60_000);
  const onShip2 = podsOn('ship-2');
  assert.ok(onShip2.length > 0, ok('get', 'pods', '-o', 'wide'));

  // Stop the node: its kubelet dies without a word.
  await ship2.kill('SIGKILL');
  await eventually('ship-2 NotReady', () => /^ship-2\s+NotReady\s/m.test(ok('get', 'nodes')), 60_000);
  const ready = (what: string) => ok('get', 'node', 'ship-2', '-o', `jsonpath={.status.conditions[?(@.type=="Ready")].${what}}`);
  assert.equal(ready('status'), 'Unknown');
  assert.equal(ready('reason'), 'NodeStatusUnknown');
  assert.equal(ready('message'), 'Kubelet stopped posting node status.');
  await eventually('the unreachable taints', () => {
    const taints = ok('get', 'node', 'ship-2', '-o', 'jsonpath={range .spec.taints[*]}{.key}:{.effect}{"\\n"}{end}');
    return /^node\.kubernetes\.io\/unreachable:NoSchedule$/m.test(taints) && /^node\.kubernetes\.io\/unreachable:NoExecute$/m.test(taints);
  }, 30_000);
  assert.match(ok('describe', 'node', 'ship-2'), /^Taints:\s+node\.kubernetes\.io\/unreachable:NoExecute\n\s+node\.kubernetes\.io\/unreachable:NoSchedule$/m);
  // The node controller marks the node's pods not ready (MarkPodsNotReady) …
  for (const pod of onShip2) {
    await eventually(`${pod} not ready`, () => ok('get', 'pod', pod, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}') === 'False', 30_000);
  }
  // … their default tolerations (tolerationSeconds 10 here, 300 by default) run out, and the
  // taint eviction controller deletes them; the ReplicaSet replaces them on ship-1.
  assert.equal(ok('get', 'pod', onShip2[0], '-o', 'jsonpath={.spec.tolerations[?(@.key=="node.kubernetes.io/unreachable")].tolerationSeconds}'), '10');
  await eventually('4 running pods on ship-1', () => podsOn('ship-1').length === 4, 90_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${kubectl('get', 'pods', '-o', 'wide').stdout}\n${kubectl('get', 'events').stdout}\n${procs.map((p) => p.stderr().slice(-2000)).join('\n')}`);
  });
  const events = ok('get', 'events', '--field-selector', `involvedObject.name=${onShip2[0]}`, '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}');
  assert.match(events, new RegExp(`^TaintManagerEviction: Marking for deletion Pod default/${onShip2[0]}$`, 'm'));
  // The evicted pods wait for their node to confirm they stopped: Terminating, not gone.
  assert.match(ok('get', 'pod', onShip2[0]), new RegExp(`^${onShip2[0]}\\s+1/1\\s+Terminating\\s`, 'm'));

  // The node comes back: Ready, untainted, and its kubelet finishes the evicted pods.
  ship2 = kubelet('ship-2', '10.244.2.0/24');
  await eventually('ship-2 Ready again', () => /^ship-2\s+Ready\s/m.test(ok('get', 'nodes')), 60_000);
  await eventually('taints gone', () => ok('get', 'node', 'ship-2', '-o', 'jsonpath={.spec.taints}') === '', 30_000);
  await eventually('evicted pods gone', () => kubectl('get', 'pod', onShip2[0]).status !== 0, 60_000);
  assert.match(ok('get', 'rs', 'myapp-replicaset'), /^myapp-replicaset\s+4\s+4\s+4\s/m);
});
