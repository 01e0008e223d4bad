import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictsError, type ManagedFields, TypedValueError, Updater, compare, ensureNamedFieldsAreMembers, merge, removeItems, toFieldSet } from './apply.js';
import { FieldSet, pathToString } from './fieldpath.js';
import { type JSONObject, type SchemaDefinitions, SchemaNode, SchemaResolver } from './schema.js';
import { definitions, POD } from './testdata/definitions.js';

// Schemas shaped like structured-merge-diff's own test types (leafFields, sets, keyed
// lists, atomics), as OpenAPI.
const smdDefs: SchemaDefinitions = {
  root: {
    type: 'object',
    properties: {
      numeric: { type: 'integer' },
      string: { type: 'string' },
      bool: { type: 'boolean' },
      list: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
      keyed: {
        type: 'array',
        items: { $ref: '#/components/schemas/item' },
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      },
      atomicList: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-list-type': 'atomic' },
      atomicMap: { type: 'object', additionalProperties: { type: 'string' }, 'x-kubernetes-map-type': 'atomic' },
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      struct: { $ref: '#/components/schemas/item' },
      free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      assoc: {
        type: 'array',
        items: { $ref: '#/components/schemas/item' },
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      },
      listOfLists: {
        type: 'array',
        items: { $ref: '#/components/schemas/listItem' },
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      },
      structure: { $ref: '#/components/schemas/structure' },
      containerPorts: {
        type: 'array',
        items: {
          type: 'object',
          properties: { port: { type: 'integer' }, protocol: { type: 'string', default: 'TCP' }, name: { type: 'string' } },
        },
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['port', 'protocol'],
      },
    },
  },
  listItem: {
    type: 'object',
    properties: { name: { type: 'string' }, value: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' } },
  },
  structure: {
    type: 'object',
    properties: { name: { type: 'string' }, scalarField: { type: 'string' }, complexField: { $ref: '#/components/schemas/complex' } },
  },
  complex: { type: 'object', properties: { name: { type: 'string' } } },
  item: {
    type: 'object',
    properties: { name: { type: 'string' }, value: { type: 'integer' }, other: { type: 'string' } },
  },
};
const root = new SchemaResolver({ definitions: smdDefs }).root('root');

type Op =
  | { apply: JSONObject; manager: string; force?: boolean; conflicts?: string[] }
  | { update: JSONObject; manager: string };

interface Case {
  name: string;
  ops: Op[];
  object: JSONObject;
  managed: Record<string, string[]>;
}

const cases: Case[] = [
  {
    name: 'leaf: apply twice (upstream leaf_test apply_twice)',
    ops: [
      { apply: { numeric: 1, string: 'string' }, manager: 'default' },
      { apply: { numeric: 2, string: 'string', bool: false }, manager: 'default' },
    ],
    object: { numeric: 2, string: 'string', bool: false },
    managed: { default: ['.bool', '.numeric', '.string'] },
  },
  {
    name: 'leaf: apply, update, apply without overlap',
    ops: [
      { apply: { numeric: 1, string: 'string' }, manager: 'default' },
      { update: { numeric: 1, string: 'string', bool: true }, manager: 'controller' },
      { apply: { numeric: 2, string: 'string' }, manager: 'default' },
    ],
    object: { numeric: 2, string: 'string', bool: true },
    managed: { default: ['.numeric', '.string'], controller: ['.bool'] },
  },
  {
    name: 'leaf: conflict, then force moves ownership',
    ops: [
      { apply: { numeric: 1 }, manager: 'default' },
      { update: { numeric: 2 }, manager: 'controller' },
      { apply: { numeric: 3, string: 'x' }, manager: 'default', conflicts: ['controller .numeric'] },
      { apply: { numeric: 3, string: 'x' }, manager: 'default', force: true },
    ],
    object: { numeric: 3, string: 'x' },
    managed: { default: ['.numeric', '.string'] },
  },
  {
    name: 'leaf: applying the same value as another applier is shared, not a conflict',
    ops: [
      { apply: { string: 'a' }, manager: 'one' },
      { apply: { string: 'a', bool: true }, manager: 'two' },
    ],
    object: { string: 'a', bool: true },
    managed: { one: ['.string'], two: ['.bool', '.string'] },
  },
  {
    name: 'leaf: a field the applier drops is removed',
    ops: [
      { apply: { numeric: 1, string: 'a' }, manager: 'default' },
      { apply: { numeric: 1 }, manager: 'default' },
    ],
    object: { numeric: 1 },
    managed: { default: ['.numeric'] },
  },
  {
    name: 'leaf: a dropped field another applier owns stays',
    ops: [
      { apply: { string: 'a' }, manager: 'one' },
      { apply: { string: 'a' }, manager: 'two' },
      { apply: { numeric: 1 }, manager: 'one' },
    ],
    object: { string: 'a', numeric: 1 },
    managed: { one: ['.numeric'], two: ['.string'] },
  },
  {
    name: 'leaf: a dropped field an updater took over stays',
    ops: [
      { apply: { string: 'a', numeric: 1 }, manager: 'default' },
      { update: { string: 'b', numeric: 1 }, manager: 'controller' },
      { apply: { numeric: 1 }, manager: 'default' },
    ],
    object: { string: 'b', numeric: 1 },
    managed: { default: ['.numeric'], controller: ['.string'] },
  },
  {
    name: 'set: apply, update, apply with overlap (upstream set_test)',
    ops: [
      { apply: { list: ['a', 'c'] }, manager: 'default' },
      { update: { list: ['a', 'b', 'c', 'd'] }, manager: 'controller' },
      { apply: { list: ['a', 'b', 'c'] }, manager: 'default' },
    ],
    object: { list: ['a', 'b', 'c', 'd'] },
    managed: { default: ['.list[="a"]', '.list[="b"]', '.list[="c"]'], controller: ['.list[="b"]', '.list[="d"]'] },
  },
  {
    name: 'set: apply twice reorder (upstream set_test)',
    ops: [
      { apply: { list: ['a', 'b', 'c', 'd'] }, manager: 'default' },
      { apply: { list: ['a', 'd', 'c', 'b'] }, manager: 'default' },
    ],
    object: { list: ['a', 'd', 'c', 'b'] },
    managed: { default: ['.list[="a"]', '.list[="b"]', '.list[="c"]', '.list[="d"]'] },
  },
  {
    name: 'set: removing an item the applier added',
    ops: [
      { apply: { list: ['a', 'b'] }, manager: 'default' },
      { apply: { list: ['a'] }, manager: 'default' },
    ],
    object: { list: ['a'] },
    managed: { default: ['.list[="a"]'] },
  },
  {
    name: 'keyed list: items owned with their fields; dropping an item removes it',
    ops: [
      { apply: { keyed: [{ name: 'a', value: 1 }, { name: 'b', value: 2 }] }, manager: 'default' },
      { apply: { keyed: [{ name: 'a', value: 1 }] }, manager: 'default' },
    ],
    object: { keyed: [{ name: 'a', value: 1 }] },
    managed: { default: ['.keyed[name="a"]', '.keyed[name="a"].name', '.keyed[name="a"].value'] },
  },
  {
    name: 'keyed list: two appliers own different items',
    ops: [
      { apply: { keyed: [{ name: 'a', value: 1 }] }, manager: 'one' },
      { apply: { keyed: [{ name: 'b', value: 2 }] }, manager: 'two' },
    ],
    object: { keyed: [{ name: 'a', value: 1 }, { name: 'b', value: 2 }] },
    managed: {
      one: ['.keyed[name="a"]', '.keyed[name="a"].name', '.keyed[name="a"].value'],
      two: ['.keyed[name="b"]', '.keyed[name="b"].name', '.keyed[name="b"].value'],
    },
  },
  {
    name: 'keyed list: a field of an item another manager changed conflicts',
    ops: [
      { apply: { keyed: [{ name: 'a', value: 1 }] }, manager: 'one' },
      { update: { keyed: [{ name: 'a', value: 5 }] }, manager: 'controller' },
      { apply: { keyed: [{ name: 'a', value: 2 }] }, manager: 'one', conflicts: ['controller .keyed[name="a"].value'] },
    ],
    object: { keyed: [{ name: 'a', value: 5 }] },
    managed: { one: ['.keyed[name="a"]', '.keyed[name="a"].name'], controller: ['.keyed[name="a"].value'] },
  },
  {
    name: 'atomic list: owned whole; a changed copy conflicts',
    ops: [
      { apply: { atomicList: [1, 2] }, manager: 'one' },
      { update: { atomicList: [1, 2, 3] }, manager: 'controller' },
      { apply: { atomicList: [1, 2] }, manager: 'one', conflicts: ['controller .atomicList'] },
    ],
    object: { atomicList: [1, 2, 3] },
    managed: { controller: ['.atomicList'] },
  },
  {
    name: 'atomic map: one leaf',
    ops: [{ apply: { atomicMap: { a: 'x', b: 'y' } }, manager: 'one' }],
    object: { atomicMap: { a: 'x', b: 'y' } },
    managed: { one: ['.atomicMap'] },
  },
  {
    name: 'granular map: per key, dropped keys removed',
    ops: [
      { apply: { labels: { a: 'x', b: 'y' } }, manager: 'one' },
      { apply: { labels: { a: 'x' } }, manager: 'one' },
    ],
    object: { labels: { a: 'x' } },
    managed: { one: ['.labels.a'] },
  },
  {
    name: 'dropping every key of a map removes the map',
    ops: [
      { apply: { numeric: 1, labels: { a: 'x' } }, manager: 'one' },
      { apply: { numeric: 1 }, manager: 'one' },
    ],
    object: { numeric: 1 },
    managed: { one: ['.numeric'] },
  },
  {
    name: 'untyped (preserve-unknown-fields) objects are granular, lists atomic',
    ops: [{ apply: { free: { a: { b: 1 }, l: [1, 2] } }, manager: 'one' }],
    object: { free: { a: { b: 1 }, l: [1, 2] } },
    managed: { one: ['.free.a', '.free.l', '.free.a.b'] },
  },
];

// Scenarios of upstream structured-merge-diff merge/multiple_appliers_test.go (single
// version; upstream's list is `assoc` here, its struct `structure`).
const kA = '.listOfLists[name="a"]';
const kB = '.listOfLists[name="b"]';
cases.push(
  {
    name: 'multiple appliers: remove_one_keep_one',
    ops: [
      { apply: { assoc: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] }, manager: 'apply-one' },
      { apply: { assoc: [{ name: 'c' }, { name: 'd' }] }, manager: 'apply-two' },
      { apply: { assoc: [{ name: 'a' }] }, manager: 'apply-one' },
    ],
    object: { assoc: [{ name: 'a' }, { name: 'c' }, { name: 'd' }] },
    managed: {
      'apply-one': ['.assoc[name="a"]', '.assoc[name="a"].name'],
      'apply-two': ['.assoc[name="c"]', '.assoc[name="d"]', '.assoc[name="c"].name', '.assoc[name="d"].name'],
    },
  },
  {
    name: 'multiple appliers: remove_one_keep_one_with_two_sub_items',
    ops: [
      { apply: { listOfLists: [{ name: 'a' }, { name: 'b', value: ['c'] }] }, manager: 'apply-one' },
      { apply: { listOfLists: [{ name: 'b', value: ['d'] }] }, manager: 'apply-two' },
      { apply: { listOfLists: [{ name: 'a' }] }, manager: 'apply-one' },
    ],
    object: { listOfLists: [{ name: 'a' }, { name: 'b', value: ['d'] }] },
    managed: { 'apply-one': [kA, `${kA}.name`], 'apply-two': [kB, `${kB}.name`, `${kB}.value[="d"]`] },
  },
  {
    name: 'multiple appliers: remove_one_keep_one_with_dangling_subitem',
    ops: [
      { apply: { listOfLists: [{ name: 'a' }, { name: 'b', value: ['c'] }] }, manager: 'apply-one' },
      { apply: { listOfLists: [{ name: 'b', value: ['d'] }] }, manager: 'apply-two' },
      { update: { listOfLists: [{ name: 'a' }, { name: 'b', value: ['c', 'd', 'e'] }] }, manager: 'controller' },
      { apply: { listOfLists: [{ name: 'a' }] }, manager: 'apply-one' },
    ],
    object: { listOfLists: [{ name: 'a' }, { name: 'b', value: ['d', 'e'] }] },
    managed: { 'apply-one': [kA, `${kA}.name`], 'apply-two': [kB, `${kB}.name`, `${kB}.value[="d"]`], controller: [`${kB}.value[="e"]`] },
  },
  {
    name: 'multiple appliers: remove_one_with_dangling_subitem_keep_one',
    ops: [
      { apply: { listOfLists: [{ name: 'a' }, { name: 'b', value: ['c'] }] }, manager: 'apply-one' },
      { apply: { listOfLists: [{ name: 'a', value: ['b'] }] }, manager: 'apply-two' },
      { update: { listOfLists: [{ name: 'a', value: ['b'] }, { name: 'b', value: ['c', 'd'] }] }, manager: 'controller' },
      { apply: { listOfLists: [{ name: 'a' }] }, manager: 'apply-one' },
    ],
    object: { listOfLists: [{ name: 'a', value: ['b'] }] },
    managed: { 'apply-one': [kA, `${kA}.name`], 'apply-two': [kA, `${kA}.name`, `${kA}.value[="b"]`] },
  },
  {
    name: 'multiple appliers: unset_scalar_shared_with_updater',
    ops: [
      { update: { structure: { name: 'a', scalarField: 'a' } }, manager: 'updater' },
      { apply: { structure: { name: 'a', scalarField: 'a' } }, manager: 'applier' },
      { apply: { structure: { name: 'a' } }, manager: 'applier' },
    ],
    object: { structure: { name: 'a', scalarField: 'a' } },
    managed: { updater: ['.structure', '.structure.name', '.structure.scalarField'], applier: ['.structure.name'] },
  },
  {
    name: 'multiple appliers: updater_claims_field',
    ops: [
      { apply: { structure: { name: 'a', scalarField: 'a' } }, manager: 'applier' },
      { update: { structure: { name: 'a', scalarField: 'b' } }, manager: 'updater' },
    ],
    object: { structure: { name: 'a', scalarField: 'b' } },
    managed: { applier: ['.structure.name'], updater: ['.structure.scalarField'] },
  },
  {
    name: 'multiple appliers: unset_complex_sole_owner',
    ops: [
      { apply: { structure: { name: 'a', complexField: { name: 'b' } } }, manager: 'apply-one' },
      { apply: { structure: { name: 'a' } }, manager: 'apply-one' },
    ],
    object: { structure: { name: 'a' } },
    managed: { 'apply-one': ['.structure.name'] },
  },
  {
    name: 'multiple appliers: unset_complex_shared_with_applier',
    ops: [
      { apply: { structure: { name: 'a', complexField: { name: 'b' } } }, manager: 'apply-one' },
      { apply: { structure: { complexField: { name: 'b' } } }, manager: 'apply-two' },
      { apply: { structure: { name: 'a' } }, manager: 'apply-one' },
    ],
    object: { structure: { name: 'a', complexField: { name: 'b' } } },
    managed: { 'apply-one': ['.structure.name'], 'apply-two': ['.structure.complexField.name'] },
  },
);

