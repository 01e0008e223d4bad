/**
 * Name, label and metadata validation, after k8s.io/apimachinery's
 * pkg/util/validation, pkg/api/validation and pkg/apis/meta/v1/validation.
 *
 * The `is*` functions return upstream's message strings (an empty array means valid);
 * the `validate*` functions return field errors ready for `newInvalid`. The wording is
 * the user-visible API contract and matches Kubernetes v1.32 character for character.
 */
import {
  fieldForbidden, fieldInvalid, fieldInternalError, fieldRequired, fieldTooLong, goQuote, goTyped,
  type FieldErrorList, type FieldPath,
} from './errors.js';
import type { ObjectMeta, OwnerReference } from './meta.js';
import { isIPv6 } from 'node:net';

// ---------------------------------------------------------------------------------------
// Message helpers
// ---------------------------------------------------------------------------------------

/** `must be no more than N characters`. */
export function maxLenError(length: number): string {
  return `must be no more than ${length} characters`;
}

/**
 * `<msg> (e.g. 'a' or 'b', regex used for validation is '<fmt>')`, or without examples
 * `<msg> (regex used for validation is '<fmt>')`.
 */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let out = `${msg} (e.g. `;
  examples.forEach((ex, i) => {
    if (i > 0) out += ' or ';
    out += `'${ex}', `;
  });
  return `${out}regex used for validation is '${fmt}')`;
}

/** `must be non-empty`. */
export function emptyError(): string {
  return 'must be non-empty';
}

/** `must be between lo and hi, inclusive`. */
export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

/** Go's len(): the UTF-8 byte length, which is what upstream's length limits count. */
function byteLen(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

// ---------------------------------------------------------------------------------------
// Qualified names, label values, DNS names
// ---------------------------------------------------------------------------------------

const qnameCharFmt = '[A-Za-z0-9]';
const qnameExtCharFmt = '[-A-Za-z0-9_.]';
const qualifiedNameFmt = `(${qnameCharFmt}${qnameExtCharFmt}*)?${qnameCharFmt}`;
const qualifiedNameErrMsg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const qualifiedNameMaxLength = 63;
const qualifiedNameRegexp = new RegExp(`^${qualifiedNameFmt}$`);

/**
 * IsQualifiedName: label keys and annotation keys, `[prefix/]name` where prefix is a DNS
 * subdomain and name is at most 63 characters.
 */
export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push(`prefix part ${emptyError()}`);
    else errs.push(...isDNS1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [
      `a qualified name ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')}` +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push(`name part ${emptyError()}`);
  else if (byteLen(name) > qualifiedNameMaxLength) errs.push(`name part ${maxLenError(qualifiedNameMaxLength)}`);
  if (!qualifiedNameRegexp.test(name)) {
    errs.push(`name part ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')}`);
  }
  return errs;
}

const labelValueFmt = `(${qualifiedNameFmt})?`;
const labelValueErrMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
/** LabelValueMaxLength. */
export const LABEL_VALUE_MAX_LENGTH = 63;
const labelValueRegexp = new RegExp(`^${labelValueFmt}$`);

/** IsValidLabelValue: empty, or a qualified name part of at most 63 characters. */
export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > LABEL_VALUE_MAX_LENGTH) errs.push(maxLenError(LABEL_VALUE_MAX_LENGTH));
  if (!labelValueRegexp.test(value)) errs.push(regexError(labelValueErrMsg, labelValueFmt, 'MyValue', 'my_value', '12345'));
  return errs;
}

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123LabelErrMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
/** DNS1123LabelMaxLength. */
export const DNS1123_LABEL_MAX_LENGTH = 63;
const dns1123LabelRegexp = new RegExp(`^${dns1123LabelFmt}$`);

/** IsDNS1123Label: namespace names, most port-less names (max 63). */
export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > DNS1123_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1123_LABEL_MAX_LENGTH));
  if (!dns1123LabelRegexp.test(value)) {
    if (dns1123SubdomainRegexp.test(value)) errs.push('must not contain dots');
    else errs.push(regexError(dns1123LabelErrMsg, dns1123LabelFmt, 'my-name', '123-abc'));
  }
  return errs;
}

const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1123SubdomainErrorMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
/** DNS1123SubdomainMaxLength. */
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;
const dns1123SubdomainRegexp = new RegExp(`^${dns1123SubdomainFmt}$`);

