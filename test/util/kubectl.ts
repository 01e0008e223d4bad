/**
 * Runs the real kubectl (/usr/bin/kubectl, or $KUBECTL) against a Flotilla API server, and
 * starts one in-process on a temp data dir for e2e tests.
 *
 *   const api = await startTestApiServer(t);
 *   const r = await api.kubectl(['get', 'ns']);   // { code, stdout, stderr }
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startApiServer, type RunningApiServer, type StartApiServerOptions } from '../../src/apiserver/index.js';
import { allResources } from '../../src/api/registry.js';
import type { ResourceDef } from '../../src/api/types.js';
import { nameColumn, ageColumn, column, objectName, objectAge } from '../../src/api/printers.js';
import { tempDir } from './tmp.js';

export const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs kubectl to completion (bounded by timeoutMs, default 30 s). */
export function runKubectl(
  kubeconfig: string,
  args: string[],
  opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(KUBECTL, ['--kubeconfig', kubeconfig, ...args], {
      env: { ...process.env, KUBECONFIG: kubeconfig, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    proc.stdin.end(opts.input ?? '');
  });
}

/** A long-running kubectl (e.g. `get -w`): read its output as it comes. */
export interface KubectlProcess {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches, rejects after timeoutMs. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  kill(): Promise<void>;
}

export function spawnKubectl(kubeconfig: string, args: string[], opts: { env?: Record<string, string> } = {}): KubectlProcess {
  const proc = spawn(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    waitFor(re, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(out)) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(check), 1);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`kubectl output did not match ${re} within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * `kubectl port-forward TARGET :P1 :P2 …` (local ports the OS picks), killed after the test;
 * resolves once it listens, with the local port of each remote port in `remotePorts`' order.
 */
export async function portForward(
  t: { after(fn: () => unknown): void },
  kubeconfig: string,
  target: string,
  remotePorts: number[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ pf: KubectlProcess; localPorts: number[] }> {
  const pf = spawnKubectl(kubeconfig, ['port-forward', target, ...remotePorts.map((p) => `:${p}`)], { env: opts.env });
  t.after(() => pf.kill());
  const localPorts: number[] = [];
  for (const remote of remotePorts) {
    const re = new RegExp(`Forwarding from 127\\.0\\.0\\.1:(\\d+) -> ${remote}\\n`);
    await pf.waitFor(re, opts.timeoutMs);
    localPorts.push(Number(re.exec(pf.stdout())![1]));
  }
  return { pf, localPorts };
}

// ---- fixture resources ------------------------------------------------------------------

/**
 * Minimal core/v1 namespaces, configmaps and secrets, used only while src/api has not
 * defined them yet, so the serving core can be tested on its own.
 */
function fixtureResources(): ResourceDef[] {
  const base = {
    group: '',
    version: 'v1',
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as ResourceDef['verbs'],
    selectableFields: () => ({}),
  };
  const namespaces: ResourceDef = {
    ...base,
    kind: 'Namespace',
    listKind: 'NamespaceList',
    resource: 'namespaces',
    singular: 'namespace',
    shortNames: ['ns'],
    namespaced: false,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    openAPIDefinition: 'io.k8s.api.core.v1.Namespace',
    strategy: {
      prepareForCreate(obj) {
        obj.status = { phase: 'Active' };
      },
      validate: () => [],
      validateUpdate: () => [],
    },
    status: { prepareForUpdate: () => {}, validateUpdate: () => [] },
    subresources: ['finalize'],
    table: {
      columns: [nameColumn, column('Status', 'string', 'The status of the namespace'), ageColumn],
      row: (o, now) => [objectName(o), (o.status as { phase?: string } | undefined)?.phase ?? '', objectAge(o, now)],
    },
  };
  const configmaps: ResourceDef = {
    ...base,
    kind: 'ConfigMap',
    listKind: 'ConfigMapList',
    resource: 'configmaps',
    singular: 'configmap',
    shortNames: ['cm'],
    namespaced: true,
    openAPIDefinition: 'io.k8s.api.core.v1.ConfigMap',
    strategy: { validate: () => [], validateUpdate: () => [], allowUnconditionalUpdate: true },
    table: {
      columns: [nameColumn, column('Data', 'string', 'Number of data entries'), ageColumn],
      row: (o, now) => [objectName(o), Object.keys((o.data as object | undefined) ?? {}).length + Object.keys((o.binaryData as object | undefined) ?? {}).length, objectAge(o, now)],
    },
  };
  const secrets: ResourceDef = {
    ...configmaps,
    kind: 'Secret',
    listKind: 'SecretList',
    resource: 'secrets',
    singular: 'secret',
    shortNames: undefined,
    openAPIDefinition: 'io.k8s.api.core.v1.Secret',
    strategy: {
      default(obj) {
        obj.type ??= 'Opaque';
      },
      validate: () => [],
      validateUpdate: () => [],
      allowUnconditionalUpdate: true,
    },
    table: {
      columns: [nameColumn, column('Type', 'string', 'The type of the secret'), column('Data', 'string', 'Number of data entries'), ageColumn],
      row: (o, now) => [objectName(o), o.type ?? '', Object.keys((o.data as object | undefined) ?? {}).length, objectAge(o, now)],
    },
  };
  return [namespaces, configmaps, secrets];
}

/** allResources, plus fixtures for namespaces/configmaps/secrets when src/api lacks them. */
export function testResources(): ResourceDef[] {
  const have = new Set(allResources.map((r) => `${r.group}/${r.resource}`));
  return [...fixtureResources().filter((r) => !have.has(`${r.group}/${r.resource}`)), ...allResources];
}

export interface TestApiServer extends RunningApiServer {
  dataDir: string;
  kubectl(args: string[], opts?: { input?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<KubectlResult>;
  /** kubectl that must succeed; returns stdout. */
  ok(args: string[], opts?: { input?: string; env?: Record<string, string> }): Promise<string>;
}

/** Starts an API server in-process on a temp data dir and a free port; stopped after the test. */
export async function startTestApiServer(
  t: { after(fn: () => unknown): void },
  opts: Partial<StartApiServerOptions> = {},
): Promise<TestApiServer> {
  const dataDir = opts.dataDir ?? tempDir({ after: (fn: () => void) => t.after(fn) }, 'flotilla-apiserver-');
  const running = await startApiServer({
    dataDir,
    storeDir: join(dataDir, 'store'),
    port: 0,
    resources: testResources(),
    ...opts,
  });
  t.after(() => running.stop());
  const kubectl = (args: string[], o?: { input?: string; env?: Record<string, string>; timeoutMs?: number }) => runKubectl(running.kubeconfigPath, args, o);
  return {
    ...running,
    dataDir,
    kubectl,
    async ok(args, o) {
      const r = await kubectl(args, o);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
      return r.stdout;
    },
  };
}
