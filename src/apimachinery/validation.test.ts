import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isDNS1123Label, isDNS1123Subdomain, isDNS1035Label, isQualifiedName, isValidLabelValue, isValidPortNum,
  isValidPortName, isCIdentifier, isValidPercent, isConfigMapKey, isEnvVarName, isWildcardDNS1123Subdomain,
  validateObjectMeta, validateObjectMetaUpdate, validateAnnotations, validateLabels, validateOwnerReferences,
  validateFinalizers, nameIsDNSSubdomain, nameIsDNSLabel, nameIsDNS1035Label, validatePortNumOrName,
  isValidPathSegmentName, regexError, isValidIP, isValidIPv4Address, isValidIPv6Address, isValidCIDR,
} from './validation.js';
import { newInvalid, newPath } from './errors.js';

const r = (s: string, n: number) => s.repeat(n);

test('is* good and bad values (upstream validation_test tables)', () => {
  const cases: { fn: (v: string) => string[]; good: string[]; bad: string[] }[] = [
    {
      fn: isDNS1123Label,
      good: ['a', 'ab', 'abc', 'a1', 'a-1', 'a--1--2--b', '0', '01', '012', '1a', '1-a', '1--a--b--2', r('a', 63)],
      bad: ['', 'A', 'ABC', 'aBc', 'A1', 'A-1', '1-A', '-', 'a-', '-a', '1-', '-1', '_', 'a_', '_a', 'a_b', '1_', '_1', '1_2',
        '.', 'a.', '.a', 'a.b', '1.', '.1', '1.2', ' ', 'a ', ' a', 'a b', '1 ', ' 1', '1 2', r('a', 64)],
    },
    {
      fn: isDNS1123Subdomain,
      good: ['a', 'ab', 'abc', 'a1', 'a-1', 'a--1--2--b', '0', '01', '012', '1a', '1-a', '1--a--b--2', 'a.a', 'ab.a', 'abc.a',
        'a1.a', 'a-1.a', 'a--1--2--b.a', 'a.1', 'ab.1', 'abc.1', 'a1.1', 'a-1.1', 'a--1--2--b.1', '0.a', '01.a', '012.a', '1a.a',
        '1-a.a', '1--a--b--2', '0.1', '01.1', '012.1', '1a.1', '1-a.1', '1--a--b--2.1', 'a.b.c.d.e', 'aa.bb.cc.dd.ee',
        '1.2.3.4.5', '11.22.33.44.55', r('a', 253)],
      bad: ['', 'A', 'ABC', 'aBc', 'A1', 'A-1', '1-A', '-', 'a-', '-a', '1-', '-1', '_', 'a_', '_a', 'a_b', '1_', '_1', '1_2',
        '.', 'a.', '.a', 'a..b', '1.', '.1', '1..2', ' ', 'a ', ' a', 'a b', '1 ', ' 1', '1 2', 'A.a', 'aB.a', 'ab.A', 'A1.a',
        'a1.A', 'A.1', 'aB.1', 'A1.1', '1A.1', '0.A', '01.A', '012.A', '1A.a', '1a.A', 'A.B.C.D.E', 'AA.BB.CC.DD.EE', 'a.B.c.d.e',
        'aa.bB.cc.dd.ee', 'a@b', 'a,b', 'a_b', 'a;b', 'a:b', 'a%b', 'a?b', 'a$b', r('a', 254)],
    },
    {
      fn: isDNS1035Label,
      good: ['a', 'ab', 'abc', 'a1', 'a-1', 'a--1--2--b', r('a', 63)],
      bad: ['0', '01', '012', '1a', '1-a', '1--a--b--2', '', 'A', 'ABC', 'aBc', 'A1', 'A-1', '1-A', '-', 'a-', '-a', '1-', '-1',
        '_', 'a_', '_a', 'a_b', '1_', '_1', '1_2', '.', 'a.', '.a', 'a.b', '1.', '.1', '1.2', ' ', 'a ', ' a', 'a b', '1 ', ' 1',
        '1 2', r('a', 64)],
    },
    {
      fn: isQualifiedName,
      good: ['simple', 'now-with-dashes', '1-starts-with-num', '1234', 'simple/simple', 'now-with-dashes/simple',
        'now-with-dashes/now-with-dashes', 'now.with.dots/simple', 'now-with.dashes-and.dots/simple', '1-num.2-num/3-num',
        '1234/5678', '1.2.3.4/5678', 'Uppercase_Is_OK_123', 'example.com/Uppercase_Is_OK_123', 'requests.storage-foo',
        r('a', 63), `${r('a', 253)}/${r('b', 63)}`],
      bad: ['nospecialchars%^=@', 'cantendwithadash-', '-cantstartwithadash-', 'only/one/slash', 'Example.com/abc',
        'example_com/abc', 'example.com/', '/simple', r('a', 64), `${r('a', 254)}/abc`],
    },
    {
      fn: isValidLabelValue,
      good: ['simple', 'now-with-dashes', '1-starts-with-num', 'end-with-num-1', '1234', r('a', 63), ''],
      bad: ['nospecialchars%^=@', 'Tama-nui-te-rā.is.Māori.sun', '\\backslashes\\are\\bad', '-starts-with-dash',
        'ends-with-dash-', '.starts.with.dot', 'ends.with.dot.', r('a', 64)],
    },
    { fn: isValidPortName, good: ['telnet', 're-mail-ck', 'pop3', 'a', 'a-1', '1-a', 'a-1-b-2-c', '1-a-2-b-3'], bad: ['longerthan15characters', '', r('a', 16), '12345', '1-2-3-4', '-begin', 'end-', 'two--hyphens', 'whois++'] },
    { fn: isCIdentifier, good: ['a', 'ab', 'abc', 'a1', '_a', 'a_', 'a_b', 'a_1', 'a__1__2__b', '__abc_123', 'A', 'AB', 'AbC', 'A1', '_A', 'A_', 'A_B', 'A_1', 'A__1__2__B', '__123_ABC'], bad: ['', '1', '123', '1a', '-', 'a-', '-a', '1-', '-1', '1_', '1_2', '.', 'a.', '.a', 'a.b', '1.', '.1', '1.2', ' ', 'a ', ' a', 'a b', '1 ', ' 1', '1 2', '#a#'] },
    { fn: isValidPercent, good: ['0%', '00000%', '1%', '01%', '99%', '100%', '101%'], bad: ['', '0', '100', '0.0%', '99.9%', 'hundred', ' 1%', '1% ', '-0%', '-1%', '+1%'] },
    { fn: isConfigMapKey, good: ['a', 'good', 'good-good', 'still.good', 'this.is.also.good', '.so.is.this', 'THIS_IS_GOOD', 'so-is-this-1'], bad: ['.', '..', '..bad', 'b*d', 'bad!&bad'] },
    { fn: isEnvVarName, good: ['a', 'abc', 'A', 'ABC', 'AbC123', '_', '_a', 'a_b', 'a-b', 'a.b'], bad: ['', '1', '1a', 'a b', '.', '..', '..a', 'a=b'] },
    { fn: isWildcardDNS1123Subdomain, good: ['*.example.com', '*.bar.com', '*.foo.bar.com'], bad: ['*.*.bar.com', '*.foo.*.com', '*bar.com', 'f*.bar.com', '*'] },
  ];
  for (const tc of cases) {
    for (const v of tc.good) assert.deepEqual(tc.fn(v), [], `${tc.fn.name}(${JSON.stringify(v)}) should pass`);
    for (const v of tc.bad) assert.notDeepEqual(tc.fn(v), [], `${tc.fn.name}(${JSON.stringify(v)}) should fail`);
  }
});

