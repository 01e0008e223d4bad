/**
 * Makes etcd clients' `:authority` acceptable to Node's HTTP/2 server.
 *
 * Why: etcd's Go client dials some calls (etcdctl's `endpoint status`, `endpoint hashkv`,
 * `snapshot save` in some versions) with the whole endpoint URL as the gRPC target, so the
 * request's `:authority` pseudo-header is e.g. "http://127.0.0.1:2379". Go's server
 * accepts that; Node's (nghttp2) refuses any authority containing "/" and resets the
 * stream with PROTOCOL_ERROR, before grpc-js ever sees the call. So every client
 * connection passes through `AuthorityRewriter`, which replaces characters an authority
 * may not contain with "-" ("http://127.0.0.1:2379" -> "http:--127.0.0.1:2379") and
 * leaves every other byte as it was.
 *
 * How: HTTP/2 frames are parsed (RFC 7540 §4); HEADERS/CONTINUATION header blocks are
 * walked field by field (HPACK, RFC 7541 §6) and only a literal `:authority` value is
 * re-encoded, as a plain (non-Huffman) string of the *same decoded length*, so both
 * ends' HPACK dynamic tables keep identical sizes and later indexed references stay
 * valid. Any block that does not parse is forwarded untouched (nghttp2 then judges it).
 *
 * Cost: a connection served through a JavaScript Duplex makes Node's HTTP/2 layer use its
 * JS stream adapter, every frame read and written crossing into JavaScript (about a third
 * of the server's CPU per request, and one write system call per frame). So
 * `routeHttp2Connection` looks at a connection's first request only: gRPC clients send
 * one `:authority` for every call of a channel (grpc-go and grpc-js derive it from the
 * dial target), so a connection whose first request is acceptable is handed to Node's
 * HTTP/2 server as the raw socket (native reads and writes), and only a connection whose
 * first request needs rewriting goes through the rewriter. A client that changed a
 * channel's authority later to one nghttp2 refuses would see that call reset.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const FRAME_HEADER = 9;
const TYPE_HEADERS = 0x1;
const TYPE_SETTINGS = 0x4;
const TYPE_PING = 0x6;
const TYPE_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** The peer's default SETTINGS_MAX_FRAME_SIZE; our re-emitted blocks never exceed it. */
const MAX_FRAME = 16384;

/**
 * Code lengths of the HPACK Huffman code (RFC 7541 Appendix B) for symbols 0..256 (256 =
 * EOS), one letter per symbol: 'A' = 5 bits, 'B' = 6, ... The code is canonical (codes of
 * equal length are consecutive in symbol order, shorter codes first), so the lengths alone
 * determine every code.
 */
const HUFFMAN_LENGTHS =
  'ISXXXXXXXTZXXZXXXXXXXXZXXXXXXXXXBFFHIBDGFFDGDBBBAAABBBBBBBCDKBHFIBCCCCCCCCCCCCCCCCCCCCCCDCDIOIJBKABABABBBACCBBBABCBAABCCCCCKGJIXPRPPRRRSRSSSSSTSTTRSTSSSSQRSRSSTRQPRRSSQSRRTQRSSQQRQSRSSPRRRSRRSVVPORSRUVVVWWVTUOQVWWVWTQQVVXWWWPTPQRQQSRRUUTTVSVWVVWWWWWXWWWWWVZ';

interface HuffNode { sym?: number; zero?: HuffNode; one?: HuffNode }

/** [code, length] per symbol, from the lengths by the canonical rule. */
const huffmanCodes: Array<[number, number]> = (() => {
  const lens = [...HUFFMAN_LENGTHS].map((c) => c.charCodeAt(0) - 65 + 5);
  const order = lens.map((_, s) => s).sort((a, b) => lens[a]! - lens[b]! || a - b);
  const codes: Array<[number, number]> = new Array(lens.length);
  let code = 0;
  let prev = lens[order[0]!]!;
  order.forEach((sym, i) => {
    const len = lens[sym]!;
    if (i > 0) code = (code + 1) * 2 ** (len - prev);
    prev = len;
    codes[sym] = [code, len];
  });
  return codes;
})();

