import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../../apimachinery/meta.js';
import { pods, podQOSClass, bindPod, validatePodBinding } from './pods.js';
import { imageTag } from './defaults.js';
import { create, createMessage, invalidMessage, newPod } from './testing.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const ago = (ms: number): string => new Date(NOW - ms).toISOString().replace(/\.\d+Z$/, 'Z');
const MIN = 60_000;

const defaultTolerations = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

test('pod defaults: what `kubectl run nginx --image nginx` shows on a real cluster', () => {
  const got = create(pods, newPod());
  assert.deepEqual(got, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'nginx', namespace: 'default' },
    spec: {
      containers: [{
        name: 'nginx', image: 'nginx', imagePullPolicy: 'Always', resources: {},
        terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File',
      }],
      dnsPolicy: 'ClusterFirst',
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      securityContext: {},
      serviceAccount: 'default',
      serviceAccountName: 'default',
      terminationGracePeriodSeconds: 30,
      tolerations: defaultTolerations,
    },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
  });
});

test('pod defaults: nested fields', () => {
  const got = create(pods, newPod({
    spec: {
      containers: [{
        name: 'app', image: 'registry.local:5000/app:v2',
        ports: [{ containerPort: 8080 }],
        livenessProbe: { httpGet: { port: 8080 } },
        readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 5 },
        env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
        resources: { limits: { cpu: '500m', memory: '128Mi' } },
      }],
      volumes: [{ name: 'cache' }, { name: 'cfg', configMap: { name: 'cfg' } }, { name: 's', secret: { secretName: 's' } }],
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 }],
    },
  }));
  const spec = got.spec as Record<string, any>;
  const c = spec.containers[0];
  assert.equal(c.imagePullPolicy, 'IfNotPresent');
  assert.deepEqual(c.ports, [{ containerPort: 8080, protocol: 'TCP' }]);
  assert.deepEqual(c.livenessProbe, {
    httpGet: { port: 8080, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3,
  });
  assert.deepEqual(c.readinessProbe, { tcpSocket: { port: 'http' }, timeoutSeconds: 1, periodSeconds: 5, successThreshold: 1, failureThreshold: 3 });
  assert.deepEqual(c.env[0].valueFrom.fieldRef, { apiVersion: 'v1', fieldPath: 'spec.nodeName' });
  assert.deepEqual(c.resources.requests, { cpu: '500m', memory: '128Mi' });
  assert.deepEqual(spec.volumes, [
    { name: 'cache', emptyDir: {} },
    { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420 } },
    { name: 's', secret: { secretName: 's', defaultMode: 420 } },
  ]);
  // A user's not-ready toleration is kept; only unreachable is added.
  assert.deepEqual(spec.tolerations, [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
    defaultTolerations[1],
  ]);
  assert.deepEqual(got.status, { phase: 'Pending', qosClass: 'Guaranteed' });
});

test('imageTag follows parsers.ParseImageName', () => {
  const cases: [string, string][] = [
    ['nginx', 'latest'], ['nginx:latest', 'latest'], ['nginx:1.25', '1.25'], ['localhost:5000/nginx', 'latest'],
    ['nginx@sha256:' + 'a'.repeat(64), ''], ['Nginx', ''], ['', ''], ['docker.io/library/busybox:1.36', '1.36'],
  ];
  for (const [image, want] of cases) assert.equal(imageTag(image), want, image);
});

test('pod QoS classes', () => {
  const withResources = (resources: object): KObject => create(pods, newPod({ spec: { containers: [{ name: 'a', image: 'a', resources }] } }));
  assert.equal(podQOSClass(withResources({})), 'BestEffort');
  assert.equal(podQOSClass(withResources({ requests: { cpu: '100m' } })), 'Burstable');
  assert.equal(podQOSClass(withResources({ limits: { cpu: '1', memory: '1Gi' } })), 'Guaranteed');
  assert.equal(podQOSClass(withResources({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } })), 'Burstable');
});

const rfc1123 = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

