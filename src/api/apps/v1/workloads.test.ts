import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newInvalid } from '../../../apimachinery/errors.js';
import type { KObject } from '../../../apimachinery/meta.js';
import { deepClone } from '../../../apimachinery/meta.js';
import type { ResourceDef } from '../../types.js';
import { controllerrevisions } from './controllerrevisions.js';
import { daemonsets, TEMPLATE_GENERATION_ANNOTATION } from './daemonsets.js';
import { replicasets } from './replicasets.js';
import { statefulsets } from './statefulsets.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

function template(labels: Record<string, string>): any {
  return { metadata: { labels }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } };
}

function newReplicaSet(mutate: (r: any) => void = () => {}): KObject {
  const r: any = {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name: 'web-5644d7b6d9', namespace: 'default', creationTimestamp: '2026-11-22T11:00:00Z' },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }) },
  };
  mutate(r);
  return r;
}

function newDaemonSet(mutate: (d: any) => void = () => {}): KObject {
  const d: any = {
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: { name: 'kube-proxy', namespace: 'kube-system', creationTimestamp: '2026-11-22T11:00:00Z' },
    spec: { selector: { matchLabels: { k8s: 'proxy' } }, template: template({ k8s: 'proxy' }) },
  };
  mutate(d);
  return d;
}

function newStatefulSet(mutate: (s: any) => void = () => {}): KObject {
  const s: any = {
    apiVersion: 'apps/v1', kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default', creationTimestamp: '2026-11-22T11:00:00Z' },
    spec: { serviceName: 'db', replicas: 2, selector: { matchLabels: { app: 'db' } }, template: template({ app: 'db' }) },
  };
  mutate(s);
  return s;
}

function create(def: ResourceDef, obj: KObject): { obj: KObject; errs: string[] } {
  def.strategy.default?.(obj);
  def.strategy.prepareForCreate?.(obj);
  return { obj, errs: def.strategy.validate(obj).map((e) => e.message) };
}

function update(def: ResourceDef, old: KObject, mutate: (o: any) => void): { obj: KObject; errs: string[] } {
  const obj = deepClone(old);
  mutate(obj);
  def.strategy.default?.(obj);
  def.strategy.prepareForUpdate?.(obj, old);
  return { obj, errs: [...new Set(def.strategy.validateUpdate(obj, old).map((e) => e.message))] };
}

// ---------------------------------------------------------------------------------------
// ReplicaSets
// ---------------------------------------------------------------------------------------

test('replicasets: discovery metadata, default replicas 1', () => {
  assert.deepEqual([replicasets.shortNames, replicasets.categories], [['rs'], ['all']]);
  const { obj } = create(replicasets, newReplicaSet((r) => { delete r.spec.replicas; }));
  assert.equal((obj as any).spec.replicas, 1);
  assert.deepEqual(obj.status, {});
  assert.equal(obj.metadata?.generation, 1);
});

test("replicasets: the seeds' ReplicaSet (selector type=front-end) is valid", () => {
  const seed: any = {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name: 'myapp-replicaset', namespace: 'default', labels: { app: 'myapp', type: 'front-end' } },
    spec: {
      template: {
        metadata: { name: 'myapp-pod', labels: { app: 'myapp', type: 'front-end' } },
        spec: { containers: [{ name: 'nginx-container', image: 'nginx' }] },
      },
      replicas: 3,
      selector: { matchLabels: { type: 'front-end' } },
    },
  };
  assert.deepEqual(create(replicasets, seed).errs, []);
});

test('replicasets: validation', () => {
  const cases: { name: string; mutate: (r: any) => void; errs: string[] }[] = [
    {
      name: 'selector missing', mutate: (r) => { delete r.spec.selector; },
      errs: ['spec.selector: Required value', 'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`'],
    },
    {
      // Upstream reuses the Deployment wording for ReplicaSets.
      name: 'empty selector', mutate: (r) => { r.spec.selector = { matchLabels: {} }; },
      errs: ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment'],
    },
    {
      name: 'template without labels', mutate: (r) => { delete r.spec.template.metadata.labels; },
      errs: ['spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` does not match template `labels`'],
    },
    {
      name: 'restartPolicy OnFailure', mutate: (r) => { r.spec.template.spec.restartPolicy = 'OnFailure'; },
      errs: ['spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"'],
    },
    { name: 'negative replicas', mutate: (r) => { r.spec.replicas = -3; }, errs: ['spec.replicas: Invalid value: -3: must be greater than or equal to 0'] },
  ];
  for (const tc of cases) assert.deepEqual(create(replicasets, newReplicaSet(tc.mutate)).errs, tc.errs, tc.name);
});