/** IsDNS1123Subdomain: most object names (max 253). */
export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > DNS1123_SUBDOMAIN_MAX_LENGTH) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!dns1123SubdomainRegexp.test(value)) errs.push(regexError(dns1123SubdomainErrorMsg, dns1123SubdomainFmt, 'example.com'));
  return errs;
}

const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const dns1035LabelErrMsg =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
/** DNS1035LabelMaxLength. */
export const DNS1035_LABEL_MAX_LENGTH = 63;
const dns1035LabelRegexp = new RegExp(`^${dns1035LabelFmt}$`);

/** IsDNS1035Label: Service names (max 63, must start with a letter). */
export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > DNS1035_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1035_LABEL_MAX_LENGTH));
  if (!dns1035LabelRegexp.test(value)) errs.push(regexError(dns1035LabelErrMsg, dns1035LabelFmt, 'my-name', 'abc-123'));
  return errs;
}

const wildcardDNS1123SubdomainFmt = `\\*\\.${dns1123SubdomainFmt}`;
const wildcardDNS1123SubdomainErrMsg =
  "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";
const wildcardDNS1123SubdomainRegexp = new RegExp(`^${wildcardDNS1123SubdomainFmt}$`);

/** IsWildcardDNS1123Subdomain: `*.example.com`. */
export function isWildcardDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > DNS1123_SUBDOMAIN_MAX_LENGTH) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!wildcardDNS1123SubdomainRegexp.test(value)) {
    errs.push(regexError(wildcardDNS1123SubdomainErrMsg, wildcardDNS1123SubdomainFmt, '*.example.com'));
  }
  return errs;
}

const cIdentifierFmt = '[A-Za-z_][A-Za-z0-9_]*';
const identifierErrMsg = "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'";
const cIdentifierRegexp = new RegExp(`^${cIdentifierFmt}$`);

/** IsCIdentifier. */
export function isCIdentifier(value: string): string[] {
  return cIdentifierRegexp.test(value) ? [] : [regexError(identifierErrMsg, cIdentifierFmt, 'my_name', 'MY_NAME', 'MyName')];
}

/** IsValidPortNum: 1..65535. */
export function isValidPortNum(port: number): string[] {
  return port >= 1 && port <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

/** IsInRange. */
export function isInRange(value: number, min: number, max: number): string[] {
  return value >= min && value <= max ? [] : [inclusiveRangeError(min, max)];
}

/** IsValidGroupID: 0..2147483647. */
export function isValidGroupID(gid: number): string[] {
  return isInRange(gid, 0, 2147483647);
}

/** IsValidUserID: 0..2147483647. */
export function isValidUserID(uid: number): string[] {
  return isInRange(uid, 0, 2147483647);
}

/** IsValidPortName: IANA_SVC_NAME, at most 15 characters, at least one letter. */
export function isValidPortName(port: string): string[] {
  const errs: string[] = [];
  if (byteLen(port) > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(port)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(port)) errs.push('must contain at least one letter (a-z)');
  if (port.includes('--')) errs.push('must not contain consecutive hyphens');
  if (port.length > 0 && (port.startsWith('-') || port.endsWith('-'))) errs.push('must not begin or end with a hyphen');
  return errs;
}

const percentFmt = '[0-9]+%';
const percentErrMsg = "a valid percent string must be a numeric string followed by an ending '%'";

/** IsValidPercent: `[0-9]+%`. */
export function isValidPercent(percent: string): string[] {
  return new RegExp(`^${percentFmt}$`).test(percent) ? [] : [regexError(percentErrMsg, percentFmt, '1%', '93%')];
}

const httpHeaderNameFmt = '[-A-Za-z0-9]+';
const httpHeaderNameErrMsg = "a valid HTTP header must consist of alphanumeric characters or '-'";

/** IsHTTPHeaderName. */
export function isHTTPHeaderName(value: string): string[] {
  return new RegExp(`^${httpHeaderNameFmt}$`).test(value) ? [] : [regexError(httpHeaderNameErrMsg, httpHeaderNameFmt, 'X-Header-Name')];
}

function hasChDirPrefix(value: string): string[] {
  if (value === '.') return ["must not be '.'"];
  if (value === '..') return ["must not be '..'"];
  if (value.startsWith('..')) return ["must not start with '..'"];
  return [];
}

const envVarNameFmt = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const envVarNameFmtErrMsg =
  "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";

/** IsEnvVarName. */
export function isEnvVarName(value: string): string[] {
  const errs: string[] = [];
  if (!new RegExp(`^${envVarNameFmt}$`).test(value)) {
    errs.push(regexError(envVarNameFmtErrMsg, envVarNameFmt, 'my.env-name', 'MY_ENV.NAME', 'MyEnvName1'));
  }
  return [...errs, ...hasChDirPrefix(value)];
}

const configMapKeyFmt = '[-._a-zA-Z0-9]+';
const configMapKeyErrMsg = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

/** IsConfigMapKey: ConfigMap and Secret data keys. */
export function isConfigMapKey(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > DNS1123_SUBDOMAIN_MAX_LENGTH) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!new RegExp(`^${configMapKeyFmt}$`).test(value)) errs.push(regexError(configMapKeyErrMsg, configMapKeyFmt, 'key.name', 'KEY_NAME', 'key-name'));
  return [...errs, ...hasChDirPrefix(value)];
}

