/**
 * The REST transport of {@link Client}: JSON over one HTTP/2 connection to any conformant
 * API server (client-go's rest.RESTClient under the dynamic client).
 *
 * One session carries every request and watch as concurrent streams; it is opened on
 * first use and again after the server closes it (GOAWAY, restart, network error). A
 * request refused because its session was going away is retried once on a new session
 * (the server never saw it). A session that hears nothing for a while is health-checked
 * with a PING, as client-go's HTTP/2 transport does, so a server that vanished without
 * closing the connection (a dead host, a dropped network path) fails the session's
 * requests and watches instead of leaving them waiting forever, and the next request
 * connects afresh. Non-2xx answers reject with the server's Status decoded into
 * a StatusError, or with upstream's generic error for the HTTP code when there is none.
 *
 * The session keeps the process alive only while streams are open.
 */
import * as http2 from 'node:http2';
import { StringDecoder } from 'node:string_decoder';
import { fromStatusObject, newGenericServerResponse, StatusError } from '../apimachinery/errors.js';
import type { DeleteOptions, KList, KObject, ListOptions, PatchType, WatchEvent } from '../apimachinery/meta.js';
import {
  type Client,
  type GroupVersionResource,
  type PatchOptions,
  type ResourceClient,
  type WriteOptions,
} from './interface.js';
import { loadKubeconfig } from './kubeconfig.js';
import { realClock, type Clock } from '../util/clock.js';

export interface RestClientOptions {
  /** "https://host:port" (or "http://" for h2c). */
  server: string;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  token?: string;
  /** "kube-scheduler/v1.32.0 (linux/amd64) flotilla"; its first word is the default field manager of apply patches. */
  userAgent: string;
  insecureSkipTLSVerify?: boolean;
  /** Per-request timeout for everything but watches (default 60 s; 0: none). */
  requestTimeoutMs?: number;
  /**
   * Retries of an answer the server asked to have retried (429, or 5xx with Retry-After),
   * after the Retry-After seconds, as client-go (default 10).
   */
  maxRetries?: number;
  /**
   * The connection health check (client-go's HTTP2_READ_IDLE_TIMEOUT_SECONDS, default 30 s;
   * 0 turns it off): when nothing has been received on the session for this long, a PING is
   * sent. Checked every readIdleTimeoutMs, so silence is noticed within twice that.
   */
  readIdleTimeoutMs?: number;
  /**
   * How long that PING may go unanswered (HTTP2_PING_TIMEOUT_SECONDS, default 15 s), and how
   * long a session may still be connecting at a check, before the session is destroyed:
   * its requests and watches reject, and the next request opens a new connection.
   */
  pingTimeoutMs?: number;
  /** For Retry-After waits and the health check (default the real clock). */
  clock?: Clock;
}

/** A whole answer to one request. */
export interface TransportResponse {
  status: number;
  body: Buffer;
  /** Retry-After seconds, when the answer carried one. */
  retryAfter?: number;
}

/**
 * What {@link RestResourceClient} needs from a connection: the HTTP/2 client here, or the
 * in-process transport of local.ts. Paths include the query string.
 */
export interface RestTransport {
  /** The field manager of apply patches that name none (the user agent's first word). */
  readonly defaultFieldManager: string;
  request(method: string, path: string, body?: string, contentType?: string): Promise<TransportResponse>;
  /**
   * A watch: events until the server ends the stream or signal aborts (then the iteration
   * simply ends); rejects, on iteration, with errorFor(status, body) for a non-2xx answer.
   */
  watchStream<T>(path: string, signal: AbortSignal, errorFor: (status: number, body: Buffer) => Error): AsyncGenerator<WatchEvent<T>>;
}

/** Decodes a newline-delimited JSON watch body, whatever its chunking (UTF-8 safe). */
export async function* parseWatchStream<T>(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<WatchEvent<T>> {
  const decoder = new StringDecoder('utf8');
  let buf = '';
  for await (const chunk of chunks) {
    buf += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    // Scan with a moving start: one slice per line, one for the remainder.
    let start = 0;
    let nl: number;
    while ((nl = buf.indexOf('\n', start)) >= 0) {
      const line = buf.slice(start, nl);
      start = nl + 1;
      if (line.length > 0 && line.trim() !== '') yield JSON.parse(line) as WatchEvent<T>;
    }
    buf = start === 0 ? buf : buf.slice(start);
  }
  buf += decoder.end();
  if (buf.trim() !== '') yield JSON.parse(buf) as WatchEvent<T>;
}

type Query = Record<string, string | number | boolean | undefined>;

const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_ACCEPT, HTTP2_HEADER_USER_AGENT, HTTP2_HEADER_AUTHORIZATION } = http2.constants;

