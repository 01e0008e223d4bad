import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Affinity, Pod } from '../../../client/objects.js';
import { newNode, newPod, nodeInfoOf, runFilter, runScore, testHandle } from '../../testing.js';
import { ERR_REASON_AFFINITY, ERR_REASON_ANTI_AFFINITY, ERR_REASON_EXISTING_ANTI_AFFINITY, InterPodAffinity } from './index.js';

const term = (labels: Record<string, string>, topologyKey = 'zone') => ({ labelSelector: { matchLabels: labels }, topologyKey });
const withAffinity = (name: string, labels: Record<string, string>, affinity: Affinity, ns?: string): Pod => newPod(name, { labels, namespace: ns, spec: { affinity } });

// zone a: n1 runs a "db" pod; zone b: n2 runs a "cache" pod that refuses "web" pods in its zone; n3 (zone c) is empty.
function cluster() {
  return [
    nodeInfoOf(newNode('n1', { labels: { zone: 'a' } }), [newPod('db', { labels: { app: 'db' } })]),
    nodeInfoOf(newNode('n2', { labels: { zone: 'b' } }), [
      withAffinity('cache', { app: 'cache' }, { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' })] } }),
    ]),
    nodeInfoOf(newNode('n3', { labels: { zone: 'c' } })),
  ];
}

const cases: { name: string; pod: Pod; node: string; want?: string }[] = [
  { name: 'affinity to db: zone a fits', pod: withAffinity('p', {}, { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' })] } }), node: 'n1' },
  { name: 'affinity to db: zone c does not', pod: withAffinity('p', {}, { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' })] } }), node: 'n3', want: ERR_REASON_AFFINITY },
  {
    name: 'affinity to itself: the first pod of the group may go anywhere',
    pod: withAffinity('p', { app: 'batch' }, { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'batch' })] } }), node: 'n3',
  },
  {
    name: 'affinity term in another namespace does not see default pods',
    pod: withAffinity('p', {}, { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ ...term({ app: 'db' }), namespaces: ['other'] }] } }), node: 'n1', want: ERR_REASON_AFFINITY,
  },
  { name: 'anti-affinity to db: zone a refused', pod: withAffinity('p', {}, { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' })] } }), node: 'n1', want: ERR_REASON_ANTI_AFFINITY },
  { name: 'anti-affinity to db: zone c fine', pod: withAffinity('p', {}, { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' })] } }), node: 'n3' },
  { name: "existing pod's anti-affinity refuses a web pod in zone b", pod: newPod('p', { labels: { app: 'web' } }), node: 'n2', want: ERR_REASON_EXISTING_ANTI_AFFINITY },
  { name: "existing pod's anti-affinity does not apply to other labels", pod: newPod('p', { labels: { app: 'api' } }), node: 'n2' },
];
for (const tc of cases) {
  test(`InterPodAffinity filter: ${tc.name}`, () => {
    const nodes = cluster();
    const s = runFilter(new InterPodAffinity(testHandle(nodes)), tc.pod, nodes.find((n) => n.name === tc.node)!);
    assert.equal(s?.message(), tc.want);
  });
}

test('InterPodAffinity score: preferred affinity and anti-affinity, normalised to 0–100', () => {
  const nodes = cluster();
  const pod = withAffinity('p', {}, {
    podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: term({ app: 'db' }) }] },
    podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, podAffinityTerm: term({ app: 'cache' }) }] },
  });
  assert.deepEqual(runScore(new InterPodAffinity(testHandle(nodes)), pod, nodes), { n1: 100, n2: 0, n3: 33 });
});
