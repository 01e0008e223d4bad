/**
 * Spec validation for core/v1, after upstream pkg/apis/core/validation/validation.go
 * (v1.32): the same checks, in the same order, with the same field paths and messages,
 * so `kubectl` prints what a real cluster prints. ObjectMeta is validated by the API
 * server; everything here starts below metadata (or at metadata.labels of templates).
 *
 * Objects are unstructured JSON: a Go zero value ("" / 0 / nil) is an absent field here.
 */
import {
  type FieldErrorList, type FieldPath, fieldDuplicate, fieldForbidden, fieldInvalid, fieldNotFound,
  fieldNotSupported, fieldRequired, fieldTooLong, goQuote, goTyped, newPath,
} from '../../../apimachinery/errors.js';
import {
  IS_NEGATIVE_ERROR_MSG, inclusiveRangeError, isConfigMapKey, isDNS1123Label, isDNS1123Subdomain,
  isQualifiedName, isValidCIDR, isValidGroupID, isValidIP, isValidLabelValue, isValidPortName, isValidPortNum, isValidUserID, parseIPFamily,
  validateAnnotations, validateLabelName, validateLabels, validatePortNumOrName,
} from '../../../apimachinery/validation.js';
import { QuantityParseError, parseQuantity, type Quantity } from '../../../apimachinery/quantity.js';
import { isIntOrString } from '../../../apimachinery/intstr.js';
import { type Obj, arr, goStringMap, isSet, num, obj, objs, same, str, strMap } from './util.js';
import { VOLUME_SOURCE_KEYS, externallyAccessible } from './defaults.js';

/** supportedPortProtocols, as sets.List prints it (sorted). */
export const SUPPORTED_PORT_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
/** MaxSecretSize: the limit on a Secret's or ConfigMap's total data (1 MiB). */
export const MAX_SECRET_SIZE = 1 * 1024 * 1024;
const MAX_INT32 = 2147483647;
const FILE_MODE_ERROR_MSG = 'must be a number between 0 and 0777 (octal), both inclusive';

/** ValidateDNS1123Label as field errors. */
export function validateDNS1123Label(value: string, fldPath: FieldPath): FieldErrorList {
  return isDNS1123Label(value).map((m) => fieldInvalid(fldPath, value, m));
}

/** ValidateDNS1123Subdomain as field errors. */
export function validateDNS1123Subdomain(value: string, fldPath: FieldPath): FieldErrorList {
  return isDNS1123Subdomain(value).map((m) => fieldInvalid(fldPath, value, m));
}

/** ValidateNonnegativeField with the value's own number. */
function nonNegative(value: unknown, fldPath: FieldPath): FieldErrorList {
  const v = num(value);
  return v < 0 ? [fieldInvalid(fldPath, v, IS_NEGATIVE_ERROR_MSG)] : [];
}

/** A Go struct value rendered as `%#v` would (for Duplicate/Invalid values upstream prints raw). */
function goStruct(type: string, fields: [string, string][]): { toString(): string } {
  const text = `${type}{${fields.map(([k, v]) => `${k}:${v}`).join(', ')}}`;
  return { toString: () => text };
}

// ---------------------------------------------------------------------------------------
// Quantities and resources
// ---------------------------------------------------------------------------------------

function parseQ(v: unknown): Quantity | string {
  try {
    return parseQuantity(typeof v === 'number' ? String(v) : str(v));
  } catch (e) {
    return e instanceof QuantityParseError ? e.message : String(e);
  }
}

const standardContainerResources = new Set(['cpu', 'memory', 'ephemeral-storage']);

function isHugePageResourceName(name: string): boolean {
  return name.startsWith('hugepages-');
}

/** IsNativeResource: no domain, or the kubernetes.io domain. */
function isNativeResource(name: string): boolean {
  return !name.includes('/') || name.includes('kubernetes.io/');
}

/** IsOvercommitAllowed: cpu, memory, ephemeral-storage and other native non-hugepage resources. */
function isOvercommitAllowed(name: string): boolean {
  return isNativeResource(name) && !isHugePageResourceName(name);
}

/** IsStandardResourceName (without the quota-only names Flotilla does not serve). */
const standardResourceNames = new Set([
  'cpu', 'memory', 'ephemeral-storage', 'storage', 'pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets',
  'configmaps', 'persistentvolumeclaims', 'services.nodeports', 'services.loadbalancers', 'requests.cpu', 'requests.memory',
  'requests.ephemeral-storage', 'requests.storage', 'limits.cpu', 'limits.memory', 'limits.ephemeral-storage',
]);

function validateResourceName(name: string, fldPath: FieldPath): FieldErrorList {
  const errs = isQualifiedName(name).map((m) => fieldInvalid(fldPath, name, m));
  if (errs.length > 0) return errs;
  if (!name.includes('/') && !standardResourceNames.has(name) && !/^(requests\.|limits\.)?hugepages-/.test(name)) {
    errs.push(fieldInvalid(fldPath, name, 'must be a standard resource type or fully qualified'));
  }
  return errs;
}

function validateContainerResourceName(name: string, fldPath: FieldPath): FieldErrorList {
  const errs = validateResourceName(name, fldPath);
  if (!name.includes('/')) {
    if (!standardContainerResources.has(name) && !isHugePageResourceName(name)) {
      errs.push(fieldInvalid(fldPath, name, 'must be a standard resource for containers'));
    }
  } else if (!isNativeResource(name) && name.startsWith('requests.')) {
    errs.push(fieldInvalid(fldPath, name, "doesn't follow extended resource name standard"));
  }
  return errs;
}

/** ValidateResourceRequirements (container resources). */
export function validateResourceRequirements(resources: Obj | undefined, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  if (!resources) return errs;
  const limPath = fldPath.child('limits');
  const reqPath = fldPath.child('requests');
  const limits = obj(resources.limits) ?? {};
  const requests = obj(resources.requests) ?? {};
  const parsedLimits = new Map<string, Quantity>();
  for (const [name, raw] of Object.entries(limits)) {
    const p = limPath.key(name);
    errs.push(...validateContainerResourceName(name, p));
    const q = parseQ(raw);
    if (typeof q === 'string') {
      errs.push(fieldInvalid(p, raw, q));
      continue;
    }
    if (q.sign() < 0) errs.push(fieldInvalid(p, q.toString(), IS_NEGATIVE_ERROR_MSG));
    parsedLimits.set(name, q);
  }
  for (const [name, raw] of Object.entries(requests)) {
    const p = reqPath.key(name);
    errs.push(...validateContainerResourceName(name, p));
    const q = parseQ(raw);
    if (typeof q === 'string') {
      errs.push(fieldInvalid(p, raw, q));
      continue;
    }
    if (q.sign() < 0) errs.push(fieldInvalid(p, q.toString(), IS_NEGATIVE_ERROR_MSG));
    const limit = parsedLimits.get(name);
    if (limit) {
      if (q.cmp(limit) !== 0 && !isOvercommitAllowed(name)) {
        errs.push(fieldInvalid(reqPath, q.toString(), `must be equal to ${name} limit of ${limit.toString()}`));
      } else if (q.cmp(limit) > 0) {
        errs.push(fieldInvalid(reqPath, q.toString(), `must be less than or equal to ${name} limit of ${limit.toString()}`));
      }
    } else if (!isOvercommitAllowed(name)) {
      errs.push(fieldRequired(limPath, 'Limit must be set for non overcommitable resources'));
    }
  }
  return errs;
}

// ---------------------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------------------

function validateContainerPorts(ports: unknown, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  const names = new Set<string>();
  objs(ports).forEach((port, i) => {
    const idx = fldPath.index(i);
    const name = str(port.name);
    if (name) {
      const msgs = isValidPortName(name);
      if (msgs.length > 0) for (const m of msgs) errs.push(fieldInvalid(idx.child('name'), name, m));
      else if (names.has(name)) errs.push(fieldDuplicate(idx.child('name'), name));
      else names.add(name);
    }
    const containerPort = num(port.containerPort);
    if (containerPort === 0) errs.push(fieldRequired(idx.child('containerPort'), ''));
    else for (const m of isValidPortNum(containerPort)) errs.push(fieldInvalid(idx.child('containerPort'), containerPort, m));
    const hostPort = num(port.hostPort);
    if (hostPort !== 0) for (const m of isValidPortNum(hostPort)) errs.push(fieldInvalid(idx.child('hostPort'), hostPort, m));
    errs.push(...validateProtocol(port.protocol, idx.child('protocol')));
  });
  return errs;
}

function validateProtocol(protocol: unknown, fldPath: FieldPath): FieldErrorList {
  const p = str(protocol);
  if (!p) return [fieldRequired(fldPath, '')];
  if (!SUPPORTED_PORT_PROTOCOLS.includes(p)) return [fieldNotSupported(fldPath, p, SUPPORTED_PORT_PROTOCOLS)];
  return [];
}

/** AccumulateUniqueHostPorts over containers: hostIP/protocol/hostPort must be unique. */
function checkHostPortConflicts(containers: Obj[], fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  const seen = new Set<string>();
  containers.forEach((c, ci) => {
    objs(c.ports).forEach((p, pi) => {
      const hostPort = num(p.hostPort);
      if (hostPort === 0) return;
      const key = `${str(p.hostIP)}/${str(p.protocol)}/${hostPort}`;
      if (seen.has(key)) errs.push(fieldDuplicate(fldPath.index(ci).child('ports').index(pi).child('hostPort'), key));
      else seen.add(key);
    });
  });
  return errs;
}

