/**
 * Scheme defaulting for core/v1, after upstream pkg/apis/core/v1/defaults.go (v1.32), plus
 * the few admission plugins whose effect every real cluster shows on `kubectl get -o yaml`
 * (DefaultTolerationSeconds, ServiceAccount's name default, Priority). All functions fill
 * unset fields in place and never overwrite what the user set.
 */
import { parseQuantity } from '../../../apimachinery/quantity.js';
import { type Obj, arr, ensureObj, isSet, obj, objs, str } from './util.js';

/** v1.TerminationMessagePathDefault. */
export const TERMINATION_MESSAGE_PATH_DEFAULT = '/dev/termination-log';
/** v1.DefaultSchedulerName. */
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
/** v1.DefaultTerminationGracePeriodSeconds. */
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;
/** Volume file mode default (0644) of secret, configMap, downwardAPI and projected volumes. */
export const DEFAULT_VOLUME_MODE = 0o644;
/** v1.DefaultClientIPServiceAffinitySeconds (3 hours). */
export const DEFAULT_CLIENT_IP_SERVICE_AFFINITY_SECONDS = 10800;
/** The label every namespace carries with its own name (NamespaceDefaultLabelName). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/** DefaultTolerationSeconds admission plugin's default (--default-not-ready-toleration-seconds). */
export const DEFAULT_TOLERATION_SECONDS = 300;
/** Taint keys the node lifecycle controller sets (v1.TaintNodeNotReady / TaintNodeUnreachable). */
export const TAINT_NODE_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_NODE_UNREACHABLE = 'node.kubernetes.io/unreachable';

// ---------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------

const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domain = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?`;
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const namePattern = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;
const referenceRegexp = new RegExp(
  `^(${namePattern})(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
);

/**
 * The tag of an image reference as upstream's parsers.ParseImageName sees it: "latest"
 * when neither tag nor digest is given, "" for a digest-only or unparsable reference.
 */
export function imageTag(image: string): string {
  const m = referenceRegexp.exec(image);
  if (!m || m[1]!.length > 255) return '';
  if (m[2] !== undefined) return m[2];
  return m[3] !== undefined ? '' : 'latest';
}

// ---------------------------------------------------------------------------------------
// Quantities
// ---------------------------------------------------------------------------------------

/** A quantity as the API server writes it back: rounded up to milli, in canonical form. */
export function canonicalQuantity(v: unknown): unknown {
  if (typeof v !== 'string' && typeof v !== 'number') return v;
  try {
    return parseQuantity(String(v)).roundUp(-3).quantity.toString();
  } catch {
    return v; // left for validation to report
  }
}

/**
 * SetDefaults_ResourceList (round up to milli) plus the canonical serialisation every
 * Quantity gets on the way out: "0.5" → "500m", "1000m" → "1", "1024Mi" → "1Gi".
 */
export function defaultResourceList(list: unknown): void {
  const o = obj(list);
  if (!o) return;
  for (const [k, v] of Object.entries(o)) o[k] = canonicalQuantity(v);
}

// ---------------------------------------------------------------------------------------
// Pods
// ---------------------------------------------------------------------------------------

/** SetDefaults_Container (+ its ports, probes, lifecycle handlers, env). */
export function defaultContainer(c: Obj): void {
  if (!str(c.imagePullPolicy)) c.imagePullPolicy = imageTag(str(c.image)) === 'latest' ? 'Always' : 'IfNotPresent';
  if (!str(c.terminationMessagePath)) c.terminationMessagePath = TERMINATION_MESSAGE_PATH_DEFAULT;
  if (!str(c.terminationMessagePolicy)) c.terminationMessagePolicy = 'File';
  // ResourceRequirements is a struct, not a pointer: it always serialises, as `{}` when empty.
  if (!obj(c.resources)) c.resources = {};
  defaultResourceList(obj(c.resources)?.limits);
  defaultResourceList(obj(c.resources)?.requests);
  for (const p of objs(c.ports)) if (!str(p.protocol)) p.protocol = 'TCP';
  for (const key of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const probe = obj(c[key]);
    if (probe) defaultProbe(probe);
  }
  const lifecycle = obj(c.lifecycle);
  if (lifecycle) {
    for (const key of ['postStart', 'preStop']) {
      const h = obj(lifecycle[key]);
      if (h) defaultHandler(h);
    }
  }
  for (const e of objs(c.env)) {
    const from = obj(e.valueFrom);
    if (!from) continue;
    const fieldRef = obj(from.fieldRef);
    if (fieldRef) defaultObjectFieldSelector(fieldRef);
    const resourceFieldRef = obj(from.resourceFieldRef);
    if (resourceFieldRef) defaultResourceFieldRef(resourceFieldRef);
  }
}

