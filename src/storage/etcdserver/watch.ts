/**
 * One Watch RPC: a bidirectional stream multiplexing many watchers, as etcd's
 * api/v3rpc/watch.go serves it.
 *
 * Contract with the client (what etcd's clientv3 relies on):
 *  - every create request is answered by exactly one `created: true` response carrying the
 *    watch ID, before any event of that watcher; IDs are per stream, chosen by the client
 *    (watch_id != 0) or assigned in increasing order from 0; a duplicate requested ID is
 *    answered created + canceled with the reason;
 *  - a watcher whose start revision was compacted gets one response with compact_revision
 *    set and canceled, and nothing after it;
 *  - a cancel request for a live watcher is answered `canceled: true`; for an unknown ID
 *    nothing is sent (as etcd does);
 *  - a progress request is answered with watch_id -1 (broadcast to every watcher of the
 *    stream) once every watcher of the stream has confirmed it is in sync, with the lowest
 *    of their revisions, so "no more events at or below header.revision" holds for all.
 */
import type { KV, WatchResponse, Watcher } from '../mvcc/types.js';
import type { Logger } from '../../util/log.js';
import { eventToPb, int } from './convert.js';
import type { PbResponseHeader, PbWatchCreateRequest, PbWatchRequest, PbWatchResponse } from './proto.js';

/** etcd's mvcc.ErrWatcherDuplicateID text, sent as cancel_reason. */
export const errWatcherDuplicateID = 'mvcc: duplicate watch ID provided on the WatchStream';

interface Entry {
  id: number;
  watcher?: Watcher;
  /** Responses that arrived before the created response was sent. */
  pending: WatchResponse[] | null;
}

interface ProgressWait {
  waiting: Set<number>;
  minRevision: number;
}

export interface WatchSessionOptions {
  kv: KV;
  /** Writes one response to the stream (in order). */
  send: (resp: PbWatchResponse) => void;
  header: (revision: number) => PbResponseHeader;
  logger: Logger;
}

export class WatchSession {
  private readonly kv: KV;
  private readonly send: (resp: PbWatchResponse) => void;
  private readonly header: (revision: number) => PbResponseHeader;
  private readonly logger: Logger;
  private readonly entries = new Map<number, Entry>();
  private nextId = 0;
  private progressWaits: ProgressWait[] = [];
  private closed = false;

  constructor(opts: WatchSessionOptions) {
    this.kv = opts.kv;
    this.send = opts.send;
    this.header = opts.header;
    this.logger = opts.logger;
  }

  /** Number of live watchers (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  handle(req: PbWatchRequest): void {
    if (this.closed) return;
    switch (req.request_union) {
      case 'create_request':
        if (req.create_request) this.create(req.create_request);
        return;
      case 'cancel_request':
        if (req.cancel_request) this.cancel(int(req.cancel_request.watch_id));
        return;
      case 'progress_request':
        this.progress();
        return;
      default:
        return;
    }
  }

  /** Cancels every watcher; called when the stream ends either way. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.entries.values()) e.watcher?.cancel();
    this.entries.clear();
    this.progressWaits = [];
  }

  private create(creq: PbWatchCreateRequest): void {
    // etcd: an empty key means "\0", the smallest key.
    const key = creq.key.length === 0 ? Buffer.from([0]) : creq.key;
    const wsrev = this.kv.status().revision;
    let id = int(creq.watch_id);
    if (id === 0) {
      while (this.entries.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.entries.has(id)) {
      this.send({ header: this.header(wsrev), watch_id: -1, created: true, canceled: true, cancel_reason: errWatcherDuplicateID });
      return;
    }
    const entry: Entry = { id, pending: [] };
    this.entries.set(id, entry);
    try {
      entry.watcher = this.kv.watch({
        key,
        rangeEnd: creq.range_end.length > 0 ? creq.range_end : undefined,
        startRevision: int(creq.start_revision),
        prevKv: creq.prev_kv,
        noPut: creq.filters.includes('NOPUT'),
        noDelete: creq.filters.includes('NODELETE'),
        progressNotify: creq.progress_notify,
      }, (resp) => this.deliver(entry, resp));
    } catch (err) {
      this.entries.delete(id);
      this.send({ header: this.header(wsrev), watch_id: id, created: true, canceled: true, cancel_reason: (err as Error).message });
      return;
    }
    this.send({ header: this.header(wsrev), watch_id: id, created: true });
    const pending = entry.pending ?? [];
    entry.pending = null;
    for (const resp of pending) this.deliver(entry, resp);
  }

  private cancel(id: number): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.watcher?.cancel();
    this.entries.delete(id);
    this.forgetInProgressWaits(id);
    this.send({ header: this.header(this.kv.status().revision), watch_id: id, canceled: true });
  }

  private progress(): void {
    if (this.entries.size === 0) {
      this.send({ header: this.header(this.kv.status().revision), watch_id: -1 });
      return;
    }
    const wait: ProgressWait = { waiting: new Set(this.entries.keys()), minRevision: Number.MAX_SAFE_INTEGER };
    this.progressWaits.push(wait);
    for (const e of this.entries.values()) e.watcher?.requestProgress();
  }

  private deliver(entry: Entry, resp: WatchResponse): void {
    if (this.closed || this.entries.get(entry.id) !== entry) return;
    if (entry.pending) {
      entry.pending.push(resp);
      return;
    }
    const compacted = (resp.compactRevision ?? 0) > 0;
    const canceled = compacted || resp.canceled === true;
    const isProgress = resp.events.length === 0 && !canceled;
    if (isProgress && this.answersProgressRequest(entry.id, resp.header.revision)) return;
    const out: PbWatchResponse = { header: this.header(resp.header.revision), watch_id: entry.id, events: resp.events.map(eventToPb) };
    if (compacted) out.compact_revision = resp.compactRevision;
    if (canceled) out.canceled = true;
    this.send(out);
    if (canceled) {
      this.entries.delete(entry.id);
      this.forgetInProgressWaits(entry.id);
      this.logger.debug({ watchId: entry.id, compactRevision: resp.compactRevision }, 'watcher canceled by the store');
    }
  }

  /**
   * Counts an in-sync notification towards pending progress requests. Returns true if the
   * notification was consumed by one (so it is not also sent as a per-watcher one).
   */
  private answersProgressRequest(id: number, revision: number): boolean {
    let consumed = false;
    for (const w of this.progressWaits) {
      if (!w.waiting.has(id)) continue;
      w.waiting.delete(id);
      w.minRevision = Math.min(w.minRevision, revision);
      consumed = true;
    }
    this.flushProgressWaits();
    return consumed;
  }

  private forgetInProgressWaits(id: number): void {
    for (const w of this.progressWaits) w.waiting.delete(id);
    this.flushProgressWaits();
  }

  private flushProgressWaits(): void {
    while (this.progressWaits.length > 0 && this.progressWaits[0]!.waiting.size === 0) {
      const w = this.progressWaits.shift()!;
      const rev = w.minRevision === Number.MAX_SAFE_INTEGER ? this.kv.status().revision : w.minRevision;
      this.send({ header: this.header(rev), watch_id: -1 });
    }
  }
}
