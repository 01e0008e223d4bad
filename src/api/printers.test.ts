import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, shortHumanDuration, translateTimestampSince, formatSelectorMap } from './printers.js';

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

test('humanDuration matches duration.HumanDuration', () => {
  const cases: [number, string][] = [
    [-2 * s, '<invalid>'],
    [-1 * s, '0s'],
    [-999, '0s'],
    [0, '0s'],
    [1 * s, '1s'],
    [59 * s, '59s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [2 * m + 1 * s, '2m1s'],
    [9 * m + 59 * s, '9m59s'],
    [10 * m, '10m'],
    [10 * m + 30 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [3 * h + 5 * m, '3h5m'],
    [7 * h + 59 * m, '7h59m'],
    [8 * h + 30 * m, '8h'],
    [47 * h, '47h'],
    [48 * h, '2d'],
    [2 * d + 5 * h, '2d5h'],
    [7 * d + 23 * h, '7d23h'],
    [8 * d, '8d'],
    [729 * d, '729d'],
    [730 * d, '2y'],
    [760 * d, '2y30d'],
    [8 * 365 * d, '8y'],
    [10 * 365 * d + 100 * d, '10y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `humanDuration(${ms})`);
});

test('shortHumanDuration matches duration.ShortHumanDuration', () => {
  const cases: [number, string][] = [
    [-2 * s, '<invalid>'], [-1 * s, '0s'], [59 * s, '59s'], [60 * s, '1m'], [59 * m, '59m'],
    [60 * m, '1h'], [23 * h, '23h'], [24 * h, '1d'], [364 * d, '364d'], [365 * d, '1y'],
  ];
  for (const [ms, want] of cases) assert.equal(shortHumanDuration(ms), want, `shortHumanDuration(${ms})`);
});

test('translateTimestampSince', () => {
  const now = Date.parse('2024-01-01T01:00:00Z');
  assert.equal(translateTimestampSince(undefined, now), '<unknown>');
  assert.equal(translateTimestampSince(null, now), '<unknown>');
  assert.equal(translateTimestampSince('2024-01-01T00:00:00Z', now), '60m');
  assert.equal(translateTimestampSince('2024-01-01T00:59:30Z', now), '30s');
});

test('formatSelectorMap', () => {
  assert.equal(formatSelectorMap(undefined), '<none>');
  assert.equal(formatSelectorMap({}), '<none>');
  assert.equal(formatSelectorMap({ b: '2', a: '1' }), 'a=1,b=2');
});
