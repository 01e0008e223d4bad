import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { constants, createDeflate, inflateSync } from 'node:zlib';
import {
  FLAG_FIN,
  FrameReader,
  FrameType,
  HeaderCompressor,
  HeaderDecompressor,
  SPDY_DICTIONARY,
  SpdyConnection,
  controlFrame,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  type SpdyStream,
} from './spdy.js';

test('the SPDY/3 dictionary is byte-exact (1423 bytes, the digest spdystream peers use)', () => {
  assert.equal(SPDY_DICTIONARY.length, 1423);
  assert.equal(createHash('sha256').update(SPDY_DICTIONARY).digest('hex'), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
});

test('header blocks: encode/decode, NUL-joined values, lowercase names', () => {
  const raw = encodeHeaderBlock({ StreamType: ['error'], port: ['80'], multi: ['a', 'b'] });
  assert.deepEqual(decodeHeaderBlock(raw), { streamtype: ['error'], port: ['80'], multi: ['a', 'b'] });
  assert.throws(() => decodeHeaderBlock(Buffer.from([0, 0, 0, 1, 0, 0, 0, 9])), /truncated/);
});

test('our header compression is zlib with the dictionary, each block ending in a sync flush', () => {
  const c = new HeaderCompressor();
  const blocks = [encodeHeaderBlock({ a: ['1'] }), encodeHeaderBlock({}), encodeHeaderBlock({ streamtype: ['data'] })].map((b) => c.compress(b));
  assert.deepEqual([...blocks[0]!.subarray(0, 2)], [0x78, 0xbb]);
  for (const b of blocks) assert.deepEqual([...b.subarray(-5)], [0, 0, 0, 0xff, 0xff]);
  const out = inflateSync(Buffer.concat(blocks), { dictionary: SPDY_DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH });
  assert.deepEqual(out, Buffer.concat([encodeHeaderBlock({ a: ['1'] }), encodeHeaderBlock({}), encodeHeaderBlock({ streamtype: ['data'] })]));
});

test('header decompression keeps one context across blocks (as a real zlib peer compresses)', async () => {
  const z = createDeflate({ dictionary: SPDY_DICTIONARY, level: 9 });
  const out: Buffer[] = [];
  z.on('data', (d: Buffer) => out.push(d));
  const compress = (b: Buffer) =>
    new Promise<Buffer>((resolve) => {
      z.write(b);
      z.flush(constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(out.splice(0))));
    });
  const d = new HeaderDecompressor();
  for (const h of [{ streamtype: ['error'], port: ['8080'], requestid: ['0'] }, { streamtype: ['data'], port: ['8080'], requestid: ['0'] }]) {
    assert.deepEqual(decodeHeaderBlock(await d.decompress(await compress(encodeHeaderBlock(h)))), h);
  }
  d.close();
  z.destroy();
});

test('FrameReader splits control and data frames across arbitrary chunk boundaries', () => {
  const bytes = Buffer.concat([controlFrame(FrameType.Ping, 0, Buffer.from([0, 0, 0, 1])), dataFrame(3, FLAG_FIN, Buffer.from('hello'))]);
  const r = new FrameReader();
  const frames = [...bytes].flatMap((b) => r.push(Buffer.from([b])));
  assert.equal(frames.length, 2);
  assert.deepEqual(frames[0], { kind: 'control', type: FrameType.Ping, flags: 0, payload: Buffer.from([0, 0, 0, 1]) });
  assert.equal(frames[1]!.kind, 'data');
  if (frames[1]!.kind === 'data') {
    assert.equal(frames[1]!.streamId, 3);
    assert.equal(frames[1]!.flags, FLAG_FIN);
    assert.equal(frames[1]!.data.toString(), 'hello');
  }
});

/** A client and a server connection wired to each other in memory. */
function pair(): { client: SpdyConnection; server: SpdyConnection; sent: Buffer[] } {
  const sent: Buffer[] = [];
  const peer: { server?: SpdyConnection } = {};
  const client = new SpdyConnection({ server: false, send: (b) => setImmediate(() => peer.server!.feed(b)), close: () => setImmediate(() => peer.server!.transportClosed()) });
  const server = new SpdyConnection({ server: true, send: (b) => (sent.push(b), setImmediate(() => client.feed(b))), close: () => setImmediate(() => client.transportClosed()) });
  peer.server = server;
  return { client, server, sent };
}

test('SpdyConnection: streams open, reply, carry data both ways, half-close and reset', async () => {
  const { client, server, sent } = pair();
  const accepted: SpdyStream[] = [];
  server.on('stream', (s: SpdyStream) => {
    accepted.push(s);
    if (s.header('streamtype') === 'refuse') return s.reset();
    s.reply();
    // echo, upper-cased, then FIN when the client's FIN arrives
    s.on('data', (d: Buffer) => s.write(d.toString().toUpperCase()));
    s.on('end', () => s.end());
  });
  const a = client.openStream({ streamtype: ['data'], port: ['80'] });
  await a.waitReply();
  assert.equal(accepted[0]!.id, 1);
  assert.equal(accepted[0]!.header('port'), '80');
  let got = '';
  a.on('data', (d: Buffer) => (got += d.toString()));
  a.end('hello spdy');
  await new Promise((resolve) => a.on('end', resolve));
  assert.equal(got, 'HELLO SPDY');

  const b = client.openStream({ streamtype: ['refuse'] });
  assert.equal(b.id, 3);
  await assert.rejects(b.waitReply(), /reset/);

  // A client's ping (odd id) is echoed.
  const ping = controlFrame(FrameType.Ping, 0, Buffer.from([0, 0, 0, 7]));
  server.feed(ping);
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(sent.some((b) => b.equals(ping)));

  // GOAWAY and close: the connection ends for both.
  const closed = new Promise((resolve) => client.once('close', resolve));
  server.close();
  await closed;
  assert.equal(client.closed, true);
});