/** Errors meaning the stream never reached the server's handler: safe to send again. */
function isRetriable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === 'ERR_HTTP2_INVALID_SESSION'
    || e.code === 'ERR_HTTP2_GOAWAY_SESSION'
    || (e.code === 'ERR_HTTP2_STREAM_ERROR' && /NGHTTP2_REFUSED_STREAM/.test(e.message ?? ''));
}

function queryString(q: Query): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') parts.push(`${k}=${encodeURIComponent(String(v))}`);
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

function listQuery(opts: ListOptions | undefined): Query {
  if (!opts) return {};
  return {
    labelSelector: opts.labelSelector,
    fieldSelector: opts.fieldSelector,
    resourceVersion: opts.resourceVersion,
    resourceVersionMatch: opts.resourceVersionMatch,
    timeoutSeconds: opts.timeoutSeconds,
    limit: opts.limit,
    continue: opts.continue,
    allowWatchBookmarks: opts.allowWatchBookmarks,
    sendInitialEvents: opts.sendInitialEvents,
  };
}

function writeQuery(opts: WriteOptions | undefined): Query {
  return { fieldManager: opts?.fieldManager, dryRun: opts?.dryRun ? 'All' : undefined };
}

/** A {@link Client} over HTTP/2 (see the module comment). */
export class RestClient implements Client, RestTransport {
  private session: http2.ClientHttp2Session | undefined;
  /** Per session: whether anything was received since the last health check. */
  private readonly health = new WeakMap<http2.Http2Session, { heard: boolean }>();
  private active = 0;
  private closed = false;
  private readonly authority: string;
  private readonly baseHeaders: http2.OutgoingHttpHeaders;
  readonly defaultFieldManager: string;

  constructor(private readonly opts: RestClientOptions) {
    // A zero wait for the PING's answer would declare every connection dead at its first check.
    if (opts.pingTimeoutMs !== undefined && !(opts.pingTimeoutMs > 0)) throw new RangeError(`pingTimeoutMs must be greater than 0, got ${opts.pingTimeoutMs}`);
    const url = new URL(opts.server);
    this.authority = `${url.protocol}//${url.host}`;
    this.baseHeaders = {
      [HTTP2_HEADER_USER_AGENT]: opts.userAgent,
      [HTTP2_HEADER_ACCEPT]: 'application/json',
      ...(opts.token ? { [HTTP2_HEADER_AUTHORIZATION]: `Bearer ${opts.token}` } : {}),
    };
    this.defaultFieldManager = opts.userAgent.split(/[\s/]/)[0] || 'flotilla';
  }