test('replicasets: selector immutable; generation follows the spec only', () => {
  const { obj: old } = create(replicasets, newReplicaSet());
  assert.deepEqual(update(replicasets, old, (r) => { r.spec.selector.matchLabels.tier = 'x'; r.spec.template.metadata.labels.tier = 'x'; }).errs, [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
  ]);
  assert.equal(update(replicasets, old, (r) => { r.metadata.annotations = { a: 'b' }; }).obj.metadata?.generation, 1);
  assert.equal(update(replicasets, old, (r) => { r.spec.replicas = 6; }).obj.metadata?.generation, 2);
});

test('replicasets: duplicated spec errors on update are one clause of the message', () => {
  const { obj: old } = create(replicasets, newReplicaSet());
  const obj: any = deepClone(old);
  obj.spec.replicas = -1;
  const errs = replicasets.strategy.validateUpdate(obj, old);
  assert.equal(errs.length, 2);
  assert.equal(newInvalid({ group: 'apps', kind: 'ReplicaSet' }, 'web', errs).message,
    'ReplicaSet.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
});

test('replicasets: status subresource, scale, selectable fields, table', () => {
  const { obj: old } = create(replicasets, newReplicaSet());
  const obj: any = deepClone(old);
  obj.spec.replicas = 9;
  obj.status = { replicas: 3, readyReplicas: 2, availableReplicas: 2, fullyLabeledReplicas: 3, observedGeneration: 1 };
  replicasets.status!.prepareForUpdate(obj, old);
  assert.equal(obj.spec.replicas, 3);
  assert.deepEqual(replicasets.status!.validateUpdate(obj, old), []);
  assert.equal(replicasets.scale!.selector!(obj), 'app=web');
  assert.deepEqual(replicasets.selectableFields(obj), { 'metadata.name': 'web-5644d7b6d9', 'metadata.namespace': 'default', 'status.replicas': '3' });
  assert.deepEqual(replicasets.table.columns.map((c) => c.name), ['Name', 'Desired', 'Current', 'Ready', 'Age', 'Containers', 'Images', 'Selector']);
  assert.deepEqual(replicasets.table.row(obj, NOW), ['web-5644d7b6d9', 3, 3, 2, '60m', 'nginx', 'nginx:1.27', 'app=web']);
});

// ---------------------------------------------------------------------------------------
// DaemonSets
// ---------------------------------------------------------------------------------------

test('daemonsets: defaults and the template generation annotation', () => {
  assert.deepEqual([daemonsets.shortNames, daemonsets.categories, daemonsets.scale], [['ds'], ['all'], undefined]);
  const { obj, errs } = create(daemonsets, newDaemonSet((d) => { d.metadata.annotations = { [TEMPLATE_GENERATION_ANNOTATION]: '-4' }; }));
  const spec = (obj as any).spec;
  assert.deepEqual(errs, []);
  assert.deepEqual(spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.equal(spec.revisionHistoryLimit, 10);
  assert.equal(obj.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION], '1');
  assert.equal(obj.metadata?.generation, 1);
});

test('daemonsets: template changes bump the template generation, other spec changes only the generation', () => {
  const { obj: old } = create(daemonsets, newDaemonSet());
  const cases: { name: string; mutate: (d: any) => void; generation: number; templateGeneration: string }[] = [
    { name: 'no change', mutate: () => {}, generation: 1, templateGeneration: '1' },
    { name: 'client annotation ignored', mutate: (d) => { d.metadata.annotations[TEMPLATE_GENERATION_ANNOTATION] = '9'; }, generation: 1, templateGeneration: '1' },
    { name: 'minReadySeconds', mutate: (d) => { d.spec.minReadySeconds = 5; }, generation: 2, templateGeneration: '1' },
    { name: 'image', mutate: (d) => { d.spec.template.spec.containers[0].image = 'nginx:2'; }, generation: 2, templateGeneration: '2' },
  ];
  for (const tc of cases) {
    const { obj } = update(daemonsets, old, tc.mutate);
    assert.equal(obj.metadata?.generation, tc.generation, tc.name);
    assert.equal(obj.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION], tc.templateGeneration, tc.name);
  }
});

test('daemonsets: a status write keeps the spec and the template generation', () => {
  const { obj: old } = create(daemonsets, newDaemonSet());
  const obj: any = deepClone(old);
  obj.metadata.annotations[TEMPLATE_GENERATION_ANNOTATION] = '7';
  obj.spec.minReadySeconds = 3;
  obj.status = { desiredNumberScheduled: 1, currentNumberScheduled: 1, numberReady: 1, numberMisscheduled: 0 };
  daemonsets.status!.prepareForUpdate(obj, old);
  assert.equal(obj.metadata.annotations[TEMPLATE_GENERATION_ANNOTATION], '1');
  assert.equal(obj.spec.minReadySeconds, undefined);
  assert.deepEqual(daemonsets.status!.validateUpdate(obj, old), []);
});

