/**
 * The real kubectl on paths that once failed: `kubectl replace -f` of a Service manifest
 * without its allocated values; deleting a namespace Kubernetes keeps (it went, with all of
 * kube-system's pods).
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { allResources } from '../../src/api/registry.js';
import { KUBECTL, startTestApiServer, type TestApiServer } from '../util/kubectl.js';

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
});
