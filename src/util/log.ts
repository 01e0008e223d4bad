/**
 * Structured logging: one JSON object per line on stderr (pino), every line tagged with
 * its component. Level from FLOTILLA_LOG_LEVEL (trace|debug|info|warn|error|silent),
 * default info.
 *
 * A process hosting several components (`flotilla up`) can also write each component's
 * lines to a file of its own (logComponentsToFiles): stderr is unchanged, and the file gets
 * the same JSON lines, as a kubeadm node keeps one log per control-plane pod.
 */
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger as PinoLogger, type LoggerOptions, type StreamEntry } from 'pino';

export type Logger = PinoLogger;

let root: Logger | undefined;

/** Loggers writing to stderr and a component's file, by logger component name. */
const fileLoggers = new Map<string, Logger>();

function loggerOptions(): LoggerOptions {
  return {
    level: process.env.FLOTILLA_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

function stderr() {
  return pino.destination({ fd: 2, sync: true });
}

function rootLogger(): Logger {
  root ??= pino(loggerOptions(), stderr());
  return root;
}

/** A logger for one component (e.g. "etcdserver", "mvcc"), with optional fixed fields. */
export function newLogger(component: string, fields: Record<string, unknown> = {}): Logger {
  return (fileLoggers.get(component) ?? rootLogger()).child({ component, ...fields });
}

/** A logger that drops everything; for tests and benchmarks that must stay quiet. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Default size at which a component's log file is rotated: 10 MiB. */
export const DEFAULT_LOG_FILE_MAX_BYTES = 10 * 1024 * 1024;

/**
 * An append-only log file that never holds more than about maxBytes: a write that would
 * take it past maxBytes first renames it to `<path>.1` (replacing the previous one) and
 * starts a new file, so at most two files of maxBytes exist. Writes are synchronous and
 * whole lines, like the stderr destination, so a crash loses no line and a reader that
 * follows the file by name (`tail -F`) sees whole lines and picks up the new file.
 */
export class RotatingLogFile {
  readonly path: string;
  readonly maxBytes: number;
  #fd: number;
  #size: number;

  /**
   * Opens `path` (its folder is created). With rotateExisting, a file left by an earlier
   * process becomes `<path>.1` first, so the file holds only this process's lines.
   */
  constructor(opts: { path: string; maxBytes?: number; rotateExisting?: boolean }) {
    this.path = opts.path;
    this.maxBytes = opts.maxBytes ?? DEFAULT_LOG_FILE_MAX_BYTES;
    if (!(this.maxBytes > 0)) throw new Error(`log file ${opts.path}: maxBytes ${this.maxBytes} must be positive`);
    mkdirSync(join(opts.path, '..'), { recursive: true, mode: 0o755 });
    if (opts.rotateExisting) {
      try {
        renameSync(opts.path, `${opts.path}.1`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    this.#fd = openSync(opts.path, 'a', 0o644);
    this.#size = fstatSync(this.#fd).size;
  }

  /** Appends one chunk (pino writes one line per call). */
  write(chunk: string): boolean {
    if (this.#fd < 0) return false;
    const buf = Buffer.from(chunk, 'utf8');
    if (this.#size > 0 && this.#size + buf.length > this.maxBytes) this.#rotate();
    writeSync(this.#fd, buf);
    this.#size += buf.length;
    return true;
  }

  #rotate(): void {
    closeSync(this.#fd);
    renameSync(this.path, `${this.path}.1`);
    this.#fd = openSync(this.path, 'a', 0o644);
    this.#size = 0;
  }

  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }
}

export interface ComponentLogFilesOptions {
  /** The folder of the files (created if missing). */
  dir: string;
  /**
   * Logger component name → file name without ".log": { mvcc: 'etcd', etcdserver: 'etcd' }
   * sends newLogger('mvcc') and newLogger('etcdserver') (and their children) to etcd.log.
   */
  files: Record<string, string>;
  /** Rotation size of each file (default DEFAULT_LOG_FILE_MAX_BYTES). */
  maxBytes?: number;
}

export interface ComponentLogFiles {
  /** The path of each file, by file name without ".log". */
  paths: Record<string, string>;
  /** Stops writing to the files (newLogger goes back to stderr only) and closes them. */
  close(): void;
}

/**
 * From now on, newLogger(component) for a component named in `files` writes each line to
 * stderr as before AND to `<dir>/<file>.log`. Loggers created earlier keep writing to stderr
 * only, so call this before starting the components. Each file starts empty: what an earlier
 * process left there becomes `<file>.log.1`; while running, a file is rotated at maxBytes
 * (RotatingLogFile). One set of files per process: a second call closes the first.
 */
export function logComponentsToFiles(opts: ComponentLogFilesOptions): ComponentLogFiles {
  closeFiles?.();
  const byFile = new Map<string, RotatingLogFile>();
  const paths: Record<string, string> = {};
  const options = loggerOptions();
  try {
    for (const [component, file] of Object.entries(opts.files)) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file)) throw new Error(`log file name ${JSON.stringify(file)} for component ${component}: want letters, digits, '.', '_' or '-'`);
      let f = byFile.get(file);
      if (!f) {
        f = new RotatingLogFile({ path: join(opts.dir, `${file}.log`), maxBytes: opts.maxBytes, rotateExisting: true });
        byFile.set(file, f);
        paths[file] = f.path;
      }
      // Every stream takes every line the logger lets through: the logger's level decides.
      const streams: StreamEntry[] = [
        { level: 'trace', stream: stderr() },
        { level: 'trace', stream: f },
      ];
      fileLoggers.set(component, pino(options, pino.multistream(streams)));
    }
  } catch (err) {
    for (const f of byFile.values()) f.close();
    fileLoggers.clear();
    throw err;
  }
  const close = () => {
    if (closeFiles !== close) return;
    closeFiles = undefined;
    fileLoggers.clear();
    for (const f of byFile.values()) f.close();
  };
  closeFiles = close;
  return { paths, close };
}

let closeFiles: (() => void) | undefined;
