/**
 * Deleting a namespace's content (upstream pkg/controller/namespace/deletion,
 * NamespacedResourcesDeleter and namespaceConditionUpdater).
 *
 * Upstream discovers every namespaced resource that supports delete; our client has no
 * discovery, so the deleter walks a fixed list of the namespaced resources Kubernetes 1.32
 * serves ({@link NAMESPACED_RESOURCES}). A resource the server answers 404 (or 405) for is
 * not served there and is skipped — remembered for a while, as upstream's
 * operationNotSupportedCache.
 */
import { isConflict, isMethodNotSupported, isNotFound } from '../../apimachinery/errors.js';
import { formatRFC3339, type KObject } from '../../apimachinery/meta.js';
import { Resources, type Client, type GroupVersionResource } from '../../client/interface.js';
import type { Namespace, Pod } from '../../client/objects.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import { timeOf } from '../util/index.js';

/** The finalizer this controller owns in spec.finalizers. */
export const FINALIZER_KUBERNETES = 'kubernetes';

/** Requeue estimate when remaining content carries finalizers (finalizerEstimateSeconds). */
export const FINALIZER_ESTIMATE_SECONDS = 15;

/** How long a 404/405 answer marks a resource as not served here. */
const NOT_SUPPORTED_TTL_MS = 5 * 60_000;