// Upstream merge/default_keys_test.go: a list-map key field missing from an item takes
// its schema default.
const tcp80 = '.containerPorts[port=80,protocol="TCP"]';
const udp80 = '.containerPorts[port=80,protocol="UDP"]';
cases.push(
  {
    name: 'default keys: apply_missing_defaulted_key_A',
    ops: [{ apply: { containerPorts: [{ port: 80 }] }, manager: 'default' }],
    object: { containerPorts: [{ port: 80 }] },
    managed: { default: [tcp80, `${tcp80}.port`] },
  },
  {
    name: 'default keys: apply_missing_defaulted_key_B',
    ops: [{ apply: { containerPorts: [{ port: 80 }, { port: 80, protocol: 'UDP' }] }, manager: 'default' }],
    object: { containerPorts: [{ port: 80 }, { port: 80, protocol: 'UDP' }] },
    managed: { default: [tcp80, udp80, `${tcp80}.port`, `${udp80}.port`, `${udp80}.protocol`] },
  },
  {
    name: 'default keys: apply_missing_defaulted_key_with_conflict',
    ops: [
      { apply: { containerPorts: [{ port: 80, protocol: 'TCP', name: 'foo' }] }, manager: 'apply-one' },
      { apply: { containerPorts: [{ port: 80, name: 'bar' }] }, manager: 'apply-two', conflicts: [`apply-one ${tcp80}.name`] },
    ],
    object: { containerPorts: [{ port: 80, protocol: 'TCP', name: 'foo' }] },
    managed: { 'apply-one': [tcp80, `${tcp80}.name`, `${tcp80}.port`, `${tcp80}.protocol`] },
  },
);

