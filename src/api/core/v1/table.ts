/**
 * Server-side Table printers for core/v1, after upstream pkg/printers/internalversion
 * (v1.32). The API server always generates rows as for `-o wide` (upstream passes
 * GenerateOptions{Wide: true}); kubectl drops priority-1 columns itself.
 */
import type { KObject } from '../../../apimachinery/meta.js';
import type { TableColumn, TablePrinter, TableRowCondition } from '../../types.js';
import {
  ageColumn, column, formatSelectorMap, layoutContainerCells, nameColumn, objectAge, objectName, parseTimestamp,
  translateTimestampSince,
} from '../../printers.js';
import { type Obj, arr, num, obj, objs, specOf, statusOf, str, strMap } from './util.js';

const wide = 1;

// ---------------------------------------------------------------------------------------
// Pods
// ---------------------------------------------------------------------------------------

const podColumns: TableColumn[] = [
  nameColumn,
  column('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
  column('Status', 'string', 'The aggregate status of the containers in this pod.'),
  column('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
  ageColumn,
  column('IP', 'string', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', wide),
  column('Node', 'string', 'NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename', wide),
  column('Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.', wide),
  column('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates', wide),
];

/** NodeUnreachablePodReason: the reason the node controller gives pods on a lost node. */
const NODE_UNREACHABLE_POD_REASON = 'NodeLost';

function terminatedFinishedAt(cs: Obj): number | undefined {
  const terminated = obj(obj(cs.lastState)?.terminated);
  return terminated ? parseTimestamp(terminated.finishedAt) : undefined;
}

function conditionTrue(status: Obj, type: string): boolean {
  return objs(status.conditions).some((c) => c.type === type && c.status === 'True');
}

/**
 * The STATUS, READY and RESTARTS cells of a pod, as upstream's printPod computes them
 * (init containers, restartable sidecars, waiting/terminated reasons, Terminating, …).
 */
export function podStatusCells(pod: KObject, nowMs: number): { ready: string; reason: string; restarts: string } {
  const spec = specOf(pod);
  const status = statusOf(pod);
  let restarts = 0;
  let sidecarRestarts = 0;
  let totalContainers = objs(spec.containers).length;
  let readyContainers = 0;
  let lastRestart: number | undefined;
  let lastSidecarRestart: number | undefined;
  const later = (a: number | undefined, b: number | undefined): number | undefined =>
    b === undefined ? a : a === undefined || b > a ? b : a;

  const phase = str(status.phase);
  let reason = str(status.reason) || phase;
  for (const c of objs(status.conditions)) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initContainers = new Map<string, Obj>();
  for (const c of objs(spec.initContainers)) {
    initContainers.set(str(c.name), c);
    if (c.restartPolicy === 'Always') totalContainers++;
  }
  const isSidecar = (name: string): boolean => initContainers.get(name)?.restartPolicy === 'Always';

  let initializing = false;
  const initStatuses = objs(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i]!;
    restarts += num(cs.restartCount);
    lastRestart = later(lastRestart, terminatedFinishedAt(cs));
    if (isSidecar(str(cs.name))) {
      sidecarRestarts += num(cs.restartCount);
      lastSidecarRestart = later(lastSidecarRestart, terminatedFinishedAt(cs));
    }
    const state = obj(cs.state) ?? {};
    const terminated = obj(state.terminated);
    const waiting = obj(state.waiting);
    if (terminated && num(terminated.exitCode) === 0) continue;
    if (isSidecar(str(cs.name)) && cs.started === true) {
      if (cs.ready === true) readyContainers++;
      continue;
    }
    if (terminated) {
      if (!str(terminated.reason)) {
        reason = num(terminated.signal) !== 0 ? `Init:Signal:${num(terminated.signal)}` : `Init:ExitCode:${num(terminated.exitCode)}`;
      } else {
        reason = `Init:${str(terminated.reason)}`;
      }
    } else if (waiting && str(waiting.reason) && waiting.reason !== 'PodInitializing') {
      reason = `Init:${str(waiting.reason)}`;
    } else {
      reason = `Init:${i}/${objs(spec.initContainers).length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(status, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = objs(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i]!;
      restarts += num(cs.restartCount);
      lastRestart = later(lastRestart, terminatedFinishedAt(cs));
      const state = obj(cs.state) ?? {};
      const waiting = obj(state.waiting);
      const terminated = obj(state.terminated);
      if (waiting && str(waiting.reason)) reason = str(waiting.reason);
      else if (terminated && str(terminated.reason)) reason = str(terminated.reason);
      else if (terminated) {
        reason = num(terminated.signal) !== 0 ? `Signal:${num(terminated.signal)}` : `ExitCode:${num(terminated.exitCode)}`;
      } else if (cs.ready === true && obj(state.running)) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(status, 'Ready') ? 'Running' : 'NotReady';
  }

  const deleting = !!pod.metadata?.deletionTimestamp;
  if (deleting && status.reason === NODE_UNREACHABLE_POD_REASON) reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  let restartsCell = String(restarts);
  if (restarts !== 0 && lastRestart !== undefined && lastRestart > 0) {
    restartsCell = `${restarts} (${translateTimestampSince(new Date(lastRestart).toISOString(), nowMs)} ago)`;
  }
  return { ready: `${readyContainers}/${totalContainers}`, reason, restarts: restartsCell };
}

export const podTable: TablePrinter = {
  columns: podColumns,
  row(pod, nowMs) {
    const spec = specOf(pod);
    const status = statusOf(pod);
    const { ready, reason, restarts } = podStatusCells(pod, nowMs);
    const podIP = str(objs(status.podIPs)[0]?.ip) || str(status.podIP) || '<none>';
    const gates = objs(spec.readinessGates);
    let readinessGates = '<none>';
    if (gates.length > 0) {
      let trueConditions = 0;
      for (const g of gates) {
        const cond = objs(status.conditions).find((c) => c.type === g.conditionType);
        if (cond?.status === 'True') trueConditions++;
      }
      readinessGates = `${trueConditions}/${gates.length}`;
    }
    return [
      objectName(pod), ready, reason, restarts, objectAge(pod, nowMs),
      podIP, str(spec.nodeName) || '<none>', str(status.nominatedNodeName) || '<none>', readinessGates,
    ];
  },
  conditions(pod): TableRowCondition[] {
    switch (statusOf(pod).phase) {
      case 'Succeeded':
        return [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
      case 'Failed':
        return [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
      default:
        return [];
    }
  },
};

// ---------------------------------------------------------------------------------------
// ReplicationControllers
// ---------------------------------------------------------------------------------------

export const replicationControllerTable: TablePrinter = {
  columns: [
    nameColumn,
    column('Desired', 'integer', 'Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller'),
    column('Current', 'integer', 'Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller'),
    column('Ready', 'integer', 'The number of ready replicas for this replication controller.'),
    ageColumn,
    column('Containers', 'string', 'Names of each container in the template.', wide),
    column('Images', 'string', 'Images referenced by each container in the template.', wide),
    column('Selector', 'string', 'Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors', wide),
  ],
  row(rc, nowMs) {
    const spec = specOf(rc);
    const status = statusOf(rc);
    const [names, images] = layoutContainerCells(objs(obj(obj(spec.template)?.spec)?.containers).map((c) => ({ name: str(c.name), image: str(c.image) })));
    return [
      objectName(rc), num(spec.replicas), num(status.replicas), num(status.readyReplicas), objectAge(rc, nowMs),
      names, images, formatSelectorMap(strMap(spec.selector)),
    ];
  },
};

// ---------------------------------------------------------------------------------------
// Services, endpoints
// ---------------------------------------------------------------------------------------

/** loadBalancerStatusStringer (wide: no 16-byte clipping): sorted unique IPs/hostnames. */
function loadBalancerIngress(status: Obj): string {
  const set = new Set<string>();
  for (const ing of objs(obj(status.loadBalancer)?.ingress)) {
    if (str(ing.ip)) set.add(str(ing.ip));
    else if (str(ing.hostname)) set.add(str(ing.hostname));
  }
  return [...set].sort().join(',');
}

/** getServiceExternalIP. */
function serviceExternalIP(svc: KObject): string {
  const spec = specOf(svc);
  const externalIPs = arr(spec.externalIPs).map(str);
  switch (spec.type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerIngress(statusOf(svc));
      if (externalIPs.length > 0) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return str(spec.externalName);
    default:
      return '<unknown>';
  }
}

/** makePortString: `80/TCP`, `80:30080/TCP`, comma-joined. */
function servicePorts(spec: Obj): string {
  return objs(spec.ports)
    .map((p) => (num(p.nodePort) > 0 ? `${num(p.port)}:${num(p.nodePort)}/${str(p.protocol)}` : `${num(p.port)}/${str(p.protocol)}`))
    .join(',');
}

export const serviceTable: TablePrinter = {
  columns: [
    nameColumn,
    column('Type', 'string', 'type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer.'),
    column('Cluster-IP', 'string', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
    column('External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
    column('Port(s)', 'string', 'The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies'),
    ageColumn,
    column('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/', wide),
  ],
  row(svc, nowMs) {
    const spec = specOf(svc);
    const clusterIPs = arr(spec.clusterIPs).map(str);
    return [
      objectName(svc), str(spec.type), clusterIPs[0] || '<none>', serviceExternalIP(svc), servicePorts(spec) || '<none>',
      objectAge(svc, nowMs), formatSelectorMap(strMap(spec.selector)),
    ];
  },
};

/** formatEndpoints: up to three `ip:port` (or ip) entries, then `+ N more...`. */
export function formatEndpoints(ep: KObject): string {
  const subsets = objs(ep.subsets);
  if (subsets.length === 0) return '<none>';
  const list: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addresses = objs(ss.addresses);
    const ports = objs(ss.ports);
    if (ports.length === 0) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(str(a.ip));
      }
      continue;
    }
    for (const port of ports) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        const ip = str(a.ip);
        list.push(`${ip.includes(':') ? `[${ip}]` : ip}:${num(port.port)}`);
      }
    }
  }
  const ret = list.join(',');
  return more ? `${ret} + ${count - max} more...` : ret;
}

export const endpointsTable: TablePrinter = {
  columns: [
    nameColumn,
    column('Endpoints', 'string', 'The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.'),
    ageColumn,
  ],
  row: (ep, nowMs) => [objectName(ep), formatEndpoints(ep), objectAge(ep, nowMs)],
};

// ---------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------

const LABEL_NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';
const NODE_LABEL_ROLE = 'kubernetes.io/role';

/** findNodeRoles: sorted unique roles from node-role.kubernetes.io/<role> and kubernetes.io/role. */
export function nodeRoles(node: KObject): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith(LABEL_NODE_ROLE_PREFIX)) {
      const role = k.slice(LABEL_NODE_ROLE_PREFIX.length);
      if (role) roles.add(role);
    } else if (k === NODE_LABEL_ROLE && v !== '') roles.add(v);
  }
  return [...roles].sort();
}

function nodeAddress(status: Obj, type: string): string {
  return str(objs(status.addresses).find((a) => a.type === type)?.address) || '<none>';
}

export const nodeTable: TablePrinter = {
  columns: [
    nameColumn,
    column('Status', 'string', 'The status of the node'),
    column('Roles', 'string', 'The roles of the node'),
    ageColumn,
    column('Version', 'string', 'Kubelet Version reported by the node.'),
    column('Internal-IP', 'string', 'List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node\'s address in its own status or consumers of the downward API (status.hostIP).', wide),
    column('External-IP', 'string', 'List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node\'s address in its own status or consumers of the downward API (status.hostIP).', wide),
    column('OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', wide),
    column('Kernel-Version', 'string', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", wide),
    column('Container-Runtime', 'string', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', wide),
  ],
  row(node, nowMs) {
    const spec = specOf(node);
    const status = statusOf(node);
    const states: string[] = [];
    // Only the Ready condition makes the STATUS cell (NodeAllConditions = [Ready]); the last one of that type wins.
    const ready = objs(status.conditions).filter((c) => c.type === 'Ready').at(-1);
    if (ready) states.push(ready.status === 'True' ? 'Ready' : 'NotReady');
    if (states.length === 0) states.push('Unknown');
    if (spec.unschedulable === true) states.push('SchedulingDisabled');
    const info = obj(status.nodeInfo) ?? {};
    return [
      objectName(node), states.join(','), nodeRoles(node).join(',') || '<none>', objectAge(node, nowMs), str(info.kubeletVersion),
      nodeAddress(status, 'InternalIP'), nodeAddress(status, 'ExternalIP'), str(info.osImage) || '<unknown>',
      str(info.kernelVersion) || '<unknown>', str(info.containerRuntimeVersion) || '<unknown>',
    ];
  },
};

// ---------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------

export const eventTable: TablePrinter = {
  columns: [
    column('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'),
    column('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'),
    column('Reason', 'string', "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
    column('Object', 'string', 'The object that this event is about.'),
    column('Subobject', 'string', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: "spec.containers{name}" (where "name" refers to the name of the container that triggered the event) or if no container name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.', wide),
    column('Source', 'string', 'The component reporting this event. Should be a short machine understandable string.', wide),
    column('Message', 'string', 'A human-readable description of the status of this operation.'),
    column('First Seen', 'string', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', wide),
    column('Count', 'string', 'The number of times this event has occurred.', wide),
    { ...nameColumn, priority: wide },
  ],
  row(ev, nowMs) {
    let firstSeen = translateTimestampSince(ev.firstTimestamp, nowMs);
    if (parseTimestamp(ev.firstTimestamp) === undefined) firstSeen = translateTimestampSince(ev.eventTime, nowMs);
    let lastSeen = translateTimestampSince(ev.lastTimestamp, nowMs);
    if (parseTimestamp(ev.lastTimestamp) === undefined) lastSeen = firstSeen;
    let count = num(ev.count);
    const series = obj(ev.series);
    if (series) {
      lastSeen = translateTimestampSince(series.lastObservedTime, nowMs);
      count = num(series.count);
    } else if (count === 0) {
      count = 1; // singleton events don't have a count set in the new API
    }
    const involved = obj(ev.involvedObject) ?? {};
    const kind = str(involved.kind).toLowerCase();
    const target = str(involved.name) ? `${kind}/${str(involved.name)}` : kind;
    const source = obj(ev.source) ?? {};
    const component = str(source.component) || str(ev.reportingComponent);
    const instance = str(source.host) || str(ev.reportingInstance);
    return [
      lastSeen, str(ev.type), str(ev.reason), target, str(involved.fieldPath), instance ? `${component}, ${instance}` : component,
      str(ev.message).trim(), firstSeen, count, objectName(ev),
    ];
  },
};

// ---------------------------------------------------------------------------------------
// Namespaces, configmaps, secrets, service accounts
// ---------------------------------------------------------------------------------------

export const namespaceTable: TablePrinter = {
  columns: [nameColumn, column('Status', 'string', 'The status of the namespace'), ageColumn],
  row: (ns, nowMs) => [objectName(ns), str(statusOf(ns).phase), objectAge(ns, nowMs)],
};

export const configMapTable: TablePrinter = {
  columns: [
    nameColumn,
    column('Data', 'string', "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process."),
    ageColumn,
  ],
  row: (cm, nowMs) => [objectName(cm), Object.keys(obj(cm.data) ?? {}).length + Object.keys(obj(cm.binaryData) ?? {}).length, objectAge(cm, nowMs)],
};

export const secretTable: TablePrinter = {
  columns: [
    nameColumn,
    column('Type', 'string', 'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types'),
    column('Data', 'string', "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4"),
    ageColumn,
  ],
  row: (s, nowMs) => [objectName(s), str(s.type), Object.keys(obj(s.data) ?? {}).length, objectAge(s, nowMs)],
};

export const serviceAccountTable: TablePrinter = {
  columns: [
    nameColumn,
    column('Secrets', 'string', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". The "kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret'),
    ageColumn,
  ],
  row: (sa, nowMs) => [objectName(sa), arr(sa.secrets).length, objectAge(sa, nowMs)],
};
