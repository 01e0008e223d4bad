import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration, parseSeconds } from './duration.js';

test('Go durations as Kubernetes flags take them', () => {
  const cases: [string, number][] = [['5s', 5000], ['1m0s', 60_000], ['40s', 40_000], ['5m', 300_000], ['1.5h', 5_400_000], ['300ms', 300], ['0', 0], ['1h2m3s', 3_723_000]];
  for (const [s, ms] of cases) assert.equal(parseDuration('x', s), ms, s);
  for (const s of ['', '5', 's', '5x', '1m 2s']) {
    assert.throws(() => parseDuration('node-monitor-period', s), /invalid argument .* for "--node-monitor-period" flag: time: invalid duration/, s);
  }
});

test('whole seconds as int64 flags take them', () => {
  const cases: [string, number][] = [['300', 300], ['0', 0], ['10', 10], ['+7', 7]];
  for (const [s, n] of cases) assert.equal(parseSeconds('x', s), n, s);
  for (const s of ['', '5s', '1.5', 'abc', '1e3']) {
    assert.throws(
      () => parseSeconds('default-unreachable-toleration-seconds', s),
      { message: `invalid argument ${JSON.stringify(s)} for "--default-unreachable-toleration-seconds" flag: strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax` },
      s,
    );
  }
  assert.throws(() => parseSeconds('default-not-ready-toleration-seconds', '-1'), { message: 'invalid argument "-1" for "--default-not-ready-toleration-seconds" flag: must be 0 or more seconds' });
});
