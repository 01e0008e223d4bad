/**
 * The garbage collector (upstream's pkg/controller/garbagecollector): deletes objects whose
 * owners are all gone, and carries out the foreground and orphan deletion the API server
 * asks for with the `foregroundDeletion` and `orphan` finalizers.
 *
 * - Background: when an owner disappears, each dependent is checked against the live API;
 *   owners are compared by uid, so an owner deleted and recreated under the same name is
 *   still gone. A dependent with no owner left is deleted (uid precondition); one with
 *   some owners left loses only the dangling references.
 * - Foreground: an owner being deleted with `foregroundDeletion` has its dependents deleted;
 *   dependents with blockOwnerDeletion hold it until they are gone, then the finalizer is
 *   removed and the API server finishes the deletion.
 * - Orphan: an owner being deleted with `orphan` has its reference removed from every
 *   dependent, then the finalizer is removed.
 *
 * Resources the API server does not serve (404 on list) are left unwatched and probed
 * again every resync period.
 */
import type { Registry } from 'prom-client';
import { isConflict, isNotFound, isStatusError } from '../../apimachinery/errors.js';
import { FINALIZER_DELETE_DEPENDENTS, FINALIZER_ORPHAN_DEPENDENTS } from '../../apimachinery/validation.js';
import { PatchType, type DeletionPropagation, type KObject, type OwnerReference } from '../../apimachinery/meta.js';
import { isTombstone, type Client, type InformerFactory, type WorkQueue } from '../../client/interface.js';
import { newWorkQueue } from '../../client/workqueue.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import type { Controller, ControllerContext } from '../types.js';
import { AbsentOwnerCache, GraphBuilder, type GraphNode, type ObjectIdentity } from './graph.js';
import { gcResources, resourceForKind, type GCResource } from './resources.js';

/** How often resources the server did not serve are probed again (upstream's discovery resync). */
export const RESOURCE_RESYNC_PERIOD_MS = 30_000;

/** The item needs no retry: a virtual delete event will settle it (upstream enqueuedVirtualDeleteEventErr). */
class EnqueuedVirtualDelete extends Error {}
/** A cluster-scoped object names a namespaced owner; retrying cannot help. */
class NamespacedOwnerOfClusterScopedObject extends Error {}
/** An ownerReference names a kind the collector cannot look up. */
class RestMappingError extends Error {}

export interface GarbageCollectorOptions {
  client: Client;
  informers: InformerFactory;
  clock: Clock;
  logger: Logger;
  registry?: Registry;
  /** Concurrent workers per queue (--concurrent-gc-syncs). */
  workers: number;
  /** Resources to build the graph from (default: {@link gcResources}). */
  resources?: readonly GCResource[];
}