// ---------------------------------------------------------------------------------------
// IP addresses (netutils.ParseIPSloppy: IPv4 octets may have leading zeros)
// ---------------------------------------------------------------------------------------

/** The address family of an IP string as upstream's sloppy parser sees it, or undefined. */
export function parseIPFamily(value: string): 4 | 6 | undefined {
  const parts = value.split('.');
  if (parts.length === 4 && parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255)) return 4;
  if (value.includes(':') && isIPv6(value)) return isIPv4Mapped(value) ? 4 : 6;
  return undefined;
}

/** Whether a valid IPv6 string is ::ffff:a.b.c.d in any spelling (Go's To4() succeeds). */
function isIPv4Mapped(v6: string): boolean {
  let s = v6.toLowerCase();
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const o = tail.split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, rest] = s.includes('::') ? s.split('::') as [string, string] : [s, undefined];
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const n = groups.map((g) => parseInt(g, 16));
  return n.length === 8 && n.slice(0, 5).every((x) => x === 0) && n[5] === 0xffff;
}

/** IsValidIP: `must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`. */
export function isValidIP(fldPath: FieldPath | undefined, value: string): FieldErrorList {
  return parseIPFamily(value) === undefined
    ? [fieldInvalid(fldPath, value, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')]
    : [];
}

/** IsValidIPv4Address. */
export function isValidIPv4Address(fldPath: FieldPath | undefined, value: string): FieldErrorList {
  return parseIPFamily(value) === 4 ? [] : [fieldInvalid(fldPath, value, 'must be a valid IPv4 address')];
}

/** IsValidIPv6Address. */
export function isValidIPv6Address(fldPath: FieldPath | undefined, value: string): FieldErrorList {
  return parseIPFamily(value) === 6 ? [] : [fieldInvalid(fldPath, value, 'must be a valid IPv6 address')];
}

/** IsValidCIDR: `must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`. */
export function isValidCIDR(fldPath: FieldPath | undefined, value: string): FieldErrorList {
  const bad = [fieldInvalid(fldPath, value, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)')];
  const slash = value.indexOf('/');
  if (slash < 0) return bad;
  const ip = value.slice(0, slash);
  const bits = value.slice(slash + 1);
  const family = ip.includes(':') ? (isIPv6(ip) ? 6 : undefined) : parseIPFamily(ip);
  if (family === undefined || !/^[0-9]{1,3}$/.test(bits)) return bad;
  return Number(bits) <= (family === 4 ? 32 : 128) ? [] : bad;
}

// ---------------------------------------------------------------------------------------
// Path segment names (pkg/api/validation/path)
// ---------------------------------------------------------------------------------------

/** IsValidPathSegmentName: names that must be usable as one URL path segment. */
export function isValidPathSegmentName(name: string): string[] {
  for (const bad of ['.', '..']) if (name === bad) return [`may not be '${bad}'`];
  return isValidPathSegmentPrefix(name);
}

/** IsValidPathSegmentPrefix: what generateName may contain. */
export function isValidPathSegmentPrefix(name: string): string[] {
  const errs: string[] = [];
  for (const bad of ['/', '%']) if (name.includes(bad)) errs.push(`may not contain '${bad}'`);
  return errs;
}

/** ValidatePathSegmentName as a {@link ValidateNameFunc}. */
export function validatePathSegmentName(name: string, prefix: boolean): string[] {
  return prefix ? isValidPathSegmentPrefix(name) : isValidPathSegmentName(name);
}

// ---------------------------------------------------------------------------------------
// Object names (pkg/api/validation/generic.go)
// ---------------------------------------------------------------------------------------

/**
 * Validates an object name; `prefix` is true when validating a generateName, whose
 * trailing '-' is allowed because a random suffix follows.
 */
export type ValidateNameFunc = (name: string, prefix: boolean) => string[];

/**
 * Upstream's maskTrailingDash: a generateName ending in '-' is checked as if its last two
 * characters were "a" (it cuts two, not one; kept for identical results).
 */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;
}

/** NameIsDNSSubdomain: the name rule of most resources. */
export const nameIsDNSSubdomain: ValidateNameFunc = (name, prefix) => isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name);
/** NameIsDNSLabel: the name rule of namespaces, among others. */
export const nameIsDNSLabel: ValidateNameFunc = (name, prefix) => isDNS1123Label(prefix ? maskTrailingDash(name) : name);
/** NameIsDNS1035Label: the name rule of services. */
export const nameIsDNS1035Label: ValidateNameFunc = (name, prefix) => isDNS1035Label(prefix ? maskTrailingDash(name) : name);
/** ValidateNamespaceName. */
export const validateNamespaceName: ValidateNameFunc = nameIsDNSLabel;

/** IsNegativeErrorMsg. */
export const IS_NEGATIVE_ERROR_MSG = 'must be greater than or equal to 0';
/** FieldImmutableErrorMsg. */
export const FIELD_IMMUTABLE_ERROR_MSG = 'field is immutable';
/** TotalAnnotationSizeLimitB: 256 KiB of keys plus values. */
export const TOTAL_ANNOTATION_SIZE_LIMIT_B = 256 * (1 << 10);

/** ValidateNonnegativeField. */
export function validateNonnegativeField(value: number, fldPath: FieldPath): FieldErrorList {
  return value < 0 ? [fieldInvalid(fldPath, value, IS_NEGATIVE_ERROR_MSG)] : [];
}

// ---------------------------------------------------------------------------------------
// Labels and annotations (metav1 validation)
// ---------------------------------------------------------------------------------------

/** ValidateLabelName: one Invalid per message. */
export function validateLabelName(labelName: string, fldPath: FieldPath | undefined): FieldErrorList {
  return isQualifiedName(labelName).map((m) => fieldInvalid(fldPath, labelName, m));
}

/** ValidateLabels: keys as qualified names, values as label values, all reported at fldPath. */
export function validateLabels(labels: Readonly<Record<string, string>> | undefined, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    errs.push(...validateLabelName(k, fldPath));
    for (const m of isValidLabelValue(v)) errs.push(fieldInvalid(fldPath, v, m));
  }
  return errs;
}