// Upstream merge/duplicates_test.go: live lists may hold duplicate keys (as pods' env
// can); the duplicated key is owned as a whole and collapses when applied.
const dupLive: JSONObject = { assoc: [{ name: 'a', value: 1 }, { name: 'a', value: 2 }, { name: 'b', value: 3 }] };
const aK = '.assoc[name="a"]';
const bK = '.assoc[name="b"]';
cases.push(
  {
    name: 'duplicates: list/ownership/duplicated_items',
    ops: [{ update: dupLive, manager: 'updater' }],
    object: dupLive,
    managed: { updater: ['.assoc', aK, bK, `${bK}.name`, `${bK}.value`] },
  },
  {
    name: 'duplicates: list/merge/unrelated_with_duplicated_items',
    ops: [
      { update: dupLive, manager: 'updater' },
      { apply: { numeric: 5 }, manager: 'applier', force: true },
    ],
    object: { ...dupLive, numeric: 5 },
    managed: { updater: ['.assoc', aK, bK, `${bK}.name`, `${bK}.value`], applier: ['.numeric'] },
  },
  {
    name: 'duplicates: list/merge/change_duplicated_item',
    ops: [
      { update: dupLive, manager: 'updater' },
      { apply: { assoc: [{ name: 'a', value: 3 }] }, manager: 'applier', conflicts: [`updater ${aK}`] },
      { apply: { assoc: [{ name: 'a', value: 3 }] }, manager: 'applier', force: true },
    ],
    object: { assoc: [{ name: 'a', value: 3 }, { name: 'b', value: 3 }] },
    managed: { updater: ['.assoc', bK, `${bK}.name`, `${bK}.value`], applier: [aK, `${aK}.name`, `${aK}.value`] },
  },
  {
    name: 'duplicates: list/merge/change_non_duplicated_item',
    ops: [
      { update: dupLive, manager: 'updater' },
      { apply: { assoc: [{ name: 'b', value: 4 }] }, manager: 'applier', force: true },
    ],
    object: { assoc: [{ name: 'a', value: 1 }, { name: 'a', value: 2 }, { name: 'b', value: 4 }] },
    managed: { updater: ['.assoc', aK, bK, `${bK}.name`], applier: [bK, `${bK}.name`, `${bK}.value`] },
  },
  {
    name: 'duplicates: list/merge/apply_update_duplicates_apply_without',
    ops: [
      { apply: { assoc: [{ name: 'a', value: 1 }, { name: 'b', value: 3 }] }, manager: 'applier' },
      { update: dupLive, manager: 'updater' },
      { apply: { assoc: [{ name: 'b', value: 3 }] }, manager: 'applier' },
    ],
    object: dupLive,
    managed: { applier: [bK, `${bK}.name`, `${bK}.value`], updater: [aK] },
  },
);

