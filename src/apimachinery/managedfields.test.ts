import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.js';
import { StatusError } from './errors.js';
import type { ManagedFieldsEntry } from './meta.js';
import { makePath } from './fieldpath.js';
import {
  FieldManager,
  ScaleHandler,
  LAST_APPLIED_CONFIG_ANNOTATION,
  apply,
  buildManagerIdentifier,
  decodeManagedFields,
  encodeManagedFields,
  printManager,
  sortManagedFieldsEntries,
  update,
} from './managedfields.js';
import { type JSONObject, SchemaResolver } from './schema.js';
import { definitions, DEPLOYMENT, POD } from './testdata/definitions.js';

const resolver = new SchemaResolver({ definitions });
const deploymentSchema = resolver.root(DEPLOYMENT);
const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:01:00Z';

function newFieldManager(clock: FakeClock, extra: { subresource?: string; maxUpdateManagers?: number } = {}): FieldManager {
  return new FieldManager({ schema: deploymentSchema, apiVersion: 'apps/v1', kind: 'Deployment', clock, ...extra });
}

/** newDeployment builds the configuration kubectl sends for a simple web Deployment. */
function newDeployment(replicas = 2, extra: JSONObject = {}): JSONObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] },
      },
    },
    ...extra,
  };
}

function entries(obj: JSONObject): ManagedFieldsEntry[] {
  return ((obj.metadata as JSONObject).managedFields ?? []) as unknown as ManagedFieldsEntry[];
}

/** What the API server adds on create: identity and bookkeeping we never own. */
function stored(obj: JSONObject, uid = 'u-1'): JSONObject {
  const out = structuredClone(obj);
  Object.assign(out.metadata as JSONObject, { uid, resourceVersion: '1', creationTimestamp: T0, generation: 1 });
  return out;
}

const applyFieldsV1 = {
  'f:metadata': { 'f:labels': { 'f:app': {} } },
  'f:spec': {
    'f:replicas': {},
    'f:selector': {},
    'f:template': {
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:containers': {
          'k:{"name":"nginx"}': {
            '.': {},
            'f:image': {},
            'f:name': {},
            'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
          },
        },
      },
    },
  },
};

