import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJSONPatch, decodeJSONPatch, decodePointerToken, encodePointerToken, JSONPatchError, type JSONPatchOperation } from './jsonpatch.js';

// RFC 6902 Appendix A, plus evanphx/json-patch v4 behaviours.
const ok: { name: string; doc: unknown; patch: JSONPatchOperation[]; want: unknown }[] = [
  { name: 'A.1 add object member', doc: { foo: 'bar' }, patch: [{ op: 'add', path: '/baz', value: 'qux' }], want: { foo: 'bar', baz: 'qux' } },
  { name: 'A.2 add array element', doc: { foo: ['bar', 'baz'] }, patch: [{ op: 'add', path: '/foo/1', value: 'qux' }], want: { foo: ['bar', 'qux', 'baz'] } },
  { name: 'A.3 remove member', doc: { baz: 'qux', foo: 'bar' }, patch: [{ op: 'remove', path: '/baz' }], want: { foo: 'bar' } },
  { name: 'A.4 remove element', doc: { foo: ['bar', 'qux', 'baz'] }, patch: [{ op: 'remove', path: '/foo/1' }], want: { foo: ['bar', 'baz'] } },
  { name: 'A.5 replace', doc: { baz: 'qux', foo: 'bar' }, patch: [{ op: 'replace', path: '/baz', value: 'boo' }], want: { baz: 'boo', foo: 'bar' } },
  {
    name: 'A.6 move value', doc: { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
    patch: [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }], want: { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
  },
  { name: 'A.7 move element', doc: { foo: ['all', 'grass', 'cows', 'eat'] }, patch: [{ op: 'move', from: '/foo/1', path: '/foo/3' }], want: { foo: ['all', 'cows', 'eat', 'grass'] } },
  { name: 'A.8 test success', doc: { baz: 'qux', foo: ['a', 2, 'c'] }, patch: [{ op: 'test', path: '/baz', value: 'qux' }, { op: 'test', path: '/foo/1', value: 2 }], want: { baz: 'qux', foo: ['a', 2, 'c'] } },
  { name: 'A.10 add nested member', doc: { foo: 'bar' }, patch: [{ op: 'add', path: '/child', value: { grandchild: {} } }], want: { foo: 'bar', child: { grandchild: {} } } },
  { name: 'A.12 append with -', doc: { foo: ['bar'] }, patch: [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }], want: { foo: ['bar', ['abc', 'def']] } },
  { name: 'A.14 escape ~0 ~1', doc: { '/': 9, '~1': 10 }, patch: [{ op: 'test', path: '/~01', value: 10 }], want: { '/': 9, '~1': 10 } },
  { name: 'pointer escapes', doc: { 'a/b': 1 }, patch: [{ op: 'replace', path: '/a~1b', value: 2 }], want: { 'a/b': 2 } },
  { name: 'add at end index', doc: { a: [1] }, patch: [{ op: 'add', path: '/a/1', value: 2 }], want: { a: [1, 2] } },
  { name: 'negative index (v4)', doc: { a: [1, 2, 3] }, patch: [{ op: 'remove', path: '/a/-1' }], want: { a: [1, 2] } },
  { name: 'replace missing member adds it (v4)', doc: { a: 1 }, patch: [{ op: 'replace', path: '/b', value: 2 }], want: { a: 1, b: 2 } },
  { name: 'test missing against null (v4)', doc: { a: 1 }, patch: [{ op: 'test', path: '/b', value: null }], want: { a: 1 } },
  { name: 'copy', doc: { a: { b: [1] } }, patch: [{ op: 'copy', from: '/a', path: '/c' }], want: { a: { b: [1] }, c: { b: [1] } } },
  { name: 'replace root', doc: { a: 1 }, patch: [{ op: 'replace', path: '', value: { b: 2 } }], want: { b: 2 } },
  { name: 'test whole doc', doc: { a: 1 }, patch: [{ op: 'test', path: '', value: { a: 1 } }], want: { a: 1 } },
  {
    name: 'kubectl-style label patch', doc: { metadata: { name: 'x', labels: { app: 'a' } } },
    patch: [{ op: 'add', path: '/metadata/labels/tier', value: 'fe' }, { op: 'replace', path: '/metadata/labels/app', value: 'b' }],
    want: { metadata: { name: 'x', labels: { app: 'b', tier: 'fe' } } },
  },
];

test('applies RFC 6902 operations', () => {
  for (const tc of ok) {
    const before = JSON.stringify(tc.doc);
    assert.deepEqual(applyJSONPatch(tc.doc, tc.patch), tc.want, tc.name);
    assert.equal(JSON.stringify(tc.doc), before, `${tc.name}: input must not change`);
  }
});