for (const tc of cases) {
  test(`Updater: ${tc.name}`, () => {
    const updater = new Updater();
    let obj: JSONObject = {};
    let managers: ManagedFields = new Map();
    for (const op of tc.ops) {
      if ('update' in op) {
        managers = updater.update(obj, op.update, 'v1', managers, op.manager, root);
        obj = op.update;
        continue;
      }
      const run = () => updater.apply(obj, op.apply, 'v1', managers, op.manager, op.force ?? false, root);
      if (op.conflicts) {
        assert.throws(run, (e: unknown) => {
          assert.ok(e instanceof ConflictsError);
          assert.deepEqual(e.conflicts.map((c) => `${c.manager} ${pathToString(c.path)}`).sort(), [...op.conflicts!].sort());
          return true;
        });
        continue;
      }
      const res = run();
      obj = res.object ?? obj;
      managers = res.managers;
    }
    assert.deepEqual(obj, tc.object);
    const got: Record<string, string[]> = {};
    for (const [m, vs] of managers) got[m] = [...vs.set.paths()].map(pathToString);
    assert.deepEqual(got, tc.managed);
  });
}

test('Updater.apply returns no object when nothing changes', () => {
  const u = new Updater();
  const first = u.apply({}, { numeric: 1 }, 'v1', new Map(), 'm', false, root);
  const again = u.apply(first.object!, { numeric: 1 }, 'v1', first.managers, 'm', false, root);
  assert.equal(again.object, undefined);
});

