/**
 * services (core/v1), after upstream pkg/registry/core/service/strategy.go and the
 * service REST's allocation bookkeeping (v1.32).
 *
 * Allocation hook: ClusterIPs and NodePorts are allocated by the API server (upstream's
 * service REST BeginCreate/BeginUpdate, before validation). It should, for each create or
 * update: if {@link needsClusterIP} and spec.clusterIP is "", allocate one and set both
 * spec.clusterIP and spec.clusterIPs=[ip]; for every port of a service that
 * {@link needsNodePorts} with nodePort 0, allocate one in 30000-32767; release them on
 * delete or when a type change no longer needs them. prepareForCreate already fills
 * ipFamilyPolicy/ipFamilies as a single-stack IPv4 cluster does.
 */
import type { KObject } from '../../../apimachinery/meta.js';
import { objectMetaFieldsSet } from '../../../apimachinery/fields.js';
import { isValidIP, nameIsDNS1035Label } from '../../../apimachinery/validation.js';
import { newPath, type FieldErrorList } from '../../../apimachinery/errors.js';
import type { ResourceDef } from '../../types.js';
import { defaultService, externallyAccessible } from './defaults.js';
import { serviceTable } from './table.js';
import { type Obj, arr, ensureObj, isSet, num, obj, objs, same, specOf, statusOf, str } from './util.js';
import { validateService, validateServiceUpdate } from './validation.js';

/** Whether the service gets a cluster IP (not ExternalName, not headless). */
export function needsClusterIP(svc: KObject): boolean {
  const spec = specOf(svc);
  return spec.type !== 'ExternalName' && str(spec.clusterIP) !== 'None';
}

/** Whether the service's ports get node ports (NodePort, or LoadBalancer allocating them). */
export function needsNodePorts(svc: KObject): boolean {
  const spec = specOf(svc);
  return spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
}

/** NormalizeClusterIPs: keeps clusterIP and clusterIPs in step for old and new clients. */
export function normalizeClusterIPs(spec: Obj, oldSpec: Obj | undefined): void {
  const clusterIP = str(spec.clusterIP);
  const clusterIPs = arr(spec.clusterIPs);
  if (!oldSpec) {
    if (clusterIP && clusterIPs.length === 0) spec.clusterIPs = [clusterIP];
    return;
  }
  const oldIP = str(oldSpec.clusterIP);
  const oldIPs = arr(oldSpec.clusterIPs);
  const sameIPs = (): boolean => same(arr(spec.clusterIPs), oldIPs);
  if (oldIPs.length > 0 && arr(spec.clusterIPs).length === 0 && oldIP === clusterIP) spec.clusterIPs = structuredClone(oldIPs);
  if (oldIP !== clusterIP) {
    if (oldIP && !clusterIP) {
      if (sameIPs()) delete spec.clusterIPs;
    } else if (sameIPs()) {
      spec.clusterIPs = [clusterIP];
    }
  }
}

/**
 * patchAllocatedValues: an update that omits allocated values (clusterIP(s), nodePorts,
 * healthCheckNodePort, IP families) keeps the old ones, as upstream's service REST does,
 * so `kubectl replace`/`apply` of a manifest without them does not hit "may not change".
 * prepareForUpdate runs it; an allocator that runs before prepareForUpdate (upstream's
 * beginUpdate does this first too) should call it first so it does not allocate anew.
 */
export function patchAllocatedValues(svc: KObject, old: KObject): void {
  const spec = ensureObj(svc, 'spec');
  const oldSpec = specOf(old);
  if (needsClusterIP(old) && needsClusterIP(svc)) {
    if (!str(spec.clusterIP)) spec.clusterIP = oldSpec.clusterIP;
    if (arr(spec.clusterIPs).length === 0 && arr(oldSpec.clusterIPs).length > 0) spec.clusterIPs = structuredClone(oldSpec.clusterIPs);
  }
  if (needsNodePorts(old) && needsNodePorts(svc)) {
    // By port name, as upstream; a node port the new spec already uses elsewhere is not reused.
    const oldPorts = objs(oldSpec.ports);
    const newUsed = new Set(objs(spec.ports).map((p) => num(p.nodePort)).filter((n) => n !== 0));
    const used = new Set(oldPorts.map((p) => num(p.nodePort)).filter((n) => newUsed.has(n)));
    const byName = new Map(oldPorts.map((p) => [str(p.name), num(p.nodePort)] as const));
    for (const p of objs(spec.ports)) {
      if (num(p.nodePort) !== 0) continue;
      const oldVal = byName.get(str(p.name)) ?? 0;
      if (oldVal !== 0 && !used.has(oldVal)) p.nodePort = oldVal;
    }
  }
  if (spec.externalTrafficPolicy === 'Local' && oldSpec.externalTrafficPolicy === 'Local' && !num(spec.healthCheckNodePort) && num(oldSpec.healthCheckNodePort)) {
    spec.healthCheckNodePort = oldSpec.healthCheckNodePort;
  }
  if (spec.type !== 'ExternalName' && oldSpec.type !== 'ExternalName') {
    if (!isSet(spec.ipFamilyPolicy) && isSet(oldSpec.ipFamilyPolicy)) spec.ipFamilyPolicy = oldSpec.ipFamilyPolicy;
    if (arr(spec.ipFamilies).length === 0 && arr(oldSpec.ipFamilies).length > 0) spec.ipFamilies = structuredClone(oldSpec.ipFamilies);
  }
}

