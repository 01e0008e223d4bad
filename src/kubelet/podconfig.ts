/**
 * From a Pod spec to what the CRI is told, after upstream kubelet_pods.go
 * (makeEnvironmentVariables, podFieldSelectorRuntimeValue, makeHostsMount),
 * kuberuntime_container_linux.go (generateLinuxContainerResources), kuberuntime_sandbox.go
 * (generatePodSandboxConfig), network/dns/dns.go (GetPodDNS), pkg/securitycontext and
 * third_party/forked/golang/expansion. Pure functions: ConfigMaps and Secrets come from a
 * caller-supplied {@link ObjectGetter}, host facts (resolv.conf, capabilities, allocatable)
 * from arguments, so every rule is unit-tested without a node.
 *
 * Failures the user must fix are {@link ContainerConfigError}s whose `reason` is the
 * container's waiting reason (CreateContainerConfigError, or CreateContainerError for what
 * the runtime would refuse) and whose message is upstream's wording.
 */
import { isNotFound } from '../apimachinery/errors.js';
import { parseQuantity, type Quantity } from '../apimachinery/quantity.js';
import { Resources, type Client } from '../client/interface.js';
import type { ConfigMap, Container, Pod, Secret, Service } from '../client/objects.js';
import type { DNSConfig, LinuxContainerResources, LinuxContainerSecurityContext, PortMapping } from './runtime.js';
import { CreateContainerConfigError, CreateContainerError, podQOSClass } from './status.js';

