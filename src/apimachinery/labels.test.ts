import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseSelector, everything, nothing, selectorFromSet, validatedSelectorFromSet, newRequirement, Requirement,
  labelSelectorAsSelector, labelSelectorAsMap, parseToLabelSelector, formatLabelSelector, validateLabelSelector,
  formatLabels, labelsConflict, labelsEqual, mergeLabels, convertSelectorToLabelsMap, LabelSelectorError, type Labels,
} from './labels.js';
import { newPath } from './errors.js';

test('parse good strings and restring them (TestSelectorParse)', () => {
  const good = ['x=a,y=b,z=c', '', 'x!=a,y=b', 'x=', 'x= ', 'x=,z= ', 'x= ,z= ', '!x', 'x>1', 'x>1,z<5'];
  for (const s of good) assert.equal(parseSelector(s).toString(), s.replaceAll(' ', ''), s);
  for (const s of ['x=a||y=b', 'x==a==b', '!x=a', 'x<a']) assert.throws(() => parseSelector(s), LabelSelectorError, s);
  assert.equal(parseSelector('x=a,a=x').toString(), parseSelector('a=x,x=a').toString());
});

test('set-based grammar (TestSetSelectorParser)', () => {
  const cases: { in: string; out?: string; valid: boolean }[] = [
    { in: '', out: '', valid: true },
    { in: '\rx', out: 'x', valid: true },
    { in: 'this-is-a-dns.domain.com/key-with-dash', out: 'this-is-a-dns.domain.com/key-with-dash', valid: true },
    { in: 'this-is-another-dns.domain.com/key-with-dash in (so,what)', out: 'this-is-another-dns.domain.com/key-with-dash in (so,what)', valid: true },
    { in: '0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)', out: '0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)', valid: true },
    { in: 'foo  in\t (abc)', out: 'foo in (abc)', valid: true },
    { in: 'x notin\n (abc)', out: 'x notin (abc)', valid: true },
    { in: 'x  notin\t\t\t(abc,def)', out: 'x notin (abc,def)', valid: true },
    { in: 'x in (abc,)', out: 'x in (,abc)', valid: true },
    { in: 'x in ()', out: 'x in ()', valid: true },
    { in: 'x notin (abc,,def),bar,z in (),w', out: 'bar,w,x notin (,abc,def),z in ()', valid: true },
    { in: 'x,y in (a)', out: 'x,y in (a)', valid: true },
    { in: 'x=a,y!=b,z in (h,i,j)', out: 'x=a,y!=b,z in (h,i,j)', valid: true },
    { in: 'x=a||y=b', valid: false },
    { in: 'x,,y', valid: false },
    { in: ',x,y', valid: false },
    { in: 'x nott in (y)', valid: false },
    { in: 'x notin ( )', out: 'x notin ()', valid: true },
    { in: 'x notin (, a)', out: 'x notin (,a)', valid: true },
    { in: 'a in (xyz),', valid: false },
    { in: 'a in (xyz)b notin ()', valid: false },
    { in: 'a ', out: 'a', valid: true },
    { in: 'a in (x,y,notin, z,in)', out: 'a in (in,notin,x,y,z)', valid: true },
    { in: 'a in (xyz abc)', valid: false },
    { in: 'a notin(', valid: false },
    { in: 'a (', valid: false },
    { in: '(', valid: false },
    { in: 'x==a', out: 'x==a', valid: true },
  ];
  for (const tc of cases) {
    if (!tc.valid) {
      assert.throws(() => parseSelector(tc.in), LabelSelectorError, tc.in);
      continue;
    }
    assert.equal(parseSelector(tc.in).toString(), tc.out, tc.in);
  }
});

