/**
 * Message encoding with name compression (RFC 1035 4.1.4). dns-packet encodes every name in
 * full; answers that repeat one owner name (a headless service's forty A records, SRV sets)
 * would then outgrow a UDP buffer long before a real DNS server's would. This writes the
 * header and question with dns-packet, then each record with its owner name — and the
 * single-name RDATA of CNAME, NS and PTR — compressed against the names written before.
 * Other RDATA (SRV targets included, RFC 2782) is written as dns-packet encodes it.
 * Matching is case-sensitive, so every name decodes exactly as it was given.
 */
import dnsPacket, { type Answer, type Packet } from 'dns-packet';

interface RecordCodec {
  encode(rr: Answer): Buffer;
}
interface NameCodec {
  encodingLength(name: string): number;
}
const internals = dnsPacket as unknown as { answer: RecordCodec; name: NameCodec };

const compressible = new Set(['CNAME', 'NS', 'PTR']);

/** Encodes packet like dnsPacket.encode, with names compressed. */
export function encodeCompressed(packet: Packet): Buffer {
  const head = dnsPacket.encode({ ...packet, answers: [], authorities: [], additionals: [] });
  const parts: Buffer[] = [head];
  let offset = head.length;
  const seen = new Map<string, number>();
  // The question name starts right after the 12-byte header.
  const q = packet.questions?.[0];
  if (q) remember(seen, labelsOf(q.name), 12);
  const sections = [packet.answers ?? [], packet.authorities ?? [], packet.additionals ?? []];
  for (const rrs of sections) {
    for (const rr of rrs) {
      const full = internals.answer.encode(rr);
      const ownerLen = internals.name.encodingLength(rr.name);
      const owner = writeName(seen, labelsOf(rr.name), offset);
      offset += owner.length;
      parts.push(owner);
      if (compressible.has(rr.type) && typeof (rr as { data?: unknown }).data === 'string') {
        const fixed = Buffer.from(full.subarray(ownerLen, ownerLen + 10));
        const rdata = writeName(seen, labelsOf((rr as { data: string }).data), offset + 10);
        fixed.writeUInt16BE(rdata.length, 8);
        parts.push(fixed, rdata);
        offset += 10 + rdata.length;
      } else {
        const rest = full.subarray(ownerLen);
        parts.push(rest);
        offset += rest.length;
      }
    }
  }
  const out = Buffer.concat(parts);
  out.writeUInt16BE(sections[0]!.length, 6);
  out.writeUInt16BE(sections[1]!.length, 8);
  out.writeUInt16BE(sections[2]!.length, 10);
  return out;
}

function labelsOf(name: string): string[] {
  return name.split('.').filter((l) => l.length > 0);
}

/** Records where each suffix of labels starts when written at offset. */
function remember(seen: Map<string, number>, labels: string[], offset: number): void {
  let off = offset;
  for (let i = 0; i < labels.length; i++) {
    const key = labels.slice(i).join('.');
    if (off < 0x4000 && !seen.has(key)) seen.set(key, off);
    off += 1 + Buffer.byteLength(labels[i]!);
  }
}

/** The name's wire form at offset: its labels up to the first suffix already written, then a pointer to it. */
function writeName(seen: Map<string, number>, labels: string[], offset: number): Buffer {
  const bytes: Buffer[] = [];
  let off = offset;
  for (let i = 0; i < labels.length; i++) {
    const key = labels.slice(i).join('.');
    const at = seen.get(key);
    if (at !== undefined) {
      const ptr = Buffer.alloc(2);
      ptr.writeUInt16BE(0xc000 | at);
      bytes.push(ptr);
      return Buffer.concat(bytes);
    }
    if (off < 0x4000) seen.set(key, off);
    const label = Buffer.from(labels[i]!);
    bytes.push(Buffer.from([label.length]), label);
    off += 1 + label.length;
  }
  bytes.push(Buffer.from([0]));
  return Buffer.concat(bytes);
}
