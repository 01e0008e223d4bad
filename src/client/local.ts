/**
 * The in-process transport of {@link Client}: the same requests as the REST client (paths,
 * query parameters, JSON bodies, Status errors, NDJSON watches) handed to an API server in
 * the same process as a function call — no socket, TLS or HTTP/2 framing. `flotilla up` gives
 * its scheduler, controllers and kubelet this client; run as their own processes they use
 * the REST client with identical results, since the API server serves both through one
 * handler.
 *
 * The handler is structural (client may not import the API server): anything that answers
 * a {@link LocalRoundTrip} request, i.e. `ApiServer.handleLocal` bound to an identity.
 */
import type { Client, GroupVersionResource, ResourceClient } from './interface.js';
import type { KObject, WatchEvent } from '../apimachinery/meta.js';
import { RestResourceClient, parseWatchStream, type RestTransport, type TransportResponse } from './rest.js';

/** One request to an in-process API server and its streamed answer. */
export type LocalRoundTrip = (req: {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}) => {
  head: Promise<{ status: number; headers: Record<string, string | string[]> }>;
  body: AsyncIterable<Buffer>;
};

export interface LocalClientOptions {
  roundTrip: LocalRoundTrip;
  /** As for the REST client: its first word is the default field manager of apply patches. */
  userAgent: string;
}

class LocalTransport implements RestTransport {
  readonly defaultFieldManager: string;
  #closed = false;
  readonly #aborts = new Set<AbortController>();

  constructor(private readonly opts: LocalClientOptions) {
    this.defaultFieldManager = opts.userAgent.split(/[\s/]/)[0] || 'flotilla';
  }

  #headers(contentType?: string): Record<string, string> {
    return { 'user-agent': this.opts.userAgent, accept: 'application/json', ...(contentType ? { 'content-type': contentType } : {}) };
  }

  async request(method: string, path: string, body?: string, contentType?: string): Promise<TransportResponse> {
    if (this.#closed) throw new Error('client is closed');
    const r = this.opts.roundTrip({ method, path, headers: this.#headers(body !== undefined ? (contentType ?? 'application/json') : undefined), body });
    const head = await r.head;
    const chunks: Buffer[] = [];
    for await (const c of r.body) chunks.push(c);
    return { status: head.status, body: Buffer.concat(chunks) };
  }

  async *watchStream<T>(path: string, signal: AbortSignal, errorFor: (status: number, body: Buffer) => Error): AsyncGenerator<WatchEvent<T>> {
    if (signal.aborted || this.#closed) return;
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.#aborts.add(abort);
    try {
      const r = this.opts.roundTrip({ method: 'GET', path, headers: this.#headers(), signal: abort.signal });
      const { status } = await r.head;
      if (status < 200 || status >= 300) {
        const chunks: Buffer[] = [];
        for await (const c of r.body) chunks.push(c);
        throw errorFor(status, Buffer.concat(chunks));
      }
      yield* parseWatchStream<T>(r.body);
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#aborts.delete(abort);
      abort.abort();
    }
  }

  close(): void {
    this.#closed = true;
    for (const a of this.#aborts) a.abort();
  }
}

/** A {@link Client} over an in-process API server (see the module comment). */
export class LocalClient implements Client {
  readonly #transport: LocalTransport;

  constructor(opts: LocalClientOptions) {
    this.#transport = new LocalTransport(opts);
  }

  resource<T extends object = KObject>(gvr: GroupVersionResource, namespace?: string): ResourceClient<T> {
    return new RestResourceClient<T>(this.#transport, gvr, namespace);
  }

  async close(): Promise<void> {
    this.#transport.close();
  }
}

export function newLocalClient(opts: LocalClientOptions): LocalClient {
  return new LocalClient(opts);
}