  resource<T extends object = KObject>(gvr: GroupVersionResource, namespace?: string): ResourceClient<T> {
    return new RestResourceClient<T>(this, gvr, namespace);
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.session;
    this.session = undefined;
    if (!s || s.destroyed) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      // An unref'd session would let the process exit before its 'close' arrives.
      s.ref();
      if (!s.closed) s.close();
      // Open watches would hold a graceful close forever, and a session the peer already
      // ended may never finish closing: destroy what is left.
      setImmediate(() => {
        if (!s.destroyed) s.destroy();
        // A session whose server is already gone may never emit 'close' (the process then
        // had nothing left to wait on and close() never settled): destroyed is closed enough.
        setImmediate(resolve);
      });
    });
  }

  private connect(): http2.ClientHttp2Session {
    if (this.closed) throw new Error('client is closed');
    const s = this.session;
    if (s && !s.closed && !s.destroyed) return s;
    const session = http2.connect(this.authority, {
      ca: this.opts.ca,
      cert: this.opts.cert,
      key: this.opts.key,
      rejectUnauthorized: !this.opts.insecureSkipTLSVerify,
      ALPNProtocols: ['h2'],
    });
    const forget = () => { if (this.session === session) this.session = undefined; };
    session.on('close', forget);
    session.on('goaway', forget);
    // An 'error' without a listener would crash the process; requests see it on their streams.
    session.on('error', forget);
    session.unref();
    this.session = session;
    this.checkHealth(session);
    return session;
  }

  /**
   * The health check of the options' readIdleTimeoutMs/pingTimeoutMs. Without it, a watch on
   * a connection whose server vanished silently never ends (nothing is ever sent on it), and
   * every later request joins the same dead session until its own timeout, then the next
   * one does too: informers, heartbeats and stop() all wait on a server that is not there.
   */
  private checkHealth(session: http2.ClientHttp2Session): void {
    const readIdle = this.opts.readIdleTimeoutMs ?? 30_000;
    if (readIdle <= 0) return;
    const pingTimeout = this.opts.pingTimeoutMs ?? 15_000;
    const clock = this.opts.clock ?? realClock;
    const health = { heard: false };
    this.health.set(session, health);
    let pinging = false;
    const dead = (why: string) => {
      if (session.destroyed) return;
      // Destroying with an error rejects every open request and watch with it.
      session.destroy(new Error(`${this.authority}: ${why}; the connection is considered dead`));
    };
    const timer = clock.setInterval(() => {
      if (session.destroyed) return timer.cancel();
      if (health.heard || pinging) {
        health.heard = false;
        return;
      }
      // A ping is refused while connecting: a connection or TLS handshake this slow is as dead.
      if (session.connecting) return dead(`not connected after ${readIdle} ms`);
      pinging = true;
      const expired = clock.setTimeout(() => dead(`no answer to an HTTP/2 PING within ${pingTimeout} ms`), pingTimeout);
      // Only an answer counts: a PING refused at once (a session draining after a GOAWAY)
      // leaves the timer to decide, so a silent draining session cannot live forever.
      session.ping((err) => {
        if (err) return;
        pinging = false;
        expired.cancel();
        health.heard = true;
      });
    }, readIdle);
    session.once('close', () => timer.cancel());
  }

  /** Opens a stream, holding the process alive while it is open. */
  private open(headers: http2.OutgoingHttpHeaders, hasBody: boolean): http2.ClientHttp2Stream {
    const session = this.connect();
    const stream = session.request({ ...this.baseHeaders, ...headers }, { endStream: !hasBody });
    stream.once('response', () => this.heard(stream));
    if (this.active++ === 0) session.ref();
    stream.once('close', () => {
      if (--this.active === 0 && !session.destroyed) session.unref();
    });
    return stream;
  }

  /** Notes, for the health check, that the stream's session received something. */
  private heard(stream: http2.ClientHttp2Stream): void {
    const h = stream.session && this.health.get(stream.session);
    if (h) h.heard = true;
  }

  /**
   * One request and its whole answer; sent again once when the session was going away, and
   * after Retry-After when the server asks for a retry.
   */
  async request(method: string, path: string, body?: string, contentType?: string): Promise<TransportResponse> {
    const maxRetries = this.opts.maxRetries ?? 10;
    for (let attempt = 0; ; attempt++) {
      let res: TransportResponse;
      try {
        res = await this.requestOnce(method, path, body, contentType);
      } catch (err) {
        if (!isRetriable(err) || this.closed) throw err;
        this.session = undefined;
        res = await this.requestOnce(method, path, body, contentType);
      }
      const retryAsked = res.retryAfter !== undefined && (res.status === 429 || res.status >= 500);
      if (!retryAsked || attempt >= maxRetries || this.closed) return res;
      await (this.opts.clock ?? realClock).sleep(res.retryAfter! * 1000);
    }
  }

  private requestOnce(method: string, path: string, body?: string, contentType?: string): Promise<TransportResponse> {
    return new Promise((resolve, reject) => {
      const headers: http2.OutgoingHttpHeaders = { [HTTP2_HEADER_METHOD]: method, [HTTP2_HEADER_PATH]: path };
      if (body !== undefined) headers[HTTP2_HEADER_CONTENT_TYPE] = contentType ?? 'application/json';
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.open(headers, body !== undefined);
      } catch (err) {
        reject(err as Error);
        return;
      }
      let status = 0;
      let retryAfter: number | undefined;
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        status = Number(h[HTTP2_HEADER_STATUS]);
        const ra = Number(h['retry-after']);
        if (h['retry-after'] !== undefined && Number.isInteger(ra) && ra >= 0) retryAfter = ra;
      });
      stream.on('data', (c: Buffer) => {
        chunks.push(c);
        this.heard(stream);
      });
      const closedEarly = () => new Error(`${method} ${path}: the connection closed before the answer (stream code ${stream.rstCode ?? 'none'})`);
      // A stream whose session is destroyed (close(), a dropped connection) ends without a
      // status, or closes with neither 'end' nor 'error': both settle as a connection error.
      stream.on('end', () => (status === 0 ? reject(closedEarly()) : resolve({ status, body: Buffer.concat(chunks), retryAfter })));
      stream.on('error', reject);
      stream.on('close', () => { if (!stream.readableEnded) reject(closedEarly()); });
      const timeout = this.opts.requestTimeoutMs ?? 60_000;
      if (timeout > 0) {
        stream.setTimeout(timeout, () => {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          reject(new Error(`${method} ${path}: no answer within ${timeout} ms`));
        });
      }
      if (body !== undefined) stream.end(body);
    });
  }

  /**
   * A watch stream: newline-delimited JSON events until the server ends the stream or
   * signal aborts (then the iteration simply ends). Rejects, on iteration, with a
   * StatusError for a non-2xx answer or with the connection error.
   */
  async *watchStream<T>(path: string, signal: AbortSignal, errorFor: (status: number, body: Buffer) => Error): AsyncGenerator<WatchEvent<T>> {
    if (signal.aborted) return;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.open({ [HTTP2_HEADER_METHOD]: 'GET', [HTTP2_HEADER_PATH]: path }, false);
    } catch (err) {
      if (isRetriable(err)) {
        this.session = undefined;
        stream = this.open({ [HTTP2_HEADER_METHOD]: 'GET', [HTTP2_HEADER_PATH]: path }, false);
      } else throw err;
    }
    const onAbort = () => stream.close(http2.constants.NGHTTP2_CANCEL);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      // The status arrives with the headers; a server may hold them until the first event,
      // so nothing here waits for them before reading the body.
      let status = 0;
      stream.once('response', (h) => { status = Number(h[HTTP2_HEADER_STATUS]); });
      const errorChunks: Buffer[] = [];
      const ok = (): boolean => status === 0 || (status >= 200 && status < 300);
      const heard = () => this.heard(stream);
      async function* body(): AsyncGenerator<Buffer> {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          heard();
          if (ok()) yield chunk;
          else errorChunks.push(chunk);
        }
      }
      yield* parseWatchStream<T>(body());
      if (!ok()) throw errorFor(status, Buffer.concat(errorChunks));
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    }
  }
}

