/**
 * `flotilla scheduler` as its own process against a real API server: kubeconfig, leader
 * election on the kube-system/kube-scheduler Lease, /healthz and /metrics, a pod bound,
 * a clean exit on SIGTERM. The command module is started directly (the `flotilla`
 * dispatcher registers it under the same name).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../util/flotilla.js';
import { backends, startBackendApiServer } from '../util/backends.js';
import { freePort } from '../util/net.js';

const fromSources = import.meta.url.endsWith('.ts');

function spawnSchedulerCommand(args: string[]) {
  const module = fromSources ? join(repoRoot, 'src/cmd/scheduler.ts') : join(repoRoot, 'dist/src/cmd/scheduler.js');
  const runner = 'import(process.argv[1]).then((m) => m.command.run(process.argv.slice(2))).then((c) => { process.exitCode = c; }, (e) => { console.error(e.message); process.exitCode = 1; })';
  const proc = spawn(process.execPath, [...(fromSources ? ['--import', 'tsx'] : []), '-e', runner, module, ...args], {
    env: { ...process.env, FLOTILLA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, exited, stdout: () => out, stderr: () => err };
}

async function eventually<T>(what: string | (() => string), fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const backend of backends) test(`flotilla scheduler: leader election, healthz/metrics, binds pods, exits on SIGTERM (${backend.name})`, { skip: backend.skip }, async (t) => {
  const api = await startBackendApiServer(t, backend);
  await api.ok(['create', 'namespace', 'kube-system']).catch(() => '');
  await api.ok(['apply', '-f', '-'], {
    input: 'apiVersion: v1\nkind: Node\nmetadata:\n  name: solo\nstatus:\n  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}\n  capacity: {cpu: "4", memory: 8Gi, pods: "110"}\n',
  });
  const port = await freePort();
  const s = spawnSchedulerCommand(['--kubeconfig', api.kubeconfigPath, '--secure-port', String(port)]);
  t.after(() => { if (s.proc.exitCode === null) s.proc.kill('SIGKILL'); });
  const url = await eventually(() => `health server address (stderr: ${s.stderr()}, stdout: ${s.stdout()})`, async () => /on (http:\/\/\S+)\n/.exec(s.stdout())?.[1]);
  assert.equal(await (await fetch(`${url}/healthz`)).text(), 'ok');

  await api.ok(['run', 'hello', '--image', 'nginx']);
  await eventually('hello bound', async () => ((await api.ok(['get', 'pod', 'hello', '-o', 'jsonpath={.spec.nodeName}'])) === 'solo' ? true : undefined));
  const holder = await api.ok(['get', 'lease', '-n', 'kube-system', 'kube-scheduler', '-o', 'jsonpath={.spec.holderIdentity}']);
  assert.match(holder, /^.+_[0-9a-f-]{36}$/);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} 1/);

  s.proc.kill('SIGTERM');
  assert.equal(await s.exited, 0, s.stderr());
});
