import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorityRewriter, huffmanDecode, huffmanEncode, rewriteHeaderBlock, routeHttp2Connection } from './h2authority.js';

// RFC 7541 Appendix C.4: Huffman-coded request header values.
const rfcVectors: Array<[string, string]> = [
  ['www.example.com', 'f1e3c2e5f23a6ba0ab90f4ff'],
  ['no-cache', 'a8eb10649cbf'],
  ['custom-key', '25a849e95ba97d7f'],
  ['custom-value', '25a849e95bb8e8b4bf'],
];

for (const [text, hex] of rfcVectors) {
  test(`huffman: RFC 7541 vector ${JSON.stringify(text)}`, () => {
    assert.equal(huffmanDecode(Buffer.from(hex, 'hex'))?.toString(), text);
    assert.equal(huffmanEncode(Buffer.from(text)).toString('hex'), hex);
  });
}

test('huffman: every byte value round-trips', () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.deepEqual(huffmanDecode(huffmanEncode(all)), all);
});

test('huffman: padding longer than 7 bits or not all ones is refused', () => {
  assert.equal(huffmanDecode(Buffer.from([0xff, 0xff])), undefined);
  const zeroPadded = Buffer.from(huffmanEncode(Buffer.from('a'))); // 'a' = 00011 + 111 padding
  zeroPadded[0] = zeroPadded[0]! & 0xf8;
  assert.equal(huffmanDecode(zeroPadded), undefined);
});

/** HPACK string literal. */
function lit(s: string, huffman: boolean): Buffer {
  const bytes = huffman ? huffmanEncode(Buffer.from(s)) : Buffer.from(s);
  assert.ok(bytes.length < 127);
  return Buffer.concat([Buffer.from([(huffman ? 0x80 : 0) | bytes.length]), bytes]);
}

/** Decodes the value of the first literal field with name index 1 (a test helper). */
function authorityOf(block: Buffer): string {
  let i = 0;
  while (i < block.length) {
    const b = block[i]!;
    if (b & 0x80) { i++; continue; }
    const idx = (b & 0xc0) === 0x40 ? b & 0x3f : b & 0x0f;
    i++;
    const h = (block[i]! & 0x80) !== 0;
    const len = block[i]! & 0x7f;
    const raw = block.subarray(i + 1, i + 1 + len);
    const v = h ? huffmanDecode(raw)!.toString() : raw.toString();
    if (idx === 1) return v;
    i += 1 + len;
  }
  throw new Error('no :authority');
}

const cases: Array<{ name: string; block: Buffer; want: string }> = [
  // 0x83 = :method POST (indexed), 0x86 = :scheme http, 0x41 = literal with indexing, name :authority
  { name: 'plain literal with indexing', block: Buffer.concat([Buffer.from([0x83, 0x86, 0x41]), lit('http://127.0.0.1:2379', false)]), want: 'http:--127.0.0.1:2379' },
  { name: 'huffman literal with indexing', block: Buffer.concat([Buffer.from([0x83, 0x41]), lit('http://127.0.0.1:2379', true), Buffer.from([0x86])]), want: 'http:--127.0.0.1:2379' },
  { name: 'literal without indexing', block: Buffer.concat([Buffer.from([0x01]), lit('http://h:1', true)]), want: 'http:--h:1' },
  { name: 'literal never indexed', block: Buffer.concat([Buffer.from([0x11]), lit('a/b', false)]), want: 'a-b' },
];

for (const tc of cases) {
  test(`rewriteHeaderBlock: ${tc.name}`, () => {
    const out = rewriteHeaderBlock(tc.block);
    assert.equal(authorityOf(out), tc.want);
    // Same decoded length, so HPACK dynamic table sizes stay in step.
    assert.equal(authorityOf(out).length, authorityOf(tc.block).length);
  });
}

test('rewriteHeaderBlock: a valid authority or an unparsable block is left as is', () => {
  const ok = Buffer.concat([Buffer.from([0x41]), lit('127.0.0.1:2379', true)]);
  assert.equal(rewriteHeaderBlock(ok), ok);
  const broken = Buffer.from([0x41, 0x85, 0x01]);
  assert.equal(rewriteHeaderBlock(broken), broken);
});

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

