/**
 * The seeds' walkthrough on `flotilla up --runtime simulated` (the steps of
 * test/util/walkthrough-steps.ts; walkthrough-cri.test.ts is the same journey on real
 * containers, as the README's tour tells it), then the seeds' node
 * controller ("Node Controller는 5초마다 node의 상태를 모니터링하고, node의 상태가
 * Unreachable로 표시되면 40초 후에 제거되며, … 최대 시간은 5분"), on a control plane
 * whose flags are shortened as the course lists them, all on `flotilla up`:
 *
 *   --node-monitor-period=5s        → 1s
 *   --node-monitor-grace-period=40s → 20s (two of the kubelet's Lease renewals, every 10 s)
 *   --pod-eviction-timeout=5m0s     → 10s (which `up` turns into the API server's default
 *                                     not-ready/unreachable tolerationSeconds, the knob that
 *                                     carries it since taint-based eviction)
 *
 * `up` is the control plane and the first node (ship-1); the "cargo ship" that sinks is a
 * second node, a `flotilla kubelet` process on the simulated runtime (ship-2): stopping the
 * node is killing its kubelet. The real kubectl watches what a course student sees: the
 * node NotReady, its Unknown condition and taints, its pods not ready, then evicted and
 * replaced on ship-1, and the node back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster } from '../util/cluster.js';
import { spawnFlotilla, type Spawned } from '../util/flotilla.js';
import { replicaSetDefinition, startWalkthrough, type Walkthrough } from '../util/seeds.js';
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
  for (const step of walkthroughSteps) test(step.name, () => step.run(w));
});

test('the node controller marks a stopped node Unknown, taints it, and evicts its pods (shortened flags)', async (t) => {
  // The second node's kubelet stops before up and the data dir go (hooks run in order).
  let ship2: Spawned | undefined;
  const hooks: Array<() => unknown> = [];
  t.after(async () => {
    await ship2?.kill();
    for (const fn of hooks) await fn();
  });
  const c = await startCluster({ after: (fn) => hooks.push(fn) }, {
    runtime: 'simulated',
    nodeName: 'ship-1',
    extraArgs: ['--node-monitor-period', '1s', '--node-monitor-grace-period', '20s', '--pod-eviction-timeout', '10s'],
  });
  const { kubectl, ok } = c;
  const startShip2 = () => spawnFlotilla(['kubelet', '--kubeconfig', c.kubeconfig, '--node-name', 'ship-2', '--runtime', 'simulated', '--pod-cidr', '10.244.2.0/24', '--healthz-port', '0'], { FLOTILLA_LOG_LEVEL: 'warn' });
  ship2 = startShip2();
  await eventually('two Ready nodes', () => /^ship-1\s+Ready\s[^\n]*\nship-2\s+Ready\s/m.test(kubectl(['get', 'nodes', '--no-headers']).stdout), 60_000);

  // The seeds' ReplicaSet, spread over both nodes.
  const file = join(c.dir, 'replicaset-definition.yaml');
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
  // up's own node keeps heartbeating: only ship-2 is lost.
  assert.match(ok('get', 'nodes'), /^ship-1\s+Ready\s/m);
  await eventually('the unreachable taints', () => {
    const taints = ok('get', 'node', 'ship-2', '-o', 'jsonpath={range .spec.taints[*]}{.key}:{.effect}{"\\n"}{end}');
    return /^node\.kubernetes\.io\/unreachable:NoSchedule$/m.test(taints) && /^node\.kubernetes\.io\/unreachable:NoExecute$/m.test(taints);
  }, 30_000);
  assert.match(ok('describe', 'node', 'ship-2'), /^Taints:\s+node\.kubernetes\.io\/unreachable:NoExecute\n\s+node\.kubernetes\.io\/unreachable:NoSchedule$/m);
  // The node controller marks the node's pods not ready (MarkPodsNotReady) …
  for (const pod of onShip2) {
    await eventually(`${pod} not ready`, () => ok('get', 'pod', pod, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}') === 'False', 30_000);
  }
  // … their default tolerations (tolerationSeconds 10 here, from --pod-eviction-timeout;
  // 300 by default) run out, and the taint eviction controller deletes them; the
  // ReplicaSet replaces them on ship-1, up's node.
  for (const key of ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready']) {
    assert.equal(ok('get', 'pod', onShip2[0], '-o', `jsonpath={.spec.tolerations[?(@.key=="${key}")].tolerationSeconds}`), '10', key);
  }
  await eventually('4 running pods on ship-1', () => podsOn('ship-1').length === 4, 90_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${kubectl(['get', 'pods', '-o', 'wide']).stdout}\n${kubectl(['get', 'events']).stdout}\n${c.up.stderr().slice(-2000)}`);
  });
  const events = ok('get', 'events', '--field-selector', `involvedObject.name=${onShip2[0]}`, '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}');
  assert.match(events, new RegExp(`^TaintManagerEviction: Marking for deletion Pod default/${onShip2[0]}$`, 'm'));
  // The evicted pods wait for their node to confirm they stopped: Terminating, not gone.
  assert.match(ok('get', 'pod', onShip2[0]), new RegExp(`^${onShip2[0]}\\s+1/1\\s+Terminating\\s`, 'm'));

  // The node comes back: Ready, untainted, and its kubelet finishes the evicted pods.
  ship2 = startShip2();
  await eventually('ship-2 Ready again', () => /^ship-2\s+Ready\s/m.test(ok('get', 'nodes')), 60_000);
  await eventually('taints gone', () => ok('get', 'node', 'ship-2', '-o', 'jsonpath={.spec.taints}') === '', 30_000);
  await eventually('evicted pods gone', () => kubectl(['get', 'pod', onShip2[0]]).status !== 0, 60_000);
  assert.match(ok('get', 'rs', 'myapp-replicaset'), /^myapp-replicaset\s+4\s+4\s+4\s/m);
});
