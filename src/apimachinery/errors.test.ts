import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  StatusError, newNotFound, newAlreadyExists, newConflict, newInvalid, newBadRequest, newUnauthorized,
  newForbidden, newMethodNotSupported, newGone, newResourceExpired, newTimeout, newTooManyRequests,
  newInternalError, newServiceUnavailable, newRequestEntityTooLarge, newUnsupportedMediaType, newNotAcceptable,
  newServerTimeout, newGenerateNameConflict, newGenericServerResponse, newTooManyRequestsError,
  isNotFound, isAlreadyExists, isConflict, isInvalid, isGone, isResourceExpired, isBadRequest, isUnauthorized,
  isForbidden, isMethodNotSupported, isTimeout, isServerTimeout, isInternalError, isTooManyRequests,
  isRequestEntityTooLarge, isUnsupportedMediaType, isNotAcceptable, isServiceUnavailable, reasonForError,
  suggestsClientDelay, fromStatusObject, hasStatusCause,
  newPath, FieldPath, childPath, fieldRequired, fieldInvalid, fieldNotSupported, fieldDuplicate, fieldForbidden,
  fieldTooLong, fieldTooMany, fieldInternalError, fieldNotFound, fieldTypeInvalid, goQuote, goTyped, renderBadValue,
  aggregateMessage, toAggregate, successStatus, errorToAPIStatus, type FieldError,
} from './errors.js';

const pods = { group: '', resource: 'pods' };
const deployments = { group: 'apps', resource: 'deployments' };

