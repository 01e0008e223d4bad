/** Loopback ports for test servers, and plain HTTP to them. */
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';

/** Ports handed out lately by this process: the OS may offer a just-freed port again. */
const recent: number[] = [];

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it), never one this
 * process handed out among its last 512, so `--etcd-port $(freePort) --secure-port
 * $(freePort)` cannot get the same port twice.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    if (recent.includes(port)) continue;
    recent.push(port);
    if (recent.length > 512) recent.shift();
    return port;
  }
}

/**
 * n distinct free ports: each is held until all are picked, so two calls in a row cannot
 * return the same port (as two freePort() calls can).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** Resolves once something accepts TCP connections on host:port, or rejects after timeoutMs. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 15000): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, host);
      c.once('connect', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The body of GET http://127.0.0.1:port/path (a port-forward's local end, say), whatever
 * the status; a request that gets no answer fails after timeoutMs, naming what hung.
 */
export function fetchText(port: number, path = '/', timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on 127.0.0.1:${port}: no answer in ${timeoutMs / 1000} s`)));
    req.on('error', reject);
  });
}