/** ValidateAnnotationsSize: the error text when keys plus values exceed 256 KiB. */
export function validateAnnotationsSize(annotations: Readonly<Record<string, string>> | undefined): string | undefined {
  let total = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) total += byteLen(k) + byteLen(v);
  return total > TOTAL_ANNOTATION_SIZE_LIMIT_B
    ? `annotations size ${total} is larger than limit ${TOTAL_ANNOTATION_SIZE_LIMIT_B}`
    : undefined;
}

/** ValidateAnnotations: keys (lower-cased) as qualified names, total size at most 256 KiB. */
export function validateAnnotations(annotations: Readonly<Record<string, string>> | undefined, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  for (const k of Object.keys(annotations ?? {})) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(fieldInvalid(fldPath, k, m));
  }
  if (validateAnnotationsSize(annotations) !== undefined) errs.push(fieldTooLong(fldPath, '', TOTAL_ANNOTATION_SIZE_LIMIT_B));
  return errs;
}

/** Finalizer names that `kubernetes` itself reserves. */
export const FINALIZER_ORPHAN_DEPENDENTS = 'orphan';
export const FINALIZER_DELETE_DEPENDENTS = 'foregroundDeletion';

/** ValidateFinalizerName. */
export function validateFinalizerName(value: string, fldPath: FieldPath): FieldErrorList {
  return isQualifiedName(value).map((m) => fieldInvalid(fldPath, value, m));
}

/** ValidateFinalizers: each a qualified name; orphan and foregroundDeletion are exclusive. */
export function validateFinalizers(finalizers: readonly string[] | undefined, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  const list = finalizers ?? [];
  for (const f of list) errs.push(...validateFinalizerName(f, fldPath));
  if (list.includes(FINALIZER_ORPHAN_DEPENDENTS) && list.includes(FINALIZER_DELETE_DEPENDENTS)) {
    errs.push(fieldInvalid(fldPath, goTyped('[]string', list), `finalizer ${FINALIZER_ORPHAN_DEPENDENTS} and ${FINALIZER_DELETE_DEPENDENTS} cannot be both set`));
  }
  return errs;
}

