/**
 * exec/attach over WebSocket, the kubelet side of upstream's remotecommand protocols
 * (k8s.io/apimachinery/pkg/util/remotecommand, wsstream):
 *
 *   channel 0 stdin (client → server), 1 stdout, 2 stderr, 3 error/status, 4 resize
 *   ({"Width":W,"Height":H}, client → server); v5 adds 255 = close, whose one data byte
 *   names the channel the client has finished writing (stdin EOF).
 *
 * Every message is one byte of channel then the data (binary protocols), or one ASCII
 * digit of channel then base64 data (the base64.* protocols, text messages). On v4 and v5
 * channel 3 carries one metav1.Status when the command ends (Success, or Failure with
 * reason NonZeroExitCode and an ExitCode cause); on the older protocols just the error
 * text. As upstream, an empty message on the first writable output channel tells the
 * client the streams are ready.
 */
import { finished as streamFinished, type Readable } from 'node:stream';
import type { WebSocket } from 'ws';
import type { StreamOptions, StreamSession } from '../runtime.js';

/** The subprotocols served, preferred first. */
export const REMOTECOMMAND_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'channel.k8s.io', 'base64.channel.k8s.io'] as const;

export const CHANNEL_STDIN = 0;
export const CHANNEL_STDOUT = 1;
export const CHANNEL_STDERR = 2;
export const CHANNEL_ERROR = 3;
export const CHANNEL_RESIZE = 4;
export const CHANNEL_CLOSE = 255;

/** Picks the first of our protocols the client offered (upstream wsstream's order is the client's; kubectl offers one). */
export function selectRemoteCommandProtocol(offered: Iterable<string>): string | undefined {
  const set = new Set(offered);
  return REMOTECOMMAND_PROTOCOLS.find((p) => set.has(p));
}

/** Encodes one message for the protocol. */
export function encodeChannelMessage(protocol: string, channel: number, data: Buffer): Buffer | string {
  if (protocol.includes('base64')) return String.fromCharCode(48 + channel) + data.toString('base64');
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  data.copy(out, 1);
  return out;
}

/** Decodes one message; undefined for an empty one. */
export function decodeChannelMessage(protocol: string, msg: Buffer | string): { channel: number; data: Buffer } | undefined {
  if (protocol.includes('base64')) {
    const s = typeof msg === 'string' ? msg : msg.toString();
    if (s.length === 0) return undefined;
    return { channel: s.charCodeAt(0) - 48, data: Buffer.from(s.slice(1), 'base64') };
  }
  const b = typeof msg === 'string' ? Buffer.from(msg) : msg;
  if (b.length === 0) return undefined;
  return { channel: b[0]!, data: b.subarray(1) };
}

/** metav1.Status as the kubelet writes it on the error channel (v4+). */
export interface ExecStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: Array<{ reason?: string; message: string }> };
  code?: number;
}

/** The status for a finished command (upstream remotecommand ServeExec). */
export function execStatus(result: { exitCode?: number; message?: string }): ExecStatus {
  if (result.message) {
    return { metadata: {}, status: 'Failure', message: result.message, reason: 'InternalError', details: { causes: [{ message: result.message }] }, code: 500 };
  }
  if (result.exitCode !== undefined && result.exitCode !== 0) {
    return {
      metadata: {},
      status: 'Failure',
      message: `command terminated with non-zero exit code: error executing command, exit code ${result.exitCode}`,
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: String(result.exitCode) }] },
    };
  }
  return { metadata: {}, status: 'Success' };
}

/** The message of an exec that could not start (upstream wraps runtime errors as InternalError). */
export function execStartFailure(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.startsWith('Internal error occurred: ') ? msg : `Internal error occurred: error executing command in container: ${msg}`;
}

export interface ServeRemoteCommandOptions {
  ws: WebSocket;
  protocol: string;
  opts: StreamOptions;
  /** Starts the exec/attach once the client is connected. */
  start(): Promise<StreamSession>;
  onError?(err: unknown): void;
  /** The clock's setTimeout (default the real one), for the settle delay below. */
  setTimeout?(fn: () => void, ms: number): unknown;
}