test('pod validation messages', () => {
  const cases: { name: string; spec: Record<string, unknown>; want: string }[] = [
    { name: 'no containers', spec: { containers: [] }, want: 'Pod "nginx" is invalid: spec.containers: Required value' },
    { name: 'no image', spec: { containers: [{ name: 'a' }] }, want: 'Pod "nginx" is invalid: spec.containers[0].image: Required value' },
    { name: 'bad container name', spec: { containers: [{ name: 'Foo', image: 'x' }] }, want: `Pod "nginx" is invalid: spec.containers[0].name: Invalid value: "Foo": ${rfc1123}` },
    { name: 'duplicate container', spec: { containers: [{ name: 'a', image: 'x' }, { name: 'a', image: 'y' }] }, want: 'Pod "nginx" is invalid: spec.containers[1].name: Duplicate value: "a"' },
    { name: 'port range', spec: { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 70000 }] }] }, want: 'Pod "nginx" is invalid: spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive' },
    { name: 'port protocol', spec: { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 80, protocol: 'HTTP' }] }] }, want: 'Pod "nginx" is invalid: spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"' },
    { name: 'restart policy', spec: { containers: [{ name: 'a', image: 'x' }], restartPolicy: 'Sometimes' }, want: 'Pod "nginx" is invalid: spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"' },
    { name: 'pull policy', spec: { containers: [{ name: 'a', image: 'x', imagePullPolicy: 'Maybe' }] }, want: 'Pod "nginx" is invalid: spec.containers[0].imagePullPolicy: Unsupported value: "Maybe": supported values: "Always", "IfNotPresent", "Never"' },
    { name: 'unknown volume mount', spec: { containers: [{ name: 'a', image: 'x', volumeMounts: [{ name: 'data', mountPath: '/d' }] }] }, want: 'Pod "nginx" is invalid: spec.containers[0].volumeMounts[0].name: Not found: "data"' },
    { name: 'requests over limits', spec: { containers: [{ name: 'a', image: 'x', resources: { limits: { cpu: '1' }, requests: { cpu: '2' } } }] }, want: 'Pod "nginx" is invalid: spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1' },
    { name: 'liveness successThreshold', spec: { containers: [{ name: 'a', image: 'x', livenessProbe: { exec: { command: ['true'] }, successThreshold: 2 } }] }, want: 'Pod "nginx" is invalid: spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1' },
    { name: 'probe without handler', spec: { containers: [{ name: 'a', image: 'x', readinessProbe: {} }] }, want: 'Pod "nginx" is invalid: spec.containers[0].readinessProbe: Required value: must specify a handler type' },
    { name: 'env name', spec: { containers: [{ name: 'a', image: 'x', env: [{ name: 'A=B', value: '1' }] }] }, want: `Pod "nginx" is invalid: spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='` },
    { name: 'toleration operator', spec: { containers: [{ name: 'a', image: 'x' }], tolerations: [{ key: 'k', operator: 'Maybe' }] }, want: 'Pod "nginx" is invalid: spec.tolerations[0].operator: Unsupported value: "Maybe": supported values: "Equal", "Exists"' },
    { name: 'activeDeadlineSeconds', spec: { containers: [{ name: 'a', image: 'x' }], activeDeadlineSeconds: 0 }, want: 'Pod "nginx" is invalid: spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive' },
    { name: 'volume without name', spec: { containers: [{ name: 'a', image: 'x' }], volumes: [{ emptyDir: {} }] }, want: 'Pod "nginx" is invalid: spec.volumes[0].name: Required value' },
    { name: 'valid', spec: { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 80, name: 'http' }] }] }, want: '' },
  ];
  for (const tc of cases) assert.equal(createMessage(pods, newPod({ spec: tc.spec })), tc.want, tc.name);
});

test('pod updates: only images, activeDeadlineSeconds and added tolerations may change', () => {
  const old = create(pods, newPod());
  const update = (mutate: (spec: Record<string, any>) => void): string => {
    const next = structuredClone(old);
    mutate(next.spec as Record<string, any>);
    pods.strategy.default!(next);
    pods.strategy.prepareForUpdate!(next, old);
    return invalidMessage(pods, next, pods.strategy.validateUpdate(next, old));
  };
  assert.equal(update((s) => { s.containers[0].image = 'nginx:1.27'; }), '');
  assert.equal(update((s) => { s.activeDeadlineSeconds = 60; }), '');
  assert.equal(update((s) => { s.tolerations.push({ key: 'x', operator: 'Exists' }); }), '');
  const msg = update((s) => { s.nodeName = 'node-b'; });
  assert.ok(msg.startsWith('Pod "nginx" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n  core.PodSpec{'), msg);
  assert.ok(msg.includes("- \tNodeName: \"\",\n+ \tNodeName: \"node-b\","), msg);
  assert.equal(update((s) => { s.containers.push({ name: 'b', image: 'b' }); }), 'Pod "nginx" is invalid: spec.containers: Forbidden: pod updates may not add or remove containers');
  // A user toleration cannot be changed (the admission defaults are re-added by default(), see defaults.admitPod).
  const withToleration = create(pods, newPod({ spec: { containers: [{ name: 'nginx', image: 'nginx' }], tolerations: [{ key: 'x', operator: 'Exists' }] } }));
  const changed = structuredClone(withToleration);
  (changed.spec as any).tolerations[0].key = 'y';
  pods.strategy.prepareForUpdate!(changed, withToleration);
  assert.equal(invalidMessage(pods, changed, pods.strategy.validateUpdate(changed, withToleration)),
    'Pod "nginx" is invalid: spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds');
});

