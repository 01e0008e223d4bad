/**
 * SPDY/3.1 framing, enough for Kubernetes' streaming protocols (what Go's
 * moby/spdystream speaks for kubectl port-forward, and what the CRI stream server of
 * containerd speaks for exec/attach): SYN_STREAM, SYN_REPLY, DATA, RST_STREAM, SETTINGS,
 * PING, GOAWAY, HEADERS and WINDOW_UPDATE frames, header blocks compressed with zlib and the
 * SPDY/3 dictionary (one compression context per direction for the whole connection).
 *
 * Flow control is not enforced in either direction (spdystream ignores WINDOW_UPDATE and
 * never sends one either). Outgoing header blocks are written as zlib "stored" blocks —
 * valid zlib that any inflater with the dictionary reads — so compression stays
 * synchronous; incoming blocks go through one persistent zlib inflate stream.
 *
 * A {@link SpdyConnection} runs over any byte transport: a TLS socket after an HTTP
 * `Upgrade: SPDY/3.1`, or binary WebSocket messages (`SPDY/3.1+portforward.k8s.io`).
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { constants as zc, createInflate, type Inflate } from 'node:zlib';

/** The SPDY/3 header compression dictionary (draft 3, section 2.6.10.1): 1423 bytes. */
export const SPDY_DICTIONARY: Buffer = (() => {
  const words = [
    'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
    'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
    'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
    'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
    'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
    'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
    'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive',
    'origin',
  ];
  const tail =
    '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
    '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden' +
    '404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
    'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
    'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,' +
    'publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';
  const parts = words.map((w) => {
    const b = Buffer.alloc(4 + w.length);
    b.writeUInt32BE(w.length, 0);
    b.write(w, 4, 'latin1');
    return b;
  });
  return Buffer.concat([...parts, Buffer.from(tail, 'latin1')]);
})();

export const FrameType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RstStatus = { ProtocolError: 1, InvalidStream: 2, RefusedStream: 3, Cancel: 5, InternalError: 6 } as const;

/** Header names and their values (several values of one name are NUL-joined on the wire). */
export type SpdyHeaders = Record<string, string[]>;

function adler32(buf: Buffer): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < buf.length; i++) {
    a = (a + buf[i]!) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** The uncompressed name/value block: count, then length-prefixed names and values. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers).filter(([, v]) => v.length > 0);
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n, 0);
    return b;
  };
  parts.push(u32(entries.length));
  for (const [name, values] of entries) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(values.join('\0'));
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Parses an uncompressed name/value block. Throws on a malformed block. */
export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const out: SpdyHeaders = {};
  if (block.length < 4) throw new Error('spdy: short header block');
  const count = block.readUInt32BE(0);
  let off = 4;
  const take = (): string => {
    if (off + 4 > block.length) throw new Error('spdy: truncated header block');
    const len = block.readUInt32BE(off);
    off += 4;
    if (off + len > block.length) throw new Error('spdy: truncated header block');
    const s = block.subarray(off, off + len).toString();
    off += len;
    return s;
  };
  for (let i = 0; i < count; i++) {
    const name = take();
    const value = take();
    (out[name] ??= []).push(...value.split('\0'));
  }
  return out;
}

/**
 * The sending side's header compression context: the zlib stream header (with the
 * dictionary's id) before the first block, then each block as stored deflate blocks.
 */
export class HeaderCompressor {
  #started = false;

  compress(raw: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.#started) {
      this.#started = true;
      const h = Buffer.alloc(6);
      h[0] = 0x78;
      h[1] = 0xbb; // FDICT set, FCHECK so that (CMF*256+FLG) % 31 == 0
      h.writeUInt32BE(adler32(SPDY_DICTIONARY), 2);
      parts.push(h);
    }
    for (let off = 0; off < raw.length || off === 0; off += 0xffff) {
      const chunk = raw.subarray(off, off + 0xffff);
      const hdr = Buffer.alloc(5);
      hdr[0] = 0x00; // BFINAL=0, BTYPE=00 (stored)
      hdr.writeUInt16LE(chunk.length, 1);
      hdr.writeUInt16LE(~chunk.length & 0xffff, 3);
      parts.push(hdr, chunk);
      if (raw.length === 0) break;
    }
    // The empty stored block of a zlib sync flush: it is what makes an inflater (Go's
    // compress/flate) hand out the block's bytes without reading past the frame.
    parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(parts);
  }
}

/** The receiving side's header decompression context (one zlib stream per connection). */
export class HeaderDecompressor {
  readonly #z: Inflate;
  #out: Buffer[] = [];
  #err: Error | undefined;