test('apply on create: one Apply entry, fieldsV1 as upstream, identity fields unowned', () => {
  const clock = new FakeClock();
  const obj = newFieldManager(clock).apply(undefined, newDeployment(), 'kubectl', false);
  assert.deepEqual(entries(obj), [{ manager: 'kubectl', operation: 'Apply', apiVersion: 'apps/v1', time: T0, fieldsType: 'FieldsV1', fieldsV1: applyFieldsV1 }]);
  assert.equal(JSON.stringify(entries(obj)[0].fieldsV1), JSON.stringify(applyFieldsV1), 'key order too');
  assert.deepEqual(Object.keys(entries(obj)[0]), ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1']);
  assert.equal((obj.spec as JSONObject).replicas, 2);
});

test('update tracks the writer; conflicting apply is refused with upstream text; force takes over', () => {
  const clock = new FakeClock();
  const fm = newFieldManager(clock);
  const created = stored(fm.apply(undefined, newDeployment(2), 'kubectl', false));
  clock.step(60_000);
  const edited = structuredClone(created);
  (edited.spec as JSONObject).replicas = 5;
  const afterEdit = fm.update(created, edited, 'kubectl-edit');
  const es = entries(afterEdit);
  assert.deepEqual(es.map((e) => [e.manager, e.operation, e.time]), [
    ['kubectl', 'Apply', T0],
    ['kubectl-edit', 'Update', T1],
  ]);
  assert.deepEqual(es[1].fieldsV1, { 'f:spec': { 'f:replicas': {} } });
  assert.ok(!('f:replicas' in ((es[0].fieldsV1 as JSONObject)['f:spec'] as JSONObject)), 'applier lost replicas');

  assert.throws(
    () => fm.apply(afterEdit, newDeployment(3), 'kubectl', false),
    (e: unknown) => {
      assert.ok(e instanceof StatusError);
      assert.equal(e.status.code, 409);
      assert.equal(e.status.reason, 'Conflict');
      assert.equal(e.message, 'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas');
      assert.deepEqual(e.status.details?.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using apps/v1', field: '.spec.replicas' }]);
      return true;
    },
  );

  const forced = fm.apply(afterEdit, newDeployment(3), 'kubectl', true);
  assert.equal((forced.spec as JSONObject).replicas, 3);
  assert.deepEqual(entries(forced).map((e) => e.manager), ['kubectl'], 'kubectl-edit owned nothing else');
});

test('apply keeping a value another manager set is not a conflict', () => {
  const clock = new FakeClock();
  const fm = newFieldManager(clock);
  const created = stored(fm.apply(undefined, newDeployment(2), 'kubectl', false));
  const edited = structuredClone(created);
  (edited.spec as JSONObject).replicas = 5;
  const afterEdit = fm.update(created, edited, 'kubectl-edit');
  const again = fm.apply(afterEdit, newDeployment(5), 'kubectl', false);
  const es = entries(again);
  assert.deepEqual(es.map((e) => e.manager), ['kubectl', 'kubectl-edit']);
  assert.ok('f:replicas' in ((es[0].fieldsV1 as JSONObject)['f:spec'] as JSONObject), 'shared ownership');
});

test('conflicts with several managers use the multi-conflict form', () => {
  const clock = new FakeClock();
  const fm = newFieldManager(clock);
  const created = stored(fm.apply(undefined, newDeployment(2), 'kubectl', false));
  const a = structuredClone(created);
  (a.spec as JSONObject).replicas = 5;
  const afterA = fm.update(created, a, 'alpha');
  const b = structuredClone(afterA);
  ((b.metadata as JSONObject).labels as JSONObject).app = 'other';
  ((((b.spec as JSONObject).template as JSONObject).spec as JSONObject).containers as JSONObject[])[0].image = 'nginx:2';
  const afterB = fm.update(afterA, b, 'beta');
  assert.throws(
    () => fm.apply(afterB, newDeployment(3), 'kubectl', false),
    (e: unknown) =>
      e instanceof StatusError &&
      e.message ===
        'Apply failed with 3 conflicts: conflicts with "alpha" using apps/v1:\n- .spec.replicas\n' +
          'conflicts with "beta" using apps/v1:\n- .metadata.labels.app\n- .spec.template.spec.containers[name="nginx"].image' &&
      e.status.details?.causes?.length === 3,
  );
});

test('removing a field from the applied configuration deletes it unless someone else owns it', () => {
  const clock = new FakeClock();
  const fm = newFieldManager(clock);
  const withAnnotations = newDeployment(2);
  (withAnnotations.metadata as JSONObject).annotations = { a: '1', b: '2' };
  const created = stored(fm.apply(undefined, withAnnotations, 'kubectl', false));
  // Another manager takes a co-ownership of annotation b by writing it (same value) plus c.
  const other = structuredClone(created);
  ((other.metadata as JSONObject).annotations as JSONObject).c = '3';
  const withOther = fm.apply(created, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', annotations: { b: '2', c: '3' } } }, 'other', false);
  const next = fm.apply(withOther, newDeployment(2), 'kubectl', false);
  assert.deepEqual((next.metadata as JSONObject).annotations, { b: '2', c: '3' });
});

test('update of an existing, never-tracked object stays untracked; first apply records before-first-apply', () => {
  const clock = new FakeClock();
  const fm = newFieldManager(clock);
  const legacy = stored(newDeployment(2));
  const edited = structuredClone(legacy);
  (edited.spec as JSONObject).replicas = 4;
  assert.equal((fm.update(legacy, edited, 'kubectl-edit').metadata as JSONObject).managedFields, undefined);

  const applied = fm.apply(legacy, newDeployment(2, { metadata: { name: 'web', namespace: 'default', labels: { app: 'web', tier: 'x' } } }), 'kubectl', false);
  assert.deepEqual(entries(applied).map((e) => [e.manager, e.operation]), [
    ['kubectl', 'Apply'],
    ['before-first-apply', 'Update'],
  ]);
  assert.throws(() => fm.apply(legacy, newDeployment(7), 'kubectl', false), /conflict with "before-first-apply" using apps\/v1: \.spec\.replicas/);
});

test('client-side-apply to server-side-apply upgrade: conflicts with own last-applied fields are forgiven', () => {
  const clock = new FakeClock();
  const fm = newFieldManager(clock);
  const config = newDeployment(2);
  const lastApplied = JSON.stringify(config);
  // Created by client-side apply: the annotation, and the Update entry of kubectl-client-side-apply.
  const csaObj = structuredClone(config);
  (csaObj.metadata as JSONObject).annotations = { [LAST_APPLIED_CONFIG_ANNOTATION]: lastApplied };
  const created = stored(fm.update(undefined, csaObj, 'kubectl-client-side-apply'));
  assert.deepEqual(entries(created).map((e) => [e.manager, e.operation]), [['kubectl-client-side-apply', 'Update']]);

  const ssa = fm.apply(created, newDeployment(3), 'kubectl', false);
  assert.equal((ssa.spec as JSONObject).replicas, 3);
  const annotation = ((ssa.metadata as JSONObject).annotations as JSONObject)[LAST_APPLIED_CONFIG_ANNOTATION] as string;
  assert.equal(annotation, JSON.stringify(JSON.parse(JSON.stringify(newDeployment(3)), (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v))));

  // A field changed since the last client-side apply is a real conflict.
  const scaled = structuredClone(created);
  (scaled.spec as JSONObject).replicas = 9;
  const afterScale = fm.update(created, scaled, 'kubectl-client-side-apply');
  assert.throws(() => fm.apply(afterScale, newDeployment(3), 'kubectl', false), /Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps\/v1: \.spec\.replicas/);
  // Other managers get no such leniency.
  assert.throws(() => fm.apply(created, newDeployment(3), 'my-tool', false), /conflict with "kubectl-client-side-apply"/);
});

test('no-op apply keeps the entry time', () => {
  const clock = new FakeClock();
  const fm = newFieldManager(clock);
  const created = stored(fm.apply(undefined, newDeployment(), 'kubectl', false));
  clock.step(60_000);
  const again = fm.apply(created, newDeployment(), 'kubectl', false);
  assert.equal(entries(again)[0].time, T0);
  assert.deepEqual({ ...again, metadata: { ...(again.metadata as JSONObject), managedFields: null } }, { ...created, metadata: { ...(created.metadata as JSONObject), managedFields: null } });
});

test('updates by one manager merge into its entry', () => {
  const clock = new FakeClock();
  const fm = newFieldManager(clock);
  const created = stored(fm.update(undefined, newDeployment(1), 'ctl'));
  const a = structuredClone(created);
  (a.spec as JSONObject).paused = true;
  const afterA = fm.update(created, a, 'ctl');
  assert.equal(entries(afterA).length, 1);
  assert.ok('f:paused' in ((entries(afterA)[0].fieldsV1 as JSONObject)['f:spec'] as JSONObject));
  assert.ok('f:replicas' in ((entries(afterA)[0].fieldsV1 as JSONObject)['f:spec'] as JSONObject));
});

test('client can reset managedFields with an empty list, or replace them', () => {
  const clock = new FakeClock();
  const fm = newFieldManager(clock);
  const created = stored(fm.apply(undefined, newDeployment(), 'kubectl', false));
  const reset = structuredClone(created);
  (reset.metadata as JSONObject).managedFields = [];
  assert.equal((fm.update(created, reset, 'kubectl-edit').metadata as JSONObject).managedFields, undefined);

  const replaced = structuredClone(created);
  (replaced.metadata as JSONObject).managedFields = [
    { manager: 'someone', operation: 'Update', apiVersion: 'apps/v1', time: T0, fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:paused': {} } } },
  ];
  assert.deepEqual(entries(fm.update(created, replaced, 'kubectl-edit')).map((e) => e.manager), ['someone']);

  const corrupt = structuredClone(created);
  (corrupt.metadata as JSONObject).managedFields = [{ manager: 'x', operation: 'Bogus', apiVersion: 'apps/v1', fieldsType: 'FieldsV1' }];
  assert.deepEqual(entries(fm.update(created, corrupt, 'kubectl-edit')).map((e) => e.manager), ['kubectl'], 'invalid managedFields from the client are ignored');
});

test('subresource updates are recorded with their subresource', () => {
  const clock = new FakeClock();
  const created = stored(newFieldManager(clock).apply(undefined, newDeployment(), 'kubectl', false));
  const withStatus = structuredClone(created);
  withStatus.status = { replicas: 2, readyReplicas: 2 };
  const out = newFieldManager(clock, { subresource: 'status' }).update(created, withStatus, 'kube-controller-manager');
  const e = entries(out).find((x) => x.manager === 'kube-controller-manager')!;
  assert.deepEqual(e, {
    manager: 'kube-controller-manager',
    operation: 'Update',
    apiVersion: 'apps/v1',
    time: T0,
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:status': { 'f:readyReplicas': {}, 'f:replicas': {} } },
    subresource: 'status',
  });
  assert.equal(printManager(buildManagerIdentifier(e)), '"kube-controller-manager" with subresource "status" using apps/v1');
});

test('Update entries are capped at 10; the oldest fold into ancient-changes', () => {
  const clock = new FakeClock();
  const fm = newFieldManager(clock);
  let obj = stored(fm.update(undefined, newDeployment(1), 'm0'));
  for (let i = 1; i <= 10; i++) {
    clock.step(1000);
    const next = structuredClone(obj);
    ((next.metadata as JSONObject).labels as JSONObject)[`l${i}`] = 'x';
    obj = fm.update(obj, next, `m${i}`);
  }
  const names = entries(obj).map((e) => e.manager);
  assert.equal(names.length, 10);
  assert.ok(names.includes('ancient-changes'));
  assert.ok(!names.includes('m0') && !names.includes('m1'));
});

test('apply input checks', () => {
  const fm = newFieldManager(new FakeClock());
  assert.throws(() => fm.apply(undefined, { ...newDeployment(), apiVersion: 'apps/v2' }, 'kubectl', false), (e: unknown) => e instanceof StatusError && e.status.code === 400 && e.message === 'invalid object type: apps/v2, Kind=Deployment');
  const withMF = newDeployment();
  (withMF.metadata as JSONObject).managedFields = [];
  assert.throws(() => fm.apply(undefined, withMF, 'kubectl', false), (e: unknown) => e instanceof StatusError && e.message === 'metadata.managedFields must be nil');
  const dup = newDeployment();
  const containers = (((dup.spec as JSONObject).template as JSONObject).spec as JSONObject).containers as JSONObject[];
  containers.push({ name: 'nginx', image: 'x' });
  assert.throws(
    () => fm.apply(undefined, dup, 'kubectl', false),
    (e: unknown) =>
      e instanceof StatusError &&
      e.status.code === 500 &&
      e.message === 'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name="nginx"]',
  );
});

test('one-shot apply/update helpers', () => {
  const pod = resolver.root(POD);
  const clock = new FakeClock();
  const cfg: JSONObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } };
  const created = apply(undefined, cfg, 'tool', false, pod, { clock });
  assert.equal(entries(created)[0].apiVersion, 'v1');
  const changed = structuredClone(created);
  (changed.spec as JSONObject).nodeName = 'n1';
  const out = update(created, changed, 'kube-scheduler', pod, { clock });
  assert.deepEqual(entries(out).map((e) => e.manager), ['tool', 'kube-scheduler']);
  assert.throws(() => apply(created, { ...cfg, apiVersion: 'v2' }, 'tool', false, pod, { clock, apiVersion: 'v1' }), /Incorrect version specified in apply patch. Specified patch version: v2, expected: v1/);
});

test('update on create compares against the zero object: parents that always exist get no "."', () => {
  const obj = newFieldManager(new FakeClock()).update(undefined, newDeployment(2), 'kubectl-create');
  const fieldsV1 = entries(obj)[0].fieldsV1;
  assert.equal(
    JSON.stringify(fieldsV1),
    JSON.stringify({
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"nginx"}': {
                '.': {},
                'f:image': {},
                'f:name': {},
                'f:ports': { '.': {}, 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    }),
  );
});

// Upstream managedfields_test.go TestRoundTripManagedFields (documents as JSON).
const roundTrips: ManagedFieldsEntry[][] = [
  [
    { apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'v:3': { 'f:alsoPi': {} }, 'v:3.1415': { 'f:pi': {} }, 'v:false': { 'f:notTrue': {} } }, manager: 'foo', operation: 'Update', time: '2001-02-03T04:05:06Z' },
    { apiVersion: 'v1beta1', fieldsType: 'FieldsV1', fieldsV1: { 'i:5': { 'f:i': {} } }, manager: 'foo', operation: 'Update', time: '2011-12-13T14:15:16Z' },
  ],
  [{ apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { 'f:image': {}, 'f:name': {} } } } }, manager: 'foo', operation: 'Apply' }],
  [
    {
      apiVersion: 'v1',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:apiVersion': {},
        'f:kind': {},
        'f:metadata': { 'f:labels': { 'f:app': {} }, 'f:name': {} },
        'f:spec': {
          'f:replicas': {},
          'f:selector': { 'f:matchLabels': { 'f:app': {} } },
          'f:template': {
            'f:medatada': { 'f:labels': { 'f:app': {} } },
            'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:ports': { 'i:0': { 'f:containerPort': {} } } } } },
          },
        },
      },
      manager: 'foo',
      operation: 'Update',
    },
  ],
  [{ apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } }, manager: 'foo', operation: 'Update', subresource: 'scale' }],
];
roundTrips.forEach((entries, i) => {
  test(`managedFields round trip #${i}`, () => {
    assert.deepEqual(encodeManagedFields(decodeManagedFields(entries)), entries);
  });
});

