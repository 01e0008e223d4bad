import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  StrategicMergePatchError,
  createThreeWayMergePatch,
  createTwoWayMergePatch,
  mergeStrategicMergePatches,
  strategicMergePatch,
} from './strategicpatch.js';
import { type JSONObject, type SchemaDefinitions, SchemaNode, SchemaResolver } from './schema.js';
import { definitions, DEPLOYMENT, POD } from './testdata/definitions.js';

// The `mergeItem` schema of upstream's strategicpatch tests (testdata/swagger-merge-item-v3.json),
// written out by hand.
const mergeItemRef = { allOf: [{ $ref: '#/components/schemas/mergeItem' }] };
const mergeItemDefs: SchemaDefinitions = {
  mergeItem: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      value: { type: 'string' },
      other: { type: 'string' },
      mergingList: { type: 'array', items: { default: {}, ...mergeItemRef }, 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' },
      nonMergingList: { type: 'array', items: { $ref: '#/components/schemas/mergeItem' } },
      mergingIntList: { type: 'array', items: { type: 'integer', format: 'int32' }, 'x-kubernetes-patch-strategy': 'merge' },
      nonMergingIntList: { type: 'array', items: { type: 'integer', format: 'int32' } },
      mergeItemPtr: { ...mergeItemRef, 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' },
      simpleMap: { type: 'object', additionalProperties: { type: 'string' } },
      replacingItem: { allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.runtime.RawExtension' }], 'x-kubernetes-patch-strategy': 'replace' },
      retainKeysMap: { allOf: [{ $ref: '#/components/schemas/retainKeysMergeItem' }], 'x-kubernetes-patch-strategy': 'retainKeys' },
      retainKeysMergingList: {
        type: 'array',
        items: { $ref: '#/components/schemas/mergeItem' },
        'x-kubernetes-patch-merge-key': 'name',
        'x-kubernetes-patch-strategy': 'merge,retainKeys',
      },
      jsonItem: {},
    },
  },
  retainKeysMergeItem: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      value: { type: 'string' },
      other: { type: 'string' },
      simpleMap: { items: { type: 'string' } },
      mergingList: { type: 'array', items: { $ref: '#/components/schemas/mergeItem' }, 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' },
      nonMergingList: { type: 'array', items: { $ref: '#/components/schemas/mergeItem' } },
      mergingIntList: { type: 'array', items: { type: 'integer', format: 'int32' }, 'x-kubernetes-patch-strategy': 'merge' },
    },
  },
  'io.k8s.apimachinery.pkg.runtime.RawExtension': { type: 'object', properties: { Raw: { type: 'string', format: 'byte' } } },
};
const mergeItem = new SchemaResolver({ definitions: mergeItemDefs }).root('mergeItem');
const k8s = new SchemaResolver({ definitions });

