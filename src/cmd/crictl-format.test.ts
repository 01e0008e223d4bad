import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  containerStateName,
  createdAgo,
  humanDuration,
  podStateName,
  protojson,
  repoDigest,
  repoTagPairs,
  rfc3339NanoFromNs,
  statusDataJSON,
  table,
  truncatedID,
} from './crictl-format.js';
import { defaultEndpoint, parseLogLine, socketPath } from './crictl.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
for (const [ms, want] of [
  [0, 'Less than a second'],
  [999, 'Less than a second'],
  [1 * S, '1 second'],
  [59 * S, '59 seconds'],
  [60 * S, 'About a minute'],
  [119 * S, 'About a minute'],
  [2 * M, '2 minutes'],
  [59 * M, '59 minutes'],
  [60 * M, 'About an hour'],
  [89 * M, 'About an hour'],
  [90 * M, '2 hours'],
  [47 * H, '47 hours'],
  [48 * H, '2 days'],
  [14 * 24 * H, '2 weeks'],
  [60 * 24 * H, '2 months'],
  [2 * 365 * 24 * H, '2 years'],
] as const) {
  test(`humanDuration(${ms}) = ${want} (go-units)`, () => assert.equal(humanDuration(ms), want));
}

test('createdAgo takes CRI nanoseconds', () => {
  assert.equal(createdAgo(BigInt(1_000_000) * 1_000_000n, 1_000_000 + 150_000), '2 minutes ago');
});

test('table pads like text/tabwriter(minwidth 20, padding 3); the last column is not padded', () => {
  const out = table([
    ['POD ID', 'CREATED', 'NAME'],
    ['0123456789abc', 'Less than a second ago', 'web'],
  ]);
  assert.equal(out, 'POD ID              CREATED                  NAME\n0123456789abc       Less than a second ago   web\n');
});

test('truncatedID, states, repo tags and digests as crictl', () => {
  assert.equal(truncatedID('0123456789abcdef'), '0123456789abc');
  assert.equal(truncatedID('sha256:0123456789abcdef', 'sha256:'), '0123456789abc');
  assert.equal(truncatedID('short'), 'short');
  assert.equal(podStateName('SANDBOX_READY'), 'Ready');
  assert.equal(podStateName('SANDBOX_NOTREADY'), 'NotReady');
  assert.deepEqual(['CONTAINER_CREATED', 'CONTAINER_RUNNING', 'CONTAINER_EXITED', 'CONTAINER_UNKNOWN'].map(containerStateName), ['Created', 'Running', 'Exited', 'Unknown']);
  assert.deepEqual(repoTagPairs(['docker.io/library/busybox:latest', 'localhost:5000/x:1.0'], 'n'), [['docker.io/library/busybox', 'latest'], ['localhost:5000/x', '1.0']]);
  assert.deepEqual(repoTagPairs([], 'docker.io/library/busybox'), [['docker.io/library/busybox', '<none>']]);
  assert.deepEqual(repoDigest(['docker.io/library/busybox@sha256:abc']), ['docker.io/library/busybox', 'sha256:abc']);
  assert.deepEqual(repoDigest([]), ['<none>', '<none>']);
});

test('rfc3339NanoFromNs trims the fraction as Go does', () => {
  assert.equal(rfc3339NanoFromNs(1_700_000_000_123_456_789n), '2023-11-14T22:13:20.123456789Z');
  assert.equal(rfc3339NanoFromNs(1_700_000_000_120_000_000n), '2023-11-14T22:13:20.12Z');
  assert.equal(rfc3339NanoFromNs(1_700_000_000_000_000_000n), '2023-11-14T22:13:20Z');
});

test('protojson leaves out unset messages, keeps defaults and sorts map keys', () => {
  const out = protojson({ items: [{ id: 'x', metadata: null, state: 'SANDBOX_READY', createdAt: '5', labels: { b: '2', a: '1' }, runtimeHandler: '' }] });
  assert.equal(out, '{\n  "items": [\n    {\n      "id": "x",\n      "state": "SANDBOX_READY",\n      "createdAt": "5",\n      "labels": {\n        "a": "1",\n        "b": "2"\n      },\n      "runtimeHandler": ""\n    }\n  ]\n}');
});

test('statusDataJSON: status plus info keys, sorted, one object unwrapped, HTML-escaped', () => {
  const one = statusDataJSON([{ status: { z: 1, a: '<x>' }, info: { info: '{"pid":7,"b":true}', sandboxID: '"abc"' } }]);
  assert.equal(one, '{\n  "info": {\n    "b": true,\n    "pid": 7\n  },\n  "sandboxID": "abc",\n  "status": {\n    "a": "\\u003cx\\u003e",\n    "z": 1\n  }\n}');
  const two = JSON.parse(statusDataJSON([{ status: { id: '1' } }, { status: { id: '2' } }])) as unknown[];
  assert.equal(two.length, 2);
});

test('CRI log lines, endpoints', () => {
  assert.deepEqual(parseLogLine('2024-05-01T12:00:00.123456789Z stdout F hello world'), { time: '2024-05-01T12:00:00.123456789Z', ms: Date.parse('2024-05-01T12:00:00.123Z'), stream: 'stdout', partial: false, text: 'hello world' });
  assert.equal(parseLogLine('2024-05-01T12:00:00Z stderr P part')!.partial, true);
  assert.equal(parseLogLine('2024-05-01T12:00:00Z stdout F')!.text, '');
  assert.equal(parseLogLine('garbage'), undefined);
  assert.equal(socketPath('unix:///run/x.sock'), '/run/x.sock');
  assert.equal(socketPath('/run/x.sock'), '/run/x.sock');
  assert.throws(() => socketPath('tcp://1.2.3.4:5'), /only unix/);
  assert.equal(defaultEndpoint('/d', {}), 'unix:///d/containerd/containerd.sock');
  assert.equal(defaultEndpoint('/d', { CONTAINER_RUNTIME_ENDPOINT: 'unix:///e.sock' }), 'unix:///e.sock');
});