test('factories produce upstream messages, reasons and codes', () => {
  const cases: { name: string; err: StatusError; message: string; reason: string; code: number }[] = [
    { name: 'NotFound core', err: newNotFound(pods, 'x'), message: 'pods "x" not found', reason: 'NotFound', code: 404 },
    { name: 'NotFound group', err: newNotFound(deployments, 'web'), message: 'deployments.apps "web" not found', reason: 'NotFound', code: 404 },
    { name: 'AlreadyExists', err: newAlreadyExists(pods, 'x'), message: 'pods "x" already exists', reason: 'AlreadyExists', code: 409 },
    {
      name: 'GenerateNameConflict', err: newGenerateNameConflict(pods, 'x-abcde', 1),
      message: 'pods "x-abcde" already exists, the server was not able to generate a unique name for the object', reason: 'AlreadyExists', code: 409,
    },
    {
      name: 'Conflict', err: newConflict(pods, 'x', new Error('the object has been modified; please apply your changes to the latest version and try again')),
      message: 'Operation cannot be fulfilled on pods "x": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict', code: 409,
    },
    { name: 'BadRequest', err: newBadRequest('bad'), message: 'bad', reason: 'BadRequest', code: 400 },
    { name: 'Unauthorized empty', err: newUnauthorized(''), message: 'not authorized', reason: 'Unauthorized', code: 401 },
    { name: 'Unauthorized', err: newUnauthorized('Unauthorized'), message: 'Unauthorized', reason: 'Unauthorized', code: 401 },
    { name: 'Forbidden no resource', err: newForbidden({ group: '', resource: '' }, '', 'nope'), message: 'forbidden: nope', reason: 'Forbidden', code: 403 },
    { name: 'Forbidden no name', err: newForbidden(pods, '', new Error('User "bob" cannot list resource "pods"')), message: 'pods is forbidden: User "bob" cannot list resource "pods"', reason: 'Forbidden', code: 403 },
    { name: 'Forbidden name', err: newForbidden(pods, 'x', 'nope'), message: 'pods "x" is forbidden: nope', reason: 'Forbidden', code: 403 },
    { name: 'MethodNotSupported', err: newMethodNotSupported(pods, 'delete'), message: 'delete is not supported on resources of kind "pods"', reason: 'MethodNotAllowed', code: 405 },
    { name: 'Gone', err: newGone('gone'), message: 'gone', reason: 'Gone', code: 410 },
    { name: 'Expired', err: newResourceExpired('too old resource version: 5 (10)'), message: 'too old resource version: 5 (10)', reason: 'Expired', code: 410 },
    { name: 'Timeout', err: newTimeout('request did not complete within requested timeout', 0), message: 'Timeout: request did not complete within requested timeout', reason: 'Timeout', code: 504 },
    { name: 'ServerTimeout', err: newServerTimeout(pods, 'create', 2), message: 'The create operation against pods could not be completed at this time, please try again.', reason: 'ServerTimeout', code: 500 },
    { name: 'TooManyRequests', err: newTooManyRequests('slow down', 3), message: 'slow down', reason: 'TooManyRequests', code: 429 },
    { name: 'TooManyRequestsError', err: newTooManyRequestsError('slow down'), message: 'Too many requests: slow down', reason: 'TooManyRequests', code: 429 },
    { name: 'InternalError', err: newInternalError(new Error('boom')), message: 'Internal error occurred: boom', reason: 'InternalError', code: 500 },
    { name: 'ServiceUnavailable', err: newServiceUnavailable('down'), message: 'down', reason: 'ServiceUnavailable', code: 503 },
    { name: 'RequestEntityTooLarge', err: newRequestEntityTooLarge('limit is 3145728'), message: 'Request entity too large: limit is 3145728', reason: 'RequestEntityTooLarge', code: 413 },
    {
      name: 'UnsupportedMediaType', err: newUnsupportedMediaType(['application/json', 'application/yaml']),
      message: 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml', reason: 'UnsupportedMediaType', code: 415,
    },
    { name: 'NotAcceptable', err: newNotAcceptable(['application/json']), message: 'only the following media types are accepted: application/json', reason: 'NotAcceptable', code: 406 },
    {
      name: 'Generic 422', err: newGenericServerResponse(422, '', { group: '', resource: '' }, '', 'jsonpatch failed'),
      message: 'the server rejected our request due to an error in our request', reason: 'Invalid', code: 422,
    },
    {
      name: 'Generic 500 with resource', err: newGenericServerResponse(500, 'GET', pods, 'x', 'boom'),
      message: 'an error on the server ("boom") has prevented the request from succeeding (get pods x)', reason: 'InternalError', code: 500,
    },
  ];
  for (const tc of cases) {
    assert.equal(tc.err.message, tc.message, tc.name);
    assert.equal(tc.err.reason, tc.reason, tc.name);
    assert.equal(tc.err.code, tc.code, tc.name);
    assert.equal(tc.err.status.kind, 'Status');
    assert.equal(tc.err.status.apiVersion, 'v1');
    assert.equal(tc.err.status.status, 'Failure');
    assert.ok(tc.err instanceof Error);
  }
});

test('wire form omits empty fields like Go omitempty', () => {
  assert.equal(
    JSON.stringify(newNotFound(pods, 'x')),
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"x\\" not found","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}',
  );
  assert.deepEqual(newNotFound(deployments, 'web').details, { name: 'web', group: 'apps', kind: 'deployments' });
  assert.equal(JSON.stringify(newBadRequest('b')), '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"b","reason":"BadRequest","code":400}');
  assert.deepEqual(newInternalError('boom').details, { causes: [{ message: 'boom' }] });
  assert.deepEqual(newTooManyRequests('m', 5).details, { retryAfterSeconds: 5 });
});

