/**
 * The kubelet's per-pod volumes, after upstream's volume manager and plugins (empty_dir,
 * host_path, configmap, secret, downwardapi, projected), util/atomic_writer.go,
 * volume_linux.go (SetVolumeOwnership) and kubelet_pods.go (makeMounts, makeHostsMount).
 * Everything lives under the kubelet root directory as upstream lays it out:
 *
 *     <root>/pods/<uid>/volumes/kubernetes.io~empty-dir/<volume>/
 *     <root>/pods/<uid>/volumes/kubernetes.io~configmap/<volume>/   (also ~secret,
 *                                                       ~projected, ~downward-api)
 *     <root>/pods/<uid>/etc-hosts
 *     <root>/pods/<uid>/containers/<container>/<attempt>.termination-log
 *
 * hostPath volumes are the host's own paths (after the type check). The runtime
 * bind-mounts these directories into containers (CRI Mount). With {@link
 * VolumeManagerOptions.memoryBacked} (the CRI runtime, the kubelet running as root on
 * Linux) emptyDir with medium Memory, and Secret, downward API and projected volumes —
 * which upstream wraps in a memory emptyDir — get a tmpfs mounted on their directory
 * first, sized like upstream's calculateEmptyDirMemorySize (node allocatable memory, or
 * the pod's memory limit or the volume's sizeLimit when smaller); ConfigMap volumes stay
 * on disk. Tearing a pod down unmounts whatever is mounted under its directory, lazily if
 * busy, before removing it; so does the cleanup of orphaned pod directories. Without the
 * option (the simulated runtime, or not root) these volumes are plain directories.
 *
 * With the pod's securityContext.fsGroup the volumes that support ownership management
 * (all but hostPath) are given to that group as upstream's SetVolumeOwnership does:
 * every entry's group becomes fsGroup, directories get setgid and group r-x, files group
 * read (emptyDir: group read-write, so files containers create inherit the group). A
 * projected service-account token is 0600 when the pod has an fsGroup or all its
 * containers run as one user, owned by that user: 0640 with the group. As upstream, these
 * volume types ignore fsGroupChangePolicy (it concerns persistent volumes): an emptyDir
 * is given to the group once, when created; API-backed volumes on every write.
 *
 * ConfigMap, Secret, downward API and projected volumes are written like upstream's
 * AtomicWriter: files in a timestamped `..<time>.<random>` directory, a `..data` symlink
 * to it replaced by rename, and one `<name> → ..data/<name>` symlink per top-level entry,
 * so a container sees either the old or the new set of files, never a mix. They are
 * refreshed (ConfigMap/Secret edits show up, service-account tokens are renewed at 80% of
 * their lifetime) when the pod syncs at least {@link VOLUME_REFRESH_MS} after the last time.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { chmod, chown, lchown, lstat, mkdir, open, readdir, readFile, readlink, realpath, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { parseQuantity } from '../apimachinery/quantity.js';
import { Resources, type Client } from '../client/interface.js';
import type { Container, Pod } from '../client/objects.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { ContainerConfigError, clientObjectGetter, containerResourceValue, expand, managedHostsFile, mappingFuncFor, podFieldValue, type ObjectGetter } from './podconfig.js';
import { mountAt, mountTmpfs, tmpfsNoswapSupported, unmountUnder } from './mount.js';
import type { Mount } from './runtime.js';
import { CreateContainerConfigError } from './status.js';

/** How often a running pod's ConfigMap/Secret/projected volumes are rewritten from the API (upstream resyncs about every minute). */
export const VOLUME_REFRESH_MS = 60_000;
/** Mode of files in ConfigMap/Secret/projected/downward API volumes without defaultMode (0644). */
const DEFAULT_MODE = 0o644;
/** Service-account token lifetime when the projection does not say (upstream 1 h). */
const DEFAULT_TOKEN_SECONDS = 3600;

const PLUGIN_DIRS = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  projected: 'kubernetes.io~projected',
  downwardAPI: 'kubernetes.io~downward-api',
} as const;

