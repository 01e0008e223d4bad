/**
 * Runs iptables-save / iptables-restore (the nft back-end: the binaries on PATH here are
 * iptables-nft; never mix with legacy) with an optional command prefix such as
 * `ip netns exec <ns>`, so tests and simulated nodes program a network namespace instead
 * of the host. Everything is applied with `iptables-restore --noflush`: one atomic
 * transaction per sync that leaves other programs' chains alone.
 */
import { spawn } from 'node:child_process';
import { BASE_CHAINS, isServiceChainName, JUMP_RULES, jumpRuleArgs, type Table } from './rules.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one command; tests substitute a fake. */
export interface CommandRunner {
  run(argv: readonly string[], input?: string): Promise<CommandResult>;
}

/** A runner that spawns `[...prefix, ...argv]`. */
export function execRunner(prefix: readonly string[] = []): CommandRunner {
  return {
    run(argv, input) {
      const full = [...prefix, ...argv];
      return new Promise((resolve, reject) => {
        const child = spawn(full[0]!, full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (b: Buffer) => out.push(b));
        child.stderr.on('data', (b: Buffer) => err.push(b));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
        child.stdin.on('error', () => { /* the exit code tells */ });
        child.stdin.end(input ?? '');
      });
    },
  };
}

/** Chain names declared in an iptables-save dump of one table. */
export function chainsInSave(save: string): Set<string> {
  const out = new Set<string>();
  for (const line of save.split('\n')) if (line.startsWith(':')) out.add(line.slice(1).split(' ', 1)[0]!);
  return out;
}

function rulesOf(save: string, chain: string): string[] {
  const prefix = `-A ${chain} `;
  return save.split('\n').filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
}

function isJump(rule: string, to: string, comment: string): boolean {
  return rule.endsWith(` -j ${to}`) && rule.includes(`--comment "${comment}"`);
}

/**
 * The `-I`/`-D` lines that put kube-proxy's jump rules in the built-in chains of one table
 * (upstream's EnsureRule with Prepend): missing ones are inserted at position 1. The
 * POSTROUTING jump must stay the first rule (RUNTIME.md: the CNI bridge plugin's own
 * per-pod POSTROUTING rules accept pod traffic before a later rule runs, breaking
 * hairpin), so it is moved back to the top when something went in front of it.
 */
export function jumpRuleLines(table: Table, save: string): string[] {
  const lines: string[] = [];
  for (const j of JUMP_RULES) {
    if (j.table !== table) continue;
    const rules = rulesOf(save, j.from);
    const at = rules.findIndex((r) => isJump(r, j.to, j.comment));
    if (at === 0) continue;
    if (at > 0 && j.from !== 'POSTROUTING') continue;
    if (at > 0) lines.push(`-D ${j.from} ${jumpRuleArgs(j)}`);
    lines.push(`-I ${j.from} 1 ${jumpRuleArgs(j)}`);
  }
  return lines;
}

const CANARY = 'KUBE-PROXY-CANARY';

/**
 * The restore input that removes everything kube-proxy put in one table (upstream
 * CleanupLeftovers): jump rules out of the built-in chains, then its chains flushed and
 * deleted. Other programs' KUBE- chains (the kubelet's KUBE-FIREWALL) are left alone.
 */
export function cleanupPayload(table: Table, save: string): string {
  const ours = new Set<string>([...BASE_CHAINS[table], CANARY]);
  const present = chainsInSave(save);
  const chains = [...present].filter((c) => ours.has(c) || (table === 'nat' && isServiceChainName(c)));
  const deletes: string[] = [];
  for (const line of save.split('\n')) {
    const m = /^-A (\S+) (.*)$/.exec(line);
    if (!m || ours.has(m[1]!) || isServiceChainName(m[1]!)) continue;
    const to = /-j (\S+)$/.exec(m[2]!)?.[1];
    if (to && chains.includes(to)) deletes.push(`-D ${m[1]} ${m[2]}`);
  }
  if (!chains.length && !deletes.length) return '';
  return [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...deletes, ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
}

export class IptablesError extends Error {}

/** iptables-save / iptables-restore / sysctl through a runner. */
export class IptablesApplier {
  constructor(private readonly runner: CommandRunner) {}

  async save(table: Table): Promise<string> {
    const r = await this.runner.run(['iptables-save', '-t', table]);
    if (r.code !== 0) throw new IptablesError(`iptables-save -t ${table} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Applies payload atomically (all tables in it, or nothing). */
  async restore(payload: string): Promise<void> {
    if (!payload) return;
    const r = await this.runner.run(['iptables-restore', '--noflush', '--counters'], payload);
    if (r.code !== 0) throw new IptablesError(`iptables-restore failed (exit ${r.code}): ${r.stderr.trim()}`);
  }

  /** net.ipv4.conf.all.route_localnet=1, so NodePorts answer on 127.0.0.1. */
  async enableRouteLocalnet(): Promise<void> {
    const r = await this.runner.run(['sysctl', '-w', 'net.ipv4.conf.all.route_localnet=1']);
    if (r.code !== 0) throw new IptablesError(`can't set sysctl net/ipv4/conf/all/route_localnet: ${r.stderr.trim()}`);
  }

  /** Removes every kube-proxy rule and chain from filter and nat. */
  async cleanup(): Promise<void> {
    let payload = '';
    for (const table of ['filter', 'nat'] as const) payload += cleanupPayload(table, await this.save(table));
    await this.restore(payload);
  }
}
