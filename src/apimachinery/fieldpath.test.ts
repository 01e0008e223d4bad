import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FieldSet,
  type PathElement,
  comparePathElements,
  deserializePathElement,
  fieldElement,
  indexElement,
  keyElement,
  makePath,
  pathToString,
  serializePathElement,
  valueElement,
} from './fieldpath.js';

const peCases: { name: string; pe: PathElement; wire: string; str: string }[] = [
  { name: 'field', pe: fieldElement('spec'), wire: 'f:spec', str: '.spec' },
  { name: 'field with dots and slashes', pe: fieldElement('app.kubernetes.io/name'), wire: 'f:app.kubernetes.io/name', str: '.app.kubernetes.io/name' },
  { name: 'key, one field', pe: keyElement({ name: 'nginx' }), wire: 'k:{"name":"nginx"}', str: '[name="nginx"]' },
  {
    name: 'key, fields sorted',
    pe: keyElement({ protocol: 'TCP', containerPort: 80 }),
    wire: 'k:{"containerPort":80,"protocol":"TCP"}',
    str: '[containerPort=80,protocol="TCP"]',
  },
  { name: 'set value', pe: valueElement('example.com/x'), wire: 'v:"example.com/x"', str: '[="example.com/x"]' },
  { name: 'numeric set value', pe: valueElement(3), wire: 'v:3', str: '[=3]' },
  { name: 'html escaped like Go', pe: valueElement('<a&b>'), wire: 'v:"\\u003ca\\u0026b\\u003e"', str: '[="<a&b>"]' },
  { name: 'index', pe: indexElement(2), wire: 'i:2', str: '[2]' },
];

for (const tc of peCases) {
  test(`path element ${tc.name}`, () => {
    assert.equal(serializePathElement(tc.pe), tc.wire);
    assert.deepEqual(deserializePathElement(tc.wire), tc.pe);
    assert.equal(pathToString([tc.pe]), tc.str);
  });
}

const badKeys: { key: string; error: RegExp }[] = [
  { key: 'f', error: /key must be 2 characters long:$/ },
  { key: 'fx', error: /missing colon: fx$/ },
  { key: 'z:abc', error: /unknown path element type$/ },
  { key: 'k:[1]', error: /invalid key/ },
  { key: 'i:x', error: /invalid syntax/ },
];
for (const tc of badKeys) {
  test(`deserializePathElement rejects ${tc.key}`, () => {
    assert.throws(() => deserializePathElement(tc.key), tc.error);
  });
}

test('path element order: fields < keys < values < indexes; values numbers < strings < bools', () => {
  const sorted = [indexElement(0), valueElement(true), valueElement('a'), valueElement(2), keyElement({ name: 'a' }), fieldElement('z'), fieldElement('a')].sort(comparePathElements);
  assert.deepEqual(sorted.map(serializePathElement), ['f:a', 'f:z', 'k:{"name":"a"}', 'v:2', 'v:"a"', 'v:true', 'i:0']);
});

const c = keyElement({ name: 'c' });
const port = keyElement({ containerPort: 80, protocol: 'TCP' });
const workedExample = FieldSet.of(
  makePath('metadata', 'labels', 'app'),
  makePath('spec', 'replicas'),
  makePath('spec', 'template', 'spec', 'containers', c),
  makePath('spec', 'template', 'spec', 'containers', c, 'image'),
  makePath('spec', 'template', 'spec', 'containers', c, 'ports', port),
  makePath('spec', 'template', 'spec', 'containers', c, 'ports', port, 'containerPort'),
  makePath('metadata', 'finalizers', valueElement('example.com/x')),
);
const workedExampleWire = {
  'f:metadata': { 'f:finalizers': { 'v:"example.com/x"': {} }, 'f:labels': { 'f:app': {} } },
  'f:spec': {
    'f:replicas': {},
    'f:template': {
      'f:spec': {
        'f:containers': {
          'k:{"name":"c"}': {
            '.': {},
            'f:image': {},
            'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
          },
        },
      },
    },
  },
};

test('FieldsV1: the module comment example, byte for byte', () => {
  assert.equal(JSON.stringify(workedExample.toFieldsV1()), JSON.stringify(workedExampleWire));
});

test('FieldsV1: decode then encode round trips', () => {
  const s = FieldSet.fromFieldsV1(workedExampleWire);
  assert.ok(s.equals(workedExample));
  assert.equal(s.size(), 7);
  assert.equal(JSON.stringify(s.toFieldsV1()), JSON.stringify(workedExampleWire));
});

test('FieldsV1: unknown element types are skipped, {} is a member', () => {
  const s = FieldSet.fromFieldsV1({ 'f:a': {}, 'z:zz': {}, 'f:b': { 'f:c': {} } });
  assert.deepEqual([...s.paths()].map(pathToString), ['.a', '.b.c']);
});

test('FieldsV1: malformed key throws', () => {
  assert.throws(() => FieldSet.fromFieldsV1({ 'k:{': {} }), /parsing key as path element/);
});

const a = makePath('a');
const ab = makePath('a', 'b');
const abc = makePath('a', 'b', 'c');
const setOps: { name: string; got: () => FieldSet; want: string[] }[] = [
  { name: 'union', got: () => FieldSet.of(a, ab).union(FieldSet.of(abc)), want: ['.a', '.a.b', '.a.b.c'] },
  { name: 'intersection', got: () => FieldSet.of(a, ab, abc).intersection(FieldSet.of(ab, makePath('x'))), want: ['.a.b'] },
  { name: 'difference keeps children of a removed parent', got: () => FieldSet.of(ab, abc).difference(FieldSet.of(ab)), want: ['.a.b.c'] },
  { name: 'recursiveDifference removes them', got: () => FieldSet.of(a, ab, abc).recursiveDifference(FieldSet.of(ab)), want: ['.a'] },
  { name: 'withPrefix', got: () => FieldSet.of(ab, abc).withPrefix(fieldElement('a')), want: ['.b', '.b.c'] },
  { name: 'empty path is never a member', got: () => FieldSet.of([]), want: [] },
];
for (const tc of setOps) {
  test(`FieldSet ${tc.name}`, () => {
    assert.deepEqual([...tc.got().paths()].map(pathToString), tc.want);
  });
}

test('FieldSet has / empty / equals', () => {
  const s = FieldSet.of(abc);
  assert.ok(s.has(abc));
  assert.ok(!s.has(ab));
  assert.ok(!s.empty());
  assert.ok(s.difference(s).empty());
  assert.ok(FieldSet.of(a, ab).equals(FieldSet.of(ab, a)));
});

test('compareStrings orders like Go (UTF-8 bytes), also past the BMP', async () => {
  const { compareStrings } = await import('./fieldpath.js');
  assert.ok(compareStrings('a', 'b') < 0);
  assert.ok(compareStrings('\uffff', '\u{10000}') < 0, 'U+FFFF sorts before U+10000 in UTF-8');
  assert.equal(compareStrings('x', 'x'), 0);
});
