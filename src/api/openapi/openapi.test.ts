import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { OpenAPISchema } from '../../apimachinery/schema.js';
import { allResources } from '../registry.js';
import {
  openAPIDefinitionsV3,
  openAPIV2Document,
  openAPIV2DocumentJSON,
  openAPIV3Discovery,
  openAPIV3GroupDocument,
  openAPIV3GroupDocumentJSON,
  openAPISource,
  schemaResolver,
} from './index.js';
import { testResources } from './testdata.js';

const resources = testResources();
const v3 = openAPIDefinitionsV3(resources);
const v2 = openAPIV2Document(resources) as { swagger: string; info: { title: string; version: string }; definitions: Record<string, OpenAPISchema>; paths: Record<string, Record<string, any>> };

const RS_SPEC = 'io.k8s.api.apps.v1.ReplicaSetSpec';
const LABEL_SELECTOR = 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector';

test('ReplicaSetSpec carries upstream descriptions, types and required fields', () => {
  const spec = v3[RS_SPEC];
  assert.equal(spec.description, 'ReplicaSetSpec is the specification of a ReplicaSet.');
  assert.equal(spec.type, 'object');
  assert.deepEqual(spec.required, ['selector']);
  assert.deepEqual(spec.properties!.replicas, {
    description:
      'Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset',
    format: 'int32',
    type: 'integer',
  });
});

test('a ref with a description: v3 wraps it in allOf, v2 keeps it beside $ref', () => {
  const sel3 = v3[RS_SPEC].properties!.selector;
  assert.deepEqual(sel3.allOf, [{ $ref: `#/components/schemas/${LABEL_SELECTOR}` }]);
  assert.match(sel3.description!, /^Selector is a label query over pods that should match the replica count\./);
  const sel2 = v2.definitions[RS_SPEC].properties!.selector;
  assert.equal(sel2.$ref, `#/definitions/${LABEL_SELECTOR}`);
  assert.equal(sel2.description, sel3.description);
  assert.equal(sel2.allOf, undefined);
});

