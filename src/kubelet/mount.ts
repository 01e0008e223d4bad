/**
 * The host mounts the kubelet makes itself — the tmpfs of memory-backed volumes — after
 * upstream's k8s.io/mount-utils on Linux: the `mount`/`umount` binaries do the work and
 * /proc/self/mountinfo says what is mounted where.
 *
 * The binaries run from one long-lived `sh` rather than a spawn each: Node's spawn forks
 * this (large) process and blocks the event loop until the child has exec'd, which on a
 * loaded node took ~70 ms per mount — the whole kubelet (and an API server sharing the
 * process) stalled once per pod started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, realpath } from 'node:fs/promises';
import { release } from 'node:os';
import { sep } from 'node:path';

/** One line of /proc/self/mountinfo, the parts the kubelet looks at. */
export interface MountInfo {
  mountPoint: string;
  fsType: string;
  source: string;
  /** Per-superblock options (e.g. `rw,size=16384k`). */
  superOptions: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo (proc(5)); lines it cannot read are skipped. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    // id parent major:minor root mount-point options [optional fields…] - fstype source super-options
    const dash = f.indexOf('-', 6);
    if (dash < 0 || f.length < dash + 3) continue;
    out.push({ mountPoint: unescapeOctal(f[4]!), fsType: f[dash + 1]!, source: unescapeOctal(f[dash + 2]!), superOptions: f[dash + 3] ?? '' });
  }
  return out;
}

async function listMounts(): Promise<MountInfo[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
}

/**
 * The mounts at `dir` or below it, most recent first (the order to unmount them in); []
 * when dir does not exist.
 */
export async function mountsUnder(dir: string): Promise<MountInfo[]> {
  const real = await realpath(dir).catch(() => undefined);
  if (real === undefined) return [];
  const prefix = real.endsWith(sep) ? real : `${real}${sep}`;
  return (await listMounts()).filter((m) => m.mountPoint === real || m.mountPoint.startsWith(prefix)).reverse();
}

/** The mount visible at `dir` if dir is a mount point (the most recent one there). */
export async function mountAt(dir: string): Promise<MountInfo | undefined> {
  const real = await realpath(dir).catch(() => undefined);
  if (real === undefined) return undefined;
  return (await mountsUnder(real)).find((m) => m.mountPoint === real);
}

/** A word for sh: single-quoted, each ' written as '\''. */
function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** How long one command may take before its shell is killed (and the command fails). */
const COMMAND_TIMEOUT_MS = 30_000;

/**
 * Runs commands one at a time in a shell it keeps (started on first use, again after one
 * died or timed out). Each command's stdin is /dev/null and its stdout+stderr come back
 * with its exit status; the shell is unreferenced while idle so it never holds the process.
 */
class CommandRunner {
  #sh: ChildProcess | undefined;
  #out = '';
  #seq = 0;
  #tail: Promise<unknown> = Promise.resolve();
  #pending: { marker: string; done: (r: { code: number; output: string } | Error) => void } | undefined;

  run(argv: string[]): Promise<{ code: number; output: string }> {
    const next = this.#tail.then(() => this.#runNow(argv));
    this.#tail = next.catch(() => undefined);
    return next;
  }