/** The decoding tree, built once. */
const huffmanTree: HuffNode = (() => {
  const root: HuffNode = {};
  huffmanCodes.forEach(([code, len], sym) => {
    let node = root;
    for (let bit = len - 1; bit >= 0; bit--) {
      const one = Math.floor(code / 2 ** bit) % 2 === 1;
      const next = one ? (node.one ??= {}) : (node.zero ??= {});
      node = next;
    }
    node.sym = sym;
  });
  return root;
})();

/** HPACK Huffman encoding (padded with the EOS prefix); used by tests. */
export function huffmanEncode(data: Buffer): Buffer {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of data) {
    const [code, len] = huffmanCodes[byte]!;
    for (let bit = len - 1; bit >= 0; bit--) {
      acc = (acc << 1) | (Math.floor(code / 2 ** bit) % 2);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Buffer.from(out);
}

/** Decodes an HPACK Huffman string; undefined if it is malformed. */
export function huffmanDecode(buf: Buffer): Buffer | undefined {
  const out: number[] = [];
  let node = huffmanTree;
  let depth = 0;
  let allOnes = true;
  for (const byte of buf) {
    for (let bit = 7; bit >= 0; bit--) {
      const one = ((byte >> bit) & 1) === 1;
      const next = one ? node.one : node.zero;
      if (!next) return undefined;
      node = next;
      depth++;
      allOnes &&= one;
      if (node.sym !== undefined) {
        if (node.sym === 256) return undefined; // EOS inside a string is an error (§5.2)
        out.push(node.sym);
        node = huffmanTree;
        depth = 0;
        allOnes = true;
      }
    }
  }
  // Padding: fewer than 8 bits, all ones (a prefix of EOS).
  if (depth > 7 || !allOnes) return undefined;
  return Buffer.from(out);
}

/** Characters nghttp2 accepts in :authority (RFC 3986 host/port plus userinfo). */
function authorityByteOk(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    '-._~!$&\'()*+,;=:@[]%'.includes(String.fromCharCode(c));
}

function encodeInt(value: number, prefixBits: number, firstByteHigh: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteHigh | value]);
  const out = [firstByteHigh | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  int(prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    if (this.pos >= this.buf.length) throw new Error('truncated');
    let v = this.buf[this.pos++]! & max;
    if (v < max) return v;
    let m = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated');
      const b = this.buf[this.pos++]!;
      v += (b & 127) * m;
      m *= 128;
      if ((b & 128) === 0) return v;
      if (m > 2 ** 28) throw new Error('integer too large');
    }
  }
  /** A string literal: its raw bytes and whether they are Huffman-coded. */
  str(): { huffman: boolean; bytes: Buffer } {
    if (this.pos >= this.buf.length) throw new Error('truncated');
    const huffman = (this.buf[this.pos]! & 0x80) !== 0;
    const len = this.int(7);
    if (this.pos + len > this.buf.length) throw new Error('truncated');
    const bytes = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return { huffman, bytes };
  }
}

/**
 * Returns the header block with any literal :authority value sanitised, or the same
 * Buffer if nothing needed changing or the block does not parse.
 */
export function rewriteHeaderBlock(block: Buffer): Buffer {
  const parts: Buffer[] = [];
  let copiedUpTo = 0;
  let changed = false;
  const r = new Reader(block);
  try {
    while (r.pos < block.length) {
      const b = block[r.pos]!;
      if (b & 0x80) { r.int(7); continue; } // indexed field
      if ((b & 0xe0) === 0x20) { r.int(5); continue; } // dynamic table size update
      // Literal: with incremental indexing (01), without indexing (0000), never indexed (0001).
      const prefixBits = (b & 0xc0) === 0x40 ? 6 : 4;
      const nameIndex = r.int(prefixBits);
      let isAuthority = nameIndex === 1;
      if (nameIndex === 0) {
        const name = r.str();
        const n = name.huffman ? huffmanDecode(name.bytes) : name.bytes;
        isAuthority = n !== undefined && n.toString('latin1') === ':authority';
      }
      const valueStart = r.pos;
      const value = r.str();
      if (!isAuthority) continue;
      const decoded = value.huffman ? huffmanDecode(value.bytes) : Buffer.from(value.bytes);
      if (!decoded || decoded.every(authorityByteOk)) continue;
      const clean = Buffer.from(decoded.map((c) => (authorityByteOk(c) ? c : 0x2d)));
      parts.push(block.subarray(copiedUpTo, valueStart));
      parts.push(encodeInt(clean.length, 7, 0x00), clean);
      copiedUpTo = r.pos;
      changed = true;
    }
  } catch {
    return block;
  }
  if (!changed) return block;
  parts.push(block.subarray(copiedUpTo));
  return Buffer.concat(parts);
}

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const h = Buffer.alloc(FRAME_HEADER);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return h;
}

