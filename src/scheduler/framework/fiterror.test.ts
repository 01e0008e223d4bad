import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FitError, fitErrorMessage, newDiagnosis } from './fiterror.js';
import { Code, newStatus } from './types.js';

test('FitError: reasons counted per node and sorted as "<count> <reason>" strings', () => {
  const d = newDiagnosis();
  for (let i = 0; i < 10; i++) d.nodeToStatus.set(`t${i}`, newStatus(Code.UnschedulableAndUnresolvable, 'node(s) had untolerated taint {a: }'));
  d.nodeToStatus.set('c1', newStatus(Code.Unschedulable, 'Insufficient cpu', 'Insufficient memory'));
  d.nodeToStatus.set('c2', newStatus(Code.Unschedulable, 'Insufficient cpu'));
  // "10 …" sorts before "2 …" as Go's sort.Strings does.
  assert.equal(fitErrorMessage(12, d), '0/12 nodes are available: 1 Insufficient memory, 10 node(s) had untolerated taint {a: }, 2 Insufficient cpu.');
});

test('FitError: a PreFilter rejection replaces the per-node reasons; PostFilter text follows', () => {
  const d = newDiagnosis();
  d.preFilterMsg = "node(s) didn't match pod affinity rules";
  d.postFilterMsg = 'preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.';
  const e = new FitError('default/p', 3, d);
  assert.equal(e.message, "0/3 nodes are available: node(s) didn't match pod affinity rules. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..");
});

test('FitError: nodes absent from the map count with the absent-nodes status', () => {
  const d = newDiagnosis();
  d.nodeToStatus.set('a', newStatus(Code.Unschedulable, 'Too many pods'));
  d.absentNodesStatus = newStatus(Code.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector");
  assert.equal(fitErrorMessage(3, d), "0/3 nodes are available: 1 Too many pods, 2 node(s) didn't match Pod's node affinity/selector.");
});
