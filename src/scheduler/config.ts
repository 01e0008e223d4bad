/**
 * KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1): decoding (strict: unknown
 * fields are errors), defaulting (profiles' plugin sets merged with the default profile
 * as upstream's v1 mergePlugins does) and validation. Every error names its field, e.g.
 * `profiles[0].pluginConfig[0].args.scoringStrategy.type: Unsupported value: "Foo": ...`.
 */
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { EXTENSION_POINTS, type PluginRef, type PluginSet, type Plugins, type Profile } from './framework/registry.js';
import { BUILTIN_PLUGINS, defaultPlugins, inTreeRegistry } from './plugins/registry.js';

export const API_VERSION = 'kubescheduler.config.k8s.io/v1';
export const KIND = 'KubeSchedulerConfiguration';
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export interface LeaderElectionConfiguration {
  leaderElect: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  resourceLock: string;
  resourceName: string;
  resourceNamespace: string;
}

/** The defaulted, validated configuration the scheduler runs with. */
export interface SchedulerConfiguration {
  profiles: Profile[];
  /** 0: adaptive (50% − 1% per 125 nodes, at least 5%) above 100 nodes. */
  percentageOfNodesToScore: number;
  podInitialBackoffSeconds: number;
  podMaxBackoffSeconds: number;
  leaderElection: LeaderElectionConfiguration;
  clientConnection: { kubeconfig: string };
}

