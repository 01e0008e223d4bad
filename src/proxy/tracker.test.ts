import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointSlice, Service } from '../client/objects.js';
import { EndpointsChangeTracker, ServiceChangeTracker, servicePorts } from './tracker.js';
import { categorizeEndpoints } from './types.js';

function svc(name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Service {
  return { metadata: { namespace: 'ns', name, labels }, spec: { clusterIP: '10.96.0.5', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...spec } } as Service;
}

function slice(name: string, service: string, eps: { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean; node?: string }[], port = 8080): EndpointSlice {
  return {
    metadata: { namespace: 'ns', name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: eps.map((e) => ({ addresses: [e.ip], nodeName: e.node, conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating } })),
  } as unknown as EndpointSlice;
}

test('servicePorts reads what the proxy needs', () => {
  const [p] = servicePorts(svc('web', {
    type: 'LoadBalancer',
    sessionAffinity: 'ClientIP',
    externalTrafficPolicy: 'Local',
    ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }],
  }));
  assert.equal(p!.name, 'ns/web:http');
  assert.equal(p!.nodePort, 30080);
  assert.equal(p!.stickyMaxAgeSeconds, 10800);
  assert.equal(p!.externalPolicyLocal, true);
  assert.deepEqual(servicePorts(svc('x', { clusterIP: 'None' })), []);
  assert.deepEqual(servicePorts(svc('x', { type: 'ExternalName' })), []);
  assert.deepEqual(servicePorts(svc('x', {}, { 'service.kubernetes.io/service-proxy-name': 'other' })), []);
  assert.equal(servicePorts(svc('x', { ports: [{ port: 53, protocol: 'UDP' }] }))[0]!.name, 'ns/x');
  assert.equal(servicePorts(svc('x', { type: 'ClusterIP', ports: [{ port: 80, nodePort: 30000 }] }))[0]!.nodePort, 0);
});

test('the service tracker reports changes once, and only real ones', () => {
  const t = new ServiceChangeTracker();
  assert.equal(t.update('ns/web', svc('web', {})), true);
  assert.equal(t.update('ns/web', svc('web', {})), false);
  assert.deepEqual([...t.take()], ['ns/web']);
  assert.deepEqual([...t.take()], []);
  assert.equal(t.update('ns/web', svc('web', { ports: [{ name: 'https', port: 443 }] })), true);
  assert.deepEqual([...t.ports.keys()], ['ns/web:https']);
  assert.equal(t.update('ns/web', undefined), true);
  assert.equal(t.ports.size, 0);
});

test('the endpoints tracker merges slices, dedupes addresses and marks local ones', () => {
  const t = new EndpointsChangeTracker('node-1');
  assert.equal(t.update('ns/web-1', slice('web-1', 'web', [{ ip: '10.0.0.10', node: 'node-1' }, { ip: '10.0.0.9', ready: false }])), 'ns/web');
  assert.equal(t.update('ns/web-2', slice('web-2', 'web', [{ ip: '10.0.0.9' }, { ip: '10.0.0.2' }])), 'ns/web');
  assert.deepEqual(t.endpoints.get('ns/web:http')!.map((e) => `${e.ip}:${e.port} ${e.ready} ${e.isLocal}`), [
    '10.0.0.2:8080 true false',
    '10.0.0.9:8080 true false',
    '10.0.0.10:8080 true true',
  ]);
  assert.equal(t.update('ns/web-2', slice('web-2', 'web', [{ ip: '10.0.0.9' }, { ip: '10.0.0.2' }])), undefined, 'no change');
  assert.deepEqual([...t.take()], ['ns/web']);
  t.update('ns/web-1', undefined);
  t.update('ns/web-2', undefined);
  assert.equal(t.endpoints.has('ns/web:http'), false);
  assert.equal(t.update('ns/h', { ...slice('h', 'h', [{ ip: '10.0.0.1' }]), metadata: { namespace: 'ns', name: 'h', labels: { 'kubernetes.io/service-name': 'h', 'service.kubernetes.io/headless': '' } } } as EndpointSlice), undefined);
});

test('categorizeEndpoints: ready first, serving-terminating as a fallback, Local policies', () => {
  const sp = servicePorts(svc('web', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30001 }] }))[0]!;
  const ep = (ip: string, o: Partial<{ ready: boolean; serving: boolean; terminating: boolean; isLocal: boolean }> = {}) =>
    ({ ip, port: 80, ready: true, serving: true, terminating: false, isLocal: false, ...o });
  const c = categorizeEndpoints(sp, [ep('10.0.0.1'), ep('10.0.0.2', { isLocal: true }), ep('10.0.0.3', { ready: false, serving: true, terminating: true, isLocal: true })]);
  assert.deepEqual(c.cluster.map((e) => e.ip), ['10.0.0.1', '10.0.0.2']);
  assert.deepEqual(c.local.map((e) => e.ip), ['10.0.0.2']);
  assert.equal(c.hasAny, true);
  const draining = categorizeEndpoints(sp, [ep('10.0.0.3', { ready: false, serving: true, terminating: true, isLocal: true }), ep('10.0.0.4', { ready: false, serving: false, terminating: true })]);
  assert.deepEqual(draining.cluster.map((e) => e.ip), ['10.0.0.3']);
  assert.deepEqual(draining.local.map((e) => e.ip), ['10.0.0.3']);
  assert.equal(categorizeEndpoints(sp, [ep('10.0.0.9', { ready: false, serving: false })]).hasAny, false);
});
