import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject, OwnerReference } from '../../apimachinery/meta.js';
import type { WorkQueue } from '../../client/interface.js';
import { silentLogger } from '../../util/log.js';
import { AbsentOwnerCache, GraphBuilder } from './graph.js';
import { resourceForKind, type GCResource } from './resources.js';

/** A queue that only records what was added (the builder never reads from it). */
class RecordingQueue implements WorkQueue<string> {
  added: string[] = [];
  add(item: string): void {
    this.added.push(item);
  }
  addAfter(item: string): void {
    this.added.push(item);
  }
  addRateLimited(item: string): void {
    this.added.push(item);
  }
  forget(): void {}
  numRequeues(): number {
    return 0;
  }
  get(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }
  done(): void {}
  len(): number {
    return this.added.length;
  }
  shutDown(): void {}
  take(): string[] {
    const out = [...new Set(this.added)].sort();
    this.added = [];
    return out;
  }
}

const rsRes = resourceForKind('apps/v1', 'ReplicaSet')!;
const podRes = resourceForKind('v1', 'Pod')!;
const deployRes = resourceForKind('apps/v1', 'Deployment')!;

function obj(name: string, uid: string, meta: Partial<NonNullable<KObject['metadata']>> = {}): KObject {
  return { metadata: { name, namespace: 'default', uid, ...meta } };
}

function ref(kind: string, name: string, uid: string, block?: boolean): OwnerReference {
  return { apiVersion: kind === 'Pod' ? 'v1' : 'apps/v1', kind, name, uid, controller: true, ...(block !== undefined ? { blockOwnerDeletion: block } : {}) };
}

function setup() {
  const del = new RecordingQueue();
  const orphan = new RecordingQueue();
  const absent = new AbsentOwnerCache(10);
  const g = new GraphBuilder({ attemptToDelete: del, attemptToOrphan: orphan, absentOwnerCache: absent, logger: silentLogger() });
  const apply = (type: 'add' | 'update' | 'delete', resource: GCResource, o: KObject, oldObj?: KObject) => {
    g.enqueue(type === 'delete' ? { type, resource, obj: o } : { type, resource, obj: o, oldObj });
    g.drain();
  };
  return { g, del, orphan, absent, apply };
}

test('graph: a dependent seen before its owner creates a virtual owner, queued for verification; the owner’s event makes it real', () => {
  const { g, del, apply } = setup();
  apply('add', podRes, obj('p', 'P', { ownerReferences: [ref('ReplicaSet', 'rs', 'R')] }));
  const r = g.uidToNode.get('R')!;
  assert.equal(r.virtual, true);
  assert.deepEqual([...r.dependents].map((d) => d.uid), ['P']);
  assert.deepEqual(del.take(), ['R']);
  apply('add', rsRes, obj('rs', 'R'));
  assert.equal(g.uidToNode.get('R'), r, 'the same node, now observed');
  assert.equal(r.virtual, false);
  assert.deepEqual(del.take(), [], 'an owner observed with matching coordinates queues nothing');
});

test('graph: deleting an owner queues its dependents and records it absent', () => {
  const { g, del, absent, apply } = setup();
  const rs = obj('rs', 'R');
  apply('add', rsRes, rs);
  apply('add', podRes, obj('p1', 'P1', { ownerReferences: [ref('ReplicaSet', 'rs', 'R')] }));
  apply('add', podRes, obj('p2', 'P2', { ownerReferences: [ref('ReplicaSet', 'rs', 'R')] }));
  del.take();
  apply('delete', rsRes, rs);
  assert.equal(g.uidToNode.has('R'), false);
  assert.deepEqual(del.take(), ['P1', 'P2']);
  assert.equal(absent.has({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'R', namespace: 'default' }), true);
});

test('graph: foreground and orphan transitions', () => {
  const { g, del, orphan, apply } = setup();
  const d = obj('d', 'D');
  apply('add', deployRes, d);
  apply('add', rsRes, obj('rs', 'R', { ownerReferences: [ref('Deployment', 'd', 'D', true)] }));
  del.take();
  const deleting = obj('d', 'D', { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] });
  apply('update', deployRes, deleting, d);
  assert.equal(g.uidToNode.get('D')!.deletingDependents, true);
  assert.deepEqual(del.take(), ['D', 'R'], 'the owner and its dependents are looked at');
  apply('update', deployRes, deleting, deleting);
  assert.deepEqual(del.take(), [], 'staying in the state is no new transition');

  const rs2 = obj('rs2', 'R2');
  apply('add', rsRes, rs2);
  apply('update', rsRes, obj('rs2', 'R2', { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['orphan'] }), rs2);
  assert.deepEqual(orphan.take(), ['R2']);
});

test('graph: a dependent that stops blocking, or leaves, releases an owner deleting its dependents; its deletion does too', () => {
  const { del, apply } = setup();
  apply('add', rsRes, obj('rs', 'R', { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] }));
  const blocking = obj('p', 'P', { ownerReferences: [ref('ReplicaSet', 'rs', 'R', true)] });
  apply('add', podRes, blocking);
  del.take();
  const unblocked = obj('p', 'P', { ownerReferences: [ref('ReplicaSet', 'rs', 'R', false)] });
  apply('update', podRes, unblocked, blocking);
  assert.deepEqual(del.take(), ['R']);
  apply('update', podRes, obj('p', 'P', { ownerReferences: [] }), unblocked);
  assert.deepEqual(del.take(), [], 'removing a non-blocking reference changes nothing for the owner');
  apply('update', podRes, blocking, obj('p', 'P'));
  del.take();
  apply('delete', podRes, blocking);
  assert.deepEqual(del.take(), ['R']);
});

test('graph: a reference whose coordinates disagree with the observed owner queues the dependent', () => {
  const { del, apply } = setup();
  apply('add', rsRes, obj('rs', 'R'));
  del.take();
  apply('add', podRes, obj('p', 'P', { ownerReferences: [ref('ReplicaSet', 'not-rs', 'R')] }));
  assert.deepEqual(del.take(), ['P']);
});