/** A container (or pod) configuration that cannot be turned into a CRI config. */
export class ContainerConfigError extends Error {
  constructor(
    /** The container's waiting reason. */
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

/** Reads ConfigMaps and Secrets; undefined when the object does not exist. */
export interface ObjectGetter {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  /** The Services of a namespace (for service environment variables). */
  services?(namespace: string): Promise<Service[]>;
}

/** An {@link ObjectGetter} doing direct GETs (upstream's Get strategy of the configmap/secret managers). */
export function clientObjectGetter(client: Client): ObjectGetter {
  const get = async <T extends object>(gvr: typeof Resources.configmaps | typeof Resources.secrets, ns: string, name: string): Promise<T | undefined> => {
    try {
      return await client.resource<T>(gvr, ns).get(name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  return {
    configMap: (ns, name) => get<ConfigMap>(Resources.configmaps, ns, name),
    secret: (ns, name) => get<Secret>(Resources.secrets, ns, name),
    services: async (ns) => (await client.resource<Service>(Resources.services, ns).list()).items,
  };
}

/** What the kubelet knows about the pod's place on the node when it builds a container. */
export interface PodRuntimeContext {
  /** The sandbox's IPs (status.podIP(s)); the node's for host-network pods. */
  podIPs: string[];
  /** The node's IPs (status.hostIP(s)). */
  hostIPs: string[];
  /** Node allocatable, the downward API's default for unset limits (cpu, memory, ephemeral-storage). */
  nodeAllocatable?: Record<string, string>;
  /**
   * Services for the service environment variables: the pod's namespace's and the
   * `kubernetes` Service of `default` (see {@link serviceEnvironment}). Undefined: none.
   */
  services?: Service[];
}

// ---- $(VAR) expansion (third_party/forked/golang/expansion) ----

/**
 * A mapping that looks `name` up in each map in turn and, when none has it, leaves the
 * reference as written (`$(name)`), as upstream MappingFuncFor.
 */
export function mappingFuncFor(...maps: ReadonlyArray<ReadonlyMap<string, string>>): (name: string) => string {
  return (name) => {
    for (const m of maps) {
      const v = m.get(name);
      if (v !== undefined) return v;
    }
    return `$(${name})`;
  };
}

/**
 * Expands `$(VAR)` references in input with mapping. `$$` is an escaped `$` (so `$$(A)`
 * yields `$(A)`), an unterminated `$(` and a `$` before any other character are kept
 * as they are.
 */
export function expand(input: string, mapping: (name: string) => string): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') {
      out += '$';
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close < 0) {
        out += '$(';
      } else {
        out += mapping(input.slice(cursor + 2, close));
        advance = close - cursor;
      }
    } else {
      out += `$${next}`;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** Command and args with `$(VAR)` expanded from the container's final environment (ExpandContainerCommandAndArgs). */
export function expandCommandAndArgs(container: Container, env: ReadonlyArray<{ key: string; value: string }>): { command: string[]; args: string[] } {
  const mapping = mappingFuncFor(new Map(env.map((e) => [e.key, e.value])));
  return { command: (container.command ?? []).map((s) => expand(s, mapping)), args: (container.args ?? []).map((s) => expand(s, mapping)) };
}

// ---- downward API ----

function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

/**
 * A pod field by downward-API path (fieldpath.ExtractFieldPathAsString plus the kubelet's
 * runtime fields); throws `unsupported fieldPath: …` for anything else.
 */
export function podFieldValue(pod: Pod, fieldPath: string, ctx?: PodRuntimeContext): string {
  const m = pod.metadata ?? {};
  switch (fieldPath) {
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return ctx?.hostIPs[0] ?? pod.status?.hostIP ?? '';
    case 'status.hostIPs':
      return (ctx?.hostIPs ?? (pod.status?.hostIPs ?? []).map((x) => x.ip ?? '')).join(',');
    case 'status.podIP':
      return ctx?.podIPs[0] ?? pod.status?.podIP ?? '';
    case 'status.podIPs':
      return (ctx?.podIPs ?? (pod.status?.podIPs ?? []).map((x) => x.ip ?? '')).join(',');
    case 'metadata.name':
      return m.name ?? '';
    case 'metadata.namespace':
      return m.namespace ?? '';
    case 'metadata.uid':
      return m.uid ?? '';
    case 'metadata.labels':
      return formatMap(m.labels);
    case 'metadata.annotations':
      return formatMap(m.annotations);
  }
  const sub = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (sub) {
    const map = (sub[1] === 'labels' ? m.labels : m.annotations) ?? {};
    return map[sub[2]!] ?? '';
  }
  throw new Error(`unsupported fieldPath: ${fieldPath}`);
}

function quantity(v: unknown): Quantity | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  try {
    return parseQuantity(String(v));
  } catch {
    return undefined;
  }
}

/**
 * A container resource by downward-API name (resource.ExtractContainerResourceValue), the
 * limits defaulted to node allocatable as upstream defaultPodLimitsForDownwardAPI does.
 * CPU is rounded up to whole divisors of millicores, memory and storage to whole divisors
 * of bytes ("500m" with divisor 1 → "1").
 */
export function containerResourceValue(ref: { resource: string; divisor?: unknown; containerName?: string }, container: Container, nodeAllocatable?: Record<string, string>): string {
  const res = ref.resource;
  const [kind, name] = res.split('.', 2) as [string, string | undefined];
  if ((kind !== 'limits' && kind !== 'requests') || !name) throw new Error(`unsupported container resource : ${res}`);
  const list = (kind === 'limits' ? container.resources?.limits : container.resources?.requests) ?? {};
  let q = quantity(list[name]);
  if (!q && kind === 'limits' && (name === 'cpu' || name === 'memory' || name === 'ephemeral-storage')) q = quantity(nodeAllocatable?.[name]);
  const div = quantity(ref.divisor);
  const divisor = div && !div.isZero() ? div : parseQuantity('1');
  if (name === 'cpu') return String(Math.ceil((q?.milliValue() ?? 0) / divisor.milliValue()));
  if (name === 'memory' || name === 'ephemeral-storage' || name.startsWith('hugepages-')) return String(Math.ceil((q?.value() ?? 0) / divisor.value()));
  throw new Error(`unsupported container resource : ${res}`);
}

// ---- environment ----

/** The namespace whose `kubernetes` Service every pod gets variables for (upstream masterServiceNamespace). */
export const MASTER_SERVICE_NAMESPACE = 'default';

function envName(s: string): string {
  return s.toUpperCase().replace(/-/g, '_');
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Service environment variables (upstream getServiceEnvVarMap + envvars.FromServices):
 * for the `kubernetes` Service of `default` always, and for every Service of the pod's
 * namespace unless enableServiceLinks is false — `<NAME>_SERVICE_HOST`,
 * `<NAME>_SERVICE_PORT[_<PORTNAME>]` and Docker-link style `<NAME>_PORT…` variables.
 * Services without a cluster IP (headless, ExternalName) give none. Later names win.
 */
export function serviceEnvironment(pod: Pod, services: readonly Service[]): Map<string, string> {
  const ns = pod.metadata?.namespace ?? '';
  const links = pod.spec?.enableServiceLinks !== false;
  const chosen = new Map<string, Service>();
  for (const svc of services) {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None') continue;
    const name = svc.metadata?.name ?? '';
    const sns = svc.metadata?.namespace ?? '';
    if (sns === MASTER_SERVICE_NAMESPACE && name === 'kubernetes') {
      // A Service of the same name in the pod's own namespace takes precedence when linked.
      if (!chosen.has(name)) chosen.set(name, svc);
    } else if (sns === ns && links) {
      chosen.set(name, svc);
    }
  }
  const out = new Map<string, string>();
  for (const svc of [...chosen.values()].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))) {
    const prefix = envName(svc.metadata?.name ?? '');
    const host = svc.spec!.clusterIP!;
    const ports = svc.spec?.ports ?? [];
    out.set(`${prefix}_SERVICE_HOST`, host);
    if (ports[0]) out.set(`${prefix}_SERVICE_PORT`, String(ports[0].port));
    for (const p of ports) if (p.name) out.set(`${prefix}_SERVICE_PORT_${envName(p.name)}`, String(p.port));
    ports.forEach((p, i) => {
      const proto = (p.protocol ?? 'TCP').toLowerCase();
      const url = `${proto}://${hostPort(host, p.port)}`;
      if (i === 0) out.set(`${prefix}_PORT`, url);
      const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
      out.set(pp, url);
      out.set(`${pp}_PROTO`, proto);
      out.set(`${pp}_PORT`, String(p.port));
      out.set(`${pp}_ADDR`, host);
    });
  }
  return out;
}

/** Upstream IsEnvVarName: `[-._a-zA-Z][-._a-zA-Z0-9]*`. */
function isEnvVarName(k: string): boolean {
  return /^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(k);
}

function decodeSecret(v: string | undefined): string | undefined {
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

/** Keys skipped from an envFrom source, for upstream's InvalidEnvironmentVariableNames event. */
export interface InvalidEnvKeys {
  kind: 'configMap' | 'secret';
  namespace: string;
  name: string;
  keys: string[];
}

/** The upstream event message for skipped envFrom keys. */
export function invalidEnvKeysMessage(k: InvalidEnvKeys): string {
  return `Keys [${[...k.keys].sort().join(', ')}] from the EnvFrom ${k.kind} ${k.namespace}/${k.name} were skipped since they are considered invalid environment variable names.`;
}

/**
 * The container's environment (upstream makeEnvironmentVariables, without service links):
 * envFrom sources in order, then env entries, each `value` expanded against what came
 * before. A missing ConfigMap/Secret/key that is not optional throws a
 * {@link ContainerConfigError} (CreateContainerConfigError) with upstream's message.
 */
export async function makeEnvironment(
  pod: Pod,
  container: Container,
  ctx: PodRuntimeContext,
  getter: ObjectGetter,
  onInvalidKeys?: (k: InvalidEnvKeys) => void,
): Promise<Array<{ key: string; value: string }>> {
  const ns = pod.metadata?.namespace ?? '';
  const env = new Map<string, string>();
  const configMaps = new Map<string, ConfigMap>();
  const secrets = new Map<string, Secret>();
  const fail = (msg: string): never => {
    throw new ContainerConfigError(CreateContainerConfigError, msg);
  };
  const configMap = async (name: string, optional: boolean): Promise<ConfigMap | undefined> => {
    let cm = configMaps.get(name);
    if (cm) return cm;
    cm = await getter.configMap(ns, name);
    if (!cm) return optional ? undefined : fail(`configmap "${name}" not found`);
    configMaps.set(name, cm);
    return cm;
  };
  const secret = async (name: string, optional: boolean): Promise<Secret | undefined> => {
    let s = secrets.get(name);
    if (s) return s;
    s = await getter.secret(ns, name);
    if (!s) return optional ? undefined : fail(`secret "${name}" not found`);
    secrets.set(name, s);
    return s;
  };

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? '';
      const cm = await configMap(name, from.configMapRef.optional === true);
      if (!cm) continue;
      const invalid: string[] = [];
      for (const [k, v] of Object.entries(cm.data ?? {})) {
        const key = prefix + k;
        if (!isEnvVarName(key)) invalid.push(key);
        else env.set(key, v);
      }
      if (invalid.length > 0) onInvalidKeys?.({ kind: 'configMap', namespace: ns, name, keys: invalid });
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? '';
      const s = await secret(name, from.secretRef.optional === true);
      if (!s) continue;
      const invalid: string[] = [];
      for (const [k, v] of Object.entries(s.data ?? {})) {
        const key = prefix + k;
        if (!isEnvVarName(key)) invalid.push(key);
        else env.set(key, decodeSecret(v) ?? '');
      }
      if (invalid.length > 0) onInvalidKeys?.({ kind: 'secret', namespace: ns, name, keys: invalid });
    }
  }

  const serviceEnv = serviceEnvironment(pod, ctx.services ?? []);
  const mapping = mappingFuncFor(env, serviceEnv);
  for (const e of container.env ?? []) {
    let value = e.value ?? '';
    if (value !== '') value = expand(value, mapping);
    const from = e.valueFrom;
    if (from?.fieldRef) {
      try {
        value = podFieldValue(pod, from.fieldRef.fieldPath, ctx);
      } catch (err) {
        fail((err as Error).message);
      }
    } else if (from?.resourceFieldRef) {
      try {
        value = containerResourceValue(from.resourceFieldRef, container, ctx.nodeAllocatable);
      } catch (err) {
        fail((err as Error).message);
      }
    } else if (from?.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const optional = ref.optional === true;
      const cm = await configMap(ref.name ?? '', optional);
      if (!cm) continue;
      const v = cm.data?.[ref.key];
      if (v === undefined) {
        if (optional) continue;
        fail(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name ?? ''}`);
      }
      value = v!;
    } else if (from?.secretKeyRef) {
      const ref = from.secretKeyRef;
      const optional = ref.optional === true;
      const s = await secret(ref.name ?? '', optional);
      if (!s) continue;
      const v = decodeSecret(s.data?.[ref.key]);
      if (v === undefined) {
        if (optional) continue;
        fail(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name ?? ''}`);
      }
      value = v!;
    }
    env.set(e.name, value);
  }
  // Service variables come last and never override the container's own.
  for (const [k, v] of serviceEnv) if (!env.has(k)) env.set(k, v);
  return [...env].map(([key, value]) => ({ key, value }));
}

