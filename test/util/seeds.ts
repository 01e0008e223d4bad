/**
 * The seeds' files (../shared/seeds, the study notes of a Kubernetes course), line for line
 * as the course writes them, and the cluster the walkthrough e2e suites run them on.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipWithoutContainers, startCluster, type Cluster } from './cluster.js';
import { haveRegistry } from './registry.js';
import { repoRoot } from './flotilla.js';
import { eventually } from './wait.js';

// The seeds' files, line for line as the course writes them, kept in examples/course/ so
// the README's tour can use them too.
const courseFile = (name: string) => readFileSync(join(repoRoot, 'examples', 'course', name), 'utf8');

/** "`pod-definition.yaml`" (Pods with YAML). */
export const podDefinition = courseFile('pod-definition.yaml');
/** "1. `vim pod.yaml`" (Demo - Pods with YAML), comments as the course writes them. */
export const demoPod = courseFile('pod.yaml');
/** "`rc-definition.yaml`". */
export const rcDefinition = courseFile('rc-definition.yaml');
/** "`replicaset-definition-yaml`". */
export const replicaSetDefinition = courseFile('replicaset-definition.yaml');
/** "`deployment-definition.yaml`": its selector (type) does not match the template's labels (tier). */
export const deploymentDefinition = courseFile('deployment-definition.yaml');
/** "`service-definition.yaml`". */
export const serviceDefinition = courseFile('service-definition.yaml');

/** A cluster of the walkthrough suites and the course's ways of talking to it. */
export interface Walkthrough {
  c: Cluster;
  /** The node runs real containers (runtime cri), not the simulated runtime. */
  realContainers: boolean;
  /** Writes a file into the cluster's folder (the course's working directory); returns its path. */
  file(name: string, text: string): string;
  /** A shell line as the course types it (pipes), run in that folder with this cluster's kubeconfig. */
  sh(line: string, env?: Record<string, string>): SpawnSyncReturns<string>;
  jsonpath(what: string, path: string): string;
  /** Waits until `kubectl get pods -l SELECTOR` lists exactly n pods, all Running and ready. */
  waitReadyPods(selector: string, n: number, ns?: string): Promise<void>;
}

/** Whether startWalkthrough can run here, or why not. */
export const skipWalkthroughCri = skipWithoutContainers || (!haveRegistry && 'docker-registry not installed');

/**
 * `flotilla up --runtime cri` with docker.io mirrored to a local registry holding the test
 * nginx (test/util/images.ts), so `image: nginx` pulls with its default policy (Always) as
 * from Docker Hub; or `flotilla up --runtime simulated`.
 * WALKTHROUGH_TRACE=1 prints each kubectl call slower than a second, to see where a run goes.
 */
export async function startWalkthrough(t: { after(fn: () => unknown): void }, runtime: 'cri' | 'simulated' = 'cri'): Promise<Walkthrough> {
  let c: Cluster;
  if (runtime === 'cri') {
    c = await startCluster(t, { runtime: 'cri', mirrorNginx: true });
  } else {
    c = await startCluster(t, { runtime: 'simulated' });
  }
  if (process.env.WALKTHROUGH_TRACE) {
    const t0 = Date.now();
    const { ok } = c;
    c.ok = (...a) => {
      const s = Date.now();
      try {
        return ok(...a);
      } finally {
        if (Date.now() - s > 1000) process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${Date.now() - s} ms kubectl ${a.join(' ')}\n`);
      }
    };
  }
  const jsonpath = (what: string, path: string) => c.ok('get', what, '-o', `jsonpath=${path}`);
  return {
    c,
    realContainers: runtime === 'cri',
    file(name, text) {
      const p = join(c.dir, name);
      writeFileSync(p, text);
      return p;
    },
    sh: (line, env = {}) =>
      spawnSync('sh', ['-c', line], { encoding: 'utf8', cwd: c.dir, env: { ...process.env, KUBECONFIG: c.kubeconfig, ...env }, timeout: 60_000 }),
    jsonpath,
    waitReadyPods: (selector, n, ns = 'default') =>
      eventually(`${n} ready pods ${selector} in ${ns}`, () => {
        const lines = c.ok('get', 'pods', '-n', ns, '-l', selector, '--no-headers').split('\n').filter(Boolean);
        return lines.length === n && lines.every((l) => /\s1\/1\s+Running\s/.test(l));
      }, 90_000),
  };
}
