import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonSet, Node, Pod, PodSpec, Taint, Toleration } from '../../client/objects.js';
import {
  addOrUpdateDaemonPodTolerations, createPodTemplate, getTargetNodeName, isPodUpdated, nodeShouldRunDaemonPod,
  replaceDaemonSetPodNodeNameNodeAffinity, toleratesTaint, updateCounts,
} from './util.js';

function newNode(name: string, labels: Record<string, string> = {}, taints: Taint[] = []): Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: { taints } };
}

function newDaemonSet(spec: Partial<NonNullable<NonNullable<DaemonSet['spec']>['template']['spec']>> = {}): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'proxy', namespace: 'kube-system', uid: 'uid-proxy' },
    spec: {
      selector: { matchLabels: { app: 'proxy' } },
      template: { metadata: { labels: { app: 'proxy' } }, spec: { containers: [{ name: 'c', image: 'kube-proxy' }], ...spec } },
    },
  };
}

for (const tc of [
  { name: 'Exists with no key tolerates everything', t: { operator: 'Exists' }, taint: { key: 'a', value: 'b', effect: 'NoSchedule' }, want: true },
  { name: 'Equal needs the same value', t: { key: 'a', operator: 'Equal', value: 'b' }, taint: { key: 'a', value: 'c', effect: 'NoSchedule' }, want: false },
  { name: 'empty operator means Equal', t: { key: 'a', value: 'b' }, taint: { key: 'a', value: 'b', effect: 'NoExecute' }, want: true },
  { name: 'effect must match when set', t: { key: 'a', operator: 'Exists', effect: 'NoSchedule' }, taint: { key: 'a', effect: 'NoExecute' }, want: false },
  { name: 'key must match when set', t: { key: 'x', operator: 'Exists' }, taint: { key: 'a', effect: 'NoSchedule' }, want: false },
] satisfies { name: string; t: Toleration; taint: Taint; want: boolean }[]) {
  test(`toleratesTaint: ${tc.name}`, () => {
    assert.equal(toleratesTaint(tc.t, tc.taint), tc.want);
  });
}

test('addOrUpdateDaemonPodTolerations adds the daemon tolerations once, network-unavailable only for hostNetwork', () => {
  const spec: PodSpec = { containers: [], tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }] };
  addOrUpdateDaemonPodTolerations(spec);
  addOrUpdateDaemonPodTolerations(spec);
  assert.deepEqual(spec.tolerations, [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ]);
  const host: PodSpec = { containers: [], hostNetwork: true };
  addOrUpdateDaemonPodTolerations(host);
  assert.ok(host.tolerations!.some((t: Toleration) => t.key === 'node.kubernetes.io/network-unavailable'));
});

const placementCases: { name: string; node: Node; ds: DaemonSet; want: [boolean, boolean] }[] = [
  { name: 'plain node', node: newNode('n1'), ds: newDaemonSet(), want: [true, true] },
  {
    name: 'untolerated NoSchedule taint: no new pod, existing one stays',
    node: newNode('n1', {}, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]),
    ds: newDaemonSet(),
    want: [false, true],
  },
  {
    name: 'untolerated NoExecute taint: none at all',
    node: newNode('n1', {}, [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }]),
    ds: newDaemonSet(),
    want: [false, false],
  },
  {
    name: 'tolerated taint',
    node: newNode('n1', {}, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]),
    ds: newDaemonSet({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }] }),
    want: [true, true],
  },
  {
    name: 'the automatic tolerations cover not-ready, unreachable and unschedulable',
    node: newNode('n1', {}, [
      { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' },
    ]),
    ds: newDaemonSet(),
    want: [true, true],
  },
  {
    name: 'network-unavailable is tolerated only with hostNetwork',
    node: newNode('n1', {}, [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }]),
    ds: newDaemonSet(),
    want: [false, true],
  },
  {
    name: 'hostNetwork tolerates network-unavailable',
    node: newNode('n1', {}, [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }]),
    ds: newDaemonSet({ hostNetwork: true }),
    want: [true, true],
  },
  { name: 'nodeSelector mismatch', node: newNode('n1', { disk: 'hdd' }), ds: newDaemonSet({ nodeSelector: { disk: 'ssd' } }), want: [false, false] },
  { name: 'nodeSelector match', node: newNode('n1', { disk: 'ssd' }), ds: newDaemonSet({ nodeSelector: { disk: 'ssd' } }), want: [true, true] },
  {
    name: 'required node affinity by expression',
    node: newNode('n1', { zone: 'b', cores: '8' }),
    ds: newDaemonSet({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
              { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }, { key: 'cores', operator: 'Gt', values: ['4'] }] },
            ],
          },
        },
      },
    }),
    want: [true, true],
  },
  {
    name: 'required node affinity by field metadata.name',
    node: newNode('n2'),
    ds: newDaemonSet({
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }] } } },
    }),
    want: [false, false],
  },
  { name: 'template nodeName elsewhere', node: newNode('n1'), ds: newDaemonSet({ nodeName: 'n2' }), want: [false, false] },
];

