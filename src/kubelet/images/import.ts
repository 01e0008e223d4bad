/**
 * Importing image archives into containerd without a registry: OCI image archives (ours,
 * `ctr export`, skopeo/buildah `oci-archive:`) and Docker archives (`docker save`), plain
 * or gzip-compressed. The work is done by containerd's own importer through `ctr` (Debian's
 * containerd package ships it), into the `k8s.io` namespace the CRI plugin serves, so the
 * kubelet's ImageStatus sees the images at once.
 *
 * Failures come back as one line that says what is wrong: a missing file, a file that is
 * not an image archive, containerd not reachable on its socket, `ctr` not installed.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Logger } from '../../util/log.js';

export interface ImportOptions {
  /** containerd namespace; the CRI plugin's is "k8s.io" (default). */
  namespace?: string;
  /** The ctr binary (default "ctr", from PATH). */
  ctr?: string;
  /** Import every platform of a multi-platform archive, not only this machine's. */
  allPlatforms?: boolean;
}

export interface ImportedArchive {
  file: string;
  /** The image names containerd created or updated, e.g. "docker.io/library/nginx:latest". */
  images: string[];
}

/** Archive kinds recognised from the first bytes of a file. */
export type ArchiveKind = 'tar' | 'gzip';

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** What kind of archive `file` is, or a one-line error for a missing/unreadable/non-archive file. */
export async function sniffArchive(file: string): Promise<ArchiveKind> {
  let head: Buffer;
  try {
    const fh = await open(file, 'r');
    try {
      if ((await fh.stat()).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      head = Buffer.alloc(512);
      const { bytesRead } = await fh.read(head, 0, 512, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT') throw new Error(`image archive ${file}: no such file`);
    if (code === 'EISDIR') throw new Error(`image archive ${file}: is a directory, want a .tar file (docker save, ctr export or an OCI archive)`);
    throw new Error(`image archive ${file}: ${code ?? (err as Error).message}`);
  }
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  // POSIX "ustar\0" and GNU "ustar  " both start with "ustar" at offset 257.
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  throw new Error(`image archive ${file}: not a tar archive (want the output of docker save, ctr export or an OCI image archive)`);
}

/** Fails with a one-line error unless a unix socket is at `socketPath`. */
export async function checkSocket(socketPath: string): Promise<void> {
  try {
    if (!(await stat(socketPath)).isSocket()) throw new Error(`containerd is not reachable: ${socketPath} is not a socket`);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw new Error(`containerd is not reachable: no socket at ${socketPath}`);
    throw err;
  }
}

/** The image names in ctr's import output ("unpacking NAME (sha256:…)...done" per image). */
export function parseCtrImportOutput(out: string): string[] {
  const names: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^unpacking (\S+) \(sha256:[0-9a-f]+\)/.exec(line.trim());
    if (m && !names.includes(m[1]!)) names.push(m[1]!);
  }
  return names;
}

/** ctr's error output as one line that says what went wrong. */
export function explainCtrError(file: string, socketPath: string, stderr: string): string {
  const msg = stderr.trim().split('\n').filter(Boolean).pop()?.replace(/^ctr: /, '') ?? '';
  if (/failed to dial|connection refused|connection error/.test(msg)) return `containerd is not reachable at ${socketPath}: ${msg}`;
  if (/unrecognized image format/.test(msg)) return `image archive ${file}: not an image archive (a tar without index.json or manifest.json)`;
  if (/invalid tar header|unexpected EOF/.test(msg)) return `image archive ${file}: damaged or truncated tar (${msg})`;
  if (/content digest .* not found|not found/.test(msg)) return `image archive ${file}: incomplete image (${msg})`;
  return `importing ${file}: ${msg || 'ctr failed'}`;
}

/**
 * Imports image archives into the containerd at `socketPath`, one after the other; resolves
 * with the images each created. Rejects at the first failure with a one-line message.
 */
export async function importImages(socketPath: string, files: readonly string[], opts: ImportOptions = {}): Promise<ImportedArchive[]> {
  const kinds: ArchiveKind[] = [];
  // Check every file first: a typo in the third name should not leave two imported.
  for (const f of files) kinds.push(await sniffArchive(f));
  await checkSocket(socketPath);
  const out: ImportedArchive[] = [];
  for (const [i, file] of files.entries()) out.push({ file, images: await importOne(socketPath, file, kinds[i]!, opts) });
  return out;
}

function importOne(socketPath: string, file: string, kind: ArchiveKind, opts: ImportOptions): Promise<string[]> {
  const ctr = opts.ctr ?? 'ctr';
  const args = ['--address', socketPath, '--connect-timeout', '10s', '-n', opts.namespace ?? 'k8s.io', 'images', 'import'];
  if (opts.allPlatforms) args.push('--all-platforms');
  // ctr reads only plain tar: a compressed archive is decompressed into its stdin.
  args.push(kind === 'gzip' ? '-' : file);
  return new Promise((resolve, reject) => {
    const proc = spawn(ctr, args, { stdio: [kind === 'gzip' ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    let inputError: Error | undefined;
    let input: NodeJS.ReadableStream & { destroy(): void } | undefined;
    if (kind === 'gzip') {
      input = createReadStream(file).pipe(createGunzip());
      input.on('error', (err) => {
        inputError = new Error(`image archive ${file}: damaged gzip data (${err.message})`);
        proc.stdin!.destroy();
      });
      proc.stdin!.on('error', () => { /* ctr exited early: its stderr says why */ });
      input.pipe(proc.stdin!);
    }
    proc.once('error', (err) => {
      reject(errorCode(err) === 'ENOENT'
        ? new Error(`cannot import images: ${ctr} not found (install the containerd package, which ships ctr)`)
        : new Error(`cannot run ${ctr}: ${err.message}`));
    });
    proc.once('close', (code) => {
      input?.destroy(); // ctr may stop reading early (a bad archive): free the file.
      if (inputError) return reject(inputError);
      if (code !== 0) return reject(new Error(explainCtrError(file, socketPath, stderr)));
      resolve(parseCtrImportOutput(stdout));
    });
  });
}

/** Names of the image archives in an air-gap images folder: *.tar, *.tar.gz, *.tgz, sorted. */
export async function listImageArchives(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return [];
    throw err;
  }
  return names.filter((n) => /\.(tar|tar\.gz|tgz)$/.test(n) && !n.startsWith('.')).sort().map((n) => join(dir, n));
}

/**
 * Imports every archive of an air-gap images folder (as k3s imports
 * /var/lib/rancher/k3s/agent/images at start). A missing folder imports nothing; an archive
 * that fails is logged and skipped so one bad file does not keep the node down. Resolves
 * with what was imported.
 */
export async function importImagesFolder(dir: string, opts: ImportOptions & { socketPath: string; logger?: Logger }): Promise<ImportedArchive[]> {
  const files = await listImageArchives(dir);
  const out: ImportedArchive[] = [];
  for (const file of files) {
    try {
      const [r] = await importImages(opts.socketPath, [file], opts);
      out.push(r!);
      opts.logger?.info({ file, images: r!.images }, 'imported image archive');
    } catch (err) {
      opts.logger?.warn({ file, err: (err as Error).message }, 'cannot import image archive; skipped');
    }
  }
  return out;
}
