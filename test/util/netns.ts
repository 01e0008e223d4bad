/**
 * A throwaway network lab for kube-proxy tests and benchmarks: a "node" network namespace
 * with a bridge (10.244.N.1/24, like the CNI bridge plugin's) and "pod" namespaces on veth
 * pairs behind it, each able to run a server. Nothing touches the host's interfaces or
 * iptables rules; destroy() removes every namespace and process it made.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why a netns test can't run here, or false. */
export const netnsSkip: string | false =
  process.getuid?.() !== 0 ? 'needs root (ip netns, iptables)'
  : !existsSync('/usr/sbin/iptables-restore') && !existsSync('/sbin/iptables-restore') ? 'iptables is not installed'
  : !existsSync('/usr/sbin/ip') && !existsSync('/sbin/ip') && !existsSync('/bin/ip') ? 'iproute2 is not installed'
  : false;

export function run(argv: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(argv[0]!, argv.slice(1), { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function must(argv: string[]): Promise<string> {
  const r = await run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const CLIENT = `
import http from 'node:http';
const [url, n] = [process.argv[2], Number(process.argv[3])];
const counts = {}; const errs = {}; let errors = 0;
for (let i = 0; i < n; i++) {
  try {
    const body = await new Promise((res, rej) => {
      const req = http.get(url, { agent: false, timeout: 3000 }, (r) => { let d = ''; r.on('data', (c) => (d += c)); r.on('end', () => res(d.trim())); });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', rej);
    });
    counts[body] = (counts[body] ?? 0) + 1;
  } catch (e) { errors++; const k = e.code ?? e.message; errs[k] = (errs[k] ?? 0) + 1; }
}
process.stdout.write(JSON.stringify({ counts, errors, errs }));
`;

export interface HttpTally {
  /** Response body (the backend's name) → count. */
  counts: Record<string, number>;
  errors: number;
  /** Error code → count. */
  errs: Record<string, number>;
}

export class NetnsLab {
  readonly node: string;
  readonly pods = new Map<string, { ns: string; ip: string }>();
  private readonly procs = new Set<ChildProcess>();
  private readonly dir: string;
  private readonly subnet: number;

  private constructor(readonly id: string, subnet: number) {
    this.node = `fl-${id}-node`;
    this.subnet = subnet;
    this.dir = mkdtempSync(join(tmpdir(), 'flotilla-netns-'));
    writeFileSync(join(this.dir, 'client.mjs'), CLIENT);
  }

  /** The node's bridge address (a node IP). */
  get nodeIP(): string {
    return `10.244.${this.subnet}.1`;
  }

  /** A node namespace with lo up, a bridge br0 at 10.244.<subnet>.1/24, forwarding on, a default route via the bridge. */
  static async create(id: string, subnet = 1): Promise<NetnsLab> {
    const lab = new NetnsLab(id, subnet);
    const n = lab.node;
    await must(['ip', 'netns', 'add', n]);
    try {
      await must(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
      await must(['ip', '-n', n, 'link', 'add', 'br0', 'type', 'bridge']);
      await must(['ip', '-n', n, 'addr', 'add', `${lab.nodeIP}/24`, 'dev', 'br0']);
      await must(['ip', '-n', n, 'link', 'set', 'br0', 'up']);
      await must(['ip', '-n', n, 'route', 'add', 'default', 'dev', 'br0']);
      await must(['ip', 'netns', 'exec', n, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  /** A pod namespace at 10.244.<subnet>.<host> on the bridge (hairpin on, as the CNI bridge's hairpinMode). */
  async addPod(name: string, host: number): Promise<{ ns: string; ip: string }> {
    const ns = `fl-${this.id}-${name}`;
    const ip = `10.244.${this.subnet}.${host}`;
    const veth = `v${this.id.slice(-6)}${host}`;
    await must(['ip', 'netns', 'add', ns]);
    this.pods.set(name, { ns, ip });
    await must(['ip', '-n', this.node, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await must(['ip', '-n', this.node, 'link', 'set', veth, 'master', 'br0', 'up']);
    await must(['ip', '-n', this.node, 'link', 'set', veth, 'type', 'bridge_slave', 'hairpin', 'on']);
    await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await must(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await must(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    await must(['ip', '-n', ns, 'route', 'add', 'default', 'via', this.nodeIP]);
    return { ns, ip };
  }

  /** Starts a busybox httpd in ns on port answering GET / with `body`. */
  serveHTTP(ns: string, port: number, body: string): ChildProcess {
    const dir = mkdtempSync(join(this.dir, 'www-'));
    writeFileSync(join(dir, 'index.html'), body + '\n');
    return this.spawn(ns, ['busybox', 'httpd', '-f', '-p', String(port), '-h', dir]);
  }

  /** A long-running process in ns, killed by destroy(). */
  spawn(ns: string, argv: string[]): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: 'ignore' });
    this.procs.add(p);
    p.on('exit', () => this.procs.delete(p));
    return p;
  }

  exec(ns: string, argv: string[], input?: string) {
    return run(['ip', 'netns', 'exec', ns, ...argv], input);
  }

  /** n HTTP GETs of url from ns, each on a new connection; tallies the answers. */
  async httpGet(ns: string, url: string, n: number): Promise<HttpTally> {
    const r = await this.exec(ns, [process.execPath, join(this.dir, 'client.mjs'), url, String(n)]);
    if (r.code !== 0) throw new Error(`http client failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as HttpTally;
  }

  /** The ns's iptables-save output (both tables). */
  async iptablesSave(ns = this.node): Promise<string> {
    return (await this.exec(ns, ['iptables-save'])).stdout;
  }

  async destroy(): Promise<void> {
    for (const p of this.procs) p.kill('SIGKILL');
    this.procs.clear();
    for (const { ns } of this.pods.values()) await run(['ip', 'netns', 'del', ns]);
    await run(['ip', 'netns', 'del', this.node]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
