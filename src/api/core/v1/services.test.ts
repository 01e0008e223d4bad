import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../../apimachinery/meta.js';
import { services, needsClusterIP, needsNodePorts } from './services.js';
import { create, createMessage, invalidMessage, newService } from './testing.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');

test('service defaults by type', () => {
  const cases: { name: string; spec: Record<string, unknown>; want: Record<string, unknown> }[] = [
    {
      name: 'ClusterIP',
      spec: {},
      want: {
        selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }], type: 'ClusterIP', sessionAffinity: 'None',
        internalTrafficPolicy: 'Cluster', ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'],
      },
    },
    {
      name: 'NodePort with named targetPort',
      spec: { type: 'NodePort', ports: [{ port: 80, targetPort: 'http', nodePort: 30080 }] },
      want: {
        selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP', targetPort: 'http', nodePort: 30080 }], type: 'NodePort', sessionAffinity: 'None',
        externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'],
      },
    },
    {
      name: 'LoadBalancer',
      spec: { type: 'LoadBalancer' },
      want: {
        selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }], type: 'LoadBalancer', sessionAffinity: 'None',
        externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: true,
        ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'],
      },
    },
    {
      name: 'ClientIP affinity',
      spec: { sessionAffinity: 'ClientIP' },
      want: {
        selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }], type: 'ClusterIP', sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } }, internalTrafficPolicy: 'Cluster', ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'],
      },
    },
    {
      name: 'ExternalName',
      spec: { type: 'ExternalName', externalName: 'example.com', ports: [], selector: undefined },
      want: { ports: [], type: 'ExternalName', externalName: 'example.com', sessionAffinity: 'None' },
    },
    {
      name: 'headless without selector',
      spec: { clusterIP: 'None', selector: undefined },
      want: {
        ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }], clusterIP: 'None', clusterIPs: ['None'], type: 'ClusterIP', sessionAffinity: 'None',
        internalTrafficPolicy: 'Cluster', ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4'],
      },
    },
  ];
  for (const tc of cases) {
    const svc = create(services, newService(tc.spec));
    const spec = JSON.parse(JSON.stringify(svc.spec)) as Record<string, unknown>;
    assert.deepEqual(spec, tc.want, tc.name);
    assert.deepEqual(svc.status, { loadBalancer: {} }, tc.name);
  }
});

test('allocation hooks', () => {
  assert.equal(needsClusterIP(create(services, newService())), true);
  assert.equal(needsClusterIP(create(services, newService({ clusterIP: 'None' }))), false);
  assert.equal(needsNodePorts(create(services, newService())), false);
  assert.equal(needsNodePorts(create(services, newService({ type: 'NodePort' }))), true);
  assert.equal(needsNodePorts(create(services, newService({ type: 'LoadBalancer', allocateLoadBalancerNodePorts: false }))), false);
});

test('service validation messages', () => {
  const cases: { name: string; spec: Record<string, unknown>; want: string }[] = [
    { name: 'valid', spec: {}, want: '' },
    { name: 'no ports', spec: { ports: [] }, want: 'Service "web" is invalid: spec.ports: Required value' },
    // targetPort defaults to port, so it is out of range too (as upstream reports).
    {
      name: 'port range',
      spec: { ports: [{ port: 0 }] },
      want: 'Service "web" is invalid: [spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive, spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive]',
    },
    { name: 'unnamed ports', spec: { ports: [{ port: 80 }, { port: 443 }] }, want: 'Service "web" is invalid: [spec.ports[0].name: Required value, spec.ports[1].name: Required value]' },
    { name: 'nodePort range', spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] }, want: 'Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767' },
    { name: 'nodePort on ClusterIP', spec: { ports: [{ port: 80, nodePort: 30080 }] }, want: "Service \"web\" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'" },
    { name: 'bad type', spec: { type: 'Ingress' }, want: 'Service "web" is invalid: spec.type: Unsupported value: "Ingress": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"' },
    { name: 'bad clusterIP', spec: { clusterIP: '10.0.0.300' }, want: "Service \"web\" is invalid: spec.clusterIPs[0]: Invalid value: \"10.0.0.300\": must be empty, 'None', or a valid IP address" },
    { name: 'bad targetPort', spec: { ports: [{ port: 80, targetPort: 70000 }] }, want: 'Service "web" is invalid: spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive' },
    {
      name: 'duplicate port',
      spec: { ports: [{ port: 80, name: 'a' }, { port: 80, name: 'b' }] },
      want: 'Service "web" is invalid: spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
    },
    { name: 'externalTrafficPolicy on ClusterIP', spec: { externalTrafficPolicy: 'Local' }, want: 'Service "web" is invalid: spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services' },
  ];
  for (const tc of cases) assert.equal(createMessage(services, newService(tc.spec)), tc.want, tc.name);
});