type Volume = NonNullable<NonNullable<Pod['spec']>['volumes']>[number];
type KeyToPath = { key: string; path: string; mode?: number };
type DownwardItem = { path: string; mode?: number; fieldRef?: { fieldPath: string }; resourceFieldRef?: { resource: string; divisor?: unknown; containerName?: string } };

/** A file of an atomically written volume. */
interface PayloadFile {
  data: Buffer;
  mode: number;
  /** Owner (upstream FileProjection.FsUser); the writer's own when unset. */
  uid?: number;
}
type Payload = Map<string, PayloadFile>;

/** A volume that could not be set up (upstream's FailedMount event). */
export interface VolumeFailure {
  volume: string;
  /** `MountVolume.SetUp failed for volume "x" : …`, upstream's event message. */
  message: string;
}

export interface VolumeManagerOptions {
  /** The kubelet root directory (upstream --root-dir, /var/lib/kubelet). */
  rootDir: string;
  client: Client;
  /** Where ConfigMaps and Secrets come from (default: GETs through client). */
  getter?: ObjectGetter;
  clock: Clock;
  logger: Logger;
  /** For the pod's FQDN in /etc/hosts (default cluster.local). */
  clusterDomain?: string;
  /** The node's hosts file, copied for host-network pods (default /etc/hosts). */
  nodeHostsPath?: string;
  /** Node allocatable, for downward-API resource limits that are unset and the size of memory-backed volumes. */
  nodeAllocatable?: () => Record<string, string> | undefined;
  /**
   * Mount a tmpfs for emptyDir medium Memory and for Secret, downward API and projected
   * volumes, as upstream (see the module comment). Needs root on Linux: set it for real
   * containers only. Default false: plain directories.
   */
  memoryBacked?: boolean;
}

interface PodVolumes {
  /** Host path of each set-up volume by name. */
  paths: Map<string, { path: string; readOnly: boolean }>;
  refreshedAt: number;
}

interface CachedToken {
  token: string;
  refreshAt: number;
}

/** See the module comment. */
export class VolumeManager {
  readonly #o: VolumeManagerOptions;
  readonly #getter: ObjectGetter;
  readonly #pods = new Map<string, PodVolumes>();
  readonly #tokens = new Map<string, CachedToken>();

  constructor(opts: VolumeManagerOptions) {
    this.#o = opts;
    this.#getter = opts.getter ?? clientObjectGetter(opts.client);
  }

  get rootDir(): string {
    return this.#o.rootDir;
  }

