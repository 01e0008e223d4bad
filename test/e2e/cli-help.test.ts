/**
 * `flotilla --help`, `flotilla <command> --help`, `flotilla help <command>` and an unknown
 * command, with the real CLI: every registered command prints its usage and flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFlotilla, spawnFlotilla } from '../util/flotilla.js';

test('flotilla --help lists every command, each of which prints its usage and flags', async () => {
  const top = runFlotilla(['--help']);
  assert.equal(top.status, 0, top.stderr);
  assert.match(top.stdout, /^Usage: flotilla <command> \[flags\]$/m);
  const section = top.stdout.split('Commands:\n')[1]!.split('\n\n')[0]!;
  const names = section.split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter((n) => n !== 'version');
  for (const expected of ['up', 'status', 'etcd', 'apiserver', 'scheduler', 'controller-manager', 'kubelet', 'proxy', 'images']) {
    assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
  }
  // In parallel: each is a separate node process.
  const helps = names.map((name) => ({ name, p: spawnFlotilla([name, '--help']) }));
  for (const { name, p } of helps) {
    assert.equal(await p.exited, 0, `${name}: ${p.stderr()}`);
    assert.match(p.stdout(), new RegExp(`^Usage: flotilla ${name} `, 'm'), name);
    assert.match(p.stdout(), /^Flags:\n {2}(-\w, )?--[a-z-]+/m, name);
  }
  // up takes the node lifecycle timings of the components it runs (its kubelet's too), with upstream's defaults.
  const upHelp = helps.find((h) => h.name === 'up')!.p.stdout();
  for (const [flag, def] of [
    ['node-monitor-period', '5s'],
    ['node-monitor-grace-period', '40s'],
    ['node-startup-grace-period', '1m0s'],
    ['pod-eviction-timeout', '5m0s'],
    ['default-not-ready-toleration-seconds', '300'],
    ['default-unreachable-toleration-seconds', '300'],
    ['node-status-update-frequency', '10s'],
  ]) {
    assert.match(upHelp, new RegExp(`^ {2}--${flag} string\\n {8}.*\\(default "${def}"\\)$`, 'm'), flag);
  }
  // `flotilla help <command>` is the same text.
  const viaHelp = runFlotilla(['help', 'status']);
  assert.equal(viaHelp.status, 0);
  assert.equal(viaHelp.stdout, helps.find((h) => h.name === 'status')!.p.stdout());
  assert.match(viaHelp.stdout, /--data-dir string\n.*\(default "flotilla-data"\)/);
  assert.match(viaHelp.stdout, /--kubeconfig string/);

  const unknown = runFlotilla(['sail']);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /^flotilla: unknown command "sail"\n/);
  assert.match(unknown.stderr, /^Commands:\n {2}up\s/m);
});