/** SetDefaults_Probe and its handler's defaults. */
export function defaultProbe(p: Obj): void {
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  defaultHandler(p);
}

function defaultHandler(h: Obj): void {
  const httpGet = obj(h.httpGet);
  if (httpGet) {
    // SetDefaults_HTTPGetAction
    if (!str(httpGet.path)) httpGet.path = '/';
    if (!str(httpGet.scheme)) httpGet.scheme = 'HTTP';
  }
  const grpc = obj(h.grpc);
  if (grpc && !isSet(grpc.service)) grpc.service = '';
}

/** SetDefaults_ObjectFieldSelector: apiVersion "v1". */
export function defaultObjectFieldSelector(f: Obj): void {
  if (!str(f.apiVersion)) f.apiVersion = 'v1';
}

/** A ResourceFieldSelector's divisor is a non-pointer Quantity: its zero value prints "0". */
function defaultResourceFieldRef(f: Obj): void {
  f.divisor = isSet(f.divisor) ? canonicalQuantity(f.divisor) : '0';
}

const volumeSourceKeys = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi',
  'glusterfs', 'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc',
  'azureFile', 'configMap', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected',
  'portworxVolume', 'scaleIO', 'storageos', 'csi', 'ephemeral', 'image',
] as const;

/** The volume source keys of a v1.Volume (everything but `name`). */
export const VOLUME_SOURCE_KEYS: readonly string[] = volumeSourceKeys;

/** SetDefaults_Volume and the per-source defaults (modes 0644, hostPath type ""…). */
export function defaultVolume(v: Obj): void {
  if (!volumeSourceKeys.some((k) => isSet(v[k]))) v.emptyDir = {};
  for (const key of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    const src = obj(v[key]);
    if (src && !isSet(src.defaultMode)) src.defaultMode = DEFAULT_VOLUME_MODE;
  }
  const downward = obj(v.downwardAPI);
  if (downward) for (const item of objs(downward.items)) defaultDownwardAPIItem(item);
  const projected = obj(v.projected);
  if (projected) {
    for (const source of objs(projected.sources)) {
      const da = obj(source.downwardAPI);
      if (da) for (const item of objs(da.items)) defaultDownwardAPIItem(item);
      const token = obj(source.serviceAccountToken);
      if (token && !isSet(token.expirationSeconds)) token.expirationSeconds = 3600;
    }
  }
  const emptyDir = obj(v.emptyDir);
  if (emptyDir && isSet(emptyDir.sizeLimit)) emptyDir.sizeLimit = canonicalQuantity(emptyDir.sizeLimit);
  const hostPath = obj(v.hostPath);
  if (hostPath && !isSet(hostPath.type)) hostPath.type = '';
  const iscsi = obj(v.iscsi);
  if (iscsi && !str(iscsi.iscsiInterface)) iscsi.iscsiInterface = 'default';
  const rbd = obj(v.rbd);
  if (rbd) {
    if (!str(rbd.pool)) rbd.pool = 'rbd';
    if (!str(rbd.user)) rbd.user = 'admin';
    if (!str(rbd.keyring)) rbd.keyring = '/etc/ceph/keyring';
  }
  const azureDisk = obj(v.azureDisk);
  if (azureDisk) {
    if (!isSet(azureDisk.cachingMode)) azureDisk.cachingMode = 'ReadWrite';
    if (!isSet(azureDisk.kind)) azureDisk.kind = 'Shared';
    if (!isSet(azureDisk.fsType)) azureDisk.fsType = 'ext4';
    if (!isSet(azureDisk.readOnly)) azureDisk.readOnly = false;
  }
  const scaleIO = obj(v.scaleIO);
  if (scaleIO) {
    if (!str(scaleIO.storageMode)) scaleIO.storageMode = 'ThinProvisioned';
    if (!str(scaleIO.fsType)) scaleIO.fsType = 'xfs';
  }
}

function defaultDownwardAPIItem(item: Obj): void {
  const fieldRef = obj(item.fieldRef);
  if (fieldRef) defaultObjectFieldSelector(fieldRef);
  const resourceFieldRef = obj(item.resourceFieldRef);
  if (resourceFieldRef) defaultResourceFieldRef(resourceFieldRef);
}

/**
 * SetDefaults_PodSpec and everything nested in it (containers, volumes). Used for pods and
 * for pod templates (ReplicationController, ReplicaSet, …).
 */
