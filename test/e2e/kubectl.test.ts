/**
 * The real kubectl (v1.32) against an in-process Flotilla API server, on the embedded store
 * and on a real etcd:
 * discovery, create/apply/get/patch/label/annotate/replace/edit/diff/delete, server-side
 * apply with conflicts, watch, dry run, Table printing, authentication.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backends, startBackendApiServer } from '../util/backends.js';
import { KUBECTL, spawnKubectl, type TestApiServer } from '../util/kubectl.js';

const haveKubectl = existsSync(KUBECTL);

function httpsGet(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The same suite on the embedded store and on a real etcd 3.4 (the "both storage backends"). */
for (const backend of backends) describe(`kubectl against the flotilla apiserver (${backend.name})`, { skip: (!haveKubectl && 'kubectl is not installed') || backend.skip }, () => {
  let api: TestApiServer;
  let dir: string;
  const hooks: (() => unknown)[] = [];

  before(async () => {
    const t = { after: (fn: () => unknown) => { hooks.push(fn); } };
    api = await startBackendApiServer(t, backend);
    dir = api.dataDir;
  });
  after(async () => {
    // In registration order, as node:test runs t.after hooks: the API server, then its etcd.
    for (const h of hooks) await h();
  });

  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  test('version and api-versions', async () => {
    const v = await api.ok(['version']);
    assert.match(v, /Server Version: v1\.32\.0-flotilla/);
    const versions = await api.ok(['api-versions']);
    assert.ok(versions.split('\n').includes('v1'));
  });

  test('api-resources lists the served resources like upstream', async () => {
    const out = await api.ok(['api-resources']);
    const lines = out.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND$/);
    assert.ok(lines.some((l) => /^configmaps\s+cm\s+v1\s+true\s+ConfigMap$/.test(l)), out);
    assert.ok(lines.some((l) => /^namespaces\s+ns\s+v1\s+false\s+Namespace$/.test(l)), out);
    const wide = await api.ok(['api-resources', '-o', 'wide']);
    assert.match(wide, /configmaps\s+cm\s+v1\s+true\s+ConfigMap\s+create,delete,deletecollection,get,list,patch,update,watch/);
  });

  test('system namespaces exist; create ns (protobuf body) and get', async () => {
    const ns = await api.ok(['get', 'ns']);
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.match(ns, new RegExp(`^${n}\\s+Active`, 'm'));
    assert.equal((await api.ok(['create', 'ns', 'e2e'])).trim(), 'namespace/e2e created');
    const dup = await api.kubectl(['create', 'ns', 'e2e']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /Error from server \(AlreadyExists\): namespaces "e2e" already exists/);
  });

  test('create in a missing namespace is refused with upstream wording', async () => {
    const r = await api.kubectl(['create', 'configmap', 'x', '-n', 'nope']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /namespaces "nope" not found/);
  });

  test('create -f, apply (unchanged, configured), get in every output', async () => {
    const cm = file('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: e2e\n  labels: {app: web}\ndata:\n  a: "1"\n');
    assert.equal((await api.ok(['create', '-f', cm])).trim(), 'configmap/web created');
    await api.ok(['delete', '-f', cm]);
    assert.equal((await api.ok(['apply', '-f', cm])).trim(), 'configmap/web created');
    assert.equal((await api.ok(['apply', '-f', cm])).trim(), 'configmap/web unchanged');
    const cm2 = file('cm2.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: e2e\n  labels: {app: web}\ndata:\n  a: "2"\n');
    assert.equal((await api.ok(['apply', '-f', cm2])).trim(), 'configmap/web configured');

    const table = await api.ok(['get', 'cm', '-n', 'e2e']);
    assert.match(table, /^NAME\s+DATA\s+AGE\n/);
    assert.match(table, /^web\s+1\s+\d+s\n/m);
    const obj = JSON.parse(await api.ok(['get', 'cm', 'web', '-n', 'e2e', '-o', 'json'])) as { data: Record<string, string>; metadata: Record<string, unknown> };
    assert.deepEqual(obj.data, { a: '2' });
    assert.ok(obj.metadata.uid && obj.metadata.resourceVersion && obj.metadata.creationTimestamp);
    assert.match(await api.ok(['get', 'cm', 'web', '-n', 'e2e', '-o', 'yaml']), /^ {2}a: "2"$/m);
    assert.equal(await api.ok(['get', 'cm', '-n', 'e2e', '-o', 'name']), 'configmap/web\n');
    assert.equal(await api.ok(['get', 'cm', 'web', '-n', 'e2e', '-o', 'jsonpath={.data.a}']), '2');
    assert.match(await api.ok(['get', 'cm', '-n', 'e2e', '-o', 'custom-columns=N:.metadata.name,A:.data.a']), /^N\s+A\nweb\s+2\n$/);
    assert.match(await api.ok(['get', 'cm', '-n', 'e2e', '-o', 'wide', '--show-labels']), /^web\s+1\s+\S+\s+app=web$/m);
    assert.match(await api.ok(['get', 'cm', '-A']), /^e2e\s+web\s+1/m);
    const managed = JSON.parse(await api.ok(['get', 'cm', 'web', '-n', 'e2e', '-o', 'json', '--show-managed-fields'])) as { metadata: { managedFields?: { manager: string }[] } };
    assert.ok(managed.metadata.managedFields?.some((m) => m.manager === 'kubectl-client-side-apply'), JSON.stringify(managed.metadata.managedFields));
  });

  test('label and field selectors', async () => {
    assert.equal(await api.ok(['get', 'cm', '-n', 'e2e', '-l', 'app=web', '-o', 'name']), 'configmap/web\n');
    assert.equal(await api.ok(['get', 'cm', '-n', 'e2e', '-l', 'app!=web', '-o', 'name']), '');
    assert.equal(await api.ok(['get', 'cm', '-n', 'e2e', '--field-selector', 'metadata.name=web', '-o', 'name']), 'configmap/web\n');
    const bad = await api.kubectl(['get', 'cm', '-n', 'e2e', '--field-selector', 'spec.foo=x']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /field label not supported: spec\.foo/);
  });

  test('label, annotate, patch (strategic, merge, json)', async () => {
    assert.equal((await api.ok(['label', 'cm', 'web', '-n', 'e2e', 'tier=front'])).trim(), 'configmap/web labeled');
    assert.equal((await api.ok(['annotate', 'cm', 'web', '-n', 'e2e', 'note=hi'])).trim(), 'configmap/web annotated');
    assert.equal((await api.ok(['patch', 'cm', 'web', '-n', 'e2e', '-p', '{"data":{"b":"3"}}'])).trim(), 'configmap/web patched');
    await api.ok(['patch', 'cm', 'web', '-n', 'e2e', '--type=merge', '-p', '{"data":{"c":"4"}}']);
    await api.ok(['patch', 'cm', 'web', '-n', 'e2e', '--type=json', '-p', '[{"op":"remove","path":"/data/c"}]']);
    const obj = JSON.parse(await api.ok(['get', 'cm', 'web', '-n', 'e2e', '-o', 'json'])) as { data: unknown; metadata: { labels: unknown; annotations: Record<string, string> } };
    assert.deepEqual(obj.data, { a: '2', b: '3' });
    assert.deepEqual(obj.metadata.labels, { app: 'web', tier: 'front' });
    assert.equal(obj.metadata.annotations.note, 'hi');
    const bad = await api.kubectl(['patch', 'cm', 'web', '-n', 'e2e', '--type=json', '-p', '[{"op":"test","path":"/data/a","value":"nope"}]']);
    assert.notEqual(bad.code, 0);
  });

  test('replace -f and a stale replace conflicts', async () => {
    const cur = JSON.parse(await api.ok(['get', 'cm', 'web', '-n', 'e2e', '-o', 'json'])) as { data: Record<string, string>; metadata: { resourceVersion: string } };
    cur.data = { z: '26' };
    const p = file('replace.json', JSON.stringify(cur));
    assert.equal((await api.ok(['replace', '-f', p])).trim(), 'configmap/web replaced');
    const stale = await api.kubectl(['replace', '-f', p]);
    assert.notEqual(stale.code, 0);
    assert.match(
      stale.stderr,
      /Operation cannot be fulfilled on configmaps "web": the object has been modified; please apply your changes to the latest version and try again/,
    );
  });

  test('edit with a scripted editor', async () => {
    const out = await api.ok(['edit', 'cm', 'web', '-n', 'e2e'], { env: { KUBE_EDITOR: `sed -i -e 's/z: "26"/z: "27"/'` } });
    assert.match(out, /configmap\/web edited/);
    assert.equal(await api.ok(['get', 'cm', 'web', '-n', 'e2e', '-o', 'jsonpath={.data.z}']), '27');
  });

  test('diff shows the change and exits 1', async () => {
    const p = file('diff.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: e2e\ndata:\n  z: "99"\n');
    const r = await api.kubectl(['diff', '-f', p]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^\+ {2}z: "99"$/m);
  });

  test('server-side apply: create, conflict, --force-conflicts', async () => {
    const p = file('ssa.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: e2e\ndata:\n  k: one\n');
    assert.equal((await api.ok(['apply', '--server-side', '-f', p])).trim(), 'configmap/ssa serverside-applied');
    const p2 = file('ssa2.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: e2e\ndata:\n  k: two\n');
    const conflict = await api.kubectl(['apply', '--server-side', '--field-manager', 'other', '-f', p2]);
    assert.notEqual(conflict.code, 0);
    assert.match(conflict.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.data\.k/);
    await api.ok(['apply', '--server-side', '--field-manager', 'other', '--force-conflicts', '-f', p2]);
    assert.equal(await api.ok(['get', 'cm', 'ssa', '-n', 'e2e', '-o', 'jsonpath={.data.k}']), 'two');
  });

  test('unknown fields: strict by default, warnings with --validate=warn', async () => {
    const p = file('unknown.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unk\n  namespace: e2e\ndata:\n  a: b\nbogus: 1\n');
    const strict = await api.kubectl(['create', '-f', p]);
    assert.notEqual(strict.code, 0);
    assert.match(strict.stderr, /ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "bogus"/);
    const ssa = await api.kubectl(['apply', '--server-side', '-f', p]);
    assert.match(ssa.stderr, /failed to create typed patch object \(e2e\/unk; \/v1, Kind=ConfigMap\): \.bogus: field not declared in schema/);
    const warn = await api.kubectl(['create', '-f', p, '--validate=warn']);
    assert.equal(warn.code, 0, warn.stderr);
    assert.match(warn.stderr, /Warning: unknown field "bogus"/);
    await api.ok(['delete', 'cm', 'unk', '-n', 'e2e']);
  });

  test('dry run on the server changes nothing', async () => {
    assert.match(await api.ok(['create', 'cm', 'dry', '-n', 'e2e', '--from-literal=a=b', '--dry-run=server']), /configmap\/dry created \(server dry run\)/);
    const r = await api.kubectl(['get', 'cm', 'dry', '-n', 'e2e']);
    assert.match(r.stderr, /configmaps "dry" not found/);
    await api.ok(['label', 'cm', 'web', '-n', 'e2e', 'dry=run', '--dry-run=server']);
    assert.equal(await api.ok(['get', 'cm', 'web', '-n', 'e2e', '-o', 'jsonpath={.metadata.labels.dry}']), '');
  });

  test('get -w prints changes as they happen', async () => {
    const w = spawnKubectl(api.kubeconfigPath, ['get', 'cm', '-n', 'e2e', '-w']);
    try {
      await w.waitFor(/^web\s/m);
      await api.ok(['create', 'cm', 'watched', '-n', 'e2e']);
      await w.waitFor(/^watched\s+0\s/m);
    } finally {
      await w.kill();
    }
  });

  test('run --dry-run=client -o yaml piped into apply -f -, then describe as on a real cluster', async () => {
    const manifest = await api.ok(['run', 'nginx', '--image', 'nginx', '-n', 'e2e', '--dry-run=client', '-o', 'yaml']);
    assert.match(manifest, /^kind: Pod$/m);
    assert.equal((await api.ok(['apply', '-f', '-'], { input: manifest })).trim(), 'pod/nginx created');
    // kubectl's own patch for `creationTimestamp: null` is never empty, so a real cluster says
    // "configured" here too (kubernetes/kubernetes#66450); the object itself is unchanged.
    const before = JSON.parse(await api.ok(['get', 'pod', 'nginx', '-n', 'e2e', '-o', 'json'])) as { metadata: { resourceVersion: string } };
    assert.equal((await api.ok(['apply', '-f', '-'], { input: manifest })).trim(), 'pod/nginx configured');
    const again = JSON.parse(await api.ok(['get', 'pod', 'nginx', '-n', 'e2e', '-o', 'json'])) as { metadata: { resourceVersion: string } };
    assert.equal(again.metadata.resourceVersion, before.metadata.resourceVersion, 'a no-op patch writes nothing');
    const d = await api.ok(['describe', 'pod', 'nginx', '-n', 'e2e']);
    for (const re of [
      /^Name:\s+nginx$/m,
      /^Namespace:\s+e2e$/m,
      /^Labels:\s+run=nginx$/m,
      /^Status:\s+Pending$/m,
      /^Containers:\n {2}nginx:\n {4}Image:\s+nginx$/m,
      /^QoS Class:\s+BestEffort$/m,
      /^Tolerations:\s+node.kubernetes.io\/not-ready:NoExecute op=Exists for 300s\n\s+node.kubernetes.io\/unreachable:NoExecute op=Exists for 300s$/m,
      /^Events:\s+<none>$/m,
    ]) assert.match(d, re);
    assert.match(await api.ok(['describe', 'ns', 'e2e']), /^Status:\s+Active$/m);
    const svc = await api.ok(['describe', 'svc', 'kubernetes', '-n', 'default']);
    assert.match(svc, /^Type:\s+ClusterIP$/m);
    assert.match(svc, /^IP:\s+10\.96\.0\.1$/m);
    assert.match(svc, /^Port:\s+https\s+443\/TCP$/m);
    await api.ok(['delete', 'pod', 'nginx', '-n', 'e2e', '--grace-period=0', '--force']);
  });

  test('delete, and NotFound afterwards', async () => {
    assert.equal((await api.ok(['delete', 'cm', 'watched', '-n', 'e2e'])).trim(), 'configmap "watched" deleted');
    const r = await api.kubectl(['get', 'cm', 'watched', '-n', 'e2e']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(NotFound\): configmaps "watched" not found/);
    assert.match(await api.ok(['delete', 'cm', '-n', 'e2e', '-l', 'app=web']), /configmap "web" deleted/);
  });

  test('unauthenticated requests get 401 with a Status; health and version are public', async () => {
    const r = await httpsGet(api.port, '/api/v1/namespaces');
    assert.equal(r.status, 401);
    assert.deepEqual(JSON.parse(r.body), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    assert.equal((await httpsGet(api.port, '/healthz')).body, 'ok');
    const ready = await httpsGet(api.port, '/readyz?verbose');
    assert.equal(ready.status, 200);
    assert.match(ready.body, /^\[\+\]etcd ok$/m);
    assert.match(ready.body, /readyz check passed/);
    assert.equal((JSON.parse((await httpsGet(api.port, '/version')).body) as { gitVersion: string }).gitVersion, 'v1.32.0-flotilla');
  });

  test('metrics count requests', async () => {
    const m = await api.ok(['get', '--raw', '/metrics']);
    assert.match(m, /apiserver_request_total\{verb="LIST",group="",version="v1",resource="configmaps",subresource="",code="200"\} \d+/);
    assert.match(m, /apiserver_request_duration_seconds_bucket/);
  });
});
