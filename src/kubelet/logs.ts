/**
 * Container logs in the CRI format (what containerd writes and the kubelet serves for
 * `kubectl logs`), after upstream's pkg/kubelet/kuberuntime/logs:
 *
 *   2024-05-01T12:00:00.123456789Z stdout F a whole line
 *   2024-05-01T12:00:00.2Z stderr P the first part of a long line, …
 *   2024-05-01T12:00:00.2Z stderr F … joined with this one
 *
 * One file line is `<RFC3339Nano> <stdout|stderr> <F|P> <text>`; P (partial) means the text
 * continues in the next line of the same stream, so no newline is added after it.
 * {@link readContainerLogs} applies PodLogOptions as the kubelet does: tailLines counts
 * file lines from the end, since skips older lines, timestamps prefixes each new line
 * with its time (Go's RFC3339Nano: trailing fraction zeros trimmed), limitBytes cuts the
 * output, follow keeps reading as the file grows until the container has exited and the
 * file is drained (reopening the path when the log was rotated to a new file).
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Clock, TimerHandle } from '../util/clock.js';

/** One parsed line of a CRI log file. */
export interface CRILogLine {
  /** The timestamp as written. */
  timestamp: string;
  /** Nanoseconds since the epoch. */
  timeNs: bigint;
  stream: 'stdout' | 'stderr';
  /** True for a P line (the text continues in the next line). */
  partial: boolean;
  /** The text, with "\n" appended unless partial. */
  content: Buffer;
}

const tsRe = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** Parses an RFC3339(Nano) time into nanoseconds since the epoch; undefined if malformed. */
export function parseRFC3339Nano(s: string): bigint | undefined {
  const m = tsRe.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0') || '0');
  return BigInt(ms) * 1_000_000n + frac;
}

/** Go's time.RFC3339Nano rendering of a written timestamp: the fraction without trailing zeros. */
export function formatLogTimestamp(s: string): string {
  const m = tsRe.exec(s);
  if (!m) return s;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  return `${m[1]}${frac ? `.${frac}` : ''}${m[3]}`;
}

/**
 * Parses one line of a CRI log file (without its trailing newline). Throws on a malformed
 * line, with upstream's messages.
 */
export function parseCRILogLine(line: Buffer): CRILogLine {
  const sp1 = line.indexOf(0x20);
  if (sp1 < 0) throw new Error(`timestamp is not found`);
  const timestamp = line.subarray(0, sp1).toString();
  const timeNs = parseRFC3339Nano(timestamp);
  if (timeNs === undefined) throw new Error(`unexpected timestamp format "${timestamp}"`);
  const sp2 = line.indexOf(0x20, sp1 + 1);
  if (sp2 < 0) throw new Error(`stream type is not found`);
  const stream = line.subarray(sp1 + 1, sp2).toString();
  if (stream !== 'stdout' && stream !== 'stderr') throw new Error(`unexpected stream type "${stream}"`);
  // The tag is F or P (CRI), possibly with more ':'-separated tags after it.
  const sp3 = line.indexOf(0x20, sp2 + 1);
  const tag = line.subarray(sp2 + 1, sp3 < 0 ? line.length : sp3).toString();
  if (!tag) throw new Error(`log tag is not found`);
  const partial = tag.split(':')[0] === 'P';
  const text = sp3 < 0 ? Buffer.alloc(0) : line.subarray(sp3 + 1);
  return { timestamp, timeNs, stream, partial, content: partial ? text : Buffer.concat([text, Buffer.from('\n')]) };
}

/** PodLogOptions, as the kubelet receives them. */
export interface LogOptions {
  follow?: boolean;
  /** File lines from the end (undefined = the whole file). */
  tailLines?: number;
  /** Skip lines older than this (ms since the epoch). */
  sinceMs?: number;
  timestamps?: boolean;
  /** Stop after this many bytes of output. */
  limitBytes?: number;
}

export interface ReadLogsOptions extends LogOptions {
  /** Whether the container may still write (follow ends once this is false and the file is drained). */
  isRunning?: () => Promise<boolean>;
  clock: Clock;
  /** How often a follower re-checks the file and the container (ms, default 1000). */
  pollMs?: number;
  /** Aborting ends the read (the client went away). */
  signal?: AbortSignal;
}

const CHUNK = 64 * 1024;

/**
 * The byte offset at which the last `n` lines of the file start (upstream
 * tail.FindTailLineStartIndex): a final line without a newline counts as a line.
 */