test('exact upstream messages', () => {
  const cases: { got: string[]; want: string[] }[] = [
    {
      got: isDNS1123Label('My_Name'),
      want: ["a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"],
    },
    { got: isDNS1123Label('a.b'), want: ['must not contain dots'] },
    {
      got: isDNS1123Subdomain('A'),
      want: ["a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"],
    },
    {
      got: isDNS1035Label('1abc'),
      want: ["a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"],
    },
    { got: isValidPortNum(0), want: ['must be between 1 and 65535, inclusive'] },
    { got: isValidPortNum(65535), want: [] },
    { got: isValidPortName('-a--'), want: ['must not contain consecutive hyphens', 'must not begin or end with a hyphen'] },
    { got: isValidPortName('1234'), want: ['must contain at least one letter (a-z)'] },
    {
      got: isQualifiedName('a/b/c'),
      want: ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"],
    },
    { got: isQualifiedName('/a'), want: ['prefix part must be non-empty'] },
    {
      got: isQualifiedName('x/'),
      want: ['name part must be non-empty', "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"],
    },
    { got: isQualifiedName(r('a', 64)), want: ['name part must be no more than 63 characters'] },
    {
      got: isValidLabelValue('-x'),
      want: ["a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"],
    },
    { got: isValidPathSegmentName('..'), want: ["may not be '..'"] },
    { got: isValidPathSegmentName('a/b%'), want: ["may not contain '/'", "may not contain '%'"] },
  ];
  for (const tc of cases) assert.deepEqual(tc.got, tc.want);
  assert.equal(regexError('m', 'f'), "m (regex used for validation is 'f')");
});

