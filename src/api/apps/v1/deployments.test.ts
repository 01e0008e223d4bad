import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newInvalid } from '../../../apimachinery/errors.js';
import type { KObject } from '../../../apimachinery/meta.js';
import { deepClone } from '../../../apimachinery/meta.js';
import { deployments } from './deployments.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

/** A valid Deployment as a user would send it (before defaulting). */
function newDeployment(mutate: (d: any) => void = () => {}): KObject {
  const d: any = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { restartPolicy: 'Always', containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
      },
    },
  };
  mutate(d);
  return d;
}

/** Defaults, prepares for create and validates, as the API server does on POST. */
function create(obj: KObject): { obj: KObject; errs: string[] } {
  deployments.strategy.default!(obj);
  deployments.strategy.prepareForCreate!(obj);
  return { obj, errs: deployments.strategy.validate(obj).map((e) => e.message) };
}

function update(old: KObject, mutate: (d: any) => void): { obj: KObject; errs: string[] } {
  const obj = deepClone(old);
  mutate(obj);
  deployments.strategy.default!(obj);
  deployments.strategy.prepareForUpdate!(obj, old);
  return { obj, errs: deployments.strategy.validateUpdate(obj, old).map((e) => e.message) };
}

test('discovery metadata matches upstream', () => {
  assert.equal(deployments.group, 'apps');
  assert.deepEqual(deployments.shortNames, ['deploy']);
  assert.deepEqual(deployments.categories, ['all']);
  assert.equal(deployments.namespaced, true);
  assert.equal(deployments.singular, 'deployment');
  assert.ok(deployments.status);
  assert.deepEqual(deployments.scale?.specReplicasPath, ['spec', 'replicas']);
});

test('defaults: replicas 1, RollingUpdate 25%/25%, revisionHistoryLimit 10, progressDeadlineSeconds 600', () => {
  const d: any = newDeployment((x) => { delete x.spec.replicas; });
  deployments.strategy.default!(d);
  assert.equal(d.spec.replicas, 1);
  assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  assert.equal(d.spec.template.metadata.creationTimestamp, null);
});

test('defaults keep what the user set; Recreate gets no rollingUpdate', () => {
  const d: any = newDeployment((x) => { x.spec.strategy = { type: 'Recreate' }; x.spec.revisionHistoryLimit = 0; x.spec.replicas = 0; });
  deployments.strategy.default!(d);
  assert.deepEqual(d.spec.strategy, { type: 'Recreate' });
  assert.equal(d.spec.revisionHistoryLimit, 0);
  assert.equal(d.spec.replicas, 0);
});

test('prepareForCreate clears status and sets generation 1', () => {
  const { obj } = create(newDeployment((x) => { x.status = { replicas: 9 }; x.metadata.generation = 7; }));
  assert.deepEqual(obj.status, {});
  assert.equal(obj.metadata?.generation, 1);
});

