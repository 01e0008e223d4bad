import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Affinity, NodeSelectorRequirement } from '../../../client/objects.js';
import { newNode, newPod, nodeInfoOf, runFilter, runScore } from '../../testing.js';
import { ERR_REASON_ENFORCED, ERR_REASON_POD, NodeAffinity } from './index.js';

const required = (expr: NodeSelectorRequirement[]): Affinity => ({
  nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: expr }] } },
});

const cases: { name: string; labels: Record<string, string>; nodeSelector?: Record<string, string>; affinity?: Affinity; want?: string }[] = [
  { name: 'nothing required', labels: {} },
  { name: 'nodeSelector matches', labels: { disktype: 'ssd' }, nodeSelector: { disktype: 'ssd' } },
  { name: 'nodeSelector does not match', labels: { disktype: 'hdd' }, nodeSelector: { disktype: 'ssd' }, want: ERR_REASON_POD },
  { name: 'In matches', labels: { zone: 'a' }, affinity: required([{ key: 'zone', operator: 'In', values: ['a', 'b'] }]) },
  { name: 'In does not match', labels: { zone: 'c' }, affinity: required([{ key: 'zone', operator: 'In', values: ['a', 'b'] }]), want: ERR_REASON_POD },
  { name: 'NotIn with label absent', labels: {}, affinity: required([{ key: 'zone', operator: 'NotIn', values: ['a'] }]) },
  { name: 'Exists', labels: { gpu: '' }, affinity: required([{ key: 'gpu', operator: 'Exists' }]) },
  { name: 'DoesNotExist fails', labels: { gpu: '' }, affinity: required([{ key: 'gpu', operator: 'DoesNotExist' }]), want: ERR_REASON_POD },
  { name: 'Gt', labels: { cores: '16' }, affinity: required([{ key: 'cores', operator: 'Gt', values: ['8'] }]) },
  { name: 'Lt fails', labels: { cores: '16' }, affinity: required([{ key: 'cores', operator: 'Lt', values: ['8'] }]), want: ERR_REASON_POD },
  {
    name: 'matchFields metadata.name', labels: {},
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n'] }] }] } } },
  },
  {
    name: 'terms are ORed', labels: { zone: 'b' },
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }],
        },
      },
    },
  },
  { name: 'nodeSelector and affinity both apply', labels: { zone: 'a' }, nodeSelector: { disktype: 'ssd' }, affinity: required([{ key: 'zone', operator: 'In', values: ['a'] }]), want: ERR_REASON_POD },
];
for (const tc of cases) {
  test(`NodeAffinity filter: ${tc.name}`, () => {
    const pod = newPod('p', { nodeSelector: tc.nodeSelector, spec: tc.affinity ? { affinity: tc.affinity } : {} });
    const s = runFilter(new NodeAffinity(), pod, nodeInfoOf(newNode('n', { labels: tc.labels })));
    assert.equal(s?.message(), tc.want);
  });
}

test('NodeAffinity filter: addedAffinity from the profile applies to every pod', () => {
  const pl = new NodeAffinity({ addedAffinity: required([{ key: 'pool', operator: 'In', values: ['batch'] }]).nodeAffinity! });
  assert.equal(runFilter(pl, newPod('p'), nodeInfoOf(newNode('n')))?.message(), ERR_REASON_ENFORCED);
  assert.equal(runFilter(pl, newPod('p'), nodeInfoOf(newNode('n', { labels: { pool: 'batch' } }))), undefined);
});

test('NodeAffinity score: preferred term weights, normalised to 100', () => {
  const pod = newPod('p', {
    spec: {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 2, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
            { weight: 8, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
          ],
        },
      },
    },
  });
  const nodes = [
    nodeInfoOf(newNode('both', { labels: { zone: 'a', disk: 'ssd' } })),
    nodeInfoOf(newNode('zone', { labels: { zone: 'a' } })),
    nodeInfoOf(newNode('none')),
  ];
  assert.deepEqual(runScore(new NodeAffinity(), pod, nodes), { both: 100, zone: 20, none: 0 });
});