export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector-controller';
  readonly graph: GraphBuilder;
  readonly attemptToDelete: WorkQueue<string>;
  readonly attemptToOrphan: WorkQueue<string>;
  private readonly absentOwnerCache = new AbsentOwnerCache(500);
  private readonly client: Client;
  private readonly informers: InformerFactory;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly resources: readonly GCResource[];
  /** Resources with an informer feeding the graph, by "group/resource". */
  private readonly monitored = new Set<string>();

  constructor(opts: GarbageCollectorOptions) {
    this.client = opts.client;
    this.informers = opts.informers;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.workers = Math.max(1, opts.workers);
    this.resources = opts.resources ?? gcResources;
    this.attemptToDelete = newWorkQueue<string>({ name: 'garbage_collector_attempt_to_delete', clock: opts.clock, registry: opts.registry });
    this.attemptToOrphan = newWorkQueue<string>({ name: 'garbage_collector_attempt_to_orphan', clock: opts.clock, registry: opts.registry });
    this.graph = new GraphBuilder({
      attemptToDelete: this.attemptToDelete,
      attemptToOrphan: this.attemptToOrphan,
      absentOwnerCache: this.absentOwnerCache,
      logger: opts.logger,
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const onAbort = () => {
      this.attemptToDelete.shutDown();
      this.attemptToOrphan.shutDown();
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const resync = this.clock.setInterval(() => void this.syncMonitors(), RESOURCE_RESYNC_PERIOD_MS);
    try {
      await this.syncMonitors();
      try {
        await this.informers.waitForCacheSync(signal);
      } catch {
        return;
      }
      this.graph.drain();
      this.logger.info({ resources: [...this.monitored] }, 'garbage collector: all resource monitors have synced; proceeding to collect garbage');
      const deleteWorker = async () => {
        for (let uid = await this.attemptToDelete.get(); uid !== undefined; uid = await this.attemptToDelete.get()) {
          await this.processAttemptToDelete(uid);
        }
      };
      const orphanWorker = async () => {
        for (let uid = await this.attemptToOrphan.get(); uid !== undefined; uid = await this.attemptToOrphan.get()) {
          await this.processAttemptToOrphan(uid);
        }
      };
      await Promise.all([
        ...Array.from({ length: this.workers }, deleteWorker),
        ...Array.from({ length: this.workers }, orphanWorker),
      ]);
    } finally {
      resync.cancel();
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Starts an informer for every resource not yet watched that the server serves; a
   * resource whose list fails (404 when its group is absent) is tried again later.
   */
  async syncMonitors(): Promise<void> {
    for (const res of this.resources) {
      if (!res.monitored) continue;
      const id = `${res.gvr.group}/${res.gvr.resource}`;
      if (this.monitored.has(id)) continue;
      try {
        await this.client.resource(res.gvr).list({ limit: 1 });
      } catch (err) {
        const level = isNotFound(err) ? 'debug' : 'info';
        this.logger[level]({ resource: id, err: errMessage(err) }, 'garbage collector: resource not served; will retry');
        continue;
      }
      if (this.monitored.has(id)) continue;
      this.monitored.add(id);
      const informer = this.informers.forResource<KObject>(res.gvr);
      informer.addEventHandler({
        add: (obj) => this.graph.enqueue({ type: 'add', resource: res, obj }),
        update: (oldObj, obj) => this.graph.enqueue({ type: 'update', resource: res, obj, oldObj }),
        delete: (obj) => this.graph.enqueue({ type: 'delete', resource: res, obj: isTombstone(obj) ? obj.obj : obj }),
      });
    }
  }

  /** Resources currently feeding the graph ("group/resource"). */
  monitoredResources(): string[] {
    return [...this.monitored];
  }

  // -------------------------------------------------------------------------------------
  // attemptToDelete

  private async processAttemptToDelete(uid: string): Promise<void> {
    try {
      let requeue: boolean;
      try {
        requeue = await this.attemptToDeleteWorker(uid);
      } catch (err) {
        this.logger.error({ uid, err }, 'garbage collector: unexpected error; requeuing');
        requeue = true;
      }
      if (requeue) this.attemptToDelete.addRateLimited(uid);
      else this.attemptToDelete.forget(uid);
    } finally {
      this.attemptToDelete.done(uid);
    }
  }

  /** One attempt on one node; true to retry it with backoff. */
  private async attemptToDeleteWorker(uid: string): Promise<boolean> {
    const n = this.graph.uidToNode.get(uid);
    if (!n) return false;
    try {
      await this.attemptToDeleteItem(n);
    } catch (err) {
      if (err instanceof EnqueuedVirtualDelete) return false;
      if (err instanceof NamespacedOwnerOfClusterScopedObject) {
        this.logger.info({ item: n.toString(), err: err.message }, 'garbage collector: invalid ownerReference');
        return false;
      }
      this.logger.info({ item: n.toString(), err: errMessage(err) }, 'garbage collector: error syncing item; requeuing');
      return true;
    }
    // A virtual node stays queued until an informer observes the object, so a node for an
    // object added and removed while a watch was down does not linger (upstream #56121).
    const current = this.graph.uidToNode.get(uid);
    return current === n && n.virtual;
  }

  /**
   * Decides the fate of one node against the live objects (upstream attemptToDeleteItem).
   * Throws to be retried.
   */
  async attemptToDeleteItem(item: GraphNode): Promise<void> {
    // Being deleted without waiting for dependents: one way; the delete event will follow.
    if (item.beingDeleted && !item.deletingDependents) return;
    const latest = await this.getObject(item.identity);
    if (!latest || latest.metadata?.uid !== item.uid) {
      this.graph.enqueueVirtualDelete({ ...item.identity });
      throw new EnqueuedVirtualDelete();
    }
    if (item.deletingDependents) return this.processDeletingDependentsItem(item);

    const refs = latest.metadata?.ownerReferences ?? [];
    if (refs.length === 0) return;
    const { solid, dangling, waitingForDependentsDeletion } = await this.classifyReferences(item, refs);
    this.logger.debug({ item: item.toString(), solid: solid.length, dangling: dangling.length, waiting: waitingForDependentsDeletion.length }, 'garbage collector: classified references');

    if (solid.length > 0) {
      if (dangling.length === 0 && waitingForDependentsDeletion.length === 0) return;
      // References to owners waiting for their dependents must go too, or those owners
      // would wait forever for an object that has another owner.
      const drop = new Set([...dangling, ...waitingForDependentsDeletion].map((r) => r.uid));
      this.logger.info({ item: item.toString(), remove: [...drop] }, 'garbage collector: removing dangling and waiting references');
      await this.patchOwnerReferences(item.identity, (owners) => owners.filter((o) => !drop.has(o.uid)));
      return;
    }
    if (waitingForDependentsDeletion.length > 0 && item.dependents.size > 0) {
      for (const dep of item.dependents) {
        if (dep.deletingDependents) {
          // A dependent also waits on its dependents: unblock our references so a cycle of
          // foreground deletions cannot deadlock.
          this.logger.info({ item: item.toString() }, 'garbage collector: unblocking ownerReferences to prevent a foreground deletion cycle');
          await this.patchOwnerReferences(item.identity, (owners) =>
            owners.map((o) => (o.blockOwnerDeletion === true ? { ...o, blockOwnerDeletion: false } : o)),
          );
          break;
        }
      }
      this.logger.info({ item: item.toString() }, 'garbage collector: an owner is deleting its dependents and the item has dependents: deleting it in the foreground');
      await this.deleteObject(item.identity, 'Foreground');
      return;
    }
    const fins = latest.metadata?.finalizers ?? [];
    const policy: DeletionPropagation = fins.includes(FINALIZER_ORPHAN_DEPENDENTS)
      ? 'Orphan'
      : fins.includes(FINALIZER_DELETE_DEPENDENTS)
        ? 'Foreground'
        : 'Background';
    this.logger.info({ item: item.toString(), propagationPolicy: policy }, 'garbage collector: deleting item: all its owners are gone');
    await this.deleteObject(item.identity, policy);
  }

  /** An owner in foreground deletion: delete what blocks it, or release it when nothing does. */
  private async processDeletingDependentsItem(item: GraphNode): Promise<void> {
    const blocking = item.blockingDependents();
    if (blocking.length === 0) {
      this.logger.info({ item: item.toString() }, 'garbage collector: no blocking dependents left; removing the foregroundDeletion finalizer');
      await this.removeFinalizer(item.identity, FINALIZER_DELETE_DEPENDENTS);
      return;
    }
    for (const dep of blocking) {
      if (!dep.deletingDependents) this.attemptToDelete.add(dep.uid);
    }
  }

  /**
   * Sorts an object's ownerReferences: solid (owner exists, not waiting for dependents),
   * dangling (owner gone, or a different uid under that name), waiting (owner exists and
   * is deleting its dependents in the foreground).
   */
  private async classifyReferences(item: GraphNode, refs: readonly OwnerReference[]): Promise<{
    solid: OwnerReference[];
    dangling: OwnerReference[];
    waitingForDependentsDeletion: OwnerReference[];
  }> {
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waitingForDependentsDeletion: OwnerReference[] = [];
    for (const ref of refs) {
      const { isDangling, owner } = await this.isDangling(ref, item);
      if (isDangling) dangling.push(ref);
      else if (owner?.metadata?.deletionTimestamp && owner.metadata.finalizers?.includes(FINALIZER_DELETE_DEPENDENTS)) {
        waitingForDependentsDeletion.push(ref);
      } else solid.push(ref);
    }
    return { solid, dangling, waitingForDependentsDeletion };
  }

  /** Whether ref's owner is absent: not found, or found with another uid (upstream isDangling). */
  private async isDangling(ref: OwnerReference, item: GraphNode): Promise<{ isDangling: boolean; owner?: KObject }> {
    const res = this.resourceFor(ref);
    if (res.namespaced && item.identity.namespace === undefined) {
      throw new NamespacedOwnerOfClusterScopedObject(`cluster-scoped object ${item.toString()} has an ownerReference to the namespaced ${ref.kind} ${ref.name}`);
    }
    const ownerId: ObjectIdentity = {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      name: ref.name,
      uid: ref.uid,
      namespace: res.namespaced ? item.identity.namespace : undefined,
    };
    if (this.absentOwnerCache.has(ownerId)) return { isDangling: true };
    let owner: KObject;
    try {
      owner = await this.client.resource<KObject>(res.gvr, ownerId.namespace).get(ref.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.absentOwnerCache.add(ownerId);
      return { isDangling: true };
    }
    if (owner.metadata?.uid !== ref.uid) {
      this.absentOwnerCache.add(ownerId);
      return { isDangling: true };
    }
    return { isDangling: false, owner };
  }

  // -------------------------------------------------------------------------------------
  // attemptToOrphan

  private async processAttemptToOrphan(uid: string): Promise<void> {
    try {
      const owner = this.graph.uidToNode.get(uid);
      if (owner) {
        try {
          await this.orphanDependents(owner);
          await this.removeFinalizer(owner.identity, FINALIZER_ORPHAN_DEPENDENTS);
        } catch (err) {
          this.logger.info({ item: owner.toString(), err: errMessage(err) }, 'garbage collector: orphaning dependents failed; requeuing');
          this.attemptToOrphan.addRateLimited(uid);
          return;
        }
      }
      this.attemptToOrphan.forget(uid);
    } finally {
      this.attemptToOrphan.done(uid);
    }
  }

  /** Removes owner's reference from each of its dependents; the first error is thrown after trying them all. */
  private async orphanDependents(owner: GraphNode): Promise<void> {
    const errs: unknown[] = [];
    await Promise.all(
      [...owner.dependents].map(async (dep) => {
        try {
          await this.patchOwnerReferences(dep.identity, (owners) => owners.filter((o) => o.uid !== owner.uid));
        } catch (err) {
          errs.push(err);
        }
      }),
    );
    if (errs.length > 0) throw new Error(`failed to orphan dependents of owner ${owner.toString()}: ${errs.map(errMessage).join('; ')}`);
    this.logger.info({ owner: owner.toString(), dependents: owner.dependents.size }, 'garbage collector: orphaned dependents');
  }

  // -------------------------------------------------------------------------------------
  // API access

  /**
   * The resource to look id up in. A watched kind whose resource the server does not serve
   * (yet) is a mapping error, retried, as upstream's restmapper would: its 404s say nothing
   * about whether the object exists.
   */
  private resourceFor(id: { apiVersion: string; kind: string }): GCResource {
    const res = resourceForKind(id.apiVersion, id.kind);
    if (!res) throw new RestMappingError(`unable to map ${id.apiVersion}/${id.kind} to a resource`);
    if (res.monitored && !this.monitored.has(`${res.gvr.group}/${res.gvr.resource}`)) {
      throw new RestMappingError(`the server does not serve ${res.gvr.resource}.${res.gvr.group}`);
    }
    return res;
  }

  /** The live object, or undefined when it does not exist. */
  private async getObject(id: ObjectIdentity): Promise<KObject | undefined> {
    const res = this.resourceFor(id);
    try {
      return await this.client.resource<KObject>(res.gvr, res.namespaced ? id.namespace : undefined).get(id.name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Deletes the object at id if it still has id's uid. */
  private async deleteObject(id: ObjectIdentity, propagationPolicy: DeletionPropagation): Promise<void> {
    const res = this.resourceFor(id);
    try {
      await this.client.resource(res.gvr, res.namespaced ? id.namespace : undefined).delete(id.name, { preconditions: { uid: id.uid }, propagationPolicy });
    } catch (err) {
      // Gone already, or replaced by another object of that name: nothing to delete.
      if (isNotFound(err) || isConflict(err)) return;
      throw err;
    }
  }

  /**
   * Rewrites the ownerReferences of the object at id with edit, as a JSON merge patch
   * guarded by resourceVersion (and retried on conflict), as upstream does for objects it
   * cannot strategic-merge. Nothing happens when the object is gone or has another uid.
   */
  private async patchOwnerReferences(id: ObjectIdentity, edit: (owners: OwnerReference[]) => OwnerReference[]): Promise<void> {
    await this.patchMetadata(id, (obj) => {
      const owners = obj.metadata?.ownerReferences ?? [];
      const next = edit(owners);
      if (JSON.stringify(next) === JSON.stringify(owners)) return undefined;
      return { ownerReferences: next.length > 0 ? next : null };
    });
  }

  /** Removes finalizer from the object at id (upstream removeFinalizer). */
  private async removeFinalizer(id: ObjectIdentity, finalizer: string): Promise<void> {
    await this.patchMetadata(id, (obj) => {
      const fins = obj.metadata?.finalizers ?? [];
      if (!fins.includes(finalizer)) return undefined;
      const next = fins.filter((f) => f !== finalizer);
      return { finalizers: next.length > 0 ? next : null };
    });
  }

  private async patchMetadata(id: ObjectIdentity, change: (obj: KObject) => Record<string, unknown> | undefined): Promise<void> {
    const res = this.resourceFor(id);
    const rc = this.client.resource<KObject>(res.gvr, res.namespaced ? id.namespace : undefined);
    for (let attempt = 0; ; attempt++) {
      const obj = await this.getObject(id);
      if (!obj || obj.metadata?.uid !== id.uid) return;
      const patch = change(obj);
      if (!patch) return;
      try {
        await rc.patch(id.name, PatchType.MergePatch, { metadata: { ...patch, uid: id.uid, resourceVersion: obj.metadata?.resourceVersion } });
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err) || attempt >= 4) throw err;
      }
    }
  }
}

function errMessage(err: unknown): string {
  return isStatusError(err) || err instanceof Error ? err.message : String(err);
}

/** The factory the controller-manager registers (upstream's startGarbageCollectorController). */
export function newGarbageCollector(ctx: ControllerContext): GarbageCollector {
  return new GarbageCollector({
    client: ctx.client,
    informers: ctx.informers,
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: 'garbage-collector-controller' }),
    registry: ctx.registry,
    workers: ctx.options.workers,
  });
}
