/**
 * Authorization (k8s.io/apiserver/pkg/authorization + plugin/pkg/auth/authorizer/rbac):
 * `AlwaysAllow`, or `RBAC` over the stored Roles, ClusterRoles and their bindings, with
 * the `system:masters` group always allowed (upstream's privileged group). Also the
 * bootstrap policy upstream's API server creates (cluster-admin, system:discovery, …).
 */
import type { KObject } from '../apimachinery/index.js';
import type { UserInfo } from './auth.js';

/** What a request wants to do (authorizer.Attributes). */
export interface Attributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  /** For non-resource requests. */
  path?: string;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export type Decision = { allowed: true; reason?: string } | { allowed: false; reason: string };

export interface Authorizer {
  authorize(a: Attributes): Promise<Decision>;
}

export const alwaysAllow: Authorizer = {
  authorize: () => Promise.resolve({ allowed: true }),
};

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
  apiGroup?: string;
}

/** Reads RBAC objects (all namespaces for bindings of one namespace) from the registry. */
export interface RBACSource {
  clusterRoles(): Promise<KObject[]>;
  clusterRoleBindings(): Promise<KObject[]>;
  roles(namespace: string): Promise<KObject[]>;
  roleBindings(namespace: string): Promise<KObject[]>;
}

const has = (list: string[] | undefined, v: string) => (list ?? []).some((x) => x === '*' || x === v);

function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) {
    return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && (a.path ?? '').startsWith(u.slice(0, -1))));
  }
  if (!has(rule.apiGroups, a.apiGroup ?? '')) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '');
  const resOK = (rule.resources ?? []).some(
    (r) => r === '*' || r === combined || (a.subresource ? r === `*/${a.subresource}` : false),
  );
  if (!resOK) return false;
  if ((rule.resourceNames ?? []).length > 0) return a.name !== undefined && a.name !== '' && rule.resourceNames!.includes(a.name);
  return true;
}

function subjectMatches(s: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === user.name;
    case 'Group':
      return s.name !== undefined && user.groups.includes(s.name);
    case 'ServiceAccount':
      return user.name === `system:serviceaccount:${s.namespace || bindingNamespace}:${s.name}`;
    default:
      return false;
  }
}

/** upstream's authorization error text, e.g. `User "alice" cannot list resource "pods" in API group "" in the namespace "default"`. */
export function forbiddenReason(a: Attributes): string {
  if (!a.resourceRequest) return `User ${JSON.stringify(a.user.name)} cannot ${a.verb} path ${JSON.stringify(a.path ?? '')}`;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace ${JSON.stringify(a.namespace)}` : 'at the cluster scope';
  return `User ${JSON.stringify(a.user.name)} cannot ${a.verb} resource ${JSON.stringify(res)} in API group ${JSON.stringify(a.apiGroup ?? '')} ${scope}`;
}

export class RBACAuthorizer implements Authorizer {
  readonly #src: RBACSource;

  constructor(opts: { source: RBACSource }) {
    this.#src = opts.source;
  }

  async authorize(a: Attributes): Promise<Decision> {
    if (a.user.groups.includes('system:masters')) return { allowed: true };
    const rulesOf = async (ref: { kind?: string; name?: string }, ns: string): Promise<PolicyRule[]> => {
      const list = ref.kind === 'ClusterRole' ? await this.#src.clusterRoles() : await this.#src.roles(ns);
      const role = list.find((r) => r.metadata?.name === ref.name);
      return (role?.rules as PolicyRule[] | undefined) ?? [];
    };
    for (const b of await this.#src.clusterRoleBindings()) {
      if (!((b.subjects as Subject[] | undefined) ?? []).some((s) => subjectMatches(s, a.user, ''))) continue;
      if ((await rulesOf(b.roleRef as { kind?: string; name?: string }, '')).some((r) => ruleAllows(r, a))) return { allowed: true };
    }
    if (a.namespace) {
      for (const b of await this.#src.roleBindings(a.namespace)) {
        if (!((b.subjects as Subject[] | undefined) ?? []).some((s) => subjectMatches(s, a.user, a.namespace!))) continue;
        if ((await rulesOf(b.roleRef as { kind?: string; name?: string }, a.namespace)).some((r) => ruleAllows(r, a))) return { allowed: true };
      }
    }
    return { allowed: false, reason: forbiddenReason(a) };
  }
}

const rbacGroup = 'rbac.authorization.k8s.io';
const bootstrapLabels = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const autoupdate = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };

/** The part of upstream's bootstrap policy every cluster relies on. */
export function bootstrapPolicy(): { clusterRoles: KObject[]; clusterRoleBindings: KObject[] } {
  const role = (name: string, rules: PolicyRule[]): KObject => ({
    apiVersion: `${rbacGroup}/v1`,
    kind: 'ClusterRole',
    metadata: { name, labels: bootstrapLabels, annotations: autoupdate },
    rules: rules as unknown as KObject[],
  });
  const binding = (name: string, roleName: string, subjects: Subject[]): KObject => ({
    apiVersion: `${rbacGroup}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: bootstrapLabels, annotations: autoupdate },
    roleRef: { apiGroup: rbacGroup, kind: 'ClusterRole', name: roleName },
    subjects: subjects.map((s) => ({ apiGroup: rbacGroup, ...s })),
  });
  return {
    clusterRoles: [
      role('cluster-admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }]),
      role('system:discovery', [
        { nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'], verbs: ['get'] },
      ]),
      role('system:basic-user', [
        { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
        { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
      ]),
      role('system:public-info-viewer', [{ nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] }]),
    ],
    clusterRoleBindings: [
      binding('cluster-admin', 'cluster-admin', [{ kind: 'Group', name: 'system:masters' }]),
      binding('system:discovery', 'system:discovery', [{ kind: 'Group', name: 'system:authenticated' }]),
      binding('system:basic-user', 'system:basic-user', [{ kind: 'Group', name: 'system:authenticated' }]),
      binding('system:public-info-viewer', 'system:public-info-viewer', [
        { kind: 'Group', name: 'system:authenticated' },
        { kind: 'Group', name: 'system:unauthenticated' },
      ]),
    ],
  };
}

/** The verb of a resource request (upstream's RequestInfoFactory). */
export function requestVerb(method: string, hasName: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : hasName ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}
