import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Toleration } from '../../../client/objects.js';
import { newNode, newPod, nodeInfoOf, runFilter } from '../../testing.js';
import { ERR_REASON_UNSCHEDULABLE, NodeUnschedulable } from './index.js';

const cases: { name: string; unschedulable: boolean; tolerations: Toleration[] | undefined; want: string | undefined }[] = [
  { name: 'schedulable node', unschedulable: false, tolerations: undefined, want: undefined },
  { name: 'cordoned node', unschedulable: true, tolerations: undefined, want: ERR_REASON_UNSCHEDULABLE },
  {
    name: 'cordoned node, pod tolerates unschedulable taint', unschedulable: true,
    tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }], want: undefined,
  },
  { name: 'cordoned node, toleration for another key', unschedulable: true, tolerations: [{ key: 'other', operator: 'Exists' }], want: ERR_REASON_UNSCHEDULABLE },
];
for (const tc of cases) {
  test(`NodeUnschedulable: ${tc.name}`, () => {
    const s = runFilter(new NodeUnschedulable(), newPod('p', { tolerations: tc.tolerations }), nodeInfoOf(newNode('n', { unschedulable: tc.unschedulable })));
    assert.equal(s?.message(), tc.want);
    if (s) assert.equal(s.codeName(), 'UnschedulableAndUnresolvable');
  });
}
