#!/usr/bin/env node
/**
 * `flotilla`: one binary, one subcommand per component (as kubeadm/k3s do). Each
 * subcommand lives in its own module under src/cmd/ and is loaded only when used, so
 * `flotilla etcd` does not pay for the API server's start-up.
 */
import { commandHelp, type Command } from './command.js';

const commands: Record<string, () => Promise<{ command: Command }>> = {
  up: () => import('./up.js'),
  status: () => import('./status.js'),
  etcd: () => import('./etcd.js'),
  apiserver: () => import('./apiserver.js'),
  scheduler: () => import('./scheduler.js'),
  'controller-manager': () => import('./controller-manager.js'),
  kubelet: () => import('./kubelet.js'),
  crictl: () => import('./crictl.js'),
  proxy: () => import('./proxy.js'),
  images: () => import('./images.js'),
  dns: () => import('./dns.js'),
};

function usage(): string {
  return [
    'Flotilla: a Kubernetes-compatible cluster in one process, driven by the real kubectl.',
    '',
    'Usage: flotilla <command> [flags]',
    '',
    'Commands:',
    '  up                  Start a whole cluster (store, control plane and a node) on one data dir',
    '  status              Show the cluster on a data dir: API server, store, control plane, nodes, pods',
    '  etcd                Run the embedded store behind the etcd v3 API; snapshot save/restore',
    '  apiserver           Run the Kubernetes API server (HTTPS on :6443) over the embedded store or etcd',
    '  scheduler           Run the scheduler: binds pending pods to nodes',
    '  controller-manager  Run the control loops (ReplicaSet, Deployment, node lifecycle, GC, …)',
    '  kubelet             Run a node: registers it, heartbeats, runs the pods bound to it',
    '  crictl              Debug the node\'s container runtime over the CRI (pods, ps, images, logs, exec, inspect)',
    '  proxy               Run kube-proxy for a node: Services become iptables rules (or userspace forwarders)',
    '  images              Import image archives into a running cluster (air-gap), list images, build busybox images',
    '  dns                 Run the cluster DNS server: service and pod records, forwarding for the rest (CoreDNS)',
    '  version             Print the version of flotilla',
    '',
    'Run `flotilla <command> --help` (or `flotilla help <command>`) for a command\'s flags.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  // `flotilla help up` is `flotilla up --help` (Cobra's help command).
  if (name === 'help' && rest[0] !== undefined) return main([rest[0], '--help']);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === 'version') {
    const { version } = await import('./version.js');
    console.log(`flotilla ${version}`);
    return 0;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!load) {
    console.error(`flotilla: unknown command "${name}"\n\n${usage()}`);
    return 1;
  }
  const { command } = await load();
  // Only before a `--`: what follows belongs to the program run (crictl exec c -- ls -h).
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (own.includes('--help') || own.includes('-h')) {
    console.log(commandHelp(command));
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(`flotilla: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.FLOTILLA_DEBUG) console.error(err);
    process.exitCode = 1;
  },
);
