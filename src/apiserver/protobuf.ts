/**
 * Decoding of `application/vnd.kubernetes.protobuf` request bodies into JSON objects.
 *
 * kubectl's typed clients (`kubectl create namespace|configmap|secret|deployment|service…`,
 * `kubectl run`) send protobuf, and client-go does not fall back to JSON on 415, so the API
 * server must read it. The wire format is Kubernetes' envelope (magic `k8s\0` +
 * runtime.Unknown{typeMeta, raw}) around the Go types' gogo-protobuf encoding, whose field
 * numbers come from the `protobuf:"…"` tags of k8s.io/api (generated.proto). The tables
 * below cover the objects those commands build; a field not in the table is dropped when
 * it holds a zero value (gogo writes every non-pointer field) and rejected otherwise.
 *
 * Type codes: s string, i int, *i optional int (kept when 0), b bool, *b optional bool,
 * y bytes (base64 in JSON), t metav1.Time, q resource.Quantity, x IntOrString,
 * m map<string,string>, my map<string,bytes>, mq map<string,Quantity>, [T repeated T,
 * any other name a message in TYPES.
 */

const TYPES: Record<string, Record<number, string>> = {
  TypeMeta: { 1: 'apiVersion:s', 2: 'kind:s' },
  ObjectMeta: {
    1: 'name:s', 2: 'generateName:s', 3: 'namespace:s', 4: 'selfLink:s', 5: 'uid:s', 6: 'resourceVersion:s', 7: 'generation:i',
    8: 'creationTimestamp:t', 9: 'deletionTimestamp:t', 10: 'deletionGracePeriodSeconds:*i', 11: 'labels:m', 12: 'annotations:m',
    13: 'ownerReferences:[OwnerReference', 14: 'finalizers:[s',
  },
  OwnerReference: { 1: 'kind:s', 3: 'name:s', 4: 'uid:s', 5: 'apiVersion:s', 6: 'controller:*b', 7: 'blockOwnerDeletion:*b' },
  LabelSelector: { 1: 'matchLabels:m', 2: 'matchExpressions:[LabelSelectorRequirement' },
  LabelSelectorRequirement: { 1: 'key:s', 2: 'operator:s', 3: 'values:[s' },
  LocalObjectReference: { 1: 'name:s' },
  ObjectReference: { 1: 'kind:s', 2: 'namespace:s', 3: 'name:s', 4: 'uid:s', 5: 'apiVersion:s', 6: 'resourceVersion:s', 7: 'fieldPath:s' },

  Namespace: { 1: 'metadata:ObjectMeta', 2: 'spec:NamespaceSpec', 3: 'status:NamespaceStatus' },
  NamespaceSpec: { 1: 'finalizers:[s' },
  NamespaceStatus: { 1: 'phase:s' },
  ConfigMap: { 1: 'metadata:ObjectMeta', 2: 'data:m', 3: 'binaryData:my', 4: 'immutable:*b' },
  Secret: { 1: 'metadata:ObjectMeta', 2: 'data:my', 3: 'type:s', 4: 'stringData:m', 5: 'immutable:*b' },
  ServiceAccount: { 1: 'metadata:ObjectMeta', 2: 'secrets:[ObjectReference', 3: 'imagePullSecrets:[LocalObjectReference', 4: 'automountServiceAccountToken:*b' },

  Pod: { 1: 'metadata:ObjectMeta', 2: 'spec:PodSpec', 3: 'status:Empty' },
  PodTemplateSpec: { 1: 'metadata:ObjectMeta', 2: 'spec:PodSpec' },
  PodSpec: {
    2: 'containers:[Container', 3: 'restartPolicy:s', 4: 'terminationGracePeriodSeconds:*i', 5: 'activeDeadlineSeconds:*i', 6: 'dnsPolicy:s',
    7: 'nodeSelector:m', 8: 'serviceAccountName:s', 9: 'serviceAccount:s', 10: 'nodeName:s', 11: 'hostNetwork:b', 12: 'hostPID:b', 13: 'hostIPC:b',
    14: 'securityContext:Empty', 15: 'imagePullSecrets:[LocalObjectReference', 16: 'hostname:s', 17: 'subdomain:s', 19: 'schedulerName:s',
    20: 'initContainers:[Container', 21: 'automountServiceAccountToken:*b', 22: 'tolerations:[Toleration', 24: 'priorityClassName:s', 25: 'priority:*i',
    30: 'enableServiceLinks:*b',
  },
  Container: {
    1: 'name:s', 2: 'image:s', 3: 'command:[s', 4: 'args:[s', 5: 'workingDir:s', 6: 'ports:[ContainerPort', 7: 'env:[EnvVar', 8: 'resources:ResourceRequirements',
    9: 'volumeMounts:[VolumeMount', 13: 'terminationMessagePath:s', 14: 'imagePullPolicy:s', 16: 'stdin:b', 17: 'stdinOnce:b', 18: 'tty:b', 20: 'terminationMessagePolicy:s',
  },
  ContainerPort: { 1: 'name:s', 2: 'hostPort:i', 3: 'containerPort:i', 4: 'protocol:s', 5: 'hostIP:s' },
  EnvVar: { 1: 'name:s', 2: 'value:s' },
  ResourceRequirements: { 1: 'limits:mq', 2: 'requests:mq' },
  VolumeMount: { 1: 'name:s', 2: 'readOnly:b', 3: 'mountPath:s', 4: 'subPath:s', 5: 'mountPropagation:s' },
  Toleration: { 1: 'key:s', 2: 'operator:s', 3: 'value:s', 4: 'effect:s', 5: 'tolerationSeconds:*i' },
  Empty: {},

  Deployment: { 1: 'metadata:ObjectMeta', 2: 'spec:DeploymentSpec', 3: 'status:Empty' },
  DeploymentSpec: {
    1: 'replicas:*i', 2: 'selector:LabelSelector', 3: 'template:PodTemplateSpec', 4: 'strategy:DeploymentStrategy', 5: 'minReadySeconds:i',
    6: 'revisionHistoryLimit:*i', 7: 'paused:b', 9: 'progressDeadlineSeconds:*i',
  },
  DeploymentStrategy: { 1: 'type:s', 2: 'rollingUpdate:RollingUpdateDeployment' },
  RollingUpdateDeployment: { 1: 'maxUnavailable:x', 2: 'maxSurge:x' },

  Service: { 1: 'metadata:ObjectMeta', 2: 'spec:ServiceSpec', 3: 'status:Empty' },
  ServiceSpec: {
    1: 'ports:[ServicePort', 2: 'selector:m', 3: 'clusterIP:s', 4: 'type:s', 5: 'externalIPs:[s', 7: 'sessionAffinity:s', 8: 'loadBalancerIP:s',
    9: 'loadBalancerSourceRanges:[s', 10: 'externalName:s', 11: 'externalTrafficPolicy:s', 12: 'healthCheckNodePort:i', 13: 'publishNotReadyAddresses:b',
    18: 'clusterIPs:[s',
  },
  ServicePort: { 1: 'name:s', 2: 'protocol:s', 3: 'port:i', 4: 'targetPort:x', 5: 'nodePort:i', 6: 'appProtocol:*s' },

  Job: { 1: 'metadata:ObjectMeta', 2: 'spec:JobSpec', 3: 'status:Empty' },
  JobSpec: {
    1: 'parallelism:*i', 2: 'completions:*i', 3: 'activeDeadlineSeconds:*i', 4: 'selector:LabelSelector', 5: 'manualSelector:*b', 6: 'template:PodTemplateSpec',
    7: 'backoffLimit:*i', 8: 'ttlSecondsAfterFinished:*i', 9: 'completionMode:*s', 10: 'suspend:*b',
  },
  CronJob: { 1: 'metadata:ObjectMeta', 2: 'spec:CronJobSpec', 3: 'status:Empty' },
  CronJobSpec: { 1: 'schedule:s', 2: 'startingDeadlineSeconds:*i', 3: 'concurrencyPolicy:s', 4: 'suspend:*b', 5: 'jobTemplate:JobTemplateSpec', 6: 'successfulJobsHistoryLimit:*i', 7: 'failedJobsHistoryLimit:*i', 8: 'timeZone:*s' },
  JobTemplateSpec: { 1: 'metadata:ObjectMeta', 2: 'spec:JobSpec' },

  PolicyRule: { 1: 'verbs:[s', 2: 'apiGroups:[s', 3: 'resources:[s', 4: 'resourceNames:[s', 5: 'nonResourceURLs:[s' },
  Role: { 1: 'metadata:ObjectMeta', 2: 'rules:[PolicyRule' },
  ClusterRole: { 1: 'metadata:ObjectMeta', 2: 'rules:[PolicyRule', 3: 'aggregationRule:AggregationRule' },
  AggregationRule: { 1: 'clusterRoleSelectors:[LabelSelector' },
  Subject: { 1: 'kind:s', 2: 'apiGroup:s', 3: 'name:s', 4: 'namespace:s' },
  RoleRef: { 1: 'apiGroup:s', 2: 'kind:s', 3: 'name:s' },
  RoleBinding: { 1: 'metadata:ObjectMeta', 2: 'subjects:[Subject', 3: 'roleRef:RoleRef' },
  ClusterRoleBinding: { 1: 'metadata:ObjectMeta', 2: 'subjects:[Subject', 3: 'roleRef:RoleRef' },

  ResourceQuota: { 1: 'metadata:ObjectMeta', 2: 'spec:ResourceQuotaSpec', 3: 'status:Empty' },
  ResourceQuotaSpec: { 1: 'hard:mq', 2: 'scopes:[s' },
  PriorityClass: { 1: 'metadata:ObjectMeta', 2: 'value:i', 3: 'globalDefault:b', 4: 'description:s', 5: 'preemptionPolicy:*s' },
  Lease: { 1: 'metadata:ObjectMeta', 2: 'spec:LeaseSpec' },
  LeaseSpec: { 1: 'holderIdentity:*s', 2: 'leaseDurationSeconds:*i', 3: 'acquireTime:t', 4: 'renewTime:t', 5: 'leaseTransitions:*i' },
  Binding: { 1: 'metadata:ObjectMeta', 2: 'target:ObjectReference' },
  Scale: { 1: 'metadata:ObjectMeta', 2: 'spec:ScaleSpec', 3: 'status:Empty' },
  ScaleSpec: { 1: 'replicas:*i' },
  SelfSubjectAccessReview: { 1: 'metadata:ObjectMeta', 2: 'spec:SelfSubjectAccessReviewSpec', 3: 'status:Empty' },
  SelfSubjectAccessReviewSpec: { 1: 'resourceAttributes:ResourceAttributes', 2: 'nonResourceAttributes:NonResourceAttributes' },
  SubjectAccessReview: { 1: 'metadata:ObjectMeta', 2: 'spec:SubjectAccessReviewSpec', 3: 'status:Empty' },
  LocalSubjectAccessReview: { 1: 'metadata:ObjectMeta', 2: 'spec:SubjectAccessReviewSpec', 3: 'status:Empty' },
  SubjectAccessReviewSpec: { 1: 'resourceAttributes:ResourceAttributes', 2: 'nonResourceAttributes:NonResourceAttributes', 3: 'user:s', 4: 'groups:[s', 6: 'uid:s' },
  ResourceAttributes: { 1: 'namespace:s', 2: 'verb:s', 3: 'group:s', 4: 'version:s', 5: 'resource:s', 6: 'subresource:s', 7: 'name:s' },
  NonResourceAttributes: { 1: 'path:s', 2: 'verb:s' },
  SelfSubjectReview: { 1: 'metadata:ObjectMeta', 2: 'status:Empty' },
  TokenRequest: { 1: 'metadata:ObjectMeta', 2: 'spec:TokenRequestSpec', 3: 'status:Empty' },
  TokenRequestSpec: { 1: 'audiences:[s', 3: 'boundObjectRef:BoundObjectReference', 4: 'expirationSeconds:*i' },
  BoundObjectReference: { 1: 'kind:s', 2: 'apiVersion:s', 3: 'name:s', 4: 'uid:s' },
  DeleteOptions: { 1: 'gracePeriodSeconds:*i', 2: 'preconditions:Preconditions', 3: 'orphanDependents:*b', 4: 'propagationPolicy:*s', 5: 'dryRun:[s' },
  Preconditions: { 1: 'uid:*s', 2: 'resourceVersion:*s' },
};