test('newInvalid (upstream TestNewInvalid cases)', () => {
  const p = newPath('field[0].name');
  const cases: { err: FieldError | undefined; reason: string; msg: string }[] = [
    { err: fieldDuplicate(p, 'bar'), reason: 'FieldValueDuplicate', msg: 'Kind "name" is invalid: field[0].name: Duplicate value: "bar"' },
    { err: fieldInvalid(p, 'bar', 'detail'), reason: 'FieldValueInvalid', msg: 'Kind "name" is invalid: field[0].name: Invalid value: "bar": detail' },
    { err: fieldNotFound(p, 'bar'), reason: 'FieldValueNotFound', msg: 'Kind "name" is invalid: field[0].name: Not found: "bar"' },
    { err: fieldNotSupported(p, 'bar', []), reason: 'FieldValueNotSupported', msg: 'Kind "name" is invalid: field[0].name: Unsupported value: "bar"' },
    { err: fieldRequired(p, ''), reason: 'FieldValueRequired', msg: 'Kind "name" is invalid: field[0].name: Required value' },
    { err: undefined, reason: '', msg: 'Kind "name" is invalid' },
  ];
  for (const tc of cases) {
    const err = newInvalid({ group: '', kind: 'Kind' }, 'name', tc.err ? [tc.err] : []);
    assert.equal(err.code, 422);
    assert.equal(err.reason, 'Invalid');
    assert.equal(err.message, tc.msg);
    if (tc.err) assert.deepEqual(err.details, { name: 'name', kind: 'Kind', causes: [{ reason: tc.reason, message: tc.err.errorBody(), field: 'field[0].name' }] });
    else assert.deepEqual(err.details, { name: 'name', kind: 'Kind' });
  }
});

test('newInvalid aggregates several errors in brackets and drops duplicates', () => {
  const errs = [
    fieldInvalid(newPath('spec', 'selector'), 'x', 'bad'),
    fieldRequired(newPath('spec', 'template'), ''),
    fieldRequired(newPath('spec', 'template'), ''),
  ];
  const err = newInvalid({ group: 'apps', kind: 'Deployment' }, 'web', errs);
  assert.equal(err.message, 'Deployment.apps "web" is invalid: [spec.selector: Invalid value: "x": bad, spec.template: Required value]');
  assert.equal(err.details?.causes?.length, 3);
  assert.equal(aggregateMessage([errs[1]!, errs[2]!]), 'spec.template: Required value');
  assert.equal(toAggregate([]), undefined);
  assert.equal(toAggregate(errs)?.errors.length, 2);
});

test('predicates follow reason, falling back to code for unknown reasons', () => {
  const cases: { name: string; err: unknown; pred: (e: unknown) => boolean; want: boolean }[] = [
    { name: 'isNotFound', err: newNotFound(pods, 'x'), pred: isNotFound, want: true },
    { name: 'isNotFound code only', err: new StatusError({ code: 404 }), pred: isNotFound, want: true },
    { name: 'isNotFound known other reason', err: new StatusError({ code: 404, reason: 'Gone' }), pred: isNotFound, want: false },
    { name: 'isNotFound plain Error', err: new Error('pods "x" not found'), pred: isNotFound, want: false },
    { name: 'isAlreadyExists', err: newAlreadyExists(pods, 'x'), pred: isAlreadyExists, want: true },
    { name: 'isAlreadyExists not by code', err: new StatusError({ code: 409 }), pred: isAlreadyExists, want: false },
    { name: 'isConflict', err: newConflict(pods, 'x', 'e'), pred: isConflict, want: true },
    { name: 'isConflict vs AlreadyExists', err: newAlreadyExists(pods, 'x'), pred: isConflict, want: false },
    { name: 'isInvalid', err: newInvalid({ group: '', kind: 'Pod' }, 'x', []), pred: isInvalid, want: true },
    { name: 'isGone', err: newGone('g'), pred: isGone, want: true },
    { name: 'isGone not Expired', err: newResourceExpired('e'), pred: isGone, want: false },
    { name: 'isResourceExpired', err: newResourceExpired('e'), pred: isResourceExpired, want: true },
    { name: 'isBadRequest', err: newBadRequest('b'), pred: isBadRequest, want: true },
    { name: 'isUnauthorized', err: newUnauthorized(''), pred: isUnauthorized, want: true },
    { name: 'isForbidden', err: newForbidden(pods, 'x', 'e'), pred: isForbidden, want: true },
    { name: 'isMethodNotSupported', err: newMethodNotSupported(pods, 'x'), pred: isMethodNotSupported, want: true },
    { name: 'isTimeout', err: newTimeout('t', 0), pred: isTimeout, want: true },
    { name: 'isServerTimeout', err: newServerTimeout(pods, 'get', 0), pred: isServerTimeout, want: true },
    { name: 'isInternalError', err: newInternalError('e'), pred: isInternalError, want: true },
    { name: 'isInternalError not ServerTimeout', err: newServerTimeout(pods, 'get', 0), pred: isInternalError, want: false },
    { name: 'isTooManyRequests by code', err: new StatusError({ code: 429, reason: 'Conflict' }), pred: isTooManyRequests, want: true },
    { name: 'isRequestEntityTooLarge', err: newRequestEntityTooLarge('m'), pred: isRequestEntityTooLarge, want: true },
    { name: 'isUnsupportedMediaType', err: newUnsupportedMediaType([]), pred: isUnsupportedMediaType, want: true },
    { name: 'isNotAcceptable', err: newNotAcceptable([]), pred: isNotAcceptable, want: true },
    { name: 'isServiceUnavailable', err: newServiceUnavailable('x'), pred: isServiceUnavailable, want: true },
  ];
  for (const tc of cases) assert.equal(tc.pred(tc.err), tc.want, tc.name);
  assert.equal(reasonForError(new Error('x')), '');
  assert.equal(reasonForError(newNotFound(pods, 'x')), 'NotFound');
});

