/**
 * Differential test: random puts, deletes, txns and compactions against a naive model that
 * keeps the full key space of every revision; the store must agree at every retained
 * revision, before and after restarts (WAL replay and snapshots).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { MvccStore } from './store.js';
import { b } from './testing.js';

interface MKv {
  value: string;
  create: number;
  mod: number;
  version: number;
}
type State = Map<string, MKv>;

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Model {
  /** states[rev] = key space at that revision. */
  states: State[] = [new Map(), new Map()];
  compacted = 0;

  get rev(): number {
    return this.states.length - 1;
  }

  /** Applies a list of changes as one revision (if any). */
  write(changes: { key: string; value?: string }[]): void {
    const next: State = new Map(this.states[this.rev]!);
    const rev = this.rev + 1;
    let changed = false;
    for (const c of changes) {
      const cur = next.get(c.key);
      if (c.value === undefined) {
        if (cur) {
          next.delete(c.key);
          changed = true;
        }
      } else {
        next.set(c.key, { value: c.value, create: cur ? cur.create : rev, mod: rev, version: cur ? cur.version + 1 : 1 });
        changed = true;
      }
    }
    if (changed) this.states.push(next);
  }
}

const KEYS = Array.from({ length: 12 }, (_, i) => `key${i.toString().padStart(2, '0')}`);

async function check(store: MvccStore, model: Model, label: string): Promise<void> {
  assert.equal(store.status().revision, model.rev, `${label}: revision`);
  assert.equal(store.status().compactRevision, model.compacted, `${label}: compact revision`);
  for (let rev = Math.max(1, model.compacted); rev <= model.rev; rev++) {
    const r = await store.range({ key: b('\0'), rangeEnd: b('\0'), revision: rev });
    const got = r.kvs.map((kv) => `${kv.key}=${kv.value}|${kv.createRevision}|${kv.modRevision}|${kv.version}`);
    const want = [...model.states[rev]!.entries()].sort(([a], [c]) => (a < c ? -1 : 1)).map(([k, v]) => `${k}=${v.value}|${v.create}|${v.mod}|${v.version}`);
    assert.deepEqual(got, want, `${label}: state at revision ${rev}`);
  }
}

for (const seed of [1, 2, 3]) {
  test(`model: random operations agree with a naive model (seed ${seed})`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mvcc-model-'));
    const open = () => MvccStore.open({ dataDir: dir, logger: silentLogger(), clock: new FakeClock(), snapshotEveryRecords: 13 + seed, snapshotMinLogRatio: 0 });
    try {
      const rand = rng(seed);
      const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
      const model = new Model();
      let store = await open();
      for (let step = 0; step < 400; step++) {
        const x = rand();
        if (x < 0.45) {
          const key = pick(KEYS);
          const value = `v${step}`;
          await store.put({ key: b(key), value: b(value) });
          model.write([{ key, value }]);
        } else if (x < 0.6) {
          const a = pick(KEYS);
          const z = pick(KEYS);
          const [lo, hi] = a <= z ? [a, z] : [z, a];
          const r = await store.deleteRange({ key: b(lo), rangeEnd: b(hi) });
          const victims = [...model.states[model.rev]!.keys()].filter((k) => k >= lo && k < hi);
          assert.equal(r.deleted, victims.length);
          model.write(victims.map((key) => ({ key })));
        } else if (x < 0.85) {
          // A txn on a compare over a random key's version; puts to distinct keys.
          const ck = pick(KEYS);
          const cur = model.states[model.rev]!.get(ck);
          const version = Math.floor(rand() * 3);
          const holds = (cur?.version ?? 0) > version;
          const ks = [...new Set([pick(KEYS), pick(KEYS), pick(KEYS)])];
          const r = await store.txn({
            compare: [{ key: b(ck), target: 'VERSION', result: 'GREATER', version }],
            success: ks.map((k) => ({ put: { key: b(k), value: b(`t${step}`) } })),
            failure: [{ deleteRange: { key: b(ks[0]!) } }],
          });
          assert.equal(r.succeeded, holds, `step ${step}: compare`);
          model.write(holds ? ks.map((key) => ({ key, value: `t${step}` })) : [{ key: ks[0]! }]);
        } else if (x < 0.93) {
          if (model.rev > model.compacted + 1) {
            const target = model.compacted + 1 + Math.floor(rand() * (model.rev - model.compacted));
            await store.compact({ revision: target });
            model.compacted = target;
          }
        } else if (x < 0.97) {
          await store.close();
          store = await open();
          await check(store, model, `after restart at step ${step}`);
        } else {
          await check(store, model, `step ${step}`);
        }
      }
      await check(store, model, 'end');
      await store.close();
      store = await open();
      await check(store, model, 'final restart');
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