export function defaultPodSpec(spec: Obj): void {
  if (!str(spec.dnsPolicy)) spec.dnsPolicy = 'ClusterFirst';
  if (!str(spec.restartPolicy)) spec.restartPolicy = 'Always';
  if (spec.hostNetwork === true) defaultHostNetworkPorts(spec);
  if (!obj(spec.securityContext)) spec.securityContext = {};
  if (!isSet(spec.terminationGracePeriodSeconds)) spec.terminationGracePeriodSeconds = DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  if (!str(spec.schedulerName)) spec.schedulerName = DEFAULT_SCHEDULER_NAME;
  // v1 conversion both ways: the deprecated `serviceAccount` fills an empty
  // serviceAccountName, and is written back as a mirror of it.
  if (!str(spec.serviceAccountName) && str(spec.serviceAccount)) spec.serviceAccountName = spec.serviceAccount;
  if (str(spec.serviceAccountName)) spec.serviceAccount = spec.serviceAccountName;
  for (const c of [...objs(spec.initContainers), ...objs(spec.containers), ...objs(spec.ephemeralContainers)]) defaultContainer(c);
  for (const v of objs(spec.volumes)) defaultVolume(v);
}

/** With hostNetwork, a container port's hostPort defaults to its containerPort. */
function defaultHostNetworkPorts(spec: Obj): void {
  for (const c of [...objs(spec.initContainers), ...objs(spec.containers)]) {
    for (const p of objs(c.ports)) if (!p.hostPort) p.hostPort = p.containerPort;
  }
}

/** SetDefaults_Pod: a pod (not a template) gets enableServiceLinks and requests from limits. */
export function defaultPod(pod: Obj): void {
  const spec = ensureObj(pod, 'spec');
  // Requests default to limits, per resource, for every container.
  for (const c of [...objs(spec.initContainers), ...objs(spec.containers)]) {
    const resources = obj(c.resources);
    const limits = obj(resources?.limits);
    if (!resources || !limits || Object.keys(limits).length === 0) continue;
    const requests = ensureObj(resources, 'requests');
    for (const [name, q] of Object.entries(limits)) if (!(name in requests)) requests[name] = q;
  }
  if (!isSet(spec.enableServiceLinks)) spec.enableServiceLinks = true;
  defaultPodSpec(spec);
}

/**
 * What the default admission chain adds to every new pod, as a real cluster shows it:
 * - ServiceAccount: serviceAccountName "default" (and the deprecated `serviceAccount` mirror).
 *   The token volume (`kube-api-access-*`) it also mounts is the API server's business.
 * - Priority: priority 0 and preemptionPolicy PreemptLowerPriority when no class is named.
 * - DefaultTolerationSeconds: NoExecute tolerations for not-ready/unreachable, 300s.
 */
export function admitPod(pod: Obj): void {
  const spec = ensureObj(pod, 'spec');
  if (!str(spec.serviceAccountName)) spec.serviceAccountName = 'default';
  spec.serviceAccount = spec.serviceAccountName;
  if (!isSet(spec.priority) && !str(spec.priorityClassName)) spec.priority = 0;
  if (!isSet(spec.preemptionPolicy)) spec.preemptionPolicy = 'PreemptLowerPriority';
  addDefaultTolerations(spec);
}

function addDefaultTolerations(spec: Obj): void {
  const tolerations = objs(spec.tolerations);
  // A toleration with an empty key and operator Exists tolerates everything.
  const covers = (key: string): boolean =>
    tolerations.some((t) => {
      const effect = str(t.effect);
      if (effect !== '' && effect !== 'NoExecute') return false;
      const tkey = str(t.key);
      return tkey === key || (tkey === '' && str(t.operator) === 'Exists');
    });
  const add: Obj[] = [];
  for (const key of [TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE]) {
    if (!covers(key)) add.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: DEFAULT_TOLERATION_SECONDS });
  }
  if (add.length > 0) spec.tolerations = [...arr(spec.tolerations), ...add];
}

/** Defaults of a pod template (PodTemplateSpec): the pod spec's, no admission, no SetDefaults_Pod. */
export function defaultPodTemplate(template: Obj): void {
  // metav1.ObjectMeta in a template: Go serialises the zero creationTimestamp as null.
  const meta = ensureObj(template, 'metadata');
  if (!('creationTimestamp' in meta)) meta.creationTimestamp = null;
  defaultPodSpec(ensureObj(template, 'spec'));
}

// ---------------------------------------------------------------------------------------
// Services, endpoints
// ---------------------------------------------------------------------------------------

