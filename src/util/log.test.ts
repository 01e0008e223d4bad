import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RotatingLogFile, logComponentsToFiles, newLogger } from './log.js';

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('RotatingLogFile moves a full file to .1 and starts a new one', (t) => {
  const path = join(tmp(t), 'logs', 'x.log');
  const f = new RotatingLogFile({ path, maxBytes: 10 });
  f.write('aaaa\n');
  f.write('bbbb\n');
  assert.equal(readFileSync(path, 'utf8'), 'aaaa\nbbbb\n');
  f.write('cccc\n');
  assert.equal(readFileSync(path, 'utf8'), 'cccc\n');
  assert.equal(readFileSync(`${path}.1`, 'utf8'), 'aaaa\nbbbb\n');
  // A line longer than maxBytes still goes whole into a file of its own.
  f.write('0123456789abc\n');
  assert.equal(readFileSync(path, 'utf8'), '0123456789abc\n');
  assert.equal(readFileSync(`${path}.1`, 'utf8'), 'cccc\n');
  f.close();
  assert.equal(f.write('after close\n'), false);
});

test('RotatingLogFile appends to an existing file, or keeps it as .1 with rotateExisting', (t) => {
  const dir = tmp(t);
  const path = join(dir, 'x.log');
  writeFileSync(path, 'old\n');
  const appended = new RotatingLogFile({ path });
  appended.write('new\n');
  appended.close();
  assert.equal(readFileSync(path, 'utf8'), 'old\nnew\n');
  const fresh = new RotatingLogFile({ path, rotateExisting: true });
  fresh.write('run 2\n');
  fresh.close();
  assert.equal(readFileSync(path, 'utf8'), 'run 2\n');
  assert.equal(readFileSync(`${path}.1`, 'utf8'), 'old\nnew\n');
});

test('logComponentsToFiles sends each mapped component, children included, to its file', (t) => {
  const dir = tmp(t);
  const files = logComponentsToFiles({ dir, files: { 'log-test-mvcc': 'etcd', 'log-test-etcdserver': 'etcd', 'log-test-sched': 'kube-scheduler' } });
  t.after(() => files.close());
  assert.deepEqual(files.paths, { etcd: join(dir, 'etcd.log'), 'kube-scheduler': join(dir, 'kube-scheduler.log') });
  newLogger('log-test-mvcc').info('from mvcc');
  newLogger('log-test-etcdserver', { name: 'n1' }).info('from etcdserver');
  newLogger('log-test-sched').child({ component: 'queue' }).warn('from the queue');
  newLogger('log-test-unmapped').info('stderr only');
  const etcd = readFileSync(join(dir, 'etcd.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(etcd.map((l) => [l.component, l.msg, l.level]), [['log-test-mvcc', 'from mvcc', 'info'], ['log-test-etcdserver', 'from etcdserver', 'info']]);
  assert.equal(etcd[1]!.name, 'n1');
  const sched = readFileSync(join(dir, 'kube-scheduler.log'), 'utf8');
  assert.match(sched, /"level":"warn".*"component":"queue".*"msg":"from the queue"/);
  assert.doesNotMatch(sched + JSON.stringify(etcd), /stderr only/);
  assert.equal(existsSync(join(dir, 'log-test-unmapped.log')), false);

  // Closed: the components log to stderr only again.
  files.close();
  newLogger('log-test-mvcc').info('after close');
  assert.doesNotMatch(readFileSync(join(dir, 'etcd.log'), 'utf8'), /after close/);
});

test('logComponentsToFiles refuses a file name that is not a plain name', (t) => {
  assert.throws(() => logComponentsToFiles({ dir: tmp(t), files: { x: '../x' } }), /log file name "\.\.\/x" for component x/);
});