test('validation: upstream field paths and messages', () => {
  const cases: { name: string; mutate: (d: any) => void; errs: string[] }[] = [
    { name: 'valid', mutate: () => {}, errs: [] },
    {
      name: 'selector missing',
      mutate: (d) => { delete d.spec.selector; },
      errs: [
        'spec.selector: Required value',
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
      ],
    },
    {
      name: 'empty selector',
      mutate: (d) => { d.spec.selector = {}; },
      errs: ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment'],
    },
    {
      name: 'negative replicas',
      mutate: (d) => { d.spec.replicas = -1; },
      errs: ['spec.replicas: Invalid value: -1: must be greater than or equal to 0'],
    },
    {
      name: 'maxSurge and maxUnavailable both 0',
      mutate: (d) => { d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } }; },
      errs: ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"0%"}: may not be 0 when `maxSurge` is 0'],
    },
    {
      name: 'maxUnavailable over 100%',
      mutate: (d) => { d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '120%' } }; },
      errs: ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"120%"}: must not be greater than 100%'],
    },
    {
      name: 'maxSurge not a percentage',
      mutate: (d) => { d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 'abc' } }; },
      errs: [
        "spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"abc\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      ],
    },
    {
      name: 'Recreate with rollingUpdate',
      mutate: (d) => { d.spec.strategy = { type: 'Recreate', rollingUpdate: {} }; },
      errs: ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"],
    },
    {
      name: 'unknown strategy type',
      mutate: (d) => { d.spec.strategy = { type: 'BlueGreen' }; },
      errs: ['spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"BlueGreen", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", "RollingUpdate"'],
    },
    {
      name: 'restartPolicy Never',
      mutate: (d) => { d.spec.template.spec.restartPolicy = 'Never'; },
      errs: ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'],
    },
    {
      name: 'activeDeadlineSeconds',
      mutate: (d) => { d.spec.template.spec.activeDeadlineSeconds = 5; },
      errs: ['spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported'],
    },
    {
      name: 'negative revisionHistoryLimit and minReadySeconds',
      mutate: (d) => { d.spec.revisionHistoryLimit = -2; d.spec.minReadySeconds = -1; },
      errs: [
        'spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0',
        'spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0',
      ],
    },
    {
      name: 'progressDeadlineSeconds not above minReadySeconds',
      mutate: (d) => { d.spec.progressDeadlineSeconds = 10; d.spec.minReadySeconds = 10; },
      errs: ['spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds'],
    },
    {
      name: 'invalid selector operator',
      mutate: (d) => { d.spec.selector = { matchExpressions: [{ key: 'app', operator: 'Like', values: ['web'] }] }; },
      errs: [
        'spec.selector.matchExpressions[0].operator: Invalid value: "Like": not a valid selector operator',
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"app", Operator:"Like", Values:[]string{"web"}}}}: invalid label selector',
      ],
    },
  ];
  for (const tc of cases) {
    const { errs } = create(newDeployment(tc.mutate));
    assert.deepEqual(errs, tc.errs, tc.name);
  }
});

test("the seeds' Deployment: selector type=front-end does not match template labels app/tier", () => {
  // /work/shared/seeds: deployment-definition.yaml (template labels app: myapp, tier: front-end).
  const seed: any = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'myapp-deployment', namespace: 'default', labels: { app: 'myapp', type: 'front-end' } },
    spec: {
      template: {
        metadata: { name: 'myapp-pod', labels: { app: 'myapp', tier: 'front-end' } },
        spec: { restartPolicy: 'Always', containers: [{ name: 'nginx-container', image: 'nginx' }] },
      },
      replicas: 3,
      selector: { matchLabels: { type: 'front-end' } },
    },
  };
  deployments.strategy.default!(seed);
  deployments.strategy.prepareForCreate!(seed);
  const err = newInvalid({ group: 'apps', kind: 'Deployment' }, 'myapp-deployment', deployments.strategy.validate(seed));
  assert.equal(
    err.message,
    'Deployment.apps "myapp-deployment" is invalid: spec.template.metadata.labels: Invalid value: ' +
      'map[string]string{"app":"myapp", "tier":"front-end"}: `selector` does not match template `labels`',
  );
  assert.deepEqual(err.status.details?.causes, [{
    reason: 'FieldValueInvalid',
    message: 'Invalid value: map[string]string{"app":"myapp", "tier":"front-end"}: `selector` does not match template `labels`',
    field: 'spec.template.metadata.labels',
  }]);
});

test('update: selector is immutable in apps/v1', () => {
  const { obj: old } = create(newDeployment());
  const { errs } = update(old, (d) => {
    d.spec.selector = { matchLabels: { app: 'web2' } };
    d.spec.template.metadata.labels = { app: 'web2' };
  });
  assert.deepEqual(errs, [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
  ]);
});

test('generation: bumped by spec or annotation changes, not by labels or status', () => {
  const { obj: old } = create(newDeployment());
  old.metadata!.resourceVersion = '5';
  const cases: { name: string; mutate: (d: any) => void; generation: number }[] = [
    { name: 'no change', mutate: () => {}, generation: 1 },
    { name: 'label change', mutate: (d) => { d.metadata.labels.tier = 'x'; }, generation: 1 },
    { name: 'status change is dropped', mutate: (d) => { d.status = { replicas: 3 }; }, generation: 1 },
    { name: 'scale', mutate: (d) => { d.spec.replicas = 5; }, generation: 2 },
    { name: 'image', mutate: (d) => { d.spec.template.spec.containers[0].image = 'nginx:1.28'; }, generation: 2 },
    { name: 'annotation', mutate: (d) => { d.metadata.annotations = { a: 'b' }; }, generation: 2 },
    { name: 'paused false equals unset', mutate: (d) => { d.spec.paused = false; }, generation: 1 },
    { name: 'client-sent generation is ignored', mutate: (d) => { d.metadata.generation = 42; }, generation: 1 },
  ];
  for (const tc of cases) {
    const { obj } = update(old, tc.mutate);
    assert.equal(obj.metadata?.generation, tc.generation, tc.name);
    assert.deepEqual(obj.status, {}, `${tc.name}: status kept from old`);
  }
});