  /** `<root>/pods/<uid>`. */
  podDir(uid: string): string {
    return join(this.#o.rootDir, 'pods', uid);
  }

  /**
   * Sets up every volume of the pod that is not yet (refreshing the API-backed ones once
   * {@link VOLUME_REFRESH_MS} has passed). Resolves with the volumes that failed; the
   * others are ready for {@link mountsFor}.
   */
  async setUpPod(pod: Pod): Promise<VolumeFailure[]> {
    const uid = pod.metadata?.uid ?? '';
    const now = this.#o.clock.now();
    let pv = this.#pods.get(uid);
    const refresh = pv !== undefined && now - pv.refreshedAt >= VOLUME_REFRESH_MS;
    if (!pv) {
      pv = { paths: new Map(), refreshedAt: now };
      this.#pods.set(uid, pv);
    }
    if (refresh) pv.refreshedAt = now;
    const failures: VolumeFailure[] = [];
    for (const v of pod.spec?.volumes ?? []) {
      const refreshable = v.configMap !== undefined || v.secret !== undefined || v.projected !== undefined || v.downwardAPI !== undefined;
      if (pv.paths.has(v.name) && !(refresh && refreshable)) continue;
      try {
        pv.paths.set(v.name, await this.#setUp(pod, v));
      } catch (err) {
        failures.push({ volume: v.name, message: `MountVolume.SetUp failed for volume "${v.name}" : ${(err as Error).message}` });
      }
    }
    return failures;
  }

  async #setUp(pod: Pod, v: Volume): Promise<{ path: string; readOnly: boolean }> {
    const uid = pod.metadata?.uid ?? '';
    const dir = (plugin: string) => join(this.podDir(uid), 'volumes', plugin, v.name);
    const fsGroup = pod.spec?.securityContext?.fsGroup ?? undefined;
    const now = () => this.#o.clock.now();
    if (v.emptyDir) {
      const p = dir(PLUGIN_DIRS.emptyDir);
      const created = v.emptyDir.medium === 'Memory' ? await this.#setUpMemoryDir(p, pod, v.emptyDir.sizeLimit) : await setUpEmptyDir(p);
      // Upstream gives an emptyDir to the group once (its ready marker stops later set-ups).
      if (created && fsGroup !== undefined) await setVolumeOwnership(p, fsGroup, false);
      return { path: p, readOnly: false };
    }
    if (v.hostPath) {
      await checkHostPathType(v.hostPath.path, v.hostPath.type ?? '');
      return { path: v.hostPath.path, readOnly: false };
    }
    // The API-backed volumes wrap an emptyDir as upstream: on disk for ConfigMaps, in memory for the others.
    const wrap = async (p: string, memory: boolean) => {
      const created = memory ? await this.#setUpMemoryDir(p, pod, undefined) : await setUpEmptyDir(p);
      if (created && fsGroup !== undefined) await setVolumeOwnership(p, fsGroup, false);
    };
    if (v.configMap) {
      const p = dir(PLUGIN_DIRS.configMap);
      const payload = await this.#configMapPayload(pod, v.configMap, v.configMap.defaultMode ?? DEFAULT_MODE);
      await wrap(p, false);
      await writeAtomic(p, payload, now(), { fsGroup });
      return { path: p, readOnly: true };
    }
    if (v.secret) {
      const p = dir(PLUGIN_DIRS.secret);
      const payload = await this.#secretPayload(pod, { ...v.secret, name: v.secret.secretName }, v.secret.defaultMode ?? DEFAULT_MODE);
      await wrap(p, true);
      await writeAtomic(p, payload, now(), { fsGroup });
      return { path: p, readOnly: true };
    }
    if (v.downwardAPI) {
      const p = dir(PLUGIN_DIRS.downwardAPI);
      const payload = this.#downwardPayload(pod, (v.downwardAPI.items ?? []) as DownwardItem[], v.downwardAPI.defaultMode ?? DEFAULT_MODE);
      await wrap(p, true);
      await writeAtomic(p, payload, now(), { fsGroup });
      return { path: p, readOnly: true };
    }
    if (v.projected) {
      const p = dir(PLUGIN_DIRS.projected);
      const payload = await this.#projectedPayload(pod, v.name, v.projected);
      await wrap(p, true);
      await writeAtomic(p, payload, now(), { fsGroup });
      return { path: p, readOnly: true };
    }
    const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
    throw new Error(`volume type ${kind} is not supported by this kubelet`);
  }

  /**
   * An emptyDir in memory (upstream setupTmpfs): the directory, then a tmpfs on it unless
   * one is there already (a kubelet restart). Resolves true when the volume is new. Without
   * {@link VolumeManagerOptions.memoryBacked}, a plain emptyDir.
   */
  async #setUpMemoryDir(p: string, pod: Pod, sizeLimit: unknown): Promise<boolean> {
    const created = await setUpEmptyDir(p);
    if (!this.#o.memoryBacked) return created;
    // A directory made just now has nothing mounted on it: no mountinfo read on a pod's first start.
    if (!created && (await mountAt(p))?.fsType === 'tmpfs') return false;
    const options: string[] = [];
    const size = memoryVolumeSize(pod, quantityValue(this.#o.nodeAllocatable?.()?.memory), quantityValue(sizeLimit));
    if (size !== undefined) options.push(`size=${size}`);
    if (tmpfsNoswapSupported()) options.push('noswap');
    this.#o.logger.debug({ pod: pod.metadata?.uid, dir: p, options }, 'Mounting tmpfs for volume');
    await mountTmpfs(p, options);
    return true;
  }

  async #configMapPayload(pod: Pod, src: { name?: string; items?: KeyToPath[]; optional?: boolean }, defaultMode: number): Promise<Payload> {
    const name = src.name ?? '';
    const cm = await this.#getter.configMap(pod.metadata?.namespace ?? '', name);
    const out: Payload = new Map();
    if (!cm) {
      if (src.optional) return out;
      throw new Error(`configmap "${name}" not found`);
    }
    const data = new Map<string, Buffer>();
    for (const [k, val] of Object.entries(cm.data ?? {})) data.set(k, Buffer.from(val));
    for (const [k, val] of Object.entries(cm.binaryData ?? {})) data.set(k, Buffer.from(val, 'base64'));
    return itemsPayload(data, src.items, defaultMode, src.optional === true, (k) => `configmap references non-existent config key: ${k}`);
  }

  async #secretPayload(pod: Pod, src: { name?: string; items?: KeyToPath[]; optional?: boolean }, defaultMode: number): Promise<Payload> {
    const name = src.name ?? '';
    const s = await this.#getter.secret(pod.metadata?.namespace ?? '', name);
    if (!s) {
      if (src.optional) return new Map();
      throw new Error(`secret "${name}" not found`);
    }
    const data = new Map<string, Buffer>();
    for (const [k, val] of Object.entries(s.data ?? {})) data.set(k, Buffer.from(val, 'base64'));
    return itemsPayload(data, src.items, defaultMode, src.optional === true, (k) => `references non-existent secret key: ${k}`);
  }

  #downwardPayload(pod: Pod, items: DownwardItem[], defaultMode: number): Payload {
    const out: Payload = new Map();
    for (const item of items) {
      let value = '';
      if (item.fieldRef) value = podFieldValue(pod, item.fieldRef.fieldPath);
      else if (item.resourceFieldRef) {
        const cname = item.resourceFieldRef.containerName;
        const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === cname);
        if (!c) throw new Error(`container ${cname ?? ''} not found in pod ${pod.metadata?.name ?? ''}`);
        value = containerResourceValue(item.resourceFieldRef, c, this.#o.nodeAllocatable?.());
      }
      out.set(cleanPayloadPath(item.path), { data: Buffer.from(value), mode: item.mode ?? defaultMode });
    }
    return out;
  }

