import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Taint, Toleration } from '../../client/objects.js';
import { getMatchingTolerations, minTolerationTimeMs, taintSetDiff, toleratesTaint } from './taints.js';

const unreachable: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };

const tolerates: { name: string; tol: Toleration; taint: Taint; want: boolean }[] = [
  { name: 'Exists on the key', tol: { key: unreachable.key, operator: 'Exists' }, taint: unreachable, want: true },
  { name: 'Exists without key tolerates everything', tol: { operator: 'Exists' }, taint: unreachable, want: true },
  { name: 'other key', tol: { key: 'node.kubernetes.io/not-ready', operator: 'Exists' }, taint: unreachable, want: false },
  { name: 'other effect', tol: { key: unreachable.key, operator: 'Exists', effect: 'NoSchedule' }, taint: unreachable, want: false },
  { name: 'Equal needs the value', tol: { key: 'k', operator: 'Equal', value: 'v' }, taint: { key: 'k', value: 'v', effect: 'NoExecute' }, want: true },
  { name: 'empty operator is Equal', tol: { key: 'k', value: 'w' }, taint: { key: 'k', value: 'v', effect: 'NoExecute' }, want: false },
];
for (const tc of tolerates) {
  test(`toleratesTaint: ${tc.name}`, () => assert.equal(toleratesTaint(tc.tol, tc.taint), tc.want));
}

const minTimes: { name: string; tols: Toleration[]; want: number }[] = [
  { name: 'no tolerations: evict now', tols: [], want: 0 },
  { name: 'no tolerationSeconds: forever', tols: [{ operator: 'Exists' }], want: -1 },
  { name: 'smallest wins', tols: [{ tolerationSeconds: 300 }, { tolerationSeconds: 60 }, { operator: 'Exists' }], want: 60_000 },
  { name: 'negative means now', tols: [{ tolerationSeconds: -5 }], want: 0 },
];
for (const tc of minTimes) {
  test(`minTolerationTimeMs: ${tc.name}`, () => assert.equal(minTolerationTimeMs(tc.tols), tc.want));
}

test('getMatchingTolerations: every taint must be tolerated', () => {
  const notReady: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };
  const tol: Toleration = { key: unreachable.key, operator: 'Exists', tolerationSeconds: 5 };
  assert.deepEqual(getMatchingTolerations([unreachable], [tol]), { allTolerated: true, used: [tol] });
  assert.equal(getMatchingTolerations([unreachable, notReady], [tol]).allTolerated, false);
  assert.equal(getMatchingTolerations([], undefined).allTolerated, true);
});

test('taintSetDiff compares key and effect', () => {
  const a: Taint = { key: 'a', effect: 'NoSchedule' };
  const b: Taint = { key: 'b', effect: 'NoSchedule', timeAdded: '2026-01-01T00:00:00Z' };
  assert.deepEqual(taintSetDiff([a, { key: 'b', effect: 'NoSchedule' }], [b]), { add: [a], remove: [] });
  assert.deepEqual(taintSetDiff([], [b]), { add: [], remove: [b] });
});
