/**
 * The scheduler against a real Flotilla API server started in-process (HTTPS + HTTP/2
 * through the REST client), observed with the real kubectl: nodes are plain Node objects
 * (no kubelet), pods get bound, `kubectl get pods -o wide` shows the NODE, and the
 * Scheduled / FailedScheduling events are there with upstream's wording.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { startScheduler } from '../../src/scheduler/index.js';
import { silentLogger } from '../../src/util/log.js';
import { backends, startBackendApiServer } from '../util/backends.js';

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function nodeYAML(name: string, cpu: string, extra = ''): string {
  return `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels:
    kubernetes.io/hostname: ${name}
${extra}status:
  capacity: {cpu: "${cpu}", memory: 8Gi, pods: "110"}
  allocatable: {cpu: "${cpu}", memory: 8Gi, pods: "110"}
  conditions:
  - {type: Ready, status: "True", reason: KubeletReady, message: ready}
`;
}

for (const backend of backends) test(`scheduler binds pods on a real API server; kubectl shows NODE and events (${backend.name})`, { skip: backend.skip }, async (t) => {
  const api = await startBackendApiServer(t, backend);
  await api.ok(['apply', '-f', '-'], { input: [nodeYAML('small', '2'), nodeYAML('large', '8'), nodeYAML('cp', '16', 'spec:\n  taints:\n  - {key: node-role.kubernetes.io/control-plane, effect: NoSchedule}\n')].join('---\n') });
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'flotilla-scheduler-test');
  const sched = startScheduler({ client, logger: silentLogger() });
  t.after(async () => {
    await sched.stop();
    await client.close();
  });

  await api.ok(['run', 'web', '--image', 'nginx', '--overrides', JSON.stringify({ spec: { containers: [{ name: 'web', image: 'nginx', resources: { requests: { cpu: '3' } } }] } })]);
  const wide = await eventually('web bound', async () => {
    const out = await api.ok(['get', 'pods', 'web', '-o', 'wide']);
    return /\blarge\b/.test(out) ? out : undefined;
  });
  assert.match(wide.split('\n')[0]!, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
  assert.match(wide.split('\n')[1]!, /^web\s+0\/1\s+Pending\s+0\s+\S+\s+<none>\s+large\s+<none>\s+<none>$/);
  const events = await eventually('Scheduled event', async () => {
    const out = await api.ok(['get', 'events', '--field-selector', 'involvedObject.name=web']);
    return out.includes('Scheduled') ? out : undefined;
  });
  assert.match(events, /Normal\s+Scheduled\s+pod\/web\s+Successfully assigned default\/web to large/);

  await api.ok(['run', 'huge', '--image', 'nginx', '--overrides', JSON.stringify({ spec: { containers: [{ name: 'huge', image: 'nginx', resources: { requests: { cpu: '64' } } }] } })]);
  const describe = await eventually('FailedScheduling in describe', async () => {
    const out = await api.ok(['describe', 'pod', 'huge']);
    return out.includes('FailedScheduling') ? out : undefined;
  });
  assert.match(describe, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/3 nodes are available: 1 node\(s\) had untolerated taint \{node-role\.kubernetes\.io\/control-plane: \}, 2 Insufficient cpu\. preemption: 0\/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod\.\./);
  const cond = await api.ok(['get', 'pod', 'huge', '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}']);
  assert.equal(cond, 'Unschedulable');

  // A node big enough arrives: the pending pod is retried and bound.
  await api.ok(['apply', '-f', '-'], { input: nodeYAML('giant', '96') });
  await eventually('huge bound to giant', async () => {
    const out = await api.ok(['get', 'pod', 'huge', '-o', 'jsonpath={.spec.nodeName}']);
    return out === 'giant' ? out : undefined;
  });
});
