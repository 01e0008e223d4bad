/**
 * Static pods: pods the kubelet reads from a manifests folder (`--pod-manifest-path`,
 * `staticPodPath`) instead of the API server, and shows in the API as mirror pods named
 * `<name>-<node>` (kubeadm runs the control plane this way). After upstream
 * pkg/kubelet/config (file source: file.go, common.go applyDefaults, config.go's seen
 * annotation) and pkg/kubelet/pod/mirror_client.go.
 *
 * The file source reads every regular, non-hidden file of the folder (or the one file the
 * path names) as a YAML or JSON Pod, and defaults it as the kubelet does:
 *   - name `<name>-<nodeName>` (node name lower-cased), namespace "default" when unset,
 *     spec.nodeName = the node, a toleration of every NoExecute taint;
 *   - UID = an md5 of `host:<node>`, `file:<path>` and the decoded manifest. Upstream hashes
 *     its Go object with DeepHashObject, which cannot be reproduced here; we hash the
 *     manifest's canonical JSON (sorted keys), so the UID changes exactly when the content,
 *     the file or the node does;
 *   - annotations kubernetes.io/config.hash = the UID, kubernetes.io/config.source = "file",
 *     kubernetes.io/config.seen = when this kubelet first saw that UID (RFC 3339, ns).
 * The folder is re-read on file-system events and every `checkIntervalMs` (upstream
 * fileCheckFrequency, 20 s), as the upstream source does with inotify plus a period.
 *
 * The mirror pods are reconciled level-triggered (one `sync` at a time, re-run on manifest
 * changes, on every event about a pod of this node, and periodically): a static pod without
 * a live mirror gets one (a copy of the static pod with kubernetes.io/config.mirror = its
 * hash and a controller ownerReference to the Node, so the garbage collector removes it with
 * the node); a mirror pod that is being deleted, or whose config.mirror no longer matches
 * its static pod's hash (the file changed), or whose file went, is deleted at once (grace
 * period 0, UID precondition), and recreated when its static pod still exists.
 *
 * Departure from upstream, deliberately for this first version: the static pod's containers
 * run through the mirror pod, i.e. the ordinary pod-worker path of the pods bound to this
 * node (the mirror pod carries spec.nodeName, so the kubelet's pod informer hands it to the
 * pod workers, which also write its status, so `kubectl get pods` shows it Running).
 * Upstream runs the static pod itself (by its file UID) and only reflects it in the mirror.
 * Consequences: static pods run only while the API server is reachable (upstream runs them
 * before the API server exists, which is how kubeadm bootstraps it), and deleting the mirror
 * pod restarts its containers (upstream leaves them running). Both disappear once the pod
 * workers accept pods from a second source keyed by the static UID.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isAlreadyExists, isConflict, isNotFound } from '../apimachinery/errors.js';
import { newInformer } from '../client/informer.js';
import { Resources, isTombstone, type Client } from '../client/interface.js';
import type { Pod } from '../client/objects.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';

/** Upstream kubetypes.ConfigSourceAnnotationKey and friends. */
export const ConfigSourceAnnotationKey = 'kubernetes.io/config.source';
export const ConfigHashAnnotationKey = 'kubernetes.io/config.hash';
export const ConfigFirstSeenAnnotationKey = 'kubernetes.io/config.seen';
export const ConfigMirrorAnnotationKey = 'kubernetes.io/config.mirror';
/** The config.source of pods from a manifests folder (upstream kubetypes.FileSource). */
export const FileSource = 'file';

/** Upstream fileCheckFrequency default. */
export const FILE_CHECK_FREQUENCY_MS = 20_000;
/** Delay before retrying a failed mirror pod sync; doubles per failure up to the file check period. */
export const MIRROR_RETRY_MS = 1000;
/** How often a sync looks again while the mirror pod informer has not synced yet. */
const INFORMER_SYNC_POLL_MS = 100;

/** A mirror pod: the API server's reflection of a static pod (upstream IsMirrorPod). */
export function isMirrorPod(pod: Pod): boolean {
  return pod.metadata?.annotations?.[ConfigMirrorAnnotationKey] !== undefined;
}

/** A pod from a source other than the API server (upstream IsStaticPod). */
export function isStaticPod(pod: Pod): boolean {
  const src = pod.metadata?.annotations?.[ConfigSourceAnnotationKey];
  return src !== undefined && src !== 'api';
}

/** `<name>-<node>`, the node name lower-cased (upstream generatePodName). */
export function staticPodName(name: string, nodeName: string): string {
  return `${name}-${nodeName.toLowerCase()}`;
}

