/**
 * What `kubectl exec` and exec probes get from a simulated container: the simulated
 * runtime runs no processes, so a few commands are answered from what the container
 * would see (its hostname, environment, working directory), and everything else is
 * refused with a message saying so — never a made-up success.
 *
 * Understood, alone or as `sh -c "a; b && c"` statements: `echo [-n] …`, `printf …`,
 * `hostname`, `cat /etc/hostname`, `env`, `printenv [VAR]`, `pwd`, `whoami`, `id`, `true`,
 * `:`, `false`, `exit N`, `sleep N` (returns at once), and `cat` with no file (copies stdin to
 * stdout, so `kubectl exec -i … -- cat` works).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import type { Clock } from '../util/clock.js';
import { RuntimeError, type ContainerConfig, type PodSandboxConfig, type PodSandboxStatus, type StreamOptions, type StreamSession } from './runtime.js';

export interface SimulatedExecContext {
  hostname: string;
  env: Array<{ key: string; value: string }>;
  workingDir?: string;
}

export type SimulatedExecOutcome =
  | { kind: 'done'; stdout: string; stderr: string; exitCode: number }
  /** Copy stdin to stdout until stdin ends, then exit 0. */
  | { kind: 'cat' }
  | { kind: 'unsupported'; command: string };

/** The message for a command the simulated runtime cannot run. */
export function unsupportedExecMessage(command: string): string {
  return `simulated runtime runs no processes: "${command}" cannot be executed (understood: echo, printf, hostname, cat, env, printenv, pwd, whoami, id, true, false, exit, sleep)`;
}

function unquote(s: string): string {
  if (s.length >= 2 && ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'")))) return s.slice(1, -1);
  return s;
}

/** Splits a shell statement into words, keeping quoted spans together. */
function words(statement: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(statement); m; m = re.exec(statement)) out.push(m[1] ?? m[2] ?? unquote(m[3]!));
  return out;
}

function printfFormat(fmt: string, args: string[]): string {
  let i = 0;
  return fmt
    .replace(/%[sd]/g, () => args[i++] ?? '')
    .replace(/\\n/g, '\n')
    .replace(/\\t/g, '\t');
}

/** Runs argv (see the module comment). */
export function simulateExec(argv: string[], ctx: SimulatedExecContext): SimulatedExecOutcome {
  if (argv.length === 0) return { kind: 'unsupported', command: '' };
  const base = (s: string) => s.slice(s.lastIndexOf('/') + 1);
  let statements: string[][];
  if (['sh', 'bash', 'ash'].includes(base(argv[0]!)) && argv[1] === '-c' && argv.length >= 3) {
    statements = argv[2]!.split(/;|&&|\n/).map((s) => words(s.trim())).filter((s) => s.length > 0);
  } else {
    statements = [argv];
  }
  if (statements.length === 1 && base(statements[0]![0]!) === 'cat' && (statements[0]!.length === 1 || statements[0]![1] === '-')) return { kind: 'cat' };
  let stdout = '';
  const stderr = '';
  let code = 0;
  const envMap = new Map(ctx.env.map((e) => [e.key, e.value]));
  if (!envMap.has('HOSTNAME')) envMap.set('HOSTNAME', ctx.hostname);
  for (const st of statements) {
    const cmd = base(st[0]!);
    const args = st.slice(1);
    switch (cmd) {
      case 'echo': {
        const noNewline = args[0] === '-n';
        stdout += (noNewline ? args.slice(1) : args).join(' ') + (noNewline ? '' : '\n');
        code = 0;
        break;
      }
      case 'printf':
        stdout += printfFormat(args[0] ?? '', args.slice(1));
        code = 0;
        break;
      case 'hostname':
        stdout += `${ctx.hostname}\n`;
        code = 0;
        break;
      case 'cat':
        if (args.length === 1 && args[0] === '/etc/hostname') {
          stdout += `${ctx.hostname}\n`;
          code = 0;
        } else {
          return { kind: 'unsupported', command: st.join(' ') };
        }
        break;
      case 'env':
        if (args.length) return { kind: 'unsupported', command: st.join(' ') };
        for (const [k, v] of envMap) stdout += `${k}=${v}\n`;
        code = 0;
        break;
      case 'printenv':
        if (args.length === 0) {
          for (const [k, v] of envMap) stdout += `${k}=${v}\n`;
          code = 0;
        } else {
          code = 0;
          for (const a of args) {
            if (envMap.has(a)) stdout += `${envMap.get(a)}\n`;
            else code = 1;
          }
        }
        break;
      case 'pwd':
        stdout += `${ctx.workingDir || '/'}\n`;
        code = 0;
        break;
      case 'whoami':
        stdout += 'root\n';
        code = 0;
        break;
      case 'id':
        stdout += 'uid=0(root) gid=0(root) groups=0(root)\n';
        code = 0;
        break;
      case 'true':
      case ':':
        code = 0;
        break;
      case 'false':
        code = 1;
        break;
      case 'sleep':
        code = 0;
        break;
      case 'exit': {
        const n = Number(args[0] ?? String(code));
        return { kind: 'done', stdout, stderr, exitCode: Number.isInteger(n) ? ((n % 256) + 256) % 256 : 2 };
      }
      default:
        return { kind: 'unsupported', command: st.join(' ') };
    }
  }
  return { kind: 'done', stdout, stderr, exitCode: code };
}