test('kinds carry their GVK; v3 defaults metadata/spec/status and struct list items to {}', () => {
  const rs = v3['io.k8s.api.apps.v1.ReplicaSet'];
  assert.deepEqual(rs['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'ReplicaSet' }]);
  for (const f of ['metadata', 'spec', 'status']) assert.deepEqual(rs.properties![f].default, {}, f);
  assert.equal(rs.required, undefined, 'apiVersion and kind are optional, as upstream');
  assert.match(rs.properties!.kind.description!, /^Kind is a string value representing the REST resource/);
  assert.deepEqual(v3['io.k8s.api.apps.v1.ReplicaSetList'].properties!.items.items, {
    allOf: [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.ReplicaSet' }],
    default: {},
  });
  assert.equal(v2.definitions['io.k8s.api.apps.v1.ReplicaSet'].properties!.spec.default, undefined, 'no defaults in v2');
  assert.deepEqual(v3['io.k8s.apimachinery.pkg.apis.meta.v1.Status']['x-kubernetes-group-version-kind'], [{ group: '', version: 'v1', kind: 'Status' }]);
  const deleteGVKs = v3['io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions']['x-kubernetes-group-version-kind']!;
  assert.ok(deleteGVKs.some((g) => g.group === 'apps' && g.version === 'v1'));
  assert.ok(deleteGVKs.some((g) => g.group === '' && g.version === 'v1'));
});

test('special apimachinery types are named and typed like upstream', () => {
  // v3 publishes IntOrString and Quantity as oneOf (v2: type string).
  assert.deepEqual(v3['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].oneOf, [{ type: 'integer' }, { type: 'string' }]);
  assert.equal(v3['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].type, undefined);
  assert.deepEqual(v3['io.k8s.apimachinery.pkg.api.resource.Quantity'].oneOf, [{ type: 'string' }, { type: 'number' }]);
  assert.equal(v2.definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].type, 'string');
  assert.equal(v2.definitions['io.k8s.apimachinery.pkg.api.resource.Quantity'].type, 'string');
  const cases: [string, Partial<OpenAPISchema>][] = [
    ['io.k8s.apimachinery.pkg.util.intstr.IntOrString', { format: 'int-or-string' }],
    ['io.k8s.apimachinery.pkg.apis.meta.v1.Time', { type: 'string', format: 'date-time' }],
    ['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', { type: 'object' }],
    ['io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta', { type: 'object' }],
    ['io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent', { type: 'object' }],
    ['io.k8s.api.autoscaling.v1.Scale', { type: 'object' }],
  ];
  for (const [name, want] of cases) {
    assert.ok(v3[name], `missing ${name}`);
    for (const [k, v] of Object.entries(want)) assert.equal(v3[name][k as keyof OpenAPISchema], v, `${name}.${k}`);
  }
  assert.deepEqual(v3['io.k8s.api.core.v1.PodSecurityContext'].properties!.supplementalGroups.items, { type: 'integer', format: 'int64' });
  assert.deepEqual(v3['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties!.creationTimestamp.allOf, [
    { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Time' },
  ]);
});

test('extensions reach the schemas, in both dialects, and the resolver reads them', () => {
  const containers = v3['io.k8s.api.core.v1.PodSpec'].properties!.containers;
  assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(containers['x-kubernetes-list-type'], 'map');
  assert.deepEqual(containers['x-kubernetes-list-map-keys'], ['name']);
  assert.equal(v2.definitions['io.k8s.api.core.v1.PodSpec'].properties!.containers['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(v3[LABEL_SELECTOR]['x-kubernetes-map-type'], 'atomic');
  assert.equal(v3['io.k8s.api.core.v1.ContainerPort'].properties!.protocol.default, 'TCP');

  const spec = schemaResolver(resources).root('io.k8s.api.apps.v1.Deployment').field('spec')!;
  assert.deepEqual(spec.field('strategy')!.patchStrategies, ['retainKeys']);
  assert.equal(spec.field('strategy')!.field('rollingUpdate')!.field('maxSurge')!.intOrString, true);
  assert.equal(spec.field('strategy')!.field('rollingUpdate')!.field('maxSurge')!.kind, 'scalar');
  const podSpec = spec.field('template')!.field('spec')!;
  const c = podSpec.field('containers')!;
  assert.equal(c.listType, 'map');
  assert.equal(c.patchMergeKey, 'name');
  const ports = c.items().field('ports')!;
  assert.deepEqual(ports.listMapKeys, ['containerPort', 'protocol']);
  assert.equal(ports.items().field('protocol')!.default, 'TCP');
  assert.deepEqual(podSpec.field('volumes')!.patchStrategies, ['merge', 'retainKeys']);
  assert.equal(c.items().field('args')!.listType, 'atomic');
  assert.equal(podSpec.field('tolerations')!.listType, 'atomic');
  assert.equal(spec.field('selector')!.mapType, 'atomic');
  const meta = schemaResolver(resources).root('io.k8s.api.apps.v1.Deployment').field('metadata')!;
  assert.equal(meta.field('finalizers')!.listType, 'set');
  assert.deepEqual(meta.field('ownerReferences')!.listMapKeys, ['uid']);
  assert.ok(schemaResolver(resources).forGVK({ group: 'apps', version: 'v1', kind: 'ReplicaSet' }));
});

/** Every `$ref` in `doc`, with the prefix it must carry. */
function refs(doc: unknown, out: string[] = []): string[] {
  if (Array.isArray(doc)) for (const x of doc) refs(x, out);
  else if (doc && typeof doc === 'object') {
    for (const [k, v] of Object.entries(doc)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

test('every $ref resolves within its document', () => {
  for (const r of refs(v2)) {
    assert.ok(r.startsWith('#/definitions/') && v2.definitions[r.slice('#/definitions/'.length)], `v2: dangling ${r}`);
  }
  for (const key of Object.keys(openAPIV3Discovery(resources).paths)) {
    const doc = openAPIV3GroupDocument(key, resources) as { components: { schemas: Record<string, unknown> } };
    for (const r of refs(doc)) {
      assert.ok(r.startsWith('#/components/schemas/') && doc.components.schemas[r.slice('#/components/schemas/'.length)], `${key}: dangling ${r}`);
    }
  }
});

test('v3 discovery lists every served group/version, with the hash of its document', () => {
  for (const list of [resources, allResources]) {
    const disc = openAPIV3Discovery(list);
    const want = [...new Set(list.map((r) => (r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`)))].sort();
    assert.deepEqual(Object.keys(disc.paths).sort(), want);
    for (const [key, { serverRelativeURL }] of Object.entries(disc.paths)) {
      const doc = openAPIV3GroupDocumentJSON(key, list)!;
      const hash = createHash('sha512').update(doc.json).digest('hex').toUpperCase();
      assert.equal(serverRelativeURL, `/openapi/v3/${key}?hash=${hash}`);
    }
  }
  assert.ok(Object.keys(openAPIV3Discovery(resources).paths).includes('apis/apps/v1'));
  assert.equal(openAPIV3GroupDocument('apis/nosuch.k8s.io/v1', resources), undefined);
  assert.equal(openAPIV3GroupDocument('/openapi/v3/apis/apps/v1', resources), openAPIV3GroupDocument('apis/apps/v1', resources));
});

test('a group/version document holds its kinds and what they reach, and its paths', () => {
  const doc = openAPIV3GroupDocument('apis/apps/v1', resources) as {
    openapi: string;
    components: { schemas: Record<string, OpenAPISchema> };
    paths: Record<string, Record<string, any>>;
  };
  assert.equal(doc.openapi, '3.0.0');
  const names = Object.keys(doc.components.schemas);
  assert.ok(names.includes('io.k8s.api.apps.v1.ReplicaSet'));
  assert.ok(names.includes('io.k8s.api.core.v1.PodSpec'), 'reached through the pod template');
  assert.ok(!names.includes('io.k8s.api.core.v1.Pod'), 'core/v1 kinds belong to api/v1');
  const item = doc.paths['/apis/apps/v1/namespaces/{namespace}/replicasets/{name}'];
  assert.equal(item.patch.operationId, 'patchAppsV1NamespacedReplicaSet');
  assert.equal(item.patch['x-kubernetes-action'], 'patch');
  assert.deepEqual(item.patch['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'ReplicaSet' });
  // kubectl's QueryParamVerifierV3 checks these before using server-side validation / dry-run.
  const params = item.patch.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
  for (const p of ['query:fieldValidation', 'query:dryRun', 'query:fieldManager', 'query:force']) assert.ok(params.includes(p), p);
  assert.ok(item.patch.requestBody.content['application/apply-patch+yaml']);
  const scale = doc.paths['/apis/apps/v1/namespaces/{namespace}/replicasets/{name}/scale'];
  assert.deepEqual(scale.get['x-kubernetes-group-version-kind'], { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  assert.equal(doc.paths['/apis/apps/v1/replicasets'].get.operationId, 'listAppsV1ReplicaSetForAllNamespaces');
});

test('the v2 document is swagger 2.0 with definitions and paths of every served resource', () => {
  assert.equal(v2.swagger, '2.0');
  assert.equal(v2.info.title, 'Kubernetes');
  assert.match(v2.info.version, /^v1\.32\./);
  for (const r of resources) assert.ok(v2.definitions[r.openAPIDefinition], r.openAPIDefinition);
  const pods = v2.paths['/api/v1/namespaces/{namespace}/pods'];
  assert.equal(pods.get.operationId, 'listCoreV1NamespacedPod');
  assert.equal(pods.post.parameters[0].in, 'body');
  assert.equal(v2.paths['/api/v1/namespaces'].get.operationId, 'listCoreV1Namespace');
  assert.equal(v2.paths['/api/v1/namespaces/{namespace}/pods/{name}/binding'].post.operationId, 'createCoreV1NamespacedPodBinding');
  assert.deepEqual(v2.paths['/api/v1/namespaces/{namespace}/pods/{name}/eviction'].post['x-kubernetes-group-version-kind'], { group: 'policy', version: 'v1', kind: 'Eviction' });
  assert.equal(v2.paths['/api/v1/namespaces/{name}/finalize'].put.operationId, 'replaceCoreV1NamespaceFinalize');
  assert.equal(openAPIV2DocumentJSON(resources).json, JSON.stringify(v2), 'serialized once, stable');
});

test('fields newer than v1.32 are not published', () => {
  assert.equal(v3['io.k8s.api.apps.v1.ReplicaSetStatus'].properties!.terminatingReplicas, undefined);
  assert.equal(v3['io.k8s.api.core.v1.Lifecycle'].properties!.stopSignal, undefined);
  assert.ok(v3['io.k8s.api.apps.v1.ReplicaSetStatus'].properties!.availableReplicas);
});

test('descriptions come from kubernetes-models', () => {
  const source = openAPISource();
  assert.match(source['kubernetes-models'], /^4\./);
});