test('Updater ignores reset fields', () => {
  const u = new Updater({ ignoredFields: FieldSet.of([{ kind: 'field', name: 'bool' }]) });
  const m = u.update({}, { bool: true, numeric: 1 }, 'v1', new Map(), 'm', root);
  assert.deepEqual([...m.get('m')!.set.paths()].map(pathToString), ['.numeric']);
});

test('merge: list-map order follows the applied list, live-only items keep their place', () => {
  const live = { keyed: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] };
  const cfg: JSONObject = { keyed: [{ name: 'c', value: 1 }, { name: 'a' }] };
  assert.deepEqual(merge(live, cfg, root), { keyed: [{ name: 'b' }, { name: 'c', value: 1 }, { name: 'a' }] });
});

test('merge: applied duplicates are rejected, live duplicates tolerated', () => {
  assert.throws(() => merge({ keyed: [{ name: 'a' }] }, { keyed: [{ name: 'x' }, { name: 'x' }] }, root), (e: Error) => e instanceof TypedValueError && e.message === '.keyed: duplicate entries for key [name="x"]');
  assert.deepEqual(merge({ keyed: [{ name: 'x' }, { name: 'x' }] }, { keyed: [{ name: 'y' }] }, root), { keyed: [{ name: 'x' }, { name: 'x' }, { name: 'y' }] });
});