// ---- the streaming side of SimulatedRuntime ------------------------------------------

interface SandboxInfo {
  hostname: string;
  /** Directory name of its logs (<ns>_<pod>_<uid>). */
  logName: string;
  namespace: string;
  name: string;
}

interface ContainerInfo {
  ctx: SimulatedExecContext;
  argv: string[];
  name: string;
  logPath: string;
  onExit: Set<() => void>;
}

export interface SimulatedStreamsOptions {
  clock: Clock;
  logDir?: string;
  portForward?: (sandbox: PodSandboxStatus, port: number) => { host: string; port: number } | undefined;
}

/** RFC3339Nano of a millisecond time, as containerd stamps log lines. */
function logTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000000Z');
}

/**
 * exec, attach, port-forward and log files for {@link SimulatedRuntime}: it reports
 * sandboxes and containers here as they come and go, and delegates the streaming calls.
 */
export class SimulatedStreams {
  readonly #o: SimulatedStreamsOptions;
  readonly #sandboxes = new Map<string, SandboxInfo>();
  readonly #containers = new Map<string, ContainerInfo>();

  constructor(opts: SimulatedStreamsOptions) {
    this.#o = opts;
  }

  sandboxCreated(id: string, config: PodSandboxConfig): void {
    this.#sandboxes.set(id, {
      hostname: config.hostname ?? config.name,
      logName: config.logDirectory ? basename(config.logDirectory) : `${config.namespace}_${config.name}_${config.uid}`,
      namespace: config.namespace,
      name: config.name,
    });
  }

  sandboxRemoved(id: string): void {
    this.#sandboxes.delete(id);
  }

  /** Records a new container; returns its log path ('' without a logDir). */
  containerCreated(id: string, sandboxId: string, config: ContainerConfig): string {
    const sb = this.#sandboxes.get(sandboxId);
    const logPath = this.#o.logDir && sb ? join(this.#o.logDir, sb.logName, config.logPath ?? `${config.name}/${config.attempt}.log`) : '';
    this.#containers.set(id, {
      ctx: { hostname: sb?.hostname ?? config.name, env: [...config.env], workingDir: config.workingDir },
      argv: [...config.command, ...config.args],
      name: config.name,
      logPath,
      onExit: new Set(),
    });
    return logPath;
  }

  /** Writes the container's start lines to its log. */
  containerStarted(id: string): void {
    const c = this.#containers.get(id);
    if (!c?.logPath) return;
    const ts = logTimestamp(this.#o.clock.now());
    const lines = [`simulated container ${c.name} started`];
    const r = simulateExec(c.argv, c.ctx);
    if (r.kind === 'done') lines.push(...r.stdout.split('\n').slice(0, -1));
    try {
      mkdirSync(dirname(c.logPath), { recursive: true });
      appendFileSync(c.logPath, lines.map((l) => `${ts} stdout F ${l}\n`).join(''));
    } catch {
      // A log that cannot be written is no reason to fail the container.
    }
  }

  containerExited(id: string): void {
    const c = this.#containers.get(id);
    if (c) for (const f of [...c.onExit]) f();
  }

  containerRemoved(id: string): void {
    this.containerExited(id);
    this.#containers.delete(id);
  }

  exec(id: string, cmd: string[], opts: StreamOptions): StreamSession {
    const c = this.#containers.get(id);
    const r = simulateExec(cmd, c?.ctx ?? { hostname: '', env: [] });
    if (r.kind === 'unsupported') throw new RuntimeError('Unknown', unsupportedExecMessage(r.command));
    const stdin = opts.stdin ? new PassThrough() : undefined;
    const stdout = opts.stdout ? new PassThrough() : undefined;
    const stderr = opts.stderr && !opts.tty ? new PassThrough() : undefined;
    // A terminal turns "\n" into "\r\n".
    const term = (s: string) => (opts.tty ? s.replace(/\r?\n/g, '\r\n') : s);
    let finish!: (v: { exitCode?: number }) => void;
    const done = new Promise<{ exitCode?: number; message?: string }>((resolve) => (finish = resolve));
    if (r.kind === 'cat') {
      const exit = () => {
        stdout?.end();
        stderr?.end();
        finish({ exitCode: 0 });
      };
      if (!stdin) exit();
      else {
        stdin.on('data', (d: Buffer) => stdout?.write(opts.tty ? Buffer.from(term(d.toString())) : d));
        stdin.on('end', exit);
      }
    } else {
      stdin?.resume();
      stdout?.end(term(r.stdout));
      stderr?.end(r.stderr);
      finish({ exitCode: r.exitCode });
    }
    return {
      stdin,
      stdout,
      stderr,
      resize: () => {},
      done,
      close: () => {
        stdin?.destroy();
        stdout?.destroy();
        stderr?.destroy();
        finish({ exitCode: 0 });
      },
    };
  }

  /** Attaching shows no new output (nothing runs); the session ends when the container exits. */
  attach(id: string, opts: StreamOptions): StreamSession {
    const c = this.#containers.get(id);
    const stdin = opts.stdin ? new PassThrough() : undefined;
    stdin?.resume();
    const stdout = opts.stdout ? new PassThrough() : undefined;
    const stderr = opts.stderr && !opts.tty ? new PassThrough() : undefined;
    let finish!: (v: { exitCode?: number }) => void;
    const done = new Promise<{ exitCode?: number; message?: string }>((resolve) => (finish = resolve));
    const end = () => {
      c?.onExit.delete(end);
      stdout?.end();
      stderr?.end();
      finish({});
    };
    c?.onExit.add(end);
    return { stdin, stdout, stderr, resize: () => {}, done, close: end };
  }

  portForward(sandbox: PodSandboxStatus, port: number): Promise<Duplex> {
    const to = this.#o.portForward?.(sandbox, port);
    if (!to) return Promise.reject(new RuntimeError('Unknown', `simulated runtime runs no processes: nothing listens on port ${port} in pod ${sandbox.namespace}/${sandbox.name}`));
    return new Promise((resolve, reject) => {
      const s = netConnect({ host: to.host, port: to.port });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', (err) => reject(new RuntimeError('Unknown', `failed to connect to localhost:${port} inside namespace "${sandbox.id}": ${err.message}`)));
    });
  }
}
