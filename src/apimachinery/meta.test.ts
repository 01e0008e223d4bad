import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  getNestedField, getNestedString, getNestedStringMap, setNestedField, removeNestedField, deepClone, deepEqual,
  formatRFC3339, formatRFC3339Micro, parseRFC3339, generateName, randomString, NAME_SUFFIX_ALPHABET, newUID,
  parseGroupVersion, groupVersionString, namespacedKey, getControllerOf, newControllerRef, type KObject,
} from './meta.js';

test('nested field access', () => {
  const obj: Record<string, unknown> = { spec: { template: { metadata: { labels: { app: 'x', n: 1 } } } } };
  assert.equal(getNestedString(obj, 'spec', 'template', 'metadata', 'labels', 'app'), 'x');
  assert.equal(getNestedField(obj, 'spec', 'missing', 'x'), undefined);
  assert.equal(getNestedField(obj, 'spec', 'template', 'metadata', 'labels', 'app', 'deeper'), undefined);
  assert.deepEqual(getNestedStringMap(obj, 'spec', 'template', 'metadata', 'labels'), { app: 'x' });
  setNestedField(obj, 3, 'spec', 'replicas');
  setNestedField(obj, 'v', 'status', 'a', 'b');
  assert.equal(getNestedField(obj, 'spec', 'replicas'), 3);
  assert.equal(getNestedField(obj, 'status', 'a', 'b'), 'v');
  setNestedField(obj, 'w', 'spec', 'replicas', 'x'); // replaces a non-object intermediate
  assert.deepEqual(getNestedField(obj, 'spec', 'replicas'), { x: 'w' });
  removeNestedField(obj, 'status', 'a');
  assert.deepEqual(obj.status, {});
});

test('deepClone and deepEqual', () => {
  const a = { x: [1, { y: 'z' }], u: undefined, n: null };
  const b = deepClone(a);
  assert.deepEqual(b, { x: [1, { y: 'z' }], n: null });
  assert.notEqual(b.x, a.x);
  const cases: [unknown, unknown, boolean][] = [
    [{ a: 1, b: 2 }, { b: 2, a: 1 }, true],
    [[1, 2], [2, 1], false],
    [{ a: undefined }, {}, true],
    [{ a: null }, {}, false],
    [1, '1', false],
    [{ a: [{ b: 'c' }] }, { a: [{ b: 'c' }] }, true],
    [[], {}, false],
  ];
  for (const [x, y, want] of cases) assert.equal(deepEqual(x, y), want, JSON.stringify([x, y]));
});

test('RFC 3339 time as upstream (seconds, Z)', () => {
  assert.equal(formatRFC3339(Date.UTC(2024, 4, 1, 12, 34, 56, 789)), '2024-05-01T12:34:56Z');
  assert.equal(formatRFC3339Micro(Date.UTC(2024, 4, 1, 12, 34, 56, 789)), '2024-05-01T12:34:56.789000Z');
  assert.equal(parseRFC3339('2024-05-01T12:34:56Z'), Date.UTC(2024, 4, 1, 12, 34, 56));
  assert.equal(parseRFC3339('2024-05-01T14:34:56+02:00'), Date.UTC(2024, 4, 1, 12, 34, 56));
  assert.throws(() => parseRFC3339('2024-05-01 12:34:56'));
});

test('generateName and uids', () => {
  const name = generateName('web-');
  assert.match(name, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  assert.equal(generateName('a'.repeat(70)).length, 63);
  assert.equal(randomString(3, () => 0), 'bbb');
  assert.equal(randomString(2, (n) => n - 1), '99');
  assert.equal(NAME_SUFFIX_ALPHABET, 'bcdfghjklmnpqrstvwxz2456789');
  assert.match(newUID(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('group versions and accessors', () => {
  assert.deepEqual(parseGroupVersion('v1'), { group: '', version: 'v1' });
  assert.deepEqual(parseGroupVersion('apps/v1'), { group: 'apps', version: 'v1' });
  assert.deepEqual(parseGroupVersion(''), { group: '', version: '' });
  assert.throws(() => parseGroupVersion('a/b/c'), /unexpected GroupVersion string: a\/b\/c/);
  assert.equal(groupVersionString({ group: 'apps', version: 'v1' }), 'apps/v1');
  const rs: KObject = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs', namespace: 'ns', uid: 'u1' } };
  assert.equal(namespacedKey(rs), 'ns/rs');
  assert.equal(namespacedKey({ metadata: { name: 'n' } }), 'n');
  const pod: KObject = { metadata: { name: 'p', ownerReferences: [newControllerRef(rs)] } };
  assert.deepEqual(getControllerOf(pod), { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true, blockOwnerDeletion: true });
});
