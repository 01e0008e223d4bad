/**
 * The control plane as pods in kube-system, the way a kubeadm cluster shows it.
 *
 * On a kubeadm cluster `kubectl get pods -n kube-system` lists etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler as static pods (mirror pods `<name>-<node>`),
 * kube-proxy as a DaemonSet (`kube-proxy-<hash>`) and CoreDNS as a Deployment
 * (`coredns-<hash>-<hash>`). In Flotilla all of these run inside the one `flotilla up`
 * process (src/cmd/up.ts). So that a newcomer following a Kubernetes course sees the same
 * kube-system — and can `kubectl exec etcd-<node> -n kube-system -- etcdctl …` — `up` gives
 * each component a pod whose container *stands in* for it:
 *
 *   - Static pods written by `up` into DATA_DIR/manifests at every start (files etcd.yaml,
 *     kube-apiserver.yaml, kube-controller-manager.yaml, kube-scheduler.yaml, rewritten only
 *     when their content changes so the pods keep their UIDs across restarts): kubeadm's
 *     labels (component=<name>, tier=control-plane), hostNetwork, priorityClassName
 *     system-node-critical, kubeadm's resource requests, and a command line that states the
 *     in-process component's real settings. The kubelet's file source turns them into
 *     mirror pods (src/kubelet/static.ts).
 *   - kube-system/kube-proxy, a DaemonSet (k8s-app=kube-proxy, hostNetwork, tolerating every
 *     taint as upstream's does), when `up` runs a kube-proxy (not with --proxy-mode none).
 *   - kube-system/coredns, a Deployment of one replica (k8s-app=kube-dns; tolerations,
 *     requests and limits as kubeadm's), and the ServiceAccounts kube-proxy and coredns.
 *
 * What a stand-in container is: busybox with one script at the component's usual binary
 * path (/usr/local/bin/etcd, /usr/local/bin/kube-apiserver …, /coredns). The script prints
 * that the real component runs inside `flotilla up` and the settings it was given, then
 * follows the real component's log file (`tail -n +1 -F`), so `kubectl logs
 * kube-scheduler-<node> -n kube-system` shows what it printed and then the real scheduler's
 * JSON lines, as on kubeadm; it exits on SIGTERM.
 *
 * Logs: `up` writes each component's lines to DATA_DIR/logs/<name>.log as well as to its
 * stderr (src/util/log.ts logComponentsToFiles; which logger goes to which file:
 * ComponentLogFiles), for etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
 * kubelet, kube-proxy and coredns (and containerd). Each start of `up` moves the previous
 * run's file to <name>.log.1 and starts an empty one; a file reaching 10 MiB is moved to
 * <name>.log.1 too (replacing it), so at most 20 MiB per component. Every stand-in mounts
 * DATA_DIR/logs read-only at /var/log/flotilla (hostPath) and finds its file in the
 * environment variable FLOTILLA_LOG_FILE; `tail -F` follows it by name across rotations.
 * With the simulated runtime the files are written all the same, but no container runs,
 * so `kubectl logs` shows only the simulated runtime's line: read the files on the host.
 * Its readiness probe checks the REAL in-process component where that has an endpoint:
 * the API server's https://127.0.0.1:<secure-port>/readyz, the store's
 * http://127.0.0.1:<etcd-port>/health (etcd answers /health on its client port), and a TCP
 * connection to the cluster DNS server (<gateway>:53). The controller-manager, the
 * scheduler and kube-proxy serve no health endpoint in `up` (no --healthz-bind-address), so
 * their pods have no probe: Ready means only "the stand-in runs". Stopping or deleting a
 * stand-in does not stop the component, and a failing component does not restart its pod.
 *
 * The etcd pod's image also carries the host's real etcdctl (Debian's etcd-client; it is
 * dynamically linked, so the libraries `ldd` lists and the ELF interpreter are copied at
 * their paths), and the pod sets ETCDCTL_API=3 and ETCDCTL_ENDPOINTS to the embedded
 * store's etcd v3 API. On the host network, `kubectl exec etcd-<node> -n kube-system --
 * etcdctl get / --prefix --keys-only` therefore lists the store's real /registry/... keys.
 * Without /usr/bin/etcdctl on the host the image is built without it (logged).
 *
 * Images are named as kubeadm's (registry.k8s.io/kube-apiserver:v1.32.0 …,
 * registry.k8s.io/coredns/coredns:v1.11.3) except etcd's, tagged with the version the
 * embedded store and the etcdctl inside report (3.4.23-0, where kubeadm 1.32 uses
 * 3.5.16-0). With the real runtime they are built from the host's busybox-static and
 * imported into the node's containerd when missing (pull policy IfNotPresent, so nothing
 * is pulled); an image of the same name already there (e.g. from DATA_DIR/images) is kept,
 * unless `up` built it itself with another stand-in script (see below).
 * With the simulated runtime the same objects are created and no image is needed; there
 * `kubectl exec … etcdctl` is refused (the simulated runtime runs no processes) and no DNS
 * server runs, so the coredns pod has no probe.
 *
 * up's node is the control plane node: `up` labels it node-role.kubernetes.io/control-plane=""
 * through the API once its kubelet has registered it (markControlPlaneNode), as `kubeadm init
 * phase mark-control-plane` does (kubelets may not set node-role labels themselves), so
 * `kubectl get nodes` shows ROLES control-plane. Simulated nodes get no role.
 *
 * Departures, deliberately: kube-proxy and coredns are pinned to this node (a
 * kubernetes.io/hostname nodeSelector), because only this node runs Flotilla's proxy and
 * DNS — simulated nodes get no kube-proxy pod. Pods get no spec.priority (the API server has
 * no Priority admission). The control plane node gets neither kubeadm's
 * node-role.kubernetes.io/control-plane:NoSchedule taint (it is the only node with real
 * containers, and runs the workloads, as a minikube or kind single-node cluster's does) nor
 * its node.kubernetes.io/exclude-from-external-load-balancers label (the ServiceLB
 * controller would leave LoadBalancer Services without this node). The only volume is the logs folder: no certificates or config
 * files are mounted, the stand-ins read nothing else. `up` rebuilds a stand-in image it
 * built with another script (containerd/build/stand-in-images.json records which), but
 * keeps one built before that record existed (an older Flotilla's, whose stand-in does not
 * follow the log): `ctr -n k8s.io images rm <image>` and restart `up` to rebuild it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { isAlreadyExists, isNotFound } from '../apimachinery/errors.js';
import type { KObject } from '../apimachinery/meta.js';
import { PatchType } from '../apimachinery/meta.js';
import { Resources, type Client } from '../client/interface.js';
import type { Container, DaemonSet, Deployment, Node, Pod, ServiceAccount } from '../client/objects.js';
import { containerdDirOf, containerdSocket } from '../kubelet/containerd/index.js';
import { importImages } from '../kubelet/images/import.js';
import { buildBusyboxImages, type BusyboxImageSpec, type ImageFile } from '../kubelet/images/oci.js';
import type { Logger } from '../util/log.js';

const execFileAsync = promisify(execFile);

export const KUBERNETES_VERSION = 'v1.32.0';
/** The version the embedded store reports (src/cmd/etcd.ts) and Debian's etcdctl is. */
export const ETCD_IMAGE_TAG = '3.4.23-0';
export const COREDNS_VERSION = 'v1.11.3';
export const NAMESPACE = 'kube-system';
/** Where a stand-in says what it is. */
export const StandInAnnotation = 'flotilla.dev/stand-in';
/** The field manager of the objects written here. */
export const FIELD_MANAGER = 'flotilla-up';

