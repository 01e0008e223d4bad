/**
 * typeMismatch (src/apimachinery/typecheck.ts) on the real published definitions: the
 * messages are encoding/json's as the API server returns them for built-in kinds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goTypeOf, typeMismatch } from '../../apimachinery/typecheck.js';
import { schemaResolver } from './index.js';

const resolver = schemaResolver();
const deployment = resolver.root('io.k8s.api.apps.v1.Deployment');
const pod = resolver.root('io.k8s.api.core.v1.Pod');
const service = resolver.root('io.k8s.api.core.v1.Service');

const goodPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'x', labels: { app: 'x' }, creationTimestamp: null, managedFields: [{ fieldsV1: { 'f:metadata': {} } }] },
  spec: {
    containers: [{
      name: 'c', image: 'nginx', args: ['a'], ports: [{ containerPort: 80, protocol: 'TCP' }],
      resources: { limits: { cpu: '500m', memory: 128 * 1024 * 1024 } },
      livenessProbe: { httpGet: { port: 'http', path: '/' }, periodSeconds: 5 },
    }],
    terminationGracePeriodSeconds: null,
    securityContext: { runAsNonRoot: true },
  },
};

test('well-typed bodies pass, nulls included', () => {
  assert.equal(typeMismatch(goodPod, pod), undefined);
  assert.equal(typeMismatch({ spec: { replicas: 3, selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [] } } } }, deployment), undefined);
  assert.equal(typeMismatch({ spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 81, targetPort: 'web' }] } }, service), undefined);
});

test('a scalar of the wrong JSON type is refused with the Go field path and type', () => {
  assert.equal(typeMismatch({ spec: { replicas: '3' } }, deployment), 'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32');
  assert.equal(
    typeMismatch({ spec: { containers: [{ name: 'c', ports: [{ containerPort: 'abc' }] }] } }, pod),
    'json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32',
  );
  assert.equal(typeMismatch({ metadata: { labels: { a: 1 } } }, pod), 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string');
  assert.equal(typeMismatch({ spec: { containers: [{ args: [1] }] } }, pod), 'json: cannot unmarshal number into Go struct field Container.spec.containers.args of type string');
  assert.equal(typeMismatch({ spec: { hostNetwork: 'yes' } }, pod), 'json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool');
});

test('numbers that do not fit an integer type say so with the literal', () => {
  assert.equal(typeMismatch({ spec: { replicas: 1.5 } }, deployment), 'json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32');
  assert.equal(typeMismatch({ spec: { replicas: 2 ** 31 } }, deployment), 'json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32');
});

test('objects and arrays where the other is expected name the Go slice, map or struct type', () => {
  assert.equal(typeMismatch({ spec: { containers: { name: 'c' } } }, pod), 'json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container');
  assert.equal(typeMismatch({ spec: 'x' }, pod), 'json: cannot unmarshal string into Go struct field Pod.spec of type v1.PodSpec');
  assert.equal(typeMismatch({ metadata: { labels: ['a'] } }, pod), 'json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string');
});

test('IntOrString takes a string or an int32; Quantity must parse, with its own message', () => {
  assert.equal(typeMismatch({ spec: { ports: [{ targetPort: true }] } }, service), 'json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type int32');
  assert.equal(
    typeMismatch({ spec: { containers: [{ resources: { limits: { cpu: 'abc' } } }] } }, pod),
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
  );
  assert.equal(typeMismatch({ spec: { containers: [{ resources: { requests: { memory: '32MMi' } } }] } }, pod), "unable to parse quantity's suffix");
});

test('the first mismatch in document order is reported', () => {
  assert.match(typeMismatch({ spec: { hostNetwork: 'yes', replicas: 'x', containers: {} } }, pod)!, /PodSpec\.spec\.hostNetwork of type bool$/);
});

test('Go type names from the schema', () => {
  assert.equal(goTypeOf(pod.field('spec')!), 'v1.PodSpec');
  assert.equal(goTypeOf(pod.field('spec')!.field('containers')!), '[]v1.Container');
  assert.equal(goTypeOf(pod.field('metadata')!.field('labels')!), 'map[string]string');
  assert.equal(goTypeOf(deployment.field('spec')!.field('replicas')!), 'int32');
});
