/**
 * Forwarding for names outside the cluster zone (CoreDNS's `forward . /etc/resolv.conf`
 * plus `cache 30`): the query goes to the upstream resolvers in order, over UDP, retried
 * over TCP when the UDP answer is truncated (a client that asked over TCP is forwarded over
 * TCP); a resolver that times out or fails is skipped for the next one. Answers are cached
 * by (name, type, class, DO, CD) for their smallest TTL, at most 30 s, with TTLs counted
 * down on the way out; SERVFAIL and truncated answers are not cached.
 */
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { connect, isIP } from 'node:net';
import type { Clock } from '../util/clock.js';

/** One upstream resolver. */
export interface Upstream {
  host: string;
  port: number;
}

/** "1.2.3.4", "1.2.3.4:5353", "[fd00::1]:53", "fd00::1" → an Upstream (port 53 by default). */
export function parseUpstream(s: string): Upstream {
  const v = s.trim().replace(/^dns:\/\//, '');
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (bracket) return checked(bracket[1]!, bracket[2] ?? '53', s);
  if (isIP(v) === 6) return checked(v, '53', s);
  const i = v.lastIndexOf(':');
  return i < 0 ? checked(v, '53', s) : checked(v.slice(0, i), v.slice(i + 1), s);
}

function checked(host: string, port: string, orig: string): Upstream {
  const p = Number(port);
  if (isIP(host) === 0 || !/^\d+$/.test(port) || p < 1 || p > 65535) throw new Error(`invalid upstream resolver ${JSON.stringify(orig)}: want an IP address with an optional :port`);
  return { host, port: p };
}

/** The `nameserver` lines of a resolv.conf, in order (an unreadable file gives none). */
export async function resolversFromResolvConf(path = '/etc/resolv.conf'): Promise<Upstream[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    // A zone index ("fe80::1%eth0") cannot be dialled portably; skip such entries.
    if (isIP(m[1]!) !== 0) out.push({ host: m[1]!, port: 53 });
  }
  return out;
}

/** Upstream metrics hooks (CoreDNS forward plugin names), so the module stays free of prom-client. */
export interface ForwardObserver {
  request?(to: string): void;
  response?(to: string, rcode: string, seconds: number): void;
  cacheHit?(): void;
  cacheMiss?(): void;
  cacheSize?(n: number): void;
}

export interface ForwarderOptions {
  upstreams: Upstream[];
  clock: Clock;
  /** Per-attempt timeout (CoreDNS forward's read timeout is 2 s). */
  timeoutMs?: number;
  /** Upper bound on cached TTLs, seconds (the default Corefile's `cache 30`). */
  maxCacheTTL?: number;
  /** Entries kept (CoreDNS cache's default capacity is 9984). */
  cacheSize?: number;
  observer?: ForwardObserver;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** The rcode of a wire message ("NOERROR", "NXDOMAIN", ... or "RCODE<n>"). */
export function wireRcode(msg: Buffer): string {
  const n = msg.length >= 4 ? msg[3]! & 0xf : 2;
  return RCODES[n] ?? `RCODE${n}`;
}

interface CacheEntry {
  msg: Buffer;
  storedAt: number;
  expiresAt: number;
}

/** Forwards wire-format queries to upstream resolvers; see the module comment. */
export class Forwarder {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly timeoutMs: number;
  private readonly maxTTL: number;
  private readonly capacity: number;

  constructor(private readonly opts: ForwarderOptions) {
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.maxTTL = opts.maxCacheTTL ?? 30;
    this.capacity = opts.cacheSize ?? 9984;
  }

  get upstreams(): readonly Upstream[] {
    return this.opts.upstreams;
  }

  /**
   * The upstream answer to query (wire format, the asker's id kept), or undefined when
   * there is no resolver or none answered (the caller answers SERVFAIL).
   * `key` identifies the question for the cache; undefined bypasses it.
   */
  async forward(query: Buffer, proto: 'udp' | 'tcp', key: string | undefined): Promise<Buffer | undefined> {
    const id = query.readUInt16BE(0);
    if (key !== undefined) {
      const hit = this.cached(key, id);
      if (hit) {
        this.opts.observer?.cacheHit?.();
        return hit;
      }
      this.opts.observer?.cacheMiss?.();
    }
    for (const up of this.opts.upstreams) {
      const to = formatUpstream(up);
      this.opts.observer?.request?.(to);
      const started = this.opts.clock.now();
      try {
        let answer = proto === 'tcp' ? await this.exchangeTCP(up, query) : await this.exchangeUDP(up, query);
        if (proto === 'udp' && (answer[2]! & 0x02) !== 0) answer = await this.exchangeTCP(up, query);
        const rcode = wireRcode(answer);
        this.opts.observer?.response?.(to, rcode, (this.opts.clock.now() - started) / 1000);
        if (rcode === 'SERVFAIL' || rcode === 'REFUSED') continue;
        if (key !== undefined) this.store(key, answer);
        return answer;
      } catch {
        this.opts.observer?.response?.(to, 'timeout', (this.opts.clock.now() - started) / 1000);
      }
    }
    return undefined;
  }

  private cached(key: string, id: number): Buffer | undefined {
    const e = this.cache.get(key);
    if (!e) return undefined;
    const now = this.opts.clock.now();
    if (now >= e.expiresAt) {
      this.cache.delete(key);
      return undefined;
    }
    const out = Buffer.from(e.msg);
    out.writeUInt16BE(id, 0);
    const elapsed = Math.floor((now - e.storedAt) / 1000);
    if (elapsed > 0) for (const off of ttlOffsets(out)) out.writeUInt32BE(Math.max(0, out.readUInt32BE(off) - elapsed), off);
    return out;
  }

