import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allResources, findResource } from './registry.js';

test('registry: every group/resource once, core first', () => {
  const keys = allResources.map((r) => `${r.group}/${r.version}/${r.resource}`);
  assert.equal(new Set(keys).size, keys.length);
  const groups = [...new Set(allResources.map((r) => r.group))];
  assert.deepEqual(groups.filter((g) => g !== ''), ['apps', 'events.k8s.io', 'batch', 'rbac.authorization.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io']);
  if (allResources.some((r) => r.group === '')) assert.equal(allResources[0]!.group, '');
});

test('registry: finds the non-core resources', () => {
  for (const [group, resource] of [
    ['apps', 'deployments'], ['apps', 'replicasets'], ['apps', 'daemonsets'], ['apps', 'statefulsets'], ['apps', 'controllerrevisions'],
    ['batch', 'jobs'], ['batch', 'cronjobs'],
    ['discovery.k8s.io', 'endpointslices'], ['coordination.k8s.io', 'leases'], ['events.k8s.io', 'events'],
    ['rbac.authorization.k8s.io', 'roles'], ['rbac.authorization.k8s.io', 'clusterroles'],
    ['rbac.authorization.k8s.io', 'rolebindings'], ['rbac.authorization.k8s.io', 'clusterrolebindings'],
  ] as const) {
    assert.ok(findResource(group, 'v1', resource), `${resource}.${group}`);
  }
});

test('registry: `kubectl get all` categories', () => {
  const all = allResources.filter((r) => r.group !== '' && r.categories?.includes('all')).map((r) => r.resource).sort();
  assert.deepEqual(all, ['cronjobs', 'daemonsets', 'deployments', 'jobs', 'replicasets', 'statefulsets']);
});