const validEnvDownwardAPIFieldPaths = [
  'metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName',
  'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs',
];
const validVolumeDownwardAPIFieldPaths = ['metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid'];

function validateObjectFieldSelector(fs: Obj, valid: readonly string[], fldPath: FieldPath): FieldErrorList {
  if (!str(fs.apiVersion)) return [fieldRequired(fldPath.child('apiVersion'), '')];
  const fieldPath = str(fs.fieldPath);
  if (!fieldPath) return [fieldRequired(fldPath.child('fieldPath'), '')];
  if (fs.apiVersion !== 'v1') {
    return [fieldInvalid(fldPath.child('fieldPath'), fieldPath, `error converting fieldPath: field label not supported: ${fieldPath}`)];
  }
  const m = /^(metadata\.(?:annotations|labels))\['(.*)'\]$/.exec(fieldPath);
  if (m) {
    return isQualifiedName(m[2]!.toLowerCase()).map((msg) => fieldInvalid(fldPath.child('fieldPath'), fieldPath, msg));
  }
  if (!valid.includes(fieldPath)) return [fieldNotSupported(fldPath.child('fieldPath'), fieldPath, valid)];
  return [];
}

function validateKeySelector(s: Obj, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  const name = str(s.name);
  for (const m of isDNS1123Subdomain(name)) errs.push(fieldInvalid(fldPath.child('name'), name, m));
  const key = str(s.key);
  if (!key) errs.push(fieldRequired(fldPath.child('key'), ''));
  else for (const m of isConfigMapKey(key)) errs.push(fieldInvalid(fldPath.child('key'), key, m));
  return errs;
}

/** IsRelaxedEnvVarName (RelaxedEnvironmentVariableValidation, beta and on in v1.32). */
function isRelaxedEnvVarName(value: string): string[] {
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (cp > 0x7e || cp < 0x20 || ch === '=') {
      return ["a valid environment variable name must consist only of printable ASCII characters other than '='"];
    }
  }
  return [];
}

