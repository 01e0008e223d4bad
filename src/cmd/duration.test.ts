import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from './duration.js';

test('Go durations as Kubernetes flags take them', () => {
  const cases: [string, number][] = [['5s', 5000], ['1m0s', 60_000], ['40s', 40_000], ['5m', 300_000], ['1.5h', 5_400_000], ['300ms', 300], ['0', 0], ['1h2m3s', 3_723_000]];
  for (const [s, ms] of cases) assert.equal(parseDuration('x', s), ms, s);
  for (const s of ['', '5', 's', '5x', '1m 2s']) {
    assert.throws(() => parseDuration('node-monitor-period', s), /invalid argument .* for "--node-monitor-period" flag: time: invalid duration/, s);
  }
});