test('status subresource keeps spec and labels, validates counts', () => {
  const { obj: old } = create(newDeployment());
  const obj: any = deepClone(old);
  obj.spec.replicas = 10;
  obj.metadata.labels = { changed: 'yes' };
  obj.status = { replicas: 3, readyReplicas: 4, availableReplicas: 2, collisionCount: 1 };
  deployments.status!.prepareForUpdate(obj, old);
  assert.equal(obj.spec.replicas, 3);
  assert.deepEqual(obj.metadata.labels, { app: 'web' });
  assert.deepEqual(deployments.status!.validateUpdate(obj, old).map((e) => e.message), [
    'status.readyReplicas: Invalid value: 4: cannot be greater than status.replicas',
  ]);
  const dec: any = deepClone(obj);
  dec.status = { collisionCount: 0 };
  assert.deepEqual(deployments.status!.validateUpdate(dec, obj).map((e) => e.message), [
    'status.collisionCount: Invalid value: 0: cannot be decremented',
  ]);
});

test('scale: replicas paths and selector string', () => {
  const { obj } = create(newDeployment((d) => { d.spec.selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] }; d.spec.template.metadata.labels.tier = 'fe'; }));
  assert.deepEqual(deployments.scale, {
    specReplicasPath: ['spec', 'replicas'],
    statusReplicasPath: ['status', 'replicas'],
    labelSelectorPath: ['spec', 'selector'],
    selector: deployments.scale!.selector,
  });
  assert.equal(deployments.scale!.selector!(obj), 'app=web,tier');
});

test('table: NAME READY UP-TO-DATE AVAILABLE AGE, wide CONTAINERS IMAGES SELECTOR', () => {
  assert.deepEqual(deployments.table.columns.map((c) => [c.name, c.priority]), [
    ['Name', 0], ['Ready', 0], ['Up-to-date', 0], ['Available', 0], ['Age', 0], ['Containers', 1], ['Images', 1], ['Selector', 1],
  ]);
  const { obj } = create(newDeployment((d) => { d.spec.template.spec.containers.push({ name: 'side', image: 'busybox' }); }));
  obj.metadata!.creationTimestamp = '2026-11-22T11:55:00Z';
  obj.status = { replicas: 3, readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 };
  assert.deepEqual(deployments.table.row(obj, NOW), ['web', '2/3', 3, 2, '5m', 'nginx,side', 'nginx:1.27,busybox', 'app=web']);
});

test('selectable fields', () => {
  assert.deepEqual(deployments.selectableFields(newDeployment()), { 'metadata.name': 'web', 'metadata.namespace': 'default' });
});

test('warnings: a name that is not a DNS label', () => {
  const d = newDeployment((x) => { x.metadata.name = 'web.v1'; });
  assert.deepEqual(deployments.strategy.warnings!(d), [
    'metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]',
  ]);
});

test('pod template: core/v1 pod defaults and validation apply inside spec.template', () => {
  const { obj, errs } = create(newDeployment((d) => { delete d.spec.template.spec.restartPolicy; }));
  const podSpec = (obj as any).spec.template.spec;
  assert.deepEqual(errs, []);
  assert.equal(podSpec.restartPolicy, 'Always');
  assert.equal(podSpec.dnsPolicy, 'ClusterFirst');
  assert.equal(podSpec.schedulerName, 'default-scheduler');
  assert.equal(podSpec.terminationGracePeriodSeconds, 30);
  assert.equal(podSpec.containers[0].imagePullPolicy, 'IfNotPresent');
  assert.equal(podSpec.containers[0].terminationMessagePolicy, 'File');
  const bad = create(newDeployment((d) => { delete d.spec.template.spec.containers[0].image; })).errs;
  assert.deepEqual(bad, ['spec.template.spec.containers[0].image: Required value']);
});