/** The images of the control plane's pods, by component. */
export const ControlPlaneImages = {
  etcd: `registry.k8s.io/etcd:${ETCD_IMAGE_TAG}`,
  'kube-apiserver': `registry.k8s.io/kube-apiserver:${KUBERNETES_VERSION}`,
  'kube-controller-manager': `registry.k8s.io/kube-controller-manager:${KUBERNETES_VERSION}`,
  'kube-scheduler': `registry.k8s.io/kube-scheduler:${KUBERNETES_VERSION}`,
  'kube-proxy': `registry.k8s.io/kube-proxy:${KUBERNETES_VERSION}`,
  coredns: `registry.k8s.io/coredns/coredns:${COREDNS_VERSION}`,
} as const;
export type Component = keyof typeof ControlPlaneImages;

/** Where each image keeps its (stand-in) binary, as in the upstream images. */
export const StandInPaths: Record<Component, string> = {
  etcd: '/usr/local/bin/etcd',
  'kube-apiserver': '/usr/local/bin/kube-apiserver',
  'kube-controller-manager': '/usr/local/bin/kube-controller-manager',
  'kube-scheduler': '/usr/local/bin/kube-scheduler',
  'kube-proxy': '/usr/local/bin/kube-proxy',
  coredns: '/coredns',
};

