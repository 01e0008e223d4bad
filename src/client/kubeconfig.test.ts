import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKubeconfig } from './kubeconfig.js';

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'flotilla-kubeconfig-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('inline data, files relative to the kubeconfig, tokens and contexts', async (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'ca.crt'), 'CA-FROM-FILE');
  writeFileSync(join(d, 'client.crt'), 'CERT-FROM-FILE');
  writeFileSync(join(d, 'client.key'), 'KEY-FROM-FILE');
  writeFileSync(join(d, 'token'), 'tok-from-file\n');
  const path = join(d, 'config');
  writeFileSync(path, `apiVersion: v1
kind: Config
current-context: inline
clusters:
- name: c1
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: ${b64('CA-INLINE')}
- name: c2
  cluster:
    server: https://10.0.0.2:6443
    certificate-authority: ca.crt
- name: c3
  cluster:
    server: https://10.0.0.3:6443
    insecure-skip-tls-verify: true
contexts:
- name: inline
  context: { cluster: c1, user: u1 }
- name: files
  context: { cluster: c2, user: u2 }
- name: tokens
  context: { cluster: c3, user: u3 }
- name: tokenfile
  context: { cluster: c3, user: u4 }
- name: broken
  context: { cluster: nope, user: u1 }
users:
- name: u1
  user:
    client-certificate-data: ${b64('CERT-INLINE')}
    client-key-data: ${b64('KEY-INLINE')}
- name: u2
  user:
    client-certificate: client.crt
    client-key: ${join(d, 'client.key')}
- name: u3
  user:
    token: tok-inline
- name: u4
  user:
    tokenFile: token
`);
  const cases = [
    { context: undefined, want: { server: 'https://10.0.0.1:6443', ca: 'CA-INLINE', cert: 'CERT-INLINE', key: 'KEY-INLINE' } },
    { context: 'files', want: { server: 'https://10.0.0.2:6443', ca: 'CA-FROM-FILE', cert: 'CERT-FROM-FILE', key: 'KEY-FROM-FILE' } },
    { context: 'tokens', want: { server: 'https://10.0.0.3:6443', token: 'tok-inline', insecureSkipTLSVerify: true } },
    { context: 'tokenfile', want: { server: 'https://10.0.0.3:6443', token: 'tok-from-file', insecureSkipTLSVerify: true } },
  ];
  for (const tc of cases) {
    const k = await loadKubeconfig(path, { context: tc.context });
    const got: Record<string, unknown> = { server: k.server };
    if (k.ca) got.ca = k.ca.toString();
    if (k.cert) got.cert = k.cert.toString();
    if (k.key) got.key = k.key.toString();
    if (k.token) got.token = k.token;
    if (k.insecureSkipTLSVerify) got.insecureSkipTLSVerify = true;
    assert.deepEqual(got, tc.want, tc.context ?? 'current-context');
  }
  await assert.rejects(loadKubeconfig(path, { context: 'missing' }), /context was not found for specified context: missing/);
  await assert.rejects(loadKubeconfig(path, { context: 'broken' }), /cluster/);
});
