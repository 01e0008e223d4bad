/**
 * The little shell the simulated runtime understands for ExecSync (probes, hooks,
 * `kubectl exec` without a terminal) and for the files a container's own command creates.
 *
 * Files: each simulated container has a set of files. Its command's `sh -c` script adds and
 * removes them on the injected clock: `touch F`, `echo … > F` / `>> F` create, `rm [-f] F`
 * removes, `sleep N` moves time on; the first statement it does not know (a server, a loop)
 * ends the timeline. So the classic `touch /tmp/healthy; sleep 30; rm -f /tmp/healthy;
 * sleep 600` has /tmp/healthy for its first 30 s. Commands run by ExecSync change the same
 * files.
 *
 * ExecSync scripts (argv, or `sh -c "…"` with `;`, `&&`, `||` and newlines): `cat F…`,
 * `test -f|-e|-d|-s F` and `[ … ]`, `ls F`, `touch F`, `rm [-f] F`, `echo …` (to stdout or
 * redirected), `true`, `:`, `false`, `exit N`, `sleep N` (takes that long on the clock; past
 * the timeout the call fails). Messages are busybox's (`cat: can't open '/tmp/healthy': No
 * such file or directory`). Any other command succeeds silently: a simulated process is
 * healthy unless told otherwise.
 */
import type { Clock } from '../util/clock.js';
import { RuntimeError, type ExecSyncResult } from './runtime.js';

/** A file change at `atMs` after the container started; content undefined = removed. */
export interface FileOp {
  atMs: number;
  path: string;
  content: string | undefined;
}

interface Statement {
  argv: string[];
  /** How it joins the previous statement. */
  op: ';' | '&&' | '||';
}

function unquote(tok: string): string {
  if (tok.length >= 2 && ((tok.startsWith("'") && tok.endsWith("'")) || (tok.startsWith('"') && tok.endsWith('"')))) return tok.slice(1, -1);
  return tok;
}

