/**
 * ControllerRevision history, after upstream's pkg/controller/history and the revision
 * parts of the DaemonSet and StatefulSet controllers.
 *
 * A DaemonSet or StatefulSet records each pod template it has run as an immutable
 * ControllerRevision named `<owner>-<hash>` whose `data` is a strategic merge patch that
 * puts that template back (`{"spec":{"template":{…,"$patch":"replace"}}}`, what
 * `kubectl rollout undo` applies) and whose `revision` numbers the history (1, 2, 3 …; a
 * rollback to an older template renumbers that revision to the newest number instead of
 * copying it). `kubectl rollout history ds/x` lists them.
 *
 * Revisions are compared by their data rendered as canonical JSON (object keys sorted, as
 * Go's json.Marshal of a map renders them), so a revision read back from the API server
 * equals the one we built from the same template.
 */
import { Resources, type Client, type Lister } from '../../client/interface.js';
import type { ControllerRevision, PodTemplateSpec } from '../../client/objects.js';
import { isAlreadyExists, isConflict, isInvalid, isNotFound } from '../../apimachinery/errors.js';
import type { Selector } from '../../apimachinery/labels.js';
import { deepClone, parseRFC3339, PatchType, type OwnerReference } from '../../apimachinery/meta.js';
import { canonicalJSON, deleteOwnerRefPatch, ownerRefPatch, safeEncodeString } from '../util/index.js';

/** history.ControllerRevisionHashLabel: the hash of a revision's data, on the revision. */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';

/**
 * apps.ControllerRevisionHashLabelKey (= DefaultDaemonSetUniqueLabelKey =
 * StatefulSetRevisionLabel): on pods, which revision made them. A DaemonSet's pods carry
 * the revision's hash, a StatefulSet's pods the revision's name.
 */
export const CONTROLLER_REVISION_HASH_LABEL_KEY = 'controller-revision-hash';

/** The longest owner prefix in a revision name, so `<prefix>-<hash>` fits in 253 bytes. */
const MAX_PREFIX_LENGTH = 223;

/** The owner of a history: a DaemonSet or StatefulSet as read from the API. */
export interface HistoryOwner {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    annotations?: Record<string, string>;
  };
  spec?: { template?: PodTemplateSpec };
}

/** ControllerRevisionName: `<prefix>-<hash>`, the prefix cut to 223 characters. */
export function controllerRevisionName(prefix: string, hash: string): string {
  return `${prefix.length > MAX_PREFIX_LENGTH ? prefix.slice(0, MAX_PREFIX_LENGTH) : prefix}-${hash}`;
}

const FNV32_OFFSET = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;

/** FNV-1 32-bit (Go's hash/fnv New32, which HashControllerRevision uses), continuing from h. */
export function fnv32(bytes: Uint8Array, h = FNV32_OFFSET): number {
  let hash = h >>> 0;
  for (const b of bytes) {
    hash = Math.imul(hash, FNV32_PRIME) >>> 0;
    hash ^= b;
  }
  return hash >>> 0;
}

/**
 * The bytes Go's json.Marshal writes for a decoded JSON value: keys sorted, and `<`, `>`,
 * `&`, U+2028 and U+2029 escaped as \u00XX (Go's HTML-safe default).
 */
export function goJSON(v: unknown): string {
  return canonicalJSON(v)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * HashControllerRevision: FNV-1 32 of the data's JSON and, when probe (the owner's
 * collisionCount) is set, of its decimal digits; safe-encoded like every controller hash.
 */
export function hashControllerRevision(data: unknown, probe?: number | null): string {
  const enc = new TextEncoder();
  let h = fnv32(enc.encode(goJSON(data ?? null)));
  if (probe !== undefined && probe !== null) h = fnv32(enc.encode(String(probe)), h);
  return safeEncodeString(String(h));
}

/**
 * getPatch of the DaemonSet and StatefulSet controllers: the strategic merge patch that
 * restores owner's pod template, `{"spec":{"template":{…,"$patch":"replace"}}}`.
 */
export function templatePatch(owner: HistoryOwner): Record<string, unknown> {
  const template = deepClone((owner.spec?.template ?? {}) as Record<string, unknown>);
  return { spec: { template: { ...template, $patch: 'replace' } } };
}

/**
 * The pod template a revision restores (its patch's spec.template without the
 * directive), or undefined when the data is not such a patch.
 */
export function templateFromRevision(rev: ControllerRevision): PodTemplateSpec | undefined {
  const data = rev.data as { spec?: { template?: Record<string, unknown> } } | undefined;
  const template = data?.spec?.template;
  if (typeof template !== 'object' || template === null) return undefined;
  const out = deepClone(template);
  delete out.$patch;
  return out as PodTemplateSpec;
}

