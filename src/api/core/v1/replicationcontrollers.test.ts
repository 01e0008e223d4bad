import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replicationControllers } from './replicationcontrollers.js';
import { create, createMessage, invalidMessage, newReplicationController } from './testing.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');

test('replication controller defaults', () => {
  const rc = create(replicationControllers, newReplicationController());
  assert.deepEqual(rc, {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, generation: 1 },
    spec: {
      replicas: 1,
      selector: { app: 'web' },
      template: {
        metadata: { creationTimestamp: null, labels: { app: 'web' } },
        spec: {
          containers: [{
            name: 'nginx', image: 'nginx:1.25', imagePullPolicy: 'IfNotPresent', resources: {},
            terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File',
          }],
          dnsPolicy: 'ClusterFirst', restartPolicy: 'Always', schedulerName: 'default-scheduler', securityContext: {},
          terminationGracePeriodSeconds: 30,
        },
      },
    },
    status: { replicas: 0 },
  });
  // A user's selector, labels and replicas are kept.
  const custom = create(replicationControllers, { ...newReplicationController({ replicas: 0, selector: { app: 'web' } }), metadata: { name: 'web', namespace: 'default', labels: { team: 'a' } } });
  assert.equal((custom.spec as any).replicas, 0);
  assert.deepEqual(custom.metadata!.labels, { team: 'a' });
});

test('replication controller validation messages', () => {
  const cases: { name: string; spec: Record<string, unknown>; want: string }[] = [
    { name: 'valid', spec: {}, want: '' },
    { name: 'selector mismatch', spec: { selector: { app: 'other' } }, want: 'ReplicationController "web" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`' },
    { name: 'negative replicas', spec: { replicas: -1 }, want: 'ReplicationController "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0' },
    {
      name: 'restart policy',
      spec: { template: { metadata: { labels: { app: 'web' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'a', image: 'a' }] } } },
      want: 'ReplicationController "web" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    },
    {
      name: 'template container',
      spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'a' }] } } },
      want: 'ReplicationController "web" is invalid: spec.template.spec.containers[0].image: Required value',
    },
  ];
  for (const tc of cases) assert.equal(createMessage(replicationControllers, newReplicationController(tc.spec)), tc.want, tc.name);
  const noTemplate = { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'web', namespace: 'default' }, spec: {} };
  assert.equal(createMessage(replicationControllers, noTemplate), 'ReplicationController "web" is invalid: [spec.selector: Required value, spec.template: Required value]');
});

test('replication controller update bumps generation only for spec changes; status kept', () => {
  const old = create(replicationControllers, newReplicationController());
  old.status = { replicas: 1, readyReplicas: 1 };
  const same = structuredClone(old);
  same.metadata!.labels = { app: 'web', extra: 'x' };
  same.status = {};
  replicationControllers.strategy.prepareForUpdate!(same, old);
  assert.equal(same.metadata!.generation, 1);
  assert.deepEqual(same.status, { replicas: 1, readyReplicas: 1 });
  const scaled = structuredClone(old);
  (scaled.spec as any).replicas = 6;
  replicationControllers.strategy.prepareForUpdate!(scaled, old);
  assert.equal(scaled.metadata!.generation, 2);
});

test('replication controller status validation and scale', () => {
  const rc = create(replicationControllers, newReplicationController());
  rc.status = { replicas: 1, readyReplicas: 2 };
  assert.equal(invalidMessage(replicationControllers, rc, replicationControllers.status!.validateUpdate(rc, rc)),
    'ReplicationController "web" is invalid: status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas');
  assert.equal(replicationControllers.scale!.selector!(rc), 'app=web');
  assert.deepEqual(replicationControllers.scale!.specReplicasPath, ['spec', 'replicas']);
});

test('replication controller table and fields', () => {
  const rc = create(replicationControllers, newReplicationController({ replicas: 3 }));
  rc.metadata!.creationTimestamp = '2024-05-01T11:58:00Z';
  rc.status = { replicas: 3, readyReplicas: 2 };
  assert.deepEqual(replicationControllers.table.row(rc, NOW), ['web', 3, 3, 2, '2m', 'nginx', 'nginx:1.25', 'app=web']);
  assert.deepEqual(replicationControllers.table.columns.map((c) => `${c.name}/${c.type}/${c.priority}`), [
    'Name/string/0', 'Desired/integer/0', 'Current/integer/0', 'Ready/integer/0', 'Age/string/0', 'Containers/string/1', 'Images/string/1', 'Selector/string/1',
  ]);
  assert.deepEqual(replicationControllers.selectableFields(rc), { 'metadata.name': 'web', 'metadata.namespace': 'default', 'status.replicas': '3' });
});

test('template serviceAccountName is mirrored to the deprecated serviceAccount', () => {
  const rc = create(replicationControllers, newReplicationController({
    template: { metadata: { labels: { app: 'web' } }, spec: { serviceAccountName: 'builder', containers: [{ name: 'a', image: 'a' }] } },
  }));
  const spec = (rc.spec as any).template.spec;
  assert.equal(spec.serviceAccount, 'builder');
  assert.equal(spec.tolerations, undefined); // admission defaults are for pods only
});