test('pod update keeps status; status update keeps spec', () => {
  const old = create(pods, newPod());
  old.status = { phase: 'Running', qosClass: 'BestEffort', podIP: '10.0.0.5' };
  const next = create(pods, newPod());
  pods.strategy.prepareForUpdate!(next, old);
  assert.deepEqual(next.status, old.status);
  const st = structuredClone(old);
  st.spec = { containers: [] };
  st.status = { phase: 'Running', podIP: '10.0.0.6' };
  pods.status!.prepareForUpdate(st, old);
  assert.deepEqual(st.spec, old.spec);
  assert.deepEqual(st.status, { phase: 'Running', podIP: '10.0.0.6', podIPs: [{ ip: '10.0.0.6' }], qosClass: 'BestEffort' });
  assert.deepEqual(pods.status!.validateUpdate(st, old), []);
});

test('pod binding', () => {
  const pod = create(pods, newPod());
  assert.deepEqual(validatePodBinding({ target: { kind: 'Node', name: 'n1' } }), []);
  assert.equal(validatePodBinding({ target: { kind: 'Pod' } }).map(String).join('; '),
    'target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"; target.name: Required value');
  assert.equal(bindPod(pod, { target: { name: 'n1' } }, '2024-01-01T00:00:00Z'), undefined);
  assert.equal((pod.spec as any).nodeName, 'n1');
  assert.deepEqual((pod.status as any).conditions, [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: '2024-01-01T00:00:00Z' }]);
  assert.equal(bindPod(pod, { target: { name: 'n2' } }, ''), 'pod nginx is already assigned to node "n1"');
});

const containerStatus = (state: object, extra: object = {}): object => ({ name: 'c', ready: false, restartCount: 0, state, ...extra });

