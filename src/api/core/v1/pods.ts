/**
 * pods (core/v1), after upstream pkg/registry/core/pod/strategy.go (v1.32).
 *
 * default() = scheme defaulting plus the default admission chain's visible effects
 * (ServiceAccount name, Priority, DefaultTolerationSeconds; see defaults.admitPod). The
 * service-account token volume `kube-api-access-*` is NOT added here: it needs the
 * ServiceAccount and a random suffix, which is the API server's (admission's) business.
 */
import { generateName, type KObject } from '../../../apimachinery/meta.js';
import { fieldForbidden, fieldNotSupported, fieldRequired, goQuote, newPath, type FieldErrorList } from '../../../apimachinery/errors.js';
import { isDNS1123Label, validateImmutableField } from '../../../apimachinery/validation.js';
import { objectMetaFieldsSet } from '../../../apimachinery/fields.js';
import { parseQuantity } from '../../../apimachinery/quantity.js';
import type { ResourceDef } from '../../types.js';
import { admitPod, defaultPod } from './defaults.js';
import { podTable } from './table.js';
import { type Obj, ensureObj, formatBool, num, obj, objs, specOf, statusOf, str } from './util.js';
import { validatePodSpec, validatePodSpecUpdate, validatePodStatus } from './validation.js';

/** The pod's QoS class (qos.GetPodQOS): BestEffort, Burstable or Guaranteed. */
export function podQOSClass(pod: KObject): 'BestEffort' | 'Burstable' | 'Guaranteed' {
  const spec = specOf(pod);
  const requests = new Map<string, string>();
  const limits = new Map<string, string>();
  let guaranteed = true;
  const nonZero = (v: unknown): boolean => {
    try {
      return !parseQuantity(String(v)).isZero();
    } catch {
      return false;
    }
  };
  for (const c of [...objs(spec.initContainers), ...objs(spec.containers)]) {
    const resources = obj(c.resources) ?? {};
    for (const [name, q] of Object.entries(obj(resources.requests) ?? {})) {
      if ((name === 'cpu' || name === 'memory') && nonZero(q)) requests.set(name, addQ(requests.get(name), q));
    }
    const found = new Set<string>();
    for (const [name, q] of Object.entries(obj(resources.limits) ?? {})) {
      if ((name === 'cpu' || name === 'memory') && nonZero(q)) {
        found.add(name);
        limits.set(name, addQ(limits.get(name), q));
      }
    }
    if (!found.has('cpu') || !found.has('memory')) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [name, q] of requests) {
      const l = limits.get(name);
      if (l === undefined || parseQuantity(l).cmp(parseQuantity(q)) !== 0) guaranteed = false;
    }
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}

function addQ(sum: string | undefined, q: unknown): string {
  const v = parseQuantity(String(q));
  return sum === undefined ? v.toString() : parseQuantity(sum).add(v).toString();
}

/** podIP/podIPs and hostIP/hostIPs mirror each other, as the v1 conversion keeps them. */
function syncStatusIPs(status: Obj): void {
  for (const [single, plural] of [['podIP', 'podIPs'], ['hostIP', 'hostIPs']] as const) {
    const list = objs(status[plural]);
    if (list.length > 0) status[single] = str(list[0]!.ip);
    else if (str(status[single])) status[plural] = [{ ip: status[single] }];
  }
}

