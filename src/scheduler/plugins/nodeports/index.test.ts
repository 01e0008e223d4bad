import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../../../client/objects.js';
import { newNode, newPod, nodeInfoOf, runFilter } from '../../testing.js';
import { ERR_REASON, NodePorts } from './index.js';

function withPort(name: string, port: number, hostIP?: string, protocol: 'TCP' | 'UDP' = 'TCP'): Pod {
  return newPod(name, { spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: port, hostPort: port, protocol, ...(hostIP ? { hostIP } : {}) }] }] } });
}

const cases: { name: string; pod: Pod; existing: Pod[]; want?: string }[] = [
  { name: 'no host ports', pod: newPod('p'), existing: [withPort('e', 80)] },
  { name: 'free port', pod: withPort('p', 8080), existing: [withPort('e', 80)] },
  { name: 'same port, same protocol', pod: withPort('p', 80), existing: [withPort('e', 80)], want: ERR_REASON },
  { name: 'same port, other protocol', pod: withPort('p', 53, undefined, 'UDP'), existing: [withPort('e', 53)] },
  { name: 'same port, different IPs', pod: withPort('p', 80, '10.0.0.1'), existing: [withPort('e', 80, '10.0.0.2')] },
  { name: '0.0.0.0 clashes with a specific IP', pod: withPort('p', 80), existing: [withPort('e', 80, '10.0.0.2')], want: ERR_REASON },
  { name: 'specific IP clashes with 0.0.0.0', pod: withPort('p', 80, '10.0.0.1'), existing: [withPort('e', 80)], want: ERR_REASON },
];
for (const tc of cases) {
  test(`NodePorts: ${tc.name}`, () => {
    const s = runFilter(new NodePorts(), tc.pod, nodeInfoOf(newNode('n'), tc.existing));
    assert.equal(s?.message(), tc.want);
    if (s) assert.equal(s.codeName(), 'Unschedulable');
  });
}
