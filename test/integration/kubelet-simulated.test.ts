/**
 * The kubelet with the simulated runtime against a real in-process API server, driven by
 * the real kubectl: the node registers and is Ready, a pod bound to it runs with an IP,
 * `kubectl delete pod` completes because the kubelet finishes the graceful deletion.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { Resources } from '../../src/client/interface.js';
import type { Lease, Pod } from '../../src/client/objects.js';
import { SimulatedRuntime, startKubelet, simulatedMachineInfo, startSimulatedNodes } from '../../src/kubelet/index.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { startTestApiServer, type TestApiServer } from '../util/kubectl.js';

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function kubeletOn(t: { after(fn: () => unknown): void }, api: TestApiServer, nodeName: string) {
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kubelet');
  t.after(() => client.close());
  const podCIDR = '10.244.7.0/24';
  const runtime = new SimulatedRuntime({ clock: realClock, podCIDR });
  const kubelet = await startKubelet({
    client,
    nodeName,
    runtime,
    clock: realClock,
    logger: silentLogger(),
    podCIDR,
    machine: simulatedMachineInfo({ name: nodeName, internalIP: '172.16.0.7' }),
  });
  t.after(() => kubelet.stop());
  return { client, kubelet };
}

test('a simulated node registers Ready, runs a bound pod with an IP, and completes kubectl delete', async (t) => {
  const api = await startTestApiServer(t);
  const { client } = await kubeletOn(t, api, 'sim-1');

  const nodes = await eventually('node Ready', async () => {
    const out = await api.ok(['get', 'nodes']);
    return /^sim-1\s+Ready\s+<none>\s+\S+\s+v1\.32\.0-flotilla\s*$/m.test(out) ? out : undefined;
  });
  assert.match(nodes, /NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION/);
  const wide = await api.ok(['get', 'node', 'sim-1', '-o', 'wide']);
  assert.match(wide, /172\.16\.0\.7/);
  assert.match(wide, /simulated:\/\/0\.1/);
  const lease = await client.resource<Lease>(Resources.leases, 'kube-node-lease').get('sim-1');
  assert.equal(lease.spec!.holderIdentity, 'sim-1');
  assert.equal(lease.spec!.leaseDurationSeconds, 40);

  await api.ok(['run', 'web', '--image', 'nginx']);
  await client.resource(Resources.pods, 'default').createSubresource('web', 'binding', {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: 'web', namespace: 'default' },
    target: { apiVersion: 'v1', kind: 'Node', name: 'sim-1' },
  });
  const line = await eventually('pod Running', async () => {
    const out = await api.ok(['get', 'pods', '-o', 'wide']);
    const l = out.split('\n').find((x) => x.startsWith('web '));
    return l && /\s1\/1\s+Running\s+0\s/.test(l) ? l : undefined;
  });
  assert.match(line, /\s10\.244\.7\.\d+\s+sim-1\s/);
  const pod = await client.resource<Pod>(Resources.pods, 'default').get('web');
  assert.deepEqual(
    pod.status!.conditions!.map((c) => [c.type, c.status]),
    [['PodReadyToStartContainers', 'True'], ['Initialized', 'True'], ['Ready', 'True'], ['ContainersReady', 'True'], ['PodScheduled', 'True']],
  );
  assert.match(pod.status!.containerStatuses![0]!.containerID!, /^simulated:\/\//);
  const describe = await api.ok(['describe', 'pod', 'web']);
  assert.match(describe, /Normal\s+Started\s+\S+\s+kubelet\s+Started container web/);

  const del = await api.kubectl(['delete', 'pod', 'web', '--timeout=30s'], { timeoutMs: 40_000 });
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stdout, /pod "web" deleted/);
  const after = await api.kubectl(['get', 'pod', 'web']);
  assert.match(after.stderr, /NotFound/);
});

test('a crashing pod shows CrashLoopBackOff in kubectl get pods', async (t) => {
  const api = await startTestApiServer(t);
  const { client } = await kubeletOn(t, api, 'sim-2');
  await api.ok(['run', 'crash', '--image', 'busybox', '--', 'sh', '-c', 'exit 1']);
  await client.resource(Resources.pods, 'default').createSubresource('crash', 'binding', {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: 'crash' },
    target: { apiVersion: 'v1', kind: 'Node', name: 'sim-2' },
  });
  await eventually('CrashLoopBackOff', async () => {
    const out = await api.ok(['get', 'pod', 'crash']);
    return /crash\s+0\/1\s+CrashLoopBackOff\s+1\s/.test(out) ? out : undefined;
  });
});

test('many simulated nodes in one process register and are Ready', async (t) => {
  const api = await startTestApiServer(t);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kubelet');
  t.after(() => client.close());
  const sim = await startSimulatedNodes({ client, count: 20, namePrefix: 'kwok-', clock: realClock, logger: silentLogger(), noEvents: true });
  t.after(() => sim.stop());
  const out = await api.ok(['get', 'nodes', '--no-headers']);
  const ready = out.split('\n').filter((l) => /^kwok-\d+\s+Ready\s/.test(l));
  assert.equal(ready.length, 20);
  // One pod watch (spec.nodeName!=) serves every node: a pod bound to kwok-5 runs there.
  await api.ok(['run', 'p5', '--image', 'nginx', '--overrides', JSON.stringify({ spec: { nodeName: 'kwok-5' } })]);
  const line = await eventually('pod on kwok-5 Running', async () => {
    const l = (await api.ok(['get', 'pod', 'p5', '-o', 'wide', '--no-headers'])).trim();
    return /\sRunning\s/.test(l) ? l : undefined;
  });
  assert.match(line, /\s10\.244\.5\.\d+\s+kwok-5\s/);
});
