/**
 * The portforward.k8s.io protocol over a SPDY connection (upstream's kubelet
 * cri/streaming/portforward/httpstream.go): the client opens two streams per forwarded
 * connection, `streamtype: error` and `streamtype: data`, with the same `port` and
 * `requestid` headers. Once both arrived the kubelet connects to the port in the pod and
 * copies bytes both ways; a failure is written as text on the error stream. Both streams
 * are closed when the pod side ends.
 */
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../../util/clock.js';
import { RstStatus, type SpdyConnection, type SpdyStream } from './spdy.js';

/** Upstream's streamCreationTimeout default (DefaultStreamCreationTimeout = 30 s). */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer?: TimerHandle;
}

export interface PortForwardHandlerOptions {
  conn: SpdyConnection;
  /** Opens a connection to the port inside the pod. */
  dial(port: number): Promise<Duplex>;
  podName: string;
  podUID: string;
  clock: Clock;
  onError?(err: unknown): void;
}

/** Validates a new stream's headers (upstream httpStreamReceived); returns the problem or undefined. */
export function checkPortForwardStream(s: { header(name: string): string | undefined }): string | undefined {
  const port = s.header('port');
  if (!port) return `"port" header is required`;
  if (!/^\d+$/.test(port) || Number(port) > 65535) return `unable to parse "${port}" as a port`;
  if (Number(port) < 1) return `port "${port}" must be > 0`;
  const type = s.header('streamtype');
  if (!type) return `"streamType" header is required`;
  if (type !== 'error' && type !== 'data') return `invalid stream type "${type}"`;
  return undefined;
}

/** Serves port-forward streams on the connection until it closes. */
export function handlePortForward(o: PortForwardHandlerOptions): void {
  const pairs = new Map<string, Pair>();
  o.conn.on('stream', (s: SpdyStream) => {
    const problem = checkPortForwardStream(s);
    if (problem) {
      o.onError?.(new Error(problem));
      s.reset(RstStatus.ProtocolError);
      return;
    }
    s.reply();
    s.on('error', () => {});
    const type = s.header('streamtype')!;
    let requestID = s.header('requestid');
    // Old clients send no request id: pair by stream id (error n, data n+2), as upstream.
    if (!requestID) requestID = String(type === 'error' ? s.id : s.id - 2);
    let p = pairs.get(requestID);
    if (!p) {
      p = {};
      pairs.set(requestID, p);
      const pair = p;
      p.timer = o.clock.setTimeout(() => {
        if (pairs.get(requestID!) !== pair) return;
        pairs.delete(requestID!);
        const msg = `(conn=${o.podName}, request=${requestID}) timed out waiting for streams`;
        if (pair.error) pair.error.end(msg);
      }, STREAM_CREATION_TIMEOUT_MS);
    }
    if ((type === 'error' && p.error) || (type === 'data' && p.data)) {
      const msg = `error processing stream for request ${requestID}: ${type} stream already assigned`;
      p.error?.write(msg);
      return;
    }
    if (type === 'error') {
      p.error = s;
      // The client never writes on its error stream.
      s.resume();
    } else {
      p.data = s;
    }
    if (p.error && p.data) {
      p.timer?.cancel();
      pairs.delete(requestID);
      void forward(o, Number(s.header('port')), p.data, p.error);
    }
  });
  o.conn.on('close', () => {
    for (const p of pairs.values()) p.timer?.cancel();
    pairs.clear();
  });
}

async function forward(o: PortForwardHandlerOptions, port: number, data: SpdyStream, error: SpdyStream): Promise<void> {
  let target: Duplex;
  try {
    target = await o.dial(port);
  } catch (err) {
    const msg = `error forwarding port ${port} to pod ${o.podName}, uid ${o.podUID}: ${(err as Error).message}`;
    o.onError?.(new Error(msg));
    if (!error.destroyed) error.end(msg);
    if (!data.destroyed) data.end();
    return;
  }
  const finish = () => {
    if (!data.destroyed && !data.writableEnded) data.end();
    if (!error.destroyed && !error.writableEnded) error.end();
  };
  target.on('error', (err: Error) => {
    if (!error.destroyed && !error.writableEnded) error.write(`error forwarding port ${port} to pod ${o.podName}, uid ${o.podUID}: ${err.message}`);
    finish();
  });
  // Client → pod: the client's FIN half-closes the pod connection.
  data.pipe(target);
  // Pod → client: the pod closing its side ends both streams.
  target.on('data', (d: Buffer) => {
    if (!data.destroyed && !data.writableEnded) data.write(d);
  });
  target.once('end', finish);
  target.once('close', finish);
  data.once('close', () => target.destroy());
}
