/**
 * The DNS server: one message handler (cluster zone from {@link ClusterRecords}, the rest
 * through a {@link Forwarder}) served over UDP and TCP (RFC 7766 length-prefixed, several
 * queries per connection, idle connections closed after 10 s as CoreDNS does) on one port.
 *
 * Protocol behaviour: one question per query (else FORMERR), opcode QUERY only (else
 * NOTIMP), undecodable queries get FORMERR when the header can be read, responses are
 * dropped. EDNS0: the OPT record is echoed and its UDP size honoured; a UDP answer larger
 * than the client accepts is sent truncated (TC, no records) so it retries over TCP.
 */
import { createSocket, type Socket as UDPSocket } from 'node:dgram';
import { createServer, isIP, type Server as TCPServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet, type Question } from 'dns-packet';
import type { Logger } from '../util/log.js';
import type { Forwarder } from './forward.js';
import type { DNSMetrics } from './metrics.js';
import { inZone, normalizeName } from './names.js';
import type { ClusterRecords } from './records.js';
import { encodeCompressed } from './wire.js';

const RCODE_NUM: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
/** The largest UDP payload we advertise and accept to send (the DNS flag day 2020 value). */
const MAX_UDP = 1232;
const TCP_IDLE_MS = 10_000;

export interface HandlerOptions {
  records: ClusterRecords;
  /** Undefined: no upstream resolvers, so names outside the zone get SERVFAIL. */
  forwarder?: Forwarder;
  logger: Logger;
  metrics?: DNSMetrics;
}

/** Answers one wire-format query; see the module comment. Shared by the UDP and TCP listeners. */
export class DNSHandler {
  /**
   * Where names outside the zone go; settable because the server's own port, known only
   * once it listens, must first be struck from the upstream list.
   */
  forwarder: Forwarder | undefined;

  constructor(private readonly opts: HandlerOptions) {
    this.forwarder = opts.forwarder;
  }

