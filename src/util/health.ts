/**
 * The plain-HTTP side door every component opens: Prometheus /metrics, and /healthz,
 * /livez, /readyz in Kubernetes' format ("ok", or "[-]name failed: reason" lines with
 * ?verbose). Checks are named so an operator sees which one fails.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';

export type HealthCheck = { name: string; check: () => Promise<void> | void };

export interface HealthServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Checks for /healthz and /livez. */
  liveness?: HealthCheck[];
  /** Checks for /readyz (liveness checks are included). */
  readiness?: HealthCheck[];
}

/** A registry with Node's process metrics (process_resident_memory_bytes, …) already on it. */
export function newRegistry(prefix = ''): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });
  return registry;
}

async function runChecks(checks: HealthCheck[], verbose: boolean): Promise<{ ok: boolean; body: string }> {
  const lines: string[] = [];
  let ok = true;
  for (const c of checks) {
    try {
      await c.check();
      lines.push(`[+]${c.name} ok`);
    } catch (err) {
      ok = false;
      lines.push(`[-]${c.name} failed: ${(err as Error).message}`);
    }
  }
  if (!verbose && ok) return { ok, body: 'ok' };
  lines.push(ok ? 'healthz check passed' : 'healthz check failed');
  return { ok, body: lines.join('\n') + '\n' };
}

/** Starts the server; resolves once it listens. Close it with server.close(). */
export async function serveHealthAndMetrics(opts: HealthServerOptions): Promise<{ server: Server; port: number }> {
  const live = opts.liveness ?? [];
  const ready = [...live, ...(opts.readiness ?? [])];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const verbose = url.searchParams.has('verbose');
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    switch (url.pathname) {
      case '/metrics':
        opts.registry.metrics().then(
          (m) => send(200, opts.registry.contentType, m),
          (e: Error) => send(500, 'text/plain', e.message),
        );
        return;
      case '/healthz':
      case '/livez':
      case '/readyz':
      case '/health': {
        const checks = url.pathname === '/readyz' ? ready : live;
        runChecks(checks, verbose).then(({ ok, body }) => {
          if (url.pathname === '/health') send(ok ? 200 : 503, 'application/json', JSON.stringify({ health: String(ok) }));
          else send(ok ? 200 : 500, 'text/plain; charset=utf-8', body);
        });
        return;
      }
      default:
        send(404, 'text/plain', '404 page not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
