/**
 * The client side of a CRI runtime's stream server (the URLs Exec, Attach and PortForward
 * return): an HTTP/1.1 `Upgrade: SPDY/3.1` to the one-use URL, then upstream's stream
 * protocols on the SPDY connection, as the kubelet's own proxy does:
 *
 *  - exec/attach (v4.channel.k8s.io, falling back to v3/v2/channel.k8s.io): one stream per
 *    `streamtype` — error, stdin, stdout, stderr (not with a TTY), resize (TTY, v3+) —
 *    where stdin's FIN is the end of input, and the error stream carries the final
 *    metav1.Status (v4) or error text;
 *  - portforward.k8s.io: an error and a data stream with `port` and `requestid` headers.
 *
 * SPDY rather than WebSocket because only SPDY can half-close stdin: containerd refuses
 * v5.channel.k8s.io, and v4 over WebSocket has no way to say "stdin ended" (so
 * `echo x | kubectl exec -i … -- cat` would never finish).
 */
import { connect, type Socket } from 'node:net';
import { finished, type Duplex } from 'node:stream';
import { RuntimeError, type StreamOptions, type StreamSession } from '../runtime.js';
import { SpdyConnection, type SpdyStream } from '../server/spdy.js';

/** The remotecommand protocols offered, preferred first. */
export const CRI_STREAM_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

interface Upgraded {
  conn: SpdyConnection;
  socket: Socket;
  protocol: string;
}

/** Upgrades `url` to SPDY/3.1 offering `protocols`; rejects with the server's answer otherwise. */
export function upgradeToSpdy(url: string, protocols: string[], method = 'POST'): Promise<Upgraded> {
  const u = new URL(url);
  if (u.protocol !== 'http:') return Promise.reject(new RuntimeError('Unknown', `unsupported stream server URL ${url}`));
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port || 80) });
    let buf = Buffer.alloc(0);
    let settled = false;
    const fail = (msg: string) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new RuntimeError('Unknown', msg));
    };
    socket.once('error', (err) => fail(`error dialing stream server ${u.host}: ${err.message}`));
    socket.once('close', () => fail(`stream server ${u.host} closed the connection during the upgrade`));
    socket.once('connect', () => {
      const lines = [
        `${method} ${u.pathname}${u.search} HTTP/1.1`,
        `Host: ${u.host}`,
        'Connection: Upgrade',
        'Upgrade: SPDY/3.1',
        ...protocols.map((p) => `X-Stream-Protocol-Version: ${p}`),
        'Content-Length: 0',
      ];
      socket.write(lines.join('\r\n') + '\r\n\r\n');
    });
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 64 * 1024) fail('stream server sent an oversized response head');
        return;
      }
      const head = buf.subarray(0, end).toString();
      const rest = buf.subarray(end + 4);
      const [status, ...headerLines] = head.split('\r\n');
      const code = Number(/^HTTP\/1\.[01] (\d{3})/.exec(status ?? '')?.[1] ?? 0);
      const headers = new Map<string, string>();
      for (const l of headerLines) {
        const i = l.indexOf(':');
        if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
      }
      if (code !== 101) {
        // The body (e.g. "container not found") is the reason; read what came with the head.
        socket.off('data', onData);
        const body = rest.toString().trim();
        fail(`unable to upgrade connection: ${body || status}`);
        return;
      }
      socket.off('data', onData);
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      settled = true;
      const conn = new SpdyConnection({ server: false, send: (b) => !socket.destroyed && socket.write(b), close: () => socket.destroy() });
      socket.on('data', (x: Buffer) => conn.feed(x));
      socket.on('close', () => conn.transportClosed());
      socket.on('error', () => socket.destroy());
      if (rest.length) conn.feed(rest);
      resolve({ conn, socket, protocol: headers.get('x-stream-protocol-version') ?? '' });
    };
    socket.on('data', onData);
  });
}

function readAll(s: SpdyStream): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    finished(s, { writable: false }, () => resolve(Buffer.concat(chunks)));
  });
}

