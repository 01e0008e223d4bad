import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../../test/util/tmp.js';
import { hostsToml, parseRegistryMirrors, writeRegistryHosts } from './registry.js';

const cases: Array<{ name: string; host: string; mirrors: Parameters<typeof hostsToml>[1]; want: string }> = [
  {
    name: 'docker.io through a local plain-HTTP registry',
    host: 'docker.io',
    mirrors: 'http://127.0.0.1:5000',
    want: 'server = "https://registry-1.docker.io"\n\n[host."http://127.0.0.1:5000"]\n  capabilities = ["pull", "resolve"]\n',
  },
  {
    name: 'two mirrors in order, TLS options, trailing slash dropped',
    host: 'quay.io',
    mirrors: ['https://m1.example.com/', { url: 'https://m2.example.com', capabilities: ['pull'], skipVerify: true, ca: '/etc/ca.pem' }],
    want: [
      'server = "https://quay.io"',
      '',
      '[host."https://m1.example.com"]',
      '  capabilities = ["pull", "resolve"]',
      '',
      '[host."https://m2.example.com"]',
      '  capabilities = ["pull"]',
      '  skip_verify = true',
      '  ca = "/etc/ca.pem"',
      '',
    ].join('\n'),
  },
  {
    name: '_default applies to every registry and has no server',
    host: '_default',
    mirrors: 'http://localhost:5000',
    want: '[host."http://localhost:5000"]\n  capabilities = ["pull", "resolve"]\n',
  },
];

for (const tc of cases) {
  test(`registry hosts.toml: ${tc.name}`, () => {
    assert.equal(hostsToml(tc.host, tc.mirrors), tc.want);
  });
}

test('registry hosts.toml: bad hosts and URLs are refused', () => {
  assert.throws(() => hostsToml('../etc', 'http://x'), /invalid registry host/);
  assert.throws(() => hostsToml('docker.io', 'ftp://x'), /want http:\/\/ or https:\/\//);
  assert.throws(() => hostsToml('docker.io', '127.0.0.1:5000'), /invalid mirror/);
});

test('writeRegistryHosts writes certs.d/<host>/hosts.toml', async (t) => {
  const dir = tempDir(t);
  const files = await writeRegistryHosts(join(dir, 'certs.d'), { 'docker.io': 'http://127.0.0.1:5000', 'localhost:5001': 'http://127.0.0.1:5001' });
  assert.deepEqual(files, [join(dir, 'certs.d/docker.io/hosts.toml'), join(dir, 'certs.d/localhost:5001/hosts.toml')]);
  assert.equal(readFileSync(files[0]!, 'utf8'), cases[0]!.want);
  assert.match(readFileSync(files[1]!, 'utf8'), /^server = "https:\/\/localhost:5001"\n/);
});

test('parseRegistryMirrors reads REGISTRY=URL flags', () => {
  assert.deepEqual(parseRegistryMirrors(['docker.io=http://127.0.0.1:5000', 'docker.io=https://m.example.com', 'quay.io=http://q']), {
    'docker.io': ['http://127.0.0.1:5000', 'https://m.example.com'],
    'quay.io': ['http://q'],
  });
  assert.throws(() => parseRegistryMirrors(['docker.io']), /want REGISTRY=URL/);
  assert.throws(() => parseRegistryMirrors(['docker.io=localhost']), /invalid mirror/);
});
