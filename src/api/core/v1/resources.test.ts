import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../../apimachinery/meta.js';
import { resources, configMaps, endpoints, events, namespaces, nodes, secrets, serviceAccounts } from './index.js';
import { create, createMessage, invalidMessage } from './testing.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const created = '2024-05-01T11:00:00Z';

test('discovery metadata matches upstream', () => {
  const got = Object.fromEntries(resources.map((r) => [r.resource, {
    kind: r.kind, listKind: r.listKind, singular: r.singular, shortNames: r.shortNames ?? [], categories: r.categories ?? [], namespaced: r.namespaced,
    verbs: r.verbs.join(','), status: r.status !== undefined, scale: r.scale !== undefined,
  }]));
  const all = 'create,delete,deletecollection,get,list,patch,update,watch';
  assert.deepEqual(got, {
    configmaps: { kind: 'ConfigMap', listKind: 'ConfigMapList', singular: 'configmap', shortNames: ['cm'], categories: [], namespaced: true, verbs: all, status: false, scale: false },
    endpoints: { kind: 'Endpoints', listKind: 'EndpointsList', singular: 'endpoints', shortNames: ['ep'], categories: [], namespaced: true, verbs: all, status: false, scale: false },
    events: { kind: 'Event', listKind: 'EventList', singular: 'event', shortNames: ['ev'], categories: [], namespaced: true, verbs: all, status: false, scale: false },
    namespaces: { kind: 'Namespace', listKind: 'NamespaceList', singular: 'namespace', shortNames: ['ns'], categories: [], namespaced: false, verbs: 'create,delete,get,list,patch,update,watch', status: true, scale: false },
    nodes: { kind: 'Node', listKind: 'NodeList', singular: 'node', shortNames: ['no'], categories: [], namespaced: false, verbs: all, status: true, scale: false },
    pods: { kind: 'Pod', listKind: 'PodList', singular: 'pod', shortNames: ['po'], categories: ['all'], namespaced: true, verbs: all, status: true, scale: false },
    replicationcontrollers: { kind: 'ReplicationController', listKind: 'ReplicationControllerList', singular: 'replicationcontroller', shortNames: ['rc'], categories: ['all'], namespaced: true, verbs: all, status: true, scale: true },
    secrets: { kind: 'Secret', listKind: 'SecretList', singular: 'secret', shortNames: [], categories: [], namespaced: true, verbs: all, status: false, scale: false },
    serviceaccounts: { kind: 'ServiceAccount', listKind: 'ServiceAccountList', singular: 'serviceaccount', shortNames: ['sa'], categories: [], namespaced: true, verbs: all, status: false, scale: false },
    services: { kind: 'Service', listKind: 'ServiceList', singular: 'service', shortNames: ['svc'], categories: ['all'], namespaced: true, verbs: all, status: true, scale: false },
  });
  for (const r of resources) {
    assert.equal(r.table.columns.filter((c) => c.format === 'name').length, 1, r.resource);
    assert.equal(r.openAPIDefinition, `io.k8s.api.core.v1.${r.kind}`);
  }
});