/**
 * Rewrites the client-to-server byte stream of one HTTP/2 connection (see the file
 * comment). Push bytes in with `write`; rewritten bytes come out through `onOutput`, in
 * order. Frames other than HEADERS/CONTINUATION pass through byte for byte.
 */
export class AuthorityRewriter {
  private buf: Buffer = Buffer.alloc(0);
  private prefaceSeen = false;
  /** A header block being collected across CONTINUATION frames. */
  private pending?: { streamId: number; flags: number; priority?: Buffer; fragments: Buffer[] };
  /** Set once the stream is not HTTP/2 (or breaks framing): pass everything through. */
  private passthrough = false;

  constructor(private readonly onOutput: (b: Buffer) => void) {}

  write(chunk: Buffer): void {
    if (this.passthrough) return this.onOutput(chunk);
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (!this.prefaceSeen) {
      const n = Math.min(this.buf.length, PREFACE.length);
      if (!this.buf.subarray(0, n).equals(PREFACE.subarray(0, n))) return this.giveUp();
      if (this.buf.length < PREFACE.length) return;
      this.onOutput(this.buf.subarray(0, PREFACE.length));
      this.buf = this.buf.subarray(PREFACE.length);
      this.prefaceSeen = true;
    }
    while (this.buf.length >= FRAME_HEADER) {
      const length = this.buf.readUIntBE(0, 3);
      if (this.buf.length < FRAME_HEADER + length) return;
      const frame = this.buf.subarray(0, FRAME_HEADER + length);
      this.buf = this.buf.subarray(FRAME_HEADER + length);
      this.frame(frame);
      if (this.passthrough) return;
    }
  }

  private giveUp(): void {
    this.passthrough = true;
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    if (rest.length > 0) this.onOutput(rest);
  }

  private frame(frame: Buffer): void {
    const type = frame[3]!;
    const flags = frame[4]!;
    const streamId = frame.readUInt32BE(5) & 0x7fffffff;
    if (type !== TYPE_HEADERS && type !== TYPE_CONTINUATION) {
      if (this.pending) return this.abandon(frame); // protocol error; let nghttp2 see it
      return this.onOutput(frame);
    }
    let payload = frame.subarray(FRAME_HEADER);
    if (type === TYPE_HEADERS) {
      if (this.pending) return this.abandon(frame);
      if (flags & FLAG_PADDED) {
        const pad = payload[0] ?? 0;
        if (1 + pad > payload.length) return this.onOutput(frame);
        payload = payload.subarray(1, payload.length - pad);
      }
      let priority: Buffer | undefined;
      if (flags & FLAG_PRIORITY) {
        if (payload.length < 5) return this.onOutput(frame);
        priority = payload.subarray(0, 5);
        payload = payload.subarray(5);
      }
      this.pending = { streamId, flags, priority, fragments: [payload] };
    } else {
      if (!this.pending || this.pending.streamId !== streamId) return this.abandon(frame);
      this.pending.fragments.push(payload);
    }
    if (flags & FLAG_END_HEADERS) this.emitBlock();
  }

