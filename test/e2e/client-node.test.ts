/**
 * The official JavaScript client, @kubernetes/client-node (v1.x), against an in-process Flotilla
 * API server, once on the embedded store and once on a real etcd: an informer lists then
 * watches, a Watch resumes from a resourceVersion, a compacted resourceVersion is answered with
 * upstream's 410 Expired ERROR event, and an informer whose watch hits that 410 relists.
 *
 * How client-node 1.x reacts to 410 (node_modules/@kubernetes/client-node/dist/cache.js), which
 * the relist test is built around: an ERROR watch event whose object has code 410 clears the
 * informer's resourceVersion; when the server then ends the stream, done(null) fires 'connect'
 * and, with no resourceVersion, lists again — deleting from its cache (and reporting 'delete')
 * what the list lacks, reporting 'add'/'update' for what is new or changed — and watches from
 * the list's resourceVersion. An HTTP error status other than 410 fires 'error' and stops it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import {
  CoreV1Api,
  KubeConfig,
  ListWatch,
  Watch,
  makeInformer,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { startApiServer, type RunningApiServer } from '../../src/apiserver/index.js';
import { backends } from '../util/backends.js';
import { startEtcd, type EtcdCluster } from '../util/etcd.js';
import { tempDir } from '../util/tmp.js';

/** Polls fn every 10 ms until it returns truthy; throws (with describe()'s text) after timeoutMs. */
async function until(fn: () => unknown, timeoutMs = 10_000, describe: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms ${describe()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves or rejects like p, or rejects after timeoutMs. */
async function within<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function newConfigMap(name: string, data: Record<string, string> = { v: '1' }): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data };
}

/** One watch event as client-node's Watch hands it to its callback. */
interface SeenEvent {
  type: string;
  name?: string;
  resourceVersion?: string;
  data?: Record<string, string>;
  object: Record<string, unknown>;
}

function seen(type: string, obj: Record<string, unknown>): SeenEvent {
  const m = (obj.metadata ?? {}) as { name?: string; resourceVersion?: string };
  return { type, name: m.name, resourceVersion: m.resourceVersion, data: obj.data as Record<string, string> | undefined, object: obj };
}

/** A Watch that records what the informer asks for and receives, and can hold reconnects. */
class RecordingWatch extends Watch {
  /** resourceVersion of every watch request, in order. */
  readonly requests: string[] = [];
  readonly events: SeenEvent[] = [];
  readonly dones: unknown[] = [];
  /** The watch() call with this index (0-based) and later ones wait for release(). */
  holdFrom = Infinity;
  /** How many watch() calls are waiting for release(). */
  pending = 0;
  #calls = 0;
  #released = false;
  #waiters: (() => void)[] = [];

