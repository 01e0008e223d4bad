/**
 * Message encoding with name compression (RFC 1035 4.1.4). dns-packet encodes every name in
 * full; answers that repeat one owner name (a headless service's forty A records, SRV sets)
 * would then outgrow a UDP buffer long before a real DNS server's would. This writes the
 * header and question itself, then each record with its owner name — and the single-name
 * RDATA of CNAME, NS and PTR — compressed against the names written before. A and AAAA
 * data is written here too (the hot path); any other RDATA (SRV targets included, which
 * RFC 2782 keeps uncompressed) is written as dns-packet encodes it.
 * Matching is case-sensitive, so every name decodes exactly as it was given.
 */
import { isIPv4 } from 'node:net';
import dnsPacket, { type Answer, type Packet } from 'dns-packet';

interface RecordCodec {
  encode(rr: Answer): Buffer;
}
interface NameCodec {
  encodingLength(name: string): number;
}
const internals = dnsPacket as unknown as { answer: RecordCodec; name: NameCodec };

const TYPES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255, AXFR: 252, IXFR: 251 };
const CLASSES: Record<string, number> = { IN: 1, CS: 2, CH: 3, HS: 4, ANY: 255 };

/** A growable output buffer with the compression table of the names written so far. */
class Writer {
  buf = Buffer.allocUnsafe(512);
  off = 0;
  private readonly seen = new Map<string, number>();

  ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.off);
    this.off += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.off);
    this.off += 4;
  }
  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.off);
    this.off += b.length;
  }
  /** The name, its labels up to the first suffix already written, then a pointer to that suffix. */
  name(name: string): void {
    let n = name.endsWith('.') ? name.slice(0, -1) : name;
    if (n.startsWith('.')) n = n.slice(1);
    let pos = 0;
    while (pos < n.length) {
      const suffix = pos === 0 ? n : n.slice(pos);
      const at = this.seen.get(suffix);
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.off < 0x4000) this.seen.set(suffix, this.off);
      let end = n.indexOf('.', pos);
      if (end < 0) end = n.length;
      const len = Buffer.byteLength(n.slice(pos, end));
      this.ensure(1 + len);
      this.buf[this.off] = len;
      this.buf.write(n.slice(pos, end), this.off + 1);
      this.off += 1 + len;
      pos = end + 1;
    }
    this.ensure(1);
    this.buf[this.off++] = 0;
  }
}

/** Encodes packet like dnsPacket.encode, with names compressed. */
export function encodeCompressed(packet: Packet): Buffer {
  const w = new Writer();
  const questions = packet.questions ?? [];
  const sections = [packet.answers ?? [], packet.authorities ?? [], packet.additionals ?? []];
  w.u16(packet.id ?? 0);
  w.u16(((packet.flags ?? 0) & 0x7fff) | (packet.type === 'response' ? 0x8000 : 0));
  w.u16(questions.length);
  for (const s of sections) w.u16(s.length);
  for (const q of questions) {
    w.name(q.name);
    w.u16(TYPES[q.type] ?? Number(/^UNKNOWN_(\d+)$/.exec(q.type)?.[1] ?? 0));
    w.u16(CLASSES[q.class ?? 'IN'] ?? 1);
  }
  for (const rrs of sections) for (const rr of rrs) writeRecord(w, rr);
  return Buffer.from(w.buf.subarray(0, w.off));
}

function writeRecord(w: Writer, rr: Answer): void {
  const data = (rr as { data?: unknown }).data;
  const simple = rr.type === 'A' || rr.type === 'AAAA' || rr.type === 'CNAME' || rr.type === 'PTR' || rr.type === 'NS';
  if (!simple || typeof data !== 'string') {
    // Everything else as dns-packet writes it, the owner name compressed.
    const full = internals.answer.encode(rr);
    w.name(rr.name);
    w.bytes(full.subarray(internals.name.encodingLength(rr.name)));
    return;
  }
  w.name(rr.name);
  w.u16(TYPES[rr.type]!);
  w.u16(CLASSES[(rr as { class?: string }).class ?? 'IN'] ?? 1);
  w.u32((rr as { ttl?: number }).ttl ?? 0);
  const lenAt = w.off;
  w.u16(0);
  if (rr.type === 'A') {
    if (!isIPv4(data)) throw new Error(`invalid A record data ${JSON.stringify(data)}`);
    w.ensure(4);
    for (const part of data.split('.')) w.buf[w.off++] = Number(part);
  } else if (rr.type === 'AAAA') {
    const full = internals.answer.encode(rr);
    w.bytes(full.subarray(full.length - 16));
  } else w.name(data);
  w.buf.writeUInt16BE(w.off - lenAt - 2, lenAt);
}