  /** Forwards the collected block, rewritten, as HEADERS (+ CONTINUATION) frames. */
  private emitBlock(): void {
    const p = this.pending!;
    this.pending = undefined;
    const block = rewriteHeaderBlock(Buffer.concat(p.fragments));
    const firstRoom = MAX_FRAME - (p.priority ? 5 : 0);
    const first = block.subarray(0, firstRoom);
    let rest = block.subarray(first.length);
    const headersFlags = (p.flags & (FLAG_END_STREAM | FLAG_PRIORITY)) | (rest.length === 0 ? FLAG_END_HEADERS : 0);
    const payload = p.priority ? Buffer.concat([p.priority, first]) : first;
    this.onOutput(Buffer.concat([frameHeader(payload.length, TYPE_HEADERS, headersFlags, p.streamId), payload]));
    while (rest.length > 0) {
      const piece = rest.subarray(0, MAX_FRAME);
      rest = rest.subarray(piece.length);
      this.onOutput(Buffer.concat([frameHeader(piece.length, TYPE_CONTINUATION, rest.length === 0 ? FLAG_END_HEADERS : 0, p.streamId), piece]));
    }
  }

  /** A framing error from the client: forward what we held and stop interpreting. */
  private abandon(frame: Buffer): void {
    const p = this.pending;
    this.pending = undefined;
    if (p) this.onOutput(Buffer.concat([frameHeader(0, TYPE_HEADERS, p.flags & ~FLAG_END_HEADERS & ~FLAG_PADDED & ~FLAG_PRIORITY, p.streamId), Buffer.concat(p.fragments)]));
    this.onOutput(frame);
    this.giveUp();
  }
}

/** True if `first` (a connection's first bytes) may begin HTTP/2's client preface. */
export function looksLikeHttp2(first: Buffer): boolean {
  const n = Math.min(first.length, PREFACE.length);
  return first.subarray(0, n).equals(PREFACE.subarray(0, n));
}

/**
 * Wraps a client socket as the Duplex grpc-js serves: writes go straight to the socket,
 * reads come through an AuthorityRewriter.
 */