  #shell(): ChildProcess {
    if (this.#sh && this.#sh.exitCode === null && this.#sh.signalCode === null) return this.#sh;
    // Each command's own errors (a missing binary too) arrive on stdout, see #runNow.
    const sh = spawn('sh', ['-s'], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.#sh = sh;
    this.#out = '';
    const onData = (d: Buffer) => {
      if (this.#sh !== sh) return;
      this.#out += d.toString();
      const p = this.#pending;
      if (!p) return;
      const at = this.#out.indexOf(`\n${p.marker} `);
      if (at < 0) return;
      const end = this.#out.indexOf('\n', at + 1 + p.marker.length);
      if (end < 0) return;
      const code = Number(this.#out.slice(at + 2 + p.marker.length, end));
      const output = this.#out.slice(0, at);
      this.#out = this.#out.slice(end + 1);
      this.#pending = undefined;
      p.done({ code, output });
    };
    sh.stdout!.on('data', onData);
    sh.stdin!.on('error', () => undefined);
    sh.on('error', (err) => this.#fail(sh, err));
    sh.on('exit', (code, signal) => this.#fail(sh, new Error(`the mount helper shell exited (${signal ?? `exit status ${code}`})`)));
    return sh;
  }

  #fail(sh: ChildProcess, err: Error): void {
    if (this.#sh !== sh) return;
    this.#sh = undefined;
    const p = this.#pending;
    this.#pending = undefined;
    p?.done(err);
  }

  #setRef(sh: ChildProcess, ref: boolean): void {
    for (const h of [sh, sh.stdin, sh.stdout] as Array<{ ref?: () => void; unref?: () => void } | null>) {
      if (ref) h?.ref?.();
      else h?.unref?.();
    }
  }

  #runNow(argv: string[]): Promise<{ code: number; output: string }> {
    const sh = this.#shell();
    const marker = `@@flotilla-done-${process.pid}-${++this.#seq}@@`;
    this.#setRef(sh, true);
    return new Promise<{ code: number; output: string }>((resolve, reject) => {
      const timer = setTimeout(() => {
        sh.kill('SIGKILL');
        this.#fail(sh, new Error(`timed out after ${COMMAND_TIMEOUT_MS / 1000} s`));
      }, COMMAND_TIMEOUT_MS);
      this.#pending = {
        marker,
        done: (r) => {
          clearTimeout(timer);
          if (this.#sh === sh) this.#setRef(sh, false);
          if (r instanceof Error) reject(r);
          else resolve(r);
        },
      };
      // The marker follows a newline of its own, so output without a final newline is kept whole.
      sh.stdin!.write(`{ ${argv.map(shQuote).join(' ')}; } </dev/null 2>&1; printf '\\n%s %d\\n' '${marker}' "$?"\n`);
    });
  }
}

const runner = new CommandRunner();

async function exec(cmd: string, args: string[]): Promise<void> {
  // Upstream's wording (mount-utils MountError).
  const what = cmd === 'mount' ? 'Mounting' : 'Unmounting';
  const failed = (reason: string, output: string) =>
    new Error(`${cmd === 'mount' ? 'mount' : 'unmount'} failed: ${reason}\n${what} command: ${cmd}\n${what} arguments: ${args.join(' ')}\nOutput: ${output.trim()}`);
  let r: { code: number; output: string };
  try {
    r = await runner.run([cmd, ...args]);
  } catch (err) {
    throw failed((err as Error).message, '');
  }
  if (r.code !== 0) throw failed(`exit status ${r.code}`, r.output);
}

/** tmpfs takes `noswap` from Linux 6.4 (upstream adds it to memory-backed volumes where it can). */
export function tmpfsNoswapSupported(kernelRelease = release()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 6 || (major === 6 && minor >= 4);
}

/** `mount -t tmpfs -o <options> tmpfs <dir>` (upstream MountSensitiveWithoutSystemd). */
export async function mountTmpfs(dir: string, options: string[]): Promise<void> {
  await exec('mount', ['-t', 'tmpfs', ...(options.length > 0 ? ['-o', options.join(',')] : []), 'tmpfs', dir]);
}

/**
 * Unmounts everything at or below `dir`, most recent first: `umount`, then a lazy
 * `umount -l` for a busy one (it detaches now and goes once unused). Rejects if a mount
 * is still there afterwards, so callers never remove files through a mount.
 */
export async function unmountUnder(dir: string): Promise<number> {
  let n = 0;
  // Mounts can be stacked on one point: look again until none is left.
  for (let pass = 0; pass < 5; pass++) {
    const mounts = await mountsUnder(dir);
    if (mounts.length === 0) return n;
    for (const m of mounts) {
      try {
        await exec('umount', [m.mountPoint]);
      } catch {
        await exec('umount', ['-l', m.mountPoint]).catch(() => undefined);
      }
      n++;
    }
  }
  const left = await mountsUnder(dir);
  if (left.length > 0) throw new Error(`cannot unmount ${left.map((m) => m.mountPoint).join(', ')}: still mounted after umount -l`);
  return n;
}