/** dropTypeDependentFields: a type change clears what only the old type used (if unchanged by the user). */
function dropTypeDependentFields(svc: KObject, old: KObject): void {
  const spec = ensureObj(svc, 'spec');
  const oldSpec = specOf(old);
  if (spec.type === 'ExternalName' && oldSpec.type !== 'ExternalName') {
    if (same(spec.clusterIPs, oldSpec.clusterIPs)) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (same(spec.ipFamilies, oldSpec.ipFamilies)) delete spec.ipFamilies;
    if (same(spec.ipFamilyPolicy, oldSpec.ipFamilyPolicy)) delete spec.ipFamilyPolicy;
    if (same(spec.internalTrafficPolicy, oldSpec.internalTrafficPolicy)) delete spec.internalTrafficPolicy;
  }
  if (needsNodePorts(old) && !needsNodePorts(svc)) {
    const oldPorts = objs(oldSpec.ports);
    for (const p of objs(spec.ports)) {
      if (oldPorts.some((o) => num(o.nodePort) !== 0 && num(o.nodePort) === num(p.nodePort))) delete p.nodePort;
    }
  }
  if (oldSpec.type === 'LoadBalancer' && spec.type !== 'LoadBalancer') {
    if (same(spec.allocateLoadBalancerNodePorts, oldSpec.allocateLoadBalancerNodePorts)) delete spec.allocateLoadBalancerNodePorts;
    if (same(spec.loadBalancerClass, oldSpec.loadBalancerClass)) delete spec.loadBalancerClass;
    if (same(spec.healthCheckNodePort, oldSpec.healthCheckNodePort)) delete spec.healthCheckNodePort;
  }
  if (externallyAccessible(oldSpec) && !externallyAccessible(spec) && same(spec.externalTrafficPolicy, oldSpec.externalTrafficPolicy)) {
    delete spec.externalTrafficPolicy;
  }
}

/** initIPFamilyFields for a single-stack IPv4 cluster. */
function initIPFamilyFields(svc: KObject): void {
  const spec = ensureObj(svc, 'spec');
  if (spec.type === 'ExternalName') return;
  const headlessNoSelector = str(spec.clusterIP) === 'None' && Object.keys(obj(spec.selector) ?? {}).length === 0;
  if (!isSet(spec.ipFamilyPolicy)) spec.ipFamilyPolicy = headlessNoSelector ? 'RequireDualStack' : 'SingleStack';
  if (arr(spec.ipFamilies).length === 0) spec.ipFamilies = ['IPv4'];
}

function validateLoadBalancerStatus(status: Obj): FieldErrorList {
  const errs: FieldErrorList = [];
  objs(obj(status.loadBalancer)?.ingress).forEach((ing, i) => {
    const ip = str(ing.ip);
    if (ip) errs.push(...isValidIP(newPath('status', 'loadBalancer', 'ingress').index(i).child('ip'), ip));
  });
  return errs;
}

export const services: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Service',
  listKind: 'ServiceList',
  resource: 'services',
  singular: 'service',
  shortNames: ['svc'],
  categories: ['all'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  openAPIDefinition: 'io.k8s.api.core.v1.Service',
  subresources: ['proxy'],
  validateName: nameIsDNS1035Label,
  strategy: {
    default: (svc) => defaultService(svc as Obj),
    prepareForCreate(svc) {
      svc.status = { loadBalancer: {} };
      normalizeClusterIPs(ensureObj(svc, 'spec'), undefined);
      initIPFamilyFields(svc);
    },
    prepareForUpdate(svc, old) {
      svc.status = structuredClone(old.status ?? { loadBalancer: {} });
      // Upstream's order: patch allocated values first, then normalize clusterIP/clusterIPs.
      patchAllocatedValues(svc, old);
      normalizeClusterIPs(ensureObj(svc, 'spec'), specOf(old));
      dropTypeDependentFields(svc, old);
    },
    validate: (svc) => validateService(svc as Obj),
    validateUpdate: (svc, old) => validateServiceUpdate(svc as Obj, old as Obj),
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  status: {
    prepareForUpdate(svc, old) {
      svc.spec = structuredClone(old.spec ?? {});
      const status = ensureObj(svc, 'status');
      ensureObj(status, 'loadBalancer');
    },
    validateUpdate: (svc) => validateLoadBalancerStatus(statusOf(svc)),
  },
  table: serviceTable,
  selectableFields(svc) {
    const spec = specOf(svc);
    return { ...objectMetaFieldsSet(svc.metadata, true), 'spec.clusterIP': str(spec.clusterIP), 'spec.type': str(spec.type) };
  },
};