export async function tailStart(fh: FileHandle, n: number): Promise<number> {
  const size = (await fh.stat()).size;
  if (n <= 0) return size;
  let pos = size;
  let seen = 0;
  // A trailing newline ends the last line; it does not start a new one.
  let skipFinal = true;
  const buf = Buffer.alloc(CHUNK);
  while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    await fh.read(buf, 0, len, pos);
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) {
        skipFinal = false;
        continue;
      }
      if (skipFinal) {
        skipFinal = false;
        continue;
      }
      seen++;
      if (seen === n) return pos + i + 1;
    }
  }
  return 0;
}

/** Writes to a stream honouring back-pressure; resolves false once the stream is gone. */
function writeOut(out: Writable, chunk: Buffer): Promise<boolean> {
  if (out.destroyed || out.writableEnded) return Promise.resolve(false);
  if (out.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    out.once('drain', onDrain);
    out.once('close', onClose);
  });
}

/**
 * Streams the container log at `path` to `out` with the options applied (see module
 * comment). Resolves when done; does not end `out`. Malformed lines are skipped, as
 * upstream logs and skips them.
 */
export async function readContainerLogs(path: string, out: Writable, opts: ReadLogsOptions): Promise<void> {
  const sinceNs = opts.sinceMs !== undefined ? BigInt(Math.floor(opts.sinceMs)) * 1_000_000n : undefined;
  let remaining = opts.limitBytes !== undefined && opts.limitBytes > 0 ? opts.limitBytes : Infinity;
  let fh = await open(path, 'r');
  let pos = opts.tailLines !== undefined ? await tailStart(fh, opts.tailLines) : 0;
  let pending = Buffer.alloc(0);
  // Whether the next piece of text starts a new line (and so gets a timestamp), per stream.
  const newLine: Record<'stdout' | 'stderr', boolean> = { stdout: true, stderr: true };
  let gone = false;

  const emit = async (line: Buffer): Promise<void> => {
    let msg: CRILogLine;
    try {
      msg = parseCRILogLine(line);
    } catch {
      return;
    }
    const startsLine = newLine[msg.stream];
    newLine[msg.stream] = !msg.partial;
    if (sinceNs !== undefined && msg.timeNs < sinceNs) return;
    let data = msg.content;
    if (opts.timestamps && startsLine) data = Buffer.concat([Buffer.from(`${formatLogTimestamp(msg.timestamp)} `), data]);
    if (data.length > remaining) data = data.subarray(0, remaining);
    remaining -= data.length;
    if (data.length > 0 && !(await writeOut(out, data))) gone = true;
  };

  /** Reads what the file has now; resolves with the number of bytes read. */
  const drain = async (): Promise<number> => {
    let total = 0;
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      if (gone || remaining <= 0 || opts.signal?.aborted) return total;
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) return total;
      pos += bytesRead;
      total += bytesRead;
      let data = pending.length ? Buffer.concat([pending, buf.subarray(0, bytesRead)]) : Buffer.from(buf.subarray(0, bytesRead));
      let nl: number;
      let start = 0;
      while ((nl = data.indexOf(0x0a, start)) >= 0) {
        await emit(data.subarray(start, nl));
        start = nl + 1;
        if (gone || remaining <= 0) return total;
      }
      data = data.subarray(start);
      pending = data;
    }
  };

  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  const onWake = () => wake?.();
  const startWatch = () => {
    try {
      watcher = watch(path, { persistent: false }, onWake);
      watcher.on('error', () => {});
    } catch {
      watcher = undefined;
    }
  };
  try {
    await drain();
    if (!opts.follow) {
      // A final line without its newline (the writer is mid-line) is still shown.
      if (pending.length && !gone && remaining > 0) await emit(pending);
      return;
    }
    startWatch();
    opts.signal?.addEventListener('abort', onWake, { once: true });
    const pollMs = opts.pollMs ?? 1000;
    while (!gone && remaining > 0 && !opts.signal?.aborted) {
      const running = opts.isRunning ? await opts.isRunning() : false;
      const n = await drain();
      if (gone || remaining <= 0 || opts.signal?.aborted) break;
      if (n > 0) continue;
      // At the end of the file: a rotated log continues in a new file at the same path.
      const cur = await stat(path).catch(() => undefined);
      const mine = await fh.stat();
      if (cur && (cur.ino !== mine.ino || cur.size < pos)) {
        await fh.close();
        fh = await open(path, 'r');
        pos = 0;
        pending = Buffer.alloc(0);
        watcher?.close();
        startWatch();
        continue;
      }
      // Checked before this drain: whatever the container wrote before exiting is out.
      if (!running) break;
      let timer: TimerHandle | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = opts.clock.setTimeout(resolve, pollMs);
      });
      wake = undefined;
      timer?.cancel();
    }
  } finally {
    watcher?.close();
    opts.signal?.removeEventListener('abort', onWake);
    await fh.close();
  }
}
