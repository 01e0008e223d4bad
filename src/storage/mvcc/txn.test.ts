import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMvccError, type MvccErrorCode } from './errors.js';
import { b, openMem, str } from './testing.js';
import type { Compare, RequestOp, TxnRequest } from './types.js';

async function rejectsWith(p: Promise<unknown>, code: MvccErrorCode, message?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isMvccError(err, code), `expected ${code}, got ${String(err)}`);
    if (message) assert.equal((err as Error).message, message);
    return true;
  });
}

const put = (k: string, v: string): RequestOp => ({ put: { key: b(k), value: b(v) } });
const del = (k: string, end?: string): RequestOp => ({ deleteRange: { key: b(k), rangeEnd: end === undefined ? undefined : b(end) } });
const get = (k: string, end?: string): RequestOp => ({ range: { key: b(k), rangeEnd: end === undefined ? undefined : b(end) } });

/** Store with a=1 (create 2, mod 2, version 1), b=2 (create 3, mod 4, version 2); revision 4. */
async function seeded() {
  const { store } = await openMem();
  await store.put({ key: b('a'), value: b('1') });
  await store.put({ key: b('b'), value: b('x') });
  await store.put({ key: b('b'), value: b('2') });
  return store;
}

const cmp = (key: string, target: Compare['target'], result: Compare['result'], operand: Partial<Compare>, rangeEnd?: string): Compare => ({
  key: b(key),
  rangeEnd: rangeEnd === undefined ? undefined : b(rangeEnd),
  target,
  result,
  ...operand,
});

const compareCases: { name: string; c: Compare; holds: boolean }[] = [
  { name: 'VALUE EQUAL', c: cmp('a', 'VALUE', 'EQUAL', { value: b('1') }), holds: true },
  { name: 'VALUE NOT_EQUAL', c: cmp('a', 'VALUE', 'NOT_EQUAL', { value: b('1') }), holds: false },
  { name: 'VALUE GREATER (bytes)', c: cmp('a', 'VALUE', 'GREATER', { value: b('0') }), holds: true },
  { name: 'VALUE LESS', c: cmp('a', 'VALUE', 'LESS', { value: b('0') }), holds: false },
  { name: 'VALUE on a missing key always fails', c: cmp('zz', 'VALUE', 'EQUAL', { value: b('') }), holds: false },
  { name: 'VALUE NOT_EQUAL on a missing key fails too', c: cmp('zz', 'VALUE', 'NOT_EQUAL', { value: b('x') }), holds: false },
  { name: 'VERSION EQUAL', c: cmp('b', 'VERSION', 'EQUAL', { version: 2 }), holds: true },
  { name: 'VERSION GREATER', c: cmp('b', 'VERSION', 'GREATER', { version: 1 }), holds: true },
  { name: 'VERSION of a missing key is 0', c: cmp('zz', 'VERSION', 'EQUAL', { version: 0 }), holds: true },
  { name: 'CREATE EQUAL', c: cmp('b', 'CREATE', 'EQUAL', { createRevision: 3 }), holds: true },
  { name: 'CREATE of a missing key is 0', c: cmp('zz', 'CREATE', 'EQUAL', { createRevision: 0 }), holds: true },
  { name: 'MOD LESS', c: cmp('b', 'MOD', 'LESS', { modRevision: 5 }), holds: true },
  { name: 'MOD NOT_EQUAL', c: cmp('b', 'MOD', 'NOT_EQUAL', { modRevision: 4 }), holds: false },
  { name: 'LEASE EQUAL 0', c: cmp('a', 'LEASE', 'EQUAL', { lease: 0n }), holds: true },
  { name: 'LEASE GREATER', c: cmp('a', 'LEASE', 'GREATER', { lease: 0n }), holds: false },
  { name: 'range: holds for every key', c: cmp('a', 'MOD', 'GREATER', { modRevision: 1 }, 'c'), holds: true },
  { name: 'range: fails if one key fails', c: cmp('a', 'MOD', 'GREATER', { modRevision: 3 }, 'c'), holds: false },
  { name: 'range \\0: every key >= key', c: cmp('a', 'VERSION', 'LESS', { version: 2 }, '\0'), holds: false },
  { name: 'empty range compares against a zero key', c: cmp('x', 'CREATE', 'EQUAL', { createRevision: 0 }, 'y'), holds: true },
];