export class ConfigError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]`);
    this.name = 'ConfigError';
  }
}

const DEFAULT_PLUGIN_ARGS: Record<string, () => Record<string, unknown>> = {
  NodeResourcesFit: () => ({ scoringStrategy: { type: 'LeastAllocated', resources: [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }] } }),
  NodeResourcesBalancedAllocation: () => ({ resources: [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }] }),
  InterPodAffinity: () => ({ hardPodAffinityWeight: 1, ignorePreferredTermsOfExistingPods: false }),
  PodTopologySpread: () => ({ defaultingType: 'System' }),
  DefaultPreemption: () => ({ minCandidateNodesPercentage: 10, minCandidateNodesAbsolute: 100 }),
  NodeAffinity: () => ({}),
};

export function defaultLeaderElection(): LeaderElectionConfiguration {
  return {
    leaderElect: true,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    resourceLock: 'leases',
    resourceName: 'kube-scheduler',
    resourceNamespace: 'kube-system',
  };
}

function defaultProfile(name = DEFAULT_SCHEDULER_NAME): Profile {
  const pluginConfig: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(DEFAULT_PLUGIN_ARGS)) pluginConfig[k] = f();
  return { schedulerName: name, plugins: defaultPlugins(), pluginConfig };
}

/** The configuration with no file: one default-scheduler profile with the default plugins. */
export function defaultConfiguration(): SchedulerConfiguration {
  return {
    profiles: [defaultProfile()],
    percentageOfNodesToScore: 0,
    podInitialBackoffSeconds: 1,
    podMaxBackoffSeconds: 10,
    leaderElection: defaultLeaderElection(),
    clientConnection: { kubeconfig: '' },
  };
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Decoder {
  readonly errors: string[] = [];

  err(path: string, msg: string): void {
    this.errors.push(path ? `${path}: ${msg}` : msg);
  }

  /** Reports fields of obj not in known (strict decoding). */
  strict(obj: Obj, path: string, known: readonly string[]): void {
    for (const k of Object.keys(obj)) {
      if (!known.includes(k)) this.errors.push(`strict decoding error: unknown field "${path ? `${path}.` : ''}${k}"`);
    }
  }

  obj(v: unknown, path: string): Obj | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) {
      this.err(path, `Invalid value: ${JSON.stringify(v)}: must be an object`);
      return undefined;
    }
    return v;
  }

  array(v: unknown, path: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.err(path, `Invalid value: ${JSON.stringify(v)}: must be a list`);
      return [];
    }
    return v;
  }

  int(v: unknown, path: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.err(path, `Invalid value: ${JSON.stringify(v)}: must be an integer`);
      return undefined;
    }
    return v;
  }

  string(v: unknown, path: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.err(path, `Invalid value: ${JSON.stringify(v)}: must be a string`);
      return undefined;
    }
    return v;
  }

  bool(v: unknown, path: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.err(path, `Invalid value: ${JSON.stringify(v)}: must be a boolean`);
      return undefined;
    }
    return v;
  }

  duration(v: unknown, path: string): number | undefined {
    const s = this.string(v, path);
    if (s === undefined) return undefined;
    const ms = parseGoDuration(s);
    if (ms === undefined) this.err(path, `Invalid value: ${JSON.stringify(s)}: must be a duration like "15s"`);
    return ms;
  }
}

/** "1h2m3.5s", "500ms" → milliseconds; undefined when malformed. */
export function parseGoDuration(s: string): number | undefined {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (s === '0') return 0;
  let rest = s.trim();
  let total = 0;
  if (rest === '') return undefined;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

const knownPlugins = (): Set<string> => new Set([...Object.keys(inTreeRegistry), ...BUILTIN_PLUGINS]);

function decodePluginSet(d: Decoder, v: unknown, path: string, known: Set<string>, extraKnown: ReadonlySet<string>): PluginSet | undefined {
  const o = d.obj(v, path);
  if (!o) return undefined;
  d.strict(o, path, ['enabled', 'disabled']);
  const refs = (key: 'enabled' | 'disabled'): PluginRef[] => d.array(o[key], `${path}.${key}`).map((e, i) => {
    const p = `${path}.${key}[${i}]`;
    const eo = d.obj(e, p) ?? {};
    d.strict(eo, p, ['name', 'weight']);
    const name = d.string(eo.name, `${p}.name`) ?? '';
    if (!name) d.err(`${p}.name`, 'Required value');
    else if (!(name === '*' && key === 'disabled') && !known.has(name) && !extraKnown.has(name)) d.err(`${p}.name`, `Invalid value: "${name}": plugin "${name}" does not exist`);
    const weight = d.int(eo.weight, `${p}.weight`);
    if (weight !== undefined && weight < 0) d.err(`${p}.weight`, `Invalid value: ${weight}: must be a non-negative integer`);
    return weight === undefined ? { name } : { name, weight };
  });
  return { enabled: refs('enabled'), disabled: refs('disabled') };
}

/** v1 mergePluginSet: defaults minus disabled (all with "*"), custom enabled replacing defaults in place, the rest appended. */
function mergePluginSet(def: PluginSet | undefined, custom: PluginSet | undefined): PluginSet | undefined {
  if (!custom) return def;
  const disabled = new Set((custom.disabled ?? []).map((p) => p.name));
  const customEnabled = new Map((custom.enabled ?? []).map((p, i) => [p.name, { p, i }]));
  const replaced = new Set<number>();
  const enabled: PluginRef[] = [];
  if (!disabled.has('*')) {
    for (const p of def?.enabled ?? []) {
      if (disabled.has(p.name)) continue;
      const c = customEnabled.get(p.name);
      if (c) {
        enabled.push(c.p);
        replaced.add(c.i);
      } else {
        enabled.push(p);
      }
    }
  }
  (custom.enabled ?? []).forEach((p, i) => { if (!replaced.has(i)) enabled.push(p); });
  return { enabled, disabled: custom.disabled ?? [] };
}

function validateFitArgs(d: Decoder, args: Obj, path: string): void {
  d.strict(args, path, ['ignoredResources', 'ignoredResourceGroups', 'scoringStrategy']);
  const ss = d.obj(args.scoringStrategy, `${path}.scoringStrategy`);
  if (!ss) return;
  d.strict(ss, `${path}.scoringStrategy`, ['type', 'resources', 'requestedToCapacityRatio']);
  const types = ['LeastAllocated', 'MostAllocated', 'RequestedToCapacityRatio'];
  const t = d.string(ss.type, `${path}.scoringStrategy.type`);
  if (t !== undefined && !types.includes(t)) {
    d.err(`${path}.scoringStrategy.type`, `Unsupported value: "${t}": supported values: ${types.map((x) => `"${x}"`).join(', ')}`);
  }
  validateResources(d, ss.resources, `${path}.scoringStrategy.resources`);
  if (t === 'RequestedToCapacityRatio') {
    const r = d.obj(ss.requestedToCapacityRatio, `${path}.scoringStrategy.requestedToCapacityRatio`);
    const shape = d.array(r?.shape, `${path}.scoringStrategy.requestedToCapacityRatio.shape`);
    if (shape.length === 0) d.err(`${path}.scoringStrategy.requestedToCapacityRatio.shape`, 'Required value: at least one point must be specified');
    let prev = -1;
    shape.forEach((pt, i) => {
      const p = `${path}.scoringStrategy.requestedToCapacityRatio.shape[${i}]`;
      const o = d.obj(pt, p) ?? {};
      const u = d.int(o.utilization, `${p}.utilization`) ?? 0;
      const s = d.int(o.score, `${p}.score`) ?? 0;
      if (u < 0 || u > 100) d.err(`${p}.utilization`, `Invalid value: ${u}: not in valid range [0-100]`);
      else if (u <= prev) d.err(`${p}.utilization`, `Invalid value: ${u}: utilization values must be sorted in increasing order`);
      if (s < 0 || s > 10) d.err(`${p}.score`, `Invalid value: ${s}: not in valid range [0-10]`);
      prev = u;
    });
  }
}

function validateResources(d: Decoder, v: unknown, path: string): void {
  d.array(v, path).forEach((r, i) => {
    const p = `${path}[${i}]`;
    const o = d.obj(r, p) ?? {};
    const name = d.string(o.name, `${p}.name`) ?? '';
    const w = d.int(o.weight, `${p}.weight`) ?? 0;
    if (w < 1 || w > 100) d.err(`${p}.weight`, `Invalid value: ${w}: resource weight of ${name} should be in range [1, 100]`);
  });
}

function validateArgs(d: Decoder, name: string, args: Obj, path: string): void {
  switch (name) {
    case 'NodeResourcesFit':
      validateFitArgs(d, args, path);
      break;
    case 'NodeResourcesBalancedAllocation':
      d.strict(args, path, ['resources']);
      validateResources(d, args.resources, `${path}.resources`);
      break;
    case 'InterPodAffinity': {
      d.strict(args, path, ['hardPodAffinityWeight', 'ignorePreferredTermsOfExistingPods']);
      const w = d.int(args.hardPodAffinityWeight, `${path}.hardPodAffinityWeight`);
      if (w !== undefined && (w < 0 || w > 100)) d.err(`${path}.hardPodAffinityWeight`, `Invalid value: ${w}: not in valid range [0-100]`);
      break;
    }
    case 'PodTopologySpread': {
      d.strict(args, path, ['defaultConstraints', 'defaultingType']);
      const t = d.string(args.defaultingType, `${path}.defaultingType`);
      if (t !== undefined && t !== 'System' && t !== 'List') d.err(`${path}.defaultingType`, `Unsupported value: "${t}": supported values: "System", "List"`);
      break;
    }
    case 'DefaultPreemption': {
      d.strict(args, path, ['minCandidateNodesPercentage', 'minCandidateNodesAbsolute']);
      const pct = d.int(args.minCandidateNodesPercentage, `${path}.minCandidateNodesPercentage`);
      if (pct !== undefined && (pct < 0 || pct > 100)) d.err(`${path}.minCandidateNodesPercentage`, `Invalid value: ${pct}: not in valid range [0, 100]`);
      break;
    }
    case 'NodeAffinity':
      d.strict(args, path, ['addedAffinity']);
      break;
    default:
      break;
  }
}

function decodeProfile(d: Decoder, v: unknown, i: number, extraPlugins: ReadonlySet<string>): Profile {
  const path = `profiles[${i}]`;
  const o = d.obj(v, path) ?? {};
  d.strict(o, path, ['schedulerName', 'percentageOfNodesToScore', 'plugins', 'pluginConfig']);
  const name = d.string(o.schedulerName, `${path}.schedulerName`) ?? DEFAULT_SCHEDULER_NAME;
  if (name === '') d.err(`${path}.schedulerName`, 'Required value');
  const prof = defaultProfile(name);
  const pct = d.int(o.percentageOfNodesToScore, `${path}.percentageOfNodesToScore`);
  if (pct !== undefined) {
    if (pct < 0 || pct > 100) d.err(`${path}.percentageOfNodesToScore`, `Invalid value: ${pct}: not in valid range [0-100]`);
    prof.percentageOfNodesToScore = pct;
  }
  const known = knownPlugins();
  const plugins = d.obj(o.plugins, `${path}.plugins`);
  if (plugins) {
    d.strict(plugins, `${path}.plugins`, ['multiPoint', ...EXTENSION_POINTS]);
    const merged: Plugins = {};
    const def = prof.plugins;
    for (const ep of ['multiPoint', ...EXTENSION_POINTS] as const) {
      const custom = decodePluginSet(d, plugins[ep], `${path}.plugins.${ep}`, known, extraPlugins);
      const m = mergePluginSet(def[ep], custom);
      if (m) merged[ep] = m;
    }
    prof.plugins = merged;
  }
  const seen = new Set<string>();
  d.array(o.pluginConfig, `${path}.pluginConfig`).forEach((pc, j) => {
    const p = `${path}.pluginConfig[${j}]`;
    const pco = d.obj(pc, p) ?? {};
    d.strict(pco, p, ['name', 'args']);
    const pname = d.string(pco.name, `${p}.name`) ?? '';
    if (!pname) {
      d.err(`${p}.name`, 'Required value');
      return;
    }
    if (seen.has(pname)) d.err(`${p}.name`, `Duplicate value: "${pname}"`);
    seen.add(pname);
    if (!known.has(pname) && !extraPlugins.has(pname)) d.err(`${p}.name`, `Invalid value: "${pname}": plugin "${pname}" does not exist`);
    const args = d.obj(pco.args, `${p}.args`) ?? {};
    validateArgs(d, pname, args, `${p}.args`);
    const base = DEFAULT_PLUGIN_ARGS[pname]?.() ?? {};
    const mergedArgs: Obj = { ...base, ...args };
    if (pname === 'NodeResourcesFit' && isObj(args.scoringStrategy)) {
      const ss = args.scoringStrategy;
      mergedArgs.scoringStrategy = {
        ...ss,
        resources: Array.isArray(ss.resources) && ss.resources.length > 0 ? ss.resources : [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }],
        type: ss.type ?? 'LeastAllocated',
      };
    }
    prof.pluginConfig[pname] = mergedArgs;
  });
  return prof;
}

/**
 * Decodes, defaults and validates a configuration document (already parsed from YAML or
 * JSON). `extraPlugins` names out-of-tree plugins the caller registers. Throws
 * {@link ConfigError} listing every problem.
 */
export function decodeConfiguration(doc: unknown, extraPlugins: ReadonlySet<string> = new Set()): SchedulerConfiguration {
  const d = new Decoder();
  const o = d.obj(doc, '') ?? {};
  const apiVersion = o.apiVersion;
  const kind = o.kind;
  if (kind !== KIND) {
    throw new ConfigError([kind === undefined ? "Object 'Kind' is missing in configuration" : `no kind "${String(kind)}" is registered for version "${String(apiVersion)}"`]);
  }
  if (apiVersion !== API_VERSION) throw new ConfigError([`no kind "${KIND}" is registered for version "${String(apiVersion)}"`]);
  d.strict(o, '', [
    'apiVersion', 'kind', 'parallelism', 'leaderElection', 'clientConnection', 'healthzBindAddress', 'metricsBindAddress',
    'enableProfiling', 'enableContentionProfiling', 'percentageOfNodesToScore', 'podInitialBackoffSeconds', 'podMaxBackoffSeconds',
    'profiles', 'extenders', 'delayCacheUntilActive', 'debuggingConfiguration',
  ]);
  const cfg = defaultConfiguration();
  const pct = d.int(o.percentageOfNodesToScore, 'percentageOfNodesToScore');
  if (pct !== undefined) {
    if (pct < 0 || pct > 100) d.err('percentageOfNodesToScore', `Invalid value: ${pct}: not in valid range [0-100]`);
    cfg.percentageOfNodesToScore = pct;
  }
  const ib = d.int(o.podInitialBackoffSeconds, 'podInitialBackoffSeconds');
  if (ib !== undefined) {
    if (ib <= 0) d.err('podInitialBackoffSeconds', `Invalid value: ${ib}: must be greater than 0`);
    cfg.podInitialBackoffSeconds = ib;
  }
  const mb = d.int(o.podMaxBackoffSeconds, 'podMaxBackoffSeconds');
  if (mb !== undefined) cfg.podMaxBackoffSeconds = mb;
  if (cfg.podMaxBackoffSeconds < cfg.podInitialBackoffSeconds) {
    d.err('podMaxBackoffSeconds', `Invalid value: ${cfg.podMaxBackoffSeconds}: must be greater than or equal to PodInitialBackoffSeconds`);
  }
  const par = d.int(o.parallelism, 'parallelism');
  if (par !== undefined && par <= 0) d.err('parallelism', `Invalid value: ${par}: should be an integer value greater than zero`);
  const le = d.obj(o.leaderElection, 'leaderElection');
  if (le) {
    d.strict(le, 'leaderElection', ['leaderElect', 'leaseDuration', 'renewDeadline', 'retryPeriod', 'resourceLock', 'resourceName', 'resourceNamespace']);
    const l = cfg.leaderElection;
    l.leaderElect = d.bool(le.leaderElect, 'leaderElection.leaderElect') ?? l.leaderElect;
    l.leaseDurationMs = d.duration(le.leaseDuration, 'leaderElection.leaseDuration') ?? l.leaseDurationMs;
    l.renewDeadlineMs = d.duration(le.renewDeadline, 'leaderElection.renewDeadline') ?? l.renewDeadlineMs;
    l.retryPeriodMs = d.duration(le.retryPeriod, 'leaderElection.retryPeriod') ?? l.retryPeriodMs;
    l.resourceLock = d.string(le.resourceLock, 'leaderElection.resourceLock') ?? l.resourceLock;
    l.resourceName = d.string(le.resourceName, 'leaderElection.resourceName') ?? l.resourceName;
    l.resourceNamespace = d.string(le.resourceNamespace, 'leaderElection.resourceNamespace') ?? l.resourceNamespace;
    if (l.leaderElect && l.leaseDurationMs <= l.renewDeadlineMs) {
      d.err('leaderElection.leaseDuration', `Invalid value: "${l.leaseDurationMs / 1000}s": leaseDuration must be greater than renewDeadline`);
    }
  }
  const cc = d.obj(o.clientConnection, 'clientConnection');
  if (cc) cfg.clientConnection.kubeconfig = d.string(cc.kubeconfig, 'clientConnection.kubeconfig') ?? '';
  const profiles = d.array(o.profiles, 'profiles');
  if (profiles.length > 0) {
    cfg.profiles = profiles.map((p, i) => decodeProfile(d, p, i, extraPlugins));
    const names = new Set<string>();
    cfg.profiles.forEach((p, i) => {
      if (names.has(p.schedulerName)) d.err(`profiles[${i}].schedulerName`, `Duplicate value: "${p.schedulerName}"`);
      names.add(p.schedulerName);
    });
  }
  if (d.errors.length > 0) throw new ConfigError(d.errors);
  return cfg;
}

/** Reads and decodes a configuration file (YAML or JSON). */
export async function loadConfigFile(path: string, extraPlugins?: ReadonlySet<string>): Promise<SchedulerConfiguration> {
  const text = await readFile(path, 'utf8');
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new ConfigError([`couldn't decode as KubeSchedulerConfiguration: ${(e as Error).message}`]);
  }
  return decodeConfiguration(doc, extraPlugins);
}
