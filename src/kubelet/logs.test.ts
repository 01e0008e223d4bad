import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { realClock } from '../util/clock.js';
import { formatLogTimestamp, parseCRILogLine, parseRFC3339Nano, readContainerLogs, type LogOptions } from './logs.js';

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const file = [
  '2024-05-01T12:00:01.000000000Z stdout F one',
  '2024-05-01T12:00:02.5Z stderr F two',
  '2024-05-01T12:00:03.120000000Z stdout P thr',
  '2024-05-01T12:00:03.130000000Z stdout F ee',
  'garbage',
  '2024-05-01T12:00:04Z stdout F four',
  '',
].join('\n');

async function read(path: string, opts: LogOptions & { isRunning?: () => Promise<boolean> }): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (d: Buffer) => chunks.push(d));
  await readContainerLogs(path, out, { clock: realClock, pollMs: 20, ...opts });
  return Buffer.concat(chunks).toString();
}

test('parseCRILogLine: full and partial lines, streams, tags', () => {
  const full = parseCRILogLine(Buffer.from('2024-05-01T12:00:01.123Z stdout F hello world'));
  assert.equal(full.stream, 'stdout');
  assert.equal(full.partial, false);
  assert.equal(full.content.toString(), 'hello world\n');
  assert.equal(full.timeNs, BigInt(Date.parse('2024-05-01T12:00:01.123Z')) * 1_000_000n);
  const part = parseCRILogLine(Buffer.from('2024-05-01T12:00:01Z stderr P abc'));
  assert.equal(part.partial, true);
  assert.equal(part.content.toString(), 'abc');
  assert.equal(parseCRILogLine(Buffer.from('2024-05-01T12:00:01Z stdout F')).content.toString(), '\n');
  assert.throws(() => parseCRILogLine(Buffer.from('nonsense')), /timestamp is not found/);
  assert.throws(() => parseCRILogLine(Buffer.from('2024-05-01T12:00:01Z stdin F x')), /unexpected stream type "stdin"/);
});

test('timestamps: nanosecond parse and Go RFC3339Nano output', () => {
  assert.equal(parseRFC3339Nano('1970-01-01T00:00:00.000000001Z'), 1n);
  assert.equal(parseRFC3339Nano('1970-01-01T01:00:00+01:00'), 0n);
  assert.equal(parseRFC3339Nano('yesterday'), undefined);
  assert.equal(formatLogTimestamp('2024-05-01T12:00:01.120000000Z'), '2024-05-01T12:00:01.12Z');
  assert.equal(formatLogTimestamp('2024-05-01T12:00:01.000000000Z'), '2024-05-01T12:00:01Z');
  assert.equal(formatLogTimestamp('2024-05-01T12:00:01.5+02:00'), '2024-05-01T12:00:01.5+02:00');
});

const cases: Array<{ name: string; opts: LogOptions; want: string }> = [
  { name: 'whole file, partial lines joined, malformed skipped', opts: {}, want: 'one\ntwo\nthree\nfour\n' },
  { name: 'tailLines counts file lines', opts: { tailLines: 2 }, want: 'four\n' },
  { name: 'tailLines 3 starts inside a joined line', opts: { tailLines: 3 }, want: 'ee\nfour\n' },
  { name: 'tailLines 0', opts: { tailLines: 0 }, want: '' },
  { name: 'tailLines beyond the file', opts: { tailLines: 100 }, want: 'one\ntwo\nthree\nfour\n' },
  { name: 'since', opts: { sinceMs: Date.parse('2024-05-01T12:00:02.5Z') }, want: 'two\nthree\nfour\n' },
  {
    name: 'timestamps on each new line only',
    opts: { timestamps: true },
    want: '2024-05-01T12:00:01Z one\n2024-05-01T12:00:02.5Z two\n2024-05-01T12:00:03.12Z three\n2024-05-01T12:00:04Z four\n',
  },
  { name: 'limitBytes cuts mid-line', opts: { limitBytes: 6 }, want: 'one\ntw' },
];

for (const tc of cases) {
  test(`readContainerLogs: ${tc.name}`, async (t) => {
    const path = join(tmp(t), '0.log');
    writeFileSync(path, file);
    assert.equal(await read(path, tc.opts), tc.want);
  });
}

test('readContainerLogs: follow reads what is appended and ends once the container exited', async (t) => {
  const path = join(tmp(t), '0.log');
  writeFileSync(path, '2024-05-01T12:00:01Z stdout F a\n');
  let running = true;
  const out = new PassThrough();
  let got = '';
  const seen: Array<() => void> = [];
  out.on('data', (d: Buffer) => {
    got += d.toString();
    for (const s of seen.splice(0)) s();
  });
  const until = (s: string) => new Promise<void>((resolve) => {
    const check = () => (got.includes(s) ? resolve() : seen.push(check));
    check();
  });
  const done = readContainerLogs(path, out, { follow: true, clock: realClock, pollMs: 20, isRunning: async () => running });
  await until('a\n');
  appendFileSync(path, '2024-05-01T12:00:02Z stdout P b');
  appendFileSync(path, '1\n2024-05-01T12:00:02Z stdout F b2\n');
  await until('b1b2\n');
  appendFileSync(path, '2024-05-01T12:00:03Z stderr F last\n');
  running = false;
  await done;
  assert.equal(got, 'a\nb1b2\nlast\n');
});

test('readContainerLogs: follow continues in a rotated file', async (t) => {
  const dir = tmp(t);
  const path = join(dir, '0.log');
  writeFileSync(path, '2024-05-01T12:00:01Z stdout F before\n');
  let running = true;
  const out = new PassThrough();
  let got = '';
  let notify: (() => void) | undefined;
  out.on('data', (d: Buffer) => {
    got += d.toString();
    notify?.();
  });
  const done = readContainerLogs(path, out, { follow: true, clock: realClock, pollMs: 20, isRunning: async () => running });
  await new Promise<void>((resolve) => {
    notify = () => got.includes('before') && resolve();
    notify();
  });
  renameSync(path, `${path}.1`);
  writeFileSync(path, '2024-05-01T12:00:02Z stdout F after\n');
  await new Promise<void>((resolve) => {
    notify = () => got.includes('after') && resolve();
    notify();
  });
  running = false;
  await done;
  assert.equal(got, 'before\nafter\n');
});

test('readContainerLogs: an aborted follow ends', async (t) => {
  const path = join(tmp(t), '0.log');
  writeFileSync(path, '2024-05-01T12:00:01Z stdout F a\n');
  const abort = new AbortController();
  const out = new PassThrough();
  out.resume();
  const done = readContainerLogs(path, out, { follow: true, clock: realClock, pollMs: 20, isRunning: async () => true, signal: abort.signal });
  abort.abort();
  await done;
});
