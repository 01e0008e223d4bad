import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseFieldSelector, parseAndTransformSelector, escapeValue, unescapeValue, everything, nothing, selectorFromSet,
  oneTermEqualSelector, oneTermNotEqualSelector, andSelectors, defaultMetaV1FieldSelectorConversion,
  supportedFieldsConversion, fieldsSetString, objectMetaFieldsSet, FieldSelectorError, type Fields,
} from './fields.js';

test('escape and unescape (TestEscapeValue)', () => {
  const cases: [string, string][] = [['', ''], ['a', 'a'], ['=', '\\='], [',', '\\,'], ['\\', '\\\\'], ['\\=\\,\\', '\\\\\\=\\\\\\,\\\\']];
  for (const [raw, escaped] of cases) {
    assert.equal(escapeValue(raw), escaped);
    assert.equal(unescapeValue(escaped), raw);
  }
  const bad: [string, string][] = [
    ['\\', 'invalid field selector: invalid escape sequence: \\'],
    ['\\\\\\', 'invalid field selector: invalid escape sequence: \\'],
    ['\\a', 'invalid field selector: invalid escape sequence: \\a'],
    ['a=b', 'invalid field selector: unescaped character in value: 61'],
    ['a,b', 'invalid field selector: unescaped character in value: 44'],
  ];
  for (const [v, msg] of bad) assert.throws(() => unescapeValue(v), { name: 'FieldSelectorError', message: msg });
});

test('parse good and bad strings (TestSelectorParse)', () => {
  for (const s of ['x=a,y=b,z=c', '', 'x!=a,y=b', 'x=a||y\\=b', 'x=a\\=\\=b']) assert.equal(parseFieldSelector(s).toString(), s, s);
  const bad: [string, string][] = [
    ['x=a||y=b', 'invalid field selector: unescaped character in value: 61'],
    ['x==a==b', 'invalid field selector: unescaped character in value: 61'],
    ['x=a,b', "invalid selector: 'x=a,b'; can't understand 'b'"],
    ['x in (a)', "invalid selector: 'x in (a)'; can't understand 'x in (a)'"],
    ['x in (a,b,c)', "invalid selector: 'x in (a,b,c)'; can't understand 'b'"],
    ['x', "invalid selector: 'x'; can't understand 'x'"],
  ];
  for (const [s, msg] of bad) assert.throws(() => parseFieldSelector(s), { message: msg }, s);
  // Terms are sorted, so the string form is canonical.
  assert.equal(parseFieldSelector('status.phase==Running,metadata.name=x').toString(), 'metadata.name=x,status.phase=Running');
  assert.equal(parseFieldSelector('spec.nodeName!=').toString(), 'spec.nodeName!=');
});

test('matching against a flat field set', () => {
  const pod: Fields = { 'metadata.name': 'web', 'metadata.namespace': 'default', 'spec.nodeName': '', 'status.phase': 'Running' };
  const cases: { sel: string; want: boolean }[] = [
    { sel: '', want: true },
    { sel: 'metadata.name=web', want: true },
    { sel: 'metadata.name==web', want: true },
    { sel: 'metadata.name=other', want: false },
    { sel: 'spec.nodeName!=', want: false },
    { sel: 'spec.nodeName=', want: true },
    { sel: 'status.phase==Running,metadata.namespace=default', want: true },
    { sel: 'status.phase!=Running', want: false },
    { sel: 'missing.field=', want: true },
    { sel: 'missing.field!=x', want: true },
  ];
  for (const tc of cases) assert.equal(parseFieldSelector(tc.sel).matches(pod), tc.want, tc.sel);
  assert.ok(everything().matches(pod));
  assert.ok(everything().empty());
  assert.ok(!nothing().matches(pod));
  assert.ok(!nothing().empty());
});

test('requirements, exact match and set selectors', () => {
  const sel = parseFieldSelector('metadata.name=a\\,b,spec.nodeName!=n1');
  assert.deepEqual(sel.requirements(), [
    { field: 'metadata.name', operator: '=', value: 'a,b' },
    { field: 'spec.nodeName', operator: '!=', value: 'n1' },
  ]);
  assert.equal(sel.requiresExactMatch('metadata.name'), 'a,b');
  assert.equal(sel.requiresExactMatch('spec.nodeName'), undefined);
  assert.equal(selectorFromSet({ a: 'b' }).toString(), 'a=b');
  assert.ok(selectorFromSet(undefined).empty());
  assert.equal(andSelectors(oneTermEqualSelector('a', 'x=y'), oneTermNotEqualSelector('b', 'c')).toString(), 'a=x\\=y,b!=c');
  assert.equal(fieldsSetString({ b: '2', a: '1' }), 'a=1,b=2');
  assert.deepEqual(objectMetaFieldsSet({ name: 'n', namespace: 'ns' }, true), { 'metadata.name': 'n', 'metadata.namespace': 'ns' });
  assert.deepEqual(objectMetaFieldsSet({ name: 'n' }, false), { 'metadata.name': 'n' });
});

test('transform: API server field support', () => {
  assert.throws(() => parseAndTransformSelector('foo=bar', defaultMetaV1FieldSelectorConversion), {
    name: 'FieldSelectorError',
    message: '"foo" is not a known field selector: only "metadata.name", "metadata.namespace"',
  });
  assert.equal(parseAndTransformSelector('metadata.name=x', defaultMetaV1FieldSelectorConversion).toString(), 'metadata.name=x');
  const podFields = supportedFieldsConversion({ fields: ['spec.nodeName', 'status.phase'], aliases: { 'spec.host': 'spec.nodeName' } });
  assert.equal(parseAndTransformSelector('spec.host=n1', podFields).toString(), 'spec.nodeName=n1');
  assert.throws(() => parseAndTransformSelector('spec.bogus=1', podFields), { message: 'field label not supported: spec.bogus' });
  const nodeFields = supportedFieldsConversion({ fields: ['spec.unschedulable'], clusterScoped: true });
  assert.throws(() => parseAndTransformSelector('metadata.namespace=x', nodeFields), FieldSelectorError);
  // Terms mapped to ("", "") disappear.
  assert.ok(parseAndTransformSelector('a=b,c=d', () => ['', '']).empty());
});
