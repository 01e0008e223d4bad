import assert from 'node:assert/strict';
import { test } from 'node:test';
import { command, nodeStatusUpdateFrequencyFlag, nodeStatusUpdateFrequencyMs } from './kubelet.js';

test("--node-status-update-frequency is a positive Go duration, upstream's 10s by default", () => {
  assert.equal(nodeStatusUpdateFrequencyMs(nodeStatusUpdateFrequencyFlag.default), 10_000);
  const cases: [string, number][] = [['4s', 4000], ['1m0s', 60_000], ['500ms', 500]];
  for (const [s, ms] of cases) assert.equal(nodeStatusUpdateFrequencyMs(s), ms, s);
  assert.throws(() => nodeStatusUpdateFrequencyMs('10'), { message: 'invalid argument "10" for "--node-status-update-frequency" flag: time: missing unit in duration "10"' });
  assert.throws(() => nodeStatusUpdateFrequencyMs('0'), { message: 'invalid configuration: nodeStatusUpdateFrequency (--node-status-update-frequency) 0s must be greater than 0' });
  assert.throws(() => nodeStatusUpdateFrequencyMs('-5s'), { message: 'invalid configuration: nodeStatusUpdateFrequency (--node-status-update-frequency) -5s must be greater than 0' });
});

test('flotilla kubelet refuses a bad --node-status-update-frequency before it needs a kubeconfig', async () => {
  await assert.rejects(command.run(['--node-status-update-frequency=0s']), { message: 'invalid configuration: nodeStatusUpdateFrequency (--node-status-update-frequency) 0s must be greater than 0' });
});