/** Whether a service is reachable from outside the cluster (apiservice.ExternallyAccessible). */
export function externallyAccessible(spec: Obj): boolean {
  const type = str(spec.type);
  return type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && arr(spec.externalIPs).length > 0);
}

/** SetDefaults_Service. */
export function defaultService(svc: Obj): void {
  const spec = ensureObj(svc, 'spec');
  if (!str(spec.sessionAffinity)) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const config = ensureObj(spec, 'sessionAffinityConfig');
    const clientIP = ensureObj(config, 'clientIP');
    if (!isSet(clientIP.timeoutSeconds)) clientIP.timeoutSeconds = DEFAULT_CLIENT_IP_SERVICE_AFFINITY_SECONDS;
  }
  if (!str(spec.type)) spec.type = 'ClusterIP';
  for (const p of objs(spec.ports)) {
    if (!str(p.protocol)) p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (externallyAccessible(spec) && !str(spec.externalTrafficPolicy)) spec.externalTrafficPolicy = 'Cluster';
  if (!isSet(spec.internalTrafficPolicy) && ['NodePort', 'LoadBalancer', 'ClusterIP'].includes(str(spec.type))) {
    spec.internalTrafficPolicy = 'Cluster';
  }
  if (spec.type === 'LoadBalancer') {
    if (!isSet(spec.allocateLoadBalancerNodePorts)) spec.allocateLoadBalancerNodePorts = true;
    // LoadBalancerIPMode (beta, on in v1.32): ingress IPs default to mode VIP.
    for (const ing of objs(obj(obj(svc.status)?.loadBalancer)?.ingress)) {
      if (str(ing.ip) && !isSet(ing.ipMode)) ing.ipMode = 'VIP';
    }
  }
}

/** SetDefaults_Endpoints: port protocol TCP. */
export function defaultEndpoints(ep: Obj): void {
  for (const subset of objs(ep.subsets)) for (const p of objs(subset.ports)) if (!str(p.protocol)) p.protocol = 'TCP';
}

// ---------------------------------------------------------------------------------------
// Namespaces, nodes, secrets, replication controllers
// ---------------------------------------------------------------------------------------

/** SetDefaults_Namespace (name label) and SetDefaults_NamespaceStatus (phase Active). */
export function defaultNamespace(ns: Obj): void {
  const meta = ensureObj(ns, 'metadata');
  const name = str(meta.name);
  if (name) {
    const labels = ensureObj(meta, 'labels');
    labels[NAMESPACE_NAME_LABEL] = name;
  }
  const status = obj(ns.status);
  if (status && !str(status.phase)) status.phase = 'Active';
}

/** SetDefaults_NodeStatus: allocatable defaults to capacity. */
export function defaultNode(node: Obj): void {
  // v1 conversion: podCIDR and podCIDRs mirror each other (podCIDRs wins when both are set).
  const spec = obj(node.spec);
  if (spec) {
    const cidrs = arr(spec.podCIDRs);
    if (cidrs.length > 0) spec.podCIDR = cidrs[0];
    else if (str(spec.podCIDR)) spec.podCIDRs = [spec.podCIDR];
  }
  const status = obj(node.status);
  defaultResourceList(status?.capacity);
  defaultResourceList(status?.allocatable);
  if (status && !isSet(status.allocatable) && obj(status.capacity)) status.allocatable = { ...obj(status.capacity) };
}

/**
 * SetDefaults_Secret (type Opaque) and the v1 → internal conversion, which merges the
 * write-only `stringData` into `data` (base64), stringData winning.
 */
export function defaultSecret(secret: Obj): void {
  if (!str(secret.type)) secret.type = 'Opaque';
  const stringData = obj(secret.stringData);
  if (stringData) {
    const data = ensureObj(secret, 'data');
    for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(str(v), 'utf8').toString('base64');
    delete secret.stringData;
  }
}

/** SetDefaults_ReplicationController (+ its template's pod spec). */
export function defaultReplicationController(rc: Obj): void {
  const spec = ensureObj(rc, 'spec');
  const template = obj(spec.template);
  const templateLabels = obj(obj(template?.metadata)?.labels);
  if (templateLabels) {
    if (Object.keys(obj(spec.selector) ?? {}).length === 0) spec.selector = { ...templateLabels };
    const meta = ensureObj(rc, 'metadata');
    if (Object.keys(obj(meta.labels) ?? {}).length === 0) meta.labels = { ...templateLabels };
  }
  if (!isSet(spec.replicas)) spec.replicas = 1;
  if (template) defaultPodTemplate(template);
}