test('parse error messages are upstream text', () => {
  const cases: [string, string][] = [
    ['(', "found '(', expected: !, identifier, or 'end of string'"],
    ['x==a==b', "found '==', expected: ',' or 'end of string'"],
    ['x,,y', "found ',', expected: identifier after ','"],
    ['x nott in (y)', "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt"],
    ['a in (xyz abc)', "unable to parse requirement: found 'abc', expected: ',' or ')'"],
    ['a in xyz', "unable to parse requirement: found 'xyz' expected: '('"],
    ['x<a', "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"],
    [
      'x=a||y',
      "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ],
    [
      '-x',
      "unable to parse requirement: <nil>: Invalid value: \"-x\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ],
  ];
  for (const [input, want] of cases) assert.throws(() => parseSelector(input), { name: 'LabelSelectorError', message: want }, input);
});

test('matching (TestSelectorMatches)', () => {
  const cases: { sel: string; labels: Labels; want: boolean }[] = [
    { sel: '', labels: { x: 'y' }, want: true },
    { sel: 'x=y', labels: { x: 'y' }, want: true },
    { sel: 'x=y,z=w', labels: { x: 'y', z: 'w' }, want: true },
    { sel: 'x!=y,z!=w', labels: { x: 'z', z: 'a' }, want: true },
    { sel: 'notin=in', labels: { notin: 'in' }, want: true },
    { sel: 'x', labels: { x: 'z' }, want: true },
    { sel: '!x', labels: { y: 'z' }, want: true },
    { sel: 'x>1', labels: { x: '2' }, want: true },
    { sel: 'x<1', labels: { x: '0' }, want: true },
    { sel: 'x=z', labels: {}, want: false },
    { sel: 'x=y', labels: { x: 'z' }, want: false },
    { sel: 'x=y,z=w', labels: { x: 'w', z: 'w' }, want: false },
    { sel: 'x!=y,z!=w', labels: { x: 'z', z: 'w' }, want: false },
    { sel: 'x', labels: { y: 'z' }, want: false },
    { sel: '!x', labels: { x: 'z' }, want: false },
    { sel: 'x>1', labels: { x: '0' }, want: false },
    { sel: 'x<1', labels: { x: '2' }, want: false },
    { sel: 'x>1', labels: { x: 'abc' }, want: false },
    { sel: 'x!=y', labels: {}, want: true },
    { sel: 'x notin (a,b)', labels: {}, want: true },
    { sel: 'x in (a,b)', labels: { x: 'b' }, want: true },
    { sel: 'x in (a,b)', labels: {}, want: false },
    { sel: 'foo=bar,foobar=bar,baz=blah', labels: { foo: 'bar', baz: 'blah' }, want: false },
    { sel: 'toString', labels: {}, want: false },
  ];
  for (const tc of cases) assert.equal(parseSelector(tc.sel).matches(tc.labels), tc.want, `${tc.sel} ~ ${JSON.stringify(tc.labels)}`);
  assert.ok(everything().matches({ x: 'y' }));
  assert.ok(everything().empty());
  assert.ok(!nothing().matches({}));
  assert.ok(!nothing().empty());
  assert.equal(nothing().requirements().selectable, false);
});

test('newRequirement validation (TestRequirementConstructor)', () => {
  const cases: { key: string; op: string; vals: string[]; err?: string }[] = [
    { key: 'x1', op: 'in', vals: [], err: "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty" },
    { key: 'x2', op: 'notin', vals: [], err: "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty" },
    { key: 'x3', op: 'in', vals: ['foo'] },
    { key: 'x5', op: '=', vals: ['bar', 'foo'], err: 'values: Invalid value: []string{"bar", "foo"}: exact-match compatibility requires one single value' },
    { key: 'x6', op: 'exists', vals: [] },
    { key: 'x8', op: 'exists', vals: ['foo'], err: 'values: Invalid value: []string{"foo"}: values set must be empty for exists and does not exist' },
    { key: 'x11', op: 'gt', vals: ['1'] },
    { key: 'x13', op: 'gt', vals: [], err: "values: Invalid value: []string{}: for 'Gt', 'Lt' operators, exactly one value is required" },
    { key: 'x14', op: 'gt', vals: ['bar'], err: "values[0]: Invalid value: \"bar\": for 'Gt', 'Lt' operators, the value must be an integer" },
    { key: 'x16', op: 'bogus', vals: [], err: 'operator: Unsupported value: "bogus": supported values: "in", "notin", "=", "==", "!=", "gt", "lt", "exists", "!"' },
    { key: 'a'.repeat(254), op: 'exists', vals: [], err: 'key: Invalid value: "' },
  ];
  for (const tc of cases) {
    if (tc.err === undefined) {
      assert.ok(newRequirement(tc.key, tc.op, tc.vals) instanceof Requirement, tc.key);
      continue;
    }
    assert.throws(() => newRequirement(tc.key, tc.op, tc.vals), (e: unknown) => e instanceof LabelSelectorError && e.message.startsWith(tc.err!), tc.key);
  }
  assert.throws(() => newRequirement('x', 'in', []), (e: unknown) => e instanceof LabelSelectorError && e.fieldErrors[0]!.type === 'FieldValueInvalid');
  const r = newRequirement('k', 'in', ['v'], newPath('spec', 'selector'));
  assert.equal(r.toString(), 'k in (v)');
  assert.throws(() => newRequirement('k', 'in', [], newPath('spec')), { message: "spec.values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty" });
});

test('toString, add, requiresExactMatch', () => {
  const cases: { reqs: Requirement[]; want: string }[] = [
    { reqs: [newRequirement('x', 'in', ['abc', 'def']), newRequirement('y', 'notin', ['jkl']), newRequirement('z', 'exists', [])], want: 'x in (abc,def),y notin (jkl),z' },
    { reqs: [newRequirement('x', 'notin', ['abc', 'def']), newRequirement('y', '!=', ['jkl']), newRequirement('z', '!', [])], want: 'x notin (abc,def),y!=jkl,!z' },
    { reqs: [newRequirement('x', 'in', ['def', 'abc'])], want: 'x in (abc,def)' },
    { reqs: [newRequirement('x', 'gt', ['2']), newRequirement('y', 'lt', ['8'])], want: 'x>2,y<8' },
    { reqs: [newRequirement('z', '=', ['1']), newRequirement('a', '==', ['2'])], want: 'a==2,z=1' },
  ];
  for (const tc of cases) assert.equal(everything().add(...tc.reqs).toString(), tc.want);
  const sel = parseSelector('a=1,b in (2),c in (3,4),d!=5');
  assert.equal(sel.requiresExactMatch('a'), '1');
  assert.equal(sel.requiresExactMatch('b'), '2');
  assert.equal(sel.requiresExactMatch('c'), undefined);
  assert.equal(sel.requiresExactMatch('d'), undefined);
  assert.equal(sel.requiresExactMatch('zz'), undefined);
});

test('selectors from sets', () => {
  assert.equal(selectorFromSet({ b: '2', a: '1' }).toString(), 'a=1,b=2');
  assert.ok(selectorFromSet(undefined).empty());
  assert.ok(selectorFromSet({ a: '1' }).matches({ a: '1', b: '2' }));
  assert.throws(() => validatedSelectorFromSet({ 'a b': '1' }), /key: Invalid value: "a b"/);
  assert.equal(formatLabels({}), '<none>');
  assert.equal(formatLabels({ b: '2', a: '1' }), 'a=1,b=2');
  assert.ok(labelsConflict({ a: '1' }, { a: '2' }));
  assert.ok(!labelsConflict({ a: '1' }, { b: '2' }));
  assert.ok(labelsEqual({ a: '1' }, { a: '1' }));
  assert.ok(!labelsEqual({ a: '1' }, { a: '1', b: '' }));
  assert.deepEqual(mergeLabels({ a: '1' }, { a: '2', b: '3' }), { a: '2', b: '3' });
  assert.deepEqual(convertSelectorToLabelsMap('a=b, c = d'), { a: 'b', c: 'd' });
  assert.throws(() => convertSelectorToLabelsMap('a'), { message: 'invalid selector: [a]' });
  assert.throws(() => convertSelectorToLabelsMap('a=-'), /^LabelSelectorError: \[a\]: Invalid value: "-"/);
});

test('metav1.LabelSelector conversion: null matches nothing, empty matches everything', () => {
  assert.ok(!labelSelectorAsSelector(null).matches({}));
  assert.ok(!labelSelectorAsSelector(undefined).matches({ a: 'b' }));
  assert.ok(labelSelectorAsSelector({}).matches({ a: 'b' }));
  assert.ok(labelSelectorAsSelector({ matchLabels: {}, matchExpressions: [] }).empty());
  const sel = labelSelectorAsSelector({
    matchLabels: { app: 'web', tier: 'fe' },
    matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'dev'] }, { key: 'gone', operator: 'DoesNotExist' }],
  });
  assert.equal(sel.toString(), 'app=web,env in (dev,prod),!gone,tier=fe');
  assert.ok(sel.matches({ app: 'web', tier: 'fe', env: 'prod' }));
  assert.ok(!sel.matches({ app: 'web', tier: 'fe', env: 'prod', gone: '' }));
  assert.throws(() => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'Foo' }] }), { message: '"Foo" is not a valid label selector operator' });
  assert.throws(() => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), LabelSelectorError);
  assert.equal(formatLabelSelector({}), '<none>');
  assert.equal(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Foo' }] }), '<error>');
  assert.deepEqual(labelSelectorAsMap({ matchLabels: { a: 'b' }, matchExpressions: [{ key: 'c', operator: 'In', values: ['d'] }] }), { a: 'b', c: 'd' });
  assert.equal(labelSelectorAsMap(null), undefined);
  assert.throws(() => labelSelectorAsMap({ matchExpressions: [{ key: 'c', operator: 'Exists' }] }), { message: 'operator "Exists" cannot be converted into the old label selector format' });
  assert.deepEqual(parseToLabelSelector('a=b,c in (e,d),!f'), {
    matchLabels: { a: 'b' },
    matchExpressions: [{ key: 'c', operator: 'In', values: ['d', 'e'] }, { key: 'f', operator: 'DoesNotExist', values: [] }],
  });
  assert.throws(() => parseToLabelSelector('a>1'), { message: '"gt" isn\'t supported in label selectors' });
  assert.throws(() => parseToLabelSelector('('), { message: 'couldn\'t parse the selector string "(": found \'(\', expected: !, identifier, or \'end of string\'' });
});