/** Whether rev's data is exactly the patch that restores owner's current template (Match). */
export function revisionMatchesTemplate(owner: HistoryOwner, rev: ControllerRevision): boolean {
  return canonicalJSON(rev.data ?? null) === canonicalJSON(templatePatch(owner));
}

/** What {@link newControllerRevision} needs. */
export interface NewControllerRevisionOptions {
  owner: HistoryOwner;
  /** The owner's controller reference (apiVersion/kind of its own type). */
  controllerRef: OwnerReference;
  /** Labels copied onto the revision (the template's labels). */
  labels: Record<string, string> | undefined;
  data: unknown;
  revision: number;
  /** The owner's status.collisionCount, hashed in when set. */
  collisionCount?: number | null;
}

/**
 * NewControllerRevision: a revision owned by `owner`, named `<owner>-<hash>`, with the
 * template labels plus controller.kubernetes.io/hash, and the owner's annotations (so
 * kubernetes.io/change-cause shows in `kubectl rollout history`).
 */
export function newControllerRevision(opts: NewControllerRevisionOptions): ControllerRevision {
  const hash = hashControllerRevision(opts.data, opts.collisionCount);
  const annotations = opts.owner.metadata?.annotations;
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: controllerRevisionName(opts.owner.metadata?.name ?? '', hash),
      namespace: opts.owner.metadata?.namespace,
      labels: { ...(opts.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash },
      ...(annotations && Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
      ownerReferences: [{ ...opts.controllerRef }],
    },
    data: deepClone(opts.data) as ControllerRevision['data'],
    revision: opts.revision,
  };
}

function creationTime(rev: ControllerRevision): number {
  const ts = rev.metadata?.creationTimestamp;
  if (!ts) return 0;
  try {
    return parseRFC3339(ts);
  } catch {
    return 0;
  }
}

/**
 * SortControllerRevisions: a copy sorted by revision number, ties broken by creation time
 * then name (oldest first).
 */
export function sortControllerRevisions(revisions: readonly ControllerRevision[]): ControllerRevision[] {
  return [...revisions].sort((a, b) => {
    if (a.revision !== b.revision) return a.revision - b.revision;
    const ta = creationTime(a);
    const tb = creationTime(b);
    if (ta !== tb) return ta - tb;
    const na = a.metadata?.name ?? '';
    const nb = b.metadata?.name ?? '';
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
}

/**
 * EqualRevision: both absent, or both present with equal data. Differing hash labels
 * settle it early, as upstream.
 */
export function equalRevision(a: ControllerRevision | undefined, b: ControllerRevision | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const ha = a.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL];
  const hb = b.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL];
  if (ha !== undefined && hb !== undefined && /^\d+$/.test(ha) && /^\d+$/.test(hb) && ha !== hb) return false;
  return canonicalJSON(a.data ?? null) === canonicalJSON(b.data ?? null);
}

/** FindEqualRevisions: the revisions equal to needle, in their order. */
export function findEqualRevisions(revisions: readonly ControllerRevision[], needle: ControllerRevision): ControllerRevision[] {
  return revisions.filter((r) => equalRevision(r, needle));
}

/** nextRevision: 1 more than the last of the sorted revisions, 1 for none. */
export function nextRevision(sorted: readonly ControllerRevision[]): number {
  return sorted.length === 0 ? 1 : sorted[sorted.length - 1]!.revision + 1;
}

/** maxRevision: the highest revision number, 0 for none. */
export function maxRevision(revisions: readonly ControllerRevision[]): number {
  return revisions.reduce((m, r) => Math.max(m, r.revision), 0);
}

/**
 * The revisions to delete so that at most `limit` of the non-live ones remain, oldest
 * first. `live` names revisions in use (current/update revision, or referenced by pods),
 * which are never deleted (StatefulSet's truncateHistory, DaemonSet's cleanupHistory).
 */
export function revisionsToTruncate(
  revisions: readonly ControllerRevision[],
  isLive: (rev: ControllerRevision) => boolean,
  limit: number,
): ControllerRevision[] {
  const history = sortControllerRevisions(revisions).filter((r) => !isLive(r));
  const excess = history.length - Math.max(0, limit);
  return excess > 0 ? history.slice(0, excess) : [];
}

export interface HistoryOptions {
  client: Client;
  /** The shared informer's ControllerRevision lister. */
  lister: Lister<ControllerRevision>;
}

/** How many name collisions {@link History.createControllerRevision} resolves before giving up. */
const MAX_COLLISION_RETRIES = 20;

/** Conflicting writes {@link History.updateControllerRevision} retries (retry.DefaultBackoff's 5 steps). */
const MAX_UPDATE_RETRIES = 4;