// Our own cases, on the Kubernetes-shaped fixtures.
const pod = k8s.root(POD);
const deployment = k8s.root(DEPLOYMENT);
const applyCases: { name: string; schema: SchemaNode | undefined; original: JSONObject; patch: JSONObject; want?: JSONObject; error?: RegExp }[] = [
  {
    name: 'containers merge by name; image changes, other container kept',
    schema: pod,
    original: { spec: { containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }] } },
    patch: { spec: { containers: [{ name: 'b', image: 'b:2' }] } },
    want: { spec: { containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:2' }] } },
  },
  {
    name: '$patch: delete removes a container',
    schema: pod,
    original: { spec: { containers: [{ name: 'a' }, { name: 'b' }] } },
    patch: { spec: { containers: [{ name: 'a', $patch: 'delete' }] } },
    want: { spec: { containers: [{ name: 'b' }] } },
  },
  {
    name: '$patch: replace on a list',
    schema: pod,
    original: { spec: { containers: [{ name: 'a' }, { name: 'b' }] } },
    patch: { spec: { containers: [{ name: 'c' }, { $patch: 'replace' }] } },
    want: { spec: { containers: [{ name: 'c' }] } },
  },
  {
    name: '$patch: replace on a map',
    schema: pod,
    original: { metadata: { labels: { a: '1', b: '2' } } },
    patch: { metadata: { labels: { c: '3', $patch: 'replace' } } },
    want: { metadata: { labels: { c: '3' } } },
  },
  {
    name: '$patch: delete on a map',
    schema: pod,
    original: { metadata: { name: 'p', labels: { a: '1' } } },
    patch: { metadata: { labels: { $patch: 'delete' } } },
    want: { metadata: { name: 'p', labels: {} } },
  },
  {
    name: 'null deletes a label; unmatched null ignored',
    schema: pod,
    original: { metadata: { labels: { a: '1', b: '2' } } },
    patch: { metadata: { labels: { a: null, zz: null } } },
    want: { metadata: { labels: { b: '2' } } },
  },
  {
    // Upstream places patch items not yet in the live list first.
    name: 'ports merge on containerPort; new items go first',
    schema: pod,
    original: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 80 }, { containerPort: 443 }] }] } },
    patch: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 8080, protocol: 'UDP' }] }] } },
    want: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 8080, protocol: 'UDP' }, { containerPort: 80 }, { containerPort: 443 }] }] } },
  },
  {
    name: 'finalizers: union and $deleteFromPrimitiveList',
    schema: pod,
    original: { metadata: { finalizers: ['a', 'b'] } },
    patch: { metadata: { finalizers: ['c'], '$deleteFromPrimitiveList/finalizers': ['a'] } },
    want: { metadata: { finalizers: ['c', 'b'] } },
  },
  {
    name: 'args (atomic) are replaced',
    schema: pod,
    original: { spec: { containers: [{ name: 'a', args: ['x', 'y'] }] } },
    patch: { spec: { containers: [{ name: 'a', args: ['z'] }] } },
    want: { spec: { containers: [{ name: 'a', args: ['z'] }] } },
  },
  {
    name: 'tolerations (no strategy) are replaced',
    schema: pod,
    original: { spec: { tolerations: [{ key: 'a' }] } },
    patch: { spec: { tolerations: [{ key: 'b' }] } },
    want: { spec: { tolerations: [{ key: 'b' }] } },
  },
  {
    name: '$setElementOrder reorders containers',
    schema: pod,
    original: { spec: { containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] } },
    patch: { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'b' }, { name: 'a' }] } },
    want: { spec: { containers: [{ name: 'c' }, { name: 'b' }, { name: 'a' }] } },
  },
  {
    name: 'retainKeys: switching deployment strategy to Recreate clears rollingUpdate',
    schema: deployment,
    original: { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%' } } } },
    patch: { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } } },
    want: { spec: { strategy: { type: 'Recreate' } } },
  },
  {
    name: 'retainKeys: a patch key missing from the list is rejected',
    schema: deployment,
    original: { spec: { strategy: { type: 'RollingUpdate' } } },
    patch: { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: { maxSurge: 1 } } } },
    error: /^invalid patch format of retainKeys$/,
  },
  {
    name: 'volumes: merge,retainKeys on list items',
    schema: pod,
    original: { spec: { volumes: [{ name: 'v', emptyDir: {} }, { name: 'w', emptyDir: {} }] } },
    patch: { spec: { volumes: [{ name: 'v', hostPath: { path: '/x' }, $retainKeys: ['hostPath', 'name'] }] } },
    want: { spec: { volumes: [{ name: 'v', hostPath: { path: '/x' } }, { name: 'w', emptyDir: {} }] } },
  },
  {
    name: 'unknown fields merge as JSON merge patch (maps merge, lists replace)',
    schema: pod,
    original: { spec: { bogus: { a: 1, list: [{ name: 'x' }] } } },
    patch: { spec: { bogus: { b: 2, list: [{ name: 'y' }] } } },
    want: { spec: { bogus: { a: 1, b: 2, list: [{ name: 'y' }] } } },
  },
  {
    name: 'no schema at all: JSON merge patch',
    schema: undefined,
    original: { a: [1, 2], m: { x: 1 } },
    patch: { a: [3], m: { y: 2, x: null } },
    want: { a: [3], m: { y: 2 } },
  },
  {
    name: '$patch: merge inside a list is rejected',
    schema: pod,
    original: { spec: { containers: [{ name: 'a' }] } },
    patch: { spec: { containers: [{ name: 'a', $patch: 'merge' }] } },
    error: /^merging lists cannot yet be specified in the patch$/,
  },
  {
    name: 'unknown $patch value',
    schema: pod,
    original: { metadata: { labels: { a: '1' } } },
    patch: { metadata: { labels: { $patch: 'bogus' } } },
    error: /^unknown patch type: bogus in map: map\[\$patch:bogus\]$/,
  },
  {
    name: 'merge key missing from a patch item',
    schema: pod,
    original: { spec: { containers: [{ name: 'a' }] } },
    patch: { spec: { containers: [{ image: 'x' }] } },
    error: /^map: map\[image:x\] does not contain declared merge key: name$/,
  },
  {
    name: 'bad $deleteFromPrimitiveList key',
    schema: pod,
    original: { metadata: { finalizers: ['a'] } },
    patch: { metadata: { $deleteFromPrimitiveList: ['a'] } },
    error: /^invalid patch format of primitive list$/,
  },
];

