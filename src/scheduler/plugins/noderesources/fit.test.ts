import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../../../client/objects.js';
import { podRequests } from '../../framework/resources.js';
import { newNode, newPod, nodeInfoOf, runFilter, runScore } from '../../testing.js';
import { NodeResourcesFit } from './fit.js';

const filterCases: { name: string; alloc: Record<string, string>; existing: Pod[]; pod: Pod; want?: string[] }[] = [
  { name: 'fits', alloc: { cpu: '4', memory: '8Gi' }, existing: [newPod('e', { requests: { cpu: '2' } })], pod: newPod('p', { requests: { cpu: '2', memory: '1Gi' } }) },
  { name: 'insufficient cpu', alloc: { cpu: '4' }, existing: [newPod('e', { requests: { cpu: '3' } })], pod: newPod('p', { requests: { cpu: '1500m' } }), want: ['Insufficient cpu'] },
  { name: 'insufficient cpu and memory', alloc: { cpu: '1', memory: '1Gi' }, existing: [], pod: newPod('p', { requests: { cpu: '2', memory: '2Gi' } }), want: ['Insufficient cpu', 'Insufficient memory'] },
  { name: 'too many pods', alloc: { pods: '1' }, existing: [newPod('e')], pod: newPod('p'), want: ['Too many pods'] },
  { name: 'best-effort pod on a full node only counts pods', alloc: { cpu: '1', pods: '10' }, existing: [newPod('e', { requests: { cpu: '1' } })], pod: newPod('p') },
  { name: 'ephemeral storage', alloc: { 'ephemeral-storage': '1Gi' }, existing: [], pod: newPod('p', { requests: { 'ephemeral-storage': '2Gi' } }), want: ['Insufficient ephemeral-storage'] },
  { name: 'extended resource missing on node', alloc: {}, existing: [], pod: newPod('p', { requests: { 'example.com/gpu': '1' } }), want: ['Insufficient example.com/gpu'] },
  { name: 'extended resource available', alloc: { 'example.com/gpu': '2' }, existing: [newPod('e', { requests: { 'example.com/gpu': '1' } })], pod: newPod('p', { requests: { 'example.com/gpu': '1' } }) },
];
for (const tc of filterCases) {
  test(`NodeResourcesFit filter: ${tc.name}`, () => {
    const s = runFilter(new NodeResourcesFit(), tc.pod, nodeInfoOf(newNode('n', { allocatable: tc.alloc }), tc.existing));
    assert.deepEqual(s?.reasons, tc.want);
    if (s) assert.equal(s.codeName(), 'Unschedulable');
  });
}

test('NodeResourcesFit filter: ignoredResources are not checked', () => {
  const s = runFilter(new NodeResourcesFit({ ignoredResources: ['example.com/gpu'] }), newPod('p', { requests: { 'example.com/gpu': '1' } }), nodeInfoOf(newNode('n')));
  assert.equal(s, undefined);
});

test('pod requests: max(init containers) vs sum(containers), sidecars, overhead', () => {
  const cases: { name: string; pod: Pod; cpu: number; memory: number }[] = [
    {
      name: 'sum of containers larger',
      pod: newPod('p', { spec: { containers: [{ name: 'a', resources: { requests: { cpu: '1' } } }, { name: 'b', resources: { requests: { cpu: '2' } } }], initContainers: [{ name: 'i', resources: { requests: { cpu: '2' } } }] } }),
      cpu: 3000, memory: 0,
    },
    {
      name: 'init container larger',
      pod: newPod('p', { spec: { containers: [{ name: 'a', resources: { requests: { cpu: '1' } } }], initContainers: [{ name: 'i', resources: { requests: { cpu: '3', memory: '1Gi' } } }] } }),
      cpu: 3000, memory: 1 << 30,
    },
    {
      name: 'sidecar adds to containers and to later init steps',
      pod: newPod('p', {
        spec: {
          containers: [{ name: 'a', resources: { requests: { cpu: '1' } } }],
          initContainers: [
            { name: 'side', restartPolicy: 'Always', resources: { requests: { cpu: '500m' } } },
            { name: 'i', resources: { requests: { cpu: '2' } } },
          ],
        },
      }),
      cpu: 2500, memory: 0,
    },
    {
      name: 'overhead is added',
      pod: newPod('p', { requests: { cpu: '1' }, spec: { overhead: { cpu: '250m', memory: '120Mi' } } }),
      cpu: 1250, memory: 120 * 1024 * 1024,
    },
  ];
  for (const tc of cases) {
    const r = podRequests(tc.pod);
    assert.equal(r.milliCPU, tc.cpu, tc.name);
    assert.equal(r.memory, tc.memory, tc.name);
  }
});

test('NodeResourcesFit score: LeastAllocated prefers free nodes, MostAllocated packs', () => {
  const nodes = [
    nodeInfoOf(newNode('empty', { allocatable: { cpu: '4', memory: '8Gi' } })),
    nodeInfoOf(newNode('half', { allocatable: { cpu: '4', memory: '8Gi' } }), [newPod('e', { requests: { cpu: '2', memory: '4Gi' } })]),
  ];
  const pod = newPod('p', { requests: { cpu: '1', memory: '2Gi' } });
  // empty: cpu (4-1)/4 = 75, mem (8-2)/8 = 75 → 75; half: cpu (4-3)/4 = 25, mem (8-6)/8 = 25 → 25.
  assert.deepEqual(runScore(new NodeResourcesFit(), pod, nodes), { empty: 75, half: 25 });
  assert.deepEqual(runScore(new NodeResourcesFit({ scoringStrategy: { type: 'MostAllocated' } }), pod, nodes), { empty: 25, half: 75 });
});

test('NodeResourcesFit score: containers without requests count 100m / 200 MB', () => {
  const nodes = [nodeInfoOf(newNode('n', { allocatable: { cpu: '1', memory: `${1000 * 1024 * 1024}` } }))];
  // cpu (1000-100)*100/1000 = 90; memory (1000-200)*100/1000 = 80 → 85.
  assert.deepEqual(runScore(new NodeResourcesFit(), newPod('p'), nodes), { n: 85 });
});

test('NodeResourcesFit score: RequestedToCapacityRatio follows the shape', () => {
  const pl = new NodeResourcesFit({ scoringStrategy: { type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape: [{ utilization: 0, score: 0 }, { utilization: 100, score: 10 }] } } });
  const nodes = [nodeInfoOf(newNode('n', { allocatable: { cpu: '4', memory: '4Gi' } }))];
  assert.deepEqual(runScore(pl, newPod('p', { requests: { cpu: '2', memory: '1Gi' } }), nodes), { n: 38 });
});