test('daemonsets: validation', () => {
  const cases: { name: string; mutate: (d: any) => void; errs: string[] }[] = [
    {
      name: 'no selector: only the template mismatch', mutate: (d) => { delete d.spec.selector; },
      errs: ['spec.template.metadata.labels: Invalid value: map[string]string{"k8s":"proxy"}: `selector` does not match template `labels`'],
    },
    {
      name: 'empty selector', mutate: (d) => { d.spec.selector = {}; },
      errs: ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for daemonset'],
    },
    {
      name: 'surge and unavailable both set', mutate: (d) => { d.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: '10%' } }; },
      errs: ['spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"10%"}: may not be set when maxUnavailable is non-zero'],
    },
    {
      name: 'surge and unavailable both 0', mutate: (d) => { d.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } }; },
      errs: ['spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0'],
    },
    {
      name: 'unknown strategy', mutate: (d) => { d.spec.updateStrategy = { type: 'Rolling' }; },
      errs: ['spec.updateStrategy: Unsupported value: apps.DaemonSetUpdateStrategy{Type:"Rolling", RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}: supported values: "RollingUpdate", "OnDelete"'],
    },
    {
      name: 'activeDeadlineSeconds', mutate: (d) => { d.spec.template.spec.activeDeadlineSeconds = 1; },
      errs: ['spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported'],
    },
  ];
  for (const tc of cases) assert.deepEqual(create(daemonsets, newDaemonSet(tc.mutate)).errs, tc.errs, tc.name);
});

test('daemonsets: table NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE', () => {
  assert.deepEqual(daemonsets.table.columns.filter((c) => c.priority === 0).map((c) => c.name),
    ['Name', 'Desired', 'Current', 'Ready', 'Up-to-date', 'Available', 'Node Selector', 'Age']);
  const { obj } = create(daemonsets, newDaemonSet((d) => { d.spec.template.spec.nodeSelector = { 'kubernetes.io/os': 'linux' }; }));
  obj.status = { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 };
  assert.deepEqual(daemonsets.table.row(obj, NOW), ['kube-proxy', 3, 3, 2, 3, 2, 'kubernetes.io/os=linux', '60m', 'nginx', 'nginx:1.27', 'k8s=proxy']);
  const bare = create(daemonsets, newDaemonSet()).obj;
  assert.equal(daemonsets.table.row(bare, NOW)[6], '<none>');
});

// ---------------------------------------------------------------------------------------
// StatefulSets
// ---------------------------------------------------------------------------------------