/** Every namespaced resource of Kubernetes 1.32 that supports delete. */
export const NAMESPACED_RESOURCES: readonly GroupVersionResource[] = [
  Resources.pods,
  Resources.services,
  Resources.endpoints,
  Resources.configmaps,
  Resources.secrets,
  Resources.serviceaccounts,
  Resources.events,
  Resources.replicationcontrollers,
  { group: '', version: 'v1', resource: 'podtemplates' },
  { group: '', version: 'v1', resource: 'limitranges' },
  { group: '', version: 'v1', resource: 'resourcequotas' },
  { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
  Resources.deployments,
  Resources.replicasets,
  Resources.daemonsets,
  Resources.statefulsets,
  Resources.controllerrevisions,
  Resources.jobs,
  Resources.cronjobs,
  Resources.endpointslices,
  Resources.leases,
  { group: 'events.k8s.io', version: 'v1', resource: 'events' },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles' },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings' },
  { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers' },
  { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets' },
  { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' },
  { group: 'storage.k8s.io', version: 'v1', resource: 'csistoragecapacities' },
];

/** What is left in the namespace: wait this long before looking again (ResourcesRemainingError). */
export class ResourcesRemainingError extends Error {
  constructor(readonly estimateSeconds: number) {
    super(`some content remains in the namespace, estimate ${estimateSeconds} seconds before it is removed`);
    this.name = 'ResourcesRemainingError';
  }
}

/** v1.NamespaceCondition. */
export interface NamespaceCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** The deletion conditions this controller maintains, in upstream's order. */
export const DELETION_CONDITION_TYPES = [
  'NamespaceDeletionDiscoveryFailure',
  'NamespaceDeletionGroupVersionParsingFailure',
  'NamespaceDeletionContentFailure',
  'NamespaceContentRemaining',
  'NamespaceFinalizersRemaining',
] as const;

const okReasons: Record<string, string> = {
  NamespaceDeletionDiscoveryFailure: 'ResourcesDiscovered',
  NamespaceDeletionGroupVersionParsingFailure: 'ParsedGroupVersions',
  NamespaceDeletionContentFailure: 'ContentDeleted',
  NamespaceContentRemaining: 'ContentRemoved',
  NamespaceFinalizersRemaining: 'ContentHasNoFinalizers',
};

const okMessages: Record<string, string> = {
  NamespaceDeletionDiscoveryFailure: 'All resources successfully discovered',
  NamespaceDeletionGroupVersionParsingFailure: 'All legacy kube types successfully parsed',
  NamespaceDeletionContentFailure: 'All content successfully deleted, may be waiting on finalization',
  NamespaceContentRemaining: 'All content successfully removed',
  NamespaceFinalizersRemaining: 'All content-preserving finalizers finished',
};

/** "pods." / "deployments.apps": upstream's `%v.%v` of resource and group. */
function gvrText(gvr: GroupVersionResource): string {
  return `${gvr.resource}.${gvr.group}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * namespaceConditionUpdater: collects failures and remaining content during one deletion
 * pass and turns them into the namespace's status conditions (failures as status True,
 * their absence as the "ok" False variant).
 */
export class NamespaceConditionUpdater {
  private readonly newConditions: NamespaceCondition[] = [];
  private readonly deleteContentErrors: unknown[] = [];

  constructor(private readonly nowText: string) {}

  processDeleteContentErr(err: unknown): void {
    this.deleteContentErrors.push(err);
  }

  processContentTotals(remaining: Map<string, number>, finalizers: Map<string, number>): void {
    if (remaining.size > 0) {
      const parts = [...remaining].filter(([, n]) => n > 0).map(([r, n]) => `${r} has ${n} resource instances`).sort();
      this.newConditions.push({
        type: 'NamespaceContentRemaining',
        status: 'True',
        lastTransitionTime: this.nowText,
        reason: 'SomeResourcesRemain',
        message: `Some resources are remaining: ${parts.join(', ')}`,
      });
    }
    if (finalizers.size > 0) {
      const parts = [...finalizers].filter(([, n]) => n > 0).map(([f, n]) => `${f} in ${n} resource instances`).sort();
      this.newConditions.push({
        type: 'NamespaceFinalizersRemaining',
        status: 'True',
        lastTransitionTime: this.nowText,
        reason: 'SomeFinalizersRemain',
        message: `Some content in the namespace has finalizers remaining: ${parts.join(', ')}`,
      });
    }
  }

  /** Applies the collected conditions to `conditions` (mutated); true when anything changed. */
  update(status: { conditions?: NamespaceCondition[] }): boolean {
    if (!this.newConditions.some((c) => c.type === 'NamespaceDeletionContentFailure') && this.deleteContentErrors.length > 0) {
      const msgs = this.deleteContentErrors.map(errorText).sort();
      this.newConditions.push({
        type: 'NamespaceDeletionContentFailure',
        status: 'True',
        lastTransitionTime: this.nowText,
        reason: 'ContentDeletionFailed',
        message: `Failed to delete all resource types, ${msgs.length} remaining: ${msgs.join(', ')}`,
      });
    }
    let changed = false;
    const conditions = (status.conditions ??= []);
    for (const type of DELETION_CONDITION_TYPES) {
      const next = this.newConditions.find((c) => c.type === type) ?? {
        type,
        status: 'False',
        lastTransitionTime: this.nowText,
        reason: okReasons[type],
        message: okMessages[type],
      };
      const old = conditions.find((c) => c.type === type);
      if (!old) {
        conditions.push(next);
        changed = true;
      } else if (old.status !== next.status || old.message !== next.message || old.reason !== next.reason) {
        if (old.status !== next.status) old.lastTransitionTime = this.nowText;
        old.status = next.status;
        old.reason = next.reason;
        old.message = next.message;
        changed = true;
      }
    }
    return changed;
  }
}

interface GvrDeletionMetadata {
  estimateSeconds: number;
  remaining: number;
  finalizers: Map<string, number>;
}

export interface NamespacedResourcesDeleterOptions {
  client: Client;
  clock: Clock;
  logger: Logger;
  /** The resources to empty (default {@link NAMESPACED_RESOURCES}). */
  resources?: readonly GroupVersionResource[];
  /** The finalizer to remove from spec.finalizers (default "kubernetes"). */
  finalizerToken?: string;
}

export class NamespacedResourcesDeleter {
  private readonly client: Client;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly resources: readonly GroupVersionResource[];
  private readonly finalizerToken: string;
  /** "verb gvr" → until when it is known not to be served. */
  private readonly notSupported = new Map<string, number>();

  constructor(opts: NamespacedResourcesDeleterOptions) {
    this.client = opts.client;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.resources = opts.resources ?? NAMESPACED_RESOURCES;
    this.finalizerToken = opts.finalizerToken ?? FINALIZER_KUBERNETES;
  }

  /**
   * Deletes everything in a terminating namespace and then removes this controller's
   * finalizer. Throws {@link ResourcesRemainingError} when content is still going away
   * (pods terminating, finalizers pending), any other error on failure; resolves when the
   * namespace is finalized, gone, or not terminating.
   */
  async delete(nsName: string): Promise<void> {
    const nsClient = this.client.resource<Namespace>(Resources.namespaces);
    let ns: Namespace;
    try {
      ns = await nsClient.get(nsName);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (!ns.metadata?.deletionTimestamp) return;
    try {
      ns = await this.retryOnConflict(ns, (n) => this.updateNamespaceStatus(n));
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (!ns.metadata?.deletionTimestamp) return;
    if (this.finalized(ns)) return;

    const estimate = await this.deleteAllContent(ns);
    if (estimate > 0) throw new ResourcesRemainingError(estimate);

    try {
      await this.retryOnConflict(ns, (n) => this.finalizeNamespace(n));
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  private finalized(ns: Namespace): boolean {
    return !(ns.spec?.finalizers ?? []).includes(this.finalizerToken);
  }

  private async retryOnConflict(ns: Namespace, fn: (ns: Namespace) => Promise<Namespace>): Promise<Namespace> {
    let latest = ns;
    for (;;) {
      try {
        return await fn(latest);
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
      const prev = latest;
      latest = await this.client.resource<Namespace>(Resources.namespaces).get(ns.metadata?.name ?? '');
      if (prev.metadata?.uid !== latest.metadata?.uid) throw new Error('namespace uid has changed across retries');
    }
  }

  /** updateNamespaceStatusFunc: a deleting namespace's phase is Terminating. */
  private async updateNamespaceStatus(ns: Namespace): Promise<Namespace> {
    if (!ns.metadata?.deletionTimestamp || ns.status?.phase === 'Terminating') return ns;
    const next: Namespace = { ...ns, status: { ...ns.status, phase: 'Terminating' } };
    return this.client.resource<Namespace>(Resources.namespaces).updateStatus(next);
  }

  /**
   * finalizeNamespace: spec.finalizers without ours, through the namespaces/finalize
   * subresource. Our client has no PUT for subresources other than status, so this is a
   * merge patch of that subresource carrying the read resourceVersion (Flotilla's API server
   * serves PATCH there; upstream's serves only PUT).
   */
  private async finalizeNamespace(ns: Namespace): Promise<Namespace> {
    const finalizers = [...new Set((ns.spec?.finalizers ?? []).filter((f) => f !== this.finalizerToken))].sort();
    try {
      return await this.client
        .resource<Namespace>(Resources.namespaces)
        .patch(ns.metadata?.name ?? '', 'application/merge-patch+json', { metadata: { resourceVersion: ns.metadata?.resourceVersion }, spec: { finalizers } }, { subresource: 'finalize' });
    } catch (err) {
      if (isNotFound(err)) return ns;
      throw err;
    }
  }

  /** deleteAllContent: empties every resource; returns the longest estimate of what remains. */
  private async deleteAllContent(ns: Namespace): Promise<number> {
    const nsName = ns.metadata?.name ?? '';
    const deletedAt = timeOf(ns.metadata?.deletionTimestamp) ?? this.clock.now();
    const updater = new NamespaceConditionUpdater(formatRFC3339(this.clock.now()));
    const errs: unknown[] = [];
    let estimate = 0;
    const remaining = new Map<string, number>();
    const finalizers = new Map<string, number>();
    for (const gvr of this.resources) {
      let md: GvrDeletionMetadata;
      try {
        md = await this.deleteAllContentForGVR(gvr, nsName, deletedAt);
      } catch (err) {
        errs.push(err);
        updater.processDeleteContentErr(err);
        const partial = (err as { metadata?: GvrDeletionMetadata }).metadata;
        if (!partial) continue;
        md = partial;
      }
      estimate = Math.max(estimate, md.estimateSeconds);
      if (md.remaining > 0) {
        remaining.set(gvrText(gvr), md.remaining);
        for (const [f, n] of md.finalizers) if (n > 0) finalizers.set(f, (finalizers.get(f) ?? 0) + n);
      }
    }
    updater.processContentTotals(remaining, finalizers);
    const status = structuredClone(ns.status ?? {}) as { conditions?: NamespaceCondition[] };
    if (updater.update(status)) {
      try {
        await this.client.resource<Namespace>(Resources.namespaces).updateStatus({ ...ns, status: status as Namespace['status'] });
      } catch (err) {
        this.logger.info({ namespace: nsName, err: errorText(err) }, "couldn't update status condition for namespace");
      }
    }
    if (errs.length > 0) throw errs.length === 1 ? errs[0] : new AggregateError(errs, errs.map(errorText).join(', '));
    return estimate;
  }

  private isSupported(verb: string, gvr: GroupVersionResource): boolean {
    const until = this.notSupported.get(`${verb} ${gvrText(gvr)}`);
    return until === undefined || until <= this.clock.now();
  }

  private setNotSupported(verb: string, gvr: GroupVersionResource): void {
    this.notSupported.set(`${verb} ${gvrText(gvr)}`, this.clock.now() + NOT_SUPPORTED_TTL_MS);
  }

  private async deleteAllContentForGVR(gvr: GroupVersionResource, ns: string, deletedAt: number): Promise<GvrDeletionMetadata> {
    const estimate = await this.estimateGracefulTermination(gvr, ns, deletedAt);
    const withEstimate = (err: unknown) => Object.assign(err instanceof Error ? err : new Error(String(err)), { metadata: { estimateSeconds: estimate, remaining: 0, finalizers: new Map() } });
    try {
      if (!(await this.deleteCollection(gvr, ns))) await this.deleteEachItem(gvr, ns);
    } catch (err) {
      throw withEstimate(err);
    }
    let items: KObject[] | undefined;
    try {
      items = await this.listCollection(gvr, ns);
    } catch (err) {
      throw withEstimate(err);
    }
    if (items === undefined || items.length === 0) return { estimateSeconds: items === undefined ? estimate : 0, remaining: 0, finalizers: new Map() };
    const finalizers = new Map<string, number>();
    for (const item of items) for (const f of item.metadata?.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    if (estimate !== 0) return { estimateSeconds: estimate, remaining: items.length, finalizers };
    // Items with finalizers are expected to linger (e.g. the garbage collector's).
    if (finalizers.size > 0) return { estimateSeconds: FINALIZER_ESTIMATE_SECONDS, remaining: items.length, finalizers };
    const err = new Error(`unexpected items still remain in namespace: ${ns} for gvr: ${gvrString(gvr)}`);
    throw Object.assign(err, { metadata: { estimateSeconds: estimate, remaining: items.length, finalizers } });
  }

  /** Deletes the whole collection; false when the server does not serve deletecollection there. */
  private async deleteCollection(gvr: GroupVersionResource, ns: string): Promise<boolean> {
    if (!this.isSupported('deletecollection', gvr)) return false;
    try {
      await this.client.resource(gvr, ns).deleteCollection({ propagationPolicy: 'Background' });
      return true;
    } catch (err) {
      if (isNotFound(err) || isMethodNotSupported(err)) {
        this.setNotSupported('deletecollection', gvr);
        return false;
      }
      throw err;
    }
  }

  /** The items left, or undefined when the server does not serve list there. */
  private async listCollection(gvr: GroupVersionResource, ns: string): Promise<KObject[] | undefined> {
    if (!this.isSupported('list', gvr)) return undefined;
    try {
      return (await this.client.resource(gvr, ns).list()).items;
    } catch (err) {
      if (isNotFound(err) || isMethodNotSupported(err)) {
        this.setNotSupported('list', gvr);
        return undefined;
      }
      throw err;
    }
  }

  private async deleteEachItem(gvr: GroupVersionResource, ns: string): Promise<void> {
    const items = await this.listCollection(gvr, ns);
    if (!items) return;
    const rc = this.client.resource(gvr, ns);
    for (const item of items) {
      try {
        await rc.delete(item.metadata?.name ?? '', { propagationPolicy: 'Background' });
      } catch (err) {
        if (!isNotFound(err) && !isMethodNotSupported(err)) throw err;
      }
    }
  }

  /**
   * estimateGracefulTermination: for pods, the longest terminationGracePeriodSeconds of
   * non-terminal pods — 0 once that long has passed since the namespace's deletion.
   */
  private async estimateGracefulTermination(gvr: GroupVersionResource, ns: string, deletedAt: number): Promise<number> {
    if (gvr.group !== '' || gvr.resource !== 'pods') return 0;
    let estimate = 0;
    const pods = await this.client.resource<Pod>(Resources.pods, ns).list();
    for (const pod of pods.items) {
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      const grace = pod.spec?.terminationGracePeriodSeconds;
      if (typeof grace === 'number' && grace > estimate) estimate = grace;
    }
    if (this.clock.now() - deletedAt >= estimate * 1000) return 0;
    return estimate;
  }
}

/** GroupVersionResource's Go %v form: "/v1, Resource=pods", "apps/v1, Resource=deployments". */
function gvrString(gvr: GroupVersionResource): string {
  return `${gvr.group}/${gvr.version}, Resource=${gvr.resource}`;
}