  async #projectedPayload(pod: Pod, volume: string, projected: NonNullable<Volume['projected']>): Promise<Payload> {
    const defaultMode = projected.defaultMode ?? DEFAULT_MODE;
    const out: Payload = new Map();
    const merge = (p: Payload) => {
      for (const [k, f] of p) out.set(k, f);
    };
    for (const s of projected.sources ?? []) {
      if (s.configMap) merge(await this.#configMapPayload(pod, s.configMap, defaultMode));
      else if (s.secret) merge(await this.#secretPayload(pod, s.secret, defaultMode));
      else if (s.downwardAPI) merge(this.#downwardPayload(pod, (s.downwardAPI.items ?? []) as DownwardItem[], defaultMode));
      else if (s.serviceAccountToken) {
        const t = s.serviceAccountToken;
        const token = await this.#token(pod, volume, t.path, t.audience, t.expirationSeconds ?? DEFAULT_TOKEN_SECONDS);
        // Upstream: 0600 with an fsUser or fsGroup (the group read comes with the ownership change).
        const fsUser = fsUserFrom(pod);
        const fsGroup = pod.spec?.securityContext?.fsGroup ?? undefined;
        out.set(cleanPayloadPath(t.path), { data: Buffer.from(token), mode: fsUser !== undefined || fsGroup !== undefined ? 0o600 : defaultMode, uid: fsUser });
      } else {
        throw new Error('projected volume source is not supported by this kubelet');
      }
    }
    return out;
  }

  /** A bound service-account token (TokenRequest), cached until 80% of its lifetime. */
  async #token(pod: Pod, volume: string, path: string, audience: string | undefined, seconds: number): Promise<string> {
    const m = pod.metadata ?? {};
    const key = `${m.uid}/${volume}/${path}`;
    const now = this.#o.clock.now();
    const cached = this.#tokens.get(key);
    if (cached && now < cached.refreshAt) return cached.token;
    const sa = pod.spec?.serviceAccountName || 'default';
    const spec: Record<string, unknown> = { expirationSeconds: seconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: m.name, uid: m.uid } };
    if (audience) spec.audiences = [audience];
    const res = (await this.#o.client
      .resource(Resources.serviceaccounts, m.namespace)
      .createSubresource(sa, 'token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec })) as { status?: { token?: string; expirationTimestamp?: string } };
    const token = res.status?.token;
    if (!token) throw new Error(`failed to fetch token: the TokenRequest for service account ${m.namespace}/${sa} returned no token`);
    const exp = res.status?.expirationTimestamp ? Date.parse(res.status.expirationTimestamp) : NaN;
    const ttl = Number.isFinite(exp) && exp > now ? exp - now : seconds * 1000;
    this.#tokens.set(key, { token, refreshAt: now + ttl * 0.8 });
    return token;
  }

  /**
   * Writes `<root>/pods/<uid>/etc-hosts` for the pod's IPs (the node's hosts file for
   * host-network pods) and returns its path.
   */
  async writeHostsFile(pod: Pod, podIPs: string[]): Promise<string> {
    const p = join(this.podDir(pod.metadata?.uid ?? ''), 'etc-hosts');
    let nodeHosts = '';
    if (pod.spec?.hostNetwork) nodeHosts = await readFile(this.#o.nodeHostsPath ?? '/etc/hosts', 'utf8').catch(() => '');
    const content = managedHostsFile(pod, podIPs, this.#o.clusterDomain ?? 'cluster.local', nodeHosts);
    await mkdir(dirname(p), { recursive: true });
    const old = await readFile(p, 'utf8').catch(() => undefined);
    if (old !== content) await writeFile(p, content, { mode: 0o644 });
    return p;
  }

  /**
   * The CRI mounts of one container (upstream makeMounts): its volumeMounts, with subPath
   * (created in the volume when missing, never escaping it) and subPathExpr expanded from
   * env; API-backed volumes always read-only; /etc/hosts (when `hostsFile` is given and
   * the container mounts nothing there) and the termination-message file. Throws a
   * CreateContainerConfigError for a mount naming no set-up volume or a bad subPath.
   */
  async mountsFor(pod: Pod, container: Container, attempt: number, env: ReadonlyArray<{ key: string; value: string }>, hostsFile?: string): Promise<Mount[]> {
    const uid = pod.metadata?.uid ?? '';
    const pv = this.#pods.get(uid);
    const out: Mount[] = [];
    const fail = (msg: string): never => {
      throw new ContainerConfigError(CreateContainerConfigError, msg);
    };
    const mapping = mappingFuncFor(new Map(env.map((e) => [e.key, e.value])));
    for (const vm of container.volumeMounts ?? []) {
      const vol = pv?.paths.get(vm.name);
      if (!vol) fail(`cannot find volume "${vm.name}" to mount into container "${container.name}"`);
      let hostPath = vol!.path;
      let subPath = vm.subPath ?? '';
      if (vm.subPathExpr) subPath = expand(vm.subPathExpr, mapping);
      if (subPath !== '') {
        if (isAbsolute(subPath) || normalize(subPath).split(sep).includes('..')) fail(`invalid subpath "${subPath}" in volume mount "${vm.name}"`);
        hostPath = join(vol!.path, subPath);
        const exists = await lstat(hostPath).then(() => true, () => false);
        if (!exists) {
          if (vol!.readOnly) fail(`failed to prepare subPath for volumeMount "${vm.name}" of container "${container.name}"`);
          const perm = (await stat(vol!.path)).mode & 0o7777;
          await mkdir(hostPath, { recursive: true, mode: perm });
        }
        const [root, real] = await Promise.all([realpath(vol!.path), realpath(hostPath).catch(() => '')]);
        const rel = relative(root, real);
        if (real === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) fail(`subpath "${subPath}" of volume "${vm.name}" points outside the volume`);
      }
      out.push({ containerPath: vm.mountPath, hostPath, readonly: vm.readOnly === true || vol!.readOnly });
    }
    if (hostsFile && !out.some((m) => m.containerPath === '/etc/hosts')) out.push({ containerPath: '/etc/hosts', hostPath: hostsFile, readonly: false });
    const terminationPath = container.terminationMessagePath ?? '/dev/termination-log';
    if (terminationPath !== '' && !out.some((m) => m.containerPath === terminationPath)) {
      const p = this.terminationLogPath(uid, container.name, attempt);
      await mkdir(dirname(p), { recursive: true });
      // Older instances' files go; the previous one stays with its dead container (lastState).
      for (const f of await readdir(dirname(p))) {
        const m = /^(\d+)\.termination-log$/.exec(f);
        if (m && Number(m[1]) < attempt - 1) await rm(join(dirname(p), f), { force: true });
      }
      const fh = await open(p, fsConstants.O_CREAT | fsConstants.O_WRONLY, 0o666);
      await fh.close();
      await chmod(p, 0o666);
      out.push({ containerPath: terminationPath, hostPath: p, readonly: false });
    }
    return out;
  }

  /** The termination-message file of a container instance (mounted at its terminationMessagePath). */
  terminationLogPath(uid: string, container: string, attempt: number): string {
    return join(this.podDir(uid), 'containers', container, `${attempt}.termination-log`);
  }

  /**
   * Unmounts what is mounted under the pod's directory (the tmpfs of memory-backed
   * volumes), removes the directory and forgets the pod (upstream's volume tear-down and
   * orphaned pod dir cleanup). Rejects, removing nothing, if something stays mounted.
   */
  async tearDownPod(uid: string): Promise<void> {
    this.#pods.delete(uid);
    for (const k of this.#tokens.keys()) if (k.startsWith(`${uid}/`)) this.#tokens.delete(k);
    const dir = this.podDir(uid);
    const n = await unmountUnder(dir);
    if (n > 0) this.#o.logger.debug({ podUID: uid, mounts: n }, 'Unmounted pod volumes');
    await rm(dir, { recursive: true, force: true });
  }

  /** Removes pod directories of pods not in `active` (kubelet restart after deletions); resolves with how many. */
  async cleanupOrphans(active: ReadonlySet<string>): Promise<number> {
    const entries = await readdir(join(this.#o.rootDir, 'pods')).catch(() => [] as string[]);
    let n = 0;
    for (const uid of entries) {
      if (active.has(uid)) continue;
      await this.tearDownPod(uid);
      n++;
    }
    return n;
  }
}

// ---- hostPath ----

/** Upstream hostPath checkType, messages included. */
export async function checkHostPathType(path: string, type: string): Promise<void> {
  if (type === '') return;
  const st = await stat(path).catch(() => undefined);
  if (type === 'DirectoryOrCreate' && !st) {
    await mkdir(path, { recursive: true, mode: 0o755 });
    return;
  }
  if (type === 'FileOrCreate' && !st) {
    const fh = await open(path, fsConstants.O_CREAT | fsConstants.O_RDONLY, 0o644);
    await fh.close();
    return;
  }
  const checks: Record<string, [boolean | undefined, string]> = {
    DirectoryOrCreate: [st?.isDirectory(), 'a directory'],
    Directory: [st?.isDirectory(), 'a directory'],
    FileOrCreate: [st?.isFile(), 'a file'],
    File: [st?.isFile(), 'a file'],
    Socket: [st?.isSocket(), 'a socket file'],
    CharDevice: [st?.isCharacterDevice(), 'a character device'],
    BlockDevice: [st?.isBlockDevice(), 'a block device'],
  };
  const check = checks[type];
  if (!check) throw new Error(`${type} is an invalid volume type`);
  if (!check[0]) throw new Error(`hostPath type check failed: ${path} is not ${check[1]}`);
}

// ---- memory-backed volumes and ownership ----

/** Upstream setupDir: the directory, mode 0777 (kept if only special bits differ); true when it was created. */
async function setUpEmptyDir(p: string): Promise<boolean> {
  const created = await stat(p).then(() => false, () => true);
  await mkdir(p, { recursive: true });
  if (((await stat(p)).mode & 0o777) !== 0o777) await chmod(p, 0o777);
  return created;
}

function quantityValue(q: unknown): number | undefined {
  if (q === undefined || q === null || q === '') return undefined;
  try {
    return parseQuantity(String(q)).value();
  } catch {
    return undefined;
  }
}

/**
 * The memory limit of the whole pod as its cgroup gets it (upstream ResourceConfigForPod):
 * the containers' limits summed (with sidecars), or the largest init container's if more,
 * plus the overhead; undefined unless every container declares one.
 */
export function podMemoryLimit(pod: Pod): number | undefined {
  const spec = pod.spec;
  if (!spec) return undefined;
  let declared = true;
  const limit = (c: Container) => {
    const v = quantityValue(c.resources?.limits?.memory);
    if (v === undefined || v === 0) declared = false;
    return v ?? 0;
  };
  let sum = 0;
  for (const c of spec.containers ?? []) sum += limit(c);
  let maxInit = 0;
  for (const c of spec.initContainers ?? []) {
    if (c.restartPolicy === 'Always') sum += limit(c);
    else maxInit = Math.max(maxInit, limit(c));
  }
  if (!declared) return undefined;
  return Math.max(sum, maxInit) + (quantityValue(spec.overhead?.memory) ?? 0);
}

/**
 * The size of a memory-backed volume (upstream calculateEmptyDirMemorySize): node
 * allocatable memory, or the pod's memory limit if smaller, or the volume's sizeLimit if
 * smaller still; undefined (the kernel's default, half the RAM) when nothing is known.
 */
export function memoryVolumeSize(pod: Pod, nodeAllocatableMemory: number | undefined, sizeLimit: number | undefined): number | undefined {
  let size = nodeAllocatableMemory;
  for (const candidate of [podMemoryLimit(pod), sizeLimit]) {
    if (candidate !== undefined && candidate > 0 && (size === undefined || candidate <= size)) size = candidate;
  }
  return size;
}

/** Upstream FsUserFrom: the user every container and init container runs as, if they all run as one. */
export function fsUserFrom(pod: Pod): number | undefined {
  let user: number | undefined;
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    const u = c.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser ?? undefined;
    if (u === undefined || (user !== undefined && u !== user)) return undefined;
    user = u;
  }
  return user;
}

/**
 * Upstream SetVolumeOwnership (volume_linux.go): every entry under dir (symlinks not
 * followed) goes to group fsGroup; files and directories get group read (and write for a
 * writable volume), directories also group search and setgid. Symlinks keep their mode.
 */
export async function setVolumeOwnership(dir: string, fsGroup: number, readOnly: boolean): Promise<void> {
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p);
    await lchown(p, -1, fsGroup);
    if (st.isSymbolicLink()) return;
    let mask = readOnly ? 0o440 : 0o660;
    if (st.isDirectory()) mask |= 0o2000 | 0o110;
    await chmod(p, (st.mode & 0o7777) | mask);
    if (st.isDirectory()) for (const name of await readdir(p)) await walk(join(p, name));
  };
  await walk(dir);
}

/**
 * Unmounts every volume mounted under `<rootDir>/pods` — for a node whose pods are all gone
 * with its runtime (`flotilla up` stopping its containerd), so the directory can be removed.
 */
export async function unmountPodVolumes(rootDir: string): Promise<number> {
  return unmountUnder(join(rootDir, 'pods'));
}

// ---- payloads and the atomic writer ----

function cleanPayloadPath(p: string): string {
  const n = normalize(p);
  if (isAbsolute(n) || n.split(sep).includes('..') || n.startsWith('..')) throw new Error(`invalid path ${JSON.stringify(p)}: must be relative and may not contain '..'`);
  return n;
}

function itemsPayload(data: Map<string, Buffer>, items: KeyToPath[] | undefined, defaultMode: number, optional: boolean, missing: (k: string) => string): Payload {
  const out: Payload = new Map();
  if (!items || items.length === 0) {
    for (const [k, v] of data) out.set(cleanPayloadPath(k), { data: v, mode: defaultMode });
    return out;
  }
  for (const it of items) {
    const v = data.get(it.key);
    if (v === undefined) {
      if (optional) continue;
      throw new Error(missing(it.key));
    }
    out.set(cleanPayloadPath(it.path), { data: v, mode: it.mode ?? defaultMode });
  }
  return out;
}

const DATA_LINK = '..data';

/** What a file of the payload looks like once written, ownership applied. */
function writtenMode(f: PayloadFile, fsGroup: number | undefined): number {
  return fsGroup === undefined ? f.mode : f.mode | 0o440;
}

async function currentPayloadMatches(dir: string, payload: Payload, fsGroup: number | undefined): Promise<boolean> {
  const target = await readlink(join(dir, DATA_LINK)).catch(() => undefined);
  if (target === undefined) return false;
  const base = join(dir, target);
  const seen = new Set<string>();
  const walk = async (rel: string): Promise<boolean> => {
    for (const e of await readdir(join(base, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : join(rel, e.name);
      if (e.isDirectory()) {
        if (!(await walk(r))) return false;
        continue;
      }
      const want = payload.get(r);
      if (!want) return false;
      const [st, data] = await Promise.all([stat(join(base, r)), readFile(join(base, r))]);
      if ((st.mode & 0o7777) !== writtenMode(want, fsGroup) || !data.equals(want.data)) return false;
      if ((want.uid !== undefined && st.uid !== want.uid) || (fsGroup !== undefined && st.gid !== fsGroup)) return false;
      seen.add(r);
    }
    return true;
  };
  try {
    return (await walk('')) && seen.size === payload.size;
  } catch {
    return false;
  }
}

function tsDirName(now: number): string {
  const d = new Date(now);
  const p = (n: number) => String(n).padStart(2, '0');
  return `..${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}.${randomBytes(5).readUInt32BE() % 1e9}`;
}

/**
 * Writes payload into dir the AtomicWriter way (see the module comment). With `fsGroup`,
 * the whole volume gets {@link setVolumeOwnership} (read-only) before the new files show.
 * Resolves false when dir already held exactly this payload.
 */
export async function writeAtomic(dir: string, payload: Payload, now: number, opts: { fsGroup?: number } = {}): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  if (await currentPayloadMatches(dir, payload, opts.fsGroup)) return false;
  const oldTarget = await readlink(join(dir, DATA_LINK)).catch(() => undefined);
  const ts = tsDirName(now);
  const tsPath = join(dir, ts);
  await mkdir(tsPath, { mode: 0o755 });
  for (const [rel, f] of payload) {
    const p = join(tsPath, rel);
    await mkdir(dirname(p), { recursive: true, mode: 0o755 });
    await writeFile(p, f.data, { mode: f.mode });
    await chmod(p, f.mode);
    if (f.uid !== undefined) await chown(p, f.uid, -1);
  }
  if (opts.fsGroup !== undefined) await setVolumeOwnership(dir, opts.fsGroup, true);
  const tmpLink = join(dir, `${DATA_LINK}_tmp`);
  await unlink(tmpLink).catch(() => undefined);
  await symlink(ts, tmpLink);
  await rename(tmpLink, join(dir, DATA_LINK));
  const top = new Set([...payload.keys()].map((k) => k.split(sep)[0]!));
  for (const name of top) {
    const link = join(dir, name);
    const cur = await readlink(link).catch(() => undefined);
    if (cur === join(DATA_LINK, name)) continue;
    await rm(link, { recursive: true, force: true });
    await symlink(join(DATA_LINK, name), link);
  }
  for (const name of await readdir(dir)) {
    if (name.startsWith('..') || top.has(name)) continue;
    const target = await readlink(join(dir, name)).catch(() => undefined);
    if (target?.startsWith(`${DATA_LINK}${sep}`)) await unlink(join(dir, name));
  }
  if (oldTarget && oldTarget !== ts) await rm(join(dir, oldTarget), { recursive: true, force: true });
  return true;
}