test('merge: keyed item without its key', () => {
  assert.throws(
    () => merge({ keyed: [{ name: 'a' }] }, { keyed: [{ value: 1 }] }, root),
    (e: Error) => e.message === '.keyed: element 0: associative list with keys has an element that omits all key fields ["name"] (and doesn\'t have default values for any key fields)',
  );
});

const pod = new SchemaResolver({ definitions }).root(POD);

test('toFieldSet: named fields are not members, map keys and list items are; defaults fill list-map keys', () => {
  const set = toFieldSet(
    { metadata: { labels: { app: 'x' } }, spec: { nodeSelector: { a: 'b' }, containers: [{ name: 'c', ports: [{ containerPort: 80 }] }] } },
    pod,
  );
  assert.deepEqual([...set.paths()].map(pathToString), [
    '.metadata.labels.app',
    '.spec.nodeSelector',
    '.spec.containers[name="c"]',
    '.spec.containers[name="c"].name',
    '.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"]',
    '.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"].containerPort',
  ]);
});

test('toFieldSet: empty maps and nulls are members', () => {
  assert.deepEqual([...toFieldSet({ spec: { containers: [] }, status: {}, metadata: null }, pod).paths()].map(pathToString), ['.metadata', '.status']);
});

test('compare: added, modified, removed', () => {
  const c = compare({ metadata: { labels: { a: '1', b: '2' } } }, { metadata: { labels: { a: '9', c: '3' } } }, pod);
  assert.deepEqual([...c.added.paths()].map(pathToString), ['.metadata.labels.c']);
  assert.deepEqual([...c.modified.paths()].map(pathToString), ['.metadata.labels.a']);
  assert.deepEqual([...c.removed.paths()].map(pathToString), ['.metadata.labels.b']);
});

test('removeItems and ensureNamedFieldsAreMembers', () => {
  const set = FieldSet.of([{ kind: 'field', name: 'spec' }, { kind: 'field', name: 'nodeName' }]);
  const named = ensureNamedFieldsAreMembers(set, pod);
  assert.deepEqual([...named.paths()].map(pathToString), ['.spec', '.spec.nodeName']);
  assert.deepEqual(removeItems({ spec: { nodeName: 'n', restartPolicy: 'Always' } }, set, pod), { spec: { restartPolicy: 'Always' } });
  assert.equal(removeItems({ spec: { nodeName: 'n' } }, named, pod), undefined);
});

test('untyped node: everything granular', () => {
  assert.deepEqual([...toFieldSet({ a: { b: [1] } }, SchemaNode.untyped()).paths()].map(pathToString), ['.a', '.a.b']);
});
