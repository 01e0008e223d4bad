/**
 * APIs the API server answers itself without storing anything (upstream's
 * pkg/registry/authorization and authentication): SelfSubjectAccessReview and
 * SubjectAccessReview (`kubectl auth can-i`), SelfSubjectReview (`kubectl auth whoami`).
 * Each is a create-only resource whose answer is the request with `status` filled in.
 */
import { fieldRequired, newBadRequest, newInvalid, newPath, type KObject } from '../apimachinery/index.js';
import type { ResourceDef } from '../api/types.js';
import type { UserInfo } from './auth.js';
import type { Attributes, Authorizer } from './authz.js';

function reviewDef(group: string, kind: string, resource: string, namespaced = false): ResourceDef {
  return {
    group,
    version: 'v1',
    kind,
    listKind: `${kind}List`,
    resource,
    singular: resource.replace(/s$/, ''),
    namespaced,
    verbs: ['create'],
    openAPIDefinition: `io.k8s.api.${group.split('.')[0]}.v1.${kind}`,
    strategy: { validate: () => [], validateUpdate: () => [] },
    table: { columns: [], row: () => [] },
    selectableFields: () => ({}),
  };
}

/** The review resources, for discovery. */
export const reviewResources: ResourceDef[] = [
  reviewDef('authentication.k8s.io', 'SelfSubjectReview', 'selfsubjectreviews'),
  reviewDef('authorization.k8s.io', 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true),
  reviewDef('authorization.k8s.io', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews'),
  reviewDef('authorization.k8s.io', 'SubjectAccessReview', 'subjectaccessreviews'),
];

export function isReview(def: ResourceDef): boolean {
  return reviewResources.includes(def);
}

interface ReviewSpec {
  resourceAttributes?: { namespace?: string; verb?: string; group?: string; resource?: string; subresource?: string; name?: string };
  nonResourceAttributes?: { path?: string; verb?: string };
  user?: string;
  groups?: string[];
  uid?: string;
}

/** Answers one review (create) for `user`. */
export async function answerReview(def: ResourceDef, body: KObject, user: UserInfo, authorizer: Authorizer, namespace?: string): Promise<KObject> {
  const out: KObject = { ...body, apiVersion: `${def.group}/v1`, kind: def.kind, metadata: { ...(body.metadata ?? {}), creationTimestamp: null } };
  if (def.resource === 'selfsubjectreviews') {
    out.status = { userInfo: { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups } };
    return out;
  }
  const spec = (body.spec ?? {}) as ReviewSpec;
  if (!spec.resourceAttributes && !spec.nonResourceAttributes) {
    throw newInvalid({ group: def.group, kind: def.kind }, '', [
      fieldRequired(newPath('spec', 'resourceAttributes'), 'exactly one of nonResourceAttributes or resourceAttributes must be specified'),
    ]);
  }
  let who: UserInfo = user;
  if (def.resource === 'subjectaccessreviews' || def.resource === 'localsubjectaccessreviews') {
    if (!spec.user && !(spec.groups ?? []).length) throw newBadRequest('at least one of user or group must be specified');
    who = { name: spec.user ?? '', uid: spec.uid, groups: spec.groups ?? [] };
  }
  const ra = spec.resourceAttributes;
  const attrs: Attributes = ra
    ? {
        user: who,
        verb: ra.verb ?? '',
        resourceRequest: true,
        apiGroup: ra.group ?? '',
        resource: ra.resource ?? '',
        subresource: ra.subresource || undefined,
        namespace: def.resource === 'localsubjectaccessreviews' ? namespace : ra.namespace || undefined,
        name: ra.name || undefined,
      }
    : { user: who, verb: spec.nonResourceAttributes?.verb ?? '', resourceRequest: false, path: spec.nonResourceAttributes?.path ?? '' };
  const decision = await authorizer.authorize(attrs);
  out.status = decision.allowed ? { allowed: true, ...(decision.reason ? { reason: decision.reason } : {}) } : { allowed: false };
  return out;
}