/** Splits a script into statements; words split on blanks, quotes kept together. */
function statements(script: string): Statement[] {
  const out: Statement[] = [];
  let op: Statement['op'] = ';';
  const re = /\s*('[^']*'|"(?:[^"\\]|\\.)*"|&&|\|\||;|\n|>>|>|[^\s;&|>'"]+(?:'[^']*'|"(?:[^"\\]|\\.)*"|[^\s;&|>'"]+)*)/g;
  let words: string[] = [];
  const flush = (next: Statement['op']) => {
    if (words.length > 0) out.push({ argv: words, op });
    words = [];
    op = next;
  };
  for (let m = re.exec(script); m; m = re.exec(script)) {
    const t = m[1]!;
    if (t === ';' || t === '\n') flush(';');
    else if (t === '&&' || t === '||') flush(t);
    else words.push(t === '>' || t === '>>' ? t : unquote(t));
  }
  flush(';');
  return out;
}

function base(s: string): string {
  return s.slice(s.lastIndexOf('/') + 1);
}

/** argv as statements: `sh -c "script"` parsed, anything else one statement. */
function parseArgv(argv: string[]): Statement[] {
  if (argv.length >= 3 && ['sh', 'bash', 'ash'].includes(base(argv[0]!)) && argv[1] === '-c') return statements(argv[2]!);
  return argv.length > 0 ? [{ argv, op: ';' }] : [];
}

function sleepMs(arg: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(arg ?? '');
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 'h' ? 3_600_000 : 1000);
}

/** Splits `echo a b > F` into the words and the redirection. */
function redirection(argv: string[]): { words: string[]; target?: string; append: boolean } {
  const i = argv.findIndex((w) => w === '>' || w === '>>');
  if (i < 0) return { words: argv, append: false };
  return { words: argv.slice(0, i), target: argv[i + 1], append: argv[i] === '>>' };
}

/** The file changes a container's own command makes (see the module comment). */
export function scriptFileOps(command: string[], args: string[]): FileOp[] {
  const ops: FileOp[] = [];
  let t = 0;
  for (const st of parseArgv([...command, ...args])) {
    const cmd = base(st.argv[0]!);
    const { words, target, append } = redirection(st.argv);
    if (cmd === 'sleep') {
      const ms = sleepMs(st.argv[1]);
      if (ms === undefined) break;
      t += ms;
    } else if (cmd === 'touch') {
      for (const p of st.argv.slice(1)) ops.push({ atMs: t, path: p, content: '' });
    } else if (cmd === 'rm') {
      for (const p of st.argv.slice(1).filter((a) => !a.startsWith('-'))) ops.push({ atMs: t, path: p, content: undefined });
    } else if (cmd === 'echo' || cmd === 'printf') {
      if (target) ops.push({ atMs: t, path: target, content: `${append ? '\u0000' : ''}${words.slice(1).join(' ')}\n` });
    } else if (!['true', ':', 'false', 'date', 'env', 'hostname', 'mkdir'].includes(cmd)) break;
  }
  return ops;
}

/** A simulated container's files: its script's timeline plus what ExecSync changed since. */
export class SimFiles {
  readonly #script: FileOp[];
  #startedAt = 0;
  readonly #changes = new Map<string, { at: number; content: string | undefined }>();

  constructor(script: FileOp[]) {
    this.#script = script;
  }

  started(at: number): void {
    this.#startedAt = at;
  }

  /** The file's content at `now`, undefined when it does not exist. */
  get(path: string, now: number): string | undefined {
    let at = -Infinity;
    let content: string | undefined;
    if (this.#startedAt > 0) {
      for (const op of this.#script) {
        if (op.path !== path || this.#startedAt + op.atMs > now) continue;
        if (this.#startedAt + op.atMs >= at) {
          at = this.#startedAt + op.atMs;
          // An appending echo adds to what was there.
          content = op.content?.startsWith('\u0000') ? (content ?? '') + op.content.slice(1) : op.content;
        }
      }
    }
    const ch = this.#changes.get(path);
    if (ch && ch.at >= at) content = ch.content;
    return content;
  }

  set(path: string, content: string | undefined, now: number): void {
    this.#changes.set(path, { at: now, content });
  }
}

/** Runs cmd against files (see the module comment); rejects past timeoutSeconds (0 = none). */
export async function simExec(cmd: string[], files: SimFiles, clock: Clock, timeoutSeconds: number): Promise<ExecSyncResult> {
  const start = clock.now();
  let stdout = '';
  let stderr = '';
  let code = 0;
  for (const st of parseArgv(cmd)) {
    if (st.op === '&&' && code !== 0) continue;
    if (st.op === '||' && code === 0) continue;
    const now = () => clock.now();
    const argv = st.argv;
    const name = base(argv[0]!);
    const { words, target, append } = redirection(argv);
    const operands = argv.slice(1).filter((a) => !a.startsWith('-'));
    code = 0;
    switch (name) {
      case 'cat':
        for (const p of operands) {
          const c = files.get(p, now());
          if (c === undefined) {
            stderr += `cat: can't open '${p}': No such file or directory\n`;
            code = 1;
          } else stdout += c;
        }
        break;
      case 'test':
      case '[': {
        const args = name === '[' ? argv.slice(1, argv[argv.length - 1] === ']' ? -1 : undefined) : argv.slice(1);
        const negate = args[0] === '!';
        const a = negate ? args.slice(1) : args;
        let ok = false;
        if (a.length === 2 && ['-f', '-e', '-d', '-r'].includes(a[0]!)) ok = files.get(a[1]!, now()) !== undefined;
        else if (a.length === 2 && a[0] === '-s') ok = (files.get(a[1]!, now()) ?? '') !== '';
        else ok = a.length > 0;
        code = ok !== negate ? 0 : 1;
        break;
      }
      case 'ls':
        for (const p of operands) {
          if (files.get(p, now()) === undefined) {
            stderr += `ls: ${p}: No such file or directory\n`;
            code = 1;
          } else stdout += `${p}\n`;
        }
        break;
      case 'touch':
        for (const p of operands) if (files.get(p, now()) === undefined) files.set(p, '', now());
        break;
      case 'rm': {
        const force = argv.slice(1).some((a) => a.startsWith('-') && a.includes('f'));
        for (const p of operands) {
          if (files.get(p, now()) === undefined) {
            if (!force) {
              stderr += `rm: can't remove '${p}': No such file or directory\n`;
              code = 1;
            }
          } else files.set(p, undefined, now());
        }
        break;
      }
      case 'echo': {
        const text = `${words.slice(1).join(' ')}\n`;
        if (target) files.set(target, append ? (files.get(target, now()) ?? '') + text : text, now());
        else stdout += text;
        break;
      }
      case 'false':
        code = 1;
        break;
      case 'exit': {
        const n = Number(argv[1] ?? '0');
        return { stdout: Buffer.from(stdout), stderr: Buffer.from(stderr), exitCode: Number.isInteger(n) ? ((n % 256) + 256) % 256 : 2 };
      }
      case 'sleep': {
        const ms = sleepMs(argv[1]) ?? 0;
        const left = timeoutSeconds > 0 ? start + timeoutSeconds * 1000 - clock.now() : Infinity;
        if (ms > left) {
          await clock.sleep(Math.max(0, left));
          throw new RuntimeError('Unknown', `failed to exec in container: timeout ${timeoutSeconds}s exceeded: context deadline exceeded`);
        }
        if (ms > 0) await clock.sleep(ms);
        break;
      }
      default:
        // true, :, and everything unknown: a healthy process.
        break;
    }
  }
  return { stdout: Buffer.from(stdout), stderr: Buffer.from(stderr), exitCode: code };
}

/**
 * What a container's `sh -c` script does on SIGTERM (simulated StopContainer): `trap ''
 * TERM` (or a handler without `exit`) ignores it, so the runtime SIGKILLs it when the grace
 * period ends (exit 137); a handler with `exit N` exits N at once. undefined: no trap — the
 * simulated process ends at once with 0, as most servers do.
 */
export function termTrap(command: string[], args: string[]): { ignore: true } | { exitCode: number } | undefined {
  for (const st of parseArgv([...command, ...args])) {
    if (base(st.argv[0]!) !== 'trap' || st.argv.length < 3) continue;
    if (!st.argv.slice(2).some((s) => s === 'TERM' || s === 'SIGTERM' || s === '15')) continue;
    const handler = st.argv[1]!;
    if (handler === '-') return undefined;
    const m = /(?:^|[;\s])exit\s+(\d+)/.exec(handler);
    return m ? { exitCode: Number(m[1]) % 256 } : { ignore: true };
  }
  return undefined;
}