/** A {@link ResourceClient} over any {@link RestTransport}: paths, query parameters, JSON bodies, Status errors. */
export class RestResourceClient<T extends object> implements ResourceClient<T> {
  private readonly base: string;

  constructor(
    private readonly rest: RestTransport,
    readonly gvr: GroupVersionResource,
    readonly namespace: string | undefined,
  ) {
    const root = gvr.group === '' ? `/api/${gvr.version}` : `/apis/${gvr.group}/${gvr.version}`;
    const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    this.base = `${root}${ns}/${gvr.resource}`;
  }

  private path(name?: string, sub?: string, q: Query = {}): string {
    let p = this.base;
    if (name !== undefined) p += `/${encodeURIComponent(name)}`;
    if (sub) p += `/${sub}`;
    return p + queryString(q);
  }

  private errorFor(verb: string, name: string, status: number, body: Buffer): Error {
    let decoded: unknown;
    try {
      decoded = JSON.parse(body.toString('utf8'));
    } catch {
      decoded = undefined;
    }
    const st = fromStatusObject(decoded);
    if (st) {
      // A Status without a code (rare) takes the HTTP one, as client-go does.
      if (!st.code) return new StatusError({ ...st.status, code: status });
      return st;
    }
    return newGenericServerResponse(status, verb, { group: this.gvr.group, resource: this.gvr.resource }, name, body.toString('utf8').trim());
  }

