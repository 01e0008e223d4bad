/**
 * Test doubles for controller unit tests (imported by *.test.ts only): an informer whose
 * cache the test refreshes from a FakeClient synchronously, so a test drives
 * sync → refresh → sync step by step with no timing, and an event recorder that keeps
 * what it was given.
 */
import type { EventHandlers, EventRecorder, EventType, GroupVersionResource, IndexFunc, Informer, Lister, Client } from '../../client/interface.js';
import { keyOf } from '../../client/interface.js';
import type { KObject, OwnerReference } from '../../apimachinery/meta.js';
import type { Pod, PodTemplateSpec } from '../../client/objects.js';
import { getPodFromTemplate, type PodControl } from './podcontrol.js';

/** An Informer over a map that {@link TestInformer.refresh} brings in line with a client. */
export class TestInformer<T extends object> implements Informer<T> {
  private store = new Map<string, T>();
  private readonly handlers: EventHandlers<T>[] = [];
  readonly lister: Lister<T>;

  constructor(readonly gvr: GroupVersionResource) {
    this.lister = {
      get: (key) => this.store.get(key),
      list: (ns) => [...this.store.values()].filter((o) => ns === undefined || (o as KObject).metadata?.namespace === ns),
      byIndex: () => [],
    };
  }

  addEventHandler(h: EventHandlers<T>): void {
    this.handlers.push(h);
  }

  addIndexers(_indexers: Record<string, IndexFunc<T>>): void {}

  hasSynced(): boolean {
    return true;
  }

  async run(_signal: AbortSignal): Promise<void> {}

  /** Lists from client and fires add/update/delete for what changed since the last refresh. */
  async refresh(client: Client): Promise<void> {
    const list = await client.resource<T>(this.gvr).list();
    const next = new Map<string, T>();
    for (const o of list.items) next.set(keyOf(o as KObject), o as T);
    const prev = this.store;
    this.store = next;
    for (const [k, o] of next) {
      const old = prev.get(k);
      if (!old) for (const h of this.handlers) h.add?.(o);
      else if ((old as KObject).metadata?.resourceVersion !== (o as KObject).metadata?.resourceVersion) for (const h of this.handlers) h.update?.(old, o);
    }
    for (const [k, o] of prev) if (!next.has(k)) for (const h of this.handlers) h.delete?.(o);
  }
}

/** One recorded event, as "Type Reason Message" in {@link RecordingEventRecorder.lines}. */
export interface RecordedEvent {
  obj: unknown;
  type: EventType;
  reason: string;
  message: string;
}

export class RecordingEventRecorder implements EventRecorder {
  readonly events: RecordedEvent[] = [];

  event(obj: unknown, type: EventType, reason: string, message: string): void {
    this.events.push({ obj, type, reason, message });
  }

  /** "Normal SuccessfulCreate Created pod: x" per event. */
  lines(): string[] {
    return this.events.map((e) => `${e.type} ${e.reason} ${e.message}`);
  }

  clear(): void {
    this.events.length = 0;
  }
}

/**
 * A PodControl that records instead of writing (upstream's FakePodControl), for
 * controllers whose tests assert on intent rather than on a FakeClient's contents.
 * Set `createError`/`deleteError` to make calls fail.
 */
export class FakePodControl implements PodControl {
  readonly created: { namespace: string; template: PodTemplateSpec; owner: KObject; controllerRef: OwnerReference }[] = [];
  readonly deleted: { namespace: string; name: string }[] = [];
  readonly patches: { namespace: string; name: string; patch: unknown }[] = [];
  createError: unknown;
  deleteError: unknown;
  private seq = 0;

  async createPods(namespace: string, template: PodTemplateSpec, owner: KObject, controllerRef: OwnerReference): Promise<Pod> {
    if (this.createError !== undefined) throw this.createError;
    this.created.push({ namespace, template, owner, controllerRef });
    const pod = getPodFromTemplate(template, owner, controllerRef);
    pod.metadata!.namespace = namespace;
    pod.metadata!.name = `${pod.metadata!.generateName ?? ''}${this.seq++}`;
    return pod;
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    if (this.deleteError !== undefined) throw this.deleteError;
    this.deleted.push({ namespace, name });
  }

  async patchPod(namespace: string, name: string, patch: unknown): Promise<Pod> {
    this.patches.push({ namespace, name, patch });
    return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace, name } };
  }
}
