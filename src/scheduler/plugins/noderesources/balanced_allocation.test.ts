import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newNode, newPod, nodeInfoOf, runScore } from '../../testing.js';
import { BalancedAllocation, balancedResourceScore } from './balanced_allocation.js';

test('balancedResourceScore: (1 - std) * 100', () => {
  const cases: [number[], number[], number][] = [
    [[2, 4], [4, 8], 100],
    [[4, 0], [4, 8], 50],
    [[3, 1], [4, 4], 75],
    [[10, 1], [4, 4], 62],
  ];
  for (const [req, alloc, want] of cases) assert.equal(balancedResourceScore(req, alloc), want, `${req} / ${alloc}`);
});

test('NodeResourcesBalancedAllocation prefers the node where cpu and memory stay in proportion', () => {
  const nodes = [
    nodeInfoOf(newNode('balanced', { allocatable: { cpu: '4', memory: '4Gi' } })),
    nodeInfoOf(newNode('cpu-heavy', { allocatable: { cpu: '4', memory: '4Gi' } }), [newPod('e', { requests: { cpu: '3' } })]),
  ];
  const got = runScore(new BalancedAllocation(), newPod('p', { requests: { cpu: '1', memory: '1Gi' } }), nodes);
  assert.equal(got.balanced, 100);
  assert.equal(got['cpu-heavy'], 62);
});

test('NodeResourcesBalancedAllocation skips best-effort pods', () => {
  const got = runScore(new BalancedAllocation(), newPod('p'), [nodeInfoOf(newNode('n'))]);
  assert.deepEqual(got, { n: 0 });
});