test('AuthorityRewriter: padded HEADERS with priority split over CONTINUATION, fed byte by byte', () => {
  const block = Buffer.concat([Buffer.from([0x83, 0x86, 0x41]), lit('http://127.0.0.1:2379', true), Buffer.from([0x84])]);
  const settings = frame(0x4, 0, 0, Buffer.alloc(0));
  const priority = Buffer.from([0, 0, 0, 0, 15]);
  const headers = frame(0x1, 0x8 | 0x20 | 0x1, 1, Buffer.concat([Buffer.from([3]), priority, block.subarray(0, 5), Buffer.alloc(3)]));
  const continuation = frame(0x9, 0x4, 1, block.subarray(5));
  const data = frame(0x0, 0x1, 3, Buffer.from('hello'));
  const input = Buffer.concat([PREFACE, settings, headers, continuation, data]);
  const chunks: Buffer[] = [];
  const rw = new AuthorityRewriter((b) => chunks.push(Buffer.from(b)));
  for (const byte of input) rw.write(Buffer.from([byte]));
  const out = Buffer.concat(chunks);
  assert.deepEqual(out.subarray(0, PREFACE.length + settings.length), Buffer.concat([PREFACE, settings]));
  let rest = out.subarray(PREFACE.length + settings.length);
  const len = rest.readUIntBE(0, 3);
  assert.equal(rest[3], 0x1);
  assert.equal(rest[4], 0x20 | 0x1 | 0x4); // priority and end-stream kept, padding dropped, one frame
  assert.deepEqual(rest.subarray(9, 14), priority);
  assert.equal(authorityOf(rest.subarray(14, 9 + len)), 'http:--127.0.0.1:2379');
  rest = rest.subarray(9 + len);
  assert.deepEqual(rest, data);
});

test('AuthorityRewriter: a stream that is not HTTP/2 passes through untouched', () => {
  const chunks: Buffer[] = [];
  const rw = new AuthorityRewriter((b) => chunks.push(Buffer.from(b)));
  rw.write(Buffer.from('GET / HTTP/1.1\r\n'));
  rw.write(Buffer.from('Host: x\r\n\r\n'));
  assert.equal(Buffer.concat(chunks).toString(), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
});

/** A loopback connection routed by routeHttp2Connection: the route taken and the bytes handed on. */
async function route(clientBytes: (serverPreface: Buffer) => Buffer[]): Promise<{ route: string; bytes: Buffer; toClient: Buffer }> {
  const { createServer, connect } = await import('node:net');
  const toClient: Buffer[] = [];
  let resolveRoute!: (r: { route: string; bytes: Buffer }) => void;
  const routed = new Promise<{ route: string; bytes: Buffer }>((r) => { resolveRoute = r; });
  const server = createServer((socket) => {
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      const take = (name: string, stream: NodeJS.ReadableStream) => {
        const got: Buffer[] = [];
        stream.on('data', (d: Buffer) => {
          got.push(d);
          const all = Buffer.concat(got);
          if (all.length >= wantBytes) resolveRoute({ route: name, bytes: all });
        });
        stream.resume();
      };
      routeHttp2Connection(socket, { native: (s) => take('native', s), rewriting: (d) => take('rewriting', d) });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1');
  let wantBytes = Infinity;
  const first = new Promise<Buffer>((r) => client.once('data', r));
  client.on('data', (d: Buffer) => toClient.push(d));
  client.write(PREFACE);
  const preface = await first;
  const chunks = clientBytes(preface);
  const passedOn = Buffer.concat(chunks.filter((c) => !(c[3] === 0x4 && c[4] === 0x1) && !(c[3] === 0x6 && c[4] === 0)));
  wantBytes = PREFACE.length + passedOn.length;
  for (const c of chunks) client.write(c);
  const r = await routed;
  // Let any PING answer arrive.
  await new Promise((res) => setTimeout(res, 20));
  client.destroy();
  server.close();
  return { ...r, toClient: Buffer.concat(toClient) };
}

const routeCases = [
  { name: 'a valid authority is served natively', authority: '127.0.0.1:2379', want: 'native' },
  { name: 'a URL as authority goes through the rewriter', authority: 'http://127.0.0.1:2379', want: 'rewriting' },
];
for (const tc of routeCases) {
  test(`routeHttp2Connection: ${tc.name}; our SETTINGS ACK is dropped, a PING is answered`, async () => {
    const settings = frame(0x4, 0, 0, Buffer.alloc(0));
    const ack = frame(0x4, 0x1, 0, Buffer.alloc(0));
    const ping = frame(0x6, 0, 0, Buffer.from('12345678'));
    const block = Buffer.concat([Buffer.from([0x83, 0x86, 0x41]), lit(tc.authority, true)]);
    const headers = frame(0x1, 0x4, 1, block);
    const data = frame(0x0, 0x1, 1, Buffer.from('hello'));
    let preface: Buffer = Buffer.alloc(0);
    const r = await route((p) => { preface = p; return [settings, ping, headers, data, ack]; });
    assert.deepEqual(preface, frame(0x4, 0, 0, Buffer.alloc(0)), 'the server preface is an empty SETTINGS frame');
    assert.equal(r.route, tc.want);
    const rest = r.bytes.subarray(PREFACE.length);
    assert.deepEqual(r.bytes.subarray(0, PREFACE.length), PREFACE);
    assert.deepEqual(rest.subarray(0, settings.length), settings);
    if (tc.want === 'native') assert.deepEqual(rest.subarray(settings.length), Buffer.concat([headers, data]));
    assert.ok(r.toClient.includes(frame(0x6, 0x1, 0, Buffer.from('12345678'))), 'PING answered');
  });
}
