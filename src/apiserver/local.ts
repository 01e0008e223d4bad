/**
 * The API server's in-process entry: a request from a component in the same process
 * (`flotilla up`'s scheduler, controllers, kubelet) served by the very handler that serves
 * HTTPS — routing, authorization, admission, validation, storage, watch — without a socket,
 * TLS or HTTP/2 framing. Upstream's kube-apiserver gives its own controllers a loopback
 * client for the same reason; here the loop does not even leave the process.
 *
 * The request and response objects implement exactly the part of node's
 * Http2ServerRequest/Http2ServerResponse the handler uses (see server.ts): headers, method,
 * url and a readable body; writeHead/setHeader/write/end, statusCode, headersSent,
 * writableEnded, destroyed and 'finish'/'close' events.
 */
import { EventEmitter } from 'node:events';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Readable } from 'node:stream';
import type { UserInfo } from './auth.js';

/** What a caller in the same process sends. Header names are lower-case. */
export interface LocalRequest {
  method: string;
  /** Path and query, e.g. "/api/v1/namespaces/default/pods?watch=true". */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Aborting ends the request (a watch stops; an unfinished answer is dropped). */
  signal?: AbortSignal;
}

/** The answer: status and headers first, then the body as it is written (a watch streams). */
export interface LocalResponse {
  head: Promise<{ status: number; headers: Record<string, string | string[]> }>;
  body: AsyncIterable<Buffer>;
}

/** The identity a local request acts as; set by the composition root, never by the caller's headers. */
export const localUser: unique symbol = Symbol('flotilla.localUser');

export type LocalHandler = (req: Http2ServerRequest, res: Http2ServerResponse) => Promise<void>;

/** The request the handler sees: a readable body plus the request line and headers. */
function newRequest(r: LocalRequest, user: UserInfo): Http2ServerRequest {
  const body = r.body === undefined ? [] : [typeof r.body === 'string' ? Buffer.from(r.body) : r.body];
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
  const req = Object.assign(Readable.from(body, { objectMode: false }), {
    method: r.method,
    url: r.path,
    headers,
    rawHeaders: Object.entries(headers).flat(),
    socket: undefined,
    stream: undefined,
    [localUser]: user,
  });
  return req as unknown as Http2ServerRequest;
}

/** The response the handler writes: an unbounded queue the caller reads (no flow control, as a watch never waits for its reader either). */
class LocalResponseWriter extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  readonly #headers: Record<string, string | string[]> = {};
  readonly #chunks: Buffer[] = [];
  #wake: (() => void) | undefined;
  #sendHead!: (h: { status: number; headers: Record<string, string | string[]> }) => void;
  readonly head = new Promise<{ status: number; headers: Record<string, string | string[]> }>((resolve) => { this.#sendHead = resolve; });

  setHeader(name: string, value: string | number | readonly string[]): this {
    this.#headers[name.toLowerCase()] = Array.isArray(value) ? [...(value as string[])] : String(value);
    return this;
  }

  getHeader(name: string): string | string[] | undefined {
    return this.#headers[name.toLowerCase()];
  }

  writeHead(status: number, headers?: Record<string, string | number | readonly string[]>): this {
    this.statusCode = status;
    for (const [k, v] of Object.entries(headers ?? {})) this.setHeader(k, v);
    this.#flushHead();
    return this;
  }

  flushHeaders(): void {
    this.#flushHead();
  }

  write(chunk: string | Buffer): boolean {
    if (this.writableEnded || this.destroyed) return false;
    this.#flushHead();
    this.#chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    this.#wake?.();
    return true;
  }

  end(chunk?: string | Buffer): this {
    if (this.writableEnded) return this;
    if (chunk !== undefined && chunk.length > 0) this.write(chunk);
    this.#flushHead();
    this.writableEnded = true;
    this.#wake?.();
    this.emit('finish');
    this.emit('close');
    return this;
  }

  /** The caller went away: the handler sees 'close' (a watch stops) and writes nothing more. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#flushHead();
    this.#wake?.();
    this.emit('close');
  }

  #flushHead(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.#sendHead({ status: this.statusCode, headers: { ...this.#headers } });
  }

  async *body(): AsyncGenerator<Buffer> {
    for (;;) {
      while (this.#chunks.length > 0) yield this.#chunks.shift()!;
      if (this.writableEnded || this.destroyed) return;
      await new Promise<void>((resolve) => { this.#wake = resolve; });
      this.#wake = undefined;
    }
  }
}

/**
 * Serves one local request with `handle` (the API server's request handler) as `user`.
 * The handler's failures surface as its own error answers, never as rejections.
 */
export function serveLocal(handle: LocalHandler, r: LocalRequest, user: UserInfo): LocalResponse {
  const req = newRequest(r, user);
  const res = new LocalResponseWriter();
  const abort = () => {
    res.destroy();
    (req as unknown as Readable).destroy();
  };
  if (r.signal?.aborted) abort();
  else r.signal?.addEventListener('abort', abort, { once: true });
  res.once('close', () => r.signal?.removeEventListener('abort', abort));
  void handle(req, res as unknown as Http2ServerResponse).finally(() => {
    // A handler that returned without ending its answer (it never should) must not leave the caller waiting.
    if (!res.writableEnded && !res.destroyed) res.end();
  });
  return { head: res.head, body: res.body() };
}
