/**
 * Container lifecycle hooks (postStart, preStop), after upstream pkg/kubelet/lifecycle
 * handlers.go: exec runs through {@link Runtime.execSync} with no timeout of its own,
 * httpGet sends one GET (User-Agent `kube-lifecycle/1.32`; only a transport error fails it,
 * any HTTP status passes; an HTTPS hook answered in plain HTTP is retried over HTTP with a
 * LifecycleHTTPFallback event), sleep waits on the injected clock. A failure resolves with
 * upstream's message, e.g. `Exec lifecycle hook ([sh -c exit 1]) for Container "web" in Pod
 * "web_default(uid)" failed - error: command 'sh -c exit 1' exited with 1: , message: ""`.
 * Callers bound the time (preStop: the grace period) and record the events.
 */
import type { EventRecorder } from '../client/interface.js';
import type { Container, Pod } from '../client/objects.js';
import type { Clock } from '../util/clock.js';
import { doHTTPGet, goQuote, httpGetRequest, type ProbeTransport } from './prober.js';
import type { Runtime } from './runtime.js';

type Handler = NonNullable<NonNullable<Container['lifecycle']>['postStart']>;

export interface HookTarget {
  pod: Pod;
  container: Container;
  containerID: string;
  /** The pod IP (the host's for hostNetwork pods); '' when unknown. */
  podIP: string;
  kind: 'postStart' | 'preStop';
}

export interface HookDeps {
  runtime: Runtime;
  transport: ProbeTransport;
  clock: Clock;
  recorder: EventRecorder;
}

/** Upstream format.Pod: name_namespace(uid). */
function formatPod(pod: Pod): string {
  const m = pod.metadata ?? {};
  return `${m.name ?? ''}_${m.namespace ?? ''}(${m.uid ?? ''})`;
}

/** Go's %v of a []string. */
function goSlice(a: string[]): string {
  return `[${a.join(' ')}]`;
}

/** Runs the handler; resolves with undefined on success, else upstream's failure message. */
export async function runLifecycleHandler(h: Handler, t: HookTarget, deps: HookDeps): Promise<string | undefined> {
  const name = t.container.name;
  const pod = formatPod(t.pod);
  if (h.exec) {
    const cmd = h.exec.command ?? [];
    let err: string | undefined;
    let output = '';
    try {
      const r = await deps.runtime.execSync(t.containerID, cmd, 0);
      output = Buffer.concat([r.stdout, r.stderr]).toString('utf8');
      if (r.exitCode !== 0) err = `command '${cmd.join(' ')}' exited with ${r.exitCode}: ${r.stderr.toString('utf8')}`;
    } catch (e) {
      err = (e as Error).message;
    }
    if (err === undefined) return undefined;
    return `Exec lifecycle hook (${goSlice(cmd)}) for Container ${goQuote(name)} in Pod ${goQuote(pod)} failed - error: ${err}, message: ${goQuote(output)}`;
  }
  if (h.httpGet) {
    const path = h.httpGet.path ?? '';
    const fail = (err: string) => `HTTP lifecycle hook (${path}) for Container ${goQuote(name)} in Pod ${goQuote(pod)} failed - error: ${err}`;
    const host = h.httpGet.host || t.podIP;
    if (!host) return fail('failed to find networking container');
    let req: ReturnType<typeof httpGetRequest>;
    try {
      req = httpGetRequest(h.httpGet, t.container, host, 'lifecycle');
    } catch (e) {
      return fail((e as Error).message);
    }
    const ctx = { pod: t.pod, containerName: name, purpose: t.kind };
    const signal = new AbortController().signal;
    try {
      await doHTTPGet(deps.transport, req.url, req.headers, signal, ctx);
      return undefined;
    } catch (e) {
      const msg = (e as Error).message;
      if (req.url.protocol === 'https:' && /wrong version number|EPROTO|packet length too long/i.test(msg)) {
        const plain = new URL(req.url.href);
        plain.protocol = 'http:';
        try {
          await doHTTPGet(deps.transport, plain, req.headers.filter(([k]) => k.toLowerCase() !== 'authorization'), signal, ctx);
          deps.recorder.event(
            { apiVersion: 'v1', kind: 'Pod', metadata: { name: t.pod.metadata?.name, namespace: t.pod.metadata?.namespace, uid: t.pod.metadata?.uid } },
            'Warning',
            'LifecycleHTTPFallback',
            `request to HTTPS lifecycle hook ${plain.host} got HTTP response, retry with HTTP succeeded`,
          );
          return undefined;
        } catch {
          // Report the first error, as upstream does.
        }
      }
      return fail(msg);
    }
  }
  if (h.sleep) {
    await deps.clock.sleep(Math.max(0, h.sleep.seconds) * 1000);
    return undefined;
  }
  return 'Cannot run handler: invalid handler';
}
