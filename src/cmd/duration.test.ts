import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatGoDuration, goParseDuration, parseDuration, parseGoFlagDuration, parseSeconds } from './duration.js';

test('Go durations as Kubernetes flags take them', () => {
  const cases: [string, number][] = [
    ['5s', 5000], ['1m0s', 60_000], ['40s', 40_000], ['5m', 300_000], ['1.5h', 5_400_000], ['300ms', 300], ['0', 0], ['1h2m3s', 3_723_000],
    ['-0', 0], ['+0', 0], ['-1.5s', -1500], ['+5s', 5000], ['.5s', 500], ['5.s', 5000], ['1500us', 1.5], ['1500µs', 1.5], ['1500μs', 1.5], ['2000000ns', 2],
    ['1s1s', 2000], ['0s', 0], ['2562047h', 2562047 * 3_600_000],
  ];
  for (const [s, ms] of cases) assert.equal(parseDuration('x', s), ms, s);
});

test("a bad duration is refused with time.ParseDuration's reason, as pflag shows it", () => {
  const cases: [string, string][] = [
    ['', 'time: invalid duration ""'],
    ['5', 'time: missing unit in duration "5"'],
    ['1.5', 'time: missing unit in duration "1.5"'],
    ['s', 'time: invalid duration "s"'],
    ['-', 'time: invalid duration "-"'],
    ['.s', 'time: invalid duration ".s"'],
    ['5x', 'time: unknown unit "x" in duration "5x"'],
    ['1m 2s', 'time: unknown unit "m " in duration "1m 2s"'],
    [' 5s', 'time: invalid duration " 5s"'],
    ['5 s', 'time: unknown unit " s" in duration "5 s"'],
    ['10S', 'time: unknown unit "S" in duration "10S"'],
    ['1d', 'time: unknown unit "d" in duration "1d"'],
    ['5s\n', 'time: unknown unit "s\\x0a" in duration "5s\\x0a"'],
    ['3000000h', 'time: invalid duration "3000000h"'],
  ];
  for (const [s, reason] of cases) {
    assert.throws(() => goParseDuration(s), { message: reason }, s);
    assert.throws(() => parseDuration('node-monitor-period', s), { message: `invalid argument ${JSON.stringify(s)} for "--node-monitor-period" flag: ${reason}` }, s);
  }
});

test("Go's flag package (etcd's server) takes the same durations with its own message", () => {
  assert.equal(parseGoFlagDuration('experimental-watch-progress-notify-interval', '10m'), 600_000);
  assert.equal(parseGoFlagDuration('experimental-watch-progress-notify-interval', '0'), 0);
  for (const s of ['', '600', '10 m', '5x']) {
    assert.throws(
      () => parseGoFlagDuration('experimental-watch-progress-notify-interval', s),
      { message: `invalid value ${JSON.stringify(s)} for flag -experimental-watch-progress-notify-interval: parse error` },
      s,
    );
  }
});

test("durations print as Go's Duration.String()", () => {
  const cases: [number, string][] = [
    [0, '0s'], [5000, '5s'], [-5000, '-5s'], [60_000, '1m0s'], [3_723_500, '1h2m3.5s'], [3_600_000, '1h0m0s'], [300, '300ms'], [1.5, '1.5ms'],
    [0.0015, '1.5µs'], [0.000_1, '100ns'], [999.9, '999.9ms'], [1000.25, '1.00025s'], [90 * 3_600_000, '90h0m0s'],
  ];
  for (const [ms, s] of cases) assert.equal(formatGoDuration(ms), s, String(ms));
  for (const s of ['1h2m3.5s', '-1m0s', '250ms', '1.5µs']) assert.equal(formatGoDuration(goParseDuration(s)), s, s);
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
