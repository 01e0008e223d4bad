import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authenticate, parseTokenFile } from './auth.js';

test('token file: quoted group lists, comments and blank lines', () => {
  const tokens = parseTokenFile('# comment\nt1,alice,1001,"devs,ops"\n\nt2,bob,1002\n');
  assert.deepEqual(tokens.get('t1'), { token: 't1', user: 'alice', uid: '1001', groups: ['devs', 'ops'] });
  assert.deepEqual(tokens.get('t2'), { token: 't2', user: 'bob', uid: '1002', groups: [] });
});

test('token file: a short line names its line number', () => {
  assert.throws(() => parseTokenFile('t1,alice,1\nbroken\n', 'tokens.csv'), /tokens\.csv: line 2/);
});

test('bearer tokens authenticate; unknown ones do not', () => {
  const tokens = parseTokenFile('t1,alice,1001,"devs"\n');
  assert.deepEqual(authenticate(undefined, 'Bearer t1', tokens), { name: 'alice', uid: '1001', groups: ['devs', 'system:authenticated'] });
  assert.equal(authenticate(undefined, 'Bearer nope', tokens), undefined);
  assert.equal(authenticate(undefined, undefined, tokens), undefined);
});