/** The outcome a remotecommand error stream reports (metav1.Status on v4, text before). */
export function parseRemoteCommandStatus(protocol: string, body: string): { exitCode?: number; message?: string } {
  if (!body.trim()) return { exitCode: 0 };
  if (protocol !== 'v4.channel.k8s.io') return { message: body };
  let st: { status?: string; reason?: string; message?: string; details?: { causes?: Array<{ reason?: string; message?: string }> } };
  try {
    st = JSON.parse(body);
  } catch {
    return { message: body };
  }
  if (st.status === 'Success') return { exitCode: 0 };
  if (st.reason === 'NonZeroExitCode') {
    const cause = st.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return { exitCode: code };
  }
  return { message: st.message ?? body };
}

/** Opens an exec or attach session on a CRI stream server URL. */
export async function criStreamSession(url: string, opts: StreamOptions): Promise<StreamSession> {
  const { conn, socket, protocol } = await upgradeToSpdy(url, CRI_STREAM_PROTOCOLS);
  const open = (type: string) => conn.openStream({ streamtype: [type] });
  const errorStream = open('error');
  // We never write on the error stream.
  errorStream.end();
  const stdin = opts.stdin ? open('stdin') : undefined;
  const stdout = opts.stdout ? open('stdout') : undefined;
  const stderr = opts.stderr && !opts.tty ? open('stderr') : undefined;
  const resize = opts.tty && protocol !== 'channel.k8s.io' && protocol !== 'v2.channel.k8s.io' ? open('resize') : undefined;
  const all = [errorStream, stdin, stdout, stderr, resize].filter((s): s is SpdyStream => s !== undefined);
  for (const s of all) s.on('error', () => {});
  try {
    await Promise.all(all.map((s) => s.waitReply()));
  } catch (err) {
    conn.close();
    socket.destroy();
    throw new RuntimeError('Unknown', `stream server refused the streams: ${(err as Error).message}`);
  }
  // Streams we only write are drained so their FIN is seen.
  stdin?.resume();
  resize?.resume();
  const errorBody = readAll(errorStream);
  const ended = (s: SpdyStream | undefined) => (s ? new Promise<void>((resolve) => finished(s, { writable: false }, () => resolve())) : Promise.resolve());
  const done = (async () => {
    const body = (await errorBody).toString();
    await Promise.all([ended(stdout), ended(stderr)]);
    return parseRemoteCommandStatus(protocol, body);
  })();
  void done.finally(() => setImmediate(() => conn.close()));
  conn.once('close', () => socket.destroy());
  return {
    stdin,
    stdout,
    stderr,
    resize(width: number, height: number) {
      if (resize && !resize.writableEnded) resize.write(JSON.stringify({ Width: width, Height: height }) + '\n');
    },
    done,
    close() {
      conn.close();
      socket.destroy();
    },
  };
}

let requestIDs = 0;

/**
 * Opens a connection to `port` of the sandbox through a CRI PortForward URL; the data
 * stream is the connection. An error the server reports ends it with that error.
 */
export async function criPortForward(url: string, port: number): Promise<Duplex> {
  const { conn, socket } = await upgradeToSpdy(url, ['portforward.k8s.io']);
  const requestID = String(requestIDs++);
  const headers = (type: string) => ({ streamtype: [type], port: [String(port)], requestid: [requestID] });
  const errorStream = conn.openStream(headers('error'));
  errorStream.on('error', () => {});
  errorStream.end();
  const data = conn.openStream(headers('data'));
  try {
    await Promise.all([errorStream.waitReply(), data.waitReply()]);
  } catch (err) {
    conn.close();
    socket.destroy();
    throw new RuntimeError('Unknown', `stream server refused port forwarding: ${(err as Error).message}`);
  }
  void readAll(errorStream).then((b) => {
    const msg = b.toString().trim();
    if (msg) data.destroy(new Error(msg));
  });
  data.once('close', () => {
    conn.close();
    socket.destroy();
  });
  return data;
}