  constructor() {
    this.#z = createInflate({ dictionary: SPDY_DICTIONARY });
    this.#z.on('data', (d: Buffer) => this.#out.push(d));
    this.#z.on('error', (err: Error) => {
      this.#err = err;
    });
  }

  decompress(block: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.#err) return reject(this.#err);
      this.#z.write(block);
      this.#z.flush(zc.Z_SYNC_FLUSH, () => {
        if (this.#err) return reject(this.#err);
        const out = Buffer.concat(this.#out);
        this.#out = [];
        resolve(out);
      });
    });
  }

  close(): void {
    this.#z.destroy();
  }
}

/** A parsed frame. */
export type SpdyFrame =
  | { kind: 'data'; streamId: number; flags: number; data: Buffer }
  | { kind: 'control'; type: number; flags: number; payload: Buffer };

/** Splits a byte stream into frames. */
export class FrameReader {
  #buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): SpdyFrame[] {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    const frames: SpdyFrame[] = [];
    while (this.#buf.length >= 8) {
      const len = this.#buf.readUIntBE(5, 3);
      if (this.#buf.length < 8 + len) break;
      const flags = this.#buf[4]!;
      const payload = this.#buf.subarray(8, 8 + len);
      if (this.#buf[0]! & 0x80) {
        frames.push({ kind: 'control', type: this.#buf.readUInt16BE(2), flags, payload });
      } else {
        frames.push({ kind: 'data', streamId: this.#buf.readUInt32BE(0) & 0x7fffffff, flags, data: payload });
      }
      this.#buf = this.#buf.subarray(8 + len);
    }
    return frames;
  }
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h[4] = flags;
  h.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([h, payload]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h[4] = flags;
  h.writeUIntBE(data.length, 5, 3);
  return Buffer.concat([h, data]);
}

function u32s(...ns: number[]): Buffer {
  const b = Buffer.alloc(4 * ns.length);
  ns.forEach((n, i) => b.writeUInt32BE(n >>> 0, 4 * i));
  return b;
}

/** Largest DATA payload sent in one frame. */
const MAX_DATA = 64 * 1024;

/**
 * One SPDY stream as a Duplex: writes become DATA frames, end() sends FIN, the peer's
 * DATA arrives as readable data and its FIN as end-of-stream; a RST_STREAM destroys it.
 */
export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: SpdyHeaders;
  readonly #conn: SpdyConnection;
  #replied = false;
  #replyWaiters: Array<(err?: Error) => void> = [];
  remoteFinished = false;
  localFinished = false;

  constructor(conn: SpdyConnection, id: number, headers: SpdyHeaders, replied: boolean) {
    super({ allowHalfOpen: true });
    this.#conn = conn;
    this.id = id;
    this.headers = headers;
    this.#replied = replied;
  }

  /** A header's first value. */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  /** Server side: accepts the stream (SYN_REPLY with no headers). */
  reply(): void {
    if (this.#replied) return;
    this.#replied = true;
    this.#conn.sendReply(this.id);
  }

  /** Aborts the stream with RST_STREAM. */
  reset(status: number = RstStatus.Cancel): void {
    this.#conn.sendReset(this.id, status);
    this.#conn.forget(this.id);
    this.destroy();
  }

  /** Client side: resolves once the peer replied, rejects if it reset the stream. */
  waitReply(): Promise<void> {
    if (this.#replied) return Promise.resolve();
    return new Promise((resolve, reject) => this.#replyWaiters.push((err) => (err ? reject(err) : resolve())));
  }

  /** @internal */
  onReply(): void {
    this.#replied = true;
    for (const w of this.#replyWaiters.splice(0)) w();
  }

  /** @internal */
  onRemoteData(data: Buffer, fin: boolean): void {
    if (data.length) this.push(data);
    if (fin) this.onRemoteFin();
  }

  /** @internal */
  onRemoteFin(): void {
    if (this.remoteFinished) return;
    this.remoteFinished = true;
    this.push(null);
    if (this.localFinished) this.#conn.forget(this.id);
  }

  /** @internal */
  onReset(): void {
    for (const w of this.#replyWaiters.splice(0)) w(new Error('stream reset'));
    this.#conn.forget(this.id);
    this.destroy();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    for (let off = 0; off < chunk.length; off += MAX_DATA) this.#conn.sendData(this.id, chunk.subarray(off, off + MAX_DATA), false);
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.localFinished = true;
    this.#conn.sendData(this.id, Buffer.alloc(0), true);
    if (this.remoteFinished) this.#conn.forget(this.id);
    cb();
  }
}

export interface SpdyConnectionOptions {
  /** Server streams are even, client streams odd (SPDY/3: the client initiates odd ids). */
  server: boolean;
  /** Writes bytes to the transport. */
  send(data: Buffer): void;
  /** Closes the transport. */
  close(): void;
}

/**
 * A SPDY connection over a byte transport: feed it the bytes read with {@link feed} and
 * call {@link transportClosed} when the transport ends. Emits 'stream' (SpdyStream) for
 * each SYN_STREAM from the peer, 'close' once.
 */
export class SpdyConnection extends EventEmitter {
  readonly #o: SpdyConnectionOptions;
  readonly #reader = new FrameReader();
  readonly #compressor = new HeaderCompressor();
  readonly #decompressor = new HeaderDecompressor();
  readonly #streams = new Map<number, SpdyStream>();
  #chain: Promise<void> = Promise.resolve();
  #nextId: number;
  #closed = false;

  constructor(opts: SpdyConnectionOptions) {
    super();
    this.#o = opts;
    this.#nextId = opts.server ? 2 : 1;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes read from the transport. */
  feed(chunk: Buffer): void {
    if (this.#closed) return;
    let frames: SpdyFrame[];
    try {
      frames = this.#reader.push(chunk);
    } catch {
      this.close();
      return;
    }
    for (const f of frames) {
      this.#chain = this.#chain.then(() => this.#handle(f)).catch(() => this.close());
    }
  }

  /** The transport ended: every stream ends with it. */
  transportClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#decompressor.close();
    for (const s of this.#streams.values()) s.destroy();
    this.#streams.clear();
    this.emit('close');
  }

  /** Sends GOAWAY and closes the transport. */
  close(): void {
    if (this.#closed) return;
    this.#write(controlFrame(FrameType.GoAway, 0, u32s(0, 0)));
    this.#o.close();
    this.transportClosed();
  }

  /** Client side: opens a stream with these headers (SYN_STREAM). */
  openStream(headers: SpdyHeaders, fin = false): SpdyStream {
    const id = this.#nextId;
    this.#nextId += 2;
    const s = new SpdyStream(this, id, headers, false);
    this.#streams.set(id, s);
    const block = this.#compressor.compress(encodeHeaderBlock(headers));
    // stream id, associated-to stream id, priority (3 bits) + unused, slot.
    const head = Buffer.alloc(10);
    head.writeUInt32BE(id, 0);
    head.writeUInt32BE(0, 4);
    this.#write(controlFrame(FrameType.SynStream, fin ? FLAG_FIN : 0, Buffer.concat([head, block])));
    if (fin) s.localFinished = true;
    return s;
  }

  /** @internal */
  sendReply(id: number): void {
    const block = this.#compressor.compress(encodeHeaderBlock({}));
    this.#write(controlFrame(FrameType.SynReply, 0, Buffer.concat([u32s(id), block])));
  }

  /** @internal */
  sendReset(id: number, status: number): void {
    this.#write(controlFrame(FrameType.RstStream, 0, u32s(id, status)));
  }

  /** @internal */
  sendData(id: number, data: Buffer, fin: boolean): void {
    this.#write(dataFrame(id, fin ? FLAG_FIN : 0, data));
  }

  /** @internal */
  forget(id: number): void {
    this.#streams.delete(id);
  }

  #write(b: Buffer): void {
    if (this.#closed) return;
    this.#o.send(b);
  }

  async #handle(f: SpdyFrame): Promise<void> {
    if (this.#closed) return;
    if (f.kind === 'data') {
      this.#streams.get(f.streamId)?.onRemoteData(f.data, (f.flags & FLAG_FIN) !== 0);
      return;
    }
    const p = f.payload;
    switch (f.type) {
      case FrameType.SynStream: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.#decompressor.decompress(p.subarray(10)));
        if (id === 0 || this.#streams.has(id)) {
          this.sendReset(id, RstStatus.ProtocolError);
          return;
        }
        const s = new SpdyStream(this, id, headers, false);
        this.#streams.set(id, s);
        if (f.flags & FLAG_UNIDIRECTIONAL) s.localFinished = true;
        if (f.flags & FLAG_FIN) s.onRemoteFin();
        this.emit('stream', s);
        return;
      }
      case FrameType.SynReply: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        await this.#decompressor.decompress(p.subarray(4));
        const s = this.#streams.get(id);
        s?.onReply();
        if (s && f.flags & FLAG_FIN) s.onRemoteFin();
        return;
      }
      case FrameType.Headers: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        await this.#decompressor.decompress(p.subarray(4));
        if (f.flags & FLAG_FIN) this.#streams.get(id)?.onRemoteFin();
        return;
      }
      case FrameType.RstStream:
        this.#streams.get(p.readUInt32BE(0) & 0x7fffffff)?.onReset();
        return;
      case FrameType.Ping: {
        const id = p.readUInt32BE(0);
        // Answer the peer's pings (odd from a client, even from a server); ours are not sent.
        if ((id & 1) === (this.#o.server ? 1 : 0)) this.#write(controlFrame(FrameType.Ping, 0, p.subarray(0, 4)));
        return;
      }
      case FrameType.GoAway:
        // The peer starts no new streams; the open ones finish on their own.
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and unknown frames: nothing to do (no flow control).
        return;
    }
  }
}