for (const tc of compareCases) {
  test(`txn compare: ${tc.name}`, async () => {
    const store = await seeded();
    const r = await store.txn({ compare: [tc.c], success: [put('then', '1')], failure: [put('else', '1')] });
    assert.equal(r.succeeded, tc.holds);
    assert.equal(r.header.revision, 5);
    assert.equal((await store.range({ key: b(tc.holds ? 'then' : 'else') })).count, 1);
    await store.close();
  });
}

test('txn: all ops share one revision; ranges see earlier writes of the txn', async () => {
  const store = await seeded();
  const r = await store.txn({
    compare: [],
    success: [put('x', '1'), put('y', '2'), get('x', 'z'), del('a'), get('a')],
    failure: [],
  });
  assert.equal(r.succeeded, true);
  assert.equal(r.header.revision, 5);
  const rx = r.responses[2]!;
  assert.ok('range' in rx);
  assert.deepEqual(rx.range.kvs.map((kv) => [str(kv.key), kv.modRevision]), [['x', 5], ['y', 5]]);
  const ra = r.responses[4]!;
  assert.ok('range' in ra && ra.range.kvs.length === 0);
  const rd = r.responses[3]!;
  assert.ok('deleteRange' in rd && rd.deleteRange.deleted === 1);
  assert.equal(store.status().revision, 5);
  assert.equal((await store.range({ key: b('a'), revision: 4 })).count, 1);
  await store.close();
});

test('txn: nested txns evaluate their compares on the state before the txn', async () => {
  const store = await seeded();
  const inner: TxnRequest = {
    compare: [cmp('n', 'VERSION', 'EQUAL', { version: 0 })],
    success: [put('inner-then', '1')],
    failure: [put('inner-else', '1')],
  };
  const r = await store.txn({ compare: [], success: [put('n', '1'), { txn: inner }], failure: [] });
  const nested = r.responses[1]!;
  assert.ok('txn' in nested);
  assert.equal(nested.txn.succeeded, true, 'n did not exist before the txn');
  assert.equal(nested.txn.header.revision, 5);
  assert.equal((await store.range({ key: b('inner-then') })).count, 1);
  await store.close();
});

test('txn that changes nothing keeps the revision; read-only txns read durable state', async () => {
  const store = await seeded();
  const r = await store.txn({ compare: [cmp('a', 'VALUE', 'EQUAL', { value: b('nope') })], success: [put('q', '1')], failure: [get('a')] });
  assert.equal(r.succeeded, false);
  assert.equal(r.header.revision, 4);
  const ro = await store.txn({ compare: [cmp('a', 'VALUE', 'EQUAL', { value: b('1') })], success: [get('a', 'c'), { txn: { compare: [], success: [get('b')], failure: [] } }], failure: [] });
  assert.equal(ro.succeeded, true);
  assert.equal(ro.header.revision, 4);
  const first = ro.responses[0]!;
  assert.ok('range' in first && first.range.count === 2);
  await store.close();
});

test('txn: range at a past revision inside a txn; future/compacted revisions fail the txn', async () => {
  const store = await seeded();
  const r = await store.txn({ compare: [], success: [{ range: { key: b('b'), revision: 3 } }], failure: [] });
  const first = r.responses[0]!;
  assert.ok('range' in first);
  assert.equal(str(first.range.kvs[0]!.value), 'x');
  await rejectsWith(store.txn({ compare: [], success: [put('w', '1'), { range: { key: b('b'), revision: 5 } }], failure: [] }), 'FutureRevision');
  assert.equal(store.status().revision, 4, 'the failed txn wrote nothing');
  await store.compact({ revision: 3 });
  await rejectsWith(store.txn({ compare: [], success: [{ range: { key: b('b'), revision: 2 } }], failure: [] }), 'Compacted');
  await store.close();
});

