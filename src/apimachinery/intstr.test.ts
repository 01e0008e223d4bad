import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  getScaledValueFromIntOrPercent, getValueFromIntOrPercent, parseIntOrString, intValue, intOrStringToString, atoi,
  isIntOrString, fromInt, fromString, type IntOrString,
} from './intstr.js';

test('getScaledValueFromIntOrPercent (upstream TestGetScaledValueFromIntOrPercent)', () => {
  const cases: { input: IntOrString | undefined; total: number; roundUp: boolean; want?: number; err?: string }[] = [
    { input: 123, total: 0, roundUp: false, want: 123 },
    { input: '90%', total: 100, roundUp: true, want: 90 },
    { input: '90%', total: 95, roundUp: true, want: 86 },
    { input: '90%', total: 95, roundUp: false, want: 85 },
    { input: '%', total: 0, roundUp: false, err: 'invalid value for IntOrString: invalid value "%": strconv.Atoi: parsing "": invalid syntax' },
    { input: '#%', total: 0, roundUp: false, err: 'invalid value for IntOrString: invalid value "#%": strconv.Atoi: parsing "#": invalid syntax' },
    { input: '90', total: 100, roundUp: true, err: 'invalid value for IntOrString: invalid type: string is not a percentage' },
    { input: undefined, total: 0, roundUp: false, err: 'nil value for IntOrString' },
    { input: '25%', total: 3, roundUp: true, want: 1 },
    { input: '25%', total: 3, roundUp: false, want: 0 },
    { input: '0%', total: 10, roundUp: true, want: 0 },
    { input: '100%', total: 7, roundUp: false, want: 7 },
  ];
  for (const tc of cases) {
    if (tc.err !== undefined) assert.throws(() => getScaledValueFromIntOrPercent(tc.input, tc.total, tc.roundUp), { message: tc.err }, String(tc.input));
    else assert.equal(getScaledValueFromIntOrPercent(tc.input, tc.total, tc.roundUp), tc.want, String(tc.input));
  }
});

test('getValueFromIntOrPercent treats any string as a percentage', () => {
  assert.equal(getValueFromIntOrPercent('90', 100, true), 90);
  assert.equal(getValueFromIntOrPercent('50%', 3, true), 2);
  assert.equal(getValueFromIntOrPercent(4, 3, true), 4);
  assert.throws(() => getValueFromIntOrPercent('x%', 3, true), { message: 'invalid value for IntOrString: invalid value "x%": strconv.Atoi: parsing "x": invalid syntax' });
});

test('parse, intValue, toString', () => {
  assert.equal(parseIntOrString('12'), 12);
  assert.equal(parseIntOrString('http'), 'http');
  assert.equal(intValue('8080'), 8080);
  assert.equal(intValue('http'), 0);
  assert.equal(intValue(3), 3);
  assert.equal(intOrStringToString(3), '3');
  assert.equal(intOrStringToString('25%'), '25%');
  assert.equal(fromInt(3.7), 3);
  assert.equal(fromString('a'), 'a');
  assert.throws(() => atoi('99999999999999999999'), { message: 'strconv.Atoi: parsing "99999999999999999999": value out of range' });
  assert.ok(isIntOrString(1) && isIntOrString('a') && !isIntOrString(1.5) && !isIntOrString(null));
});