test('namespaces: defaults, finalizers, status, name rule', () => {
  const ns = create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev' } });
  assert.deepEqual(ns, {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: 'dev', labels: { 'kubernetes.io/metadata.name': 'dev' } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  });
  // An update may not touch finalizers or status; finalize may change finalizers only.
  const upd = structuredClone(ns);
  upd.spec = { finalizers: [] };
  upd.status = { phase: 'Terminating' };
  namespaces.strategy.prepareForUpdate!(upd, ns);
  assert.deepEqual(upd.spec, { finalizers: ['kubernetes'] });
  assert.deepEqual(upd.status, { phase: 'Active' });
  const fin = structuredClone(ns);
  fin.spec = { finalizers: [] };
  fin.status = { phase: 'Terminating' };
  namespaces.subresourceStrategies!.finalize!.prepareForUpdate(fin, ns);
  assert.deepEqual(fin.spec, { finalizers: [] });
  assert.deepEqual(fin.status, { phase: 'Active' });
  assert.deepEqual(namespaces.subresources, ['finalize']);
  const st = structuredClone(ns);
  st.status = { phase: 'Terminating' };
  assert.equal(invalidMessage(namespaces, st, namespaces.status!.validateUpdate(st, ns)),
    "Namespace \"dev\" is invalid: status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty");
  assert.equal(createMessage(namespaces, { metadata: { name: 'dev' }, spec: { finalizers: ['foo'] } }),
    'Namespace "dev" is invalid: spec.finalizers: Invalid value: "foo": name is neither a standard finalizer name nor is it fully qualified');
  assert.deepEqual(namespaces.validateName!('my.ns', false), ['must not contain dots']);
  assert.deepEqual(namespaces.table.row({ ...ns, metadata: { ...ns.metadata, creationTimestamp: created } }, NOW), ['dev', 'Active', '60m']);
  assert.deepEqual(namespaces.selectableFields(ns), { 'metadata.name': 'dev', 'status.phase': 'Active', name: 'dev' });
});

test('secrets: stringData merge, type default, validation, table', () => {
  const s = create(secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: { a: 'eA==' }, stringData: { b: 'hello' } });
  assert.deepEqual(s, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, type: 'Opaque', data: { a: 'eA==', b: 'aGVsbG8=' } });
  assert.equal(createMessage(secrets, { metadata: { name: 's' }, data: { 'bad key': 'eA==' } }),
    "Secret \"s\" is invalid: data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
  assert.equal(createMessage(secrets, { metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { 'tls.crt': '' } }),
    'Secret "s" is invalid: data[tls.key]: Required value');
  const big = Buffer.alloc(1024 * 1024 + 1).toString('base64');
  assert.equal(createMessage(secrets, { metadata: { name: 's' }, data: { big } }), 'Secret "s" is invalid: data: Too long: may not be more than 1048576 bytes');
  const imm = { ...s, immutable: true };
  const changed = { ...imm, data: { a: 'eQ==' } };
  assert.equal(invalidMessage(secrets, changed, secrets.strategy.validateUpdate(changed, imm)), 'Secret "s" is invalid: data: Forbidden: field is immutable when `immutable` is set');
  const retyped = { ...s, type: 'kubernetes.io/basic-auth', data: { username: 'eA==' } };
  assert.equal(invalidMessage(secrets, retyped, secrets.strategy.validateUpdate(retyped, s)), 'Secret "s" is invalid: type: Invalid value: "kubernetes.io/basic-auth": field is immutable');
  assert.deepEqual(secrets.table.row({ ...s, metadata: { name: 's', creationTimestamp: created } }, NOW), ['s', 'Opaque', 2, '60m']);
  assert.deepEqual(secrets.selectableFields(s), { 'metadata.name': 's', 'metadata.namespace': 'default', type: 'Opaque' });
  assert.equal(secrets.shortNames, undefined);
});

test('configmaps: keys, size, immutability, table', () => {
  assert.equal(createMessage(configMaps, { metadata: { name: 'c' }, data: { '..a': 'x' } }), 'ConfigMap "c" is invalid: data[..a]: Invalid value: "..a": must not start with \'..\'');
  assert.equal(createMessage(configMaps, { metadata: { name: 'c' }, data: { a: 'x' }, binaryData: { a: 'eA==' } }),
    'ConfigMap "c" is invalid: data[a]: Invalid value: "a": duplicate of key present in binaryData');
  const cm: KObject = { metadata: { name: 'c', creationTimestamp: created }, data: { a: '1', b: '2' }, binaryData: { c: 'eA==' } };
  assert.deepEqual(configMaps.table.row(cm, NOW), ['c', 3, '60m']);
  const imm = { ...cm, immutable: true };
  assert.equal(invalidMessage(configMaps, imm, configMaps.strategy.validateUpdate({ ...imm, immutable: false }, imm)),
    'ConfigMap "c" is invalid: immutable: Forbidden: field is immutable when `immutable` is set');
});

