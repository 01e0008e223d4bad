/**
 * The host mounts the kubelet makes itself — the tmpfs of memory-backed volumes — after
 * upstream's k8s.io/mount-utils on Linux: the `mount`/`umount` binaries do the work and
 * /proc/self/mountinfo says what is mounted where.
 */
import { execFile } from 'node:child_process';
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

function exec(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (!err) return resolve();
      // Upstream's wording (mount-utils MountError).
      const what = cmd === 'mount' ? 'Mounting' : 'Unmounting';
      reject(new Error(`${cmd === 'mount' ? 'mount' : 'unmount'} failed: ${err.message.split('\n')[0]}\n${what} command: ${cmd}\n${what} arguments: ${args.join(' ')}\nOutput: ${`${stdout}${stderr}`.trim()}`));
    });
  });
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