// ---- resources ----

/** cgroup v1 limits of cpu.shares (upstream MinShares/MaxShares) and the CFS quota floor. */
const MIN_SHARES = 2;
const MAX_SHARES = 262144;
const SHARES_PER_CPU = 1024;
const MILLI_CPU_TO_CPU = 1000;
/** CFS period the kubelet sets (upstream QuotaPeriod, 100 ms). */
export const CPU_QUOTA_PERIOD = 100000;
const MIN_QUOTA_PERIOD = 1000;

/** Upstream MilliCPUToShares. */
export function milliCPUToShares(milliCPU: number): number {
  if (milliCPU === 0) return MIN_SHARES;
  const shares = Math.floor((milliCPU * SHARES_PER_CPU) / MILLI_CPU_TO_CPU);
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
}

/** Upstream MilliCPUToQuota: 0 (no quota) for no limit, else at least 1 ms. */
export function milliCPUToQuota(milliCPU: number, period: number): number {
  if (milliCPU === 0) return 0;
  return Math.max(MIN_QUOTA_PERIOD, Math.floor((milliCPU * period) / MILLI_CPU_TO_CPU));
}

/** Upstream GetContainerOOMScoreAdjust (without the critical-pod and sidecar cases). */
export function oomScoreAdjust(pod: Pod, container: Container, memoryCapacity: number | undefined): number {
  const qos = podQOSClass(pod);
  if (qos === 'Guaranteed') return -997;
  if (qos === 'BestEffort') return 1000;
  if (!memoryCapacity) return 1000;
  const request = quantity(container.resources?.requests?.memory)?.value() ?? 0;
  const adj = 1000 - Math.floor((1000 * request) / memoryCapacity);
  if (adj < 1000 + -997) return 1000 + -997;
  if (adj === 1000) return 999;
  return adj;
}