/**
 * kubectl (client-go's WebSocket executor) starts reading frames before it has made its
 * streams, and drops a frame for a stream it has not made yet ("Unknown stream id 3,
 * discarding message", then "error: closed all streams"). Behind upstream's API server
 * proxy and SPDY hop, nothing reaches it that early; here a command refused at once could,
 * so frames after the opening empty one wait until this long after the upgrade.
 */
export const CLIENT_SETTLE_MS = 100;

/**
 * Bridges an upgraded WebSocket to a {@link StreamSession}: client stdin/resize/close in,
 * stdout/stderr out, then the status, then a normal close. Resolves when it is over.
 */
export async function serveRemoteCommand(o: ServeRemoteCommandOptions): Promise<void> {
  const { ws, protocol, opts } = o;
  const v4 = protocol.startsWith('v4.') || protocol.startsWith('v5.');
  const v5 = protocol.startsWith('v5.');
  const sendNow = (channel: number, data: Buffer) => {
    if (ws.readyState === ws.OPEN) ws.send(encodeChannelMessage(protocol, channel, data));
  };
  // Frames after the opening one are held until CLIENT_SETTLE_MS after the upgrade.
  let holding = true;
  const held: Array<{ channel: number; data: Buffer }> = [];
  const settled = new Promise<void>((resolve) => void (o.setTimeout ?? setTimeout)(() => {
    holding = false;
    for (const m of held.splice(0)) sendNow(m.channel, m.data);
    resolve();
  }, CLIENT_SETTLE_MS));
  const send = (channel: number, data: Buffer) => {
    if (holding) held.push({ channel, data });
    else sendNow(channel, data);
  };
  const writeStatus = (result: { exitCode?: number; message?: string }) => {
    if (v4) send(CHANNEL_ERROR, Buffer.from(JSON.stringify(execStatus(result))));
    else if (result.message || (result.exitCode ?? 0) !== 0) send(CHANNEL_ERROR, Buffer.from(result.message ?? `command terminated with non-zero exit code: ${result.exitCode}`));
  };
  sendNow(opts.stdout ? CHANNEL_STDOUT : opts.stderr ? CHANNEL_STDERR : CHANNEL_ERROR, Buffer.alloc(0));

  let session: StreamSession | undefined;
  let clientGone = false;
  const early: Array<{ channel: number; data: Buffer }> = [];
  const deliver = (m: { channel: number; data: Buffer }) => {
    if (!session) {
      early.push(m);
      return;
    }
    if (m.channel === CHANNEL_STDIN) {
      if (m.data.length && session.stdin && !session.stdin.writableEnded) session.stdin.write(m.data);
    } else if (m.channel === CHANNEL_RESIZE) {
      try {
        const size = JSON.parse(m.data.toString()) as { Width?: number; Height?: number };
        if (size.Width && size.Height) session.resize(size.Width, size.Height);
      } catch {
        // upstream ignores a malformed resize
      }
    } else if (v5 && m.channel === CHANNEL_CLOSE && m.data[0] === CHANNEL_STDIN) {
      if (session.stdin && !session.stdin.writableEnded) session.stdin.end();
    }
  };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const m = decodeChannelMessage(protocol, isBinary ? data : data.toString());
    if (m) deliver(m);
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => {
    clientGone = true;
    resolve();
  }));

  try {
    session = await o.start();
  } catch (err) {
    o.onError?.(err);
    writeStatus({ message: execStartFailure(err) });
    await settled;
    ws.close(1000);
    return;
  }
  if (clientGone) {
    session.close();
    return;
  }
  session.stdin?.on('error', () => {});
  for (const m of early.splice(0)) deliver(m);
  const pump = (r: Readable | undefined, channel: number) =>
    new Promise<void>((resolve) => {
      if (!r) return resolve();
      r.on('data', (d: Buffer) => send(channel, Buffer.isBuffer(d) ? d : Buffer.from(d)));
      // finished() also settles for a stream that ended or was destroyed before we looked.
      streamFinished(r, { writable: false }, () => resolve());
    });
  const outputs = Promise.all([pump(session.stdout, CHANNEL_STDOUT), pump(session.stderr, CHANNEL_STDERR)]);
  const finished = (async () => {
    const result = await session.done;
    await outputs;
    return result;
  })();
  const first = await Promise.race([finished.then((r) => ({ r })), closed.then(() => undefined)]);
  if (!first) {
    session.close();
    return;
  }
  writeStatus(first.r);
  await settled;
  ws.close(1000);
}

