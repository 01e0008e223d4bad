import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../../apimachinery/meta.js';
import { leases } from './leases.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

function newLease(mutate: (l: any) => void = () => {}): KObject {
  const l: any = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'node-1', namespace: 'kube-node-lease', creationTimestamp: '2026-11-22T11:00:00Z' },
    spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: '2026-11-22T11:59:58.123456Z' },
  };
  mutate(l);
  return l;
}

test('discovery metadata and write rules', () => {
  assert.equal(leases.group, 'coordination.k8s.io');
  assert.equal(leases.shortNames, undefined);
  assert.equal(leases.namespaced, true);
  assert.equal(leases.strategy.allowCreateOnUpdate, true);
  assert.equal(leases.strategy.allowUnconditionalUpdate, false);
});

test('validation', () => {
  const cases: { name: string; mutate: (l: any) => void; errs: string[] }[] = [
    { name: 'valid', mutate: () => {}, errs: [] },
    { name: 'zero duration', mutate: (l) => { l.spec.leaseDurationSeconds = 0; }, errs: ['spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0'] },
    { name: 'negative transitions', mutate: (l) => { l.spec.leaseTransitions = -1; }, errs: ['spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0'] },
    { name: 'empty spec', mutate: (l) => { l.spec = {}; }, errs: [] },
  ];
  for (const tc of cases) {
    const l = newLease(tc.mutate);
    leases.strategy.prepareForCreate!(l);
    assert.deepEqual(leases.strategy.validate(l).map((e) => e.message), tc.errs, tc.name);
  }
});

test('coordinated leader election fields are dropped (feature off in v1.32)', () => {
  const l: any = newLease((x) => { x.spec.strategy = 'OldestEmulationVersion'; x.spec.preferredHolder = 'a'; });
  leases.strategy.prepareForCreate!(l);
  assert.equal(l.spec.strategy, undefined);
  assert.equal(l.spec.preferredHolder, undefined);
});

test('table: NAME HOLDER AGE', () => {
  assert.deepEqual(leases.table.columns.map((c) => c.name), ['Name', 'Holder', 'Age']);
  assert.deepEqual(leases.table.row(newLease(), NOW), ['node-1', 'node-1', '60m']);
  assert.deepEqual(leases.table.row(newLease((l) => { delete l.spec.holderIdentity; }), NOW), ['node-1', '', '60m']);
});