/**
 * The container's cgroup settings (generateLinuxContainerResources): cpu.shares from the
 * CPU request (the limit when only that is set; 2 when neither), the CFS quota from the
 * CPU limit over a 100 ms period, the memory limit in bytes.
 */
export function linuxContainerResources(pod: Pod, container: Container, nodeMemoryCapacity?: number): LinuxContainerResources {
  const cpuLimit = quantity(container.resources?.limits?.cpu)?.milliValue() ?? 0;
  let cpuRequest = quantity(container.resources?.requests?.cpu)?.milliValue() ?? 0;
  if (cpuRequest === 0 && cpuLimit !== 0) cpuRequest = cpuLimit;
  const memoryLimit = quantity(container.resources?.limits?.memory)?.value() ?? 0;
  return {
    cpuPeriod: CPU_QUOTA_PERIOD,
    cpuQuota: milliCPUToQuota(cpuLimit, CPU_QUOTA_PERIOD),
    cpuShares: milliCPUToShares(cpuRequest),
    memoryLimitInBytes: memoryLimit,
    oomScoreAdj: oomScoreAdjust(pod, container, nodeMemoryCapacity),
  };
}

// ---- security context ----

/** Linux capability numbers (linux/capability.h) the kubelet may need to check. */
const CAPABILITY_BITS: Record<string, number> = {
  CHOWN: 0, DAC_OVERRIDE: 1, DAC_READ_SEARCH: 2, FOWNER: 3, FSETID: 4, KILL: 5, SETGID: 6, SETUID: 7, SETPCAP: 8,
  LINUX_IMMUTABLE: 9, NET_BIND_SERVICE: 10, NET_BROADCAST: 11, NET_ADMIN: 12, NET_RAW: 13, IPC_LOCK: 14, IPC_OWNER: 15,
  SYS_MODULE: 16, SYS_RAWIO: 17, SYS_CHROOT: 18, SYS_PTRACE: 19, SYS_PACCT: 20, SYS_ADMIN: 21, SYS_BOOT: 22, SYS_NICE: 23,
  SYS_RESOURCE: 24, SYS_TIME: 25, SYS_TTY_CONFIG: 26, MKNOD: 27, LEASE: 28, AUDIT_WRITE: 29, AUDIT_CONTROL: 30, SETFCAP: 31,
  MAC_OVERRIDE: 32, MAC_ADMIN: 33, SYSLOG: 34, WAKE_ALARM: 35, BLOCK_SUSPEND: 36, AUDIT_READ: 37, PERFMON: 38, BPF: 39,
  CHECKPOINT_RESTORE: 40,
};