test('decodeManagedFields rejects what upstream rejects', () => {
  const base: ManagedFieldsEntry = { apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {}, manager: 'foo', operation: 'Apply' };
  assert.throws(() => decodeManagedFields([{ ...base, fieldsType: 'FieldsV2' }]), /^Error: invalid fieldsType "FieldsV2" in managed fields entry 0$/);
  assert.throws(() => decodeManagedFields([{ ...base, fieldsType: undefined }]), /missing fieldsType in managed fields entry 0/);
  assert.throws(() => decodeManagedFields([{ ...base, apiVersion: undefined }]), /apiVersion must not be empty/);
  assert.throws(() => decodeManagedFields([{ ...base, operation: 'Invalid' }]), /operation must be `Apply` or `Update`/);
  assert.throws(() => decodeManagedFields([{ ...base, operation: undefined }]), /operation must be `Apply` or `Update`/);
  assert.equal(encodeManagedFields(decodeManagedFields(undefined)), undefined);
});

test('buildManagerIdentifier (upstream cases)', () => {
  assert.equal(buildManagerIdentifier({ apiVersion: 'v1', manager: 'foo', operation: 'Update', time: '2001-02-03T04:05:06Z' }), '{"manager":"foo","operation":"Update","apiVersion":"v1"}');
  assert.equal(buildManagerIdentifier({ apiVersion: 'v1', manager: 'foo', operation: 'Apply', time: '2001-02-03T04:05:06Z' }), '{"manager":"foo","operation":"Apply"}');
  assert.equal(buildManagerIdentifier({ apiVersion: 'v1', manager: 'foo', operation: 'Apply', subresource: 'scale' }), '{"manager":"foo","operation":"Apply","subresource":"scale"}');
});

