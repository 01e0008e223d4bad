/**
 * Exclusive ownership of a data directory: two stores appending to one WAL would corrupt
 * it. The lock is a file `LOCK` holding the owner's pid. A lock left by a process that no
 * longer runs (crash, SIGKILL) is taken over; so is one carrying our own pid that this
 * process does not hold (a container restarted as pid 1 again).
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DirLock {
  private constructor(private readonly path: string) {}

  static async acquire(dir: string): Promise<DirLock> {
    const path = join(resolve(dir), 'LOCK');
    if (heldHere.has(path)) throw new Error(`mvcc: data directory ${dir} is already open in this process`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(path, 'wx');
        try {
          await fh.writeFile(`${process.pid}\n`);
        } finally {
          await fh.close();
        }
        heldHere.add(path);
        return new DirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(`mvcc: data directory ${dir} is in use by process ${pid} (lock file ${path})`);
      }
      await rm(path, { force: true });
    }
    throw new Error(`mvcc: could not lock data directory ${dir}`);
  }

  async release(): Promise<void> {
    heldHere.delete(this.path);
    await rm(this.path, { force: true });
  }
}