/** Where each stand-in finds the logs folder (DATA_DIR/logs, mounted read-only). */
export const POD_LOG_DIR = '/var/log/flotilla';

/** DATA_DIR/logs: the components' log files (see the module comment). */
export function componentLogDir(dataDir: string): string {
  return join(dataDir, 'logs');
}

/**
 * Which log file (DATA_DIR/logs/<file>.log) each logger component of `up` writes to, by
 * the logger's component name (newLogger(name) in src/cmd/up.ts and src/cmd/etcd.ts). A
 * logger's children (e.g. the controller-manager's "informers") go to their parent's file.
 */
export const ComponentLogFiles: Record<string, Component | 'kubelet' | 'containerd'> = {
  etcd: 'etcd',
  mvcc: 'etcd',
  etcdserver: 'etcd',
  apiserver: 'kube-apiserver',
  storage: 'kube-apiserver',
  'controller-manager': 'kube-controller-manager',
  // The shared informers serve the controller-manager and the scheduler; up creates them
  // with the controller-manager's client.
  informers: 'kube-controller-manager',
  scheduler: 'kube-scheduler',
  kubelet: 'kubelet',
  // The node's image imports (DATA_DIR/images, the sandbox image): the kubelet's side of it.
  images: 'kubelet',
  containerd: 'containerd',
  'kube-proxy': 'kube-proxy',
  dns: 'coredns',
};

/** The logs folder as every stand-in mounts it, and the variable naming its own file. */
function logVolume(p: ControlPlaneParams): NonNullable<NonNullable<Pod['spec']>['volumes']>[number] {
  return { name: 'flotilla-logs', hostPath: { path: componentLogDir(p.dataDir), type: 'DirectoryOrCreate' } };
}
const logMount = { name: 'flotilla-logs', mountPath: POD_LOG_DIR, readOnly: true };
const logFileEnv = (component: Component) => ({ name: 'FLOTILLA_LOG_FILE', value: `${POD_LOG_DIR}/${component}.log` });

/** What the control plane's pods describe: the settings `up` really runs with. */
export interface ControlPlaneParams {
  dataDir: string;
  nodeName: string;
  /** The value of the node's kubernetes.io/hostname label (default nodeName). */
  nodeHostname?: string;
  etcdPort: number;
  apiPort: number;
  /** The node's pod CIDR (kube-proxy's --cluster-cidr). */
  podCIDR?: string;
  /** The Service CIDR (default 10.96.0.0/12). */
  serviceCIDR?: string;
  /** Where the cluster DNS server listens (the pods' gateway); unset: no DNS server runs. */
  dnsAddress?: string;
  dnsPort?: number;
  /** kube-proxy as `up` runs it; unset: no kube-proxy (no DaemonSet). */
  proxy?: { mode: string; healthPort?: number };
  /**
   * Settings `up` was given that differ from the defaults, as flags of the component that
   * uses them (e.g. --node-monitor-grace-period=20s for the controller-manager), so each
   * manifest states what its component really runs with.
   */
  extraFlags?: { 'kube-apiserver'?: string[]; 'kube-controller-manager'?: string[] };
}

const standInAnnotation = (component: string) =>
  `${component} runs inside the flotilla up process; this pod's container only stands in for it (see src/cmd/controlplane.ts)`;

