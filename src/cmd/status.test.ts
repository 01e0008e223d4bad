import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assess, command, loopStatus, renderStatus, table, type StatusReport } from './status.js';
import type { Lease, Pod } from '../client/objects.js';
import { version } from './version.js';

function newReport(over: Partial<StatusReport> = {}): StatusReport {
  return {
    target: 'data dir /d (flotilla up, pid 42)',
    server: 'https://127.0.0.1:6443',
    serverVersion: 'v1.32.0-flotilla',
    readyzFailures: [],
    components: [
      { name: 'etcd', health: 'ok', status: 'Healthy', detail: 'revision 31' },
      { name: 'kube-controller-manager', health: 'ok', status: 'Running', detail: 'in flotilla up (pid 42), without leader election' },
      { name: 'kube-scheduler', health: 'ok', status: 'Leading', detail: 'Lease kube-system/kube-scheduler held by a, renewed 2s ago' },
    ],
    nodes: [{ name: 'vm', ready: true, status: 'Ready', roles: '<none>', runtime: 'simulated://0.1', pods: 3, heartbeatMs: 4000, version: 'v1.32.0-flotilla' }],
    pods: new Map([
      ['default', new Map([['Running', 3], ['Failed', 1]])],
      ['kube-system', new Map([['Pending', 2]])],
    ]),
    ...over,
  };
}

test('table aligns columns as kubectl does: three spaces after the widest cell, no trailing blanks', () => {
  assert.deepEqual(table([['NAME', 'STATUS', 'AGE'], ['a-long-name', 'Ready', ''], ['b', 'NotReady', '5s']]), [
    'NAME          STATUS     AGE',
    'a-long-name   Ready',
    'b             NotReady   5s',
  ]);
});

test('a healthy cluster: every section, and the verdict last', () => {
  const out = renderStatus(newReport());
  assert.equal(
    out,
    [
      'Cluster on data dir /d (flotilla up, pid 42)',
      `API server https://127.0.0.1:6443: ready, Kubernetes v1.32.0-flotilla (flotilla ${version})`,
      '',
      'COMPONENT                 STATUS    DETAILS',
      'etcd                      Healthy   revision 31',
      'kube-controller-manager   Running   in flotilla up (pid 42), without leader election',
      'kube-scheduler            Leading   Lease kube-system/kube-scheduler held by a, renewed 2s ago',
      '',
      'NODE   STATUS   ROLES    RUNTIME           PODS   HEARTBEAT   VERSION',
      'vm     Ready    <none>   simulated://0.1   3      4s ago      v1.32.0-flotilla',
      '',
      'NAMESPACE     PENDING   RUNNING   SUCCEEDED   FAILED   UNKNOWN',
      'default       0         3         0           1        0',
      'kube-system   2         0         0           0        0',
      '',
      'Healthy: 3/3 components ok, 1/1 nodes Ready, 3/6 pods Running.',
    ].join('\n'),
  );
});

test('what makes a cluster unhealthy, and what is only noted', () => {
  const cases: { name: string; over: Partial<StatusReport>; problems: string[]; notes?: string[] }[] = [
    { name: 'healthy', over: {}, problems: [] },
    {
      name: 'API server not ready',
      over: { readyzFailures: ['[-]etcd failed: reason withheld', '[-]poststarthook/bootstrap-controller failed: reason withheld'] },
      problems: ['API server not ready (etcd, poststarthook/bootstrap-controller)'],
    },
    { name: 'a node not Ready', over: { nodes: [{ ...newReport().nodes[0]!, ready: false, status: 'NotReady' }] }, problems: ['node vm not Ready'] },
    { name: 'no nodes', over: { nodes: [] }, problems: ['no nodes registered'] },
    {
      name: 'a stale leader Lease',
      over: { components: [{ name: 'kube-scheduler', health: 'unhealthy', status: 'Stale', detail: '' }] },
      problems: ['kube-scheduler stale'],
    },
    {
      name: 'a loop that cannot be checked is noted, not counted against health',
      over: { components: [{ name: 'kube-scheduler', health: 'unknown', status: 'Unknown', detail: '' }] },
      problems: [],
      notes: ['kube-scheduler not verifiable'],
    },
  ];
  for (const tc of cases) {
    const { problems, notes } = assess(newReport(tc.over));
    assert.deepEqual(problems, tc.problems, tc.name);
    assert.deepEqual(notes, tc.notes ?? [], tc.name);
  }
});

