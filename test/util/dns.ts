/**
 * DNS test helpers: queries over UDP and TCP with dns-packet, and a fake upstream resolver
 * on 127.0.0.1 that answers from a table and counts what it was asked.
 */
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';

let nextId = 1;

export interface QueryOptions {
  /** EDNS0 UDP payload size to advertise (adds an OPT record). */
  edns?: number;
  timeoutMs?: number;
  id?: number;
}

function queryPacket(name: string, type: string, o: QueryOptions): Buffer {
  const packet: Packet = {
    type: 'query',
    id: o.id ?? (nextId++ & 0xffff),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as 'A', class: 'IN' }],
    additionals: o.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: o.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as unknown as Answer] : [],
  };
  return dnsPacket.encode(packet);
}

/** One query over UDP; rejects after timeoutMs (default 5 s) without an answer. */
export function udpQuery(port: number, name: string, type: string, o: QueryOptions = {}): Promise<DecodedPacket & { rcode: string; size: number }> {
  return udpExchange(port, queryPacket(name, type, o), o.timeoutMs).then((b) => Object.assign(dnsPacket.decode(b), { size: b.length }) as DecodedPacket & { rcode: string; size: number });
}

/** Sends raw bytes over UDP and resolves with the raw answer. */
export function udpExchange(port: number, msg: Buffer, timeoutMs = 5000, host = '127.0.0.1'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no UDP answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('message', (b) => {
      clearTimeout(timer);
      sock.close();
      resolve(b);
    });
    sock.send(msg, port, host);
  });
}

/** One query over TCP (RFC 7766 length prefix). */
export function tcpQuery(port: number, name: string, type: string, o: QueryOptions = {}): Promise<DecodedPacket & { rcode: string; size: number }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no TCP answer from 127.0.0.1:${port}`));
    }, o.timeoutMs ?? 5000);
    let buf = Buffer.alloc(0);
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('connect', () => sock.write(dnsPacket.streamEncode(dnsPacket.decode(queryPacket(name, type, o)))));
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        sock.destroy();
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        resolve(Object.assign(dnsPacket.decode(msg), { size: msg.length }) as DecodedPacket & { rcode: string; size: number });
      }
    });
  });
}

export interface FakeUpstream {
  port: number;
  /** Questions received, "udp name TYPE" / "tcp name TYPE", in order. */
  asked: string[];
  close(): Promise<void>;
}

/**
 * A resolver on 127.0.0.1 (UDP and TCP, same port). `answers` maps "name TYPE" to records;
 * a name listed in `truncate` is answered over UDP with TC set and no records (the whole
 * answer only over TCP); anything else is NXDOMAIN.
 */
export async function startFakeUpstream(answers: Record<string, Answer[]>, truncate: string[] = []): Promise<FakeUpstream> {
  const asked: string[] = [];
  const respond = (msg: Buffer, proto: 'udp' | 'tcp'): Buffer => {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0]!;
    asked.push(`${proto} ${question.name} ${question.type}`);
    const records = answers[`${question.name.toLowerCase()} ${question.type}`];
    const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE;
    if (proto === 'udp' && truncate.includes(question.name.toLowerCase())) {
      return dnsPacket.encode({ type: 'response', id: q.id, flags: flags | dnsPacket.TRUNCATED_RESPONSE, questions: [question] });
    }
    if (!records) return dnsPacket.encode({ type: 'response', id: q.id, flags: flags | 3, questions: [question], authorities: [{ type: 'SOA', name: 'example', ttl: 60, data: { mname: 'ns.example', rname: 'hostmaster.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } }] });
    return dnsPacket.encode({ type: 'response', id: q.id, flags, questions: [question], answers: records });
  };
  const udp = createSocket('udp4');
  udp.on('message', (msg, r) => udp.send(respond(msg, 'udp'), r.port, r.address));
  await new Promise<void>((res) => udp.bind(0, '127.0.0.1', () => res()));
  const port = (udp.address() as AddressInfo).port;
  const tcp = createServer((c) => {
    let buf = Buffer.alloc(0);
    c.on('error', () => c.destroy());
    c.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const out = respond(Buffer.from(msg), 'tcp');
        const len = Buffer.alloc(2);
        len.writeUInt16BE(out.length);
        c.write(Buffer.concat([len, out]));
      }
    });
  });
  await new Promise<void>((res, rej) => {
    tcp.once('error', rej);
    tcp.listen(port, '127.0.0.1', () => res());
  });
  return {
    port,
    asked,
    close: async () => {
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}
