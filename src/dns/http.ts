/**
 * CoreDNS's HTTP side doors, each on its own port as in the default Corefile:
 *  - `health` (:8080): GET /health answers 200 "OK" while the process serves;
 *  - `ready` (:8181): GET /ready answers 200 "OK" once the caches have synced, else 503 with
 *    the names of the plugins not ready yet ("kubernetes");
 *  - `prometheus` (:9153): GET /metrics.
 * Two or three of them may share one port; then that server answers every path it carries.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Endpoint {
  host: string;
  /** 0: any free port. */
  port: number;
}

export interface DNSHTTPOptions {
  health?: Endpoint;
  ready?: Endpoint;
  metrics?: Endpoint;
  registry: Registry;
  /** Names of plugins not ready yet; [] when ready. */
  notReady: () => string[];
}

export interface DNSHTTP {
  healthPort?: number;
  readyPort?: number;
  metricsPort?: number;
  close(): Promise<void>;
}

type Path = '/health' | '/ready' | '/metrics';

/** Starts the servers asked for; resolves once they listen. */
export async function serveDNSHTTP(opts: DNSHTTPOptions): Promise<DNSHTTP> {
  const wanted: [Path, Endpoint | undefined][] = [['/health', opts.health], ['/ready', opts.ready], ['/metrics', opts.metrics]];
  // Group paths by host:port (a fixed port may carry several; port 0 always gets its own server).
  const groups = new Map<string, { ep: Endpoint; paths: Set<Path> }>();
  wanted.forEach(([path, ep], i) => {
    if (!ep) return;
    const k = ep.port === 0 ? `${ep.host}:0#${i}` : `${ep.host}:${ep.port}`;
    const g = groups.get(k) ?? { ep, paths: new Set<Path>() };
    g.paths.add(path);
    groups.set(k, g);
  });
  const servers: Server[] = [];
  const out: DNSHTTP = {
    close: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
  try {
    for (const { ep, paths } of groups.values()) {
      const server = createServer((req, res) => {
        const path = new URL(req.url ?? '/', 'http://x').pathname as Path;
        const send = (code: number, type: string, body: string) => {
          res.writeHead(code, { 'content-type': type });
          res.end(body);
        };
        if (!paths.has(path)) return send(404, 'text/plain; charset=utf-8', '404 page not found\n');
        if (path === '/health') return send(200, 'text/plain; charset=utf-8', 'OK');
        if (path === '/ready') {
          const pending = opts.notReady();
          return pending.length === 0 ? send(200, 'text/plain; charset=utf-8', 'OK') : send(503, 'text/plain; charset=utf-8', pending.join(', '));
        }
        opts.registry.metrics().then(
          (m) => send(200, opts.registry.contentType, m),
          (e: Error) => send(500, 'text/plain', e.message),
        );
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(ep.port, ep.host, () => resolve());
      });
      servers.push(server);
      const port = (server.address() as AddressInfo).port;
      if (paths.has('/health')) out.healthPort = port;
      if (paths.has('/ready')) out.readyPort = port;
      if (paths.has('/metrics')) out.metricsPort = port;
    }
  } catch (err) {
    await out.close();
    throw err;
  }
  return out;
}
