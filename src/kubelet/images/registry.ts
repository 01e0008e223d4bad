/**
 * Registry mirrors for containerd: one `certs.d/<registry>/hosts.toml` per mirrored
 * registry, the directory containerd's CRI plugin reads through
 * `[plugins."io.containerd.grpc.v1.cri".registry] config_path = "<dir>/certs.d"`.
 *
 * Each file names the upstream (`server`) and, in order, the mirrors tried before it:
 *
 *   server = "https://registry-1.docker.io"
 *
 *   [host."http://127.0.0.1:5000"]
 *     capabilities = ["pull", "resolve"]
 *
 * A plain-HTTP mirror (a local `docker-registry`) needs nothing more: containerd speaks
 * HTTP when the URL says so.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface RegistryMirror {
  /** "http://127.0.0.1:5000" or "https://mirror.example.com". */
  url: string;
  /** What containerd may ask the mirror for (default ["pull", "resolve"]). */
  capabilities?: Array<'pull' | 'resolve' | 'push'>;
  /** Accept any TLS certificate (self-signed mirrors). */
  skipVerify?: boolean;
  /** CA certificate file to verify the mirror with. */
  ca?: string;
}

/** Mirrors per registry host: "docker.io" → "http://127.0.0.1:5000" (or several, tried in order). */
export type RegistryMirrors = Record<string, string | RegistryMirror | Array<string | RegistryMirror>>;

/** The upstream a registry host falls back to, as containerd's defaults name it. */
export function upstreamServer(host: string): string {
  if (host === 'docker.io') return 'https://registry-1.docker.io';
  if (host === '_default') return '';
  return `https://${host}`;
}

function q(s: string): string {
  // A TOML basic string: JSON's escaping of quotes, backslashes and control characters is valid TOML.
  return JSON.stringify(s);
}

function checkHost(host: string): void {
  if (!host || host === '.' || host === '..' || /[/\\\s]/.test(host)) throw new Error(`invalid registry host ${JSON.stringify(host)}: want e.g. docker.io or localhost:5000`);
}

function checkUrl(host: string, url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`invalid mirror ${JSON.stringify(url)} for ${host}: want a URL like http://127.0.0.1:5000`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`invalid mirror ${JSON.stringify(url)} for ${host}: want http:// or https://`);
}

/** The hosts.toml text for one registry host and its mirrors. */
export function hostsToml(host: string, mirrors: string | RegistryMirror | Array<string | RegistryMirror>): string {
  checkHost(host);
  const list = (Array.isArray(mirrors) ? mirrors : [mirrors]).map((m) => (typeof m === 'string' ? { url: m } : m));
  const lines: string[] = [];
  const server = upstreamServer(host);
  if (server) lines.push(`server = ${q(server)}`);
  for (const m of list) {
    checkUrl(host, m.url);
    lines.push('', `[host.${q(m.url.replace(/\/+$/, ''))}]`);
    lines.push(`  capabilities = [${(m.capabilities ?? ['pull', 'resolve']).map(q).join(', ')}]`);
    if (m.skipVerify) lines.push('  skip_verify = true');
    if (m.ca) lines.push(`  ca = ${q(m.ca)}`);
  }
  return `${lines.join('\n').replace(/^\n+/, '')}\n`;
}

/**
 * Writes `<certsDir>/<host>/hosts.toml` for each mirrored registry (replacing what was
 * there). containerd reads them on each pull, so no restart is needed. Resolves with the
 * files written.
 */
export async function writeRegistryHosts(certsDir: string, mirrors: RegistryMirrors): Promise<string[]> {
  const written: string[] = [];
  for (const [host, m] of Object.entries(mirrors)) {
    const text = hostsToml(host, m);
    const dir = join(certsDir, host);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'hosts.toml');
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
    written.push(file);
  }
  return written;
}

/**
 * Mirrors from flag values "docker.io=http://127.0.0.1:5000" (repeatable; the same host
 * twice adds a second mirror, tried after the first).
 */
export function parseRegistryMirrors(values: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw new Error(`invalid registry mirror ${JSON.stringify(v)}: want REGISTRY=URL, e.g. docker.io=http://127.0.0.1:5000`);
    const host = v.slice(0, eq).trim();
    const url = v.slice(eq + 1).trim();
    checkHost(host);
    checkUrl(host, url);
    (out[host] ??= []).push(url);
  }
  return out;
}