test('generateName prefixes may end in a dash', () => {
  const cases: { fn: (n: string, p: boolean) => string[]; name: string; prefix: boolean; ok: boolean }[] = [
    { fn: nameIsDNSSubdomain, name: 'web-', prefix: true, ok: true },
    { fn: nameIsDNSSubdomain, name: 'web-', prefix: false, ok: false },
    { fn: nameIsDNSLabel, name: 'ns-', prefix: true, ok: true },
    { fn: nameIsDNS1035Label, name: 'svc-', prefix: true, ok: true },
    { fn: nameIsDNSSubdomain, name: 'Web-', prefix: true, ok: false },
  ];
  for (const tc of cases) assert.equal(tc.fn(tc.name, tc.prefix).length === 0, tc.ok, `${tc.name} ${tc.prefix}`);
});

test('validateObjectMeta', () => {
  const fp = newPath('metadata');
  const msgs = (errs: Error[]) => errs.map((e) => e.message);
  const cases: { name: string; meta: Parameters<typeof validateObjectMeta>[0]; ns: boolean; want: string[] }[] = [
    { name: 'ok', meta: { name: 'x', namespace: 'default' }, ns: true, want: [] },
    // The registry generates the name before validating, so a bare generateName is still missing a name.
    { name: 'generateName only', meta: { generateName: 'x-', namespace: 'default' }, ns: true, want: ['metadata.name: Required value: name or generateName is required'] },
    { name: 'generateName and name', meta: { generateName: 'x-', name: 'x-abcde', namespace: 'default' }, ns: true, want: [] },
    { name: 'missing name', meta: { namespace: 'default' }, ns: true, want: ['metadata.name: Required value: name or generateName is required'] },
    { name: 'missing namespace', meta: { name: 'x' }, ns: true, want: ['metadata.namespace: Required value'] },
    { name: 'cluster scoped with namespace', meta: { name: 'x', namespace: 'a' }, ns: false, want: ['metadata.namespace: Forbidden: not allowed on this type'] },
    {
      name: 'bad name', meta: { name: 'X', namespace: 'default' }, ns: true,
      want: ["metadata.name: Invalid value: \"X\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"],
    },
    { name: 'negative generation', meta: { name: 'x', generation: -1 }, ns: false, want: ['metadata.generation: Invalid value: -1: must be greater than or equal to 0'] },
    {
      name: 'bad label value', meta: { name: 'x', labels: { a: '-' } }, ns: false,
      want: ["metadata.labels: Invalid value: \"-\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"],
    },
    {
      name: 'both deletion finalizers', meta: { name: 'x', finalizers: ['orphan', 'foregroundDeletion'] }, ns: false,
      want: ['metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: finalizer orphan and foregroundDeletion cannot be both set'],
    },
  ];
  for (const tc of cases) assert.deepEqual(msgs(validateObjectMeta(tc.meta, tc.ns, nameIsDNSSubdomain, fp)), tc.want, tc.name);
  const err = newInvalid({ group: '', kind: 'ConfigMap' }, '', validateObjectMeta({ namespace: 'default' }, true, nameIsDNSSubdomain, fp));
  assert.equal(err.message, 'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required');
});