test('validateLabelSelector', () => {
  const fp = newPath('spec', 'selector');
  const cases: { name: string; sel: Parameters<typeof validateLabelSelector>[0]; want: string[] }[] = [
    { name: 'null', sel: null, want: [] },
    { name: 'ok', sel: { matchLabels: { a: 'b' }, matchExpressions: [{ key: 'c', operator: 'Exists' }] }, want: [] },
    { name: 'In without values', sel: { matchExpressions: [{ key: 'c', operator: 'In' }] }, want: ["spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"] },
    { name: 'Exists with values', sel: { matchExpressions: [{ key: 'c', operator: 'Exists', values: ['x'] }] }, want: ["spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"] },
    { name: 'bad operator', sel: { matchExpressions: [{ key: 'c', operator: 'Foo' }] }, want: ['spec.selector.matchExpressions[0].operator: Invalid value: "Foo": not a valid selector operator'] },
    { name: 'bad label key', sel: { matchLabels: { '-a': 'b' } }, want: ["spec.selector.matchLabels: Invalid value: \"-a\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"] },
  ];
  for (const tc of cases) assert.deepEqual(validateLabelSelector(tc.sel, {}, fp).map((e) => e.message), tc.want, tc.name);
  assert.deepEqual(validateLabelSelector({ matchExpressions: [{ key: 'c', operator: 'Foo' }] }, { allowUnknownOperatorInRequirement: true }, fp), []);
});