/**
 * The capability names missing from a `/proc/<pid>/status` text's bounding set (CapBnd):
 * what no container on this node can be given. [] when the line is absent.
 */
export function missingCapabilities(procStatus: string): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(procStatus);
  if (!m) return [];
  const bnd = BigInt(`0x${m[1]}`);
  return Object.entries(CAPABILITY_BITS)
    .filter(([, bit]) => (bnd & (1n << BigInt(bit))) === 0n)
    .map(([name]) => name);
}

function capName(c: string): string {
  const u = c.toUpperCase();
  return u.startsWith('CAP_') ? u.slice(4) : u;
}

/**
 * The effective security context (pod-level runAsUser/runAsGroup overridden by the
 * container's, as upstream DetermineEffectiveSecurityContext; the pod's fsGroup and then
 * its supplementalGroups as supplemental groups, as upstream kuberuntime), in CRI
 * form. `unavailableCapabilities` are capabilities the node cannot grant (e.g.
 * SYS_RESOURCE on a VM without it, where runc fails obscurely): adding one is refused
 * with a CreateContainerError naming it.
 */
export function containerSecurityContext(pod: Pod, container: Container, unavailableCapabilities: readonly string[] = []): LinuxContainerSecurityContext {
  const psc = pod.spec?.securityContext ?? {};
  const csc = container.securityContext ?? {};
  const out: LinuxContainerSecurityContext = {};
  const runAsUser = csc.runAsUser ?? psc.runAsUser;
  const runAsGroup = csc.runAsGroup ?? psc.runAsGroup;
  if (runAsUser !== undefined) out.runAsUser = runAsUser;
  if (runAsGroup !== undefined) out.runAsGroup = runAsGroup;
  const groups = [...(psc.fsGroup !== undefined && psc.fsGroup !== null ? [psc.fsGroup] : []), ...(psc.supplementalGroups ?? [])];
  if (groups.length > 0) out.supplementalGroups = groups;
  if (csc.privileged) out.privileged = true;
  if (csc.readOnlyRootFilesystem) out.readonlyRootfs = true;
  // Upstream AddNoNewPrivileges: only an explicit allowPrivilegeEscalation=false sets it.
  if (csc.allowPrivilegeEscalation === false) out.noNewPrivs = true;
  const add = csc.capabilities?.add ?? [];
  const drop = csc.capabilities?.drop ?? [];
  if (add.length > 0 || drop.length > 0) out.capabilities = { add: [...add], drop: [...drop] };
  const unavailable = new Set(unavailableCapabilities.map(capName));
  if (unavailable.size > 0) {
    for (const c of add) {
      const n = capName(c);
      if (unavailable.has(n) || (n === 'ALL' && !csc.privileged)) {
        const what = n === 'ALL' ? `ALL (this node cannot grant ${[...unavailable].sort().map((x) => `CAP_${x}`).join(', ')})` : `CAP_${n}`;
        throw new ContainerConfigError(
          CreateContainerError,
          `failed to generate container "${container.name}" spec: capability ${what} is not available on this node: the container runtime runs without it in its bounding set`,
        );
      }
    }
  }
  return out;
}

