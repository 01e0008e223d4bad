import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatedDefinitions, type RawSchema } from './definitions.js';
import { definitionExtensions, fieldDefaults, fieldExtensions } from './extensions.js';
import { openAPIDefinitionsV3 } from './index.js';
import { testResources } from './testdata.js';

const defs = generatedDefinitions().definitions;

function property(key: string): RawSchema | undefined {
  const dot = key.lastIndexOf('.');
  return defs[key.slice(0, dot)]?.properties?.[key.slice(dot + 1)];
}

function resolve(s: RawSchema): RawSchema {
  return s.$ref !== undefined ? defs[s.$ref] : s;
}

test('every field extension names a field of a generated definition, of the right shape', () => {
  for (const [key, ext] of Object.entries(fieldExtensions)) {
    const prop = property(key);
    assert.ok(prop, `${key}: no such field in kubernetes-models`);
    const target = resolve(prop);
    if (ext['x-kubernetes-list-type'] !== undefined || ext['x-kubernetes-patch-merge-key'] !== undefined) {
      assert.equal(target.type, 'array', `${key}: list extensions on a ${target.type}`);
    }
    if (ext['x-kubernetes-map-type'] !== undefined) assert.equal(target.type, 'object', key);
    if (ext['x-kubernetes-list-type'] === 'map') {
      const item = resolve(target.items!);
      for (const k of ext['x-kubernetes-list-map-keys'] ?? []) assert.ok(item.properties?.[k], `${key}: list-map key ${k} is not a field of the item`);
    } else {
      assert.equal(ext['x-kubernetes-list-map-keys'], undefined, `${key}: list-map keys without list-type map`);
    }
    const mergeKey = ext['x-kubernetes-patch-merge-key'];
    if (mergeKey !== undefined) assert.ok(resolve(target.items!).properties?.[mergeKey], `${key}: merge key ${mergeKey}`);
  }
});

test('every definition extension and default names something generated', () => {
  for (const name of Object.keys(definitionExtensions)) assert.ok(defs[name], name);
  for (const [key, value] of Object.entries(fieldDefaults)) {
    const prop = property(key);
    assert.ok(prop, key);
    if (prop.enum && typeof value === 'string') assert.ok(prop.enum.includes(value), `${key}: default ${value} not in enum`);
  }
});

test('every list of the served types is covered by the table', () => {
  // Lists upstream leaves unmarked (merged as atomic): List kinds' items and discovery verbs.
  // A new resource whose lists are missing from extensions.ts fails here.
  const unmarked = (key: string) => key.endsWith('List.items') || key === 'io.k8s.apimachinery.pkg.apis.meta.v1.APIResource.verbs';
  const missing: string[] = [];
  for (const [name, d] of Object.entries(openAPIDefinitionsV3(testResources()))) {
    for (const [field, p] of Object.entries(d.properties ?? {})) {
      const key = `${name}.${field}`;
      if (p.type === 'array' && !fieldExtensions[key] && !unmarked(key)) missing.push(key);
    }
  }
  assert.deepEqual(missing, [], 'add these lists to src/api/openapi/extensions.ts as upstream marks them (patchStrategy/patchMergeKey tags, +listType, +listMapKey)');
});