/** JSON with object keys sorted at every level, so equal objects hash equally. */
function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJSON(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The static pod UID of a decoded manifest (see the module comment). */
export function staticPodUID(pod: Pod, source: string, nodeName: string): string {
  return createHash('md5').update(`host:${nodeName}`).update(`file:${source}`).update(canonicalJSON(pod)).digest('hex');
}

/** Go's time.RFC3339Nano of a Unix-millisecond time, in UTC. */
export function rfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2006-01-02T15:04:05.000Z
  return iso.replace(/\.(\d+)Z$/, (_m, frac: string) => {
    const f = frac.replace(/0+$/, '');
    return f ? `.${f}Z` : 'Z';
  });
}

/**
 * A decoded manifest defaulted as upstream applyDefaults does for the file source (see the
 * module comment). Does not modify `pod`. `seen` is the config.seen value.
 */
export function applyStaticPodDefaults(pod: Pod, opts: { source: string; nodeName: string; seen: string }): Pod {
  const out = JSON.parse(JSON.stringify(pod)) as Pod;
  const meta = (out.metadata ??= {});
  meta.uid ||= staticPodUID(pod, opts.source, opts.nodeName);
  meta.name = staticPodName(meta.name ?? '', opts.nodeName);
  meta.namespace ||= 'default';
  const spec = (out.spec ??= { containers: [] });
  spec.nodeName = opts.nodeName;
  const tolerations = (spec.tolerations ??= []);
  if (!tolerations.some((t) => t.operator === 'Exists' && t.effect === 'NoExecute' && !t.key)) tolerations.push({ operator: 'Exists', effect: 'NoExecute' });
  meta.annotations = {
    ...(meta.annotations ?? {}),
    [ConfigHashAnnotationKey]: meta.uid,
    [ConfigFirstSeenAnnotationKey]: opts.seen,
    [ConfigSourceAnnotationKey]: FileSource,
  };
  out.status = { phase: 'Pending' };
  return out;
}

/**
 * Decodes one manifest (YAML or JSON; one Pod). Throws an Error whose message says what is
 * wrong, as the kubelet logs it.
 */