test('statefulsets: defaults', () => {
  assert.deepEqual([statefulsets.shortNames, statefulsets.categories], [['sts'], ['all']]);
  const { obj, errs } = create(statefulsets, newStatefulSet((s) => {
    delete s.spec.replicas;
    delete s.spec.serviceName;
    s.spec.volumeClaimTemplates = [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }];
  }));
  const spec = (obj as any).spec;
  assert.deepEqual(errs, []);
  assert.equal(spec.replicas, 1);
  assert.equal(spec.podManagementPolicy, 'OrderedReady');
  assert.deepEqual(spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.deepEqual(spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  assert.equal(spec.revisionHistoryLimit, 10);
  assert.equal(spec.serviceName, '');
  assert.deepEqual(spec.volumeClaimTemplates[0], {
    apiVersion: 'v1', kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', creationTimestamp: null },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeMode: 'Filesystem' },
    status: { phase: 'Pending' },
  });
});

test('statefulsets: names are DNS labels; validation', () => {
  assert.deepEqual(statefulsets.validateName!('db.v1', false), ['must not contain dots']);
  const cases: { name: string; mutate: (s: any) => void; errs: string[] }[] = [
    { name: 'valid', mutate: () => {}, errs: [] },
    {
      name: 'bad podManagementPolicy', mutate: (s) => { s.spec.podManagementPolicy = 'Random'; },
      errs: ["spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"],
    },
    {
      name: 'unknown update strategy', mutate: (s) => { s.spec.updateStrategy = { type: 'Blue' }; },
      errs: ["spec.updateStrategy: Invalid value: apps.StatefulSetUpdateStrategy{Type:\"Blue\", RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}: must be 'RollingUpdate' or 'OnDelete'"],
    },
    {
      name: 'OnDelete with rollingUpdate', mutate: (s) => { s.spec.updateStrategy = { type: 'OnDelete', rollingUpdate: { partition: 1 } }; },
      errs: ["spec.updateStrategy.rollingUpdate: Invalid value: apps.RollingUpdateStatefulSetStrategy{Partition:1, MaxUnavailable:(*intstr.IntOrString)(nil)}: only allowed for updateStrategy 'RollingUpdate'"],
    },
    {
      name: 'negative partition', mutate: (s) => { s.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: -1 } }; },
      errs: ['spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0'],
    },
    {
      name: 'empty selector', mutate: (s) => { s.spec.selector = {}; },
      errs: ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset'],
    },
    {
      name: 'retention policy', mutate: (s) => { s.spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Keep', whenScaled: 'Retain' }; },
      errs: ['spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep": supported values: "Retain", "Delete"'],
    },
    {
      name: 'mismatched template', mutate: (s) => { s.spec.template.metadata.labels = { app: 'web' }; },
      errs: ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`'],
    },
  ];
  for (const tc of cases) assert.deepEqual(create(statefulsets, newStatefulSet(tc.mutate)).errs, tc.errs, tc.name);
});

test('statefulsets: only some spec fields may change; maxUnavailable is dropped (alpha in v1.32)', () => {
  const { obj: old } = create(statefulsets, newStatefulSet());
  assert.deepEqual(update(statefulsets, old, (s) => { s.spec.replicas = 5; s.spec.template.spec.containers[0].image = 'pg:17'; }).errs, []);
  assert.deepEqual(update(statefulsets, old, (s) => { s.spec.serviceName = 'other'; }).errs, [
    "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
  ]);
  assert.equal(update(statefulsets, old, (s) => { s.spec.replicas = 5; }).obj.metadata?.generation, 2);
  const { obj } = create(statefulsets, newStatefulSet((s) => { s.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } }; }));
  assert.deepEqual((obj as any).spec.updateStrategy.rollingUpdate, { partition: 0 });
});

test('statefulsets: status, scale and table NAME READY AGE', () => {
  const { obj } = create(statefulsets, newStatefulSet());
  obj.status = { replicas: 2, readyReplicas: 1, availableReplicas: 1, currentReplicas: 2, updatedReplicas: 2 };
  assert.deepEqual(statefulsets.status!.validateUpdate(obj, obj), []);
  assert.equal(statefulsets.scale!.selector!(obj), 'app=db');
  assert.deepEqual(statefulsets.scale!.statusReplicasPath, ['status', 'replicas']);
  assert.deepEqual(statefulsets.table.columns.map((c) => [c.name, c.priority]), [['Name', 0], ['Ready', 0], ['Age', 0], ['Containers', 1], ['Images', 1]]);
  assert.deepEqual(statefulsets.table.row(obj, NOW), ['db', '1/2', '60m', 'nginx', 'nginx:1.27']);
});

// ---------------------------------------------------------------------------------------
// ControllerRevisions
// ---------------------------------------------------------------------------------------

function newControllerRevision(mutate: (c: any) => void = () => {}): KObject {
  const c: any = {
    apiVersion: 'apps/v1', kind: 'ControllerRevision',
    metadata: {
      name: 'db-7c9f8d6b5', namespace: 'default', creationTimestamp: '2026-11-22T11:30:00Z',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u1', controller: true }],
    },
    data: { spec: { template: { metadata: { labels: { app: 'db' } } } } },
    revision: 1,
  };
  mutate(c);
  return c;
}

test('controllerrevisions: validation, immutable data, table', () => {
  assert.equal(controllerrevisions.shortNames, undefined);
  assert.deepEqual(create(controllerrevisions, newControllerRevision()).errs, []);
  assert.deepEqual(create(controllerrevisions, newControllerRevision((c) => { delete c.data; c.revision = -1; })).errs, [
    'data: Required value: data is mandatory',
    'revision: Invalid value: -1: must be greater than or equal to 0',
  ]);
  const old = newControllerRevision();
  const changed = update(controllerrevisions, old, (c) => { c.data.spec.x = 1; }).errs;
  assert.equal(changed.length, 1);
  assert.match(changed[0]!, /^data: Invalid value: .*: field is immutable$/);
  assert.deepEqual(controllerrevisions.table.columns.map((c) => c.name), ['Name', 'Controller', 'Revision', 'Age']);
  assert.deepEqual(controllerrevisions.table.row(old, NOW), ['db-7c9f8d6b5', 'statefulset.apps/db', 1, '30m']);
  assert.equal(controllerrevisions.table.row(newControllerRevision((c) => { delete c.metadata.ownerReferences; }), NOW)[1], '<none>');
});