test('pod table rows', () => {
  const base = (spec: object, status: object, meta: object = {}): KObject => ({
    metadata: { name: 'p', creationTimestamp: ago(5 * MIN), ...meta }, spec, status,
  });
  const one = { containers: [{ name: 'c', image: 'x' }] };
  const withInit = { initContainers: [{ name: 'i', image: 'x' }], containers: [{ name: 'c', image: 'x' }] };
  const cases: { name: string; pod: KObject; want: unknown[] }[] = [
    { name: 'pending, unscheduled', pod: base(one, { phase: 'Pending' }), want: ['p', '0/1', 'Pending', '0', '5m', '<none>', '<none>', '<none>', '<none>'] },
    { name: 'container creating', pod: base({ ...one, nodeName: 'n1' }, { phase: 'Pending', containerStatuses: [containerStatus({ waiting: { reason: 'ContainerCreating' } })] }), want: ['p', '0/1', 'ContainerCreating', '0', '5m', '<none>', 'n1', '<none>', '<none>'] },
    { name: 'running', pod: base({ ...one, nodeName: 'n1' }, { phase: 'Running', podIP: '10.244.0.5', podIPs: [{ ip: '10.244.0.5' }], containerStatuses: [containerStatus({ running: {} }, { ready: true })] }), want: ['p', '1/1', 'Running', '0', '5m', '10.244.0.5', 'n1', '<none>', '<none>'] },
    { name: 'crash loop with restarts', pod: base(one, { phase: 'Running', containerStatuses: [containerStatus({ waiting: { reason: 'CrashLoopBackOff' } }, { restartCount: 5, lastState: { terminated: { exitCode: 1, finishedAt: ago(2 * MIN) } } })] }), want: ['p', '0/1', 'CrashLoopBackOff', '5 (2m ago)', '5m'] },
    { name: 'completed', pod: base(one, { phase: 'Succeeded', containerStatuses: [containerStatus({ terminated: { exitCode: 0, reason: 'Completed' } })] }), want: ['p', '0/1', 'Completed', '0', '5m'] },
    { name: 'exit code', pod: base(one, { phase: 'Failed', containerStatuses: [containerStatus({ terminated: { exitCode: 2 } })] }), want: ['p', '0/1', 'ExitCode:2', '0', '5m'] },
    { name: 'terminating', pod: base(one, { phase: 'Running', containerStatuses: [containerStatus({ running: {} }, { ready: true })] }, { deletionTimestamp: ago(0) }), want: ['p', '1/1', 'Terminating', '0', '5m'] },
    { name: 'node lost', pod: base(one, { phase: 'Running', reason: 'NodeLost' }, { deletionTimestamp: ago(0) }), want: ['p', '0/1', 'Unknown', '0', '5m'] },
    { name: 'init waiting', pod: base(withInit, { phase: 'Pending', initContainerStatuses: [containerStatus({ waiting: { reason: 'PodInitializing' } })] }), want: ['p', '0/1', 'Init:0/1', '0', '5m'] },
    { name: 'init crash', pod: base(withInit, { phase: 'Pending', initContainerStatuses: [containerStatus({ waiting: { reason: 'CrashLoopBackOff' } })] }), want: ['p', '0/1', 'Init:CrashLoopBackOff', '0', '5m'] },
    { name: 'init failed', pod: base(withInit, { phase: 'Pending', initContainerStatuses: [containerStatus({ terminated: { exitCode: 1, reason: 'Error' } })] }), want: ['p', '0/1', 'Init:Error', '0', '5m'] },
    { name: 'scheduling gated', pod: base(one, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }), want: ['p', '0/1', 'SchedulingGated', '0', '5m'] },
    { name: 'image pull', pod: base(one, { phase: 'Pending', containerStatuses: [containerStatus({ waiting: { reason: 'ErrImagePull' } })] }), want: ['p', '0/1', 'ErrImagePull', '0', '5m'] },
  ];
  for (const tc of cases) {
    const row = pods.table.row(tc.pod, NOW);
    assert.deepEqual(row.slice(0, tc.want.length), tc.want, tc.name);
    assert.equal(row.length, pods.table.columns.length, tc.name);
  }
  assert.deepEqual(pods.table.conditions!(base(one, { phase: 'Succeeded' })), [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
});

test('pod table columns', () => {
  assert.deepEqual(pods.table.columns.map((c) => [c.name, c.type, c.priority, c.format ?? '']), [
    ['Name', 'string', 0, 'name'], ['Ready', 'string', 0, ''], ['Status', 'string', 0, ''], ['Restarts', 'string', 0, ''], ['Age', 'string', 0, ''],
    ['IP', 'string', 1, ''], ['Node', 'string', 1, ''], ['Nominated Node', 'string', 1, ''], ['Readiness Gates', 'string', 1, ''],
  ]);
});

test('pod selectable fields', () => {
  const pod = create(pods, newPod());
  (pod.spec as any).nodeName = 'n1';
  pod.status = { phase: 'Running', podIPs: [{ ip: '10.0.0.1' }] };
  assert.deepEqual(pods.selectableFields(pod), {
    'metadata.name': 'nginx', 'metadata.namespace': 'default', 'spec.nodeName': 'n1', 'spec.restartPolicy': 'Always',
    'spec.schedulerName': 'default-scheduler', 'spec.serviceAccountName': 'default', 'spec.hostNetwork': 'false',
    'status.phase': 'Running', 'status.podIP': '10.0.0.1', 'status.nominatedNodeName': '',
  });
});

test('pod warnings', () => {
  assert.deepEqual(pods.strategy.warnings!(newPod({ name: 'a.b' })), [
    "metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]",
  ]);
});

test('resource quantities come back canonical, rounded up to milli', () => {
  const pod = create(pods, newPod({ spec: { containers: [{ name: 'a', image: 'a', resources: { limits: { cpu: '0.5', memory: '1024Mi' }, requests: { cpu: 0.0001, memory: '1Gi' } } }] } }));
  assert.deepEqual((pod.spec as any).containers[0].resources, { limits: { cpu: '500m', memory: '1Gi' }, requests: { cpu: '1m', memory: '1Gi' } });
});

test('pod status update rules', () => {
  const old = create(pods, newPod({ spec: { containers: [{ name: 'c', image: 'x' }], restartPolicy: 'Never' } }));
  old.status = { phase: 'Succeeded', qosClass: 'BestEffort', containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 0 } } }] };
  const next = structuredClone(old);
  next.status = { phase: 'Running', qosClass: 'Burstable', containerStatuses: [{ name: 'c', state: { running: {} } }] };
  pods.status!.prepareForUpdate(next, old);
  assert.equal(invalidMessage(pods, next, pods.status!.validateUpdate(next, old)),
    'Pod "nginx" is invalid: [status.qosClass: Invalid value: "Burstable": field is immutable, status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state]');
});

test('service account token volume (ServiceAccount admission helper)', async () => {
  const { mountServiceAccountToken } = await import('./pods.js');
  const pod = create(pods, newPod());
  let i = 0;
  mountServiceAccountToken(pod, true, () => i++ % 27);
  const spec = pod.spec as any;
  assert.deepEqual(spec.containers[0].volumeMounts, [{ name: 'kube-api-access-bcdfg', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]);
  assert.deepEqual(spec.volumes, [{
    name: 'kube-api-access-bcdfg',
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  }]);
  mountServiceAccountToken(pod, true);
  assert.equal(spec.volumes.length, 1);
  const opted = create(pods, newPod({ spec: { automountServiceAccountToken: false, containers: [{ name: 'a', image: 'a' }] } }));
  mountServiceAccountToken(opted);
  assert.equal((opted.spec as any).volumes, undefined);
});