for (const tc of applyCases) {
  test(`strategicMergePatch: ${tc.name}`, () => {
    const before = structuredClone(tc.original);
    const patchBefore = structuredClone(tc.patch);
    if (tc.error) {
      assert.throws(() => strategicMergePatch(tc.original, tc.patch, tc.schema), (e: Error) => e instanceof StrategicMergePatchError && tc.error!.test(e.message));
    } else {
      assert.deepEqual(strategicMergePatch(tc.original, tc.patch, tc.schema), tc.want);
    }
    assert.deepEqual(tc.original, before, 'original not mutated');
    assert.deepEqual(tc.patch, patchBefore, 'patch not mutated');
  });
}

test('createThreeWayMergePatch: kubectl apply removes a label it had applied, keeps one added by others', () => {
  const lastApplied = { metadata: { labels: { app: 'x', old: 'y' } }, spec: { replicas: 1 } };
  const modified = { metadata: { labels: { app: 'x' } }, spec: { replicas: 1 } };
  const live = { metadata: { labels: { app: 'x', old: 'y', other: 'z' } }, spec: { replicas: 5 } };
  const patch = createThreeWayMergePatch(lastApplied, modified, live, deployment, true);
  assert.deepEqual(patch, { metadata: { labels: { old: null } }, spec: { replicas: 1 } });
  assert.deepEqual(strategicMergePatch(live, patch, deployment), { metadata: { labels: { app: 'x', other: 'z' } }, spec: { replicas: 1 } });
});

test('createThreeWayMergePatch: conflict without overwrite', () => {
  assert.throws(
    () => createThreeWayMergePatch({ spec: { replicas: 1 } }, { spec: { replicas: 2 } }, { spec: { replicas: 3 } }, deployment, false),
    (e: Error) => e instanceof StrategicMergePatchError && e.kind === 'Conflict' && e.message.startsWith('patch:\nspec:\n  replicas: 2\n'),
  );
});

test('createTwoWayMergePatch: preconditions', () => {
  const keep = (p: JSONObject) => !Object.hasOwn(p, 'kind');
  assert.throws(() => createTwoWayMergePatch({ kind: 'A' }, { kind: 'B' }, undefined, keep), (e: Error) => e instanceof StrategicMergePatchError && e.kind === 'PreconditionFailed' && e.message === 'precondition failed for: map[kind:B]');
});

test('mergeStrategicMergePatches keeps nulls and parallel lists', () => {
  const merged = mergeStrategicMergePatches(pod, { metadata: { labels: { a: null } } }, { metadata: { '$deleteFromPrimitiveList/finalizers': ['x'], labels: { b: '1' } } });
  assert.deepEqual(merged, { metadata: { labels: { a: null, b: '1' }, '$deleteFromPrimitiveList/finalizers': ['x'] } });
});

test('untyped schema node behaves like no schema', () => {
  assert.deepEqual(strategicMergePatch({ l: [1] }, { l: [2] }, SchemaNode.untyped()), { l: [2] });
});

test('strategicMergePatch: null patch is a no-op, a non-object is a bad document', () => {
  assert.deepEqual(strategicMergePatch({ a: 1 }, null, pod), { a: 1 });
  assert.throws(() => strategicMergePatch({ a: 1 }, [] as unknown as JSONObject, pod), (e: Error) => e instanceof StrategicMergePatchError && e.kind === 'BadRequest' && e.message === 'invalid JSON document');
});

