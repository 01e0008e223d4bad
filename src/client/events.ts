/**
 * client-go's tools/record for Flotilla: an {@link EventRecorder} writing core/v1 Events.
 *
 * As upstream:
 *  - an Event is named `<involvedObject.name>.<hex of the nanosecond timestamp>` and lives
 *    in the object's namespace ("default" for cluster-scoped objects);
 *  - `source.component` and `reportingComponent` are the recorder's component;
 *  - a repeat of the same (object, type, reason, message) within the aggregation window
 *    (10 minutes) patches `count` and `lastTimestamp` of the Event already written
 *    (EventCorrelator's eventLogger), falling back to a create if that Event is gone;
 *  - recording never blocks nor throws: writes run in the background, at most
 *    `maxInFlight` at a time, and are dropped (with a log line) when `maxQueued` are
 *    already waiting or when the API server refuses them.
 *
 * Not modelled: the correlator's spam filter and "(combined from similar events)"
 * aggregation of messages that differ.
 */
import { isNotFound, isAlreadyExists } from '../apimachinery/errors.js';
import { formatRFC3339, PatchType, type KObject } from '../apimachinery/meta.js';
import type { Clock } from '../util/clock.js';
import { silentLogger, type Logger } from '../util/log.js';
import { Resources, type Client, type EventRecorder, type EventType } from './interface.js';

export interface EventRecorderOptions {
  client: Client;
  /** `source.component` / `reportingComponent`, e.g. "default-scheduler". */
  component: string;
  clock: Clock;
  logger?: Logger;
  /** `source.host` / `reportingInstance` (the kubelet's node name); unset for controllers. */
  host?: string;
  /** Concurrent writes (default 8). */
  maxInFlight?: number;
  /** Writes waiting for a slot before new ones are dropped (default 1000, as the broadcaster's queue). */
  maxQueued?: number;
}

/** The window in which a repeat bumps count instead of creating an Event (upstream 10 min). */
export const EVENT_AGGREGATION_WINDOW_MS = 10 * 60 * 1000;
/** Distinct events remembered for aggregation (upstream's LRU size). */
const maxCacheEntries = 4096;

interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

interface Entry {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  lastMs: number;
  /** The event as last written (for re-creating it if a patch finds it gone). */
  event: KObject;
  /** Writes for one Event are serialised, so a patch never overtakes its create. */
  chain: Promise<void>;
  /** A patch is queued and not started: later repeats ride on it (it reads count when it runs). */
  patchQueued: boolean;
}

function referenceOf(obj: object): ObjectReference {
  const o = obj as KObject;
  const m = o.metadata ?? {};
  const ref: ObjectReference = {};
  if (o.apiVersion) ref.apiVersion = o.apiVersion;
  if (o.kind) ref.kind = o.kind;
  if (m.name) ref.name = m.name;
  if (m.namespace) ref.namespace = m.namespace;
  if (m.uid) ref.uid = m.uid;
  if (m.resourceVersion) ref.resourceVersion = m.resourceVersion;
  return ref;
}

class Recorder implements EventRecorder {
  private readonly logger: Logger;
  private readonly cache = new Map<string, Entry>();
  private inFlight = 0;
  /** Writes scheduled and not finished (running or waiting). */
  private pending = 0;
  private readonly slots: (() => void)[] = [];
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  /** Sub-millisecond sequence: the clock has ms resolution, names need ns-like uniqueness. */
  private seq = 0;
  private lastMs = -1;

  constructor(private readonly opts: EventRecorderOptions) {
    this.logger = opts.logger ?? silentLogger();
    this.maxInFlight = opts.maxInFlight ?? 8;
    this.maxQueued = opts.maxQueued ?? 1000;
  }

  event(obj: KObject | object, type: EventType, reason: string, message: string): void {
    try {
      this.record(obj, type, reason, message);
    } catch (err) {
      this.logger.error({ err, reason }, 'could not record event');
    }
  }

  private record(obj: object, type: EventType, reason: string, message: string): void {
    const ref = referenceOf(obj);
    const now = this.opts.clock.now();
    const ts = formatRFC3339(now);
    const key = [ref.uid ?? '', ref.kind ?? '', ref.namespace ?? '', ref.name ?? '', type, reason, message].join('\x00');
    const prev = this.cache.get(key);
    if (prev && now - prev.lastMs <= EVENT_AGGREGATION_WINDOW_MS) {
      prev.count++;
      prev.lastMs = now;
      prev.event = { ...prev.event, count: prev.count, lastTimestamp: ts, involvedObject: ref };
      // LRU: move to the back.
      this.cache.delete(key);
      this.cache.set(key, prev);
      if (!prev.patchQueued) {
        prev.patchQueued = true;
        this.schedule(prev, () => {
          prev.patchQueued = false;
          return this.patch(prev);
        });
      }
      return;
    }
    const namespace = ref.namespace || 'default';
    const name = `${ref.name ?? ''}.${this.nanoHex(now)}`;
    const event: KObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      source: this.opts.host ? { component: this.opts.component, host: this.opts.host } : { component: this.opts.component },
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host ?? '',
    };
    const entry: Entry = { name, namespace, count: 1, firstTimestamp: ts, lastMs: now, event, chain: Promise.resolve(), patchQueued: false };
    this.cache.delete(key);
    this.cache.set(key, entry);
    if (this.cache.size > maxCacheEntries) this.cache.delete(this.cache.keys().next().value!);
    this.schedule(entry, () => this.create(entry.event));
  }

  /** 16 hex digits of a nanosecond timestamp, unique per recorder even within one millisecond. */
  private nanoHex(ms: number): string {
    if (ms === this.lastMs) this.seq++;
    else {
      this.lastMs = ms;
      this.seq = 0;
    }
    return (BigInt(ms) * 1_000_000n + BigInt(this.seq % 1_000_000)).toString(16);
  }

  private schedule(entry: Entry, write: () => Promise<void>): void {
    if (this.pending >= this.maxInFlight + this.maxQueued) {
      this.logger.warn({ event: entry.name }, 'event queue full, dropping event');
      entry.patchQueued = false;
      return;
    }
    this.pending++;
    entry.chain = entry.chain.then(async () => {
      await this.acquire();
      try {
        await write();
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, event: entry.name }, 'could not write event, dropping it');
      } finally {
        this.release();
        this.pending--;
      }
    });
  }

  private async create(event: KObject): Promise<void> {
    const ns = event.metadata!.namespace!;
    try {
      await this.opts.client.resource(Resources.events, ns).create(event);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }

  private async patch(entry: Entry): Promise<void> {
    const { count, lastTimestamp } = entry.event;
    try {
      await this.opts.client.resource(Resources.events, entry.namespace).patch(entry.name, PatchType.StrategicMergePatch, { count, lastTimestamp });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // Deleted (TTL) or never written: write it anew with the count so far, as upstream.
      await this.create(entry.event);
    }
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.maxInFlight) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.slots.push(resolve));
  }

  private release(): void {
    const next = this.slots.shift();
    if (next) next();
    else this.inFlight--;
  }
}

/** An EventRecorder writing core/v1 Events through client (see the module comment). */
export function newEventRecorder(opts: EventRecorderOptions): EventRecorder {
  return new Recorder(opts);
}