/**
 * history.Interface over the API (realHistory): lists from the informer cache, writes
 * through the client. Never mutates what it is given.
 */
export class History {
  private readonly client: Client;
  private readonly lister: Lister<ControllerRevision>;

  constructor(opts: HistoryOptions) {
    this.client = opts.client;
    this.lister = opts.lister;
  }

  private revisions(namespace: string | undefined) {
    return this.client.resource<ControllerRevision>(Resources.controllerrevisions, namespace);
  }

  /**
   * ListControllerRevisions: revisions in parent's namespace matching selector and either
   * controlled by parent or by nobody (orphans the caller may adopt).
   */
  listControllerRevisions(parent: HistoryOwner, selector: Selector): ControllerRevision[] {
    const uid = parent.metadata?.uid;
    return this.lister.list(parent.metadata?.namespace).filter((r) => {
      if (!selector.matches(r.metadata?.labels)) return false;
      const ref = r.metadata?.ownerReferences?.find((o) => o.controller === true);
      return ref === undefined || ref.uid === uid;
    });
  }

  /**
   * CreateControllerRevision: creates revision under `<parent>-<hash>`; on a name taken by
   * different data, bumps collisionCount and tries the next name. Resolves with the
   * stored revision (an existing one with equal data is reused) and the collision count
   * to record in the parent's status.
   */
  async createControllerRevision(
    parent: HistoryOwner,
    revision: ControllerRevision,
    collisionCount: number,
  ): Promise<{ revision: ControllerRevision; collisionCount: number }> {
    const ns = parent.metadata?.namespace;
    let count = collisionCount;
    for (let attempt = 0; attempt <= MAX_COLLISION_RETRIES; attempt++) {
      const hash = hashControllerRevision(revision.data, count);
      const clone = deepClone(revision);
      clone.metadata = { ...clone.metadata, namespace: ns, name: controllerRevisionName(parent.metadata?.name ?? '', hash) };
      clone.metadata.labels = { ...(clone.metadata.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash };
      try {
        return { revision: await this.revisions(ns).create(clone), collisionCount: count };
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      const exists = await this.revisions(ns).get(clone.metadata.name!);
      if (canonicalJSON(exists.data ?? null) === canonicalJSON(clone.data ?? null)) return { revision: exists, collisionCount: count };
      count++;
    }
    throw new Error(`unable to create a ControllerRevision for ${ns ?? ''}/${parent.metadata?.name ?? ''}: ${MAX_COLLISION_RETRIES} name collisions`);
  }

  /**
   * UpdateControllerRevision: sets the revision number (used when rolling back to an
   * older template), retrying on conflicts with the cached copy.
   */
  async updateControllerRevision(revision: ControllerRevision, newRevision: number): Promise<ControllerRevision> {
    const ns = revision.metadata?.namespace;
    const name = revision.metadata?.name ?? '';
    let clone = deepClone(revision);
    for (let attempt = 0; ; attempt++) {
      if (clone.revision === newRevision) return clone;
      clone.revision = newRevision;
      try {
        return await this.revisions(ns).update(clone);
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_UPDATE_RETRIES) throw err;
      }
      clone = deepClone(await this.revisions(ns).get(name));
    }
  }

  /** DeleteControllerRevision; a revision already gone is not an error. */
  async deleteControllerRevision(revision: ControllerRevision): Promise<void> {
    try {
      await this.revisions(revision.metadata?.namespace).delete(revision.metadata?.name ?? '');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** AdoptControllerRevision: patches parent's controllerRef onto an orphan revision. */
  async adoptControllerRevision(parentRef: OwnerReference, revision: ControllerRevision): Promise<ControllerRevision> {
    const owner = revision.metadata?.ownerReferences?.find((o) => o.controller === true);
    if (owner) throw new Error(`attempt to adopt revision owned by ${owner.kind}/${owner.name}`);
    return this.revisions(revision.metadata?.namespace).patch(
      revision.metadata?.name ?? '',
      PatchType.StrategicMergePatch,
      ownerRefPatch(parentRef, revision.metadata?.uid ?? ''),
    );
  }

  /** ReleaseControllerRevision: removes parent's reference; gone or not ours is not an error. */
  async releaseControllerRevision(parentUID: string, revision: ControllerRevision): Promise<ControllerRevision | undefined> {
    try {
      return await this.revisions(revision.metadata?.namespace).patch(
        revision.metadata?.name ?? '',
        PatchType.StrategicMergePatch,
        deleteOwnerRefPatch(parentUID, revision.metadata?.uid ?? ''),
      );
    } catch (err) {
      if (isNotFound(err) || isInvalid(err)) return undefined;
      throw err;
    }
  }
}
