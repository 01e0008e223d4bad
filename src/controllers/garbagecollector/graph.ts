/**
 * The garbage collector's dependency graph and the builder that keeps it in step with the
 * informers (upstream's graph.go and graph_builder.go).
 *
 * Every watched object is a node keyed by uid; each node lists its owners (the object's
 * ownerReferences) and its dependents (nodes naming it as an owner). An owner referred to
 * before it is observed gets a *virtual* node, which the collector verifies with a live GET
 * and removes (a virtual delete event) when the owner turns out not to exist.
 *
 * Example: pod p (owner rs uid=R) observed before rs →
 *   R: virtual, dependents {p}; p: owners [R]
 * then rs observed → R becomes real (virtual=false), dependents unchanged.
 *
 * The builder only decides *what to look at*: it puts uids on the attemptToDelete and
 * attemptToOrphan queues. All decisions that delete or patch are taken by the collector
 * after checking the live objects.
 */
import { apiVersionOf, type WorkQueue } from '../../client/interface.js';
import { FINALIZER_DELETE_DEPENDENTS, FINALIZER_ORPHAN_DEPENDENTS } from '../../apimachinery/validation.js';
import { deepEqual, parseGroupVersion, type KObject, type OwnerReference } from '../../apimachinery/meta.js';
import type { Logger } from '../../util/log.js';
import type { GCResource } from './resources.js';

/** An object's coordinates: an ownerReference plus the namespace it is looked up in. */
export interface ObjectIdentity {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  /** The object's namespace; for a virtual node, its first dependent's. */
  namespace: string | undefined;
}

/** One object in the graph (upstream's `node`). */
export class GraphNode {
  identity: ObjectIdentity;
  /** Nodes whose ownerReferences name this one. */
  readonly dependents = new Set<GraphNode>();
  /** The object's ownerReferences as last observed. */
  owners: OwnerReference[];
  /** The object has a deletionTimestamp. One way: never reset. */
  beingDeleted: boolean;
  /** Being deleted with the foregroundDeletion finalizer: waits for blocking dependents. */
  deletingDependents: boolean;
  /** Known only from a dependent's ownerReference; not yet seen by an informer. */
  virtual: boolean;

  constructor(opts: { identity: ObjectIdentity; owners?: OwnerReference[]; beingDeleted?: boolean; deletingDependents?: boolean; virtual?: boolean }) {
    this.identity = opts.identity;
    this.owners = opts.owners ?? [];
    this.beingDeleted = opts.beingDeleted ?? false;
    this.deletingDependents = opts.deletingDependents ?? false;
    this.virtual = opts.virtual ?? false;
  }

  get uid(): string {
    return this.identity.uid;
  }

  /** Dependents whose reference to this node has blockOwnerDeletion=true (upstream blockingDependents). */
  blockingDependents(): GraphNode[] {
    return [...this.dependents].filter((dep) => dep.owners.some((o) => o.uid === this.uid && o.blockOwnerDeletion === true));
  }

  toString(): string {
    const id = this.identity;
    return `[${id.apiVersion}/${id.kind}, namespace: ${id.namespace ?? ''}, name: ${id.name}, uid: ${id.uid}]`;
  }
}

/** The group of an apiVersion ('' for core or when malformed). */
function groupOf(apiVersion: string): string {
  try {
    return parseGroupVersion(apiVersion).group;
  } catch {
    return '';
  }
}

/**
 * Whether ref names the object at identity (upstream objectReference matching): same uid,
 * name, kind and API group (versions may differ).
 */
export function refMatches(ref: OwnerReference, identity: ObjectIdentity): boolean {
  return ref.uid === identity.uid && ref.name === identity.name && ref.kind === identity.kind && groupOf(ref.apiVersion) === groupOf(identity.apiVersion);
}

function sameIdentity(a: ObjectIdentity, b: ObjectIdentity): boolean {
  return a.uid === b.uid && a.name === b.name && a.kind === b.kind && groupOf(a.apiVersion) === groupOf(b.apiVersion) && (a.namespace ?? '') === (b.namespace ?? '');
}

/** A key for the absent-owner cache: the full coordinates, so a reused name never matches. */
export function identityKey(id: ObjectIdentity): string {
  return `${groupOf(id.apiVersion)}/${id.kind}/${id.namespace ?? ''}/${id.name}/${id.uid}`;
}

/** A bounded set of owners verified absent (upstream's ReferenceCache, LRU). */
export class AbsentOwnerCache {
  private readonly entries = new Map<string, true>();
  constructor(private readonly capacity = 500) {}