  /** Passed on every watch request while set: the server ends the watch after that long. */
  timeoutSeconds: number | undefined;

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController> {
    if (this.#calls++ >= this.holdFrom && !this.#released) {
      this.pending++;
      await new Promise<void>((r) => this.#waiters.push(r));
      this.pending--;
    }
    this.requests.push(String(queryParams.resourceVersion ?? ''));
    return super.watch(
      path,
      { ...queryParams, timeoutSeconds: this.timeoutSeconds },
      (phase, obj: Record<string, unknown>, raw) => {
        this.events.push(seen(phase, obj));
        callback(phase, obj, raw);
      },
      (err) => {
        this.dones.push(err);
        done(err);
      },
    );
  }

  release(): void {
    this.#released = true;
    for (const w of this.#waiters.splice(0)) w();
  }
}

for (const backend of backends) {
  describe(`@kubernetes/client-node against the flotilla apiserver (${backend.name})`, { skip: backend.skip }, () => {
    let etcd: EtcdCluster | undefined;
    let running: RunningApiServer;
    let kc: KubeConfig;
    let core: CoreV1Api;
    const cleanups: (() => unknown)[] = [];

    before(async () => {
      const dataDir = tempDir({ after: (fn: () => void) => { cleanups.push(fn); } }, `flotilla-client-node-${backend.name}-`);
      if (backend.name === 'etcd') {
        etcd = await startEtcd();
        cleanups.push(() => etcd?.stop());
      }
      running = await startApiServer({
        dataDir,
        ...(etcd ? { etcdServers: etcd.endpoints } : { storeDir: `${dataDir}/store` }),
        port: 0,
        bindAddress: '127.0.0.1',
      });
      cleanups.push(() => running.stop());
      kc = new KubeConfig();
      kc.loadFromFile(running.kubeconfigPath);
      core = kc.makeApiClient(CoreV1Api);
    });
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    /** A fresh namespace per test, so tests don't see each other's objects. */
    async function newNamespace(name: string): Promise<string> {
      await core.createNamespace({ body: { metadata: { name } } });
      return name;
    }

    async function listRV(namespace: string): Promise<string> {
      const list = await core.listNamespacedConfigMap({ namespace });
      return list.metadata!.resourceVersion!;
    }

    /** Starts a Watch and returns what it records; aborted when the test ends. */
    async function startWatch(t: TestContext, path: string, params: Record<string, string | number>) {
      const events: SeenEvent[] = [];
      const dones: unknown[] = [];
      const controller = await new Watch(kc).watch(
        path,
        params,
        (type, obj: Record<string, unknown>) => { events.push(seen(type, obj)); },
        (err) => { dones.push(err); },
      );
      t.after(() => controller.abort());
      return { events, dones };
    }

    test('an informer lists existing objects, then watches create, update and delete', async (t) => {
      const namespace = await newNamespace(`inf-${backend.name}`);
      await core.createNamespacedConfigMap({ namespace, body: newConfigMap('a', { v: 'a1' }) });
      await core.createNamespacedConfigMap({ namespace, body: newConfigMap('b', { v: 'b1' }) });

      const informer = makeInformer<V1ConfigMap>(kc, `/api/v1/namespaces/${namespace}/configmaps`, () =>
        core.listNamespacedConfigMap({ namespace }),
      );
      const log: string[] = [];
      const errors: unknown[] = [];
      let connects = 0;
      informer.on('add', (o) => log.push(`add ${o.metadata!.name} ${JSON.stringify(o.data)}`));
      informer.on('update', (o) => log.push(`update ${o.metadata!.name} ${JSON.stringify(o.data)}`));
      informer.on('delete', (o) => log.push(`delete ${o.metadata!.name} ${JSON.stringify(o.data)}`));
      informer.on('error', (err) => errors.push(err));
      informer.on('connect', () => { connects++; });
      t.after(() => informer.stop());

      // start() resolves once the list is in the cache and the watch request is answered; that
      // it does so on a quiet collection is the separate test below, so here the first watch
      // event may be what lets it resolve.
      const started = informer.start();
      await until(() => log.length === 2, 10_000, () => JSON.stringify(log));
      assert.deepEqual(log.sort(), ['add a {"v":"a1"}', 'add b {"v":"b1"}']);
      assert.equal(connects, 1);
      assert.deepEqual(informer.list(namespace).map((o) => o.metadata!.name).sort(), ['a', 'b']);

      // Whether or not the watch has reached the server yet, it starts at the list's revision.
      await core.createNamespacedConfigMap({ namespace, body: newConfigMap('c', { v: 'c1' }) });
      await within(started, 10_000, 'informer.start()');
      await until(() => log.length === 3, 10_000, () => JSON.stringify(log));
      assert.equal(log[2], 'add c {"v":"c1"}');

      const a = await core.readNamespacedConfigMap({ name: 'a', namespace });
      const updated = await core.replaceNamespacedConfigMap({ name: 'a', namespace, body: { ...a, data: { v: 'a2' } } });
      await until(() => log.length === 4, 10_000, () => JSON.stringify(log));
      assert.equal(log[3], 'update a {"v":"a2"}');
      assert.equal(informer.get('a', namespace)?.metadata?.resourceVersion, updated.metadata!.resourceVersion);

      await core.deleteNamespacedConfigMap({ name: 'b', namespace });
      await until(() => log.length === 5, 10_000, () => JSON.stringify(log));
      assert.equal(log[4], 'delete b {"v":"b1"}');

      assert.deepEqual(
        informer.list(namespace).map((o) => [o.metadata!.name, o.data]).sort(),
        [['a', { v: 'a2' }], ['c', { v: 'c1' }]],
      );
      assert.equal(informer.get('b', namespace), undefined);
      assert.deepEqual(errors, []);
      assert.equal(connects, 1, 'the watch stayed open');
    });

    test('informer.start() resolves on a quiet collection: the watch response starts before any event', async (t) => {
      const namespace = await newNamespace(`quiet-${backend.name}`);
      await core.createNamespacedConfigMap({ namespace, body: newConfigMap('only') });
      const informer = makeInformer<V1ConfigMap>(kc, `/api/v1/namespaces/${namespace}/configmaps`, () =>
        core.listNamespacedConfigMap({ namespace }),
      );
      t.after(() => informer.stop());
      // Upstream's serveWatch writes the 200 and flushes before the first event, so client-node's
      // fetch (and start()) resolves with nothing to report.
      await within(informer.start(), 3_000, 'informer.start() with no watch events');
      assert.deepEqual(informer.list(namespace).map((o) => o.metadata!.name), ['only']);
    });

    test('a Watch from a listed resourceVersion delivers exactly the changes after it', async (t) => {
      const namespace = await newNamespace(`resume-${backend.name}`);
      const before1 = await core.createNamespacedConfigMap({ namespace, body: newConfigMap('before', { v: '0' }) });
      await core.createNamespacedConfigMap({ namespace, body: newConfigMap('doomed', { v: '0' }) });
      const rv = await listRV(namespace);
      // All of these happen after rv and before the watch starts.
      const created = await core.createNamespacedConfigMap({ namespace, body: newConfigMap('after', { v: '1' }) });
      const modified = await core.replaceNamespacedConfigMap({ name: 'before', namespace, body: { ...before1, data: { v: '2' } } });
      await core.deleteNamespacedConfigMap({ name: 'doomed', namespace });

      const w = await startWatch(t, `/api/v1/namespaces/${namespace}/configmaps`, { resourceVersion: rv });
      await until(() => w.events.length >= 3, 10_000, () => JSON.stringify(w.events));
      // A live change arrives on the same stream, after the replayed ones.
      const live = await core.createNamespacedConfigMap({ namespace, body: newConfigMap('live', { v: '3' }) });
      await until(() => w.events.some((e) => e.name === 'live'), 10_000, () => JSON.stringify(w.events));

      assert.deepEqual(
        w.events.map((e) => [e.type, e.name, e.data]),
        [
          ['ADDED', 'after', { v: '1' }],
          ['MODIFIED', 'before', { v: '2' }],
          ['DELETED', 'doomed', { v: '0' }],
          ['ADDED', 'live', { v: '3' }],
        ],
      );
      assert.equal(w.events[0]!.resourceVersion, created.metadata!.resourceVersion);
      assert.equal(w.events[1]!.resourceVersion, modified.metadata!.resourceVersion);
      assert.equal(w.events[3]!.resourceVersion, live.metadata!.resourceVersion);
      const rvs = w.events.map((e) => Number(e.resourceVersion));
      assert.ok(rvs.every((r, i) => r > Number(rv) && (i === 0 || r > rvs[i - 1]!)), `increasing and after ${rv}: ${rvs.join(',')}`);
      assert.deepEqual(w.dones, [], 'the watch is still open');
    });

    test('a Watch from a compacted resourceVersion gets one 410 Expired ERROR event, then the stream ends', async (t) => {
      const namespace = await newNamespace(`expired-${backend.name}`);
      await core.createNamespacedConfigMap({ namespace, body: newConfigMap('x1') });
      await core.createNamespacedConfigMap({ namespace, body: newConfigMap('x2') });
      const oldRV = await listRV(namespace);
      const x1 = await core.readNamespacedConfigMap({ name: 'x1', namespace });
      await core.replaceNamespacedConfigMap({ name: 'x1', namespace, body: { ...x1, data: { v: '2' } } });
      await core.createNamespacedConfigMap({ namespace, body: newConfigMap('x3') });
      const compacted = await running.storage.currentRevision();
      await running.storage.compact(compacted);
      assert.ok(Number(oldRV) < compacted);

      const w = await startWatch(t, `/api/v1/namespaces/${namespace}/configmaps`, { resourceVersion: oldRV });
      await until(() => w.dones.length > 0, 10_000, () => JSON.stringify(w.events));
      // Upstream's watch cache answers 200 and one ERROR event (cacher.go newErrWatcher with
      // getAllEventsSinceLocked's NewResourceExpired), then closes the stream.
      assert.deepEqual(w.events.map((e) => e.type), ['ERROR']);
      const { message, ...status } = w.events[0]!.object;
      assert.deepEqual(status, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', code: 410 });
      assert.deepEqual(w.dones, [null], 'a clean end of the stream, not an HTTP error');
      await t.test('the message is the watch cache\'s "too old resource version: X (Y)"', () => {
        assert.equal(message, `too old resource version: ${oldRV} (${compacted})`);
      });

      // The compacted revision itself is still a valid starting point.
      const starting = startWatch(t, `/api/v1/namespaces/${namespace}/configmaps`, { resourceVersion: String(compacted) });
      await core.createNamespacedConfigMap({ namespace, body: newConfigMap('x4') });
      const ok = await within(starting, 10_000, 'watch from the compacted revision');
      await until(() => ok.events.length > 0, 10_000);
      assert.deepEqual(ok.events.map((e) => [e.type, e.name]), [['ADDED', 'x4']]);
    });

    test('an informer whose watch hits 410 relists and its cache converges', async (t) => {
      const namespace = await newNamespace(`relist-${backend.name}`);
      for (const n of ['keep', 'gone', 'changed']) await core.createNamespacedConfigMap({ namespace, body: newConfigMap(n, { v: '1' }) });

      let lists = 0;
      // timeoutSeconds makes the server end the watch after a second, so the informer
      // reconnects from its last resourceVersion; holdFrom keeps that reconnect waiting while
      // the store moves on and is compacted.
      const watch = new RecordingWatch(kc);
      watch.timeoutSeconds = 1;
      watch.holdFrom = 1;
      const informer = new ListWatch<V1ConfigMap>(
        `/api/v1/namespaces/${namespace}/configmaps`,
        watch,
        () => {
          lists++;
          return core.listNamespacedConfigMap({ namespace });
        },
        false,
      );
      const log: string[] = [];
      const errors: unknown[] = [];
      let connects = 0;
      informer.on('add', (o) => log.push(`add ${o.metadata!.name} ${JSON.stringify(o.data)}`));
      informer.on('update', (o) => log.push(`update ${o.metadata!.name} ${JSON.stringify(o.data)}`));
      informer.on('delete', (o) => log.push(`delete ${o.metadata!.name}`));
      informer.on('error', (err) => errors.push(err));
      informer.on('connect', () => { connects++; });
      t.after(() => {
        watch.release();
        return informer.stop();
      });

      await informer.start();
      assert.equal(lists, 1);
      assert.deepEqual(log.splice(0).sort(), ['add changed {"v":"1"}', 'add gone {"v":"1"}', 'add keep {"v":"1"}']);
      const listedRV = informer.latestResourceVersion();
      assert.deepEqual(watch.requests, [listedRV]);

      // The server ends the first watch (timeoutSeconds); client-node reconnects from listedRV
      // and that second watch() waits: from now on the informer is not watching.
      await until(() => watch.pending === 1, 10_000, () => `dones: ${JSON.stringify(watch.dones)}`);
      assert.deepEqual(watch.dones, [null]);
      assert.equal(connects, 2);

      await core.deleteNamespacedConfigMap({ name: 'gone', namespace });
      const changed = await core.readNamespacedConfigMap({ name: 'changed', namespace });
      await core.replaceNamespacedConfigMap({ name: 'changed', namespace, body: { ...changed, data: { v: '2' } } });
      await core.createNamespacedConfigMap({ namespace, body: newConfigMap('new', { v: '1' }) });
      const compacted = await running.storage.currentRevision();
      await running.storage.compact(compacted);

      // No more timeouts: from here on every reconnect is the informer's own doing.
      watch.timeoutSeconds = undefined;
      watch.release();
      // The watch from listedRV is answered with 410; client-node drops its resourceVersion,
      // reconnects ('connect'), lists and reconciles its cache against the list.
      await until(() => lists === 2 && watch.requests.length === 3, 10_000, () => JSON.stringify({ lists, requests: watch.requests, events: watch.events }));
      assert.deepEqual(watch.requests.slice(0, 2), [listedRV, listedRV]);
      assert.deepEqual(watch.events.map((e) => [e.type, e.object.code, e.object.reason]), [['ERROR', 410, 'Expired']]);
      const message = watch.events[0]!.object.message;
      assert.ok(Number(watch.requests[2]) >= compacted, `relisted at ${watch.requests[2]}, compacted at ${compacted}`);
      assert.deepEqual(log.splice(0).sort(), ['add new {"v":"1"}', 'delete gone', 'update changed {"v":"2"}']);
      assert.equal(connects, 3, 'one reconnect after the timeout, one after the 410');
      assert.deepEqual(errors, [], "a 410 is not reported as 'error'");

      // Watching again after the relist: later changes arrive, and the cache matches the server.
      await core.deleteNamespacedConfigMap({ name: 'keep', namespace });
      await until(() => log.length === 1, 10_000, () => JSON.stringify(log));
      assert.deepEqual(log, ['delete keep']);
      const server = await core.listNamespacedConfigMap({ namespace });
      assert.deepEqual(
        informer.list(namespace).map((o) => [o.metadata!.name, o.metadata!.resourceVersion, o.data]).sort(),
        server.items.map((o) => [o.metadata!.name, o.metadata!.resourceVersion, o.data]).sort(),
      );
      assert.deepEqual(errors, []);
      await t.test('the 410 message is the watch cache\'s "too old resource version: X (Y)"', () => {
        assert.equal(message, `too old resource version: ${listedRV} (${compacted})`);
      });
    });
  });
}
