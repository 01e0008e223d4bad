import assert from 'node:assert/strict';
import { test } from 'node:test';
import { command, syncPeriods } from './proxy.js';

test('--iptables-sync-period and --iptables-min-sync-period are Go durations', () => {
  assert.deepEqual(syncPeriods('30s', '1s'), { syncPeriodMs: 30_000, minSyncPeriodMs: 1000 });
  assert.deepEqual(syncPeriods('1m30s', '0'), { syncPeriodMs: 90_000, minSyncPeriodMs: 0 });
  assert.deepEqual(syncPeriods('2s', '500ms'), { syncPeriodMs: 2000, minSyncPeriodMs: 500 });
  assert.throws(() => syncPeriods('30', '1s'), { message: 'invalid argument "30" for "--iptables-sync-period" flag: time: missing unit in duration "30"' });
  assert.throws(() => syncPeriods('30s', '1 s'), { message: 'invalid argument "1 s" for "--iptables-min-sync-period" flag: time: unknown unit " s" in duration "1 s"' });
});

test("the sync periods are checked as kube-proxy's configuration validation does", () => {
  const cases: [string, string, string][] = [
    ['0', '0', 'KubeProxyConfiguration.SyncPeriod: Invalid value: 0s: must be greater than 0'],
    ['30s', '-1s', 'KubeProxyConfiguration.MinSyncPeriod: Invalid value: -1s: must be greater than or equal to 0'],
    ['1s', '5s', 'KubeProxyConfiguration.SyncPeriod: Invalid value: 5s: must be greater than or equal to KubeProxyConfiguration.MinSyncPeriod'],
    ['-5s', '2s', '[KubeProxyConfiguration.SyncPeriod: Invalid value: -5s: must be greater than 0, KubeProxyConfiguration.SyncPeriod: Invalid value: 2s: must be greater than or equal to KubeProxyConfiguration.MinSyncPeriod]'],
  ];
  for (const [sync, min, message] of cases) assert.throws(() => syncPeriods(sync, min), { message }, `${sync} ${min}`);
});

test('flotilla proxy refuses a bad period before it needs a kubeconfig', async () => {
  await assert.rejects(command.run(['--iptables-sync-period=10']), { message: 'invalid argument "10" for "--iptables-sync-period" flag: time: missing unit in duration "10"' });
});
