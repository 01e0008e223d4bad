import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SchedulerCache } from './cache.js';
import { podInfoOf } from './framework/nodeinfo.js';
import { newNode, newPod } from './testing.js';

test('assumed pods count at once, are confirmed by the informer, and forgotten on failure', () => {
  const c = new SchedulerCache();
  c.addNode(newNode('n', { allocatable: { cpu: '4' } }));
  const p = newPod('p', { uid: 'u1', requests: { cpu: '1' } });
  c.assumePod(podInfoOf(p), 'n');
  assert.equal(c.get('n')!.requested.milliCPU, 1000);
  assert.equal(c.isAssumed('u1'), true);
  // The informer delivers the bound pod: the assumption becomes fact, counted once.
  c.addPod({ ...p, spec: { ...p.spec!, nodeName: 'n' } });
  assert.equal(c.isAssumed('u1'), false);
  assert.equal(c.get('n')!.requested.milliCPU, 1000);
  assert.equal(c.get('n')!.pods.length, 1);

  const q = newPod('q', { uid: 'u2', requests: { cpu: '2' } });
  c.assumePod(podInfoOf(q), 'n');
  assert.equal(c.get('n')!.requested.milliCPU, 3000);
  c.forgetPod('u2');
  assert.equal(c.get('n')!.requested.milliCPU, 1000);
  c.removePod(p);
  assert.equal(c.get('n')!.pods.length, 0);
});

test('NodeInfo tracks non-zero requests, host ports and images across nodes', () => {
  const c = new SchedulerCache();
  c.addNode(newNode('a', { images: [{ names: ['nginx:1.25'], sizeBytes: 100 }] }));
  c.addNode(newNode('b', { images: [{ names: ['nginx:1.25'], sizeBytes: 100 }] }));
  assert.deepEqual(c.get('a')!.imageStates.get('nginx:1.25'), { size: 100, numNodes: 2 });
  c.removeNode(newNode('b'));
  assert.deepEqual(c.get('a')!.imageStates.get('nginx:1.25'), { size: 100, numNodes: 1 });
  c.addPod(newPod('be', { nodeName: 'a', hostPorts: [8080] }));
  const a = c.get('a')!;
  assert.equal(a.requested.milliCPU, 0);
  assert.equal(a.nonZeroRequested.milliCPU, 100);
  assert.equal(a.nonZeroRequested.memory, 200 * 1024 * 1024);
  assert.equal(a.usedPorts.checkConflict({ ip: '0.0.0.0', protocol: 'TCP', port: 8080 }), true);
  assert.deepEqual(c.list().map((n) => n.name), ['a']);
});

test('pods on a node not yet known are kept until the node arrives', () => {
  const c = new SchedulerCache();
  c.addPod(newPod('early', { nodeName: 'late', requests: { cpu: '1' } }));
  assert.equal(c.list().length, 0);
  c.addNode(newNode('late'));
  assert.equal(c.get('late')!.requested.milliCPU, 1000);
});