function etcdEndpoint(p: ControlPlaneParams): string {
  return `http://127.0.0.1:${p.etcdPort}`;
}

function staticPod(p: ControlPlaneParams, component: Exclude<Component, 'kube-proxy' | 'coredns'>, container: Container, requests: Record<string, string>, annotations: Record<string, string> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: component,
      namespace: NAMESPACE,
      labels: { component, tier: 'control-plane' },
      annotations: { ...annotations, [StandInAnnotation]: standInAnnotation(component) },
    },
    spec: {
      hostNetwork: true,
      priorityClassName: 'system-node-critical',
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        ...container,
        imagePullPolicy: 'IfNotPresent',
        env: [...(container.env ?? []), logFileEnv(component)],
        resources: { requests },
        volumeMounts: [logMount],
      }],
      volumes: [logVolume(p)],
    },
  };
}

/**
 * The static pod manifests by file name (etcd.yaml, kube-apiserver.yaml, …), as kubeadm
 * writes them to /etc/kubernetes/manifests, for the stand-ins described in the module comment.
 */
export function staticPodManifests(p: ControlPlaneParams): Record<string, Pod> {
  const etcd = etcdEndpoint(p);
  const pki = join(p.dataDir, 'pki');
  const serviceCIDR = p.serviceCIDR ?? '10.96.0.0/12';
  const pods: Pod[] = [
    staticPod(p, 'etcd', {
      name: 'etcd',
      image: ControlPlaneImages.etcd,
      command: [
        'etcd',
        `--advertise-client-urls=${etcd}`,
        `--auto-compaction-mode=periodic`,
        `--auto-compaction-retention=5m`,
        `--data-dir=${join(p.dataDir, 'etcd')}`,
        `--initial-cluster-token=etcd-cluster`,
        `--listen-client-urls=${etcd}`,
        `--max-request-bytes=${1.5 * 1024 * 1024}`,
        `--max-txn-ops=128`,
        `--name=flotilla`,
      ],
      env: [
        { name: 'ETCDCTL_API', value: '3' },
        { name: 'ETCDCTL_ENDPOINTS', value: etcd },
      ],
      readinessProbe: { httpGet: { host: '127.0.0.1', path: '/health', port: p.etcdPort, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 15, failureThreshold: 3 },
    }, { cpu: '100m', memory: '100Mi' }, { 'kubeadm.kubernetes.io/etcd.advertise-client-urls': etcd }),
    staticPod(p, 'kube-apiserver', {
      name: 'kube-apiserver',
      image: ControlPlaneImages['kube-apiserver'],
      command: [
        'kube-apiserver',
        '--advertise-address=127.0.0.1',
        '--authorization-mode=AlwaysAllow',
        '--bind-address=127.0.0.1',
        `--client-ca-file=${join(pki, 'ca.crt')}`,
        `--etcd-servers=${etcd}`,
        `--kubelet-client-certificate=${join(pki, 'apiserver-kubelet-client.crt')}`,
        `--kubelet-client-key=${join(pki, 'apiserver-kubelet-client.key')}`,
        `--secure-port=${p.apiPort}`,
        `--service-cluster-ip-range=${serviceCIDR}`,
        `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
        `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
        ...(p.extraFlags?.['kube-apiserver'] ?? []),
      ].sort((a, b) => (a === 'kube-apiserver' ? -1 : b === 'kube-apiserver' ? 1 : a.localeCompare(b))),
      readinessProbe: { httpGet: { host: '127.0.0.1', path: '/readyz', port: p.apiPort, scheme: 'HTTPS' }, periodSeconds: 1, timeoutSeconds: 15, failureThreshold: 3 },
    }, { cpu: '250m' }, { 'kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint': `127.0.0.1:${p.apiPort}` }),
    staticPod(p, 'kube-controller-manager', {
      name: 'kube-controller-manager',
      image: ControlPlaneImages['kube-controller-manager'],
      command: [
        'kube-controller-manager',
        `--cluster-signing-cert-file=${join(pki, 'ca.crt')}`,
        `--kubeconfig=${join(p.dataDir, 'admin.conf')}`,
        '--leader-elect=true',
        `--root-ca-file=${join(pki, 'ca.crt')}`,
        `--service-cluster-ip-range=${serviceCIDR}`,
        '--use-service-account-credentials=false',
        ...(p.extraFlags?.['kube-controller-manager'] ?? []),
      ].sort((a, b) => (a === 'kube-controller-manager' ? -1 : b === 'kube-controller-manager' ? 1 : a.localeCompare(b))),
    }, { cpu: '200m' }),
    staticPod(p, 'kube-scheduler', {
      name: 'kube-scheduler',
      image: ControlPlaneImages['kube-scheduler'],
      command: ['kube-scheduler', `--kubeconfig=${join(p.dataDir, 'admin.conf')}`, '--leader-elect=true'],
    }, { cpu: '100m' }),
  ];
  return Object.fromEntries(pods.map((pod) => [`${pod.metadata!.name}.yaml`, pod]));
}

/** Pins a workload to this node: only it runs Flotilla's proxy and DNS. */
function thisNode(p: ControlPlaneParams): Record<string, string> {
  return { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': p.nodeHostname ?? p.nodeName };
}

/** kube-system/kube-proxy as kubeadm's addon (see the module comment). */
export function kubeProxyDaemonSet(p: ControlPlaneParams & { proxy: NonNullable<ControlPlaneParams['proxy']> }): DaemonSet & KObject {
  const labels = { 'k8s-app': 'kube-proxy' };
  const command = [
    StandInPaths['kube-proxy'],
    `--proxy-mode=${p.proxy.mode}`,
    ...(p.podCIDR ? [`--cluster-cidr=${p.podCIDR}`] : []),
    '--hostname-override=$(NODE_NAME)',
    ...(p.proxy.healthPort ? [`--healthz-bind-address=127.0.0.1:${p.proxy.healthPort}`] : []),
  ];
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'kube-proxy', namespace: NAMESPACE, labels, annotations: { [StandInAnnotation]: standInAnnotation('kube-proxy') } },
    spec: {
      selector: { matchLabels: labels },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels },
        spec: {
          hostNetwork: true,
          priorityClassName: 'system-node-critical',
          serviceAccountName: 'kube-proxy',
          nodeSelector: thisNode(p),
          tolerations: [{ operator: 'Exists' }],
          containers: [{
            name: 'kube-proxy',
            image: ControlPlaneImages['kube-proxy'],
            imagePullPolicy: 'IfNotPresent',
            command,
            env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } }, logFileEnv('kube-proxy')],
            volumeMounts: [logMount],
            ...(p.proxy.healthPort
              ? { readinessProbe: { httpGet: { host: '127.0.0.1', path: '/healthz', port: p.proxy.healthPort, scheme: 'HTTP' }, periodSeconds: 10 } }
              : {}),
          }],
          volumes: [logVolume(p)],
        },
      },
    },
  };
}