  add(id: ObjectIdentity): void {
    const k = identityKey(id);
    this.entries.delete(k);
    this.entries.set(k, true);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  has(id: ObjectIdentity): boolean {
    const k = identityKey(id);
    if (!this.entries.has(k)) return false;
    this.entries.delete(k);
    this.entries.set(k, true);
    return true;
  }
}

/** An informer event, or a virtual delete from the collector. */
export type GraphEvent =
  | { type: 'add' | 'update'; resource: GCResource; obj: KObject; oldObj?: KObject }
  | { type: 'delete'; resource: GCResource; obj: KObject }
  | { type: 'delete'; virtual: true; identity: ObjectIdentity };

function beingDeleted(obj: KObject | undefined): boolean {
  return !!obj?.metadata?.deletionTimestamp;
}

function hasFinalizer(obj: KObject | undefined, f: string): boolean {
  return obj?.metadata?.finalizers?.includes(f) ?? false;
}

function deletingWith(obj: KObject | undefined, f: string): boolean {
  return beingDeleted(obj) && hasFinalizer(obj, f);
}

/** The object's state just reached "being deleted with finalizer f" (not merely still in it). */
function startsWaitingFor(oldObj: KObject | undefined, newObj: KObject, f: string): boolean {
  return deletingWith(newObj, f) && !deletingWith(oldObj, f);
}

/** Added, removed and changed references between two ownerReference lists, by uid. */
function referencesDiffs(old: readonly OwnerReference[], next: readonly OwnerReference[]): {
  added: OwnerReference[];
  removed: OwnerReference[];
  changed: { oldRef: OwnerReference; newRef: OwnerReference }[];
} {
  const oldByUID = new Map(old.map((r) => [r.uid, r]));
  const added: OwnerReference[] = [];
  const changed: { oldRef: OwnerReference; newRef: OwnerReference }[] = [];
  for (const ref of next) {
    const o = oldByUID.get(ref.uid);
    if (!o) added.push(ref);
    else {
      if (!deepEqual(o, ref)) changed.push({ oldRef: o, newRef: ref });
      oldByUID.delete(ref.uid);
    }
  }
  return { added, removed: [...oldByUID.values()], changed };
}

export interface GraphBuilderOptions {
  attemptToDelete: WorkQueue<string>;
  attemptToOrphan: WorkQueue<string>;
  absentOwnerCache: AbsentOwnerCache;
  logger: Logger;
}

/**
 * Applies informer events to the graph, one at a time in arrival order (upstream's single
 * processGraphChanges goroutine), and enqueues the nodes whose fate may have changed.
 */
export class GraphBuilder {
  /** Every node, real or virtual, by uid. */
  readonly uidToNode = new Map<string, GraphNode>();
  private readonly pending: GraphEvent[] = [];
  private draining = false;
  private readonly attemptToDelete: WorkQueue<string>;
  private readonly attemptToOrphan: WorkQueue<string>;
  private readonly absentOwnerCache: AbsentOwnerCache;
  private readonly logger: Logger;

  constructor(opts: GraphBuilderOptions) {
    this.attemptToDelete = opts.attemptToDelete;
    this.attemptToOrphan = opts.attemptToOrphan;
    this.absentOwnerCache = opts.absentOwnerCache;
    this.logger = opts.logger;
  }

  /** Queues an event; events are applied in order, after the current handler returns. */
  enqueue(ev: GraphEvent): void {
    this.pending.push(ev);
    if (!this.draining) {
      this.draining = true;
      queueMicrotask(() => this.drain());
    }
  }

