import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod, TopologySpreadConstraint } from '../../../client/objects.js';
import { selectorFromSet } from '../../../apimachinery/labels.js';
import { CycleState } from '../../framework/types.js';
import { newNode, newPod, nodeInfoOf, runFilter, runScore, testHandle } from '../../testing.js';
import { ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH, PodTopologySpread } from './index.js';

const app = (n: string) => newPod(n, { labels: { app: 'web' } });
const spread = (name: string, c: Partial<TopologySpreadConstraint>): Pod =>
  newPod(name, {
    labels: { app: 'web' },
    spec: {
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, ...c }],
    },
  });

// zone a: n1 (2 web pods), n2 (0); zone b: n3 (1 web pod); n4 has no zone label.
function cluster() {
  return [
    nodeInfoOf(newNode('n1', { labels: { zone: 'a' } }), [app('w1'), app('w2')]),
    nodeInfoOf(newNode('n2', { labels: { zone: 'a' } })),
    nodeInfoOf(newNode('n3', { labels: { zone: 'b' } }), [app('w3'), newPod('other', { labels: { app: 'db' } })]),
    nodeInfoOf(newNode('n4')),
  ];
}

const cases: { name: string; pod: Pod; node: string; want?: string }[] = [
  { name: 'zone b has fewer pods: skew 1 + 1 - 1 = 1', pod: spread('p', {}), node: 'n3' },
  { name: 'zone a would reach skew 2 + 1 - 1 = 2', pod: spread('p', {}), node: 'n2', want: ERR_REASON_CONSTRAINTS_NOT_MATCH },
  { name: 'maxSkew 2 allows zone a', pod: spread('p', { maxSkew: 2 }), node: 'n2' },
  { name: 'node without the topology key', pod: spread('p', {}), node: 'n4', want: ERR_REASON_NODE_LABEL_NOT_MATCH },
  { name: 'a pod the selector does not match adds no skew', pod: spread('p', { labelSelector: { matchLabels: { app: 'db' } } }), node: 'n3' },
  { name: 'ScheduleAnyway does not filter', pod: spread('p', { whenUnsatisfiable: 'ScheduleAnyway' }), node: 'n2' },
  { name: 'minDomains above the domain count treats the minimum as 0', pod: spread('p', { minDomains: 3, maxSkew: 2 }), node: 'n3' },
];
for (const tc of cases) {
  test(`PodTopologySpread filter: ${tc.name}`, () => {
    const nodes = cluster();
    const pl = new PodTopologySpread(testHandle(nodes));
    const s = runFilter(pl, tc.pod, nodes.find((n) => n.name === tc.node)!);
    assert.equal(s?.message(), tc.want);
  });
}

test('PodTopologySpread removePod (preemption what-if) lowers the domain count', () => {
  const nodes = cluster();
  const pl = new PodTopologySpread(testHandle(nodes));
  const pod = spread('p', {});
  const state = new CycleState();
  assert.equal(runFilter(pl, pod, nodes[1]!, state)?.message(), ERR_REASON_CONSTRAINTS_NOT_MATCH);
  pl.removePod(state, pod, nodes[0]!.pods[0]!, nodes[0]!);
  assert.equal(pl.filter(state, pod, nodes[1]!).isSuccess(), true);
});

test('PodTopologySpread score: ScheduleAnyway prefers the emptier domain; unlabelled nodes get 0', () => {
  const nodes = cluster();
  const got = runScore(new PodTopologySpread(testHandle(nodes)), spread('p', { whenUnsatisfiable: 'ScheduleAnyway' }), nodes);
  assert.equal(got.n4, 0);
  assert.ok(got.n3! > got.n1!, `zone b (${got.n3}) should outrank zone a (${got.n1})`);
  assert.equal(got.n1, got.n2);
  assert.equal(got.n3, 100);
});

test('PodTopologySpread system defaults: spread the pods of the same Service/controller across hosts and zones', () => {
  const nodes = [
    nodeInfoOf(newNode('a1', { labels: { 'topology.kubernetes.io/zone': 'a' } }), [app('w1'), app('w2')]),
    nodeInfoOf(newNode('a2', { labels: { 'topology.kubernetes.io/zone': 'a' } }), [app('w3')]),
    nodeInfoOf(newNode('b1', { labels: { 'topology.kubernetes.io/zone': 'b' } })),
    nodeInfoOf(newNode('nozone')),
  ];
  const pl = new PodTopologySpread(testHandle(nodes, {}, () => selectorFromSet({ app: 'web' })));
  const got = runScore(pl, app('new'), nodes);
  assert.ok(got.b1! > got.a2! && got.a2! > got.a1!, JSON.stringify(got));
  // Unlike explicit constraints, a node without the zone label is still scored (on hostname).
  assert.ok(got.nozone! > 0, JSON.stringify(got));
  // No Service or controller selects the pod: nothing to spread.
  const none = new PodTopologySpread(testHandle(nodes, {}, () => selectorFromSet({})));
  assert.deepEqual(runScore(none, app('new'), nodes), { a1: 0, a2: 0, b1: 0, nozone: 0 });
});

test('PodTopologySpread: no constraints → skipped (filter and score)', () => {
  const nodes = cluster();
  const pl = new PodTopologySpread(testHandle(nodes));
  assert.equal(runFilter(pl, newPod('p'), nodes[0]!), undefined);
  assert.deepEqual(runScore(pl, newPod('p'), nodes), { n1: 0, n2: 0, n3: 0, n4: 0 });
});