  private store(key: string, msg: Buffer): void {
    if ((msg[2]! & 0x02) !== 0) return; // truncated
    const ttl = cacheTTL(msg);
    if (ttl === undefined || ttl <= 0) return;
    const now = this.opts.clock.now();
    this.cache.delete(key);
    this.cache.set(key, { msg: Buffer.from(msg), storedAt: now, expiresAt: now + Math.min(ttl, this.maxTTL) * 1000 });
    // Map keeps insertion order: the first key is the oldest entry.
    while (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
    this.opts.observer?.cacheSize?.(this.cache.size);
  }

  private exchangeUDP(up: Upstream, query: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const sock = createSocket(isIP(up.host) === 6 ? 'udp6' : 'udp4');
      const timer = this.opts.clock.setTimeout(() => finish(new Error(`timeout after ${this.timeoutMs} ms`)), this.timeoutMs);
      let done = false;
      const finish = (err?: Error, msg?: Buffer) => {
        if (done) return;
        done = true;
        timer.cancel();
        sock.close();
        if (err) reject(err);
        else resolve(msg!);
      };
      sock.on('error', (err) => finish(err));
      sock.on('message', (msg) => {
        // Only the answer to this query: same id (anything else is ignored, as a stray or spoofed packet).
        if (msg.length >= 12 && msg.readUInt16BE(0) === query.readUInt16BE(0) && (msg[2]! & 0x80) !== 0) finish(undefined, msg);
      });
      sock.send(query, up.port, up.host, (err) => err && finish(err));
    });
  }

  private exchangeTCP(up: Upstream, query: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host: up.host, port: up.port });
      const timer = this.opts.clock.setTimeout(() => finish(new Error(`timeout after ${this.timeoutMs} ms`)), this.timeoutMs);
      let buf = Buffer.alloc(0);
      let done = false;
      const finish = (err?: Error, msg?: Buffer) => {
        if (done) return;
        done = true;
        timer.cancel();
        sock.destroy();
        if (err) reject(err);
        else resolve(msg!);
      };
      sock.on('error', (err) => finish(err));
      sock.on('close', () => finish(new Error('connection closed before an answer')));
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        sock.write(Buffer.concat([len, query]));
      });
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 2) return;
        const n = buf.readUInt16BE(0);
        if (buf.length >= 2 + n) finish(undefined, buf.subarray(2, 2 + n));
      });
    });
  }
}

export function formatUpstream(u: Upstream): string {
  return isIP(u.host) === 6 ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}

/**
 * How long an answer may be cached, seconds: the smallest TTL of its answer and authority
 * records (a negative answer's SOA gives min(SOA TTL, SOA minimum)); undefined when the
 * message cannot be walked or has nothing to time it.
 */
export function cacheTTL(msg: Buffer): number | undefined {
  let min: number | undefined;
  try {
    walk(msg, (rr) => {
      if (rr.section === 'additional') return;
      let ttl = msg.readUInt32BE(rr.ttlOffset);
      if (rr.type === 6 && rr.rdataOffset + rr.rdlength >= rr.rdataOffset + 4) {
        // SOA MINIMUM is the last 32 bits of its RDATA.
        ttl = Math.min(ttl, msg.readUInt32BE(rr.rdataOffset + rr.rdlength - 4));
      }
      min = min === undefined ? ttl : Math.min(min, ttl);
    });
  } catch {
    return undefined;
  }
  return min;
}

/** Offsets of every TTL field in msg (OPT pseudo-records excluded: their "TTL" is flags). */
export function ttlOffsets(msg: Buffer): number[] {
  const out: number[] = [];
  try {
    walk(msg, (rr) => {
      if (rr.type !== 41) out.push(rr.ttlOffset);
    });
  } catch {
    return [];
  }
  return out;
}

interface RRPosition {
  section: 'answer' | 'authority' | 'additional';
  type: number;
  ttlOffset: number;
  rdataOffset: number;
  rdlength: number;
}

/** Walks the resource records of a wire message without decoding their data. Throws on malformed input. */
function walk(msg: Buffer, visit: (rr: RRPosition) => void): void {
  if (msg.length < 12) throw new Error('short message');
  const qd = msg.readUInt16BE(4);
  const counts: [RRPosition['section'], number][] = [['answer', msg.readUInt16BE(6)], ['authority', msg.readUInt16BE(8)], ['additional', msg.readUInt16BE(10)]];
  let off = 12;
  for (let i = 0; i < qd; i++) off = skipName(msg, off) + 4;
  for (const [section, n] of counts) {
    for (let i = 0; i < n; i++) {
      off = skipName(msg, off);
      if (off + 10 > msg.length) throw new Error('truncated record');
      const type = msg.readUInt16BE(off);
      const rdlength = msg.readUInt16BE(off + 8);
      visit({ section, type, ttlOffset: off + 4, rdataOffset: off + 10, rdlength });
      off += 10 + rdlength;
      if (off > msg.length) throw new Error('truncated rdata');
    }
  }
}

function skipName(msg: Buffer, off: number): number {
  for (;;) {
    if (off >= msg.length) throw new Error('truncated name');
    const len = msg[off]!;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2;
    off += 1 + len;
  }
}