  private async call<R>(method: string, path: string, name: string, body?: unknown, contentType?: string): Promise<R> {
    const res = await this.rest.request(method, path, body === undefined ? undefined : JSON.stringify(body), contentType);
    if (res.status < 200 || res.status >= 300) throw this.errorFor(method, name, res.status, res.body);
    if (res.body.length === 0) return undefined as R;
    return JSON.parse(res.body.toString('utf8')) as R;
  }

  get(name: string, opts?: { resourceVersion?: string }): Promise<T> {
    return this.call('GET', this.path(name, undefined, { resourceVersion: opts?.resourceVersion }), name);
  }

  list(opts?: ListOptions): Promise<KList<T & KObject>> {
    return this.call('GET', this.path(undefined, undefined, listQuery(opts)), '');
  }

  watch(opts: ListOptions, signal: AbortSignal): AsyncIterable<WatchEvent<T>> {
    const q: Query = { ...listQuery(opts), watch: true, allowWatchBookmarks: opts.allowWatchBookmarks ?? true };
    return this.rest.watchStream<T>(this.path(undefined, undefined, q), signal, (status, body) => this.errorFor('GET', '', status, body));
  }

  create(obj: T, opts?: WriteOptions): Promise<T> {
    const name = (obj as KObject).metadata?.name ?? '';
    return this.call('POST', this.path(undefined, undefined, writeQuery(opts)), name, obj);
  }

  update(obj: T, opts?: WriteOptions): Promise<T> {
    const name = (obj as KObject).metadata?.name ?? '';
    return this.call('PUT', this.path(name, undefined, writeQuery(opts)), name, obj);
  }

  updateStatus(obj: T, opts?: WriteOptions): Promise<T> {
    const name = (obj as KObject).metadata?.name ?? '';
    return this.call('PUT', this.path(name, 'status', writeQuery(opts)), name, obj);
  }

  patch(name: string, type: PatchType, patch: unknown, opts?: PatchOptions): Promise<T> {
    const isApply = type === 'application/apply-patch+yaml';
    const q: Query = {
      ...writeQuery(opts),
      fieldManager: opts?.fieldManager ?? (isApply ? this.rest.defaultFieldManager : undefined),
      force: opts?.force ? true : undefined,
    };
    // A string patch is sent as is (YAML apply configurations, pre-encoded JSON).
    const body = typeof patch === 'string' ? patch : JSON.stringify(patch);
    return this.rest.request('PATCH', this.path(name, opts?.subresource, q), body, type).then((res) => {
      if (res.status < 200 || res.status >= 300) throw this.errorFor('PATCH', name, res.status, res.body);
      return JSON.parse(res.body.toString('utf8')) as T;
    });
  }

  async delete(name: string, opts?: DeleteOptions): Promise<T | undefined> {
    const body = opts ? { kind: 'DeleteOptions', apiVersion: 'v1', ...opts } : undefined;
    const out = await this.call<KObject | undefined>('DELETE', this.path(name), name, body);
    if (!out || out.kind === 'Status') return undefined;
    return out as T;
  }

  async deleteCollection(opts?: DeleteOptions & ListOptions): Promise<void> {
    const del: DeleteOptions = {};
    if (opts?.gracePeriodSeconds !== undefined) del.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts?.preconditions) del.preconditions = opts.preconditions;
    if (opts?.orphanDependents !== undefined) del.orphanDependents = opts.orphanDependents;
    if (opts?.propagationPolicy) del.propagationPolicy = opts.propagationPolicy;
    if (opts?.dryRun) del.dryRun = opts.dryRun;
    await this.call('DELETE', this.path(undefined, undefined, listQuery(opts)), '', { kind: 'DeleteOptions', apiVersion: 'v1', ...del });
  }

  createSubresource(name: string, subresource: string, body: unknown, opts?: WriteOptions): Promise<unknown> {
    return this.call('POST', this.path(name, subresource, writeQuery(opts)), name, body);
  }
}

/** A {@link RestClient} for opts.server. */
export function newRestClient(opts: RestClientOptions): RestClient {
  return new RestClient(opts);
}

/** A {@link RestClient} from a kubeconfig's current context. */
export async function restClientFromKubeconfig(path: string, userAgent: string): Promise<RestClient> {
  const k = await loadKubeconfig(path);
  return new RestClient({ server: k.server, ca: k.ca, cert: k.cert, key: k.key, token: k.token, insecureSkipTLSVerify: k.insecureSkipTLSVerify, userAgent });
}
