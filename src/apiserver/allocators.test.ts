import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../apimachinery/index.js';
import { ServiceAllocator } from './allocators.js';

function svc(name: string, spec: Record<string, unknown>): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec };
}

test('allocates a free cluster IP and node ports, refusing taken ones with upstream wording', async () => {
  const stored = [svc('a', { type: 'NodePort', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ port: 80, nodePort: 30000 }] })];
  // random() = 0 starts at the first address of the range and at the first port.
  const alloc = new ServiceAllocator({ cidr: '10.96.0.0/28', nodePorts: { base: 30000, size: 3 }, listServices: async () => stored, random: () => 0 });
  const b = svc('b', { type: 'NodePort', ports: [{ port: 80 }, { port: 81 }] });
  assert.deepEqual(await alloc.allocate(b), []);
  const spec = b.spec as { clusterIP: string; clusterIPs: string[]; ports: { nodePort: number }[] };
  assert.equal(spec.clusterIP, '10.96.0.1');
  assert.deepEqual(spec.clusterIPs, ['10.96.0.1']);
  assert.deepEqual(spec.ports.map((p) => p.nodePort), [30001, 30002]);

  const taken = svc('c', { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ port: 80, nodePort: 30000 }] });
  const errs = (await alloc.allocate(taken)).map((e) => e.message);
  assert.deepEqual(errs, [
    'spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: provided IP is already allocated',
    'spec.ports[0].nodePort: Invalid value: 30000: provided port is already allocated',
  ]);
  const outside = svc('d', { type: 'ClusterIP', clusterIP: '10.0.0.1' });
  assert.match((await alloc.allocate(outside))[0]!.message, /the provided IP \(10\.0\.0\.1\) is not in the valid range\. The range of valid IPs is 10\.96\.0\.0\/28/);
});

test('headless and ExternalName services get no cluster IP', async () => {
  const alloc = new ServiceAllocator({ listServices: async () => [] });
  const headless = svc('h', { type: 'ClusterIP', clusterIP: 'None' });
  await alloc.allocate(headless);
  assert.equal((headless.spec as { clusterIP: string }).clusterIP, 'None');
  const ext = svc('e', { type: 'ExternalName', externalName: 'example.com' });
  await alloc.allocate(ext);
  assert.equal((ext.spec as { clusterIP?: string }).clusterIP, undefined);
});

test('an update that omits the allocated cluster IP and node ports keeps them', async () => {
  const stored = svc('a', { type: 'NodePort', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', port: 80, nodePort: 30001 }] });
  const alloc = new ServiceAllocator({ cidr: '10.96.0.0/28', nodePorts: { base: 30000, size: 3 }, listServices: async () => [stored], random: () => 0 });
  const update = svc('a', { type: 'NodePort', ports: [{ name: 'http', port: 80 }] });
  assert.deepEqual(await alloc.allocate(update, stored), []);
  const spec = update.spec as { clusterIP: string; clusterIPs: string[]; ports: { nodePort: number }[] };
  assert.equal(spec.clusterIP, '10.96.0.10');
  assert.deepEqual(spec.clusterIPs, ['10.96.0.10']);
  assert.equal(spec.ports[0]!.nodePort, 30001);
});

test('a LoadBalancer with externalTrafficPolicy Local gets a healthCheckNodePort, kept on update', async () => {
  const alloc = new ServiceAllocator({ nodePorts: { base: 30000, size: 3 }, listServices: async () => [], random: () => 0 });
  const lb = svc('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] });
  assert.deepEqual(await alloc.allocate(lb), []);
  const spec = lb.spec as { healthCheckNodePort: number; ports: { nodePort: number }[] };
  assert.equal(spec.ports[0]!.nodePort, 30000);
  assert.equal(spec.healthCheckNodePort, 30001);
  const replaced = svc('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80, nodePort: 30000 }] });
  await alloc.allocate(replaced, lb);
  assert.equal((replaced.spec as { healthCheckNodePort: number }).healthCheckNodePort, 30001);
  const cluster = svc('c', { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', ports: [{ port: 80 }] });
  await alloc.allocate(cluster);
  assert.equal((cluster.spec as { healthCheckNodePort?: number }).healthCheckNodePort, undefined);
});
