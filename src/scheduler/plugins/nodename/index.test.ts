import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newNode, newPod, nodeInfoOf, runFilter } from '../../testing.js';
import { ERR_REASON, NodeName } from './index.js';

for (const tc of [
  { name: 'no nodeName', nodeName: undefined, want: undefined },
  { name: 'matching nodeName', nodeName: 'n1', want: undefined },
  { name: 'other nodeName', nodeName: 'n2', want: ERR_REASON },
]) {
  test(`NodeName: ${tc.name}`, () => {
    const s = runFilter(new NodeName(), newPod('p', { nodeName: tc.nodeName }), nodeInfoOf(newNode('n1')));
    assert.equal(s?.message(), tc.want);
  });
}
