import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Taint, Toleration } from '../../../client/objects.js';
import { newNode, newPod, nodeInfoOf, runFilter, runScore } from '../../testing.js';
import { TaintToleration } from './index.js';

const filterCases: { name: string; taints: Taint[]; tolerations?: Toleration[]; want?: string }[] = [
  { name: 'no taints', taints: [] },
  {
    name: 'NoSchedule taint not tolerated', taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
    want: 'node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }',
  },
  { name: 'NoExecute taint with value', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }], want: 'node(s) had untolerated taint {dedicated: gpu}' },
  { name: 'PreferNoSchedule does not filter', taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] },
  { name: 'Equal toleration with matching value', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }], tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] },
  {
    name: 'Equal toleration with other value', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'cpu' }], want: 'node(s) had untolerated taint {dedicated: gpu}',
  },
  { name: 'Exists toleration without key tolerates all', taints: [{ key: 'a', effect: 'NoSchedule' }, { key: 'b', effect: 'NoExecute' }], tolerations: [{ operator: 'Exists' }] },
  {
    name: 'toleration for another effect', taints: [{ key: 'a', effect: 'NoExecute' }], tolerations: [{ key: 'a', operator: 'Exists', effect: 'NoSchedule' }],
    want: 'node(s) had untolerated taint {a: }',
  },
];
for (const tc of filterCases) {
  test(`TaintToleration filter: ${tc.name}`, () => {
    const s = runFilter(new TaintToleration(), newPod('p', { tolerations: tc.tolerations }), nodeInfoOf(newNode('n', { taints: tc.taints })));
    assert.equal(s?.message(), tc.want);
    if (s) assert.equal(s.codeName(), 'UnschedulableAndUnresolvable');
  });
}

test('TaintToleration score: fewer untolerated PreferNoSchedule taints rank higher', () => {
  const nodes = [
    nodeInfoOf(newNode('clean')),
    nodeInfoOf(newNode('one', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }] })),
    nodeInfoOf(newNode('two', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }, { key: 'b', effect: 'PreferNoSchedule' }] })),
    nodeInfoOf(newNode('tolerated', { taints: [{ key: 'c', effect: 'PreferNoSchedule' }] })),
  ];
  const got = runScore(new TaintToleration(), newPod('p', { tolerations: [{ key: 'c', operator: 'Exists', effect: 'PreferNoSchedule' }] }), nodes);
  assert.deepEqual(got, { clean: 100, one: 50, two: 0, tolerated: 100 });
});