/** The sandbox must allow privileged containers (any container or init container asks). */
export function sandboxPrivileged(pod: Pod): boolean {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].some((c) => c.securityContext?.privileged === true);
}

// ---- ports ----

/** The sandbox's hostPort mappings (generatePodSandboxConfig; ports without hostPort need none). */
export function portMappings(pod: Pod): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      const m: PortMapping = { protocol: (p.protocol ?? 'TCP') as PortMapping['protocol'], containerPort: p.containerPort, hostPort: p.hostPort };
      if (p.hostIP) m.hostIp = p.hostIP;
      out.push(m);
    }
  }
  return out;
}

// ---- DNS ----

/** Cluster DNS settings of the kubelet (--cluster-dns, --cluster-domain, --resolv-conf). */
export interface ClusterDNSOptions {
  /** Cluster DNS server IPs; [] means none configured. */
  clusterDNS: string[];
  /** e.g. "cluster.local". */
  clusterDomain: string;
  /** The node's resolver configuration (parsed /etc/resolv.conf). */
  hostDNS: DNSConfig;
}

/** Parses resolv.conf text (nameserver, search/domain, options lines). */
export function parseResolvConf(text: string): DNSConfig {
  const out: DNSConfig = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (line === '') continue;
    const f = line.split(/\s+/);
    if (f[0] === 'nameserver' && f[1]) out.servers.push(f[1]);
    // The last search/domain line wins, as in glibc.
    else if (f[0] === 'search' || f[0] === 'domain') out.searches = f.slice(1).filter((s) => s !== '.');
    else if (f[0] === 'options') out.options.push(...f.slice(1));
  }
  return out;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Upstream mergeDNSOptions: later options replace earlier ones of the same name. */
function mergeDNSOptions(existing: string[], extra: Array<{ name?: string; value?: string }>): string[] {
  const m = new Map<string, string | undefined>();
  for (const o of existing) {
    const i = o.indexOf(':');
    m.set(i < 0 ? o : o.slice(0, i), i < 0 ? undefined : o.slice(i + 1));
  }
  for (const o of extra) if (o.name) m.set(o.name, o.value);
  return [...m].map(([k, v]) => (v === undefined || v === '' ? k : `${k}:${v}`));
}