/** The condition a pod with scheduling gates starts with (applySchedulingGatedCondition). */
function applySchedulingGatedCondition(pod: KObject, status: Obj): void {
  if (objs(specOf(pod).schedulingGates).length === 0) return;
  const conditions = objs(status.conditions);
  if (conditions.some((c) => c.type === 'PodScheduled')) return;
  status.conditions = [
    ...conditions,
    { type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates', lastProbeTime: null, lastTransitionTime: null },
  ];
}

/** GetWarningsForPod (the parts that apply to Flotilla's pods). */
function podWarnings(pod: KObject): string[] {
  const warnings: string[] = [];
  const name = pod.metadata?.name ?? '';
  if (name.includes('.')) {
    warnings.push(`metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: [${isDNS1123Label(name).join(', ')}]`);
  }
  return warnings;
}

/** Where the ServiceAccount admission plugin mounts the API token. */
export const SERVICE_ACCOUNT_TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The ServiceAccount admission plugin's token volume (v1.32, bound tokens): unless
 * `automountServiceAccountToken` is false on the pod (or `serviceAccountAutomount` says
 * so for its ServiceAccount), every container without a mount at
 * {@link SERVICE_ACCOUNT_TOKEN_MOUNT_PATH} gets a read-only mount of a projected
 * `kube-api-access-xxxxx` volume (token, kube-root-ca.crt, namespace). For the API server
 * to call on pod create once the ServiceAccount is known to exist. `random` as generateName's.
 */
export function mountServiceAccountToken(pod: KObject, serviceAccountAutomount = true, random?: (n: number) => number): void {
  const spec = ensureObj(pod as Obj, 'spec');
  if (spec.automountServiceAccountToken === false) return;
  if (spec.automountServiceAccountToken === undefined && !serviceAccountAutomount) return;
  // Mirror pods (static pods) get no token.
  if (pod.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined) return;
  const volumes = objs(spec.volumes);
  const existing = volumes.find((v) => str(v.name).startsWith('kube-api-access-'));
  const volumeName = existing ? str(existing.name) : generateName('kube-api-access-', random);
  let needsVolume = false;
  for (const key of ['initContainers', 'containers']) {
    for (const c of objs(spec[key])) {
      const mounts = objs(c.volumeMounts);
      if (mounts.some((m) => m.mountPath === SERVICE_ACCOUNT_TOKEN_MOUNT_PATH)) continue;
      c.volumeMounts = [...mounts, { name: volumeName, readOnly: true, mountPath: SERVICE_ACCOUNT_TOKEN_MOUNT_PATH }];
      needsVolume = true;
    }
  }
  if (existing || !needsVolume) return;
  spec.volumes = [...volumes, {
    name: volumeName,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  }];
}

/** The pods/binding body's validation (ValidatePodBinding). */
export function validatePodBinding(binding: KObject): FieldErrorList {
  const errs: FieldErrorList = [];
  const target = obj(binding.target) ?? {};
  const kind = str(target.kind);
  if (kind !== '' && kind !== 'Node') errs.push(fieldNotSupported(newPath('target', 'kind'), kind, ['Node', '<empty>']));
  if (!str(target.name)) errs.push(fieldRequired(newPath('target', 'name'), ''));
  return errs;
}

/**
 * What a binding does to the stored pod (upstream's setPodNodeNameAndAnnotations): sets
 * spec.nodeName, merges the binding's annotations and marks PodScheduled True. Returns an
 * error message (for a 409 Conflict) when the pod cannot be bound.
 */
export function bindPod(pod: KObject, binding: KObject, nowRFC3339: string): string | undefined {
  const name = pod.metadata?.name ?? '';
  const spec = ensureObj(pod, 'spec');
  if (pod.metadata?.deletionTimestamp) return `pod ${name} is being deleted, cannot be assigned to a host`;
  if (str(spec.nodeName)) return `pod ${name} is already assigned to node ${goQuote(str(spec.nodeName))}`;
  const target = obj(binding.target) ?? {};
  spec.nodeName = str(target.name);
  const annotations = binding.metadata?.annotations;
  if (annotations && Object.keys(annotations).length > 0) {
    pod.metadata = { ...pod.metadata, annotations: { ...(pod.metadata?.annotations ?? {}), ...annotations } };
  }
  const status = ensureObj(pod, 'status');
  const conditions = objs(status.conditions).filter((c) => c.type !== 'PodScheduled');
  conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: nowRFC3339 });
  status.conditions = conditions;
  return undefined;
}