export function decodeStaticPodManifest(text: string): Pod {
  const docs = parseAllDocuments(text).filter((d) => d.contents !== null);
  if (docs.length === 0) throw new Error('the manifest is empty');
  if (docs.length > 1) throw new Error('a manifest file holds one pod, found several documents');
  const doc = docs[0]!;
  if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]!.message}`);
  const obj = doc.toJS() as Record<string, unknown> | null;
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('the manifest is not an object');
  if (obj.apiVersion !== 'v1' || obj.kind !== 'Pod') throw new Error(`invalid pod: want apiVersion v1, kind Pod; got ${String(obj.apiVersion)}, ${String(obj.kind)}`);
  const pod = obj as unknown as Pod;
  if (!pod.metadata?.name) throw new Error('invalid pod: metadata.name: Required value: name or generateName is required');
  if (!Array.isArray(pod.spec?.containers) || pod.spec.containers.length === 0) throw new Error('invalid pod: spec.containers: Required value');
  return pod;
}

/** One file of the manifests folder. */
export interface ManifestResult {
  file: string;
  pod?: Pod;
  error?: string;
}

/**
 * Decodes every manifest under `path` (a folder: its regular files not starting with ".",
 * sorted, sub-folders skipped; or one file), undefaulted. A missing path yields nothing, as
 * upstream (which only logs it).
 */
export function readManifests(path: string): ManifestResult[] {
  let files: string[];
  try {
    const st = statSync(path);
    if (st.isDirectory()) {
      files = readdirSync(path, { withFileTypes: true })
        .filter((e) => e.isFile() && !e.name.startsWith('.'))
        .map((e) => join(path, e.name))
        .sort();
    } else {
      files = [path];
    }
  } catch {
    return [];
  }
  const out: ManifestResult[] = [];
  for (const file of files) {
    try {
      out.push({ file, pod: decodeStaticPodManifest(readFileSync(file, 'utf8')) });
    } catch (err) {
      out.push({ file, error: (err as Error).message });
    }
  }
  return out;
}

/** A mirror pod's controller reference to its Node. */
interface NodeOwner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
}

export interface StaticPodsOptions {
  client: Client;
  nodeName: string;
  /** The manifests folder (or a single manifest file). */
  path: string;
  clock: Clock;
  logger: Logger;
  /** Full re-read period (default {@link FILE_CHECK_FREQUENCY_MS}). */
  checkIntervalMs?: number;
}

/** The file source and mirror pod manager of one node (see the module comment). */
export class StaticPods {
  readonly #o: StaticPodsOptions;
  readonly #abort = new AbortController();
  readonly #informer;
  /** First-seen time per static UID (the config.seen annotation). */
  readonly #seen = new Map<string, string>();
  /** Manifest errors already logged, by file, so a broken file is reported once per change. */
  readonly #reported = new Map<string, string>();
  #pods = new Map<string, Pod>();
  #watcher: FSWatcher | undefined;
  #period: TimerHandle | undefined;
  #retry: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #dirty = false;
  /** The manifests must be read again (anything but a mirror-pod event). */
  #reread = true;
  #stopped = false;
  #failures = 0;
  #informerDone: Promise<void> | undefined;

  constructor(opts: StaticPodsOptions) {
    this.#o = opts;
    this.#informer = newInformer<Pod>({ client: opts.client, gvr: Resources.pods, clock: opts.clock, logger: opts.logger, fieldSelector: `spec.nodeName=${opts.nodeName}` });
    this.#informer.addEventHandler({
      add: (p) => this.#podEvent(p),
      update: (o, p) => this.#podEvent(o, p),
      delete: (p) => this.#podEvent(isTombstone(p) ? p.obj : p),
    });
  }

  /** The defaulted static pods, by "namespace/name", as of the last read. */
  get pods(): ReadonlyMap<string, Pod> {
    return this.#pods;
  }

  start(): void {
    this.#informerDone = this.#informer.run(this.#abort.signal).catch((err: unknown) => this.#o.logger.error({ err: (err as Error).message }, 'static pod mirror informer stopped'));
    this.#watch();
    this.#period = this.#o.clock.setInterval(() => {
      if (!this.#watcher) this.#watch();
      this.requestSync();
    }, this.#o.checkIntervalMs ?? FILE_CHECK_FREQUENCY_MS);
    this.requestSync();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    this.#watcher?.close();
    this.#period?.cancel();
    this.#retry?.cancel();
    await this.#running;
    await this.#informerDone;
  }

  /** Resolves once no sync is running or requested (tests). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Re-reads the manifests and syncs the mirror pods. */
  requestSync(): void {
    this.#reread = true;
    this.#mirrorSync();
  }

  #mirrorSync(): void {
    if (this.#stopped) return;
    this.#dirty = true;
    this.#running ??= this.#loop();
  }

  /**
   * A pod on this node changed: a mirror pod, or a pod holding a static pod's name (its
   * deletion frees the name), needs a mirror sync; every other pod's event (the node's
   * ordinary pods, each status write) needs nothing, and the files have not changed.
   */
  #podEvent(...pods: Pod[]): void {
    const relevant = pods.some((p) => isMirrorPod(p) || this.#pods.has(`${p.metadata?.namespace}/${p.metadata?.name}`));
    if (relevant) this.#mirrorSync();
  }

  /** Watches the folder (or the file's folder); the period retries if it does not exist yet. */
  #watch(): void {
    const path = this.#o.path;
    let dir = path;
    try {
      if (!statSync(path).isDirectory()) dir = dirname(path);
    } catch {
      return;
    }
    try {
      const only = dir === path ? undefined : basename(path);
      this.#watcher = watch(dir, { persistent: false }, (_ev, name) => {
        if (only === undefined || name === null || name === only) this.requestSync();
      });
      this.#watcher.on('error', () => {
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (err) {
      this.#o.logger.warn({ path, err: (err as Error).message }, 'Unable to watch the static pod path, relying on the periodic check');
    }
  }

  async #loop(): Promise<void> {
    await Promise.resolve();
    try {
      while (this.#dirty && !this.#stopped) {
        this.#dirty = false;
        try {
          if (this.#reread) {
            this.#reread = false;
            this.#read();
          }
          if (this.#informer.hasSynced()) {
            await this.#syncMirrors();
            this.#failures = 0;
          } else {
            // Until the mirror informer has synced, which pods exist is unknown: look again soon.
            this.#retryAfter(INFORMER_SYNC_POLL_MS);
          }
        } catch (err) {
          const delay = Math.min(MIRROR_RETRY_MS * 2 ** this.#failures, this.#o.checkIntervalMs ?? FILE_CHECK_FREQUENCY_MS);
          this.#failures++;
          this.#o.logger.warn({ err: (err as Error).message, retryInMs: delay }, 'Failed syncing static pod mirrors, will retry');
          this.#retryAfter(delay);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  #retryAfter(ms: number): void {
    this.#retry?.cancel();
    this.#retry = this.#o.clock.setTimeout(() => this.requestSync(), ms);
  }

  /** Re-reads the manifests into #pods. */
  #read(): void {
    const pods = new Map<string, Pod>();
    const seenNow = new Set<string>();
    for (const r of readManifests(this.#o.path)) {
      if (r.error !== undefined) {
        if (this.#reported.get(r.file) !== r.error) this.#o.logger.warn({ file: r.file, err: r.error }, 'Could not process manifest file');
        this.#reported.set(r.file, r.error);
        continue;
      }
      this.#reported.delete(r.file);
      const uid = r.pod!.metadata?.uid || staticPodUID(r.pod!, r.file, this.#o.nodeName);
      let seen = this.#seen.get(uid);
      if (seen === undefined) {
        seen = rfc3339Nano(this.#o.clock.now());
        this.#seen.set(uid, seen);
      }
      seenNow.add(uid);
      const pod = applyStaticPodDefaults(r.pod!, { source: r.file, nodeName: this.#o.nodeName, seen });
      const key = `${pod.metadata!.namespace}/${pod.metadata!.name}`;
      if (pods.has(key)) {
        this.#o.logger.warn({ file: r.file, pod: key }, 'Static pod name is used by another manifest, ignoring this one');
        continue;
      }
      pods.set(key, pod);
    }
    for (const uid of this.#seen.keys()) if (!seenNow.has(uid)) this.#seen.delete(uid);
    this.#pods = pods;
  }

  /**
   * The controller reference to this node, read fresh for every mirror pod created: a node
   * deleted and registered again has a new UID, and a reference to the old one would have
   * the garbage collector delete each new mirror pod. Undefined while the node is being
   * deleted (upstream creates no mirror pods then either).
   */
  async #nodeOwner(): Promise<NodeOwner | undefined> {
    const node = await this.#o.client.resource<{ metadata?: { uid?: string; deletionTimestamp?: string } }>(Resources.nodes).get(this.#o.nodeName);
    if (node.metadata?.deletionTimestamp) return undefined;
    const uid = node.metadata?.uid;
    if (!uid) throw new Error(`node ${this.#o.nodeName} has no UID`);
    return { apiVersion: 'v1', kind: 'Node', name: this.#o.nodeName, uid, controller: true };
  }

  async #syncMirrors(): Promise<void> {
    const pods = (ns: string) => this.#o.client.resource<Pod>(Resources.pods, ns);
    const live = new Set<string>();
    for (const m of this.#informer.lister.list()) {
      if (!isMirrorPod(m)) continue;
      const meta = m.metadata!;
      const key = `${meta.namespace}/${meta.name}`;
      const want = this.#pods.get(key);
      const current = want !== undefined && !meta.deletionTimestamp && meta.annotations?.[ConfigMirrorAnnotationKey] === want.metadata!.annotations![ConfigHashAnnotationKey];
      if (current) {
        live.add(key);
        continue;
      }
      this.#o.logger.info({ pod: key, uid: meta.uid }, want ? 'Deleting mirror pod because it is outdated' : 'Deleting orphaned mirror pod');
      try {
        await pods(meta.namespace!).delete(meta.name!, { gracePeriodSeconds: 0, preconditions: { uid: meta.uid } });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
    let owner: NodeOwner | undefined;
    for (const [key, pod] of this.#pods) {
      if (live.has(key)) continue;
      owner ??= await this.#nodeOwner();
      if (!owner) {
        this.#o.logger.info({ pod: key }, 'Node is being deleted, not creating mirror pod');
        continue;
      }
      const meta = pod.metadata!;
      const hash = meta.annotations![ConfigHashAnnotationKey]!;
      const mirror: Pod = {
        ...pod,
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          ...meta,
          uid: undefined,
          resourceVersion: undefined,
          annotations: { ...meta.annotations, [ConfigMirrorAnnotationKey]: hash },
          ownerReferences: [owner],
        },
        status: undefined,
      };
      try {
        await pods(meta.namespace!).create(JSON.parse(JSON.stringify(mirror)) as Pod);
        this.#o.logger.info({ pod: key }, 'Created mirror pod');
      } catch (err) {
        // The old mirror may still be on its way out; the informer's delete event retries.
        if (!isAlreadyExists(err)) throw err;
      }
    }
  }
}
