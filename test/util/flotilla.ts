/**
 * Runs the real `flotilla` CLI as a child process, from whichever form the tests run in:
 * compiled (dist/, after `npm run build`) or TypeScript sources through tsx (`--dev`).
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fromSources = import.meta.url.endsWith('.ts');
/** Repository root (works from test/util and from dist/test/util). */
export const repoRoot = fromSources ? resolve(here, '../..') : resolve(here, '../../..');

/** node arguments that start the CLI: [flags..., script]. */
export function flotillaNodeArgs(): string[] {
  // FLOTILLA_NODE_ARGS adds node flags to every CLI child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p" to profile a benchmark's server.
  const extra = (process.env.FLOTILLA_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return [...extra, ...flotillaEntry()];
}

function flotillaEntry(): string[] {
  return fromSources
    ? ['--import', 'tsx', join(repoRoot, 'src/cmd/flotilla.ts')]
    : ['--enable-source-maps', join(repoRoot, 'dist/src/cmd/flotilla.js')];
}

export interface Spawned {
  proc: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  stdout(): string;
  /** SIGKILL (default) or another signal; resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Ctrl-C: SIGINT to its process group (ownGroup) or to the process. */
  interrupt(): void;
  exited: Promise<number | null>;
}

/**
 * Starts the CLI. With `ownGroup` it leads a process group of its own, as a command started
 * in a terminal does, and `interrupt()` sends SIGINT to the whole group, as Ctrl-C does.
 */
export function spawnFlotilla(args: string[], env: Record<string, string> = {}, opts: { ownGroup?: boolean } = {}): Spawned {
  const proc = spawn(process.execPath, [...flotillaNodeArgs(), ...args], {
    env: { ...process.env, FLOTILLA_LOG_LEVEL: process.env.FLOTILLA_LOG_LEVEL ?? 'info', FLOTILLA_STOP_WITH_PARENT: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.ownGroup ?? false,
  });
  let err = '';
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    stderr: () => err,
    stdout: () => out,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
    interrupt() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      if (opts.ownGroup) process.kill(-proc.pid!, 'SIGINT');
      else proc.kill('SIGINT');
    },
  };
}

export function runFlotilla(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [...flotillaNodeArgs(), ...args], {
    input: opts.input,
    encoding: 'utf8',
    env: { ...process.env, FLOTILLA_LOG_LEVEL: 'warn', ...opts.env },
    timeout: 60_000,
  });
}