/** kube-system/coredns as kubeadm's addon, one replica (see the module comment). */
export function coreDNSDeployment(p: ControlPlaneParams): Deployment & KObject {
  const labels = { 'k8s-app': 'kube-dns' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'coredns', namespace: NAMESPACE, labels, annotations: { [StandInAnnotation]: standInAnnotation('coredns') } },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels },
        spec: {
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: 'coredns',
          dnsPolicy: 'Default',
          nodeSelector: thisNode(p),
          tolerations: [
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
            { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
          ],
          containers: [{
            name: 'coredns',
            image: ControlPlaneImages.coredns,
            imagePullPolicy: 'IfNotPresent',
            args: ['-conf', '/etc/coredns/Corefile'],
            resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
            env: [logFileEnv('coredns')],
            volumeMounts: [logMount],
            ports: [
              { name: 'dns', containerPort: 53, protocol: 'UDP' },
              { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
              { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
            ],
            ...(p.dnsAddress
              ? { readinessProbe: { tcpSocket: { host: p.dnsAddress, port: p.dnsPort ?? 53 }, periodSeconds: 10, timeoutSeconds: 1 } }
              : {}),
          }],
          volumes: [logVolume(p)],
        },
      },
    },
  };
}

/** The ServiceAccounts kubeadm's addons run as. */
export function addonServiceAccounts(): Array<ServiceAccount & KObject> {
  return ['kube-proxy', 'coredns'].map((name) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: NAMESPACE } }));
}

