/**
 * The data dir of `flotilla up`: its format stamp and the one-line refusals for a data dir
 * this Flotilla must not open.
 *
 * `DIR/flotilla.json` = {"format": 1, "createdBy": "<flotilla version>"}, written by the first
 * `up` on a dir. A later Flotilla that changes the layout incompatibly bumps `format`; an
 * older one then refuses the dir instead of misreading it. A dir written before the stamp
 * existed (it has `etcd/` but no stamp) is adopted and stamped.
 *
 * The checks run before anything is written, so a refused dir is left exactly as it was.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMvccError } from '../storage/mvcc/errors.js';
import { WalCorruptError } from '../storage/mvcc/wal.js';
import { version } from './version.js';

/** The data dir format this Flotilla writes and the newest one it reads. */
export const DATA_DIR_FORMAT = 1;
export const STAMP_FILE = 'flotilla.json';

export interface DataDirStamp {
  format: number;
  createdBy: string;
}

/**
 * Entries `flotilla up` itself puts in a data dir (see up.ts). A dir holding only these is
 * Flotilla's even without a stamp: `images/` may be filled before the first `up` (air-gap).
 */
const KNOWN_ENTRIES = new Set([STAMP_FILE, 'etcd', 'pki', 'admin.conf', 'containerd', 'images', 'kubelet', 'pod-logs', 'manifests', 'lost+found']);

/** Thrown for a data dir `up` refuses; the message is the one line to show. */
export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

/** Reads DIR/flotilla.json: undefined when absent; DataDirError when unreadable. */
export async function readStamp(dir: string): Promise<DataDirStamp | undefined> {
  const path = join(dir, STAMP_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw new DataDirError(`data dir ${dir} is a file, not a directory: pass another --data-dir`);
    throw new DataDirError(`data dir ${dir}: cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const format = (parsed as { format?: unknown } | undefined)?.format;
  if (typeof format !== 'number' || !Number.isInteger(format) || format < 1) {
    throw new DataDirError(`data dir ${dir}: ${path} is damaged (want {"format": <number>, ...}): restore it, or remove it if the dir is a Flotilla data dir`);
  }
  const createdBy = (parsed as { createdBy?: unknown }).createdBy;
  return { format, createdBy: typeof createdBy === 'string' ? createdBy : '' };
}

/**
 * Makes sure `up` may use dir, creating it and writing the stamp when it is new. Throws a
 * DataDirError whose message is one line saying what is wrong and what to do when the dir
 * was written by a newer Flotilla or is not a Flotilla data dir at all.
 */
export async function prepareDataDir(dir: string): Promise<{ stamp: DataDirStamp; created: boolean }> {
  const stamp = await readStamp(dir);
  if (stamp) {
    if (stamp.format > DATA_DIR_FORMAT) {
      throw new DataDirError(
        `data dir ${dir} was written by a newer Flotilla (format ${stamp.format}; this one reads up to ${DATA_DIR_FORMAT}): upgrade flotilla or use another --data-dir`,
      );
    }
    return { stamp, created: false };
  }
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new DataDirError(`data dir ${dir}: ${(err as Error).message}`);
    entries = [];
  }
  const foreign = entries.filter((e) => !KNOWN_ENTRIES.has(e)).sort();
  if (!entries.includes('etcd') && foreign.length > 0) {
    const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? `, … (${foreign.length} entries)` : '');
    throw new DataDirError(
      `data dir ${dir} is not empty and is not a Flotilla data dir (no ${STAMP_FILE}, no etcd/; it holds ${shown}): pass an empty or new directory with --data-dir`,
    );
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const created: DataDirStamp = { format: DATA_DIR_FORMAT, createdBy: version };
  // Written whole under a temporary name, so a crash never leaves half a stamp.
  const tmp = join(dir, `.${STAMP_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(created) + '\n', { mode: 0o600 });
  await rename(tmp, join(dir, STAMP_FILE));
  return { stamp: created, created: true };
}

/**
 * The one line for a store that cannot be opened because its files are damaged (the
 * embedded store's WalCorruptError / MvccError 'Corrupt'), or undefined for any other error.
 * `storeDir` is the store's directory (DIR/etcd).
 */
export function explainCorruptStore(err: unknown, storeDir: string): string | undefined {
  const restore =
    `restore from a backup: move ${storeDir} away, then \`flotilla etcd snapshot restore BACKUP.db --data-dir ${storeDir}\` ` +
    '(a file taken with `etcdctl snapshot save`)';
  if (err instanceof WalCorruptError) {
    // Without a damaged log segment the store loses only that segment's records; a snapshot
    // is the only copy of everything before it (the log was truncated after it was taken).
    const lossy = err.file.endsWith('.wal') ? ', or move that file away if losing its records is acceptable' : '';
    return `store: ${err.file} is corrupt at byte offset ${err.offset}; ${restore}${lossy}`;
  }
  if (isMvccError(err, 'Corrupt')) {
    return `store: the data in ${storeDir} is corrupt (${err.message}); ${restore}`;
  }
  return undefined;
}
