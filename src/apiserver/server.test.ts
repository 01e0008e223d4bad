/**
 * The API server in-process over HTTPS with the admin client certificate: status codes,
 * Status bodies and wire formats that kubectl does not show directly.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { startTestApiServer, type TestApiServer } from '../../test/util/kubectl.js';
import { ensurePKI } from './pki.js';
import { decodeKubernetesProtobuf } from './protobuf.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

describe('apiserver over HTTPS', () => {
  let api: TestApiServer;
  let tls: { cert: string; key: string; ca: string };
  const hooks: (() => unknown)[] = [];

  before(async () => {
    api = await startTestApiServer({ after: (fn) => { hooks.push(fn); } });
    const pki = await ensurePKI({ dataDir: api.dataDir });
    tls = { cert: pki.adminCertPem, key: pki.adminKeyPem, ca: pki.caCertPem };
  });
  after(async () => {
    for (const h of hooks.reverse()) await h();
  });

  function call(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const data = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      const req = request(
        {
          host: '127.0.0.1',
          port: api.port,
          method,
          path,
          ...tls,
          servername: 'localhost',
          headers: { 'content-type': 'application/json', ...(data ? { 'content-length': String(Buffer.byteLength(data)) } : {}), ...opts.headers },
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => { body += d.toString(); });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T }));
        },
      );
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  const cm = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { a: '1' } });

  test('serving certificate verifies against the CA for localhost and 127.0.0.1', async () => {
    const r = await call('GET', '/version');
    assert.equal(r.status, 200);
  });

  test('create: 201, server fields set; duplicate 409 AlreadyExists; generateName', async () => {
    const r = await call('POST', '/api/v1/namespaces/default/configmaps', { body: cm('one') });
    assert.equal(r.status, 201);
    const o = r.json<{ metadata: Record<string, unknown> }>();
    assert.ok(o.metadata.uid && o.metadata.resourceVersion && o.metadata.creationTimestamp);
    const dup = await call('POST', '/api/v1/namespaces/default/configmaps', { body: cm('one') });
    assert.equal(dup.status, 409);
    assert.deepEqual(dup.json(), {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'configmaps "one" already exists',
      reason: 'AlreadyExists', details: { name: 'one', kind: 'configmaps' }, code: 409,
    });
    const gen = await call('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } } });
    assert.equal(gen.status, 201);
    assert.match(gen.json<{ metadata: { name: string } }>().metadata.name, /^gen-[a-z0-9]{5}$/);
  });

  test('invalid names get 422 with the aggregate message', async () => {
    const r = await call('POST', '/api/v1/namespaces/default/configmaps', { body: cm('Bad_Name') });
    assert.equal(r.status, 422);
    const st = r.json<{ message: string; reason: string }>();
    assert.equal(st.reason, 'Invalid');
    assert.match(st.message, /^ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
  });

  test('mismatched namespace in body is a 400', async () => {
    const r = await call('POST', '/api/v1/namespaces/default/configmaps', { body: cm('x', { namespace: 'kube-system' }) });
    assert.equal(r.status, 400);
    assert.equal(r.json<{ message: string }>().message, 'the namespace of the provided object does not match the namespace sent on the request');
  });

  test('list with limit/continue pages through', async () => {
    for (const n of ['p1', 'p2', 'p3']) await call('POST', '/api/v1/namespaces/kube-public/configmaps', { body: cm(n) });
    const first = (await call('GET', '/api/v1/namespaces/kube-public/configmaps?limit=2')).json<{ kind: string; items: unknown[]; metadata: { continue?: string; remainingItemCount?: number } }>();
    assert.equal(first.kind, 'ConfigMapList');
    assert.equal(first.items.length, 2);
    assert.ok(first.metadata.continue);
    const second = (await call('GET', `/api/v1/namespaces/kube-public/configmaps?limit=2&continue=${encodeURIComponent(first.metadata.continue!)}`)).json<{ items: unknown[]; metadata: { continue?: string } }>();
    assert.equal(second.items.length, 1);
    assert.equal(second.metadata.continue, undefined);
  });

  test('Table output with column definitions and partial object metadata', async () => {
    const r = await call('GET', '/api/v1/namespaces/default/configmaps/one', { headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } });
    assert.equal(r.status, 200);
    const t = r.json<{ kind: string; apiVersion: string; columnDefinitions: { name: string }[]; rows: { cells: unknown[]; object: { kind: string } }[] }>();
    assert.equal(t.kind, 'Table');
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(t.columnDefinitions.map((c) => c.name), ['Name', 'Data', 'Age']);
    assert.equal(t.rows[0]!.cells[0], 'one');
    assert.equal(t.rows[0]!.object.kind, 'PartialObjectMetadata');
  });

  test('protobuf-only Accept is 406; protobuf then JSON gets JSON', async () => {
    const only = await call('GET', '/api/v1/namespaces', { headers: { accept: 'application/vnd.kubernetes.protobuf' } });
    assert.equal(only.status, 406);
    assert.equal(only.json<{ reason: string }>().reason, 'NotAcceptable');
    const both = await call('GET', '/api/v1/namespaces', { headers: { accept: 'application/vnd.kubernetes.protobuf,application/json' } });
    assert.equal(both.status, 200);
    assert.equal(both.json<{ kind: string }>().kind, 'NamespaceList');
  });

  test('aggregated discovery v2 when asked for', async () => {
    const r = await call('GET', '/api', { headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' } });
    assert.equal(r.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const doc = r.json<{ kind: string; items: { versions: { version: string; resources: { resource: string; scope: string; verbs: string[] }[] }[] }[] }>();
    assert.equal(doc.kind, 'APIGroupDiscoveryList');
    const res = doc.items[0]!.versions[0]!.resources.find((x) => x.resource === 'configmaps')!;
    assert.equal(res.scope, 'Namespaced');
    const legacy = (await call('GET', '/api/v1')).json<{ kind: string; resources: { name: string; shortNames?: string[] }[] }>();
    assert.equal(legacy.kind, 'APIResourceList');
    assert.deepEqual(legacy.resources.find((x) => x.name === 'configmaps')!.shortNames, ['cm']);
    assert.ok(legacy.resources.some((x) => x.name === 'namespaces/status'));
  });

  test('update with a stale resourceVersion is a 409 Conflict', async () => {
    const cur = (await call('GET', '/api/v1/namespaces/default/configmaps/one')).json<{ metadata: { resourceVersion: string } }>();
    const ok = await call('PUT', '/api/v1/namespaces/default/configmaps/one', { body: { ...cm('one'), metadata: { name: 'one', resourceVersion: cur.metadata.resourceVersion }, data: { a: '2' } } });
    assert.equal(ok.status, 200);
    const stale = await call('PUT', '/api/v1/namespaces/default/configmaps/one', { body: { ...cm('one'), metadata: { name: 'one', resourceVersion: cur.metadata.resourceVersion }, data: { a: '3' } } });
    assert.equal(stale.status, 409);
    assert.equal(
      stale.json<{ message: string }>().message,
      'Operation cannot be fulfilled on configmaps "one": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  test('finalizers keep a deleted object until they are removed', async () => {
    await call('POST', '/api/v1/namespaces/default/configmaps', { body: cm('fin', { finalizers: ['example.com/hold'] }) });
    const del = await call('DELETE', '/api/v1/namespaces/default/configmaps/fin');
    assert.equal(del.status, 200);
    const kept = (await call('GET', '/api/v1/namespaces/default/configmaps/fin')).json<{ metadata: { deletionTimestamp?: string; deletionGracePeriodSeconds?: number } }>();
    assert.ok(kept.metadata.deletionTimestamp);
    assert.equal(kept.metadata.deletionGracePeriodSeconds, 0);
    const patch = await call('PATCH', '/api/v1/namespaces/default/configmaps/fin', {
      body: { metadata: { finalizers: null } },
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    assert.equal(patch.status, 200);
    assert.equal((await call('GET', '/api/v1/namespaces/default/configmaps/fin')).status, 404);
  });

  test('delete answers a success Status; orphan propagation adds the orphan finalizer', async () => {
    await call('POST', '/api/v1/namespaces/default/configmaps', { body: cm('gone') });
    const r = await call('DELETE', '/api/v1/namespaces/default/configmaps/gone');
    const st = r.json<{ kind: string; status: string; details: { name: string; kind: string } }>();
    assert.equal(st.kind, 'Status');
    assert.equal(st.status, 'Success');
    assert.deepEqual([st.details.name, st.details.kind], ['gone', 'configmaps']);
    await call('POST', '/api/v1/namespaces/default/configmaps', { body: cm('orph') });
    const o = await call('DELETE', '/api/v1/namespaces/default/configmaps/orph?propagationPolicy=Orphan');
    assert.deepEqual(o.json<{ metadata: { finalizers: string[] } }>().metadata.finalizers, ['orphan']);
  });

  test('watch streams events; a compacted resourceVersion ends with a 410 Expired ERROR', async () => {
    const list = (await call('GET', '/api/v1/namespaces/default/configmaps')).json<{ metadata: { resourceVersion: string } }>();
    const events = call('GET', `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${list.metadata.resourceVersion}&timeoutSeconds=1`);
    await new Promise((r) => setTimeout(r, 100));
    await call('POST', '/api/v1/namespaces/default/configmaps', { body: cm('w1') });
    const body = (await events).body.trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
    assert.ok(body.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'w1'), JSON.stringify(body));

    const rev = await api.storage.currentRevision();
    await api.storage.compact(rev);
    const old = await call('GET', '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1');
    const ev = JSON.parse(old.body.trim().split('\n')[0]!) as { type: string; object: { code: number; reason: string; message: string } };
    assert.equal(ev.type, 'ERROR');
    assert.equal(ev.object.code, 410);
    assert.equal(ev.object.reason, 'Expired');
  });

  test('dryRun=All validates without writing', async () => {
    const r = await call('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', { body: cm('dry') });
    assert.equal(r.status, 201);
    assert.equal((await call('GET', '/api/v1/namespaces/default/configmaps/dry')).status, 404);
  });

  test('server-side apply conflicts name the other manager', async () => {
    const apply = (manager: string, value: string, force = false) =>
      call('PATCH', `/api/v1/namespaces/default/configmaps/ssa?fieldManager=${manager}${force ? '&force=true' : ''}`, {
        body: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  k: ${value}\n`,
        headers: { 'content-type': 'application/apply-patch+yaml' },
      });
    assert.equal((await apply('alice', 'a')).status, 201);
    const c = await apply('bob', 'b');
    assert.equal(c.status, 409);
    assert.match(c.json<{ message: string }>().message, /Apply failed with 1 conflict: conflict with "alice": \.data\.k/);
    assert.equal((await apply('bob', 'b', true)).status, 200);
  });

  test('pods: binding sets the node once; status subresource changes only status', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    assert.equal((await call('POST', '/api/v1/namespaces/default/pods', { body: pod })).status, 201);
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' } };
    const b = await call('POST', '/api/v1/namespaces/default/pods/p/binding', { body: binding });
    assert.equal(b.status, 201, b.body);
    const bound = (await call('GET', '/api/v1/namespaces/default/pods/p')).json<{ spec: { nodeName: string }; status: { conditions: { type: string; status: string }[] } }>();
    assert.equal(bound.spec.nodeName, 'node-1');
    assert.ok(bound.status.conditions.some((c) => c.type === 'PodScheduled' && c.status === 'True'));
    const again = await call('POST', '/api/v1/namespaces/default/pods/p/binding', { body: { ...binding, target: { ...binding.target, name: 'node-2' } } });
    assert.equal(again.status, 409);
    assert.equal(again.json<{ message: string }>().message, 'Operation cannot be fulfilled on pods/binding "p": pod p is already assigned to node "node-1"');

    const st = await call('PATCH', '/api/v1/namespaces/default/pods/p/status', {
      body: { status: { phase: 'Running' }, spec: { nodeName: 'elsewhere' } },
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    assert.equal(st.status, 200, st.body);
    const after = st.json<{ spec: { nodeName: string }; status: { phase: string } }>();
    assert.equal(after.status.phase, 'Running');
    assert.equal(after.spec.nodeName, 'node-1');

    // A scheduled pod is deleted gracefully: it stays, terminating, until deleted with grace 0.
    const del = await call('DELETE', '/api/v1/namespaces/default/pods/p');
    assert.equal(del.status, 200);
    const terminating = del.json<{ metadata: { deletionTimestamp?: string; deletionGracePeriodSeconds?: number } }>();
    assert.ok(terminating.metadata.deletionTimestamp);
    assert.equal(terminating.metadata.deletionGracePeriodSeconds, 30);
    assert.equal((await call('GET', '/api/v1/namespaces/default/pods/p')).status, 200);
    const force = await call('DELETE', '/api/v1/namespaces/default/pods/p', { body: { gracePeriodSeconds: 0 } });
    assert.equal(force.status, 200, force.body);
    assert.equal((await call('GET', '/api/v1/namespaces/default/pods/p')).status, 404);
  });

  test('pods get the DefaultTolerationSeconds tolerations unless they tolerate the taints already', async () => {
    const pod = (name: string, tolerations?: unknown[]) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...(tolerations ? { tolerations } : {}) },
    });
    const plain = await call('POST', '/api/v1/namespaces/default/pods', { body: pod('tol-plain') });
    assert.equal(plain.status, 201, plain.body);
    assert.deepEqual((plain.json().spec as { tolerations: unknown }).tolerations, [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
    const own = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 };
    const mine = await call('POST', '/api/v1/namespaces/default/pods', { body: pod('tol-own', [own]) });
    assert.equal(mine.status, 201, mine.body);
    assert.deepEqual((mine.json().spec as { tolerations: unknown }).tolerations, [
      own,
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
    const all = await call('POST', '/api/v1/namespaces/default/pods', { body: pod('tol-all', [{ operator: 'Exists' }]) });
    assert.deepEqual((all.json().spec as { tolerations: unknown }).tolerations, [{ operator: 'Exists' }]);
  });

  test('an update without metadata.resourceVersion writes over the latest state where the strategy allows it', async () => {
    const created = await call('POST', '/api/v1/namespaces/default/configmaps', { body: cm('unconditional') });
    assert.equal(created.status, 201, created.body);
    const put = await call('PUT', '/api/v1/namespaces/default/configmaps/unconditional', { body: { ...cm('unconditional'), data: { a: '2' } } });
    assert.equal(put.status, 200, put.body);
    const got = put.json<{ data: Record<string, string>; metadata: { resourceVersion: string } }>();
    assert.deepEqual(got.data, { a: '2' });
    assert.notEqual(got.metadata.resourceVersion, (created.json().metadata as { resourceVersion: string }).resourceVersion);
  });

  test('in-process requests go through the same handler: create, errors as Status, a watch that streams until aborted', async () => {
    const server = api.server;
    const read = async (r: ReturnType<typeof server.handleLocal>) => {
      const head = await r.head;
      const chunks: Buffer[] = [];
      for await (const c of r.body) chunks.push(c);
      return { ...head, json: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> };
    };
    const created = await read(server.handleLocal({ method: 'POST', path: '/api/v1/namespaces/default/configmaps', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cm('local')) }));
    assert.equal(created.status, 201);
    assert.equal((created.json.metadata as { name: string }).name, 'local');
    const dup = await read(server.handleLocal({ method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: JSON.stringify(cm('local')) }));
    assert.equal(dup.status, 409);
    assert.deepEqual([dup.json.kind, dup.json.reason, dup.json.message], ['Status', 'AlreadyExists', 'configmaps "local" already exists']);

    const abort = new AbortController();
    const rv = (created.json.metadata as { resourceVersion: string }).resourceVersion;
    const w = server.handleLocal({ method: 'GET', path: `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dlocal`, signal: abort.signal });
    assert.equal((await w.head).status, 200, 'headers arrive before any event');
    await read(server.handleLocal({ method: 'DELETE', path: '/api/v1/namespaces/default/configmaps/local' }));
    const it = w.body[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal((JSON.parse(first.value.toString()) as { type: string }).type, 'DELETED');
    abort.abort();
    assert.equal((await it.next()).done, true, 'the watch ends when the caller aborts');
  });

  test('unknown fields are named by their full path, list indexes included', async () => {
    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unknown-fields', bogusMeta: 1 },
      spec: { containers: [{ name: 'c', image: 'nginx' }, { name: 'd', image: 'nginx', ports: [{ containerPort: 80, bogusPort: true }] }], bogusSpec: {} },
    };
    const strict = await call('POST', '/api/v1/namespaces/default/pods?dryRun=All', { body: pod });
    assert.equal(strict.status, 400);
    assert.equal(
      strict.json<{ message: string }>().message,
      'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "metadata.bogusMeta", unknown field "spec.containers[1].ports[0].bogusPort", unknown field "spec.bogusSpec"',
    );
    const warn = await call('POST', '/api/v1/namespaces/default/pods?dryRun=All&fieldValidation=Warn', { body: pod });
    assert.equal(warn.status, 201);
    assert.ok(String(warn.headers.warning).includes('unknown field \\"spec.containers[1].ports[0].bogusPort\\"'), String(warn.headers.warning));
  });

  test('unknown paths and verbs', async () => {
    assert.equal((await call('GET', '/api/v1/nothings')).status, 404);
    assert.equal((await call('GET', '/apis/nogroup/v1')).status, 404);
  });
});

describe('protobuf request bodies', () => {
  test('a ConfigMap as kubectl create configmap sends it', () => {
    // k8s\0 + Unknown{typeMeta{v1, ConfigMap}, raw: ConfigMap{metadata{name: "x", namespace: ""}, data{a: b}}}
    const meta = Buffer.from([0x0a, 0x01, 0x78, 0x1a, 0x00]);
    const entry = Buffer.from([0x0a, 0x01, 0x61, 0x12, 0x01, 0x62]);
    const raw = Buffer.concat([Buffer.from([0x0a, meta.length]), meta, Buffer.from([0x12, entry.length]), entry]);
    const tm = Buffer.concat([Buffer.from([0x0a, 0x02]), Buffer.from('v1'), Buffer.from([0x12, 0x09]), Buffer.from('ConfigMap')]);
    const env = Buffer.concat([Buffer.from('k8s\0'), Buffer.from([0x0a, tm.length]), tm, Buffer.from([0x12, raw.length]), raw]);
    assert.deepEqual(decodeKubernetesProtobuf(env), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' } });
  });
});
