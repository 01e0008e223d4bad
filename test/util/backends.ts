/**
 * The two storage backends every integration and e2e suite runs on (the "against a
 * real API server on both storage backends"): the embedded store and a real etcd 3.4.
 *
 *   for (const backend of backends) test(`... (${backend.name})`, { skip: backend.skip }, async (t) => {
 *     const api = await startBackendApiServer(t, backend);
 *     ...
 *   });
 */
import { existsSync } from 'node:fs';
import type { StartApiServerOptions } from '../../src/apiserver/index.js';
import { startEtcd } from './etcd.js';
import { startTestApiServer, type TestApiServer } from './kubectl.js';

/** The etcd binary the real-etcd variant runs ($ETCD_BIN, default /usr/bin/etcd). */
export const ETCD_BIN = process.env.ETCD_BIN ?? '/usr/bin/etcd';

export interface Backend {
  /** Short name, used in test names ("embedded" or "etcd"). */
  name: 'embedded' | 'etcd';
  /** A reason to skip the variant (node:test's `skip` option), or false to run it. */
  skip: string | false;
}

/** The embedded store, then a real etcd (skipped with a reason when its binary is missing). */
export const backends: readonly Backend[] = [
  { name: 'embedded', skip: false },
  { name: 'etcd', skip: existsSync(ETCD_BIN) ? false : `etcd is not installed (${ETCD_BIN})` },
];

/**
 * Starts an in-process API server on the backend (for etcd: a fresh one-member etcd whose
 * endpoints become --etcd-servers). Everything started is stopped after the test, the API
 * server before the etcd under it.
 */
export async function startBackendApiServer(
  t: { after(fn: () => unknown): void },
  backend: Backend,
  opts: Partial<StartApiServerOptions> = {},
): Promise<TestApiServer> {
  if (backend.name === 'embedded') return startTestApiServer(t, opts);
  const etcd = await startEtcd();
  try {
    // after() hooks run in registration order: the API server's stop is registered first.
    const api = await startTestApiServer(t, { etcdServers: etcd.endpoints, ...opts });
    t.after(() => etcd.stop());
    return api;
  } catch (err) {
    await etcd.stop();
    throw err;
  }
}