/** Kinds whose protobuf body we can read, by kind name. */
export function protobufKindSupported(kind: string): boolean {
  return kind in TYPES && kind !== 'ObjectMeta';
}

export class ProtobufDecodeError extends Error {}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer, readonly end = buf.length) {}
  done(): boolean {
    return this.pos >= this.end;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new ProtobufDecodeError('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new ProtobufDecodeError('varint too long');
    }
  }
  bytes(): Buffer {
    const n = Number(this.varint());
    if (this.pos + n > this.end) throw new ProtobufDecodeError('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new ProtobufDecodeError(`unsupported wire type ${wire}`);
  }
}

/** A varint as Go's int64 (two's complement) → number. */
function toInt(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

function decodeScalarOrMessage(r: Reader, wire: number, type: string): unknown {
  switch (type) {
    case 's':
      return r.bytes().toString('utf8');
    case 'y':
      return r.bytes().toString('base64');
    case 'i':
      return toInt(r.varint());
    case 'b':
      return r.varint() !== 0n;
    case 't': {
      const mr = new Reader(r.bytes());
      let seconds = 0;
      while (!mr.done()) {
        const tag = toInt(mr.varint());
        if (tag >> 3 === 1 && (tag & 7) === 0) seconds = toInt(mr.varint());
        else mr.skip(tag & 7);
      }
      if (seconds <= 0) return null;
      return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    case 'q': {
      const mr = new Reader(r.bytes());
      let s = '';
      while (!mr.done()) {
        const tag = toInt(mr.varint());
        if (tag >> 3 === 1) s = mr.bytes().toString('utf8');
        else mr.skip(tag & 7);
      }
      return s;
    }
    case 'x': {
      const mr = new Reader(r.bytes());
      let t = 0;
      let iv = 0;
      let sv = '';
      while (!mr.done()) {
        const tag = toInt(mr.varint());
        const f = tag >> 3;
        if (f === 1) t = toInt(mr.varint());
        else if (f === 2) iv = toInt(mr.varint());
        else if (f === 3) sv = mr.bytes().toString('utf8');
        else mr.skip(tag & 7);
      }
      return t === 1 ? sv : iv;
    }
    default:
      if (wire !== 2) throw new ProtobufDecodeError(`field of ${type} has wire type ${wire}`);
      return decodeMessage(r.bytes(), type);
  }
}

function isZero(v: unknown): boolean {
  if (v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

/** Decodes one message of `typeName` to its JSON form (zero non-pointer fields omitted). */
export function decodeMessage(buf: Buffer, typeName: string): Record<string, unknown> {
  const table = TYPES[typeName];
  if (!table) throw new ProtobufDecodeError(`no protobuf table for ${typeName}`);
  const out: Record<string, unknown> = {};
  const keep = new Set<string>();
  const r = new Reader(buf);
  while (!r.done()) {
    const tag = toInt(r.varint());
    const field = tag >> 3;
    const wire = tag & 7;
    const spec = table[field];
    if (!spec) {
      // Unknown field: fine if it carries nothing (gogo writes zero values of plain fields).
      const start = r.pos;
      r.skip(wire);
      const raw = buf.subarray(start, r.pos);
      const empty = (wire === 0 && raw.length === 1 && raw[0] === 0) || (wire === 2 && raw.length === 1 && raw[0] === 0);
      if (!empty && typeName !== 'Empty') throw new ProtobufDecodeError(`${typeName}: field ${field} is not supported in protobuf; send JSON`);
      continue;
    }
    const [name, rawType] = spec.split(':') as [string, string];
    if (rawType.startsWith('[')) {
      const itemType = rawType.slice(1);
      const list = (out[name] as unknown[] | undefined) ?? [];
      if (wire === 2 && (itemType === 'i' || itemType === 'b')) {
        // packed
        const pr = new Reader(r.bytes());
        while (!pr.done()) list.push(decodeScalarOrMessage(pr, 0, itemType));
      } else {
        list.push(decodeScalarOrMessage(r, wire, itemType));
      }
      out[name] = list;
      continue;
    }
    if (rawType === 'm' || rawType === 'my' || rawType === 'mq') {
      const er = new Reader(r.bytes());
      let k = '';
      let v: unknown = rawType === 'm' ? '' : rawType === 'my' ? '' : '0';
      while (!er.done()) {
        const t = toInt(er.varint());
        if (t >> 3 === 1) k = er.bytes().toString('utf8');
        else if (t >> 3 === 2) v = decodeScalarOrMessage(er, t & 7, rawType === 'm' ? 's' : rawType === 'my' ? 'y' : 'q');
        else er.skip(t & 7);
      }
      const map = (out[name] as Record<string, unknown> | undefined) ?? {};
      map[k] = v;
      out[name] = map;
      continue;
    }
    const optional = rawType.startsWith('*');
    const type = optional ? rawType.slice(1) : rawType;
    out[name] = decodeScalarOrMessage(r, wire, type);
    if (optional) keep.add(name);
  }
  for (const [k, v] of Object.entries(out)) {
    if (!keep.has(k) && isZero(v)) delete out[k];
  }
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/**
 * Decodes a Kubernetes protobuf envelope to the JSON object it carries (with apiVersion
 * and kind from its TypeMeta).
 * @throws ProtobufDecodeError for anything not in the tables above.
 */
export function decodeKubernetesProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw new ProtobufDecodeError('missing the k8s protobuf prefix');
  const r = new Reader(body.subarray(4));
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  while (!r.done()) {
    const tag = toInt(r.varint());
    const f = tag >> 3;
    if (f === 1) {
      const tm = decodeMessage(r.bytes(), 'TypeMeta');
      apiVersion = String(tm.apiVersion ?? '');
      kind = String(tm.kind ?? '');
    } else if (f === 2) raw = r.bytes();
    else r.skip(tag & 7);
  }
  if (!kind || !raw) throw new ProtobufDecodeError('protobuf envelope without kind or object');
  if (!protobufKindSupported(kind)) throw new ProtobufDecodeError(`kind ${kind} is not supported in protobuf; send JSON`);
  return { apiVersion, kind, ...decodeMessage(raw, kind) };
}