export function rewritingDuplex(socket: Socket): Duplex {
  let paused = false;
  const duplex = new Duplex({
    read() {
      if (paused) {
        paused = false;
        socket.resume();
      }
    },
    write(chunk: Buffer, _enc, cb) {
      if (socket.destroyed) return cb(new Error('socket closed'));
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  const rewriter = new AuthorityRewriter((b) => {
    if (!duplex.push(b) && !paused) {
      paused = true;
      socket.pause();
    }
  });
  socket.on('data', (chunk: Buffer) => rewriter.write(chunk));
  socket.on('end', () => duplex.push(null));
  socket.on('error', (err) => duplex.destroy(err));
  socket.on('close', () => { if (!duplex.destroyed) duplex.destroy(); });
  // The caller may have paused the socket to peek at its first bytes.
  socket.resume();
  // Node's HTTP/2 layer and grpc-js read peer details from the transport.
  Object.assign(duplex, {
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    remoteFamily: socket.remoteFamily,
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    setNoDelay: (v?: boolean) => socket.setNoDelay(v),
    setKeepAlive: (e?: boolean, d?: number) => socket.setKeepAlive(e, d),
    setTimeout: (ms: number, fn?: () => void) => { socket.setTimeout(ms, fn); return duplex; },
  });
  return duplex;
}

/** How `routeHttp2Connection` hands a connection on. */
export interface Http2Routes {
  /** The raw socket, paused, with the bytes read so far unshifted: serve it natively. */
  native(socket: Socket): void;
  /** A connection that needs its authorities rewritten, wrapped by `rewritingDuplex`. */
  rewriting(duplex: Duplex): void;
}

/** Bytes held while waiting for the first request; past this, the rewriter takes over. */
const MAX_HELD_BYTES = 1024 * 1024;

/**
 * Serves a new HTTP/2 connection (its first bytes already unshifted onto the paused
 * `socket`) natively if its first request's `:authority` is one nghttp2 accepts, else
 * through the rewriter (see the file comment).
 *
 * Until the first request's header block is complete the client's bytes are held here.
 * Clients may wait for the server's connection preface before sending a request (grpc-go
 * does), so we send that preface ourselves: an empty SETTINGS frame, which changes no
 * setting. The client's ACK of it is removed from the held bytes (the HTTP/2 session
 * would otherwise see an ACK for SETTINGS it never sent), so the request waits until that
 * ACK has come too: one round trip, once per connection. PINGs that arrive meanwhile are
 * answered here (keep-alive on an idle channel must not time out) and not passed on.
 */
export function routeHttp2Connection(socket: Socket, routes: Http2Routes): void {
  const held: Buffer[] = [];
  let buf: Buffer = Buffer.alloc(0);
  let heldBytes = 0;
  let prefaceSeen = false;
  let ackSeen = false;
  /** The first request's header block: fragments, and whether it is complete. */
  let block: { streamId: number; fragments: Buffer[]; done: boolean } | undefined;
  let decided = false;

  const decide = (native: boolean) => {
    decided = true;
    socket.off('data', onData);
    socket.off('error', onError);
    socket.pause();
    if (buf.length > 0) held.push(buf);
    const rest = Buffer.concat(held);
    if (rest.length > 0) socket.unshift(rest);
    if (native) routes.native(socket);
    else routes.rewriting(rewritingDuplex(socket));
  };
  /** Parses complete frames in `buf`, moving them to `held` (or dropping them); true once decided. */
  const scan = (): boolean => {
    if (!prefaceSeen) {
      const n = Math.min(buf.length, PREFACE.length);
      if (!buf.subarray(0, n).equals(PREFACE.subarray(0, n))) { decide(false); return true; }
      if (buf.length < PREFACE.length) return false;
      held.push(buf.subarray(0, PREFACE.length));
      buf = buf.subarray(PREFACE.length);
      prefaceSeen = true;
    }
    while (buf.length >= FRAME_HEADER) {
      const length = buf.readUIntBE(0, 3);
      if (buf.length < FRAME_HEADER + length) break;
      const frame = buf.subarray(0, FRAME_HEADER + length);
      buf = buf.subarray(FRAME_HEADER + length);
      const type = frame[3]!;
      const flags = frame[4]!;
      const streamId = frame.readUInt32BE(5) & 0x7fffffff;
      if (type === TYPE_SETTINGS && flags & FLAG_ACK && !ackSeen) {
        ackSeen = true; // the ACK of our own SETTINGS: not passed on
      } else if (type === TYPE_PING && !(flags & FLAG_ACK) && length === 8) {
        socket.write(Buffer.concat([frameHeader(8, TYPE_PING, FLAG_ACK, 0), frame.subarray(FRAME_HEADER)]));
      } else {
        held.push(frame);
        if (!block && type === TYPE_HEADERS) {
          const payload = headerFragment(frame);
          if (!payload) { decide(false); return true; }
          block = { streamId, fragments: [payload], done: (flags & FLAG_END_HEADERS) !== 0 };
        } else if (block && !block.done) {
          // Only CONTINUATION of the same stream may follow; anything else is nghttp2's to refuse.
          if (type !== TYPE_CONTINUATION || streamId !== block.streamId) { decide(false); return true; }
          block.fragments.push(frame.subarray(FRAME_HEADER));
          block.done = (flags & FLAG_END_HEADERS) !== 0;
        }
      }
      if (ackSeen && block?.done) {
        const b = Buffer.concat(block.fragments);
        decide(rewriteHeaderBlock(b) === b);
        return true;
      }
    }
    return false;
  };
  const onData = (chunk: Buffer) => {
    heldBytes += chunk.length;
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    if (scan()) return;
    if (heldBytes > MAX_HELD_BYTES && !decided) decide(false);
  };
  const onError = () => socket.destroy();
  socket.on('error', onError);
  // Our connection preface (see above); nghttp2 sends its own SETTINGS once it has the socket.
  socket.write(frameHeader(0, TYPE_SETTINGS, 0, 0));
  socket.on('data', onData);
  socket.resume();
}

/** A HEADERS frame's header block fragment (padding and priority removed), or undefined if malformed. */
function headerFragment(frame: Buffer): Buffer | undefined {
  const flags = frame[4]!;
  let payload = frame.subarray(FRAME_HEADER);
  if (flags & FLAG_PADDED) {
    const pad = payload[0] ?? 0;
    if (1 + pad > payload.length) return undefined;
    payload = payload.subarray(1, payload.length - pad);
  }
  if (flags & FLAG_PRIORITY) {
    if (payload.length < 5) return undefined;
    payload = payload.subarray(5);
  }
  return payload;
}
