/** Builders and helpers shared by the core/v1 tests. */
import type { KObject } from '../../../apimachinery/meta.js';
import { newInvalid, type FieldError } from '../../../apimachinery/errors.js';
import type { ResourceDef } from '../../types.js';

/** A pod as `kubectl run nginx --image nginx` sends it (before defaulting). */
export function newPod(overrides: { name?: string; namespace?: string; spec?: Record<string, unknown>; status?: Record<string, unknown> } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: overrides.name ?? 'nginx', namespace: overrides.namespace ?? 'default' },
    spec: overrides.spec ?? { containers: [{ name: 'nginx', image: 'nginx' }] },
    ...(overrides.status ? { status: overrides.status } : {}),
  };
}

/** A ClusterIP service selecting app=web on port 80. */
export function newService(spec: Record<string, unknown> = {}, name = 'web'): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80 }], ...spec },
  };
}

/** A ReplicationController with a template labelled app=web. */
export function newReplicationController(spec: Record<string, unknown> = {}, name = 'web'): KObject {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name, namespace: 'default' },
    spec: {
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] } },
      ...spec,
    },
  };
}

/** Runs the create path a server runs: default → prepareForCreate. Returns the object. */
export function create(def: ResourceDef, obj: KObject): KObject {
  const o = structuredClone(obj);
  def.strategy.default?.(o);
  def.strategy.prepareForCreate?.(o);
  return o;
}

/** The Status message a client would see for these field errors ("" when valid). */
export function invalidMessage(def: ResourceDef, obj: KObject, errs: FieldError[]): string {
  if (errs.length === 0) return '';
  return newInvalid({ group: def.group, kind: def.kind }, obj.metadata?.name ?? '', errs).message;
}

/** Validation of a freshly created object, as the message a client sees. */
export function createMessage(def: ResourceDef, obj: KObject): string {
  const o = create(def, obj);
  return invalidMessage(def, o, def.strategy.validate(o));
}