for (const tc of placementCases) {
  test(`nodeShouldRunDaemonPod: ${tc.name}`, () => {
    const got = nodeShouldRunDaemonPod(tc.node, tc.ds);
    assert.deepEqual([got.shouldRun, got.shouldContinueRunning], tc.want);
  });
}

test('replaceDaemonSetPodNodeNameNodeAffinity pins the pod and keeps other affinity', () => {
  const affinity = replaceDaemonSetPodNodeNameNodeAffinity({
    podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname' }] },
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] },
      preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'x', operator: 'Exists' }] } }],
    },
  }, 'n7');
  assert.deepEqual(affinity.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, {
    nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n7'] }] }],
  });
  assert.equal(affinity.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length, 1);
  assert.ok(affinity.podAntiAffinity);
  assert.deepEqual(replaceDaemonSetPodNodeNameNodeAffinity(undefined, 'n1').nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchFields?.[0]?.values, ['n1']);
});

test('getTargetNodeName reads nodeName or the pinning affinity', () => {
  const pinned: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [], affinity: replaceDaemonSetPodNodeNameNodeAffinity(undefined, 'n3') } };
  assert.equal(getTargetNodeName(pinned), 'n3');
  assert.equal(getTargetNodeName({ ...pinned, spec: { ...pinned.spec!, nodeName: 'n4' } }), 'n4');
  assert.equal(getTargetNodeName({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [] } }), undefined);
});

test('createPodTemplate labels the template and adds tolerations without touching the input', () => {
  const ds = newDaemonSet();
  const t = createPodTemplate(ds.spec!.template, 4, 'abc');
  assert.deepEqual(t.metadata?.labels, { app: 'proxy', 'pod-template-generation': '4', 'controller-revision-hash': 'abc' });
  assert.equal(t.spec?.tolerations?.length, 6);
  assert.equal(ds.spec!.template.spec!.tolerations, undefined);
  assert.deepEqual(ds.spec!.template.metadata?.labels, { app: 'proxy' });
});

const updatedCases: { name: string; labels: Record<string, string>; hash: string; gen: number | undefined; want: boolean }[] = [
  { name: 'hash matches', labels: { 'controller-revision-hash': 'h1' }, hash: 'h1', gen: undefined, want: true },
  { name: 'hash differs', labels: { 'controller-revision-hash': 'h0' }, hash: 'h1', gen: 2, want: false },
  { name: 'old pod by template generation', labels: { 'pod-template-generation': '2' }, hash: 'h1', gen: 2, want: true },
];

for (const tc of updatedCases) {
  test(`isPodUpdated: ${tc.name}`, () => {
    assert.equal(isPodUpdated({ apiVersion: 'v1', kind: 'Pod', metadata: { labels: tc.labels } }, tc.hash, tc.gen), tc.want);
  });
}

for (const tc of [
  { name: 'defaults', ru: undefined, n: 10, want: { maxUnavailable: 1, maxSurge: 0 } },
  { name: 'percent rounds up', ru: { maxUnavailable: '25%' }, n: 10, want: { maxUnavailable: 3, maxSurge: 0 } },
  { name: 'surge', ru: { maxUnavailable: 0, maxSurge: '50%' }, n: 3, want: { maxUnavailable: 0, maxSurge: 2 } },
]) {
  test(`updateCounts: ${tc.name}`, () => {
    const ds = newDaemonSet();
    ds.spec!.updateStrategy = { type: 'RollingUpdate', ...(tc.ru ? { rollingUpdate: tc.ru } : {}) };
    assert.deepEqual(updateCounts(ds, tc.n), tc.want);
  });
}