test('annotations size limit and key rules', () => {
  const fp = newPath('metadata', 'annotations');
  assert.deepEqual(validateAnnotations({ a: 'x'.repeat(256 * 1024 - 1) }, fp), []);
  assert.deepEqual(validateAnnotations({ a: 'x'.repeat(256 * 1024) }, fp).map((e) => e.message), ['metadata.annotations: Too long: may not be more than 262144 bytes']);
  assert.equal(validateAnnotations({ 'Example.com/Key': 'v' }, fp).length, 0); // keys are lower-cased first
  assert.equal(validateLabels({ 'a/b/c': 'v' }, newPath('l')).length, 1);
});

test('owner references', () => {
  const fp = newPath('metadata', 'ownerReferences');
  const msgs = validateOwnerReferences([
    { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: '1', controller: true },
    { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'b', uid: '2', controller: true },
    { apiVersion: '', kind: '', name: '', uid: '' },
  ], fp).map((e) => e.message);
  assert.ok(msgs.includes('metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty'));
  assert.ok(msgs.some((m) => m.endsWith('Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/a and ReplicaSet/b')));
  assert.ok(msgs.includes('metadata.ownerReferences.uid: Invalid value: "": uid must not be empty'));
  assert.ok(validateOwnerReferences([{ apiVersion: 'v1', kind: 'Event', name: 'e', uid: 'u' }], fp)[0]!.message.endsWith(': /v1, Kind=Event is disallowed from being an owner'));
  assert.deepEqual(validateFinalizers(['kubernetes.io/pv-protection'], newPath('f')), []);
});

test('validateObjectMetaUpdate', () => {
  const fp = newPath('metadata');
  const old = { name: 'x', namespace: 'ns', uid: 'u', resourceVersion: '5', generation: 2, deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['a'] };
  const msgs = validateObjectMetaUpdate({ ...old, name: 'y', resourceVersion: '', generation: 1, finalizers: ['a', 'b'] }, old, fp).map((e) => e.message);
  assert.deepEqual(msgs, [
    'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"b"}',
    'metadata.resourceVersion: Invalid value: "": must be specified for an update',
    'metadata.generation: Invalid value: 1: must not be decremented',
    'metadata.name: Invalid value: "y": field is immutable',
  ]);
  assert.deepEqual(validateObjectMetaUpdate(old, old, fp), []);
});

test('validatePortNumOrName', () => {
  assert.deepEqual(validatePortNumOrName(80, newPath('port')), []);
  assert.deepEqual(validatePortNumOrName('http', newPath('port')), []);
  assert.deepEqual(validatePortNumOrName(70000, newPath('port')).map((e) => e.message), ['port: Invalid value: 70000: must be between 1 and 65535, inclusive']);
});

test('IP and CIDR validation (sloppy IPv4 as upstream)', () => {
  const fp = newPath('spec', 'clusterIP');
  const cases: { fn: typeof isValidIP; good: string[]; bad: string[] }[] = [
    { fn: isValidIP, good: ['1.2.3.4', '010.001.002.003', '2001:db8::ffff', '::1', '::ffff:1.2.3.4'], bad: ['', '1.2.3', '1.2.3.256', 'a.b.c.d', '2001:db8::g', ' 1.2.3.4'] },
    { fn: isValidIPv4Address, good: ['1.2.3.4', '::ffff:1.2.3.4', '0:0:0:0:0:ffff:102:304'], bad: ['::1', 'x', '::1.2.3.4'] },
    { fn: isValidIPv6Address, good: ['::1', '2001:db8::1'], bad: ['1.2.3.4', '::ffff:1.2.3.4'] },
    { fn: isValidCIDR, good: ['10.0.0.0/8', '2001:db8::/64', '1.2.3.4/32'], bad: ['10.0.0.0', '10.0.0.0/33', '2001:db8::/129', 'x/8'] },
  ];
  for (const tc of cases) {
    for (const v of tc.good) assert.deepEqual(tc.fn(fp, v), [], `${tc.fn.name}(${v})`);
    for (const v of tc.bad) assert.equal(tc.fn(fp, v).length, 1, `${tc.fn.name}(${v})`);
  }
  assert.equal(isValidIP(fp, 'x')[0]!.message, 'spec.clusterIP: Invalid value: "x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
  assert.equal(isValidCIDR(fp, 'x')[0]!.message, 'spec.clusterIP: Invalid value: "x": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)');
});