/** The remotecommand protocols served over SPDY (kubectl before 1.30, or with websockets turned off). */
export const SPDY_REMOTECOMMAND_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;

/** Upstream's negotiation: the first protocol the client offers that the server speaks. */
export function negotiateSpdyProtocol(offered: string[]): string | undefined {
  return offered.find((p) => (SPDY_REMOTECOMMAND_PROTOCOLS as readonly string[]).includes(p));
}

export interface ServeRemoteCommandSpdyOptions {
  conn: import('./spdy.js').SpdyConnection;
  protocol: string;
  opts: StreamOptions;
  start(): Promise<StreamSession>;
  onError?(err: unknown): void;
  /** Upstream's streamCreationTimeout. */
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

/**
 * exec/attach over SPDY (upstream remotecommand httpstream.go): the client opens one
 * stream per `streamtype` (error, stdin, stdout, stderr, and resize with a TTY on v3+);
 * stdin's FIN ends input, the error stream gets the status (v4: metav1.Status JSON; older:
 * the error text), then the connection closes.
 */
export function serveRemoteCommandSpdy(o: ServeRemoteCommandSpdyOptions): void {
  const { conn, protocol, opts } = o;
  const v3 = protocol === 'v4.channel.k8s.io' || protocol === 'v3.channel.k8s.io';
  const expected = 1 + (opts.stdin ? 1 : 0) + (opts.stdout ? 1 : 0) + (opts.stderr ? 1 : 0) + (opts.tty && v3 ? 1 : 0);
  const streams = new Map<string, import('./spdy.js').SpdyStream>();
  const timer = o.setTimeout(() => conn.close(), 30_000);
  conn.on('stream', (s: import('./spdy.js').SpdyStream) => {
    const type = s.header('streamtype') ?? '';
    if (!['error', 'stdin', 'stdout', 'stderr', 'resize'].includes(type) || streams.has(type)) {
      s.reset();
      return;
    }
    s.reply();
    s.on('error', () => {});
    streams.set(type, s);
    if (streams.size === expected) {
      timer.cancel();
      void run().catch((err: unknown) => {
        o.onError?.(err);
        conn.close();
      });
    }
  });
  const run = async () => {
    const errorStream = streams.get('error')!;
    errorStream.resume();
    const writeStatus = (result: { exitCode?: number; message?: string }) => {
      if (protocol === 'v4.channel.k8s.io') errorStream.write(JSON.stringify(execStatus(result)));
      else if (result.message || (result.exitCode ?? 0) !== 0) errorStream.write(result.message ?? `command terminated with non-zero exit code: ${result.exitCode}`);
    };
    const finish = () => {
      for (const s of streams.values()) if (!s.destroyed && !s.writableEnded) s.end();
      setImmediate(() => conn.close());
    };
    let session: StreamSession;
    try {
      session = await o.start();
    } catch (err) {
      o.onError?.(err);
      writeStatus({ message: execStartFailure(err) });
      finish();
      return;
    }
    conn.once('close', () => session.close());
    const stdin = streams.get('stdin');
    if (stdin && session.stdin) {
      session.stdin.on('error', () => {});
      stdin.pipe(session.stdin);
    } else stdin?.resume();
    const resize = streams.get('resize');
    if (resize) {
      let buf = '';
      resize.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          try {
            const size = JSON.parse(line) as { Width?: number; Height?: number };
            if (size.Width && size.Height) session.resize(size.Width, size.Height);
          } catch {
            // ignored, as upstream
          }
        }
      });
    }
    const pump = (r: Readable | undefined, w: import('./spdy.js').SpdyStream | undefined) =>
      new Promise<void>((resolve) => {
        if (!r) return resolve();
        r.on('data', (d: Buffer) => w && !w.destroyed && w.write(d));
        streamFinished(r, { writable: false }, () => resolve());
      });
    const outputs = Promise.all([pump(session.stdout, streams.get('stdout')), pump(session.stderr, streams.get('stderr'))]);
    const result = await session.done;
    await outputs;
    writeStatus(result);
    finish();
  };
}
