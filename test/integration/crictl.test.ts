/**
 * `flotilla crictl` against a private real containerd (started on a data dir the way
 * `flotilla up` keeps it, so the default endpoint is exercised too), with offline busybox
 * images: pods, ps, images, logs, exec, inspect, inspectp, info, version — columns and JSON
 * shapes as crictl prints them. Skipped when containerd (or root) is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriRuntime } from '../../src/kubelet/cri/runtime.js';
import { containerdDirOf, realRuntimeSupport, startContainerd } from '../../src/kubelet/containerd/index.js';
import { LabelContainerName, LabelPodName, LabelPodNamespace, LabelPodUID, type PodSandboxConfig } from '../../src/kubelet/runtime.js';
import { silentLogger } from '../../src/util/log.js';
import { runFlotilla } from '../util/flotilla.js';
import { importTestImages } from '../util/images.js';
import { eventually } from '../util/wait.js';

const support = realRuntimeSupport();
const skip = support.ok ? false : support.reason;

test('flotilla crictl inspects pods, containers, images and logs and runs exec on a real containerd', { skip }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-crictl-'));
  const podCIDR = `10.${200 + (process.pid % 50)}.77.0/24`;
  const ctd = await startContainerd({ dir: containerdDirOf(dataDir), podCIDR, logger: silentLogger() }).catch((err: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  // The data dir goes only once containerd (and its sandboxes' mounts) are gone.
  t.after(async () => {
    await ctd.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await importTestImages(ctd.socket, ['busybox', 'pause']);
  const rt = new CriRuntime({ endpoint: ctd.socket });
  t.after(() => rt.close());

  const sandbox: PodSandboxConfig = {
    name: 'web',
    namespace: 'team-a',
    uid: 'uid-web-1',
    attempt: 0,
    hostname: 'web',
    logDirectory: join(dataDir, 'pods', 'team-a_web_uid-web-1'),
    labels: { [LabelPodName]: 'web', [LabelPodNamespace]: 'team-a', [LabelPodUID]: 'uid-web-1' },
    annotations: { note: 'x' },
  };
  const podId = await rt.runPodSandbox(sandbox);
  // The kubelet creates containers from the image ID, which crictl ps shows truncated.
  const imageId = (await rt.imageStatus('docker.io/library/busybox:latest'))!.id;
  const ctrId = await rt.createContainer(
    podId,
    {
      name: 'app',
      attempt: 0,
      image: imageId,
      userImage: 'busybox',
      // stderr first, then (once the test says so) stdout: the log's line order is fixed.
      command: ['sh', '-c', 'echo oops >&2; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo hello; echo bye; exec sleep 3600'],
      args: [],
      env: [{ key: 'GREETING', value: 'hi' }],
      labels: { [LabelPodName]: 'web', [LabelPodNamespace]: 'team-a', [LabelPodUID]: 'uid-web-1', [LabelContainerName]: 'app' },
      logPath: 'app/0.log',
    },
    sandbox,
  );
  await rt.startContainer(ctrId);
  const logFile = join(sandbox.logDirectory!, 'app/0.log');
  const crictl = (args: string[], env: Record<string, string> = {}) => runFlotilla(['crictl', '--data-dir', dataDir, ...args], { env });

  // version and info.
  const version = crictl(['version']);
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^Version: {2}0\.1\.0\nRuntimeName: {2}containerd\nRuntimeVersion: {2}\S+\nRuntimeApiVersion: {2}v1\n$/);
  const info = crictl(['info']);
  assert.equal(info.status, 0, info.stderr);
  const infoJSON = JSON.parse(info.stdout) as { status: { conditions: Array<{ type: string; status: boolean }> }; config?: unknown };
  assert.deepEqual(infoJSON.status.conditions.map((c) => c.type), ['RuntimeReady', 'NetworkReady']);
  assert.ok(infoJSON.config, 'containerd verbose info has its config');

  // pods: crictl's columns, newest first, the ID truncated to 13 characters.
  const pods = crictl(['pods']);
  assert.equal(pods.status, 0, pods.stderr);
  const podLines = pods.stdout.trimEnd().split('\n');
  assert.match(podLines[0]!, /^POD ID {14}CREATED {13,}STATE {15}NAME {16}NAMESPACE {11}ATTEMPT {13}RUNTIME$/);
  assert.match(podLines[1]!, new RegExp(`^${podId.slice(0, 13)} {7}\\S.* ago +Ready +web +team-a +0 +\\(default\\)$`));
  assert.equal(crictl(['pods', '-q']).stdout, `${podId}\n`);
  assert.equal(crictl(['pods', '--namespace', 'team', '--state', 'ready', '-q']).stdout, `${podId}\n`);
  const podsJSON = JSON.parse(crictl(['pods', '-o', 'json']).stdout) as { items: Array<Record<string, unknown>> };
  assert.deepEqual(Object.keys(podsJSON.items[0]!), ['id', 'metadata', 'state', 'createdAt', 'labels', 'annotations', 'runtimeHandler']);
  assert.equal(podsJSON.items[0]!.state, 'SANDBOX_READY');
  assert.deepEqual(podsJSON.items[0]!.metadata, { name: 'web', uid: 'uid-web-1', namespace: 'team-a', attempt: 0 });
  assert.match(crictl(['pods', '-o', 'yaml']).stdout, /^items:\n- annotations:/);

  // ps: running containers by default, -a for all; image shown as a truncated image ID.
  const ps = crictl(['ps']);
  assert.equal(ps.status, 0, ps.stderr);
  const psLines = ps.stdout.trimEnd().split('\n');
  assert.match(psLines[0]!, /^CONTAINER {11}IMAGE {15}CREATED {13,}STATE {15}NAME {16}ATTEMPT {13}POD ID {14}POD {17}NAMESPACE$/);
  assert.match(psLines[1]!, new RegExp(`^${ctrId.slice(0, 13)} {7}${imageId.slice(7, 20)} {7}.* ago +Running +app +0 +${podId.slice(0, 13)} +web +team-a$`));
  assert.equal(crictl(['ps', '-q', '--pod', podId]).stdout, `${ctrId}\n`);
  assert.equal(crictl(['ps', '-a', '-q', '--name', 'app']).stdout, `${ctrId}\n`);
  const psJSON = JSON.parse(crictl(['ps', '-o', 'json']).stdout) as { containers: Array<{ id: string; state: string; podSandboxId: string }> };
  assert.deepEqual(psJSON.containers.map((c) => [c.id, c.state, c.podSandboxId]), [[ctrId, 'CONTAINER_RUNNING', podId]]);

  // images.
  const images = crictl(['images']);
  assert.equal(images.status, 0, images.stderr);
  const imageLines = images.stdout.trimEnd().split('\n');
  assert.match(imageLines[0]!, /^IMAGE {23}TAG {17}IMAGE ID {12}SIZE$/);
  assert.ok(imageLines.some((l) => /^docker\.io\/library\/busybox +latest +[0-9a-f]{13} +[\d.]+[kM]B$/.test(l)), images.stdout);
  assert.ok(imageLines.some((l) => /^registry\.k8s\.io\/pause +3\.6 +[0-9a-f]{13} +/.test(l)), images.stdout);
  assert.match(crictl(['images', '-q']).stdout, /^(sha256:[0-9a-f]{64}\n)+$/);

  // logs: stdout lines on stdout, stderr lines on stderr; --tail, --timestamps.
  await eventually('stderr logged', () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes(' oops\n'));
  await rt.execSync(ctrId, ['touch', '/tmp/go'], 10);
  await eventually('stdout logged', () => readFileSync(logFile, 'utf8').includes(' bye\n'));
  const logs = crictl(['logs', ctrId]);
  assert.equal(logs.status, 0, logs.stderr);
  assert.equal(logs.stdout, 'hello\nbye\n');
  assert.equal(logs.stderr, 'oops\n');
  assert.equal(crictl(['logs', '--tail', '1', ctrId]).stdout, 'bye\n');
  assert.match(crictl(['logs', '-t', '--tail', '1', ctrId]).stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z bye\n$/);
  assert.equal(crictl(['logs', '--stream', 'stderr', ctrId]).stderr, 'oops\n');

  // exec (ExecSync): output and exit code; flags after the container ID belong to the command.
  const ex = crictl(['exec', ctrId, 'sh', '-c', 'echo $GREETING; ls -d /tmp; exit 3']);
  assert.equal(ex.status, 3, ex.stderr);
  assert.equal(ex.stdout, 'hi\n/tmp\n');
  const exErr = crictl(['exec', ctrId.slice(0, 13), 'cat', '/nonexistent']);
  assert.equal(exErr.status, 1);
  assert.match(exErr.stderr, /No such file or directory/);

  // exec -i / -t stream through the runtime's Exec (stdin half-closes; a TTY has no stderr).
  const exI = runFlotilla(['crictl', '--data-dir', dataDir, 'exec', '-i', ctrId, 'sh', '-c', 'cat; echo done >&2; exit 2'], { input: 'from-stdin\n' });
  assert.equal(exI.status, 2, exI.stderr);
  assert.equal(exI.stdout, 'from-stdin\n');
  assert.equal(exI.stderr, 'done\n');
  const exT = crictl(['exec', '-t', ctrId, 'sh', '-c', 'tty >/dev/null && echo on-a-tty']);
  assert.equal(exT.status, 0, exT.stderr);
  assert.equal(exT.stdout, 'on-a-tty\r\n');

  // inspect: {info, status} with times as RFC 3339, sorted keys.
  const insp = crictl(['inspect', ctrId]);
  assert.equal(insp.status, 0, insp.stderr);
  const ij = JSON.parse(insp.stdout) as { status: Record<string, unknown>; info: Record<string, unknown> };
  assert.deepEqual(Object.keys(ij), ['info', 'status']);
  assert.equal(ij.status.id, ctrId);
  assert.equal(ij.status.state, 'CONTAINER_RUNNING');
  assert.match(String(ij.status.createdAt), /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
  assert.equal(ij.status.finishedAt, '0001-01-01T00:00:00Z');
  assert.equal(ij.status.logPath, logFile);
  assert.deepEqual(Object.keys(ij.status), [...Object.keys(ij.status)].sort());
  assert.equal(ij.info.sandboxID, podId);
  assert.equal(typeof ij.info.pid, 'number');
  const quiet = JSON.parse(crictl(['inspect', '-q', ctrId]).stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(quiet), ['status']);

  const inspp = crictl(['inspectp', podId.slice(0, 13)]);
  assert.equal(inspp.status, 0, inspp.stderr);
  const pj = JSON.parse(inspp.stdout) as { status: Record<string, unknown>; info: Record<string, unknown> };
  assert.equal(pj.status.id, podId);
  assert.equal(pj.status.state, 'SANDBOX_READY');
  assert.match(String((pj.status.network as { ip: string }).ip), /^10\.\d+\.77\.\d+$/);
  assert.equal(typeof pj.info.pid, 'number', 'containerd verbose sandbox info');

  const inspi = JSON.parse(crictl(['inspecti', 'busybox']).stdout) as { status: { repoTags: string[] } };
  assert.deepEqual(inspi.status.repoTags, ['docker.io/library/busybox:latest']);

  // Errors are worded as crictl's, and the endpoint comes from the flag or the environment.
  const missing = crictl(['inspect', 'nonexistent']);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /getting the status of the container "nonexistent": rpc error: code = NotFound desc = /);
  const byEnv = runFlotilla(['crictl', 'pods', '-q'], { env: { CONTAINER_RUNTIME_ENDPOINT: `unix://${ctd.socket}` } });
  assert.equal(byEnv.stdout, `${podId}\n`);
  const byFlag = runFlotilla(['crictl', '-r', `unix://${ctd.socket}`, 'ps', '-aq']);
  assert.equal(byFlag.stdout, `${ctrId}\n`);
  const none = runFlotilla(['crictl', '--data-dir', join(dataDir, 'nope'), 'ps']);
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /no CRI socket at .*nope\/containerd\/containerd\.sock/);

  // An exited container: ps -a shows it Exited; logs of it still read.
  await rt.stopContainer(ctrId, 0);
  const psa = crictl(['ps', '-a']);
  assert.match(psa.stdout, /\sExited\s+app\s/);
  assert.equal(crictl(['ps', '-q']).stdout, '');
  const ej = JSON.parse(crictl(['inspect', ctrId]).stdout) as { status: { finishedAt: string; exitCode: number } };
  assert.notEqual(ej.status.finishedAt, '0001-01-01T00:00:00Z');
  assert.equal(ej.status.exitCode, 137);
  assert.equal(crictl(['logs', '-f', ctrId]).stdout, 'hello\nbye\n');
});