export const pods: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  listKind: 'PodList',
  resource: 'pods',
  singular: 'pod',
  shortNames: ['po'],
  categories: ['all'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  openAPIDefinition: 'io.k8s.api.core.v1.Pod',
  subresources: ['attach', 'binding', 'ephemeralcontainers', 'eviction', 'exec', 'log', 'portforward', 'proxy'],
  strategy: {
    default(pod) {
      defaultPod(pod as Obj);
      admitPod(pod as Obj);
      const status = obj(pod.status);
      if (status) syncStatusIPs(status);
    },
    prepareForCreate(pod) {
      const status: Obj = { phase: 'Pending', qosClass: podQOSClass(pod) };
      applySchedulingGatedCondition(pod, status);
      pod.status = status;
    },
    prepareForUpdate(pod, old) {
      pod.status = structuredClone(old.status ?? {});
    },
    validate(pod) {
      const errs = validatePodSpec(specOf(pod), newPath('spec'), { isPod: true });
      // Ephemeral containers are added through their own subresource only.
      if (objs(specOf(pod).ephemeralContainers).length > 0) errs.push(fieldForbidden(newPath('spec', 'ephemeralContainers'), 'cannot be set on create'));
      if (str(specOf(pod).nodeName) && objs(specOf(pod).schedulingGates).length > 0) {
        errs.push(fieldForbidden(newPath('spec', 'nodeName'), 'cannot be set until all schedulingGates have been cleared'));
      }
      return errs;
    },
    validateUpdate(pod, old) {
      return validatePodSpecUpdate(specOf(pod), specOf(old));
    },
    warnings: (pod) => podWarnings(pod),
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  status: {
    prepareForUpdate(pod, old) {
      pod.spec = structuredClone(old.spec ?? {});
      if (old.metadata?.ownerReferences) pod.metadata = { ...pod.metadata, ownerReferences: structuredClone(old.metadata.ownerReferences) };
      else if (pod.metadata) delete pod.metadata.ownerReferences;
      const status = ensureObj(pod, 'status');
      if (!str(status.qosClass) && str(statusOf(old).qosClass)) status.qosClass = statusOf(old).qosClass;
      syncStatusIPs(status);
    },
    validateUpdate(pod, old) {
      const status = statusOf(pod);
      const oldStatus = statusOf(old);
      const errs: FieldErrorList = [];
      if (str(specOf(pod).nodeName) !== str(specOf(old).nodeName)) errs.push(fieldForbidden(newPath('status', 'nodeName'), 'may not be changed directly'));
      errs.push(...validatePodStatus(status));
      errs.push(...validateImmutableField(str(status.qosClass), str(oldStatus.qosClass), newPath('status', 'qosClass')));
      // Containers that will not restart may not leave the terminated state.
      const restartPolicy = str(specOf(old).restartPolicy);
      if (restartPolicy !== 'Always') {
        objs(oldStatus.containerStatuses).forEach((o, i) => {
          const terminated = obj(obj(o.state)?.terminated);
          if (!terminated || (num(terminated.exitCode) !== 0 && restartPolicy === 'OnFailure')) return;
          for (const n of objs(status.containerStatuses)) {
            if (n.name === o.name && !obj(obj(n.state)?.terminated)) {
              errs.push(fieldForbidden(newPath('status', 'containerStatuses').index(i).child('state'), 'may not be transitioned to non-terminated state'));
            }
          }
        });
      }
      return errs;
    },
  },
  table: podTable,
  selectableFields(pod) {
    const spec = specOf(pod);
    const status = statusOf(pod);
    return {
      ...objectMetaFieldsSet(pod.metadata, true),
      'spec.nodeName': str(spec.nodeName),
      'spec.restartPolicy': str(spec.restartPolicy),
      'spec.schedulerName': str(spec.schedulerName),
      'spec.serviceAccountName': str(spec.serviceAccountName),
      'spec.hostNetwork': formatBool(spec.hostNetwork),
      'status.phase': str(status.phase),
      'status.podIP': str(objs(status.podIPs)[0]?.ip) || str(status.podIP),
      'status.nominatedNodeName': str(status.nominatedNodeName),
    };
  },
};