function allocated(spec: Record<string, unknown> = {}): KObject {
  const svc = create(services, newService(spec));
  Object.assign(svc.spec as object, { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'] });
  svc.metadata!.resourceVersion = '5';
  return svc;
}

function update(old: KObject, next: KObject): { obj: KObject; message: string } {
  const o = structuredClone(next);
  services.strategy.default!(o);
  services.strategy.prepareForUpdate!(o, old);
  return { obj: o, message: invalidMessage(services, o, services.strategy.validateUpdate(o, old)) };
}

test('service update: clusterIP is immutable, omitted allocated values are kept', () => {
  const old = allocated({ type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] });
  // kubectl replace with a manifest lacking clusterIP/nodePort keeps them.
  const replaced = update(old, newService({ type: 'NodePort', ports: [{ port: 80 }] }));
  assert.equal(replaced.message, '');
  assert.equal((replaced.obj.spec as any).clusterIP, '10.96.0.10');
  assert.deepEqual((replaced.obj.spec as any).clusterIPs, ['10.96.0.10']);
  assert.equal((replaced.obj.spec as any).ports[0].nodePort, 30080);
  const changed = update(old, newService({ type: 'NodePort', clusterIP: '10.96.0.11' }));
  assert.equal(changed.message, 'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set');
});

test('service update: NodePort to ClusterIP drops nodePorts and externalTrafficPolicy', () => {
  const old = allocated({ type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] });
  const next = structuredClone(old);
  (next.spec as any).type = 'ClusterIP';
  const r = update(old, next);
  assert.equal(r.message, '');
  assert.equal((r.obj.spec as any).ports[0].nodePort, undefined);
  assert.equal((r.obj.spec as any).externalTrafficPolicy, undefined);
});

test('service status update keeps spec', () => {
  const old = allocated({ type: 'LoadBalancer' });
  const next = structuredClone(old);
  next.spec = {};
  next.status = { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } };
  services.status!.prepareForUpdate(next, old);
  assert.deepEqual(next.spec, old.spec);
  assert.deepEqual(services.status!.validateUpdate(next, old), []);
});

test('service table rows', () => {
  const row = (spec: Record<string, unknown>, status: Record<string, unknown> = { loadBalancer: {} }): unknown[] => {
    const svc = create(services, newService(spec));
    svc.metadata!.creationTimestamp = '2024-05-01T11:00:00Z';
    svc.status = status;
    return services.table.row(svc, NOW);
  };
  assert.deepEqual(row({ clusterIP: '10.96.0.10' }), ['web', 'ClusterIP', '10.96.0.10', '<none>', '80/TCP', '60m', 'app=web']);
  assert.deepEqual(row({ type: 'NodePort', clusterIP: '10.96.0.11', ports: [{ port: 80, nodePort: 30080 }, { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }].map((p, i) => ({ name: `p${i}`, ...p })) }),
    ['web', 'NodePort', '10.96.0.11', '<none>', '80:30080/TCP,53:30053/UDP', '60m', 'app=web']);
  assert.deepEqual(row({ type: 'LoadBalancer', clusterIP: '10.96.0.12' }), ['web', 'LoadBalancer', '10.96.0.12', '<pending>', '80/TCP', '60m', 'app=web']);
  assert.deepEqual(row({ type: 'LoadBalancer', clusterIP: '10.96.0.12' }, { loadBalancer: { ingress: [{ ip: '192.0.2.20' }, { hostname: 'lb.example.com' }] } })[3], '192.0.2.20,lb.example.com');
  assert.deepEqual(row({ type: 'ExternalName', externalName: 'example.com', ports: [], selector: undefined }), ['web', 'ExternalName', '<none>', 'example.com', '<none>', '60m', '<none>']);
  assert.deepEqual(services.table.columns.map((c) => `${c.name}/${c.priority}`), ['Name/0', 'Type/0', 'Cluster-IP/0', 'External-IP/0', 'Port(s)/0', 'Age/0', 'Selector/1']);
});

test('service selectable fields and name rule', () => {
  const svc = allocated();
  assert.deepEqual(services.selectableFields(svc), { 'metadata.name': 'web', 'metadata.namespace': 'default', 'spec.clusterIP': '10.96.0.10', 'spec.type': 'ClusterIP' });
  assert.deepEqual(services.validateName!('1web', false), [
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  ]);
});

test('service validation: LoadBalancer fields and session affinity', () => {
  assert.equal(createMessage(services, newService({ sessionAffinity: 'None', sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } } })), '');
  const lbNoAlloc = create(services, newService({ type: 'LoadBalancer' }));
  delete (lbNoAlloc.spec as any).allocateLoadBalancerNodePorts;
  assert.equal(invalidMessage(services, lbNoAlloc, services.strategy.validate(lbNoAlloc)), 'Service "web" is invalid: allocateLoadBalancerNodePorts: Required value');
  assert.equal(createMessage(services, newService({ healthCheckNodePort: 30100 })),
    "Service \"web\" is invalid: spec.healthCheckNodePort: Invalid value: 30100: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'");
  assert.equal(createMessage(services, newService({ type: 'NodePort', clusterIP: 'None' })),
    "Service \"web\" is invalid: spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services");
  assert.equal(createMessage(services, newService({ type: 'ExternalName', selector: undefined, ports: [] })), 'Service "web" is invalid: spec.externalName: Required value');
});