test('suggestsClientDelay, causes and fromStatusObject', () => {
  assert.equal(suggestsClientDelay(newServerTimeout(pods, 'get', 0)), 0);
  assert.equal(suggestsClientDelay(newTooManyRequests('m', 2)), 2);
  assert.equal(suggestsClientDelay(newNotFound(pods, 'x')), undefined);
  assert.ok(hasStatusCause(newInvalid({ group: '', kind: 'Pod' }, 'x', [fieldRequired(newPath('a'))]), 'FieldValueRequired'));
  const round = fromStatusObject(JSON.parse(JSON.stringify(newNotFound(pods, 'x'))));
  assert.ok(round && isNotFound(round));
  assert.equal(round.message, 'pods "x" not found');
  assert.equal(fromStatusObject({ kind: 'Pod', apiVersion: 'v1' }), undefined);
});

test('FieldPath formatting as upstream', () => {
  const cases: { path: FieldPath; want: string }[] = [
    { path: newPath('spec'), want: 'spec' },
    { path: newPath('spec').child('template', 'metadata').index(0).key('x'), want: 'spec.template.metadata[0][x]' },
    { path: newPath('root', 'first', 'second'), want: 'root.first.second' },
    { path: newPath('root').key('k').child('c'), want: 'root[k].c' },
    { path: newPath('root').index(1).index(2), want: 'root[1][2]' },
    { path: childPath(undefined, 'key'), want: 'key' },
  ];
  for (const tc of cases) assert.equal(tc.path.toString(), tc.want);
  assert.equal(newPath('a').child('b').root().toString(), 'a');
});