/**
 * The stand-in's script (see the module comment): says what it is, then follows the file
 * named by FLOTILLA_LOG_FILE from its first line (or sleeps when there is none).
 */
export function standInScript(component: Component): string {
  return [
    '#!/bin/sh',
    `# Flotilla's stand-in for ${component}: the real ${component} runs inside the 'flotilla up' process.`,
    `echo "flotilla: ${component} runs inside the 'flotilla up' process; this container only stands in for it, as kubeadm's cluster shows ${component} as a pod"`,
    `echo "flotilla: ${component} settings: $*"`,
    // The tail or sleep goes with the script: outside a pid namespace (tests) nothing else would stop it.
    "trap 'kill $! 2>/dev/null; exit 0' TERM INT",
    'if [ -n "$FLOTILLA_LOG_FILE" ] && [ -f "$FLOTILLA_LOG_FILE" ]; then',
    `  echo "flotilla: ${component}'s log follows (DATA_DIR/logs/${component}.log on the host; the same lines are on flotilla up's stderr)"`,
    '  tail -n +1 -F "$FLOTILLA_LOG_FILE" &',
    'else',
    `  echo "flotilla: ${component}'s log is on flotilla up's stderr (no log file at \${FLOTILLA_LOG_FILE:-FLOTILLA_LOG_FILE unset})"`,
    '  sleep 2147483647 &',
    'fi',
    'wait',
    '',
  ].join('\n');
}

/**
 * The files that make `binary` (a dynamically linked ELF, e.g. Debian's /usr/bin/etcdctl)
 * run inside an image: itself and every library `ldd` lists, including the ELF interpreter,
 * each at the path the loader looks for (contents read through symlinks).
 */
export async function dynamicBinaryFiles(binary: string, target = binary): Promise<Record<string, ImageFile>> {
  const { stdout } = await execFileAsync('ldd', [binary], { encoding: 'utf8' });
  const files: Record<string, ImageFile> = { [target]: { content: await readFile(binary), mode: 0o755 } };
  for (const path of parseLdd(stdout)) files[path] = { content: await readFile(path), mode: 0o755 };
  return files;
}

/** The absolute library paths of `ldd` output (vdso and "not found" lines skipped). */
export function parseLdd(out: string): string[] {
  const paths: string[] = [];
  for (const line of out.split('\n')) {
    if (/not found/.test(line)) throw new Error(`a library is missing: ${line.trim()}`);
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m && !paths.includes(m[1]!)) paths.push(m[1]!);
  }
  return paths;
}

/** What each image is built from: busybox plus the stand-in (and etcdctl for etcd). */
export async function controlPlaneImageSpecs(opts: { etcdctl?: string; logger?: Logger; components?: readonly Component[] } = {}): Promise<BusyboxImageSpec[]> {
  const specs: BusyboxImageSpec[] = [];
  for (const component of opts.components ?? (Object.keys(ControlPlaneImages) as Component[])) {
    const files: Record<string, ImageFile> = { [StandInPaths[component]]: { content: standInScript(component), mode: 0o755 } };
    if (component === 'etcd') {
      const etcdctl = opts.etcdctl ?? '/usr/bin/etcdctl';
      try {
        Object.assign(files, await dynamicBinaryFiles(etcdctl, '/usr/local/bin/etcdctl'));
      } catch (err) {
        opts.logger?.warn({ etcdctl, err: (err as Error).message }, 'the etcd image is built without etcdctl (install etcd-client for `kubectl exec etcd-<node> -- etcdctl`)');
      }
    }
    specs.push({
      name: ControlPlaneImages[component],
      config: component === 'coredns' ? { Entrypoint: [StandInPaths.coredns], Labels: { 'dev.flotilla.stand-in': component } } : { Cmd: [StandInPaths[component]], Labels: { 'dev.flotilla.stand-in': component } },
      files,
    });
  }
  return specs;
}

