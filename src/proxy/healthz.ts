/**
 * kube-proxy's health server (upstream pkg/proxy/healthcheck ProxierHealthServer, port
 * 10256): /healthz and /livez answer 200 with `{"lastUpdated": …,"currentTime": …, "nodeName": …}`
 * while the proxy keeps its rules current, and 503 once a queued change has waited longer
 * than the health timeout (2 × the sync period) without a successful sync.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../util/clock.js';

/** Go's time.Time.String() in UTC: "2026-12-02 11:27:16.123456789 +0000 UTC". */
export function goTimeString(ms: number): string {
  if (ms === 0) return '0001-01-01 00:00:00 +0000 UTC';
  const d = new Date(ms);
  const iso = d.toISOString(); // 2026-12-02T11:27:16.123Z
  let frac = iso.slice(20, 23).replace(/0+$/, '');
  frac = frac ? `.${frac}` : '';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac} +0000 UTC`;
}

export class ProxierHealth {
  private lastUpdated = 0;
  private oldestPendingQueued = 0;

  constructor(private readonly clock: Clock, private readonly healthTimeoutMs: number, readonly nodeName: string) {}

  /** A change is waiting for a sync. */
  queued(): void {
    if (this.oldestPendingQueued === 0) this.oldestPendingQueued = this.clock.now();
  }

  /** A sync finished successfully. */
  updated(): void {
    this.lastUpdated = this.clock.now();
    this.oldestPendingQueued = 0;
  }

  status(): { healthy: boolean; lastUpdated: number; currentTime: number } {
    const now = this.clock.now();
    const healthy = this.oldestPendingQueued === 0 || now - this.oldestPendingQueued < this.healthTimeoutMs;
    return { healthy, lastUpdated: this.lastUpdated, currentTime: now };
  }

  body(withEligible: boolean): string {
    const s = this.status();
    const base = `{"lastUpdated": ${JSON.stringify(goTimeString(s.lastUpdated))},"currentTime": ${JSON.stringify(goTimeString(s.currentTime))}, "nodeName": ${JSON.stringify(this.nodeName)}`;
    return withEligible ? `${base}, "nodeEligible": true}` : `${base}}`;
  }
}

/** Serves health on host:port (port 0 picks one); resolves once listening. */
export async function serveProxierHealth(health: ProxierHealth, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/healthz' && path !== '/livez') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
      return;
    }
    const { healthy } = health.status();
    res.writeHead(healthy ? 200 : 503, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
    res.end(health.body(path === '/healthz'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