test('nodes: status kept on create, table cells', () => {
  const node = create(nodes, {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: 'n1', creationTimestamp: created, labels: { 'node-role.kubernetes.io/control-plane': '' } },
    status: {
      capacity: { cpu: '4', memory: '8Gi', pods: '110' },
      conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }],
      addresses: [{ type: 'InternalIP', address: '192.168.1.10' }, { type: 'Hostname', address: 'n1' }],
      nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0', containerRuntimeVersion: 'containerd://1.7.0' },
    },
  });
  assert.deepEqual(node.spec, {});
  assert.deepEqual((node.status as any).allocatable, { cpu: '4', memory: '8Gi', pods: '110' });
  assert.deepEqual(nodes.table.row(node, NOW), ['n1', 'Ready', 'control-plane', '60m', 'v1.32.0', '192.168.1.10', '<none>', 'Debian GNU/Linux 12 (bookworm)', '6.1.0', 'containerd://1.7.0']);
  const cordoned = { ...node, spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } };
  assert.deepEqual(nodes.table.row(cordoned, NOW).slice(0, 3), ['n1', 'NotReady,SchedulingDisabled', 'control-plane']);
  assert.deepEqual(nodes.table.row({ metadata: { name: 'n2' } }, NOW), ['n2', 'Unknown', '<none>', '<unknown>', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']);
  assert.deepEqual(nodes.selectableFields(cordoned), { 'metadata.name': 'n1', 'spec.unschedulable': 'true' });
  assert.equal(createMessage(nodes, { metadata: { name: 'n1' }, spec: { taints: [{ key: 'k', effect: 'Sometimes' }] } }),
    'Node "n1" is invalid: spec.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"');
});

test('endpoints: defaults, validation, table', () => {
  const ep = create(endpoints, { metadata: { name: 'web', creationTimestamp: created }, subsets: [{ addresses: [{ ip: '10.244.0.5' }, { ip: '10.244.1.7' }], ports: [{ port: 80 }] }] });
  assert.deepEqual((ep.subsets as any)[0].ports, [{ port: 80, protocol: 'TCP' }]);
  assert.deepEqual(endpoints.table.row(ep, NOW), ['web', '10.244.0.5:80,10.244.1.7:80', '60m']);
  const many = { metadata: { name: 'web' }, subsets: [{ addresses: [1, 2, 3, 4, 5].map((i) => ({ ip: `10.0.0.${i}` })), ports: [{ port: 80 }] }] };
  assert.equal(endpoints.table.row(many, NOW)[1], '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...');
  assert.equal(endpoints.table.row({ metadata: { name: 'x' } }, NOW)[1], '<none>');
  assert.equal(createMessage(endpoints, { metadata: { name: 'web' }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: 80 }] }] }),
    'Endpoints "web" is invalid: subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)');
  assert.equal(endpoints.strategy.allowCreateOnUpdate, true);
});

