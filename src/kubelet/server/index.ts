/**
 * The kubelet's HTTPS server (upstream pkg/kubelet/server), what the API server proxies
 * pods/log, pods/exec, pods/attach and pods/portforward to:
 *
 *   GET /healthz                                       "ok"
 *   GET /pods                                          the node's pods (PodList)
 *   GET /metrics                                       prom-client registry (when given)
 *   GET /containerLogs/<ns>/<pod>/<container>?follow=&previous=&tailLines=&sinceSeconds=&sinceTime=&timestamps=&limitBytes=
 *   /exec/<ns>/<pod>[/<uid>]/<container>?command=…&input=1&output=1&error=1&tty=1
 *   /attach/<ns>/<pod>[/<uid>]/<container>?input=1&output=1&error=1&tty=1
 *                                                      WebSocket (v5/v4/v1 channel protocols)
 *                                                      or SPDY/3.1 (v4/v3/v2/v1)
 *   /portForward/<ns>/<pod>[/<uid>]                    SPDY/3.1 (plain upgrade, or tunnelled in
 *                                                      WebSocket as SPDY/3.1+portforward.k8s.io)
 *
 * exec/attach speak the remotecommand WebSocket protocols (v5.channel.k8s.io first, as
 * kubectl 1.32 asks; see remotecommand.ts); port-forward speaks portforward.k8s.io over SPDY
 * (portforward.ts). The serving certificate is self-signed unless one is given, as the
 * kubelet's without --tls-cert-file. With `clientCA`, only clients presenting a
 * certificate it signed are served (--client-ca-file); without, every client is (as
 * --anonymous-auth with the AlwaysAllow authorizer).
 */
import { access } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Pod } from '../../client/objects.js';
import { realClock, type Clock } from '../../util/clock.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { selfSignedServingCert } from '../../util/x509.js';
import { readContainerLogs, type LogOptions } from '../logs.js';
import { LabelContainerName, LabelPodUID, RuntimeError, type Runtime, type StreamOptions } from '../runtime.js';
import { handlePortForward, PORT_FORWARD_PROTOCOL } from './portforward.js';
import { negotiateSpdyProtocol, selectRemoteCommandProtocol, serveRemoteCommand, serveRemoteCommandSpdy, SPDY_REMOTECOMMAND_PROTOCOLS } from './remotecommand.js';
import { SpdyConnection } from './spdy.js';

/** The WebSocket subprotocol kubectl 1.31+ tunnels port-forward's SPDY in. */
export const SPDY_TUNNEL_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;

export interface KubeletServerOptions {
  /** Listen address (default 0.0.0.0). */
  address?: string;
  /** Port; 0 picks a free one (see RunningKubeletServer.port). */
  port: number;
  /**
   * The runtime running the pods: a kubelet's own, or — for simulated nodes that share one
   * server, as kwok's nodes do — a function giving the runtime of the node a pod is on.
   */
  runtime: Runtime | ((pod: Pod) => Runtime | undefined);
  /** The pod as the kubelet knows it (spec and last status), or undefined. */
  podLookup(namespace: string, name: string): Pod | undefined;
  /** The node's pods, for GET /pods (default: none). */
  listPods?(): Pod[];
  logger?: Logger;
  registry?: Registry;
  clock?: Clock;
  /** Serving certificate and key (PEM); default: self-signed for the node's names. */
  tls?: { cert: string; key: string };
  /** Names and IPs for the self-signed certificate (the node name, its addresses). */
  sans?: string[];
  /** CA (PEM) whose client certificates are accepted; unset = every client. */
  clientCA?: string;
  /** Poll period of `logs -f` (ms, default 1000). */
  logPollMs?: number;
}

export interface RunningKubeletServer {
  port: number;
  stop(): Promise<void>;
}

type Obj = Record<string, unknown>;