/** The image names in containerd's k8s.io namespace. */
async function listImages(socketPath: string, ctr = 'ctr'): Promise<Set<string>> {
  const { stdout } = await execFileAsync(ctr, ['--address', socketPath, '--connect-timeout', '10s', '-n', 'k8s.io', 'images', 'ls', '-q'], { encoding: 'utf8' });
  return new Set(stdout.split('\n').map((s) => s.trim()).filter(Boolean));
}

/** Identifies a stand-in script: what an image built by `up` records in its stamp. */
export function standInFingerprint(component: Component): string {
  return createHash('sha256').update(standInScript(component)).digest('hex').slice(0, 16);
}

/**
 * The file in the build folder recording, by image name, the fingerprint of the script each
 * stand-in image `up` built carries.
 */
export const STAND_IN_STAMP_FILE = 'stand-in-images.json';

/** The archive in the build folder holding every stand-in image `up` built last. */
export const STAND_IN_ARCHIVE_FILE = 'stand-in-images.tar';

/**
 * The components whose image must be built: missing from containerd, or built by an `up`
 * whose stand-in script differs from this one's (per the stamp). An image present without
 * a stamp entry is kept: it may be the user's (DATA_DIR/images), or predate the stamp.
 */
export function standInImagesToBuild(present: ReadonlySet<string>, stamp: Readonly<Record<string, string>>): Component[] {
  return (Object.keys(ControlPlaneImages) as Component[]).filter((c) => {
    const image = ControlPlaneImages[c];
    if (!present.has(image)) return true;
    const built = stamp[image];
    return built !== undefined && built !== standInFingerprint(c);
  });
}

async function readStamp(path: string): Promise<Record<string, string>> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/**
 * Builds and imports the control plane's images that containerd lacks, or that an older
 * `up` built with another stand-in script (standInImagesToBuild); resolves with the names
 * built. Other images already there are left alone (IfNotPresent).
 */
export async function ensureControlPlaneImages(opts: { socketPath: string; workDir: string; logger: Logger; etcdctl?: string; ctr?: string }): Promise<string[]> {
  const present = await listImages(opts.socketPath, opts.ctr);
  const stampPath = join(opts.workDir, STAND_IN_STAMP_FILE);
  const stamp = await readStamp(stampPath);
  const components = standInImagesToBuild(present, stamp);
  if (components.length === 0) return [];
  const missing = await controlPlaneImageSpecs({ etcdctl: opts.etcdctl, logger: opts.logger, components });
  await mkdir(opts.workDir, { recursive: true });
  // One archive, one `ctr import`: each ctr run costs a few hundred ms, and the images
  // share the busybox layer. Plain tar layers: gzip would only be undone by the import.
  const file = join(opts.workDir, STAND_IN_ARCHIVE_FILE);
  await buildBusyboxImages({ images: missing, outFile: file, compress: false });
  await importImages(opts.socketPath, [file], opts.ctr ? { ctr: opts.ctr } : {});
  for (const c of components) stamp[ControlPlaneImages[c]] = standInFingerprint(c);
  await writeFile(stampPath, JSON.stringify(stamp, null, 2) + '\n', { mode: 0o600 });
  opts.logger.info({ images: missing.map((s) => s.name) }, 'built the control plane stand-in images and imported them');
  return missing.map((s) => s.name);
}

/**
 * Writes the manifests into `dir` (created if missing), each only when its content differs
 * (write then rename, so the kubelet never reads half a file); resolves with the files written.
 */
export async function writeStaticPodManifests(dir: string, manifests: Record<string, Pod>): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  for (const [file, pod] of Object.entries(manifests)) {
    const path = join(dir, file);
    const text = stringify(pod);
    if (existsSync(path) && (await readFile(path, 'utf8').catch(() => '')) === text) continue;
    const tmp = join(dir, `.${file}.tmp`);
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, path);
    written.push(path);
  }
  return written;
}