test('events: validation, table, fields', () => {
  const ev: KObject = {
    metadata: { name: 'nginx.17a', namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'nginx', uid: 'u1', apiVersion: 'v1', fieldPath: 'spec.containers{nginx}' },
    reason: 'Pulled', message: 'Successfully pulled image "nginx"\n', type: 'Normal', count: 2,
    source: { component: 'kubelet', host: 'n1' },
    firstTimestamp: '2024-05-01T11:50:00Z', lastTimestamp: '2024-05-01T11:59:00Z',
  };
  assert.deepEqual(events.strategy.validate(ev), []);
  assert.deepEqual(events.table.row(ev, NOW), ['60s', 'Normal', 'Pulled', 'pod/nginx', 'spec.containers{nginx}', 'kubelet, n1', 'Successfully pulled image "nginx"', '10m', 2, 'nginx.17a']);
  const wrongNS = { ...ev, involvedObject: { ...(ev.involvedObject as object), namespace: 'other' } };
  assert.equal(invalidMessage(events, wrongNS, events.strategy.validate(wrongNS)), 'Event "nginx.17a" is invalid: involvedObject.namespace: Invalid value: "other": does not match event.namespace');
  const newStyle: KObject = { metadata: { name: 'e', namespace: 'default' }, involvedObject: { kind: 'Node', name: 'n1' }, eventTime: '2024-05-01T11:59:59.000000Z', reason: 'Starting' };
  assert.equal(invalidMessage(events, newStyle, events.strategy.validate(newStyle)),
    'Event "e" is invalid: [reportingComponent: Required value, reportingComponent: Invalid value: "": name part must be non-empty, reportingComponent: Invalid value: "": name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character (e.g. \'MyName\',  or \'my.name\',  or \'123-abc\', regex used for validation is \'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\'), reportingInstance: Required value, action: Required value]');
  assert.deepEqual(events.table.row(newStyle, NOW).slice(0, 4), ['1s', '', 'Starting', 'node/n1']);
  assert.deepEqual(events.table.row(newStyle, NOW)[8], 1);
  assert.deepEqual(events.selectableFields(ev), {
    'metadata.name': 'nginx.17a', 'metadata.namespace': 'default', 'involvedObject.kind': 'Pod', 'involvedObject.namespace': 'default',
    'involvedObject.name': 'nginx', 'involvedObject.uid': 'u1', 'involvedObject.apiVersion': 'v1', 'involvedObject.resourceVersion': '',
    'involvedObject.fieldPath': 'spec.containers{nginx}', reason: 'Pulled', reportingComponent: '', source: 'kubelet', type: 'Normal',
  });
  assert.deepEqual(events.table.columns.map((c) => `${c.name}/${c.priority}`), [
    'Last Seen/0', 'Type/0', 'Reason/0', 'Object/0', 'Subobject/1', 'Source/1', 'Message/0', 'First Seen/1', 'Count/1', 'Name/1',
  ]);
});

test('service accounts: table', () => {
  const sa: KObject = { metadata: { name: 'default', creationTimestamp: created }, secrets: [{ name: 'x' }] };
  assert.deepEqual(serviceAccounts.table.row(sa, NOW), ['default', 1, '60m']);
  assert.deepEqual(serviceAccounts.table.row({ metadata: { name: 'a', creationTimestamp: created } }, NOW), ['a', 0, '60m']);
});

test('quirky upstream paths: template labels, basic-auth keys, finalize index', async () => {
  const { replicationControllers } = await import('./index.js');
  const { newReplicationController } = await import('./testing.js');
  const rc = newReplicationController({ selector: { app: 'web' }, template: { metadata: { labels: { app: 'web', 'bad key': 'x' } }, spec: { containers: [{ name: 'a', image: 'a' }] } } });
  assert.ok(createMessage(replicationControllers, rc).startsWith('ReplicationController "web" is invalid: spec.template.labels: Invalid value: "bad key": '));
  assert.equal(createMessage(secrets, { metadata: { name: 's' }, type: 'kubernetes.io/basic-auth', data: {} }),
    'Secret "s" is invalid: [data[%s][username]: Required value, data[%s][password]: Required value]');
  const ns = create(namespaces, { metadata: { name: 'dev' } });
  const fin = { ...ns, spec: { finalizers: ['bad'] } };
  assert.equal(invalidMessage(namespaces, fin, namespaces.subresourceStrategies!.finalize!.validateUpdate(fin, ns)),
    'Namespace "dev" is invalid: spec.finalizers[0]: Invalid value: "bad": name is neither a standard finalizer name nor is it fully qualified');
});