// Upstream TestUnknownField: fields the schema does not declare. Upstream's patch
// creation refuses to diff inside unknown maps ("unable to find api field"); ours falls
// back to JSON merge semantics there instead (see "diff" below).
const unknownFieldCases: { name: string; original: string; current: string; modified: string; twoWay: string; twoWayResult: string; threeWay: string; threeWayResult: string }[] = [
  { name: 'no diff', original: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}', current: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}', modified: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}', twoWay: '{}', twoWayResult: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}', threeWay: '{}', threeWayResult: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}' },
  { name: 'no diff even if modified null', original: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}', current: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}', modified: '{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":{"key":null},"name":"foo","scalar":true}', twoWay: '{"complex_nullable":{"key":null}}', twoWayResult: '{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":{},"name":"foo","scalar":true}', threeWay: '{"complex_nullable":{"key":null}}', threeWayResult: '{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":{},"name":"foo","scalar":true}' },
  { name: 'discard nulls in nested and adds not nulls', original: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}', current: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}', modified: '{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":{"key":{"keynotnull":"value","keynull":null}},"name":"foo","scalar":true}', twoWay: '{"complex_nullable":{"key":{"keynotnull":"value","keynull":null}}}', twoWayResult: '{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":{"key":{"keynotnull":"value"}},"name":"foo","scalar":true}', threeWay: '{"complex_nullable":{"key":{"keynotnull":"value","keynull":null}}}', threeWayResult: '{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":{"key":{"keynotnull":"value"}},"name":"foo","scalar":true}' },
  { name: 'discard if modified all nulls', original: '{}', current: '{}', modified: '{"complex":{"nested":null}}', twoWay: '{"complex":{"nested":null}}', twoWayResult: '{"complex":{}}', threeWay: '{"complex":{"nested":null}}', threeWayResult: '{"complex":{}}' },
  { name: 'add only not nulls', original: '{}', current: '{}', modified: '{"complex":{"nested":null,"nested2":"foo"}}', twoWay: '{"complex":{"nested":null,"nested2":"foo"}}', twoWayResult: '{"complex":{"nested2":"foo"}}', threeWay: '{"complex":{"nested":null,"nested2":"foo"}}', threeWayResult: '{"complex":{"nested2":"foo"}}' },
  { name: 'null values in original are preserved', original: '{"thing":null}', current: '{"thing":null}', modified: '{"nested":{"value":5},"thing":null}', twoWay: '{"nested":{"value":5}}', twoWayResult: '{"nested":{"value":5},"thing":null}', threeWay: '{"nested":{"value":5}}', threeWayResult: '{"nested":{"value":5},"thing":null}' },
  { name: 'nested null values in original are preserved', original: '{"complex":{"key":null},"thing":null}', current: '{"complex":{"key":null},"thing":null}', modified: '{"complex":{"key":null},"nested":{"value":5},"thing":null}', twoWay: '{"nested":{"value":5}}', twoWayResult: '{"complex":{"key":null},"nested":{"value":5},"thing":null}', threeWay: '{"nested":{"value":5}}', threeWayResult: '{"complex":{"key":null},"nested":{"value":5},"thing":null}' },
  { name: 'add empty slices', original: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}', current: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}', modified: '{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":[],"name":"foo","scalar":true}', twoWay: '{"complex_nullable":[]}', twoWayResult: '{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":[],"name":"foo","scalar":true}', threeWay: '{"complex_nullable":[]}', threeWayResult: '{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":[],"name":"foo","scalar":true}' },
  { name: 'filter nulls from nested slices', original: '{}', current: '{}', modified: '{"complex_nullable":[{"inner_one":{"key_one":"foo","key_two":null}}]}', twoWay: '{"complex_nullable":[{"inner_one":{"key_one":"foo","key_two":null}}]}', twoWayResult: '{"complex_nullable":[{"inner_one":{"key_one":"foo"}}]}', threeWay: '{"complex_nullable":[{"inner_one":{"key_one":"foo","key_two":null}}]}', threeWayResult: '{"complex_nullable":[{"inner_one":{"key_one":"foo"}}]}' },
  { name: 'filter if slice is all empty', original: '{}', current: '{}', modified: '{"complex_nullable":[{"inner_one":{"key_one":null,"key_two":null}}]}', twoWay: '{"complex_nullable":[{"inner_one":{"key_one":null,"key_two":null}}]}', twoWayResult: '{"complex_nullable":[{"inner_one":{}}]}', threeWay: '{"complex_nullable":[{"inner_one":{"key_one":null,"key_two":null}}]}', threeWayResult: '{"complex_nullable":[{"inner_one":{}}]}' },
  { name: 'not filter nulls from non-associative slice', original: '{}', current: '{}', modified: '{"complex_nullable":["key1",null,"key2"]}', twoWay: '{"complex_nullable":["key1",null,"key2"]}', twoWayResult: '{"complex_nullable":["key1",null,"key2"]}', threeWay: '{"complex_nullable":["key1",null,"key2"]}', threeWayResult: '{"complex_nullable":["key1",null,"key2"]}' },
  { name: 'added only', original: '{"name":"foo"}', current: '{"name":"foo"}', modified: '{"name":"foo","scalar":true,"complex":{"nested":true},"array":[1,2,3]}', twoWay: '{"array":[1,2,3],"complex":{"nested":true},"scalar":true}', twoWayResult: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}', threeWay: '{"array":[1,2,3],"complex":{"nested":true},"scalar":true}', threeWayResult: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}' },
  { name: 'removed only', original: '{"name":"foo","scalar":true,"complex":{"nested":true}}', current: '{"name":"foo","scalar":true,"complex":{"nested":true},"array":[1,2,3]}', modified: '{"name":"foo"}', twoWay: '{"complex":null,"scalar":null}', twoWayResult: '{"name":"foo"}', threeWay: '{"complex":null,"scalar":null}', threeWayResult: '{"array":[1,2,3],"name":"foo"}' },
  // Deliberate difference: upstream fails with "unable to find api field".
  { name: 'diff', original: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}', current: '{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}', modified: '{"array":[1,2,3],"complex":{"nested":false},"name":"foo","scalar":true}', twoWay: '{"complex":{"nested":false}}', twoWayResult: '{"array":[1,2,3],"complex":{"nested":false},"name":"foo","scalar":true}', threeWay: '{"complex":{"nested":false}}', threeWayResult: '{"array":[1,2,3],"complex":{"nested":false},"name":"foo","scalar":true}' },
  { name: 'json', original: '{"name":"foo","jsonItem":{"nested":{"nested2":{"nested3":{}}}}}', current: '{"name":"foo","jsonItem":{"nested":{"nested2":{"nested3":{}}}}}', modified: '{"name":"foo","jsonItem":{"nested":{"nested2":{"nested3":{"a":"b"}}}}}', twoWay: '{"jsonItem":{"nested":{"nested2":{"nested3":{"a":"b"}}}}}', twoWayResult: '{"jsonItem":{"nested":{"nested2":{"nested3":{"a":"b"}}}},"name":"foo"}', threeWay: '{"jsonItem":{"nested":{"nested2":{"nested3":{"a":"b"}}}}}', threeWayResult: '{"jsonItem":{"nested":{"nested2":{"nested3":{"a":"b"}}}},"name":"foo"}' },
];
for (const tc of unknownFieldCases) {
  test(`unknown fields: ${tc.name}`, () => {
    const j = (s: string) => JSON.parse(s) as JSONObject;
    const twoWay = createTwoWayMergePatch(j(tc.original), j(tc.modified), mergeItem);
    assert.deepEqual(twoWay, j(tc.twoWay));
    assert.deepEqual(strategicMergePatch(j(tc.original), twoWay, mergeItem), j(tc.twoWayResult));
    const threeWay = createThreeWayMergePatch(j(tc.original), j(tc.modified), j(tc.current), mergeItem, false);
    assert.deepEqual(threeWay, j(tc.threeWay));
    assert.deepEqual(strategicMergePatch(j(tc.current), threeWay, mergeItem), j(tc.threeWayResult));
  });
}
