/**
 * PodControl: how workload controllers create and delete pods (upstream's
 * RealPodControl). Creating a pod from a controller's template and recording the
 * SuccessfulCreate / FailedCreate / SuccessfulDelete / FailedDelete events are the same
 * for every controller, so they live here.
 */
import { Resources, type Client, type EventRecorder } from '../../client/interface.js';
import type { Pod, PodTemplateSpec } from '../../client/objects.js';
import { deepClone, PatchType, type KObject, type OwnerReference } from '../../apimachinery/meta.js';
import { hasStatusCause, isNotFound } from '../../apimachinery/errors.js';

/** Event reasons (controller.FailedCreatePodReason and friends). */
export const FAILED_CREATE_POD_REASON = 'FailedCreate';
export const SUCCESSFUL_CREATE_POD_REASON = 'SuccessfulCreate';
export const FAILED_DELETE_POD_REASON = 'FailedDelete';
export const SUCCESSFUL_DELETE_POD_REASON = 'SuccessfulDelete';

/** The StatusCause type the API server adds when a namespace is terminating. */
export const NAMESPACE_TERMINATING_CAUSE = 'NamespaceTerminating';

/** A controller's pod writes; {@link RealPodControl} in production, a recording fake in tests. */
export interface PodControl {
  /** Creates one pod from template owned by `owner` (for events) through controllerRef. */
  createPods(namespace: string, template: PodTemplateSpec, owner: KObject, controllerRef: OwnerReference): Promise<Pod>;
  /** Deletes the pod; rejects with NotFound (no event) when it is already gone. */
  deletePod(namespace: string, name: string, owner: KObject): Promise<void>;
  /** Strategic-merge-patches the pod (ownerReferences adoption/release). */
  patchPod(namespace: string, name: string, patch: unknown): Promise<Pod>;
}

/** The generateName prefix for a controller's pods: "<owner>-". */
export function podsPrefix(controllerName: string): string {
  return `${controllerName}-`;
}

/**
 * controller.GetPodFromTemplate: a pod with the template's labels, annotations, finalizers
 * and spec (copied), generateName "<owner>-", and the controller reference.
 */
export function getPodFromTemplate(template: PodTemplateSpec, owner: KObject, controllerRef?: OwnerReference): Pod {
  const meta = template.metadata ?? {};
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: podsPrefix(owner.metadata?.name ?? ''),
      ...(meta.labels ? { labels: { ...meta.labels } } : {}),
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ...(controllerRef ? { ownerReferences: [{ ...controllerRef }] } : {}),
    },
    spec: deepClone(template.spec ?? { containers: [] }),
  };
  return pod;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** RealPodControl: writes through the client and records events on the owner. */
export class RealPodControl implements PodControl {
  private readonly client: Client;
  private readonly recorder: EventRecorder;

  constructor(opts: { client: Client; recorder: EventRecorder }) {
    this.client = opts.client;
    this.recorder = opts.recorder;
  }

  async createPods(namespace: string, template: PodTemplateSpec, owner: KObject, controllerRef: OwnerReference): Promise<Pod> {
    const pod = getPodFromTemplate(template, owner, controllerRef);
    if (Object.keys(pod.metadata?.labels ?? {}).length === 0) throw new Error('unable to create pods, no labels');
    pod.metadata!.namespace = namespace;
    let created: Pod;
    try {
      created = await this.client.resource<Pod>(Resources.pods, namespace).create(pod);
    } catch (err) {
      // A terminating namespace refuses creations; that is expected, not worth an event.
      if (!hasStatusCause(err, NAMESPACE_TERMINATING_CAUSE)) {
        this.recorder.event(owner, 'Warning', FAILED_CREATE_POD_REASON, `Error creating: ${errorText(err)}`);
      }
      throw err;
    }
    this.recorder.event(owner, 'Normal', SUCCESSFUL_CREATE_POD_REASON, `Created pod: ${created.metadata?.name ?? ''}`);
    return created;
  }

  async deletePod(namespace: string, name: string, owner: KObject): Promise<void> {
    try {
      await this.client.resource<Pod>(Resources.pods, namespace).delete(name);
    } catch (err) {
      if (isNotFound(err)) throw err;
      this.recorder.event(owner, 'Warning', FAILED_DELETE_POD_REASON, `Error deleting: ${errorText(err)}`);
      throw new Error(`unable to delete pods: ${errorText(err)}`, { cause: err });
    }
    this.recorder.event(owner, 'Normal', SUCCESSFUL_DELETE_POD_REASON, `Deleted pod: ${name}`);
  }

  patchPod(namespace: string, name: string, patch: unknown): Promise<Pod> {
    return this.client.resource<Pod>(Resources.pods, namespace).patch(name, PatchType.StrategicMergePatch, patch);
  }
}