/** ValidateEnv. */
export function validateEnv(env: unknown, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  objs(env).forEach((ev, i) => {
    const idx = fldPath.index(i);
    const name = str(ev.name);
    if (!name) errs.push(fieldRequired(idx.child('name'), ''));
    else for (const m of isRelaxedEnvVarName(name)) errs.push(fieldInvalid(idx.child('name'), name, m));
    const from = obj(ev.valueFrom);
    if (!from) return;
    const p = idx.child('valueFrom');
    let sources = 0;
    const fieldRef = obj(from.fieldRef);
    if (fieldRef) {
      sources++;
      errs.push(...validateObjectFieldSelector(fieldRef, validEnvDownwardAPIFieldPaths, p.child('fieldRef')));
    }
    const resourceFieldRef = obj(from.resourceFieldRef);
    if (resourceFieldRef) {
      sources++;
      const resource = str(resourceFieldRef.resource);
      if (!resource) errs.push(fieldRequired(p.child('resourceFieldRef').child('resource'), ''));
    }
    const cmRef = obj(from.configMapKeyRef);
    if (cmRef) {
      sources++;
      errs.push(...validateKeySelector(cmRef, p.child('configMapKeyRef')));
    }
    const secretRef = obj(from.secretKeyRef);
    if (secretRef) {
      sources++;
      errs.push(...validateKeySelector(secretRef, p.child('secretKeyRef')));
    }
    if (sources === 0) {
      errs.push(fieldInvalid(p, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
    } else if (str(ev.value) !== '') {
      errs.push(fieldInvalid(p, '', 'may not be specified when `value` is not empty'));
    } else if (sources > 1) {
      errs.push(fieldInvalid(p, '', 'may not have more than one field specified at a time'));
    }
  });
  return errs;
}

function validateEnvFrom(envFrom: unknown, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  objs(envFrom).forEach((ev, i) => {
    const idx = fldPath.index(i);
    const prefix = str(ev.prefix);
    if (prefix) for (const m of isRelaxedEnvVarName(prefix)) errs.push(fieldInvalid(idx.child('prefix'), prefix, m));
    let sources = 0;
    for (const key of ['configMapRef', 'secretRef']) {
      const ref = obj(ev[key]);
      if (!ref) continue;
      sources++;
      const name = str(ref.name);
      for (const m of isDNS1123Subdomain(name)) errs.push(fieldInvalid(idx.child(key, 'name'), name, m));
    }
    if (sources === 0) errs.push(fieldInvalid(idx, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (sources > 1) errs.push(fieldInvalid(idx, '', 'may not have more than one field specified at a time'));
  });
  return errs;
}

function validateVolumeMounts(mounts: unknown, volumes: Set<string>, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  const mountPoints = new Set<string>();
  objs(mounts).forEach((m, i) => {
    const idx = fldPath.index(i);
    const name = str(m.name);
    const mountPath = str(m.mountPath);
    if (!name) errs.push(fieldRequired(idx.child('name'), ''));
    if (!volumes.has(name)) errs.push(fieldNotFound(idx.child('name'), name));
    if (!mountPath) errs.push(fieldRequired(idx.child('mountPath'), ''));
    if (mountPoints.has(mountPath)) errs.push(fieldInvalid(idx.child('mountPath'), mountPath, 'must be unique'));
    mountPoints.add(mountPath);
    const subPath = str(m.subPath);
    if (subPath) errs.push(...validateLocalDescendingPath(subPath, fldPath.child('subPath')));
    if (isSet(m.mountPropagation)) {
      const mp = str(m.mountPropagation);
      const valid = ['None', 'HostToContainer', 'Bidirectional'];
      if (!valid.includes(mp)) errs.push(fieldNotSupported(idx.child('mountPropagation'), mp, valid));
    }
  });
  return errs;
}

/** validateLocalDescendingPath: relative, no `..` element. */
function validateLocalDescendingPath(p: string, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  if (p.startsWith('/')) errs.push(fieldInvalid(fldPath, p, 'must be a relative path'));
  if (p.split('/').includes('..')) errs.push(fieldInvalid(fldPath, p, "must not contain '..'"));
  return errs;
}

function validatePullPolicy(policy: unknown, fldPath: FieldPath): FieldErrorList {
  const p = str(policy);
  if (p === 'Always' || p === 'IfNotPresent' || p === 'Never') return [];
  if (p === '') return [fieldRequired(fldPath, '')];
  return [fieldNotSupported(fldPath, p, ['Always', 'IfNotPresent', 'Never'])];
}

function validateHandler(h: Obj, fldPath: FieldPath, allowSleep: boolean): FieldErrorList {
  const errs: FieldErrorList = [];
  let handlers = 0;
  const kinds = allowSleep ? ['exec', 'httpGet', 'tcpSocket', 'grpc', 'sleep'] : ['exec', 'httpGet', 'tcpSocket', 'grpc'];
  for (const kind of kinds) {
    const action = obj(h[kind]);
    if (!action) continue;
    const p = fldPath.child(kind);
    if (handlers > 0) {
      errs.push(fieldForbidden(p, 'may not specify more than 1 handler type'));
      continue;
    }
    handlers++;
    switch (kind) {
      case 'exec':
        if (arr(action.command).length === 0) errs.push(fieldRequired(p.child('command'), ''));
        break;
      case 'httpGet': {
        if (!str(action.path)) errs.push(fieldRequired(p.child('path'), ''));
        errs.push(...validatePortNumOrNameValue(action.port, p.child('port')));
        const scheme = str(action.scheme);
        if (scheme !== 'HTTP' && scheme !== 'HTTPS') errs.push(fieldNotSupported(p.child('scheme'), scheme, ['HTTP', 'HTTPS']));
        objs(action.httpHeaders).forEach((hdr, i) => {
          const name = str(hdr.name);
          if (!/^[-A-Za-z0-9]+$/.test(name)) {
            errs.push(fieldInvalid(p.child('httpHeaders').index(i).child('name'), name,
              "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')"));
          }
        });
        break;
      }
      case 'tcpSocket':
        errs.push(...validatePortNumOrNameValue(action.port, p.child('port')));
        break;
      case 'grpc':
        for (const m of isValidPortNum(num(action.port))) errs.push(fieldInvalid(p.child('port'), num(action.port), m));
        break;
      case 'sleep': {
        const seconds = num(action.seconds);
        if (seconds <= 0) errs.push(fieldInvalid(p.child('seconds'), seconds, 'must be greater than 0 and less than terminationGracePeriodSeconds (30)'));
        break;
      }
    }
  }
  if (handlers === 0) errs.push(fieldRequired(fldPath, 'must specify a handler type'));
  return errs;
}

function validatePortNumOrNameValue(port: unknown, fldPath: FieldPath): FieldErrorList {
  if (!isIntOrString(port)) return validatePortNumOrName(0, fldPath);
  return validatePortNumOrName(port, fldPath);
}

function validateProbe(probe: Obj | undefined, fldPath: FieldPath, mustBeOneSuccess: boolean): FieldErrorList {
  if (!probe) return [];
  const errs = validateHandler(probe, fldPath, false);
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    errs.push(...nonNegative(probe[f], fldPath.child(f)));
  }
  if (isSet(probe.terminationGracePeriodSeconds) && num(probe.terminationGracePeriodSeconds) <= 0) {
    errs.push(fieldInvalid(fldPath.child('terminationGracePeriodSeconds'), num(probe.terminationGracePeriodSeconds), 'must be greater than 0'));
  }
  if (mustBeOneSuccess && num(probe.successThreshold) !== 1) {
    errs.push(fieldInvalid(fldPath.child('successThreshold'), num(probe.successThreshold), 'must be 1'));
  }
  return errs;
}

function validateContainerCommon(c: Obj, volumes: Set<string>, path: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  const name = str(c.name);
  if (!name) errs.push(fieldRequired(path.child('name'), ''));
  else errs.push(...validateDNS1123Label(name, path.child('name')));
  if (!str(c.image)) errs.push(fieldRequired(path.child('image'), ''));
  const tmp = str(c.terminationMessagePolicy);
  if (tmp === '') errs.push(fieldRequired(path.child('terminationMessagePolicy'), ''));
  else if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError') {
    errs.push(fieldNotSupported(path.child('terminationMessagePolicy'), tmp, ['File', 'FallbackToLogsOnError']));
  }
  errs.push(...validateContainerPorts(c.ports, path.child('ports')));
  errs.push(...validateEnv(c.env, path.child('env')));
  errs.push(...validateEnvFrom(c.envFrom, path.child('envFrom')));
  errs.push(...validateVolumeMounts(c.volumeMounts, volumes, path.child('volumeMounts')));
  errs.push(...validatePullPolicy(c.imagePullPolicy, path.child('imagePullPolicy')));
  errs.push(...validateResourceRequirements(obj(c.resources), path.child('resources')));
  errs.push(...validateSecurityContextIDs(obj(c.securityContext), path.child('securityContext')));
  return errs;
}

/** The user/group ID checks of ValidateSecurityContext / validatePodSpecSecurityContext. */
function validateSecurityContextIDs(sc: Obj | undefined, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  if (!sc) return errs;
  if (isSet(sc.runAsUser)) for (const m of isValidUserID(num(sc.runAsUser))) errs.push(fieldInvalid(fldPath.child('runAsUser'), num(sc.runAsUser), m));
  if (isSet(sc.runAsGroup)) for (const m of isValidGroupID(num(sc.runAsGroup))) errs.push(fieldInvalid(fldPath.child('runAsGroup'), num(sc.runAsGroup), m));
  if (isSet(sc.fsGroup)) for (const m of isValidGroupID(num(sc.fsGroup))) errs.push(fieldInvalid(fldPath.child('fsGroup'), num(sc.fsGroup), m));
  arr(sc.supplementalGroups).forEach((g, i) => {
    for (const m of isValidGroupID(num(g))) errs.push(fieldInvalid(fldPath.child('supplementalGroups').index(i), num(g), m));
  });
  return errs;
}

function validateContainers(containers: unknown, volumes: Set<string>, fldPath: FieldPath): FieldErrorList {
  const list = objs(containers);
  if (list.length === 0) return [fieldRequired(fldPath, '')];
  const errs: FieldErrorList = [];
  const names = new Set<string>();
  list.forEach((c, i) => {
    const path = fldPath.index(i);
    errs.push(...validateContainerCommon(c, volumes, path));
    const name = str(c.name);
    if (names.has(name)) errs.push(fieldDuplicate(path.child('name'), name));
    else names.add(name);
    const lifecycle = obj(c.lifecycle);
    if (lifecycle) {
      for (const key of ['postStart', 'preStop']) {
        const h = obj(lifecycle[key]);
        if (h) errs.push(...validateHandler(h, path.child('lifecycle', key), true));
      }
    }
    errs.push(...validateProbe(obj(c.livenessProbe), path.child('livenessProbe'), true));
    errs.push(...validateProbe(obj(c.readinessProbe), path.child('readinessProbe'), false));
    errs.push(...validateProbe(obj(c.startupProbe), path.child('startupProbe'), true));
    if (isSet(c.restartPolicy)) errs.push(fieldForbidden(path.child('restartPolicy'), 'may not be set for non-init containers'));
  });
  errs.push(...checkHostPortConflicts(list, fldPath));
  return errs;
}

function validateInitContainers(initContainers: unknown, containers: unknown, volumes: Set<string>, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  const names = new Set(objs(containers).map((c) => str(c.name)));
  const list = objs(initContainers);
  list.forEach((c, i) => {
    const path = fldPath.index(i);
    errs.push(...validateContainerCommon(c, volumes, path));
    const name = str(c.name);
    if (names.has(name)) errs.push(fieldDuplicate(path.child('name'), name));
    else names.add(name);
    const restartable = isSet(c.restartPolicy);
    if (restartable && c.restartPolicy !== 'Always') {
      errs.push(fieldNotSupported(path.child('restartPolicy'), str(c.restartPolicy), ['Always']));
    }
    if (restartable) {
      errs.push(...validateProbe(obj(c.livenessProbe), path.child('livenessProbe'), true));
      errs.push(...validateProbe(obj(c.readinessProbe), path.child('readinessProbe'), false));
      errs.push(...validateProbe(obj(c.startupProbe), path.child('startupProbe'), true));
    } else {
      if (isSet(c.lifecycle)) errs.push(fieldForbidden(path.child('lifecycle'), 'may not be set for init containers without restartPolicy=Always'));
      if (isSet(c.livenessProbe)) errs.push(fieldForbidden(path.child('livenessProbe'), 'may not be set for init containers without restartPolicy=Always'));
      if (isSet(c.readinessProbe)) errs.push(fieldForbidden(path.child('readinessProbe'), 'may not be set for init containers without restartPolicy=Always'));
      if (isSet(c.startupProbe)) errs.push(fieldForbidden(path.child('startupProbe'), 'may not be set for init containers without restartPolicy=Always'));
    }
  });
  errs.push(...checkHostPortConflicts(list, fldPath));
  return errs;
}

// ---------------------------------------------------------------------------------------
// Volumes
// ---------------------------------------------------------------------------------------

function validateMode(mode: unknown, fldPath: FieldPath): FieldErrorList {
  if (!isSet(mode)) return [];
  const m = num(mode);
  return m > 0o777 || m < 0 ? [fieldInvalid(fldPath, m, FILE_MODE_ERROR_MSG)] : [];
}

function validateKeyToPaths(items: unknown, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  objs(items).forEach((item, i) => {
    const idx = fldPath.index(i);
    if (!str(item.key)) errs.push(fieldRequired(idx.child('key'), ''));
    const p = str(item.path);
    if (!p) errs.push(fieldRequired(idx.child('path'), ''));
    else errs.push(...validateLocalNonReservedPath(p, idx.child('path')));
    errs.push(...validateMode(item.mode, idx.child('mode')));
  });
  return errs;
}

function validateLocalNonReservedPath(p: string, fldPath: FieldPath): FieldErrorList {
  const errs = validateLocalDescendingPath(p, fldPath);
  if (p.startsWith('..')) errs.push(fieldInvalid(fldPath, p, "must not start with '..'"));
  return errs;
}

function validateVolumeSource(v: Obj, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  let count = 0;
  for (const key of VOLUME_SOURCE_KEYS) {
    if (!isSet(v[key])) continue;
    const p = fldPath.child(key);
    if (count > 0) {
      errs.push(fieldForbidden(p, 'may not specify more than 1 volume type'));
      continue;
    }
    count++;
    const src = obj(v[key]) ?? {};
    switch (key) {
      case 'hostPath': {
        if (!str(src.path)) errs.push(fieldRequired(p.child('path'), ''));
        else errs.push(...(str(src.path).split('/').includes('..') ? [fieldInvalid(p.child('path'), str(src.path), "must not contain '..'")] : []));
        const type = str(src.type);
        const valid = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];
        if (isSet(src.type) && !valid.includes(type)) errs.push(fieldNotSupported(p.child('type'), type, valid));
        break;
      }
      case 'secret':
        if (!str(src.secretName)) errs.push(fieldRequired(p.child('secretName'), ''));
        errs.push(...validateMode(src.defaultMode, p.child('defaultMode')));
        errs.push(...validateKeyToPaths(src.items, p.child('items')));
        break;
      case 'configMap': {
        const name = str(src.name);
        if (!name) errs.push(fieldRequired(p.child('name'), ''));
        else for (const m of isDNS1123Subdomain(name)) errs.push(fieldInvalid(p.child('name'), name, m));
        errs.push(...validateMode(src.defaultMode, p.child('defaultMode')));
        errs.push(...validateKeyToPaths(src.items, p.child('items')));
        break;
      }
      case 'persistentVolumeClaim':
        if (!str(src.claimName)) errs.push(fieldRequired(p.child('claimName'), ''));
        break;
      case 'nfs':
        if (!str(src.server)) errs.push(fieldRequired(p.child('server'), ''));
        if (!str(src.path)) errs.push(fieldRequired(p.child('path'), ''));
        else if (!str(src.path).startsWith('/')) errs.push(fieldInvalid(p.child('path'), str(src.path), 'must be an absolute path'));
        break;
      case 'emptyDir':
        if (isSet(src.sizeLimit)) {
          const q = parseQ(src.sizeLimit);
          if (typeof q !== 'string' && q.sign() < 0) errs.push(fieldForbidden(p.child('sizeLimit'), 'SizeLimit field must be a valid resource quantity'));
        }
        break;
      case 'downwardAPI':
        errs.push(...validateMode(src.defaultMode, p.child('defaultMode')));
        objs(src.items).forEach((item, i) => {
          const idx = p.child('items').index(i);
          const path = str(item.path);
          if (!path) errs.push(fieldRequired(idx.child('path'), ''));
          else errs.push(...validateLocalNonReservedPath(path, idx.child('path')));
          errs.push(...validateMode(item.mode, idx.child('mode')));
          const fieldRef = obj(item.fieldRef);
          if (fieldRef) errs.push(...validateObjectFieldSelector(fieldRef, validVolumeDownwardAPIFieldPaths, idx.child('fieldRef')));
        });
        break;
      case 'projected':
        errs.push(...validateMode(src.defaultMode, p.child('defaultMode')));
        break;
    }
  }
  if (count === 0) errs.push(fieldRequired(fldPath, 'must specify a volume type'));
  return errs;
}

/** ValidateVolumes: the names of the valid volumes, and the errors. */
export function validateVolumes(volumes: unknown, fldPath: FieldPath): { names: Set<string>; errs: FieldErrorList } {
  const errs: FieldErrorList = [];
  const names = new Set<string>();
  objs(volumes).forEach((v, i) => {
    const idx = fldPath.index(i);
    const namePath = idx.child('name');
    const name = str(v.name);
    const el = validateVolumeSource(v, idx);
    if (!name) el.push(fieldRequired(namePath, ''));
    else el.push(...validateDNS1123Label(name, namePath));
    if (names.has(name)) el.push(fieldDuplicate(namePath, name));
    if (el.length === 0) names.add(name);
    else errs.push(...el);
  });
  return { names, errs };
}

// ---------------------------------------------------------------------------------------
// Pod spec
// ---------------------------------------------------------------------------------------

function validateRestartPolicy(policy: unknown, fldPath: FieldPath): FieldErrorList {
  const p = str(policy);
  if (p === 'Always' || p === 'OnFailure' || p === 'Never') return [];
  if (p === '') return [fieldRequired(fldPath, '')];
  return [fieldNotSupported(fldPath, p, ['Always', 'OnFailure', 'Never'])];
}

function validateDNSPolicy(policy: unknown, fldPath: FieldPath): FieldErrorList {
  const p = str(policy);
  const valid = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
  if (valid.includes(p)) return [];
  if (p === '') return [fieldRequired(fldPath, '')];
  return [fieldNotSupported(fldPath, p, valid)];
}

/** validateTaintEffect. */
export function validateTaintEffect(effect: string, allowEmpty: boolean, fldPath: FieldPath): FieldErrorList {
  if (!allowEmpty && effect === '') return [fieldRequired(fldPath, '')];
  if (effect === 'NoSchedule' || effect === 'PreferNoSchedule' || effect === 'NoExecute') return [];
  return [fieldNotSupported(fldPath, effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute'])];
}

function tolerationValue(t: Obj): { toString(): string } {
  const secs = isSet(t.tolerationSeconds) ? `&${num(t.tolerationSeconds)}` : '(*int64)(nil)';
  return goStruct('core.Toleration', [
    ['Key', goQuote(str(t.key))], ['Operator', goQuote(str(t.operator))], ['Value', goQuote(str(t.value))],
    ['Effect', goQuote(str(t.effect))], ['TolerationSeconds', secs],
  ]);
}

/** ValidateTolerations. */
export function validateTolerations(tolerations: unknown, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  objs(tolerations).forEach((t, i) => {
    const idx = fldPath.index(i);
    const key = str(t.key);
    const operator = str(t.operator);
    const effect = str(t.effect);
    if (key) errs.push(...validateLabelName(key, idx.child('key')));
    if (!key && operator !== 'Exists') {
      errs.push(fieldInvalid(idx.child('operator'), operator, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (isSet(t.tolerationSeconds) && effect !== 'NoExecute') {
      errs.push(fieldInvalid(idx.child('effect'), effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    switch (operator) {
      case 'Equal':
      case '': {
        const msgs = isValidLabelValue(str(t.value));
        if (msgs.length > 0) errs.push(fieldInvalid(idx.child('operator'), str(t.value), msgs.join(';')));
        break;
      }
      case 'Exists':
        if (str(t.value)) errs.push(fieldInvalid(idx.child('operator'), tolerationValue(t), "value must be empty when `operator` is 'Exists'"));
        break;
      default:
        errs.push(fieldNotSupported(idx.child('operator'), operator, ['Equal', 'Exists']));
    }
    if (effect) errs.push(...validateTaintEffect(effect, true, idx.child('effect')));
  });
  return errs;
}

/** ValidatePodSpec (the parts Flotilla's workloads exercise, in upstream's order). */
export function validatePodSpec(spec: Obj, fldPath: FieldPath, opts: { isPod?: boolean } = {}): FieldErrorList {
  const errs: FieldErrorList = [];
  if (!isSet(spec.terminationGracePeriodSeconds)) errs.push(fieldRequired(fldPath.child('terminationGracePeriodSeconds'), ''));
  const vols = validateVolumes(spec.volumes, fldPath.child('volumes'));
  errs.push(...vols.errs);
  errs.push(...validateContainers(spec.containers, vols.names, fldPath.child('containers')));
  errs.push(...validateInitContainers(spec.initContainers, spec.containers, vols.names, fldPath.child('initContainers')));
  if (spec.hostNetwork === true) {
    // validatePodHostNetworkDeps: in a pod hostPort must equal containerPort; a template may leave it 0.
    objs(spec.containers).forEach((c, ci) => {
      objs(c.ports).forEach((p, pi) => {
        const hp = num(p.hostPort);
        if ((opts.isPod || hp !== 0) && hp !== num(p.containerPort)) {
          errs.push(fieldInvalid(fldPath.child('containers').index(ci).child('ports').index(pi).child('hostPort'), hp, 'must match `containerPort` when `hostNetwork` is true'));
        }
      });
    });
  }
  errs.push(...validateRestartPolicy(spec.restartPolicy, fldPath.child('restartPolicy')));
  errs.push(...validateDNSPolicy(spec.dnsPolicy, fldPath.child('dnsPolicy')));
  errs.push(...validateLabels(strMap(spec.nodeSelector), fldPath.child('nodeSelector')));
  errs.push(...validateSecurityContextIDs(obj(spec.securityContext), fldPath.child('securityContext')));
  objs(spec.imagePullSecrets).forEach((s, i) => {
    if (Object.keys(s).some((k) => k !== 'name')) {
      errs.push(fieldInvalid(fldPath.child('imagePullSecrets').index(i), goTyped('core.LocalObjectReference', { Name: str(s.name) }), 'only name may be set'));
    }
  });
  if (spec.dnsPolicy === 'None') {
    const dnsConfig = obj(spec.dnsConfig);
    if (!dnsConfig) errs.push(fieldRequired(fldPath.child('dnsConfig'), 'must provide `dnsConfig` when `dnsPolicy` is None'));
    else if (arr(dnsConfig.nameservers).length === 0) {
      errs.push(fieldRequired(fldPath.child('dnsConfig', 'nameservers'), 'must provide at least one DNS nameserver when `dnsPolicy` is None'));
    }
  }
  arr(obj(spec.dnsConfig)?.nameservers).forEach((ns, i) => errs.push(...isValidIP(fldPath.child('dnsConfig', 'nameservers').index(i), str(ns))));
  objs(spec.readinessGates).forEach((g, i) => {
    const t = str(g.conditionType);
    for (const m of isQualifiedName(t)) errs.push(fieldInvalid(fldPath.child('readinessGates').index(i).child('conditionType'), t, m));
  });
  const sa = str(spec.serviceAccountName);
  if (sa) for (const m of isDNS1123Subdomain(sa)) errs.push(fieldInvalid(fldPath.child('serviceAccountName'), sa, m));
  const nodeName = str(spec.nodeName);
  if (nodeName) for (const m of isDNS1123Subdomain(nodeName)) errs.push(fieldInvalid(fldPath.child('nodeName'), nodeName, m));
  if (isSet(spec.activeDeadlineSeconds)) {
    const v = num(spec.activeDeadlineSeconds);
    if (v < 1 || v > MAX_INT32) errs.push(fieldInvalid(fldPath.child('activeDeadlineSeconds'), v, inclusiveRangeError(1, MAX_INT32)));
  }
  const hostname = str(spec.hostname);
  if (hostname) errs.push(...validateDNS1123Label(hostname, fldPath.child('hostname')));
  const subdomain = str(spec.subdomain);
  if (subdomain) errs.push(...validateDNS1123Label(subdomain, fldPath.child('subdomain')));
  if (arr(spec.tolerations).length > 0) errs.push(...validateTolerations(spec.tolerations, fldPath.child('tolerations')));
  const pcn = str(spec.priorityClassName);
  if (pcn) for (const m of isDNS1123Subdomain(pcn)) errs.push(fieldInvalid(fldPath.child('priorityClassName'), pcn, m));
  if (isSet(spec.preemptionPolicy)) {
    const pp = str(spec.preemptionPolicy);
    if (pp !== 'PreemptLowerPriority' && pp !== 'Never') errs.push(fieldNotSupported(fldPath.child('preemptionPolicy'), pp, ['Never', 'PreemptLowerPriority']));
  }
  const gates = new Set<string>();
  objs(spec.schedulingGates).forEach((g, i) => {
    const name = str(g.name);
    for (const m of isQualifiedName(name)) errs.push(fieldInvalid(fldPath.child('schedulingGates').index(i), name, m));
    if (gates.has(name)) errs.push(fieldDuplicate(fldPath.child('schedulingGates').index(i), name));
    gates.add(name);
  });
  const schedulerName = str(spec.schedulerName);
  if (schedulerName) errs.push(...validateDNS1123Subdomain(schedulerName, fldPath.child('schedulerName')));
  return errs;
}

/** ValidatePodTemplateSpec: template labels/annotations and its pod spec. */
export function validatePodTemplateSpec(template: Obj, fldPath: FieldPath): FieldErrorList {
  const meta = obj(template.metadata) ?? {};
  const errs: FieldErrorList = [];
  // Upstream validates template labels at `<template>.labels` (not .metadata.labels).
  errs.push(...validateLabels(strMap(meta.labels), fldPath.child('labels')));
  errs.push(...validateAnnotations(strMap(meta.annotations), fldPath.child('annotations')));
  errs.push(...validatePodSpec(obj(template.spec) ?? {}, fldPath.child('spec')));
  if (arr(obj(template.spec)?.ephemeralContainers).length > 0) {
    errs.push(fieldForbidden(fldPath.child('spec', 'ephemeralContainers'), 'ephemeral containers not allowed in pod template'));
  }
  return errs;
}

/** The pod spec fields an update may change, as upstream's Forbidden message lists them. */
const UPDATABLE_POD_SPEC_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

/** Go field names of PodSpec, for the (simplified) diff in the Forbidden message. */
function goFieldName(jsonName: string): string {
  const special: Record<string, string> = {
    serviceAccount: 'DeprecatedServiceAccount', dnsPolicy: 'DNSPolicy', dnsConfig: 'DNSConfig', hostIPC: 'HostIPC',
    hostPID: 'HostPID', nodeName: 'NodeName', os: 'OS',
  };
  return special[jsonName] ?? jsonName.charAt(0).toUpperCase() + jsonName.slice(1);
}

function diffValue(v: unknown, like: unknown): string {
  if (v !== undefined) return JSON.stringify(v);
  switch (typeof like) {
    case 'string': return '""';
    case 'number': return '0';
    case 'boolean': return 'false';
    default: return 'nil';
  }
}

/** A cmp.Diff-like rendering of what differs between two pod specs (top-level fields). */
function podSpecDiff(oldSpec: Obj, newSpec: Obj): string {
  const keys = [...new Set([...Object.keys(oldSpec), ...Object.keys(newSpec)])].sort();
  const lines = ['  core.PodSpec{'];
  for (const k of keys) {
    if (same(oldSpec[k], newSpec[k])) continue;
    // An absent field shows as its Go zero value, as cmp.Diff prints it.
    const other = oldSpec[k] !== undefined ? oldSpec[k] : newSpec[k];
    lines.push(`- \t${goFieldName(k)}: ${diffValue(oldSpec[k], other)},`);
    lines.push(`+ \t${goFieldName(k)}: ${diffValue(newSpec[k], other)},`);
  }
  lines.push('  }');
  return lines.join('\n') + '\n';
}

function validateContainerUpdates(newList: Obj[], oldList: Obj[], fldPath: FieldPath): { errs: FieldErrorList; stop: boolean } {
  if (newList.length !== oldList.length) return { errs: [fieldForbidden(fldPath, 'pod updates may not add or remove containers')], stop: true };
  const errs: FieldErrorList = [];
  newList.forEach((c, i) => {
    const image = str(c.image);
    if (!image) errs.push(fieldRequired(fldPath.index(i).child('image'), ''));
    if (image.trim().length !== image.length) {
      errs.push(fieldInvalid(fldPath.index(i).child('image'), image, 'must not have leading or trailing whitespace'));
    }
  });
  return { errs, stop: false };
}

function validateOnlyAddedTolerations(newT: Obj[], oldT: Obj[], fldPath: FieldPath): FieldErrorList {
  for (const old of oldT) {
    const found = newT.some((n) => same({ ...old, tolerationSeconds: n.tolerationSeconds }, n));
    if (!found) return [fieldForbidden(fldPath, 'existing toleration can not be modified except its tolerationSeconds')];
  }
  return validateTolerations(newT, fldPath);
}

/** ValidatePodUpdate's spec part (metadata is the API server's). */
export function validatePodSpecUpdate(newSpec: Obj, oldSpec: Obj): FieldErrorList {
  const specPath = newPath('spec');
  const errs = validatePodSpec(newSpec, specPath, { isPod: true });
  for (const key of ['containers', 'initContainers']) {
    const r = validateContainerUpdates(objs(newSpec[key]), objs(oldSpec[key]), specPath.child(key));
    errs.push(...r.errs);
    if (r.stop) return errs;
  }
  if (isSet(newSpec.activeDeadlineSeconds)) {
    const v = num(newSpec.activeDeadlineSeconds);
    if (v < 0 || v > MAX_INT32) {
      errs.push(fieldInvalid(specPath.child('activeDeadlineSeconds'), v, inclusiveRangeError(0, MAX_INT32)));
      return errs;
    }
    if (isSet(oldSpec.activeDeadlineSeconds) && num(oldSpec.activeDeadlineSeconds) < v) {
      errs.push(fieldInvalid(specPath.child('activeDeadlineSeconds'), v, 'must be less than or equal to previous value'));
      return errs;
    }
  } else if (isSet(oldSpec.activeDeadlineSeconds)) {
    errs.push(fieldInvalid(specPath.child('activeDeadlineSeconds'), null, 'must not update from a positive integer to nil value'));
  }
  errs.push(...validateOnlyAddedTolerations(objs(newSpec.tolerations), objs(oldSpec.tolerations), specPath.child('tolerations')));
  if (same(newSpec, oldSpec)) return errs;

  // Munge the updatable fields back to their old values; anything left differing is forbidden.
  const munged: Obj = JSON.parse(JSON.stringify(newSpec)) as Obj;
  for (const key of ['containers', 'initContainers']) {
    const oldList = objs(oldSpec[key]);
    objs(munged[key]).forEach((c, i) => {
      if (oldList[i]?.image === undefined) delete c.image;
      else c.image = oldList[i]!.image;
    });
  }
  setOrDelete(munged, 'activeDeadlineSeconds', oldSpec.activeDeadlineSeconds);
  setOrDelete(munged, 'schedulingGates', oldSpec.schedulingGates);
  setOrDelete(munged, 'tolerations', oldSpec.tolerations);
  if (num(oldSpec.terminationGracePeriodSeconds) < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  }
  if (!same(munged, oldSpec)) {
    errs.push(fieldForbidden(specPath, `pod updates may not change fields other than ${UPDATABLE_POD_SPEC_FIELDS.join(',')}\n${podSpecDiff(oldSpec, munged)}`));
  }
  return errs;
}

function setOrDelete(o: Obj, key: string, value: unknown): void {
  if (value === undefined) delete o[key];
  else o[key] = value;
}

/** validatePodIPs / hostIPs of a pod status. */
export function validatePodStatus(status: Obj): FieldErrorList {
  const errs: FieldErrorList = [];
  const statusPath = newPath('status');
  const nominated = str(status.nominatedNodeName);
  if (nominated) for (const m of isDNS1123Subdomain(nominated)) errs.push(fieldInvalid(statusPath.child('nominatedNodeName'), nominated, m));
  for (const key of ['podIPs', 'hostIPs']) {
    const ips = objs(status[key]);
    ips.forEach((ip, i) => errs.push(...isValidIP(statusPath.child(key).index(i), str(ip.ip))));
    if (ips.length > 1) {
      const fams = ips.map((ip) => parseIPFamily(str(ip.ip)));
      if (ips.length > 2 || fams[0] === fams[1]) {
        errs.push(fieldInvalid(statusPath.child(key), goTyped(`[]core.${key === 'podIPs' ? 'PodIP' : 'HostIP'}`, ips.map((x) => str(x.ip))), 'may specify no more than one IP for each IP family'));
      }
    }
  }
  return errs;
}

// ---------------------------------------------------------------------------------------
// Services
// ---------------------------------------------------------------------------------------

/** The nodePort range of a default API server (--service-node-port-range). */
export const DEFAULT_SERVICE_NODE_PORT_RANGE = { base: 30000, size: 2768 };

function isHeadless(spec: Obj): boolean {
  return str(spec.clusterIP) === 'None';
}

/** ValidateService (create). */
export function validateService(svc: Obj, nodePortRange = DEFAULT_SERVICE_NODE_PORT_RANGE): FieldErrorList {
  const errs: FieldErrorList = [];
  const spec = obj(svc.spec) ?? {};
  const specPath = newPath('spec');
  const type = str(spec.type);
  const ports = objs(spec.ports);
  const portsPath = specPath.child('ports');
  if (ports.length === 0 && !isHeadless(spec) && type !== 'ExternalName') errs.push(fieldRequired(portsPath, ''));
  switch (type) {
    case 'LoadBalancer':
    case 'NodePort':
      if (isHeadless(spec)) {
        errs.push(fieldInvalid(specPath.child('clusterIPs').index(0), str(arr(spec.clusterIPs)[0]), `may not be set to 'None' for ${type} services`));
      }
      break;
    case 'ExternalName': {
      if (arr(spec.clusterIPs).length > 0) errs.push(fieldForbidden(specPath.child('clusterIPs'), 'may not be set for ExternalName services'));
      if (arr(spec.ipFamilies).length > 0) errs.push(fieldForbidden(specPath.child('ipFamilies'), 'may not be set for ExternalName services'));
      if (isSet(spec.ipFamilyPolicy)) errs.push(fieldForbidden(specPath.child('ipFamilyPolicy'), 'may not be set for ExternalName services'));
      // The trailing dot of a fully-qualified name is accepted.
      const externalName = str(spec.externalName).replace(/\.$/, '');
      if (externalName) errs.push(...validateDNS1123Subdomain(externalName, specPath.child('externalName')));
      else errs.push(fieldRequired(specPath.child('externalName'), ''));
      break;
    }
  }
  const names = new Set<string>();
  ports.forEach((sp, i) => {
    const p = portsPath.index(i);
    const name = str(sp.name);
    if (ports.length > 1 && !name) errs.push(fieldRequired(p.child('name'), ''));
    else if (name) {
      errs.push(...validateDNS1123Label(name, p.child('name')));
      if (names.has(name)) errs.push(fieldDuplicate(p.child('name'), name));
      else names.add(name);
    }
    for (const m of isValidPortNum(num(sp.port))) errs.push(fieldInvalid(p.child('port'), num(sp.port), m));
    errs.push(...validateProtocol(sp.protocol, p.child('protocol')));
    errs.push(...validatePortNumOrNameValue(sp.targetPort, p.child('targetPort')));
    if (isSet(sp.appProtocol)) {
      for (const m of isQualifiedName(str(sp.appProtocol))) errs.push(fieldInvalid(p.child('appProtocol'), str(sp.appProtocol), m));
    }
  });
  if (isSet(spec.selector)) errs.push(...validateLabels(strMap(spec.selector), specPath.child('selector')));
  const affinity = str(spec.sessionAffinity);
  if (!affinity) errs.push(fieldRequired(specPath.child('sessionAffinity'), ''));
  else if (affinity !== 'ClientIP' && affinity !== 'None') errs.push(fieldNotSupported(specPath.child('sessionAffinity'), affinity, ['ClientIP', 'None']));
  if (affinity === 'ClientIP') {
    const configPath = specPath.child('sessionAffinityConfig');
    const config = obj(spec.sessionAffinityConfig);
    const clientIP = obj(config?.clientIP);
    if (!config) errs.push(fieldRequired(configPath, 'when session affinity type is ClientIP'));
    else if (!clientIP) errs.push(fieldRequired(configPath.child('clientIP'), 'when session affinity type is ClientIP'));
    else if (!isSet(clientIP.timeoutSeconds)) errs.push(fieldRequired(configPath.child('clientIP', 'timeoutSeconds'), 'when session affinity type is ClientIP'));
    else {
      const timeout = num(clientIP.timeoutSeconds);
      if (timeout <= 0 || timeout > 86400) {
        errs.push(fieldInvalid(configPath.child('clientIP', 'timeoutSeconds'), timeout, 'must be greater than 0 and less than 86400'));
      }
    }
  } else if (affinity === 'None' && isSet(spec.sessionAffinityConfig)) {
    errs.push(fieldForbidden(specPath.child('sessionAffinityConfig'), 'must not be set when session affinity is None'));
  }
  errs.push(...validateClusterIPs(spec, specPath));
  errs.push(...validateIPFamilies(spec, specPath));
  arr(spec.externalIPs).forEach((ip, i) => {
    const p = specPath.child('externalIPs').index(i);
    const ipErrs = isValidIP(p, str(ip));
    errs.push(...(ipErrs.length > 0 ? ipErrs : validateNonSpecialIP(str(ip), p)));
  });
  if (!type) errs.push(fieldRequired(specPath.child('type'), ''));
  else if (!['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'].includes(type)) {
    errs.push(fieldNotSupported(specPath.child('type'), type, ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort']));
  }
  if (type === 'ClusterIP') {
    ports.forEach((sp, i) => {
      if (num(sp.nodePort) !== 0) errs.push(fieldForbidden(portsPath.index(i).child('nodePort'), "may not be used when `type` is 'ClusterIP'"));
    });
  }
  const nodePorts = new Set<string>();
  ports.forEach((sp, i) => {
    const nodePort = num(sp.nodePort);
    if (nodePort === 0) return;
    const key = `${str(sp.protocol)}/${nodePort}`;
    if (nodePorts.has(key)) errs.push(fieldDuplicate(portsPath.index(i).child('nodePort'), nodePort));
    nodePorts.add(key);
  });
  const seenPorts = new Set<string>();
  ports.forEach((sp, i) => {
    const key = `${str(sp.protocol)}/${num(sp.port)}`;
    if (seenPorts.has(key)) {
      errs.push(fieldDuplicate(portsPath.index(i), goStruct('core.ServicePort', [
        ['Name', '""'], ['Protocol', goQuote(str(sp.protocol))], ['AppProtocol', '(*string)(nil)'], ['Port', String(num(sp.port))],
        ['TargetPort', 'intstr.IntOrString{Type:0, IntVal:0, StrVal:""}'], ['NodePort', '0'],
      ])));
    }
    seenPorts.add(key);
  });
  const sourceRanges = arr(spec.loadBalancerSourceRanges).map(str);
  if (sourceRanges.length > 0) {
    // Upstream's path really is capitalised here.
    const p = specPath.child('LoadBalancerSourceRanges');
    if (type !== 'LoadBalancer') errs.push(fieldForbidden(p, "may only be used when `type` is 'LoadBalancer'"));
    sourceRanges.forEach((r, i) => errs.push(...isValidCIDR(p.index(i), r.trim())));
  }
  if (isSet(spec.allocateLoadBalancerNodePorts) && type !== 'LoadBalancer') {
    errs.push(fieldForbidden(specPath.child('allocateLoadBalancerNodePorts'), 'may only be used when `type` is \'LoadBalancer\''));
  }
  if (type === 'LoadBalancer' && !isSet(spec.allocateLoadBalancerNodePorts)) {
    // Upstream reports this one without the `spec.` prefix.
    errs.push(fieldRequired(newPath('allocateLoadBalancerNodePorts'), ''));
  }
  errs.push(...validateServiceExternalTrafficPolicy(spec, specPath));
  errs.push(...validateInternalTrafficPolicy(spec, specPath));
  // The node port allocator's range check (upstream reports it from the allocator, with the same path).
  ports.forEach((sp, i) => {
    const nodePort = num(sp.nodePort);
    if (nodePort === 0 || type === 'ClusterIP') return;
    if (nodePort < nodePortRange.base || nodePort >= nodePortRange.base + nodePortRange.size) {
      errs.push(fieldInvalid(portsPath.index(i).child('nodePort'), nodePort,
        `provided port is not in the valid range. The range of valid ports is ${nodePortRange.base}-${nodePortRange.base + nodePortRange.size - 1}`));
    }
  });
  return errs;
}

function validateClusterIPs(spec: Obj, specPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  const clusterIPsField = specPath.child('clusterIPs');
  const clusterIPs = arr(spec.clusterIPs).map(str);
  const clusterIP = str(spec.clusterIP);
  if (clusterIPs.length > 0 && clusterIPs[0] !== clusterIP) {
    errs.push(fieldInvalid(clusterIPsField, goTyped('[]string', clusterIPs), 'first value must match `clusterIP`'));
    return errs;
  }
  if (clusterIPs.length > 2) errs.push(fieldInvalid(clusterIPsField, goTyped('[]string', clusterIPs), 'may only hold up to 2 values'));
  if (clusterIPs.length > 1 && clusterIPs.includes('None')) {
    errs.push(fieldInvalid(clusterIPsField, goTyped('[]string', clusterIPs), "'None' must be the first and only value"));
  }
  clusterIPs.forEach((ip, i) => {
    if (i === 0 && ip === 'None') return;
    if (parseIPFamily(ip) === undefined) errs.push(fieldInvalid(clusterIPsField.index(i), ip, "must be empty, 'None', or a valid IP address"));
  });
  if (clusterIPs.length === 2 && parseIPFamily(clusterIPs[0]!) !== undefined && parseIPFamily(clusterIPs[0]!) === parseIPFamily(clusterIPs[1]!)) {
    errs.push(fieldInvalid(clusterIPsField, goTyped('[]string', clusterIPs), 'may specify no more than one IP for each IP family'));
  }
  return errs;
}

function validateServiceExternalTrafficPolicy(spec: Obj, specPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  const policy = str(spec.externalTrafficPolicy);
  if (!externallyAccessible(spec)) {
    if (policy) errs.push(fieldInvalid(specPath.child('externalTrafficPolicy'), policy, 'may only be set for externally-accessible services'));
  } else if (!policy) {
    errs.push(fieldRequired(specPath.child('externalTrafficPolicy'), ''));
  } else if (policy !== 'Cluster' && policy !== 'Local') {
    errs.push(fieldNotSupported(specPath.child('externalTrafficPolicy'), policy, ['Cluster', 'Local']));
  }
  // healthCheckNodePort is allocated by the API server for LoadBalancer + Local before validation.
  const hc = num(spec.healthCheckNodePort);
  const needsHealthCheck = spec.type === 'LoadBalancer' && policy === 'Local';
  if (!needsHealthCheck && hc !== 0) {
    errs.push(fieldInvalid(specPath.child('healthCheckNodePort'), hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
  } else if (needsHealthCheck && hc !== 0) {
    for (const m of isValidPortNum(hc)) errs.push(fieldInvalid(specPath.child('healthCheckNodePort'), hc, m));
  }
  return errs;
}

function validateInternalTrafficPolicy(spec: Obj, specPath: FieldPath): FieldErrorList {
  const type = str(spec.type);
  if (!isSet(spec.internalTrafficPolicy)) {
    return ['NodePort', 'LoadBalancer', 'ClusterIP'].includes(type) ? [fieldRequired(specPath.child('internalTrafficPolicy'), '')] : [];
  }
  const p = str(spec.internalTrafficPolicy);
  if (p !== 'Cluster' && p !== 'Local') return [fieldNotSupported(specPath.child('internalTrafficPolicy'), p, ['Cluster', 'Local'])];
  return [];
}

function validateIPFamilies(spec: Obj, specPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  if (isSet(spec.ipFamilyPolicy)) {
    const p = str(spec.ipFamilyPolicy);
    const valid = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
    if (!valid.includes(p)) errs.push(fieldNotSupported(specPath.child('ipFamilyPolicy'), p, valid));
  }
  const fams = arr(spec.ipFamilies).map(str);
  fams.forEach((f, i) => {
    if (f !== 'IPv4' && f !== 'IPv6') errs.push(fieldNotSupported(specPath.child('ipFamilies').index(i), f, ['IPv4', 'IPv6']));
  });
  if (fams.length === 2 && fams[0] === fams[1]) errs.push(fieldDuplicate(specPath.child('ipFamilies').index(1), fams[1]));
  if (fams.length > 2) errs.push(fieldInvalid(specPath.child('ipFamilies'), goTyped('[]core.IPFamily', fams), 'may only hold up to 2 values'));
  return errs;
}

/** ValidateServiceUpdate: the create rules plus clusterIP/ipFamily immutability. */
export function validateServiceUpdate(svc: Obj, old: Obj, nodePortRange = DEFAULT_SERVICE_NODE_PORT_RANGE): FieldErrorList {
  const errs: FieldErrorList = [];
  const spec = obj(svc.spec) ?? {};
  const oldSpec = obj(old.spec) ?? {};
  if (spec.type !== 'ExternalName' && oldSpec.type !== 'ExternalName' && !(isHeadless(spec) && isHeadless(oldSpec))) {
    const newIPs = arr(spec.clusterIPs).map(str);
    const oldIPs = arr(oldSpec.clusterIPs).map(str);
    const p = newPath('spec', 'clusterIPs').index(0);
    if (newIPs.length === oldIPs.length) {
      if (oldIPs.some((ip, i) => ip !== newIPs[i])) errs.push(fieldInvalid(p, goTyped('[]string', newIPs), 'may not change once set'));
    } else if (oldIPs.length > newIPs.length) {
      if (newIPs.length === 0) errs.push(fieldInvalid(p, goTyped('[]string', null), 'primary clusterIP can not be unset'));
      else if (newIPs[0] !== oldIPs[0]) errs.push(fieldInvalid(p, goTyped('[]string', newIPs), 'may not change once set'));
    } else if (oldIPs.length > 0 && newIPs[0] !== oldIPs[0]) {
      errs.push(fieldInvalid(p, goTyped('[]string', newIPs), 'may not change once set'));
    }
    const newFams = arr(spec.ipFamilies).map(str);
    const oldFams = arr(oldSpec.ipFamilies).map(str);
    if (oldFams.length > 0 && newFams.length > 0 && newFams[0] !== oldFams[0]) {
      errs.push(fieldInvalid(newPath('spec', 'ipFamilies').index(0), newFams[0], 'may not change once set'));
    }
  }
  errs.push(...validateService(svc, nodePortRange));
  return errs;
}

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

/** validateNonSpecialIP: endpoints may not point at unspecified, loopback or link-local addresses. */
function validateNonSpecialIP(ip: string, fldPath: FieldPath): FieldErrorList {
  const fam = parseIPFamily(ip);
  if (fam === undefined) return [fieldInvalid(fldPath, ip, 'must be a valid IP address')];
  if (ip === '0.0.0.0' || ip === '::') return [fieldInvalid(fldPath, ip, 'may not be unspecified (0.0.0.0, ::)')];
  if (fam === 4 ? ip.startsWith('127.') : ip === '::1') return [fieldInvalid(fldPath, ip, 'may not be in the loopback range (127.0.0.0/8, ::1/128)')];
  if (fam === 4 ? ip.startsWith('169.254.') : /^fe[89ab]/i.test(ip)) {
    return [fieldInvalid(fldPath, ip, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)')];
  }
  if (fam === 4 ? ip.startsWith('224.0.0.') : /^ff02:/i.test(ip)) {
    return [fieldInvalid(fldPath, ip, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)')];
  }
  return [];
}

function validateEndpointAddress(a: Obj, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  const ip = str(a.ip);
  errs.push(...isValidIP(fldPath.child('ip'), ip));
  const hostname = str(a.hostname);
  if (hostname) errs.push(...validateDNS1123Label(hostname, fldPath.child('hostname')));
  const nodeName = str(a.nodeName);
  if (isSet(a.nodeName)) for (const m of isDNS1123Subdomain(nodeName)) errs.push(fieldInvalid(fldPath.child('nodeName'), nodeName, m));
  if (errs.length === 0) errs.push(...validateNonSpecialIP(ip, fldPath.child('ip')));
  return errs;
}

/** ValidateEndpoints' subsets. */
export function validateEndpointSubsets(subsets: unknown, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  objs(subsets).forEach((ss, i) => {
    const idx = fldPath.index(i);
    const addresses = objs(ss.addresses);
    const notReady = objs(ss.notReadyAddresses);
    if (addresses.length === 0 && notReady.length === 0) errs.push(fieldRequired(idx, 'must specify `addresses` or `notReadyAddresses`'));
    addresses.forEach((a, j) => errs.push(...validateEndpointAddress(a, idx.child('addresses').index(j))));
    notReady.forEach((a, j) => errs.push(...validateEndpointAddress(a, idx.child('notReadyAddresses').index(j))));
    const ports = objs(ss.ports);
    ports.forEach((port, j) => {
      const p = idx.child('ports').index(j);
      const name = str(port.name);
      if (ports.length > 1 && !name) errs.push(fieldRequired(p.child('name'), ''));
      else if (name) errs.push(...validateDNS1123Label(name, p.child('name')));
      for (const m of isValidPortNum(num(port.port))) errs.push(fieldInvalid(p.child('port'), num(port.port), m));
      errs.push(...validateProtocol(port.protocol, p.child('protocol')));
    });
  });
  return errs;
}

// ---------------------------------------------------------------------------------------
// Namespaces, nodes
// ---------------------------------------------------------------------------------------

/** validateFinalizerName for namespace spec.finalizers (standard "kubernetes" or qualified). */
export function validateNamespaceFinalizers(finalizers: unknown, fldPath: FieldPath, indexed = false): FieldErrorList {
  const errs: FieldErrorList = [];
  arr(finalizers).map(str).forEach((f, i) => {
    const p = indexed ? fldPath.index(i) : fldPath;
    for (const m of isQualifiedName(f)) errs.push(fieldInvalid(p, f, m));
    if (!f.includes('/') && f !== 'kubernetes') {
      errs.push(fieldInvalid(p, f, 'name is neither a standard finalizer name nor is it fully qualified'));
    }
  });
  return errs;
}

/** ValidateNodeSpecific: taints, podCIDRs, providerID. */
export function validateNodeSpec(spec: Obj): FieldErrorList {
  const errs: FieldErrorList = [];
  const specPath = newPath('spec');
  const seen = new Set<string>();
  objs(spec.taints).forEach((t, i) => {
    const idx = specPath.child('taints').index(i);
    const key = str(t.key);
    errs.push(...validateLabelName(key, idx.child('key')));
    const value = str(t.value);
    if (value) for (const m of isValidLabelValue(value)) errs.push(fieldInvalid(idx.child('value'), value, m));
    errs.push(...validateTaintEffect(str(t.effect), false, idx.child('effect')));
    const k = `${key}:${str(t.effect)}`;
    if (seen.has(k)) errs.push(fieldDuplicate(idx, goStruct('core.Taint', [['Key', goQuote(key)], ['Value', goQuote(value)], ['Effect', goQuote(str(t.effect))], ['TimeAdded', '<nil>']])));
    seen.add(k);
  });
  const cidrs = arr(spec.podCIDRs).map(str);
  cidrs.forEach((c, i) => errs.push(...isValidCIDR(specPath.child('podCIDRs').index(i), c)));
  if (cidrs.length > 0 && str(spec.podCIDR) && cidrs[0] !== spec.podCIDR) {
    errs.push(fieldInvalid(specPath.child('podCIDRs'), goTyped('[]string', cidrs), 'must match the value of spec.podCIDR'));
  }
  if (cidrs.length > 2) errs.push(fieldInvalid(specPath.child('podCIDRs'), goTyped('[]string', cidrs), 'may specify no more than one CIDR for each IP family'));
  return errs;
}

/** ValidateNodeUpdate's spec rules: podCIDRs and providerID only from "" to a value. */
export function validateNodeSpecUpdate(spec: Obj, oldSpec: Obj): FieldErrorList {
  const errs = validateNodeSpec(spec);
  const oldCIDRs = arr(oldSpec.podCIDRs).map(str);
  if (oldCIDRs.length > 0 && !same(oldCIDRs, arr(spec.podCIDRs).map(str))) {
    errs.push(fieldForbidden(newPath('spec', 'podCIDRs'), 'node updates may not change podCIDR except from "" to valid'));
  }
  if (str(oldSpec.providerID) && oldSpec.providerID !== spec.providerID) {
    errs.push(fieldForbidden(newPath('spec', 'providerID'), 'node updates may not change providerID except from "" to valid'));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------
// ConfigMaps, Secrets
// ---------------------------------------------------------------------------------------

/** ValidateConfigMap's data rules. */
export function validateConfigMapData(cm: Obj): FieldErrorList {
  const errs: FieldErrorList = [];
  let total = 0;
  const data = obj(cm.data) ?? {};
  const binary = obj(cm.binaryData) ?? {};
  for (const [key, value] of Object.entries(data)) {
    for (const m of isConfigMapKey(key)) errs.push(fieldInvalid(newPath('data').key(key), key, m));
    if (key in binary) errs.push(fieldInvalid(newPath('data').key(key), key, 'duplicate of key present in binaryData'));
    total += Buffer.byteLength(str(value), 'utf8');
  }
  for (const [key, value] of Object.entries(binary)) {
    for (const m of isConfigMapKey(key)) errs.push(fieldInvalid(newPath('binaryData').key(key), key, m));
    total += Buffer.from(str(value), 'base64').length;
  }
  if (total > MAX_SECRET_SIZE) errs.push(fieldTooLong(newPath(''), '', MAX_SECRET_SIZE));
  return errs;
}

/** `immutable` data rules shared by ConfigMap and Secret updates. */
export function validateImmutableData(cur: Obj, old: Obj, dataKeys: string[]): FieldErrorList {
  const errs: FieldErrorList = [];
  if (old.immutable === true) {
    if (cur.immutable !== true) errs.push(fieldForbidden(newPath('immutable'), 'field is immutable when `immutable` is set'));
    for (const key of dataKeys) {
      if (!same(cur[key] ?? {}, old[key] ?? {})) errs.push(fieldForbidden(newPath(key), 'field is immutable when `immutable` is set'));
    }
  }
  return errs;
}

/** ValidateSecret's data rules (keys, size, per-type required keys). */
export function validateSecretData(secret: Obj): FieldErrorList {
  const errs: FieldErrorList = [];
  const dataPath = newPath('data');
  const data = obj(secret.data) ?? {};
  let total = 0;
  for (const [key, value] of Object.entries(data)) {
    for (const m of isConfigMapKey(key)) errs.push(fieldInvalid(dataPath.key(key), key, m));
    total += Buffer.from(str(value), 'base64').length;
  }
  if (total > MAX_SECRET_SIZE) errs.push(fieldTooLong(dataPath, '', MAX_SECRET_SIZE));
  const annotations = strMap(obj(secret.metadata)?.annotations);
  const requireKey = (key: string): void => {
    if (!(key in data)) errs.push(fieldRequired(dataPath.key(key), ''));
  };
  switch (str(secret.type)) {
    case 'kubernetes.io/service-account-token':
      if (!annotations['kubernetes.io/service-account.name']) {
        errs.push(fieldRequired(newPath('metadata', 'annotations').key('kubernetes.io/service-account.name'), ''));
      }
      break;
    case 'kubernetes.io/dockercfg':
      requireKey('.dockercfg');
      break;
    case 'kubernetes.io/dockerconfigjson':
      requireKey('.dockerconfigjson');
      break;
    // Upstream's paths for these two really are `data[%s][key]` (a long-standing quirk).
    case 'kubernetes.io/basic-auth':
      if (!('username' in data) && !('password' in data)) {
        errs.push(fieldRequired(newPath('data[%s]').key('username'), ''));
        errs.push(fieldRequired(newPath('data[%s]').key('password'), ''));
      }
      break;
    case 'kubernetes.io/ssh-auth':
      if (!data['ssh-privatekey']) errs.push(fieldRequired(newPath('data[%s]').key('ssh-privatekey'), ''));
      break;
    case 'kubernetes.io/tls':
      requireKey('tls.crt');
      requireKey('tls.key');
      break;
    default:
  }
  return errs;
}

// ---------------------------------------------------------------------------------------
// Replication controllers
// ---------------------------------------------------------------------------------------

/** ValidateReplicationControllerSpec. */
export function validateReplicationControllerSpec(spec: Obj, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  errs.push(...nonNegative(spec.minReadySeconds, fldPath.child('minReadySeconds')));
  const selector = strMap(spec.selector);
  if (Object.keys(selector).length === 0) errs.push(fieldRequired(fldPath.child('selector'), ''));
  errs.push(...nonNegative(spec.replicas, fldPath.child('replicas')));
  const templatePath = fldPath.child('template');
  const template = obj(spec.template);
  if (!template) {
    errs.push(fieldRequired(templatePath, ''));
    return errs;
  }
  const labels = strMap(obj(template.metadata)?.labels);
  if (Object.keys(selector).length > 0 && !Object.entries(selector).every(([k, v]) => labels[k] === v)) {
    errs.push(fieldInvalid(templatePath.child('metadata', 'labels'), goStringMap(obj(template.metadata)?.labels), '`selector` does not match template `labels`'));
  }
  errs.push(...validatePodTemplateSpec(template, templatePath));
  const tspec = obj(template.spec) ?? {};
  if (str(tspec.restartPolicy) !== 'Always') {
    errs.push(fieldNotSupported(templatePath.child('spec', 'restartPolicy'), str(tspec.restartPolicy), ['Always']));
  }
  if (isSet(tspec.activeDeadlineSeconds)) {
    errs.push(fieldForbidden(templatePath.child('spec', 'activeDeadlineSeconds'), 'activeDeadlineSeconds in ReplicationController is not Supported'));
  }
  return errs;
}

/** ValidateReplicationControllerStatus. */
export function validateReplicationControllerStatus(status: Obj, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  for (const f of ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration']) {
    errs.push(...nonNegative(status[f], fldPath.child(f)));
  }
  const replicas = num(status.replicas);
  if (num(status.fullyLabeledReplicas) > replicas) {
    errs.push(fieldInvalid(fldPath.child('fullyLabeledReplicas'), num(status.fullyLabeledReplicas), 'cannot be greater than status.replicas'));
  }
  if (num(status.readyReplicas) > replicas) {
    errs.push(fieldInvalid(fldPath.child('readyReplicas'), num(status.readyReplicas), 'cannot be greater than status.replicas'));
  }
  if (num(status.availableReplicas) > replicas) {
    errs.push(fieldInvalid(fldPath.child('availableReplicas'), num(status.availableReplicas), 'cannot be greater than status.replicas'));
  }
  if (num(status.availableReplicas) > num(status.readyReplicas)) {
    errs.push(fieldInvalid(fldPath.child('availableReplicas'), num(status.availableReplicas), 'cannot be greater than readyReplicas'));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------

/** legacyValidateEvent as served by core/v1 (no further checks for v1, as upstream). */
export function validateEvent(ev: Obj): FieldErrorList {
  const errs: FieldErrorList = [];
  const namespace = str(obj(ev.metadata)?.namespace);
  const involved = obj(ev.involvedObject) ?? {};
  const involvedNS = str(involved.namespace);
  const nsPath = newPath('involvedObject', 'namespace');
  if (!str(ev.eventTime)) {
    if (!involvedNS) {
      if (namespace !== '' && namespace !== 'default') errs.push(fieldInvalid(nsPath, involvedNS, 'does not match event.namespace'));
    } else if (namespace !== involvedNS) {
      errs.push(fieldInvalid(nsPath, involvedNS, 'does not match event.namespace'));
    }
  } else {
    if (!involvedNS && namespace !== 'default' && namespace !== 'kube-system') {
      errs.push(fieldInvalid(nsPath, involvedNS, 'does not match event.namespace'));
    }
    const rc = str(ev.reportingComponent);
    if (!rc) errs.push(fieldRequired(newPath('reportingComponent'), ''));
    for (const m of isQualifiedName(rc)) errs.push(fieldInvalid(newPath('reportingComponent'), rc, m));
    const ri = str(ev.reportingInstance);
    if (!ri) errs.push(fieldRequired(newPath('reportingInstance'), ''));
    if (ri.length > 128) errs.push(fieldInvalid(newPath('reportingInstance'), '', 'can have at most 128 characters'));
    const action = str(ev.action);
    if (!action) errs.push(fieldRequired(newPath('action'), ''));
    if (action.length > 128) errs.push(fieldInvalid(newPath('action'), '', 'can have at most 128 characters'));
    const reason = str(ev.reason);
    if (!reason) errs.push(fieldRequired(newPath('reason'), ''));
    if (reason.length > 128) errs.push(fieldInvalid(newPath('reason'), '', 'can have at most 128 characters'));
    if (str(ev.message).length > 1024) errs.push(fieldInvalid(newPath('message'), '', 'can have at most 1024 characters'));
  }
  for (const m of isDNS1123Subdomain(namespace)) errs.push(fieldInvalid(newPath('namespace'), namespace, m));
  return errs;
}