  /** Applies every queued event now (tests call this to observe the graph synchronously). */
  drain(): void {
    try {
      for (let ev = this.pending.shift(); ev; ev = this.pending.shift()) {
        try {
          this.processGraphChange(ev);
        } catch (err) {
          this.logger.error({ err }, 'garbage collector: processing a graph change failed');
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Removes the virtual node for identity once the collector proved the object absent. */
  enqueueVirtualDelete(identity: ObjectIdentity): void {
    this.enqueue({ type: 'delete', virtual: true, identity });
  }

  private identityOf(resource: GCResource, obj: KObject): ObjectIdentity {
    const m = obj.metadata ?? {};
    return { apiVersion: apiVersionOf(resource.gvr), kind: resource.kind, name: m.name ?? '', uid: m.uid ?? '', namespace: m.namespace || undefined };
  }

  private processGraphChange(ev: GraphEvent): void {
    const identity = 'virtual' in ev ? ev.identity : this.identityOf(ev.resource, ev.obj);
    if (!identity.uid) return;
    const existing = this.uidToNode.get(identity.uid);

    // An informer event makes a virtual node real; dependents that named it by other
    // coordinates are re-examined (their owner may be someone else entirely).
    if (existing && !('virtual' in ev) && existing.virtual) {
      if (!sameIdentity(existing.identity, identity)) {
        for (const dep of existing.dependents) {
          const ref = dep.owners.find((o) => o.uid === identity.uid);
          if (!ref || !refMatches(ref, identity) || (identity.namespace !== undefined && dep.identity.namespace !== identity.namespace)) {
            this.attemptToDelete.add(dep.uid);
          }
        }
        existing.identity = identity;
      }
      existing.virtual = false;
    }

    if (ev.type === 'delete') {
      if (!existing) return;
      if ('virtual' in ev && !sameIdentity(existing.identity, identity)) {
        // A verified-absent identity that differs from the node's: keep the node, and let
        // the dependents that used the absent coordinates be collected.
        this.absentOwnerCache.add(identity);
        for (const dep of existing.dependents) {
          const ref = dep.owners.find((o) => o.uid === identity.uid);
          if (ref && refMatches(ref, identity)) this.attemptToDelete.add(dep.uid);
        }
        return;
      }
      this.removeNode(existing);
      if (existing.dependents.size > 0) this.absentOwnerCache.add(identity);
      for (const dep of existing.dependents) this.attemptToDelete.add(dep.uid);
      for (const owner of existing.owners) {
        const ownerNode = this.uidToNode.get(owner.uid);
        // The owner may have been waiting for this dependent to go.
        if (ownerNode?.deletingDependents) this.attemptToDelete.add(ownerNode.uid);
      }
      return;
    }

    const obj = ev.obj;
    const refs = obj.metadata?.ownerReferences ?? [];
    if (!existing) {
      const node = new GraphNode({
        identity,
        owners: refs,
        beingDeleted: beingDeleted(obj),
        deletingDependents: deletingWith(obj, FINALIZER_DELETE_DEPENDENTS),
      });
      this.insertNode(node);
      this.processTransitions(ev.oldObj, obj, node);
      return;
    }
    const { added, removed, changed } = referencesDiffs(existing.owners, refs);
    if (added.length || removed.length || changed.length) {
      this.addUnblockedOwnersToDeleteQueue(removed, changed);
      existing.owners = refs;
      this.addDependentToOwners(existing, added);
      this.removeDependentFromOwners(existing, removed);
    }
    if (beingDeleted(obj)) existing.beingDeleted = true;
    this.processTransitions(ev.oldObj, obj, existing);
  }

  private processTransitions(oldObj: KObject | undefined, newObj: KObject, n: GraphNode): void {
    if (startsWaitingFor(oldObj, newObj, FINALIZER_ORPHAN_DEPENDENTS)) {
      this.logger.debug({ item: n.toString() }, 'add item to attemptToOrphan');
      this.attemptToOrphan.add(n.uid);
      return;
    }
    if (startsWaitingFor(oldObj, newObj, FINALIZER_DELETE_DEPENDENTS)) {
      this.logger.debug({ item: n.toString() }, 'add item and its dependents to attemptToDelete');
      n.deletingDependents = true;
      for (const dep of n.dependents) this.attemptToDelete.add(dep.uid);
      this.attemptToDelete.add(n.uid);
    }
  }

  /**
   * A dependent dropped (or stopped blocking with) a reference: an owner waiting in
   * foreground deletion may now be free to go.
   */
  private addUnblockedOwnersToDeleteQueue(removed: OwnerReference[], changed: { oldRef: OwnerReference; newRef: OwnerReference }[]): void {
    for (const ref of removed) {
      if (ref.blockOwnerDeletion === true && this.uidToNode.has(ref.uid)) this.attemptToDelete.add(ref.uid);
    }
    for (const c of changed) {
      if (c.oldRef.blockOwnerDeletion === true && c.newRef.blockOwnerDeletion !== true && this.uidToNode.has(c.newRef.uid)) {
        this.attemptToDelete.add(c.newRef.uid);
      }
    }
  }

  private insertNode(n: GraphNode): void {
    this.uidToNode.set(n.uid, n);
    this.addDependentToOwners(n, n.owners);
  }

  private removeNode(n: GraphNode): void {
    this.uidToNode.delete(n.uid);
    this.removeDependentFromOwners(n, n.owners);
  }

  /**
   * Links n under each owner, creating virtual owners (queued for verification) for owners
   * not yet observed. A reference whose coordinates disagree with an observed owner queues
   * n itself, so the collector checks its references against the live objects.
   */
  private addDependentToOwners(n: GraphNode, owners: readonly OwnerReference[]): void {
    let potentiallyInvalid = false;
    for (const owner of owners) {
      let ownerNode = this.uidToNode.get(owner.uid);
      if (!ownerNode) {
        ownerNode = new GraphNode({
          identity: { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, namespace: n.identity.namespace },
          virtual: true,
        });
        this.uidToNode.set(owner.uid, ownerNode);
        ownerNode.dependents.add(n);
        this.attemptToDelete.add(ownerNode.uid);
        continue;
      }
      ownerNode.dependents.add(n);
      const ownerNamespaced = ownerNode.identity.namespace !== undefined;
      if (ownerNamespaced && ownerNode.identity.namespace !== n.identity.namespace) potentiallyInvalid = true;
      else if (!refMatches(owner, ownerNode.identity)) potentiallyInvalid = true;
      else if (!ownerNamespaced && ownerNode.virtual && ownerNode.identity.namespace !== n.identity.namespace) potentiallyInvalid = true;
    }
    if (potentiallyInvalid) this.attemptToDelete.add(n.uid);
  }

  private removeDependentFromOwners(n: GraphNode, owners: readonly OwnerReference[]): void {
    for (const owner of owners) this.uidToNode.get(owner.uid)?.dependents.delete(n);
  }
}