/** ValidateNoNewFinalizers: an object being deleted may not gain finalizers. */
export function validateNoNewFinalizers(newFinalizers: readonly string[] | undefined, oldFinalizers: readonly string[] | undefined, fldPath: FieldPath): FieldErrorList {
  const old = new Set(oldFinalizers ?? []);
  const extra = [...new Set((newFinalizers ?? []).filter((f) => !old.has(f)))].sort();
  if (extra.length === 0) return [];
  const list = `[]string{${extra.map((e) => goQuote(e)).join(', ')}}`;
  return [fieldForbidden(fldPath, `no new finalizers can be added if the object is being deleted, found new finalizers ${list}`)];
}

/** Splits an apiVersion into group and version ("apps/v1" → apps, v1; "v1" → "", v1). */
function splitAPIVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  if (i < 0) return { group: '', version: apiVersion };
  // schema.ParseGroupVersion rejects more than one '/'; FromAPIVersionAndKind then yields an empty GVK.
  if (apiVersion.indexOf('/', i + 1) >= 0) return { group: '', version: '' };
  return { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

function validateOwnerReference(ref: OwnerReference, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  const gv = splitAPIVersion(ref.apiVersion ?? '');
  if (gv.version === '') errs.push(fieldInvalid(fldPath.child('apiVersion'), ref.apiVersion ?? '', 'version must not be empty'));
  if (!ref.kind) errs.push(fieldInvalid(fldPath.child('kind'), ref.kind ?? '', 'kind must not be empty'));
  if (!ref.name) errs.push(fieldInvalid(fldPath.child('name'), ref.name ?? '', 'name must not be empty'));
  if (!ref.uid) errs.push(fieldInvalid(fldPath.child('uid'), ref.uid ?? '', 'uid must not be empty'));
  if (gv.group === '' && gv.version === 'v1' && ref.kind === 'Event') {
    errs.push(fieldInvalid(fldPath, ownerRefGoValue(ref), '/v1, Kind=Event is disallowed from being an owner'));
  }
  return errs;
}

/** Renders an OwnerReference as Go's `%#v` of metav1.OwnerReference would (abridged to the fields). */
function ownerRefGoValue(ref: OwnerReference): { toString(): string } {
  return {
    toString: () =>
      `v1.OwnerReference{APIVersion:${goQuote(ref.apiVersion ?? '')}, Kind:${goQuote(ref.kind ?? '')}, ` +
      `Name:${goQuote(ref.name ?? '')}, UID:${goQuote(ref.uid ?? '')}, Controller:${ptrBool(ref.controller)}, ` +
      `BlockOwnerDeletion:${ptrBool(ref.blockOwnerDeletion)}}`,
  };
}

function ptrBool(b: boolean | undefined): string {
  return b === undefined ? '(*bool)(nil)' : `(*bool)(${b})`;
}

/** ValidateOwnerReferences: each reference complete, at most one controller. */
export function validateOwnerReferences(refs: readonly OwnerReference[] | undefined, fldPath: FieldPath): FieldErrorList {
  const errs: FieldErrorList = [];
  let firstController = '';
  for (const ref of refs ?? []) {
    errs.push(...validateOwnerReference(ref, fldPath));
    if (ref.controller === true) {
      const cur = `${ref.kind ?? ''}/${ref.name ?? ''}`;
      if (firstController !== '') {
        const all = refs ?? [];
        errs.push(fieldInvalid(fldPath, { toString: () => `[]v1.OwnerReference{${all.map((r) => String(ownerRefGoValue(r))).join(', ')}}` },
          `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${cur}`));
      } else {
        firstController = cur;
      }
    }
  }
  return errs;
}

/**
 * ValidateObjectMeta (create): name or generateName per `nameFn`, namespace present iff
 * `requiresNamespace`, generation non-negative, labels, annotations, owner references,
 * finalizers. As upstream, a name is required even with generateName: the registry
 * generates the name before it validates. managedFields are validated by the
 * managed-fields code, not here.
 */
export function validateObjectMeta(
  meta: ObjectMeta | undefined,
  requiresNamespace: boolean,
  nameFn: ValidateNameFunc,
  fldPath: FieldPath,
): FieldErrorList {
  const m = meta ?? {};
  const errs: FieldErrorList = [];
  if (m.generateName) {
    for (const msg of nameFn(m.generateName, true)) errs.push(fieldInvalid(fldPath.child('generateName'), m.generateName, msg));
  }
  if (!m.name) {
    errs.push(fieldRequired(fldPath.child('name'), 'name or generateName is required'));
  } else {
    for (const msg of nameFn(m.name, false)) errs.push(fieldInvalid(fldPath.child('name'), m.name, msg));
  }
  if (requiresNamespace) {
    if (!m.namespace) errs.push(fieldRequired(fldPath.child('namespace'), ''));
    else for (const msg of validateNamespaceName(m.namespace, false)) errs.push(fieldInvalid(fldPath.child('namespace'), m.namespace, msg));
  } else if (m.namespace) {
    errs.push(fieldForbidden(fldPath.child('namespace'), 'not allowed on this type'));
  }
  errs.push(...validateNonnegativeField(m.generation ?? 0, fldPath.child('generation')));
  errs.push(...validateLabels(m.labels, fldPath.child('labels')));
  errs.push(...validateAnnotations(m.annotations, fldPath.child('annotations')));
  errs.push(...validateOwnerReferences(m.ownerReferences, fldPath.child('ownerReferences')));
  errs.push(...validateFinalizers(m.finalizers, fldPath.child('finalizers')));
  return errs;
}

/** JSON-equality for immutable-field checks (semantic equality on plain data). */
function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** ValidateImmutableField: `Invalid value: <new>: field is immutable`. */
export function validateImmutableField(newVal: unknown, oldVal: unknown, fldPath: FieldPath): FieldErrorList {
  return sameValue(newVal, oldVal) ? [] : [fieldInvalid(fldPath, newVal ?? '', FIELD_IMMUTABLE_ERROR_MSG)];
}

/**
 * ValidateObjectMetaUpdate: resourceVersion required, generation not decremented, name,
 * namespace, uid, creation/deletion timestamps and grace period immutable, no new
 * finalizers once deleting, plus the label/annotation/ownerReference rules.
 */
export function validateObjectMetaUpdate(newMeta: ObjectMeta | undefined, oldMeta: ObjectMeta | undefined, fldPath: FieldPath): FieldErrorList {
  const n = newMeta ?? {};
  const o = oldMeta ?? {};
  const errs: FieldErrorList = [];
  if (o.deletionTimestamp) errs.push(...validateNoNewFinalizers(n.finalizers, o.finalizers, fldPath.child('finalizers')));
  if (!n.resourceVersion) errs.push(fieldInvalid(fldPath.child('resourceVersion'), n.resourceVersion ?? '', 'must be specified for an update'));
  if ((n.generation ?? 0) < (o.generation ?? 0)) errs.push(fieldInvalid(fldPath.child('generation'), n.generation ?? 0, 'must not be decremented'));
  errs.push(...validateImmutableField(n.name ?? '', o.name ?? '', fldPath.child('name')));
  errs.push(...validateImmutableField(n.namespace ?? '', o.namespace ?? '', fldPath.child('namespace')));
  errs.push(...validateImmutableField(n.uid ?? '', o.uid ?? '', fldPath.child('uid')));
  errs.push(...validateImmutableField(n.creationTimestamp ?? null, o.creationTimestamp ?? null, fldPath.child('creationTimestamp')));
  errs.push(...validateImmutableField(n.deletionTimestamp ?? null, o.deletionTimestamp ?? null, fldPath.child('deletionTimestamp')));
  errs.push(...validateImmutableField(n.deletionGracePeriodSeconds ?? null, o.deletionGracePeriodSeconds ?? null, fldPath.child('deletionGracePeriodSeconds')));
  errs.push(...validateLabels(n.labels, fldPath.child('labels')));
  errs.push(...validateAnnotations(n.annotations, fldPath.child('annotations')));
  errs.push(...validateOwnerReferences(n.ownerReferences, fldPath.child('ownerReferences')));
  return errs;
}

/** ValidatePortNumOrName (core validation): a port number in range, or a valid port name. */
export function validatePortNumOrName(port: number | string, fldPath: FieldPath | undefined): FieldErrorList {
  if (typeof port === 'number') return isValidPortNum(port).map((m) => fieldInvalid(fldPath, port, m));
  if (typeof port === 'string') return isValidPortName(port).map((m) => fieldInvalid(fldPath, port, m));
  return [fieldInternalError(fldPath, `unknown type: ${typeof port}`)];
}