  /** The response to msg, or undefined when nothing should be sent. */
  async handle(msg: Buffer, proto: 'udp' | 'tcp', family: '1' | '2' = '1'): Promise<Buffer | undefined> {
    // Latency metrics use the monotonic high-resolution timer: they measure, never decide.
    const started = process.hrtime.bigint();
    if (msg.length < 12) return undefined;
    let req: DecodedPacket;
    try {
      req = dnsPacket.decode(msg);
    } catch {
      if ((msg[2]! & 0x80) !== 0) return undefined;
      return this.bare(msg.readUInt16BE(0), 'FORMERR', (msg[2]! & 0x01) !== 0);
    }
    if (req.type !== 'query') return undefined;
    const questions = req.questions ?? [];
    const opcode = (req as { opcode?: string }).opcode ?? 'QUERY';
    const q = questions[0];
    if (opcode !== 'QUERY') return this.bare(req.id ?? 0, 'NOTIMP', req.flag_rd);
    if (questions.length !== 1 || !q) return this.bare(req.id ?? 0, 'FORMERR', req.flag_rd);
    const opt = (req.additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');
    const maxSize = proto === 'tcp' ? 65535 : Math.max(512, Math.min(opt?.udpPayloadSize ?? 512, MAX_UDP));
    const lname = normalizeName(q.name);
    const zone = this.opts.records.zone;
    const ours = inZone(lname, zone);
    const zoneLabel = ours ? `${zone}.` : '.';
    this.opts.metrics?.request(zoneLabel, proto, family, q.type, msg.length);

    let out: Buffer;
    let plugin = 'kubernetes';
    const local = (q.class ?? 'IN') === 'IN' ? this.opts.records.resolve(q.name, q.type) : undefined;
    if (local) {
      out = this.encodeLocal(req, q, opt, local.rcode, local.authoritative, local.answers, local.authorities, local.additionals, maxSize);
      if (local.chase) out = await this.withChase(req, q, opt, local, maxSize);
    } else {
      plugin = 'forward';
      out = await this.forward(msg, req, q, opt, proto, maxSize);
    }
    const rcode = Object.keys(RCODE_NUM).find((k) => RCODE_NUM[k] === (out[3]! & 0xf)) ?? String(out[3]! & 0xf);
    this.opts.metrics?.response(zoneLabel, proto, q.type, rcode, rcode === 'NOERROR' || rcode === 'NXDOMAIN' ? plugin : '', out.length, Number(process.hrtime.bigint() - started) / 1e9);
    return out;
  }

  private async withChase(req: DecodedPacket, q: Question, opt: OptAnswer | undefined, local: NonNullable<ReturnType<ClusterRecords['resolve']>>, maxSize: number): Promise<Buffer> {
    const chase = local.chase!;
    let answers = local.answers;
    const upstream = await this.lookupUpstream(chase.name, chase.type);
    if (upstream) answers = [...answers, chase.cname, ...upstream];
    const authorities = answers.length === 0 ? [this.opts.records.soa()] : local.authorities;
    return this.encodeLocal(req, q, opt, 'NOERROR', true, answers, authorities, local.additionals, maxSize);
  }

  /** Answers for (name, type) from the upstream resolvers, or undefined if none answered. */
  private async lookupUpstream(name: string, type: 'A' | 'AAAA'): Promise<Answer[] | undefined> {
    const f = this.forwarder;
    if (!f) return undefined;
    const query = dnsPacket.encode({ type: 'query', id: (Math.random() * 65536) | 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
    const answer = await f.forward(query, 'udp', `${normalizeName(name)}/${type}/IN/0/0`);
    if (!answer) return undefined;
    try {
      const decoded = dnsPacket.decode(answer);
      const rcode = (decoded as { rcode?: string }).rcode;
      if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return undefined;
      return decoded.answers ?? [];
    } catch {
      return undefined;
    }
  }

  private async forward(msg: Buffer, req: DecodedPacket, q: Question, opt: OptAnswer | undefined, proto: 'udp' | 'tcp', maxSize: number): Promise<Buffer> {
    const f = this.forwarder;
    const key = `${normalizeName(q.name)}/${q.type}/${q.class ?? 'IN'}/${opt?.flag_do ? 1 : 0}/${req.flag_cd ? 1 : 0}`;
    const answer = f ? await f.forward(msg, proto, key) : undefined;
    if (!answer) return this.encodeLocal(req, q, opt, 'SERVFAIL', false, [], [], [], maxSize);
    if (answer.length <= maxSize) return answer;
    // Too big for the asker's UDP buffer: the header and question with TC set; it retries over TCP.
    const flags = (answer.readUInt16BE(2) & 0x7fff) | dnsPacket.TRUNCATED_RESPONSE;
    return dnsPacket.encode({ type: 'response', id: req.id, flags, questions: [q], additionals: opt ? [this.opt(opt)] : [] });
  }

  private encodeLocal(
    req: DecodedPacket,
    q: Question,
    opt: OptAnswer | undefined,
    rcode: string,
    authoritative: boolean,
    answers: Answer[],
    authorities: Answer[],
    additionals: Answer[],
    maxSize: number,
  ): Buffer {
    const base = (req.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | (req.flag_cd ? dnsPacket.CHECKING_DISABLED : 0) | (RCODE_NUM[rcode] ?? 2);
    const extra = opt ? [...additionals, this.opt(opt)] : additionals;
    const packet: Packet = { type: 'response', id: req.id, flags: base | (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0), questions: [q], answers, authorities, additionals: extra };
    const out = encodeCompressed(packet);
    if (out.length <= maxSize) return out;
    return encodeCompressed({ ...packet, flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: opt ? [this.opt(opt)] : [] });
  }

  private opt(reqOpt: OptAnswer): Answer {
    return { type: 'OPT', name: '.', udpPayloadSize: MAX_UDP, extendedRcode: 0, ednsVersion: 0, flags: reqOpt.flag_do ? dnsPacket.DNSSEC_OK : 0, flag_do: reqOpt.flag_do, options: [] } as OptAnswer;
  }

  private bare(id: number, rcode: string, rd: boolean): Buffer {
    return dnsPacket.encode({ type: 'response', id, flags: (rd ? dnsPacket.RECURSION_DESIRED : 0) | (RCODE_NUM[rcode] ?? 2) });
  }
}

export interface ListenOptions {
  handler: DNSHandler;
  address: string;
  /** 0: any free port (the same one for UDP and TCP). */
  port: number;
  logger: Logger;
}

export interface Listening {
  port: number;
  close(): Promise<void>;
}

/** Serves handler on UDP and TCP at address:port; resolves once both listen. */
export async function listenDNS(opts: ListenOptions): Promise<Listening> {
  // With port 0 the UDP port is picked first and TCP asked for the same one; a clash (some
  // other TCP socket already holds it) retries with a fresh pair.
  for (let attempt = 0; ; attempt++) {
    const udp = await bindUDP(opts);
    const port = (udp.address() as AddressInfo).port;
    try {
      const tcp = await listenTCP(opts, port);
      const conns = new Set<Socket>();
      tcp.on('connection', (c: Socket) => {
        conns.add(c);
        c.on('close', () => conns.delete(c));
      });
      return {
        port,
        close: async () => {
          for (const c of conns) c.destroy();
          await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
        },
      };
    } catch (err) {
      udp.close();
      if (opts.port !== 0 || attempt >= 10) throw err;
    }
  }
}

function bindUDP(opts: ListenOptions): Promise<UDPSocket> {
  const family = isIP(opts.address) === 6 ? 'udp6' : 'udp4';
  const sock = createSocket({ type: family, reuseAddr: false });
  sock.on('message', (msg, rinfo) => {
    opts.handler.handle(msg, 'udp', rinfo.family === 'IPv6' ? '2' : '1').then(
      (out) => {
        if (out) sock.send(out, rinfo.port, rinfo.address);
      },
      (err: unknown) => opts.logger.error({ err }, 'dns: handling a UDP query failed'),
    );
  });
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(opts.port, opts.address, () => {
      sock.off('error', reject);
      sock.on('error', (err) => opts.logger.error({ err }, 'dns: UDP socket error'));
      resolve(sock);
    });
  });
}

function listenTCP(opts: ListenOptions, port: number): Promise<TCPServer> {
  const server = createServer((conn) => {
    conn.setTimeout(TCP_IDLE_MS, () => conn.destroy());
    conn.on('error', () => conn.destroy());
    const family = conn.remoteFamily === 'IPv6' ? '2' : '1';
    let buf: Buffer = Buffer.alloc(0);
    conn.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) break;
        const msg = buf.subarray(2, 2 + n);
        buf = buf.subarray(2 + n);
        opts.handler.handle(Buffer.from(msg), 'tcp', family).then(
          (out) => {
            if (!out || conn.destroyed) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(out.length);
            conn.write(Buffer.concat([len, out]));
          },
          (err: unknown) => {
            opts.logger.error({ err }, 'dns: handling a TCP query failed');
            conn.destroy();
          },
        );
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, opts.address, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