test('errors worded as evanphx/json-patch v4', () => {
  const cases: { name: string; doc: unknown; patch: JSONPatchOperation[]; message: string; kind: string }[] = [
    { name: 'A.9 test failure', doc: { baz: 'qux' }, patch: [{ op: 'test', path: '/baz', value: 'bar' }], message: 'testing value /baz failed: test failed', kind: 'testFailed' },
    { name: 'A.11 missing parent', doc: { foo: 'bar' }, patch: [{ op: 'add', path: '/baz/bat', value: 'qux' }], message: 'add operation does not apply: doc is missing path: "/baz/bat": missing value', kind: 'missing' },
    { name: 'remove missing', doc: { a: 1 }, patch: [{ op: 'remove', path: '/b' }], message: "error in remove for path: '/b': Unable to remove nonexistent key: b: missing value", kind: 'missing' },
    { name: 'remove out of range', doc: { a: [1] }, patch: [{ op: 'remove', path: '/a/5' }], message: "error in remove for path: '/a/5': Unable to access invalid index: 5: invalid index referenced", kind: 'invalidIndex' },
    { name: 'add past end', doc: { a: [1] }, patch: [{ op: 'add', path: '/a/3', value: 1 }], message: "error in add for path: '/a/3': Unable to access invalid index: 3: invalid index referenced", kind: 'invalidIndex' },
    { name: 'add bad index', doc: { a: [1] }, patch: [{ op: 'add', path: '/a/x', value: 1 }], message: "error in add for path: '/a/x': value was not a proper array index: 'x': strconv.Atoi: parsing \"x\": invalid syntax", kind: 'invalid' },
    { name: 'replace array index', doc: { a: [1] }, patch: [{ op: 'replace', path: '/a/4', value: 1 }], message: 'replace operation does not apply: doc is missing key: /a/4: missing value', kind: 'missing' },
    { name: 'replace missing parent', doc: { a: 1 }, patch: [{ op: 'replace', path: '/x/y', value: 1 }], message: 'replace operation does not apply: doc is missing path: /x/y: missing value', kind: 'missing' },
    { name: 'unknown op', doc: {}, patch: [{ op: 'frob', path: '/a' }], message: 'Unexpected kind: frob', kind: 'unknownOp' },
    { name: 'missing op', doc: {}, patch: [{ path: '/a' }], message: 'Unexpected kind: unknown', kind: 'unknownOp' },
    { name: 'missing path', doc: {}, patch: [{ op: 'add', value: 1 }], message: 'add operation failed to decode path: missing value', kind: 'missing' },
    { name: 'add to root path', doc: {}, patch: [{ op: 'add', path: '', value: 1 }], message: 'add operation does not apply: doc is missing path: "": missing value', kind: 'missing' },
    { name: 'move missing from', doc: {}, patch: [{ op: 'move', from: '/a/b', path: '/c' }], message: 'move operation does not apply: doc is missing from path: /a/b: missing value', kind: 'missing' },
    { name: 'test missing parent', doc: {}, patch: [{ op: 'test', path: '/a/b', value: 1 }], message: 'test operation does not apply: is missing path: /a/b: missing value', kind: 'missing' },
    { name: 'test missing member with value', doc: {}, patch: [{ op: 'test', path: '/a', value: 1 }], message: 'testing value /a failed: test failed', kind: 'testFailed' },
  ];
  for (const tc of cases) {
    assert.throws(() => applyJSONPatch(tc.doc, tc.patch), (e: unknown) => {
      assert.ok(e instanceof JSONPatchError, tc.name);
      assert.equal(e.message, tc.message, tc.name);
      assert.equal(e.kind, tc.kind, tc.name);
      return true;
    });
  }
});

test('decoding', () => {
  assert.deepEqual(decodeJSONPatch('[{"op":"add","path":"/a","value":1}]'), [{ op: 'add', path: '/a', value: 1 }]);
  assert.deepEqual(decodeJSONPatch('null'), []);
  assert.throws(() => decodeJSONPatch('{}'), { message: 'json: cannot unmarshal object into Go value of type jsonpatch.Patch' });
  assert.throws(() => decodeJSONPatch('["x"]'), { message: 'json: cannot unmarshal string into Go value of type jsonpatch.Operation' });
  assert.throws(() => decodeJSONPatch('[{'), (e: unknown) => e instanceof JSONPatchError && e.kind === 'decode');
  assert.equal(decodePointerToken('a~1b~0c~01'), 'a/b~c~1');
  assert.equal(encodePointerToken('a/b~c'), 'a~1b~0c');
});
