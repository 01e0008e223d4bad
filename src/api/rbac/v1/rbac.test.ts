import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../../apimachinery/meta.js';
import { deepClone } from '../../../apimachinery/meta.js';
import { clusterrolebindings, clusterroles, rolebindings, roles } from './rbac.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

function newRole(mutate: (r: any) => void = () => {}): KObject {
  const r: any = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'pod-reader', namespace: 'default', creationTimestamp: '2026-11-22T11:00:00Z' },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'watch', 'list'] }],
  };
  mutate(r);
  return r;
}

function newRoleBinding(mutate: (b: any) => void = () => {}): KObject {
  const b: any = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'read-pods', namespace: 'default', creationTimestamp: '2026-11-22T11:00:00Z' },
    subjects: [
      { kind: 'User', name: 'jane' },
      { kind: 'Group', name: 'devs' },
      { kind: 'ServiceAccount', name: 'builder', namespace: 'ci' },
    ],
    roleRef: { kind: 'Role', name: 'pod-reader' },
  };
  mutate(b);
  return b;
}

test('discovery metadata', () => {
  assert.deepEqual([roles, clusterroles, rolebindings, clusterrolebindings].map((r) => [r.resource, r.namespaced, r.shortNames]), [
    ['roles', true, undefined], ['clusterroles', false, undefined], ['rolebindings', true, undefined], ['clusterrolebindings', false, undefined],
  ]);
  assert.deepEqual(clusterroles.validateName!('system:controller:deployment-controller', false), []);
  assert.deepEqual(clusterroles.validateName!('a/b', false), ["may not contain '/'"]);
});

test('role rules validation', () => {
  const cases: { name: string; def: typeof roles; mutate: (r: any) => void; errs: string[] }[] = [
    { name: 'valid', def: roles, mutate: () => {}, errs: [] },
    {
      name: 'empty rule', def: roles, mutate: (r) => { r.rules = [{}]; },
      errs: [
        'rules[0].verbs: Required value: verbs must contain at least one value',
        'rules[0].apiGroups: Required value: resource rules must supply at least one api group',
        'rules[0].resources: Required value: resource rules must supply at least one resource',
      ],
    },
    {
      name: 'namespaced non-resource URL', def: roles, mutate: (r) => { r.rules = [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }]; },
      errs: ['rules[0].nonResourceURLs: Invalid value: []string{"/healthz"}: namespaced rules cannot apply to non-resource URLs'],
    },
    { name: 'cluster non-resource URL', def: clusterroles, mutate: (r) => { r.rules = [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }]; }, errs: [] },
    {
      name: 'resourceNames with several resources', def: roles,
      mutate: (r) => { r.rules = [{ apiGroups: [''], resources: ['pods', 'services'], resourceNames: ['x'], verbs: ['get'] }]; },
      errs: ['rules[0].resourceNames: Required value: resource names cannot apply to multiple resources'],
    },
    {
      name: 'empty aggregation rule', def: clusterroles, mutate: (r) => { r.aggregationRule = { clusterRoleSelectors: [] }; },
      errs: ['aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil'],
    },
  ];
  for (const tc of cases) assert.deepEqual(tc.def.strategy.validate(newRole(tc.mutate)).map((e) => e.message), tc.errs, tc.name);
});

test('binding defaults: roleRef and User/Group subjects get the RBAC group', () => {
  const b: any = newRoleBinding();
  rolebindings.strategy.default!(b);
  assert.equal(b.roleRef.apiGroup, 'rbac.authorization.k8s.io');
  assert.deepEqual(b.subjects.map((s: any) => s.apiGroup), ['rbac.authorization.k8s.io', 'rbac.authorization.k8s.io', undefined]);
  assert.deepEqual(rolebindings.strategy.validate(b).map((e) => e.message), []);
});

test('binding validation', () => {
  const cases: { name: string; def: typeof rolebindings; mutate: (b: any) => void; errs: string[] }[] = [
    {
      name: 'cluster binding to a Role; service account without namespace', def: clusterrolebindings,
      mutate: (b) => { b.subjects = [{ kind: 'ServiceAccount', name: 'builder' }]; },
      errs: ['roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"', 'subjects[0].namespace: Required value'],
    },
    {
      name: 'bad subjects', def: rolebindings,
      mutate: (b) => { b.subjects = [{ kind: 'User', name: '' }, { kind: 'Robot', name: 'r2' }, { kind: 'ServiceAccount', name: 'Bad_Name', apiGroup: 'x' }]; },
      errs: [
        'subjects[0].name: Required value',
        'subjects[0].name: Invalid value: "": user name cannot be empty',
        'subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
        `subjects[2].name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
        'subjects[2].apiGroup: Unsupported value: "x": supported values: ""',
      ],
    },
    {
      name: 'roleRef missing', def: rolebindings, mutate: (b) => { b.roleRef = {}; },
      errs: ['roleRef.kind: Unsupported value: "": supported values: "Role", "ClusterRole"', 'roleRef.name: Required value'],
    },
  ];
  for (const tc of cases) {
    const b = newRoleBinding(tc.mutate);
    tc.def.strategy.default!(b);
    assert.deepEqual(tc.def.strategy.validate(b).map((e) => e.message), tc.errs, tc.name);
  }
});

test('roleRef cannot change', () => {
  const old = newRoleBinding();
  rolebindings.strategy.default!(old);
  const b: any = deepClone(old);
  b.roleRef.name = 'other';
  assert.deepEqual(rolebindings.strategy.validateUpdate(b, old).map((e) => e.message), [
    'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"other"}: cannot change roleRef',
  ]);
});

test('tables: roles NAME CREATED AT; bindings NAME ROLE AGE (+ USERS GROUPS SERVICEACCOUNTS)', () => {
  assert.deepEqual(roles.table.columns.map((c) => [c.name, c.type]), [['Name', 'string'], ['Created At', 'date']]);
  assert.deepEqual(roles.table.row(newRole(), NOW), ['pod-reader', '2026-11-22T11:00:00Z']);
  assert.deepEqual(clusterrolebindings.table.columns.map((c) => [c.name, c.priority]), [
    ['Name', 0], ['Role', 0], ['Age', 0], ['Users', 1], ['Groups', 1], ['ServiceAccounts', 1],
  ]);
  const b: any = newRoleBinding((x) => { x.subjects.push({ kind: 'User', name: 'bob' }); });
  assert.deepEqual(rolebindings.table.row(b, NOW), ['read-pods', 'Role/pod-reader', '60m', 'jane, bob', 'devs', 'ci/builder']);
});