test('sortManagedFieldsEntries (upstream "manager sorted")', () => {
  const e = (manager: string, operation: 'Apply' | 'Update', time?: string): ManagedFieldsEntry => ({ manager, operation, ...(time ? { time } : {}) });
  const got = sortManagedFieldsEntries([
    e('c', 'Update', '2001-01-01T01:00:00Z'),
    e('a', 'Apply'),
    e('g', 'Apply'),
    e('f', 'Update', '2002-01-01T01:00:00Z'),
    e('i', 'Apply'),
    e('d', 'Update', '2002-01-01T01:00:00Z'),
    e('h', 'Apply'),
    e('e', 'Update', '2003-01-01T01:00:00Z'),
    e('b', 'Apply'),
  ]);
  assert.deepEqual(got.map((x) => x.manager), ['a', 'b', 'g', 'h', 'i', 'c', 'd', 'f', 'e']);
});

// Upstream lastappliedmanager_test.go TestApplyUsingLastAppliedAnnotation, first and
// version-mismatch cases: the object was written by client-side apply, then kubectl
// applies server-side; only fields that differ from the last-applied configuration
// conflict.
test('CSA→SSA: conflicts are the fields not allowed by last-applied (upstream case)', async () => {
  const { parse } = await import('yaml');
  const lastApplied = parse(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-deployment
spec:
  replicas: 3
  selector:
    matchLabels:
      app: my-app
  template:
    metadata:
      labels:
        app: my-app
    spec:
      containers:
      - name: my-c
        image: my-image-v1
      - name: my-c2
        image: my-image2
`) as JSONObject;
  const original = parse(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-deployment
  labels:
    app: my-app
spec:
  replicas: 100
  selector:
    matchLabels:
      app: my-app
  template:
    metadata:
      labels:
        app: my-app
    spec:
      containers:
      - name: my-c
        image: my-image-v2
`) as JSONObject;
  const applied = parse(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-deployment
  labels:
    app: my-new-label
spec:
  replicas: 333
  selector:
    matchLabels:
      app: my-new-label
  template:
    metadata:
      labels:
        app: my-new-label
    spec:
      containers:
      - name: my-c
        image: my-image-new
`) as JSONObject;
  const fm = newFieldManager(new FakeClock());
  (original.metadata as JSONObject).annotations = { [LAST_APPLIED_CONFIG_ANNOTATION]: JSON.stringify(lastApplied) };
  const live = fm.update(undefined, original, 'test_client_side_apply');
  assert.throws(
    () => fm.apply(live, applied, 'kubectl', false),
    (e: unknown) =>
      e instanceof StatusError &&
      e.status.code === 409 &&
      e.message ===
        'Apply failed with 3 conflicts: conflicts with "test_client_side_apply" using apps/v1:\n' +
          '- .metadata.labels.app\n- .spec.replicas\n- .spec.template.spec.containers[name="my-c"].image',
  );
  const forced = fm.apply(live, applied, 'kubectl', true);
  assert.equal((forced.spec as JSONObject).replicas, 333);

  // A last-applied configuration of another apiVersion allows nothing.
  const old = structuredClone(original);
  (old.metadata as JSONObject).annotations = { [LAST_APPLIED_CONFIG_ANNOTATION]: JSON.stringify({ ...lastApplied, apiVersion: 'extensions/v1beta1', spec: { replicas: 100 } }) };
  const liveOld = fm.update(undefined, old, 'test_client_side_apply');
  assert.throws(() => fm.apply(liveOld, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'my-deployment' }, spec: { replicas: 7 } }, 'kubectl', false), /Apply failed with 1 conflict: conflict with "test_client_side_apply" using apps\/v1: \.spec\.replicas/);
});

// Upstream scalehandler_test.go cases.
const scaleMappings = { 'apps/v1': makePath('spec', 'replicas') };
const fv = (json: string) => JSON.parse(json) as Record<string, unknown>;

test('ScaleHandler.toSubresource: owners of replicas become Scale entries; unknown versions drop', () => {
  const h = new ScaleHandler(
    [
      { manager: 'manager-1', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: fv('{"f:spec":{"f:another-field":{}}}') },
      { manager: 'manager-2', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: fv('{"f:spec":{"f:replicas":{}}}'), time: '2013-02-03T00:00:00Z' },
      { manager: 'manager-3', operation: 'Apply', apiVersion: 'apps/v10', fieldsType: 'FieldsV1', fieldsV1: fv('{"f:spec":{"f:replicas":{}}}') },
    ],
    'apps/v1',
    scaleMappings,
  );
  assert.deepEqual(h.toSubresource(), [
    { manager: 'manager-2', operation: 'Apply', apiVersion: 'autoscaling/v1', time: '2013-02-03T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: fv('{"f:spec":{"f:replicas":{}}}') },
  ]);
});

test('ScaleHandler.toParent: different managers, apply -> update', () => {
  const h = new ScaleHandler(
    [{ manager: 'test', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: fv('{"f:spec":{"f:replicas":{},"f:selector":{}}}') }],
    'apps/v1',
    scaleMappings,
  );
  const got = h.toParent([
    { manager: 'scale', operation: 'Update', apiVersion: 'autoscaling/v1', fieldsType: 'FieldsV1', fieldsV1: fv('{"f:spec":{"f:replicas":{}}}'), subresource: 'scale' },
  ]);
  assert.deepEqual(got, [
    { manager: 'test', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: fv('{"f:spec":{"f:selector":{}}}') },
    { manager: 'scale', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: fv('{"f:spec":{"f:replicas":{}}}'), subresource: 'scale' },
  ]);
});

test('ScaleHandler round trip through a Scale field manager (kubectl scale)', () => {
  const scaleDefs = {
    'io.k8s.api.autoscaling.v1.Scale': {
      type: 'object',
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { default: {}, allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }] },
        spec: { default: {}, type: 'object', properties: { replicas: { type: 'integer' } } },
        status: { default: {}, type: 'object', properties: { replicas: { type: 'integer' }, selector: { type: 'string' } } },
      },
    },
    'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': definitions['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'],
    'io.k8s.apimachinery.pkg.apis.meta.v1.Time': definitions['io.k8s.apimachinery.pkg.apis.meta.v1.Time'],
    'io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference': definitions['io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference'],
    'io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry': definitions['io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry'],
    'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1': definitions['io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1'],
  } as const;
  const scaleSchema = new SchemaResolver({ definitions: scaleDefs as never }).root('io.k8s.api.autoscaling.v1.Scale');
  const clock = new FakeClock();
  const parent = stored(newFieldManager(clock).apply(undefined, newDeployment(2), 'kubectl', false));
  const h = new ScaleHandler(entries(parent), 'apps/v1', scaleMappings);
  const scale: JSONObject = { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', namespace: 'default', managedFields: (h.toSubresource() ?? []) as never }, spec: { replicas: 2 } };
  const newScale = structuredClone(scale);
  (newScale.spec as JSONObject).replicas = 5;
  const tracked = new FieldManager({ schema: scaleSchema, apiVersion: 'autoscaling/v1', kind: 'Scale', subresource: 'scale', clock }).update(scale, newScale, 'kubectl-scale');
  const parentEntries = h.toParent(entries(tracked));
  assert.deepEqual(parentEntries?.map((e) => [e.manager, e.operation, e.apiVersion, e.subresource ?? '', e.time ?? '']), [
    ['kubectl', 'Apply', 'apps/v1', '', T0],
    ['kubectl-scale', 'Update', 'apps/v1', 'scale', ''],
  ]);
  assert.deepEqual(parentEntries?.[1].fieldsV1, { 'f:spec': { 'f:replicas': {} } });
  assert.ok(!('f:replicas' in ((parentEntries?.[0].fieldsV1 as JSONObject)['f:spec'] as JSONObject)));
});