const checkCases: { name: string; req: TxnRequest; code: MvccErrorCode }[] = [
  { name: 'put twice', req: { compare: [], success: [put('k', '1'), put('k', '2')], failure: [] }, code: 'DuplicateKey' },
  { name: 'put and delete same key', req: { compare: [], success: [del('k'), put('k', '2')], failure: [] }, code: 'DuplicateKey' },
  { name: 'put inside a deleted range', req: { compare: [], success: [put('kb', '2'), del('ka', 'kz')], failure: [] }, code: 'DuplicateKey' },
  { name: 'put inside a delete-from (\\0)', req: { compare: [], success: [put('zzz', '2'), del('k', '\0')], failure: [] }, code: 'DuplicateKey' },
  {
    name: 'nested put duplicating an outer put',
    req: { compare: [], success: [put('k', '1'), { txn: { compare: [], success: [put('k', '2')], failure: [] } }], failure: [] },
    code: 'DuplicateKey',
  },
  {
    name: 'nested put under an outer delete',
    req: { compare: [], success: [del('a', 'z'), { txn: { compare: [], success: [put('k', '2')], failure: [] } }], failure: [] },
    code: 'DuplicateKey',
  },
  { name: 'too many ops', req: { compare: [], success: Array.from({ length: 129 }, (_, i) => put(`k${i}`, 'v')), failure: [] }, code: 'TooManyOps' },
  { name: 'too many compares', req: { compare: Array.from({ length: 129 }, () => cmp('a', 'VERSION', 'EQUAL', { version: 1 })), success: [], failure: [] }, code: 'TooManyOps' },
  {
    name: 'nested ops share the budget',
    req: { compare: [], success: [...Array.from({ length: 100 }, (_, i) => get(`k${i}`)), { txn: { compare: [], success: Array.from({ length: 29 }, (_, i) => get(`n${i}`)), failure: [] } }], failure: [] },
    code: 'TooManyOps',
  },
  { name: 'empty key in a compare', req: { compare: [cmp('', 'VERSION', 'EQUAL', { version: 0 })], success: [], failure: [] }, code: 'EmptyKey' },
  { name: 'empty key in an op', req: { compare: [], success: [put('', 'v')], failure: [] }, code: 'EmptyKey' },
  { name: 'request too large', req: { compare: [], success: [{ put: { key: b('a'), value: Buffer.alloc(1024 * 1024) } }, { put: { key: b('b'), value: Buffer.alloc(600 * 1024) } }], failure: [] }, code: 'RequestTooLarge' },
];

for (const tc of checkCases) {
  test(`txn check: ${tc.name}`, async () => {
    const { store } = await openMem();
    await rejectsWith(store.txn(tc.req), tc.code);
    assert.equal(store.status().revision, 1);
    await store.close();
  });
}

test('txn: the same key in then and else of a nested txn is allowed, deletes may overlap', async () => {
  const { store } = await openMem();
  await store.put({ key: b('k1'), value: b('v') });
  const r = await store.txn({
    compare: [],
    success: [{ txn: { compare: [], success: [put('k', '1')], failure: [put('k', '2')] } }, del('k1', 'k9'), del('k0', 'k2')],
    failure: [],
  });
  assert.equal(r.succeeded, true);
  const d1 = r.responses[1]!;
  const d2 = r.responses[2]!;
  assert.ok('deleteRange' in d1 && 'deleteRange' in d2);
  assert.equal(d1.deleteRange.deleted, 1);
  assert.equal(d2.deleteRange.deleted, 0, 'already deleted by this txn');
  assert.equal(str((await store.range({ key: b('k') })).kvs[0]!.value), '1');
  await store.close();
});

test('txn: exactly 128 ops are fine; put with a missing lease fails the whole txn', async () => {
  const { store } = await openMem();
  const r = await store.txn({ compare: [], success: Array.from({ length: 128 }, (_, i) => put(`k${i}`, 'v')), failure: [] });
  assert.equal(r.responses.length, 128);
  assert.equal(store.status().revision, 2);
  await rejectsWith(store.txn({ compare: [], success: [put('x', '1'), { put: { key: b('y'), value: b('1'), lease: 7n } }], failure: [] }), 'LeaseNotFound');
  assert.equal((await store.range({ key: b('x') })).count, 0);
  // The check applies to the branch that runs only.
  await store.txn({ compare: [cmp('x', 'VERSION', 'EQUAL', { version: 0 })], success: [put('x', '1')], failure: [{ put: { key: b('y'), value: b('1'), lease: 7n } }] });
  assert.equal((await store.range({ key: b('x') })).count, 1);
  await store.close();
});