/**
 * The pod's resolver configuration by dnsPolicy (upstream GetPodDNS): ClusterFirst (and
 * ClusterFirstWithHostNet) → the cluster DNS with `<ns>.svc.<domain> svc.<domain> <domain>`
 * before the host's searches and ndots:5; ClusterFirst on the host network and Default →
 * the host's; None → only pod.spec.dnsConfig, which is appended in every case.
 * `missingClusterDNS` says a ClusterFirst pod fell back to the host's (event MissingClusterDNS).
 */
export function podDNSConfig(pod: Pod, o: ClusterDNSOptions): { config: DNSConfig; missingClusterDNS: boolean } {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const hostNet = pod.spec?.hostNetwork === true;
  let type: 'cluster' | 'host' | 'none';
  if (policy === 'None') type = 'none';
  else if (policy === 'ClusterFirstWithHostNet') type = 'cluster';
  else if (policy === 'ClusterFirst' && !hostNet) type = 'cluster';
  else type = 'host';
  let missingClusterDNS = false;
  if (type === 'cluster' && o.clusterDNS.length === 0) {
    type = 'host';
    missingClusterDNS = true;
  }
  let config: DNSConfig;
  if (type === 'none') config = { servers: [], searches: [], options: [] };
  else if (type === 'host') config = { servers: [...o.hostDNS.servers], searches: [...o.hostDNS.searches], options: [...o.hostDNS.options] };
  else {
    const ns = pod.metadata?.namespace ?? '';
    const d = o.clusterDomain;
    const searches = d ? [`${ns}.svc.${d}`, `svc.${d}`, d, ...o.hostDNS.searches] : [...o.hostDNS.searches];
    config = { servers: [...o.clusterDNS], searches: unique(searches), options: ['ndots:5'] };
  }
  const extra = pod.spec?.dnsConfig;
  if (extra) {
    config = {
      servers: unique([...config.servers, ...(extra.nameservers ?? [])]),
      searches: unique([...config.searches, ...(extra.searches ?? [])]),
      options: mergeDNSOptions(config.options, extra.options ?? []),
    };
  }
  return { config, missingClusterDNS };
}

// ---- hostname and /etc/hosts ----

/** The pod's hostname and (with a subdomain) domain, upstream generatePodHostNameAndDomain. */
export function podHostnameAndDomain(pod: Pod, clusterDomain: string): { hostname: string; domain: string } {
  let hostname = pod.spec?.hostname || pod.metadata?.name || '';
  if (hostname.length > 63) hostname = hostname.slice(0, 63).replace(/[-.]+$/, '');
  const sub = pod.spec?.subdomain;
  return { hostname, domain: sub ? `${sub}.${pod.metadata?.namespace ?? ''}.svc.${clusterDomain}` : '' };
}

function hostAliasesEntries(pod: Pod): string {
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length === 0) return '';
  return `\n# Entries added by HostAliases.\n${aliases.map((a) => `${a.ip ?? ''}\t${(a.hostnames ?? []).join('\t')}\n`).join('')}`;
}

/**
 * The /etc/hosts the kubelet mounts into every container (upstream managedHostsFileContent /
 * nodeHostsFileContent): localhost entries and the pod's own name on its IPs, or the node's
 * hosts file for host-network pods; hostAliases appended.
 */
export function managedHostsFile(pod: Pod, podIPs: string[], clusterDomain: string, nodeHosts: string): string {
  if (pod.spec?.hostNetwork) return `# Kubernetes-managed hosts file (host network).\n${nodeHosts}${hostAliasesEntries(pod)}`;
  const { hostname, domain } = podHostnameAndDomain(pod, clusterDomain);
  let out = '# Kubernetes-managed hosts file.\n';
  out += '127.0.0.1\tlocalhost\n';
  out += '::1\tlocalhost ip6-localhost ip6-loopback\n';
  out += 'fe00::0\tip6-localnet\n';
  out += 'fe00::0\tip6-mcastprefix\n';
  out += 'fe00::1\tip6-allnodes\n';
  out += 'fe00::2\tip6-allrouters\n';
  for (const ip of podIPs) out += domain ? `${ip}\t${hostname}.${domain}\t${hostname}\n` : `${ip}\t${hostname}\n`;
  return out + hostAliasesEntries(pod);
}
