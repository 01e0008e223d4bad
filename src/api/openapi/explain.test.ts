/**
 * The real kubectl reads our OpenAPI documents: a tiny HTTP server started here serves
 * /openapi/v3 (+ group documents), /openapi/v2 and the legacy discovery kubectl needs to
 * map "replicaset" to apps/v1, and `kubectl explain` must print upstream's layout and
 * descriptions.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../../../test/util/tmp.js';
import type { ResourceDef } from '../types.js';
import {
  OPENAPI_V2_PROTOBUF_ACCEPT,
  OPENAPI_V2_PROTOBUF_CONTENT_TYPE,
  openAPIV2DocumentJSON,
  openAPIV2DocumentProtobuf,
  openAPIV3Discovery,
  openAPIV3GroupDocumentJSON,
} from './index.js';
import { testResources } from './testdata.js';

const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

/** Legacy (non-aggregated) discovery documents of `resources`, by URL path. */
function discovery(resources: readonly ResourceDef[], serverAddress: string): Map<string, unknown> {
  const docs = new Map<string, unknown>();
  const byGV = new Map<string, ResourceDef[]>();
  for (const r of resources) {
    const gv = r.group === '' ? r.version : `${r.group}/${r.version}`;
    byGV.set(gv, [...(byGV.get(gv) ?? []), r]);
  }
  docs.set('/api', {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  });
  const groups = new Map<string, string[]>();
  for (const gv of byGV.keys()) {
    if (!gv.includes('/')) continue;
    const [g, v] = gv.split('/');
    groups.set(g, [...(groups.get(g) ?? []), v]);
  }
  docs.set('/apis', {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, versions]) => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    })),
  });
  for (const [gv, rs] of byGV) {
    const apiResources = rs.flatMap((r) => [
      {
        name: r.resource,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.verbs,
        ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      },
      ...(r.status ? [{ name: `${r.resource}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] }] : []),
    ]);
    docs.set(gv.includes('/') ? `/apis/${gv}` : `/api/${gv}`, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources: apiResources });
  }
  return docs;
}

let server: Server;
let base = '';
const requests: string[] = [];
let cacheDir = '';

before(async () => {
  const resources = testResources();
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push(url.pathname);
    const send = (body: string, status = 200, etag?: string) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...(etag ? { ETag: `"${etag}"` } : {}) });
      res.end(body);
    };
    if (url.pathname === '/openapi/v3') return send(JSON.stringify(openAPIV3Discovery(resources)));
    if (url.pathname.startsWith('/openapi/v3/')) {
      const doc = openAPIV3GroupDocumentJSON(url.pathname, resources);
      if (doc) return send(doc.json, 200, doc.hash);
    }
    if (url.pathname === '/openapi/v2' && OPENAPI_V2_PROTOBUF_ACCEPT.some((t) => (req.headers.accept ?? '').includes(t))) {
      const doc = openAPIV2DocumentProtobuf(resources);
      res.writeHead(200, { 'Content-Type': OPENAPI_V2_PROTOBUF_CONTENT_TYPE, ETag: `"${doc.hash}"` });
      return res.end(doc.bytes);
    }
    if (url.pathname === '/openapi/v2') {
      const doc = openAPIV2DocumentJSON(resources);
      return send(doc.json, 200, doc.hash);
    }
    const d = discovery(resources, base.replace('http://', '')).get(url.pathname.replace(/\/$/, ''));
    if (d) return send(JSON.stringify(d));
    send(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource' }), 404);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cacheDir = tempDir({ after }, 'flotilla-openapi-');
});

after(() => {
  server.closeAllConnections();
  server.close();
});

function kubectl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(KUBECTL, ['--server', base, '--cache-dir', join(cacheDir, 'cache'), ...args], {
      env: { ...process.env, KUBECONFIG: join(cacheDir, 'no-kubeconfig'), HOME: cacheDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const skip = existsSync(KUBECTL) ? false : `no kubectl at ${KUBECTL}`;

// What `kubectl explain deployment.spec.strategy` prints against a v1.32 cluster.
const STRATEGY = `GROUP:      apps
KIND:       Deployment
VERSION:    v1

FIELD: strategy <DeploymentStrategy>


DESCRIPTION:
    The deployment strategy to use to replace existing pods with new ones.
    DeploymentStrategy describes how to replace existing pods with new ones.
    
FIELDS:
  rollingUpdate	<RollingUpdateDeployment>
    Rolling update config params. Present only if DeploymentStrategyType =
    RollingUpdate.

  type	<string>
  enum: Recreate, RollingUpdate
    Type of deployment. Can be "Recreate" or "RollingUpdate". Default is
    RollingUpdate.
    
    Possible enum values:
     - \`"Recreate"\` Kill all existing pods before creating new ones.
     - \`"RollingUpdate"\` Replace the old ReplicaSets by new one using rolling
    update i.e gradually scale down the old ReplicaSets and scale up the new
    one.


`;

test('kubectl explain replicaset: kind, version, description and fields from /openapi/v3', { skip }, async () => {
  requests.length = 0;
  const r = await kubectl(['explain', 'replicaset']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(
    r.stdout.startsWith(
      'GROUP:      apps\nKIND:       ReplicaSet\nVERSION:    v1\n\nDESCRIPTION:\n' +
        '    ReplicaSet ensures that a specified number of pod replicas are running at\n    any given time.\n    \nFIELDS:\n',
    ),
    r.stdout,
  );
  for (const field of ['apiVersion\t<string>', 'kind\t<string>', 'metadata\t<ObjectMeta>', 'spec\t<ReplicaSetSpec>', 'status\t<ReplicaSetStatus>']) {
    assert.ok(r.stdout.includes(`\n  ${field}\n`), `missing field line ${JSON.stringify(field)} in\n${r.stdout}`);
  }
  assert.match(r.stdout, /\n {2}spec\t<ReplicaSetSpec>\n {4}Spec defines the specification of the desired behavior of the ReplicaSet\.\n/);
  assert.ok(requests.includes('/openapi/v3/apis/apps/v1'), `kubectl did not read the v3 group document: ${requests.join(' ')}`);
});

test('kubectl explain deployment.spec.strategy prints upstream text', { skip }, async () => {
  const r = await kubectl(['explain', 'deployment.spec.strategy']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, STRATEGY);
});

test('kubectl explain marks required fields and follows refs into core/v1', { skip }, async () => {
  const r = await kubectl(['explain', 'rs.spec']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\n {2}selector\t<LabelSelector> -required-\n {4}Selector is a label query over pods/);
  const ports = await kubectl(['explain', 'pods.spec.containers.ports.protocol']);
  assert.equal(ports.code, 0, ports.stderr);
  assert.match(ports.stdout, /FIELD: protocol <string>\nENUM:\n {4}SCTP\n {4}TCP\n {4}UDP\n/);
});

test('kubectl explain names IntOrString and Quantity, and shows Time as a string', { skip }, async () => {
  const cases: [string, string][] = [
    ['deployment.spec.strategy.rollingUpdate.maxSurge', 'FIELD: maxSurge <IntOrString>'],
    ['pods.spec.containers.resources.limits', 'FIELD: limits <map[string]Quantity>'],
    ['pods.metadata.creationTimestamp', 'FIELD: creationTimestamp <string>'],
    ['pods.metadata.ownerReferences', 'FIELD: ownerReferences <[]OwnerReference>'],
  ];
  for (const [path, want] of cases) {
    const r = await kubectl(['explain', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`\n${want}\n`), `${path}:\n${r.stdout}`);
  }
});

test('kubectl explain reads the protobuf /openapi/v2 too', { skip }, async () => {
  requests.length = 0;
  const r = await kubectl(['explain', 'deployment.spec.strategy', '--output=plaintext-openapiv2']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(requests.includes('/openapi/v2'), requests.join(' '));
  assert.ok(
    r.stdout.startsWith(
      'KIND:     Deployment\nVERSION:  apps/v1\n\nRESOURCE: strategy <Object>\n\nDESCRIPTION:\n' +
        '     The deployment strategy to use to replace existing pods with new ones.\n\n' +
        '     DeploymentStrategy describes how to replace existing pods with new ones.\n\nFIELDS:\n' +
        '   rollingUpdate\t<Object>\n',
    ),
    r.stdout,
  );
  assert.match(r.stdout, /\n {3}type\t<string>\n {5}Type of deployment\./);
});
