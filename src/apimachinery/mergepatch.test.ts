import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMergePatch, applyMergePatchJSON, createMergePatch, createThreeWayMergePatch, MergePatchError } from './mergepatch.js';

test('RFC 7386 appendix A examples', () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [doc, patch, want] of cases) {
    const before = JSON.stringify(doc);
    assert.deepEqual(applyMergePatch(doc, patch), want, `${JSON.stringify(doc)} + ${JSON.stringify(patch)}`);
    assert.equal(JSON.stringify(doc), before);
  }
});

test('Kubernetes-shaped merge patches', () => {
  const deploy = { metadata: { name: 'web', labels: { app: 'web', old: 'x' } }, spec: { replicas: 1, template: { spec: { containers: [{ name: 'a', image: 'nginx:1' }] } } } };
  const got = applyMergePatch(deploy, { metadata: { labels: { old: null, tier: 'fe' } }, spec: { replicas: 3, template: { spec: { containers: [{ name: 'a', image: 'nginx:2' }] } } } });
  assert.deepEqual(got, { metadata: { name: 'web', labels: { app: 'web', tier: 'fe' } }, spec: { replicas: 3, template: { spec: { containers: [{ name: 'a', image: 'nginx:2' }] } } } });
});

test('errors', () => {
  assert.throws(() => applyMergePatch({}, null), { name: 'MergePatchError', message: 'Invalid JSON Patch' });
  assert.throws(() => applyMergePatch({}, 5), { message: 'Invalid JSON Patch' });
  assert.throws(() => applyMergePatch(null, {}), { message: 'Invalid JSON Document' });
  assert.throws(() => applyMergePatchJSON('{}', '{'), (e: unknown) => e instanceof MergePatchError && e.kind === 'badPatch');
  assert.throws(() => applyMergePatchJSON('{', '{}'), (e: unknown) => e instanceof MergePatchError && e.kind === 'badDocument');
  assert.equal(applyMergePatchJSON('{"a":1}', '{"b":2}'), '{"a":1,"b":2}');
});

test('createMergePatch round-trips', () => {
  const cases: { o: Record<string, unknown>; m: Record<string, unknown>; want: unknown }[] = [
    { o: { a: 1 }, m: { a: 1 }, want: {} },
    { o: { a: 1 }, m: { a: 2 }, want: { a: 2 } },
    { o: { a: 1, b: 2 }, m: { a: 1 }, want: { b: null } },
    { o: { a: { x: 1, y: 2 } }, m: { a: { x: 1, y: 3 } }, want: { a: { y: 3 } } },
    { o: { a: [1, 2] }, m: { a: [1, 2] }, want: {} },
    { o: { a: [1, 2] }, m: { a: [2] }, want: { a: [2] } },
    { o: { a: 'x' }, m: { a: { b: 1 } }, want: { a: { b: 1 } } },
    { o: {}, m: { a: { b: 1 } }, want: { a: { b: 1 } } },
    { o: { a: null }, m: { a: null }, want: {} },
  ];
  for (const tc of cases) {
    const p = createMergePatch(tc.o, tc.m);
    assert.deepEqual(p, tc.want, JSON.stringify(tc));
    assert.deepEqual(applyMergePatch(tc.o, p), tc.m);
  }
  assert.deepEqual(createMergePatch([{ a: 1 }], [{ a: 2 }]), [{ a: 2 }]);
  assert.throws(() => createMergePatch([1], [1, 2]), MergePatchError);
});

test('three-way merge patch (kubectl apply for non-strategic types)', () => {
  const original = { spec: { a: 1, b: 2 } };
  const modified = { spec: { a: 5 } };
  const current = { spec: { a: 1, b: 2, c: 3 }, status: { x: 1 } };
  assert.deepEqual(createThreeWayMergePatch(original, modified, current), { spec: { a: 5, b: null } });
});