interface StatusLike {
  name: string;
  containerID?: string;
  state?: { waiting?: { reason?: string }; running?: unknown; terminated?: { containerID?: string } };
  lastState?: { terminated?: { containerID?: string } };
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Strips "<runtime>://" from a status containerID. */
function runtimeID(containerID: string | undefined): string {
  if (!containerID) return '';
  const i = containerID.indexOf('://');
  return i >= 0 ? containerID.slice(i + 3) : containerID;
}

function specContainers(pod: Pod): string[] {
  const spec = (pod.spec ?? {}) as Obj;
  return ['containers', 'initContainers', 'ephemeralContainers'].flatMap((k) => ((spec[k] as { name: string }[] | undefined) ?? []).map((c) => c.name));
}

/**
 * Which container's log to read (upstream kubelet validateContainerLogStatus); throws
 * HttpError 400 with upstream's messages.
 */
export function logContainerID(pod: Pod, container: string, previous: boolean): string {
  const podName = pod.metadata?.name ?? '';
  const st = (pod.status ?? {}) as Obj;
  const all = ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses'].flatMap((k) => (st[k] as StatusLike[] | undefined) ?? []);
  const cs = all.find((s) => s.name === container);
  if (!cs) throw new HttpError(400, `container "${container}" in pod "${podName}" is not available`);
  const last = cs.lastState?.terminated;
  const { waiting, running, terminated } = cs.state ?? {};
  if (previous) {
    if (!last?.containerID) throw new HttpError(400, `previous terminated container "${container}" in pod "${podName}" not found`);
    return runtimeID(last.containerID);
  }
  if (running) return runtimeID(cs.containerID);
  if (terminated) {
    if (terminated.containerID) return runtimeID(terminated.containerID);
    if (last?.containerID) return runtimeID(last.containerID);
    throw new HttpError(400, `container "${container}" in pod "${podName}" is terminated`);
  }
  if (last) {
    if (!last.containerID) throw new HttpError(400, `container "${container}" in pod "${podName}" is terminated`);
    return runtimeID(last.containerID);
  }
  if (waiting) {
    const reason = waiting.reason ?? '';
    if (reason === 'ErrImagePull') throw new HttpError(400, `container "${container}" in pod "${podName}" is waiting to start: image can't be pulled`);
    if (reason === 'ImagePullBackOff') throw new HttpError(400, `container "${container}" in pod "${podName}" is waiting to start: trying and failing to pull image`);
    throw new HttpError(400, `container "${container}" in pod "${podName}" is waiting to start: ${reason}`);
  }
  throw new HttpError(400, `container "${container}" in pod "${podName}" is waiting to start - no logs yet`);
}

/** Go strconv.ParseBool. */
function parseBool(v: string | null): boolean | undefined {
  if (v === null) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False', ''].includes(v)) return false;
  throw new HttpError(400, `{"message": "Unable to decode query."}`);
}

function parseInt64(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw new HttpError(400, `{"message": "Unable to decode query."}`);
  return Number(v);
}

/** PodLogOptions from the query (upstream getContainerLogs + ValidatePodLogOptions). */
export function parseLogQuery(q: URLSearchParams, now: number): LogOptions & { previous: boolean } {
  const tail = q.get('tail');
  if (tail !== null && tail !== 'all') q.set('tailLines', tail);
  const follow = parseBool(q.get('follow')) ?? false;
  const previous = parseBool(q.get('previous')) ?? false;
  const timestamps = parseBool(q.get('timestamps')) ?? false;
  const tailLines = parseInt64(q.get('tailLines'));
  const limitBytes = parseInt64(q.get('limitBytes'));
  const sinceSeconds = parseInt64(q.get('sinceSeconds'));
  const sinceTimeRaw = q.get('sinceTime');
  let sinceMs: number | undefined;
  if (sinceTimeRaw) {
    const t = Date.parse(sinceTimeRaw);
    if (Number.isNaN(t)) throw new HttpError(400, `{"message": "Unable to decode query."}`);
    // metav1.Time has whole-second precision on the wire.
    sinceMs = Math.floor(t / 1000) * 1000;
  }
  const invalid =
    (tailLines !== undefined && tailLines < 0) ||
    (limitBytes !== undefined && limitBytes < 1) ||
    (sinceSeconds !== undefined && sinceSeconds < 1) ||
    (sinceSeconds !== undefined && sinceMs !== undefined);
  if (invalid) throw new HttpError(422, `{"message": "Invalid request."}`);
  if (sinceSeconds !== undefined) sinceMs = now - sinceSeconds * 1000;
  return { follow, previous, timestamps, tailLines, limitBytes, sinceMs };
}

/** Path segments after the verb: ns, pod, [uid,] container. */
function streamTarget(parts: string[], withContainer: boolean): { namespace: string; pod: string; uid?: string; container: string } | undefined {
  const n = parts.length;
  if (withContainer) {
    if (n === 3) return { namespace: parts[0]!, pod: parts[1]!, container: parts[2]! };
    if (n === 4) return { namespace: parts[0]!, pod: parts[1]!, uid: parts[2]!, container: parts[3]! };
    return undefined;
  }
  if (n === 2) return { namespace: parts[0]!, pod: parts[1]!, container: '' };
  if (n === 3) return { namespace: parts[0]!, pod: parts[1]!, uid: parts[2]!, container: '' };
  return undefined;
}

function plainResponse(socket: Duplex, code: number, message: string): void {
  const reason = ({ 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 422: 'Unprocessable Entity', 500: 'Internal Server Error' } as Record<number, string>)[code] ?? 'Error';
  const body = Buffer.from(message);
  socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${message}`);
}

/** Starts the server; resolves once it listens. */
export async function startKubeletServer(opts: KubeletServerOptions): Promise<RunningKubeletServer> {
  const logger = opts.logger ?? silentLogger();
  const clock = opts.clock ?? realClock;
  const runtimeOf = (pod: Pod): Runtime => {
    const rt = typeof opts.runtime === 'function' ? opts.runtime(pod) : opts.runtime;
    if (!rt) throw new HttpError(404, `pod "${pod.metadata?.name ?? ''}" does not exist`);
    return rt;
  };
  const tls =
    opts.tls ??
    (await selfSignedServingCert({
      commonName: `${hostname()}@${Math.floor(clock.now() / 1000)}`,
      sans: [hostname(), 'localhost', '127.0.0.1', ...(opts.sans ?? []), ...(opts.address && opts.address !== '0.0.0.0' && opts.address !== '::' ? [opts.address] : [])],
      notBefore: clock.now() - 60_000,
    }));
  const server: Server = createServer({ cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: false, ca: opts.clientCA });
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (protocols: Set<string>) => selectRemoteCommandProtocol(protocols) ?? false,
  });
  // "SPDY/3.1+portforward.k8s.io" is not an RFC 7230 token ('/'), which ws refuses to parse:
  // such requests have the header taken off before the handshake and put back on the answer.
  const tunnels = new WeakSet<IncomingMessage>();
  wss.on('headers', (headers: string[], req: IncomingMessage) => {
    if (tunnels.has(req)) headers.push(`Sec-WebSocket-Protocol: ${SPDY_TUNNEL_PROTOCOL}`);
  });
  const sockets = new Set<Duplex>();
  const aborts = new Set<AbortController>();

  const authorized = (req: IncomingMessage): boolean => {
    if (!opts.clientCA) return true;
    return (req.socket as TLSSocket).authorized === true;
  };

  const lookup = (namespace: string, name: string, uid?: string): Pod => {
    const pod = opts.podLookup(namespace, name);
    if (!pod || (uid && pod.metadata?.uid !== uid)) throw new HttpError(404, 'pod does not exist');
    return pod;
  };

  /** The running container of that name in the pod (upstream findContainer). */
  const runningContainer = async (pod: Pod, name: string): Promise<string> => {
    const uid = pod.metadata?.uid ?? '';
    const list = await runtimeOf(pod).listContainers({ labelSelector: { [LabelPodUID]: uid, [LabelContainerName]: name } });
    const c = list.filter((x) => x.state === 'running').sort((a, b) => b.createdAt - a.createdAt)[0];
    if (!c) throw new HttpError(500, `container not found ("${name}")`);
    return c.id;
  };

  const containerLogs = async (req: IncomingMessage, res: ServerResponse, parts: string[], q: URLSearchParams) => {
    if (!parts[1]) throw new HttpError(400, `{"message": "Missing podID."}`);
    if (!parts[2]) throw new HttpError(400, `{"message": "Missing container name."}`);
    if (!parts[0]) throw new HttpError(400, `{"message": "Missing podNamespace."}`);
    const [namespace, podName, container] = parts as [string, string, string];
    const o = parseLogQuery(q, clock.now());
    const pod = opts.podLookup(namespace, podName);
    if (!pod) throw new HttpError(404, `pod "${podName}" does not exist`);
    if (!specContainers(pod).includes(container)) throw new HttpError(404, `container "${container}" not found in pod "${podName}"`);
    const id = logContainerID(pod, container, o.previous);
    const rt = runtimeOf(pod);
    let logPath: string | undefined;
    try {
      logPath = (await rt.containerStatus(id)).logPath;
    } catch (err) {
      throw new HttpError(400, `failed to get container status "${id}": ${(err as Error).message}`);
    }
    if (!logPath) throw new HttpError(400, `failed to try resolving symlinks in path "": lstat : no such file or directory`);
    const abort = new AbortController();
    aborts.add(abort);
    res.on('close', () => abort.abort());
    try {
      // Opened before the headers go out, so a missing file is a 400 as upstream.
      await access(logPath).catch(() => {
        throw new HttpError(400, `failed to try resolving symlinks in path "${logPath}": lstat ${logPath}: no such file or directory`);
      });
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
      res.flushHeaders();
      await readContainerLogs(logPath, res, {
        ...o,
        clock,
        pollMs: opts.logPollMs,
        signal: abort.signal,
        isRunning: async () => {
          try {
            const s = await rt.containerStatus(id);
            return s.state === 'running' || s.state === 'created';
          } catch {
            return false;
          }
        },
      });
      if (!res.writableEnded) res.end();
    } finally {
      aborts.delete(abort);
    }
    void req;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    try {
      if (!authorized(req)) throw new HttpError(401, 'Unauthorized');
      if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') throw new HttpError(405, 'Method Not Allowed');
      const head = parts[0];
      if (head === 'healthz' && parts.length === 1) {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      }
      if (head === 'pods' && parts.length === 1) {
        const body = JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: opts.listPods?.() ?? [] });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(body);
        return;
      }
      if (head === 'metrics' && parts.length === 1 && opts.registry) {
        const body = await opts.registry.metrics();
        res.writeHead(200, { 'Content-Type': opts.registry.contentType });
        res.end(body);
        return;
      }
      if (head === 'containerLogs') {
        await containerLogs(req, res, parts.slice(1), url.searchParams);
        return;
      }
      if (head === 'exec' || head === 'attach' || head === 'portForward') throw new HttpError(400, 'Upgrade request required');
      throw new HttpError(404, '404 page not found');
    } catch (err) {
      const code = err instanceof HttpError ? err.code : 500;
      const msg = err instanceof Error ? err.message : String(err);
      if (!(err instanceof HttpError)) logger.warn({ err: msg, path: url.pathname }, 'kubelet server request failed');
      if (!res.headersSent) {
        res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(msg);
      } else if (!res.writableEnded) res.end();
    }
  };

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const verb = parts[0];
    const isWebSocket = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
    const isSpdy = (req.headers.upgrade ?? '').toUpperCase().startsWith('SPDY/3.1');
    try {
      if (!authorized(req)) throw new HttpError(401, 'Unauthorized');
      if (verb === 'exec' || verb === 'attach') {
        const target = streamTarget(parts.slice(1), true);
        if (!target) throw new HttpError(404, '404 page not found');
        const q = url.searchParams;
        const yes = (k: string) => ['1', 'true', 'True', 'TRUE', 't'].includes(q.get(k) ?? '');
        const so: StreamOptions = { stdin: yes('input'), stdout: yes('output'), stderr: yes('error'), tty: yes('tty') };
        const command = q.getAll('command');
        if (!so.stdin && !so.stdout && !so.stderr) throw new HttpError(400, 'you must specify at least 1 of stdin, stdout, stderr');
        if (so.tty && so.stderr) so.stderr = false; // a terminal merges stderr into stdout
        const pod = lookup(target.namespace, target.pod, target.uid);
        const rt = runtimeOf(pod);
        const id = await runningContainer(pod, target.container);
        if (!isWebSocket) {
          if (!isSpdy) throw new HttpError(400, 'unable to upgrade: missing upgrade headers in request');
          const offered = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
          const protocol = negotiateSpdyProtocol(offered);
          if (!protocol) throw new HttpError(403, `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server supports [${SPDY_REMOTECOMMAND_PROTOCOLS.join(' ')}]`);
          socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
          const conn = new SpdyConnection({ server: true, send: (b) => !socket.destroyed && socket.write(b), close: () => socket.end() });
          socket.on('data', (d: Buffer) => conn.feed(d));
          socket.on('close', () => conn.transportClosed());
          serveRemoteCommandSpdy({
            conn,
            protocol,
            opts: so,
            start: () => (verb === 'exec' ? rt.exec(id, command, so) : rt.attach(id, so)),
            onError: (err) => logger.info({ err: (err as Error).message, pod: `${target.namespace}/${target.pod}`, container: target.container }, `${verb} failed`),
            setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
          });
          if (head.length) conn.feed(head);
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
          const protocol = ws.protocol || 'channel.k8s.io';
          void serveRemoteCommand({
            ws,
            protocol,
            opts: so,
            start: () => (verb === 'exec' ? rt.exec(id, command, so) : rt.attach(id, so)),
            onError: (err) => logger.info({ err: (err as Error).message, pod: `${target.namespace}/${target.pod}`, container: target.container }, `${verb} failed`),
            setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
          }).catch((err: unknown) => {
            logger.warn({ err: (err as Error).message }, `${verb} stream failed`);
            ws.terminate();
          });
        });
        return;
      }
      if (verb === 'portForward') {
        const target = streamTarget(parts.slice(1), false);
        if (!target) throw new HttpError(404, '404 page not found');
        const pod = lookup(target.namespace, target.pod, target.uid);
        const rt = runtimeOf(pod);
        const uid = pod.metadata?.uid ?? '';
        const sandboxes = await rt.listPodSandbox({ labelSelector: { [LabelPodUID]: uid }, state: 'ready' });
        const sandbox = sandboxes.sort((a, b) => b.createdAt - a.createdAt)[0];
        if (!sandbox) throw new HttpError(500, `pod not found ("${target.pod}")`);
        const dial = (port: number) => rt.portForward(sandbox.id, port);
        const serve = (conn: SpdyConnection) =>
          handlePortForward({ conn, dial, podName: `${target.pod}_${target.namespace}`, podUID: uid, clock, onError: (err) => logger.info({ err: (err as Error).message }, 'port forward failed') });
        if (isWebSocket) {
          const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
          if (!offered.includes(SPDY_TUNNEL_PROTOCOL)) throw new HttpError(400, `unable to upgrade: requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${SPDY_TUNNEL_PROTOCOL}]`);
          delete req.headers['sec-websocket-protocol'];
          tunnels.add(req);
          wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
            const conn = new SpdyConnection({ server: true, send: (b) => ws.readyState === ws.OPEN && ws.send(b), close: () => ws.close(1000) });
            ws.on('message', (data: Buffer) => conn.feed(data));
            ws.on('close', () => conn.transportClosed());
            ws.on('error', () => conn.transportClosed());
            serve(conn);
          });
          return;
        }
        if (!isSpdy) throw new HttpError(400, 'unable to upgrade: missing upgrade headers in request');
        const offered = (req.headers['x-stream-protocol-version'] as string | undefined)?.split(',').map((s) => s.trim()) ?? [];
        if (offered.length && !offered.includes(PORT_FORWARD_PROTOCOL)) {
          throw new HttpError(403, `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server supports [${PORT_FORWARD_PROTOCOL}]`);
        }
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n\r\n`);
        const conn = new SpdyConnection({ server: true, send: (b) => !socket.destroyed && socket.write(b), close: () => socket.end() });
        socket.on('data', (d: Buffer) => conn.feed(d));
        socket.on('close', () => conn.transportClosed());
        serve(conn);
        if (head.length) conn.feed(head);
        return;
      }
      throw new HttpError(404, '404 page not found');
    } catch (err) {
      const code = err instanceof HttpError ? err.code : 500;
      const msg = err instanceof RuntimeError || err instanceof Error ? err.message : String(err);
      plainResponse(socket, code, msg);
    }
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => void handle(req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void upgrade(req, socket, head));
  server.on('connection', (s: Duplex) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  logger.info({ port, address: opts.address ?? '0.0.0.0' }, 'Starting to listen');
  let stopped: Promise<void> | undefined;
  return {
    port,
    stop() {
      stopped ??= (async () => {
        for (const a of aborts) a.abort();
        for (const c of wss.clients) c.terminate();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        server.closeAllConnections?.();
        await closed;
      })();
      return stopped;
    },
  };
}