test('field error bodies as upstream v1.32 renders them', () => {
  const p = newPath('f');
  const cases: { name: string; err: FieldError; want: string; type: string }[] = [
    { name: 'Required', err: fieldRequired(p), want: 'f: Required value', type: 'FieldValueRequired' },
    { name: 'Required detail', err: fieldRequired(p, 'name or generateName is required'), want: 'f: Required value: name or generateName is required', type: 'FieldValueRequired' },
    { name: 'Invalid string', err: fieldInvalid(p, 'abc', 'bad'), want: 'f: Invalid value: "abc": bad', type: 'FieldValueInvalid' },
    { name: 'Invalid int', err: fieldInvalid(p, 5, 'bad'), want: 'f: Invalid value: 5: bad', type: 'FieldValueInvalid' },
    { name: 'Invalid bool', err: fieldInvalid(p, true, ''), want: 'f: Invalid value: true', type: 'FieldValueInvalid' },
    { name: 'Invalid null', err: fieldInvalid(p, null, 'x'), want: 'f: Invalid value: null: x', type: 'FieldValueInvalid' },
    { name: 'Invalid map', err: fieldInvalid(p, { b: '2', a: '1' }, 'x'), want: 'f: Invalid value: map[string]string{"a":"1", "b":"2"}: x', type: 'FieldValueInvalid' },
    { name: 'Invalid []string', err: fieldInvalid(p, ['a', 'b'], 'x'), want: 'f: Invalid value: []string{"a", "b"}: x', type: 'FieldValueInvalid' },
    { name: 'Invalid typed', err: fieldInvalid(p, goTyped('[]int32', [80, 443]), 'x'), want: 'f: Invalid value: []int32{80, 443}: x', type: 'FieldValueInvalid' },
    { name: 'TypeInvalid', err: fieldTypeInvalid(p, 'x', 'must be int'), want: 'f: Invalid value: "x": must be int', type: 'FieldValueTypeInvalid' },
    { name: 'NotSupported', err: fieldNotSupported(p, 'x', ['a', 'b']), want: 'f: Unsupported value: "x": supported values: "a", "b"', type: 'FieldValueNotSupported' },
    { name: 'Duplicate', err: fieldDuplicate(p, 'x'), want: 'f: Duplicate value: "x"', type: 'FieldValueDuplicate' },
    { name: 'Forbidden', err: fieldForbidden(p, 'not allowed on this type'), want: 'f: Forbidden: not allowed on this type', type: 'FieldValueForbidden' },
    { name: 'TooLong', err: fieldTooLong(p, 'x', 262144), want: 'f: Too long: may not be more than 262144 bytes', type: 'FieldValueTooLong' },
    { name: 'TooLong unknown', err: fieldTooLong(p, 'x', -1), want: 'f: Too long: value is too long', type: 'FieldValueTooLong' },
    { name: 'TooMany', err: fieldTooMany(p, 5, 3), want: 'f: Too many: 5: must have at most 3 items', type: 'FieldValueTooMany' },
    { name: 'TooMany omitted', err: fieldTooMany(p, -1, 3), want: 'f: Too many: must have at most 3 items', type: 'FieldValueTooMany' },
    { name: 'Internal', err: fieldInternalError(p, new Error('boom')), want: 'f: Internal error: boom', type: 'InternalError' },
  ];
  for (const tc of cases) {
    assert.equal(tc.err.message, tc.want, tc.name);
    assert.equal(String(tc.err), tc.want, tc.name);
    assert.equal(tc.err.type, tc.type, tc.name);
    assert.equal(tc.err.field, 'f');
  }
  assert.equal(fieldInvalid(undefined, 'a').field, '<nil>');
});

test('goQuote matches strconv.Quote', () => {
  const cases: [string, string][] = [
    ['abc', '"abc"'],
    ['a"b', '"a\\"b"'],
    ['a\\b', '"a\\\\b"'],
    ['\n\t\x00\x7f', '"\\n\\t\\x00\\x7f"'],
    ['héllo ☺', '"héllo ☺"'],
    ['\u00a0', '"\\u00a0"'],
  ];
  for (const [in_, want] of cases) assert.equal(goQuote(in_), want);
  assert.equal(renderBadValue({ toString: () => '1Gi' }), '1Gi');
  assert.equal(renderBadValue({ a: 1 }), 'map[string]interface {}{"a":1}');
});

test('successStatus and errorToAPIStatus', () => {
  assert.equal(
    JSON.stringify(successStatus({ name: 'x', kind: 'pods', uid: 'u' })),
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"x","kind":"pods","uid":"u"}}',
  );
  assert.deepEqual(errorToAPIStatus(new Error('boom')), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'boom', code: 500 });
  assert.equal(errorToAPIStatus(newNotFound(pods, 'x')).code, 404);
  assert.equal(errorToAPIStatus(new StatusError({ message: 'm' })).code, 500);
});
