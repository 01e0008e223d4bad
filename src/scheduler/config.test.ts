import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FakeClient } from '../client/fake.js';
import { newInformerFactory } from '../client/informer.js';
import { FakeClock } from '../util/clock.js';
import { ConfigError, decodeConfiguration, loadConfigFile } from './config.js';
import { newScheduler } from './scheduler.js';

const base = { apiVersion: 'kubescheduler.config.k8s.io/v1', kind: 'KubeSchedulerConfiguration' };

function frameworkOf(doc: Record<string, unknown>, name = 'default-scheduler') {
  const config = decodeConfiguration({ ...base, ...doc });
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  const s = newScheduler({ client, informers: newInformerFactory({ client, clock }), clock, config, recorder: () => ({ event: () => undefined }) });
  return s.profiles.get(name)!;
}

test('defaults: one default-scheduler profile with upstream\'s plugins and weights', () => {
  const fw = frameworkOf({});
  assert.deepEqual(fw.filterPlugins.map((p) => p.name), [
    'NodeUnschedulable', 'NodeName', 'TaintToleration', 'NodeAffinity', 'NodePorts', 'NodeResourcesFit', 'PodTopologySpread', 'InterPodAffinity',
  ]);
  assert.deepEqual(fw.scorePlugins.map((s) => [s.plugin.name, s.weight]), [
    ['TaintToleration', 3], ['NodeAffinity', 2], ['NodeResourcesFit', 1], ['PodTopologySpread', 2], ['InterPodAffinity', 2],
    ['NodeResourcesBalancedAllocation', 1], ['ImageLocality', 1],
  ]);
  assert.deepEqual(fw.postFilterPlugins.map((p) => p.name), ['DefaultPreemption']);
  assert.deepEqual(fw.bindPlugins.map((p) => p.name), ['DefaultBinder']);
  const cfg = decodeConfiguration(base);
  assert.equal(cfg.percentageOfNodesToScore, 0);
  assert.equal(cfg.leaderElection.leaderElect, true);
  assert.equal(cfg.leaderElection.resourceName, 'kube-scheduler');
  assert.equal(cfg.leaderElection.resourceNamespace, 'kube-system');
});

test('per extension point: "*" disables every default; enabled adds with a weight', () => {
  const fw = frameworkOf({
    profiles: [{ schedulerName: 'default-scheduler', plugins: { score: { disabled: [{ name: '*' }], enabled: [{ name: 'NodeResourcesFit', weight: 5 }] } } }],
  });
  assert.deepEqual(fw.scorePlugins.map((s) => [s.plugin.name, s.weight]), [['NodeResourcesFit', 5]]);
  assert.equal(fw.filterPlugins.length, 8);
});

test('disabling one filter plugin and the preemption PostFilter', () => {
  const fw = frameworkOf({ profiles: [{ plugins: { filter: { disabled: [{ name: 'TaintToleration' }] }, postFilter: { disabled: [{ name: 'DefaultPreemption' }] } } }] });
  assert.ok(!fw.filterPlugins.some((p) => p.name === 'TaintToleration'));
  assert.ok(fw.scorePlugins.some((s) => s.plugin.name === 'TaintToleration'));
  assert.equal(fw.postFilterPlugins.length, 0);
});

test('pluginConfig: NodeResourcesFit scoring strategy', () => {
  const fw = frameworkOf({ profiles: [{ pluginConfig: [{ name: 'NodeResourcesFit', args: { scoringStrategy: { type: 'MostAllocated' } } }] }] });
  const fit = fw.plugins.get('NodeResourcesFit') as unknown as { strategy: string };
  assert.equal(fit.strategy, 'MostAllocated');
});

const errorCases: { name: string; doc: unknown; want: string | RegExp }[] = [
  { name: 'wrong apiVersion', doc: { ...base, apiVersion: 'kubescheduler.config.k8s.io/v1beta2' }, want: 'no kind "KubeSchedulerConfiguration" is registered for version "kubescheduler.config.k8s.io/v1beta2"' },
  { name: 'unknown top-level field', doc: { ...base, percentageOfNodes: 10 }, want: 'strict decoding error: unknown field "percentageOfNodes"' },
  { name: 'percentage out of range', doc: { ...base, percentageOfNodesToScore: 120 }, want: 'percentageOfNodesToScore: Invalid value: 120: not in valid range [0-100]' },
  { name: 'duplicate scheduler names', doc: { ...base, profiles: [{ schedulerName: 'a' }, { schedulerName: 'a' }] }, want: 'profiles[1].schedulerName: Duplicate value: "a"' },
  {
    name: 'unknown plugin', doc: { ...base, profiles: [{ plugins: { filter: { enabled: [{ name: 'Nope' }] } } }] },
    want: 'profiles[0].plugins.filter.enabled[0].name: Invalid value: "Nope": plugin "Nope" does not exist',
  },
  {
    name: 'bad scoring strategy', doc: { ...base, profiles: [{ pluginConfig: [{ name: 'NodeResourcesFit', args: { scoringStrategy: { type: 'Spread' } } }] }] },
    want: 'profiles[0].pluginConfig[0].args.scoringStrategy.type: Unsupported value: "Spread": supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"',
  },
  {
    name: 'resource weight out of range',
    doc: { ...base, profiles: [{ pluginConfig: [{ name: 'NodeResourcesFit', args: { scoringStrategy: { resources: [{ name: 'cpu', weight: 0 }] } } }] }] },
    want: 'profiles[0].pluginConfig[0].args.scoringStrategy.resources[0].weight: Invalid value: 0: resource weight of cpu should be in range [1, 100]',
  },
  { name: 'backoff', doc: { ...base, podInitialBackoffSeconds: 0 }, want: 'podInitialBackoffSeconds: Invalid value: 0: must be greater than 0' },
  { name: 'several errors are listed together', doc: { ...base, podInitialBackoffSeconds: 20, percentageOfNodesToScore: -1 }, want: /^\[percentageOfNodesToScore: .*, podMaxBackoffSeconds: Invalid value: 10: must be greater than or equal to PodInitialBackoffSeconds\]$/ },
];
for (const tc of errorCases) {
  test(`config error: ${tc.name}`, () => {
    assert.throws(() => decodeConfiguration(tc.doc), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      if (typeof tc.want === 'string') assert.equal(e.message, tc.want);
      else assert.match(e.message, tc.want);
      return true;
    });
  });
}

test('loadConfigFile reads YAML', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sched-config-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, [
    'apiVersion: kubescheduler.config.k8s.io/v1',
    'kind: KubeSchedulerConfiguration',
    'percentageOfNodesToScore: 30',
    'leaderElection:',
    '  leaderElect: false',
    'profiles:',
    '- schedulerName: bin-packer',
    '  pluginConfig:',
    '  - name: NodeResourcesFit',
    '    args:',
    '      scoringStrategy:',
    '        type: MostAllocated',
    '        resources:',
    '        - {name: cpu, weight: 2}',
    '        - {name: memory, weight: 1}',
    '',
  ].join('\n'));
  const cfg = await loadConfigFile(file);
  assert.equal(cfg.percentageOfNodesToScore, 30);
  assert.equal(cfg.leaderElection.leaderElect, false);
  assert.equal(cfg.profiles[0]!.schedulerName, 'bin-packer');
  assert.deepEqual(cfg.profiles[0]!.pluginConfig.NodeResourcesFit, { scoringStrategy: { type: 'MostAllocated', resources: [{ name: 'cpu', weight: 2 }, { name: 'memory', weight: 1 }] } });
});
