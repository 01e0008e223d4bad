/**
 * `flotilla apiserver` as its own process: certificates and admin.conf made at first start
 * and reused on restart (state survives), bearer tokens from --token-auth-file, and the
 * real-etcd backend (in-process, as --etcd-servers does) driven by the real kubectl.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { startEtcd } from '../util/etcd.js';
import { spawnFlotilla, type Spawned } from '../util/flotilla.js';
import { allResources } from '../../src/api/registry.js';
import { KUBECTL, runKubectl, spawnKubectl, startTestApiServer } from '../util/kubectl.js';
import { freePort } from '../util/net.js';
import { tempDir } from '../util/tmp.js';

const haveKubectl = existsSync(KUBECTL);
const haveEtcd = existsSync(process.env.ETCD_BIN ?? '/usr/bin/etcd');
/** The CLI serves allResources only (no test fixtures): use configmaps once src/api defines them. */
const haveConfigMaps = allResources.some((r) => r.group === '' && r.resource === 'configmaps');

async function startApiserverProcess(args: string[]): Promise<{ proc: Spawned; port: number }> {
  const port = await freePort();
  const proc = spawnFlotilla(['apiserver', '--secure-port', String(port), ...args], { FLOTILLA_LOG_LEVEL: 'warn' });
  const deadline = Date.now() + 60_000;
  while (!/apiserver: serving on/.test(proc.stdout())) {
    if (proc.proc.exitCode !== null) throw new Error(`apiserver exited ${proc.proc.exitCode}: ${proc.stderr()}`);
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`apiserver did not start: ${proc.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, port };
}

function get(port: number, path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, rejectUnauthorized: false, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => { body += d.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A kubeconfig for the same cluster that authenticates with a bearer token only (no client certificate). */
function tokenKubeconfig(adminConf: string, token: string): string {
  const conf = YAML.parse(readFileSync(adminConf, 'utf8')) as { users: { name: string; user: Record<string, string> }[] };
  conf.users = [{ name: conf.users[0]!.name, user: { token } }];
  const path = `${adminConf}.${createHash('sha256').update(token).digest('hex').slice(0, 8)}`;
  writeFileSync(path, YAML.stringify(conf), { mode: 0o600 });
  return path;
}

describe('flotilla apiserver process', { skip: !haveKubectl && 'kubectl is not installed' }, () => {
  test('PKI and admin.conf at first start, reused on restart; tokens authenticate', async (t) => {
    const dir = tempDir(t);
    const tokens = join(dir, 'tokens.csv');
    writeFileSync(tokens, 'secret-token,alice,1001,"devs,ops"\n');
    let { proc, port } = await startApiserverProcess(['--data-dir', dir, '--token-auth-file', tokens]);
    try {
      const kubeconfig = join(dir, 'admin.conf');
      const conf = readFileSync(kubeconfig, 'utf8');
      assert.match(conf, /name: kubernetes-admin@flotilla/);
      assert.match(conf, /client-certificate-data: /);
      for (const f of ['ca.crt', 'ca.key', 'apiserver.crt', 'apiserver.key', 'admin.crt', 'admin.key']) assert.ok(existsSync(join(dir, 'pki', f)), f);
      const ca = readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8');

      const version = await runKubectl(kubeconfig, ['version']);
      assert.match(version.stdout, /Server Version: v1\.32\.0-flotilla/, version.stderr);
      if (haveConfigMaps) {
        const created = await runKubectl(kubeconfig, ['create', 'configmap', 'keep', '--from-literal=a=b']);
        assert.equal(created.code, 0, created.stderr);
      }
      assert.equal((await get(port, '/apis', 'secret-token')).status, 200);
      const bad = await get(port, '/apis', 'wrong');
      assert.equal(bad.status, 401);
      assert.equal((JSON.parse(bad.body) as { reason: string }).reason, 'Unauthorized');

      await proc.kill('SIGTERM');
      ({ proc, port } = await startApiserverProcess(['--data-dir', dir, '--token-auth-file', tokens]));
      assert.equal(readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8'), ca, 'the CA is reused');
      const after = await runKubectl(kubeconfig, ['api-versions']);
      assert.equal(after.code, 0, after.stderr);
      if (haveConfigMaps) {
        const again = await runKubectl(kubeconfig, ['get', 'configmap', 'keep', '-o', 'jsonpath={.data.a}']);
        assert.equal(again.stdout, 'b', again.stderr);
      }
    } finally {
      await proc.kill();
    }
  });

  test('RBAC authorization: forbidden until a role is bound; auth can-i and whoami', async (t) => {
    const dir = tempDir(t);
    const tokens = join(dir, 'tokens.csv');
    writeFileSync(tokens, 'alice-token,alice,1001,"devs"\n');
    const api = await startTestApiServer(t, { dataDir: dir, tokenAuthFile: tokens, authorizationMode: 'RBAC' });
    const alice = (args: string[]) => runKubectl(tokenKubeconfig(api.kubeconfigPath, 'alice-token'), args);

    const denied = await alice(['get', 'pods']);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Error from server \(Forbidden\): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"/);
    assert.equal((await alice(['auth', 'can-i', 'list', 'pods'])).stdout.trim(), 'no');
    const who = await alice(['auth', 'whoami']);
    assert.match(who.stdout, /Username\s+alice/, who.stderr);
    assert.match(who.stdout, /Groups\s+\[devs system:authenticated\]/);

    await api.ok(['create', 'role', 'pod-reader', '--verb=get,list,watch', '--resource=pods']);
    await api.ok(['create', 'rolebinding', 'alice-reads', '--role=pod-reader', '--user=alice']);
    const allowed = await alice(['get', 'pods']);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal((await alice(['auth', 'can-i', 'list', 'pods'])).stdout.trim(), 'yes');
    assert.equal((await alice(['auth', 'can-i', 'delete', 'pods'])).stdout.trim(), 'no');
    assert.equal((await alice(['auth', 'can-i', 'list', 'pods', '-n', 'kube-system'])).stdout.trim(), 'no');
    assert.equal((await api.kubectl(['auth', 'can-i', 'delete', 'nodes'])).stdout.trim(), 'yes');

    // ServiceAccount tokens: issued by TokenRequest, valid while the account exists.
    await api.ok(['create', 'serviceaccount', 'robot']);
    const token = (await api.ok(['create', 'token', 'robot', '--duration=1h'])).trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const robot = (args: string[]) => runKubectl(tokenKubeconfig(api.kubeconfigPath, token), args);
    assert.match((await robot(['auth', 'whoami'])).stdout, /Username\s+system:serviceaccount:default:robot/);
    assert.match((await robot(['get', 'pods'])).stderr, /User "system:serviceaccount:default:robot" cannot list resource "pods"/);
    await api.ok(['create', 'rolebinding', 'robot-reads', '--role=pod-reader', '--serviceaccount=default:robot']);
    assert.equal((await robot(['get', 'pods'])).code, 0);
    await api.ok(['delete', 'serviceaccount', 'robot']);
    assert.match((await robot(['get', 'pods'])).stderr, /Unauthorized/);
  });

  test('on a real etcd (--etcd-servers)', { skip: !haveEtcd && 'etcd is not installed' }, async (t) => {
    const etcd = await startEtcd();
    t.after(() => etcd.stop());
    const api = await startTestApiServer(t, { etcdServers: etcd.endpoints });
    const dir = api.dataDir;
    const kubeconfig = api.kubeconfigPath;
    const k = async (args: string[]) => {
      const r = await runKubectl(kubeconfig, args);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    assert.match(await k(['get', 'ns']), /^kube-system\s+Active/m);
    await k(['create', 'ns', 'onetcd']);
    const cm = join(dir, 'cm.yaml');
    writeFileSync(cm, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: onetcd\ndata:\n  k: v\n');
    assert.equal((await k(['apply', '-f', cm])).trim(), 'configmap/c created');
    assert.equal((await k(['apply', '-f', cm])).trim(), 'configmap/c unchanged');
    const w = spawnKubectl(kubeconfig, ['get', 'cm', '-n', 'onetcd', '-w', '-o', 'name']);
    try {
      await w.waitFor(/configmap\/c\n/);
      await k(['label', 'cm', 'c', '-n', 'onetcd', 'x=y']);
      await k(['create', 'cm', 'd', '-n', 'onetcd']);
      await w.waitFor(/configmap\/d\n/);
    } finally {
      await w.kill();
    }
    assert.equal(await k(['get', 'cm', '-n', 'onetcd', '-l', 'x=y', '-o', 'name']), 'configmap/c\n');
    assert.equal((await k(['delete', 'cm', 'c', '-n', 'onetcd'])).trim(), 'configmap "c" deleted');
  });
});
