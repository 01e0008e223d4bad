import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanSize } from './images.js';

test('images ls: sizes as crictl prints them (3 significant digits, decimal units)', () => {
  const cases: Array<[number, string]> = [
    [0, '0B'],
    [999, '999B'],
    [1000, '1kB'],
    [742_000, '742kB'],
    [1_056_302, '1.06MB'],
    [72_800_000, '72.8MB'],
    [1_500_000_000, '1.5GB'],
  ];
  for (const [bytes, want] of cases) assert.equal(humanSize(bytes), want, String(bytes));
});
