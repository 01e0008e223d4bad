import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchemaNode, SchemaResolver, SchemaResolutionError, jsonEqual } from './schema.js';
import { definitions, DEPLOYMENT, POD } from './testdata/definitions.js';

const resolver = new SchemaResolver({ definitions });

function walk(root: string, path: string[]): SchemaNode | undefined {
  let n: SchemaNode | undefined = resolver.root(root);
  for (const p of path) {
    if (!n) return undefined;
    n = p === '[]' ? n.items() : n.field(p);
  }
  return n;
}

const cases: {
  name: string;
  root: string;
  path: string[];
  want: Partial<Pick<SchemaNode, 'kind' | 'listType' | 'mapType' | 'patchMergeKey' | 'intOrString'>> & {
    patchStrategies?: string[];
    listMapKeys?: string[];
  } | undefined;
}[] = [
  { name: 'root struct', root: DEPLOYMENT, path: [], want: { kind: 'struct', mapType: 'granular' } },
  {
    name: 'containers: merge list keyed by name',
    root: DEPLOYMENT,
    path: ['spec', 'template', 'spec', 'containers'],
    want: { kind: 'list', listType: 'map', listMapKeys: ['name'], patchStrategies: ['merge'], patchMergeKey: 'name' },
  },
  {
    name: 'container item through allOf',
    root: DEPLOYMENT,
    path: ['spec', 'template', 'spec', 'containers', '[]'],
    want: { kind: 'struct', patchStrategies: [] },
  },
  {
    name: 'ports: two list-map keys, one merge key',
    root: POD,
    path: ['spec', 'containers', '[]', 'ports'],
    want: { kind: 'list', listType: 'map', listMapKeys: ['containerPort', 'protocol'], patchMergeKey: 'containerPort' },
  },
  {
    name: 'volumes: merge,retainKeys',
    root: POD,
    path: ['spec', 'volumes'],
    want: { kind: 'list', listType: 'map', patchStrategies: ['merge', 'retainKeys'], patchMergeKey: 'name' },
  },
  { name: 'finalizers: set', root: POD, path: ['metadata', 'finalizers'], want: { kind: 'list', listType: 'set', patchStrategies: ['merge'] } },
  { name: 'tolerations: atomic', root: POD, path: ['spec', 'tolerations'], want: { kind: 'list', listType: 'atomic', patchStrategies: [] } },
  { name: 'args: atomic', root: POD, path: ['spec', 'containers', '[]', 'args'], want: { kind: 'list', listType: 'atomic' } },
  { name: 'labels: granular map', root: POD, path: ['metadata', 'labels'], want: { kind: 'map', mapType: 'granular' } },
  { name: 'label value', root: POD, path: ['metadata', 'labels', 'app'], want: { kind: 'scalar' } },
  { name: 'nodeSelector: atomic map', root: POD, path: ['spec', 'nodeSelector'], want: { kind: 'map', mapType: 'atomic' } },
  { name: 'selector: atomic struct from definition', root: DEPLOYMENT, path: ['spec', 'selector'], want: { kind: 'struct', mapType: 'atomic' } },
  { name: 'strategy: retainKeys on the property', root: DEPLOYMENT, path: ['spec', 'strategy'], want: { kind: 'struct', patchStrategies: ['retainKeys'] } },
  {
    name: 'int-or-string',
    root: DEPLOYMENT,
    path: ['spec', 'strategy', 'rollingUpdate', 'maxSurge'],
    want: { kind: 'scalar', intOrString: true },
  },
  { name: 'FieldsV1 is untyped', root: POD, path: ['metadata', 'managedFields', '[]', 'fieldsV1'], want: { kind: 'untyped' } },
  { name: 'unknown field', root: POD, path: ['spec', 'bogus'], want: undefined },
];

for (const tc of cases) {
  test(`SchemaResolver: ${tc.name}`, () => {
    const n = walk(tc.root, tc.path);
    if (tc.want === undefined) {
      assert.equal(n, undefined);
      return;
    }
    assert.ok(n, 'node exists');
    for (const [k, v] of Object.entries(tc.want)) {
      const got: unknown = (n as unknown as Record<string, unknown>)[k];
      assert.deepEqual(Array.isArray(got) ? [...got] : got, v, k);
    }
  });
}

test('SchemaResolver caches nodes', () => {
  const a = resolver.root(POD).field('spec')!.field('containers');
  const b = resolver.root(POD).field('spec')!.field('containers');
  assert.equal(a, b);
});

test('SchemaResolver: forGVK', () => {
  assert.equal(resolver.forGVK({ group: 'apps', version: 'v1', kind: 'Deployment' })?.name, DEPLOYMENT);
  assert.equal(resolver.forGVK({ group: 'apps', version: 'v1', kind: 'Nope' }), undefined);
});

test('SchemaResolver: dangling ref', () => {
  const r = new SchemaResolver({ definitions: { A: { type: 'object', properties: { b: { $ref: '#/components/schemas/B' } } } } });
  assert.throws(() => r.root('A').field('b'), SchemaResolutionError);
  assert.throws(() => r.root('Missing'), /unable to resolve/);
});

test('untyped nodes are untyped all the way down', () => {
  const u = SchemaNode.untyped();
  assert.equal(u.field('a')!.field('b')!.kind, 'untyped');
  assert.equal(u.items().kind, 'untyped');
  assert.equal(u.listType, 'atomic');
});

test('jsonEqual ignores key order', () => {
  assert.ok(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }));
  assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: 2 }));
  assert.ok(!jsonEqual([1], [1, 2]));
});
