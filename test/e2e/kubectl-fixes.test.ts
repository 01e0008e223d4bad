/**
 * The real kubectl on paths that once failed: `kubectl replace -f` of a Service manifest
 * without its allocated values; deleting a namespace Kubernetes keeps (it went, with all of
 * kube-system's pods); values of the wrong type (they were stored as sent: `replicas: "3"`); /openapi/v2 in protobuf,
 * which kubectl reads for a kind missing from v3 (it was refused with 406).
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { allResources } from '../../src/api/registry.js';
import { KUBECTL, spawnKubectl, startTestApiServer, type TestApiServer } from '../util/kubectl.js';

const has = (group: string, resource: string) => allResources.some((r) => r.group === group && r.resource === resource);
const skip = !existsSync(KUBECTL) ? 'kubectl is not installed' : false;

describe('kubectl fixes', { skip }, () => {
  let api: TestApiServer;
  const hooks: (() => unknown)[] = [];
  before(async () => {
    api = await startTestApiServer({ after: (fn) => { hooks.push(fn); } });
  });
  after(async () => {
    for (const h of hooks.reverse()) await h();
  });

  test('replace -f of a NodePort Service without clusterIP or nodePort keeps both', { skip: !has('', 'services') && 'services are not defined yet' }, async () => {
    const file = join(api.dataDir, 'svc.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Service',
        'metadata:',
        '  name: x',
        'spec:',
        '  type: NodePort',
        '  selector:',
        '    app: x',
        '  ports:',
        '  - port: 80',
        '    targetPort: 8080',
        '',
      ].join('\n'),
    );
    assert.equal((await api.ok(['create', '-f', file])).trim(), 'service/x created');
    type Svc = { spec: { clusterIP: string; clusterIPs: string[]; ports: { nodePort: number }[] } };
    const created = JSON.parse(await api.ok(['get', 'svc', 'x', '-o', 'json'])) as Svc;
    assert.match(created.spec.clusterIP, /^10\.\d+\.\d+\.\d+$/);
    assert.ok(created.spec.ports[0]!.nodePort > 0);

    assert.equal((await api.ok(['replace', '-f', file])).trim(), 'service/x replaced');
    const replaced = JSON.parse(await api.ok(['get', 'svc', 'x', '-o', 'json'])) as Svc;
    assert.equal(replaced.spec.clusterIP, created.spec.clusterIP);
    assert.deepEqual(replaced.spec.clusterIPs, created.spec.clusterIPs);
    assert.equal(replaced.spec.ports[0]!.nodePort, created.spec.ports[0]!.nodePort);
  });

  test('default, kube-system and kube-public may not be deleted; kube-node-lease and others may', async () => {
    for (const ns of ['default', 'kube-system', 'kube-public']) {
      for (const extra of [[], ['--dry-run=server']]) {
        const r = await api.kubectl(['delete', 'namespace', ns, ...extra]);
        assert.equal(r.code, 1, `delete ${ns} ${extra.join(' ')}: ${r.stdout}`);
        assert.equal(r.stderr.trim(), `Error from server (Forbidden): namespaces "${ns}" is forbidden: this namespace may not be deleted`);
      }
      assert.match(await api.ok(['get', 'namespace', ns, '-o', 'jsonpath={.status.phase}']), /^Active$/);
    }
    await api.ok(['create', 'namespace', 'scratch']);
    assert.match(await api.ok(['delete', 'namespace', 'scratch', '--wait=false']), /namespace "scratch" deleted/);
    assert.match(await api.ok(['delete', 'namespace', 'kube-node-lease', '--dry-run=server']), /namespace "kube-node-lease" deleted \(server dry run\)/);
  });

  test('a value of the wrong type or a bad quantity is refused as Go decoding refuses it, and nothing is stored', async () => {
    const cases: [string, string, string][] = [
      ['deploy', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: typed\nspec:\n  replicas: "3"\n  selector:\n    matchLabels: {app: t}\n  template:\n    metadata:\n      labels: {app: t}\n    spec:\n      containers:\n      - {name: c, image: nginx}\n',
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32'],
      ['pod', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: typed\nspec:\n  containers:\n    name: c\n    image: nginx\n',
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container'],
      ['pod', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: typed\nspec:\n  containers:\n  - name: c\n    image: nginx\n    resources:\n      limits:\n        cpu: abc\n',
        "Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"],
    ];
    for (const [kind, yaml, message] of cases) {
      const file = join(api.dataDir, 'typed.yaml');
      writeFileSync(file, yaml);
      const r = await api.kubectl(['create', '-f', file]);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.stderr.trim(), `Error from server (BadRequest): error when creating "${file}": ${message}`);
      const get = await api.kubectl(['get', kind, 'typed']);
      assert.match(get.stderr, /NotFound/);
    }
    // A patch that would store a wrongly typed value is refused too, and the object is unchanged.
    await api.ok(['create', 'deployment', 'typed', '--image=nginx', '--replicas=2']);
    const p = await api.kubectl(['patch', 'deployment', 'typed', '-p', '{"spec":{"replicas":"3"}}']);
    assert.equal(p.code, 1);
    assert.match(p.stderr, /json: cannot unmarshal string into Go struct field DeploymentSpec\.spec\.replicas of type int32/);
    assert.equal(await api.ok(['get', 'deployment', 'typed', '-o', 'jsonpath={.spec.replicas}']), '2');
  });

  test('/openapi/v2 answers kubectl in protobuf (it was refused with 406)', async () => {
    // kubectl's v2 client asks for protobuf only: explain's v2 output and apply's validation
    // of a kind missing from /openapi/v3 read it.
    const explained = await api.ok(['explain', 'pods.spec.restartPolicy', '--output=plaintext-openapiv2']);
    assert.match(explained, /FIELD:\s+restartPolicy/);
  });

  test('a deleted kubernetes Service comes back, as the bootstrap controller keeps it', async () => {
    const before = await api.ok(['get', 'svc', 'kubernetes', '-o', 'jsonpath={.metadata.uid}']);
    assert.match(await api.ok(['delete', 'svc', 'kubernetes']), /service "kubernetes" deleted/);
    const end = Date.now() + 60_000;
    let after = '';
    while (Date.now() < end) {
      const r = await api.kubectl(['get', 'svc', 'kubernetes', '-o', 'jsonpath={.metadata.uid} {.spec.clusterIP}']);
      if (r.code === 0) { after = r.stdout; break; }
      await new Promise((res) => setTimeout(res, 500));
    }
    const [uid, ip] = after.split(' ');
    assert.ok(uid && uid !== before, `recreated: ${after}`);
    assert.equal(ip, '10.96.0.1');
  });

  test('curl through kubectl proxy gets indented JSON as from upstream; ?pretty decides when given', async () => {
    const proxy = spawnKubectl(api.kubeconfigPath, ['proxy', '--port=0']);
    hooks.push(() => proxy.kill());
    await proxy.waitFor(/Starting to serve on 127\.0\.0\.1:(\d+)/);
    const port = /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(proxy.stdout())![1];
    const get = async (path: string, ua: string) => (await fetch(`http://127.0.0.1:${port}${path}`, { headers: { 'user-agent': ua } })).text();
    const curl = await get('/api/v1/namespaces/default/services/kubernetes', 'curl/7.88.1');
    assert.match(curl, /^\{\n  "apiVersion": "v1",\n  "kind": "Service",\n  "metadata": \{\n    "name": "kubernetes",\n/);
    assert.match(await get('/api/v1/namespaces/default/services/nope', 'curl/7.88.1'), /^\{\n  "kind": "Status",\n  "apiVersion": "v1",\n/);
    assert.doesNotMatch(await get('/api/v1/namespaces/default/services/kubernetes', 'my-client/1.0'), /\n/);
    assert.doesNotMatch(await get('/api/v1/namespaces/default/services/kubernetes?pretty=false', 'curl/7.88.1'), /\n/);
    assert.match(await api.ok(['get', '--raw', '/api/v1/namespaces/default/services/kubernetes?pretty=true']), /^\{\n  "apiVersion": "v1",\n  "kind": "Service"/);
  });
});