test('an unhealthy cluster: the failing readiness checks are listed and the verdict names the problems', () => {
  const out = renderStatus(newReport({ readyzFailures: ['[-]etcd failed: reason withheld'], nodes: [], pods: new Map() }));
  const lines = out.split('\n');
  assert.equal(lines[1], `API server https://127.0.0.1:6443: NOT ready, Kubernetes v1.32.0-flotilla (flotilla ${version})`);
  assert.equal(lines[2], '  [-]etcd failed: reason withheld');
  assert.ok(lines.includes('No nodes registered.'));
  assert.ok(lines.includes('No pods.'));
  assert.equal(lines.at(-1), 'Unhealthy: API server not ready (etcd); no nodes registered. 3/3 components ok, 0/0 nodes Ready, 0/0 pods Running.');
});

test('loopStatus: the leader Lease first, then the flotilla up process, then a mirror pod', () => {
  const now = Date.parse('2026-01-01T00:01:00Z');
  const lease = (renewTime: string): Lease => ({
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'kube-scheduler', namespace: 'kube-system' },
    spec: { holderIdentity: 'host_1234', leaseDurationSeconds: 15, renewTime },
  });
  const pod = (ready: boolean): Pod => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'kube-scheduler-vm', namespace: 'kube-system', labels: { component: 'kube-scheduler', tier: 'control-plane' } },
    spec: { containers: [] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const up = { pid: 42, argv: ['node', '/x/dist/src/cmd/flotilla.js', 'up', '--data-dir', 'd'] };
  const cases = [
    { name: 'fresh lease', lease: lease('2026-01-01T00:00:55.000000Z'), up, pods: [], want: ['ok', 'Leading', 'Lease kube-system/kube-scheduler held by host_1234, renewed 5s ago'] },
    { name: 'stale lease', lease: lease('2026-01-01T00:00:00.000000Z'), up, pods: [], want: ['unhealthy', 'Stale', 'Lease kube-system/kube-scheduler held by host_1234, renewed 60s ago (lease duration 15s)'] },
    { name: 'in flotilla up', lease: undefined, up, pods: [pod(false)], want: ['ok', 'Running', 'in flotilla up (pid 42), without leader election'] },
    { name: 'a process that is not flotilla up', lease: undefined, up: { pid: 7, argv: ['sleep', 'up'] }, pods: [], want: ['unknown', 'Unknown', 'no leader Lease kube-system/kube-scheduler, no flotilla up on a data dir, no pod labelled component=kube-scheduler'] },
    { name: 'mirror pod Ready', lease: undefined, up: undefined, pods: [pod(true)], want: ['ok', 'Running', 'pod kube-system/kube-scheduler-vm Running, Ready; no leader Lease'] },
    { name: 'mirror pod not Ready', lease: undefined, up: undefined, pods: [pod(false)], want: ['unhealthy', 'NotReady', 'pod kube-system/kube-scheduler-vm Running, not Ready; no leader Lease'] },
  ];
  for (const tc of cases) {
    const c = loopStatus('kube-scheduler', tc.lease, tc.up, tc.pods, now);
    assert.deepEqual([c.health, c.status, c.detail], tc.want, tc.name);
  }
});

test('--timeout is a Go duration, 0 or more, refused before anything is read', async () => {
  await assert.rejects(command.run(['--timeout=5', '--data-dir=/nonexistent']), { message: 'invalid argument "5" for "--timeout" flag: time: missing unit in duration "5"' });
  await assert.rejects(command.run(['--timeout=-1s', '--data-dir=/nonexistent']), { message: 'invalid argument "-1s" for "--timeout" flag: must be 0 or more' });
});