/** The role label kubeadm gives control plane nodes; kubectl's ROLES column shows "control-plane". */
export const LabelNodeRoleControlPlane = 'node-role.kubernetes.io/control-plane';

/**
 * Labels the node as the control plane node (see the module comment): a merge patch of the
 * one label, so the kubelet's labels and any the user added stay. Safe on every start.
 */
export async function markControlPlaneNode(client: Client, nodeName: string): Promise<Node> {
  return client.resource<Node>(Resources.nodes).patch(nodeName, PatchType.MergePatch, { metadata: { labels: { [LabelNodeRoleControlPlane]: '' } } }, { fieldManager: FIELD_MANAGER });
}

/** Server-side apply (forced), creating the object when the server does not apply to a missing one. */
async function apply<T extends KObject>(client: Client, gvr: (typeof Resources)[keyof typeof Resources], obj: T): Promise<void> {
  const rc = client.resource<T>(gvr, obj.metadata!.namespace);
  try {
    await rc.patch(obj.metadata!.name!, PatchType.ApplyPatch, obj, { fieldManager: FIELD_MANAGER, force: true });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await rc.create(obj, { fieldManager: FIELD_MANAGER });
  }
}

export interface EnsureControlPlanePodsOptions extends ControlPlaneParams {
  client: Client;
  runtime: 'cri' | 'simulated';
  /** The node's containerd (default: up's, under dataDir). */
  containerdSocket?: string;
  logger: Logger;
  /** The etcdctl copied into the etcd image (default /usr/bin/etcdctl). */
  etcdctl?: string;
}

export interface ControlPlanePods {
  /** Manifest files (re)written this time. */
  manifests: string[];
  /** Images built and imported this time (cri only). */
  builtImages: string[];
  /** What kube-system will show, for up's progress line. */
  pods: string[];
}

/**
 * Gives the in-process control plane its pods in kube-system (see the module comment):
 * images first (cri), the control-plane role on the node (which must be registered),
 * then the static pod manifests, the addons' ServiceAccounts, the
 * kube-proxy DaemonSet (or its removal when no kube-proxy runs) and the coredns Deployment.
 * Safe on every start. Resolves without waiting for the pods to run.
 */
export async function ensureControlPlanePods(opts: EnsureControlPlanePodsOptions): Promise<ControlPlanePods> {
  const builtImages = opts.runtime === 'cri'
    ? await ensureControlPlaneImages({
      socketPath: opts.containerdSocket ?? containerdSocket(containerdDirOf(opts.dataDir)),
      workDir: join(containerdDirOf(opts.dataDir), 'build'),
      logger: opts.logger,
      ...(opts.etcdctl ? { etcdctl: opts.etcdctl } : {}),
    })
    : [];
  const node = await markControlPlaneNode(opts.client, opts.nodeName);
  const nodeHostname = opts.nodeHostname ?? node.metadata?.labels?.['kubernetes.io/hostname'] ?? opts.nodeName;
  const p: ControlPlaneParams = { ...opts, nodeHostname };
  const manifests = await writeStaticPodManifests(join(opts.dataDir, 'manifests'), staticPodManifests(p));
  for (const sa of addonServiceAccounts()) {
    await opts.client.resource<ServiceAccount & KObject>(Resources.serviceaccounts, NAMESPACE).create(sa, { fieldManager: FIELD_MANAGER }).catch((err: unknown) => {
      if (!isAlreadyExists(err)) throw err;
    });
  }
  if (opts.proxy) {
    await apply(opts.client, Resources.daemonsets, kubeProxyDaemonSet({ ...p, proxy: opts.proxy }));
  } else {
    await opts.client.resource(Resources.daemonsets, NAMESPACE).delete('kube-proxy').catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }
  await apply(opts.client, Resources.deployments, coreDNSDeployment(p));
  const pods = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((n) => `${n}-${opts.nodeName.toLowerCase()}`);
  if (opts.proxy) pods.push('kube-proxy');
  pods.push('coredns');
  return { manifests, builtImages, pods };
}
