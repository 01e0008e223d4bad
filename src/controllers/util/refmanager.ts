/**
 * Claiming objects by selector and controllerRef, after upstream's
 * BaseControllerRefManager / PodControllerRefManager / ReplicaSetControllerRefManager
 * (pkg/controller/controller_ref_manager.go).
 *
 * A controller owns what carries its controllerRef. Each sync it "claims" the candidates:
 *  - owned by another controller: ignored;
 *  - owned by us and matching the selector: kept;
 *  - owned by us but no longer matching: released (our ownerReference removed), unless
 *    we are being deleted;
 *  - an orphan that matches, not being deleted, in our namespace: adopted (our
 *    controllerRef patched in), unless we are being deleted — and only after a fresh read
 *    from the API server shows we still exist under the same UID ({@link recheckDeletionTimestamp}),
 *    so a stale cache never adopts pods for a controller that is already gone.
 * Adoption and release are strategic-merge patches carrying the object's UID, so a
 * deleted-and-recreated object of the same name is not touched.
 */
import type { Selector } from '../../apimachinery/labels.js';
import type { KObject, OwnerReference } from '../../apimachinery/meta.js';
import { isInvalid, isNotFound } from '../../apimachinery/errors.js';

/** What the ref manager needs to know about an owned object. */
interface Ownable {
  metadata?: {
    uid?: string;
    namespace?: string;
    name?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string | null;
    ownerReferences?: readonly OwnerReference[];
  };
}

/** The controller reference of obj (controller: true), if any. */
export function controllerRefOf(obj: Ownable): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** The patch that makes `owner` the controller of the object with uid `uid`. */
export function ownerRefPatch(ownerRef: OwnerReference, uid: string): unknown {
  return {
    metadata: {
      ownerReferences: [{
        apiVersion: ownerRef.apiVersion, kind: ownerRef.kind, name: ownerRef.name, uid: ownerRef.uid,
        controller: true, blockOwnerDeletion: true,
      }],
      uid,
    },
  };
}

/** The patch that removes owner `ownerUID` from the object with uid `uid`. */
export function deleteOwnerRefPatch(ownerUID: string, uid: string): unknown {
  return { metadata: { ownerReferences: [{ $patch: 'delete', uid: ownerUID }], uid } };
}

/**
 * RecheckDeletionTimestamp: an adoption guard that reads the owner afresh (uncached)
 * and refuses when it is gone, replaced (other UID) or being deleted.
 */
export function recheckDeletionTimestamp(owner: KObject, getFresh: () => Promise<KObject>): () => Promise<void> {
  return async () => {
    const fresh = await getFresh();
    const kind = owner.kind ?? 'object';
    const ns = owner.metadata?.namespace ?? '';
    const name = owner.metadata?.name ?? '';
    if (fresh.metadata?.uid !== owner.metadata?.uid) {
      throw new Error(`original ${kind} ${ns}/${name} is gone: got uid ${fresh.metadata?.uid ?? ''}, wanted ${owner.metadata?.uid ?? ''}`);
    }
    if (fresh.metadata?.deletionTimestamp) {
      throw new Error(`${kind} ${ns}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    }
  };
}

export interface ControllerRefManagerOptions<T extends Ownable> {
  /** The controller doing the claiming. */
  controller: KObject;
  /** Its reference (apiVersion/kind of the controller's own type). */
  controllerRef: OwnerReference;
  selector: Selector;
  /** Called once before the first adoption; rejects to forbid adopting. */
  canAdopt: () => Promise<void>;
  /**
   * Patches obj (by namespace/name) with a strategic merge patch; resolves with the patched
   * object when the transport returns it, so callers go on from the fresh copy.
   */
  patch: (obj: T, patch: unknown) => Promise<T | unknown>;
  /** Extra conditions an object must meet to be claimed (all must hold). */
  filters?: ((obj: T) => boolean)[];
}

/**
 * A ControllerRefManager: claim candidates for one controller in one sync. Returns the
 * claimed objects; rejects with the first adoption/release error after trying all.
 */
export class ControllerRefManager<T extends Ownable> {
  private readonly opts: ControllerRefManagerOptions<T>;
  private canAdoptResult: Promise<void> | undefined;

  constructor(opts: ControllerRefManagerOptions<T>) {
    this.opts = opts;
  }

  private canAdoptOnce(): Promise<void> {
    this.canAdoptResult ??= this.opts.canAdopt();
    return this.canAdoptResult;
  }

  private matches(obj: T): boolean {
    return this.opts.selector.matches(obj.metadata?.labels) && (this.opts.filters ?? []).every((f) => f(obj));
  }

  /**
   * ClaimPods/ClaimReplicaSets: the objects this controller owns after adopting and
   * releasing (adopted ones as the patch returned them).
   */
  async claim(objs: readonly T[]): Promise<T[]> {
    const claimed: T[] = [];
    const errors: unknown[] = [];
    for (const obj of objs) {
      try {
        const mine = await this.claimObject(obj);
        if (mine) claimed.push(mine);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) {
      const err = errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map((e) => (e instanceof Error ? e.message : String(e))).join(', '));
      throw Object.assign(err instanceof Error ? err : new Error(String(err)), { claimed });
    }
    return claimed;
  }

  /** ClaimObject: the object when it is (now) ours, undefined otherwise. */
  async claimObject(obj: T): Promise<T | undefined> {
    const ctrl = this.opts.controller;
    const ref = controllerRefOf(obj);
    if (ref) {
      if (ref.uid !== ctrl.metadata?.uid) return undefined;
      if (this.matches(obj)) return obj;
      if (ctrl.metadata?.deletionTimestamp) return undefined;
      await this.release(obj);
      return undefined;
    }
    if (ctrl.metadata?.deletionTimestamp || !this.matches(obj)) return undefined;
    if (obj.metadata?.deletionTimestamp) return undefined;
    const ns = ctrl.metadata?.namespace;
    if (ns && ns !== obj.metadata?.namespace) return undefined;
    try {
      return await this.adopt(obj);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async adopt(obj: T): Promise<T> {
    try {
      await this.canAdoptOnce();
    } catch (err) {
      throw new Error(`can't adopt ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const patched = await this.opts.patch(obj, ownerRefPatch(this.opts.controllerRef, obj.metadata?.uid ?? ''));
    const fresh = patched as T | undefined;
    return fresh && typeof fresh === 'object' && fresh.metadata?.uid === obj.metadata?.uid ? fresh : obj;
  }

  private async release(obj: T): Promise<void> {
    try {
      await this.opts.patch(obj, deleteOwnerRefPatch(this.opts.controller.metadata?.uid ?? '', obj.metadata?.uid ?? ''));
    } catch (err) {
      // NotFound: gone already. Invalid: no such ownerReference any more, or the UID in the
      // patch no longer matches (deleted and recreated) — nothing of ours to release.
      if (isNotFound(err)) return;
      if (isInvalid(err)) return;
      throw err;
    }
  }
}
