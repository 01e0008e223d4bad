/**
 * The flags that decide what happens to a node that stops heartbeating and to its pods —
 * the seeds' "node monitored every 5 s, NotReady after 40 s, pods gone after 5 m" — with
 * upstream's names, defaults and help wording. One definition for the commands that take
 * them: `flotilla controller-manager` (the node lifecycle controller's timings),
 * `flotilla apiserver` (the DefaultTolerationSeconds admission, whose tolerationSeconds
 * are how long pods stay on an unreachable node since taint-based eviction) and
 * `flotilla up`, which runs both in-process.
 */
import type { FlagSpec } from './command.js';
import { parseDuration, parseSeconds } from './duration.js';
import type { ControllerManagerOptions } from '../controllers/types.js';

type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** kube-controller-manager's node lifecycle flags. */
export const nodeLifecycleFlags = {
  'node-monitor-period': { type: 'string', default: '5s', help: 'The period for syncing NodeStatus in NodeController.' },
  'node-monitor-grace-period': {
    type: 'string',
    default: '40s',
    help: "Amount of time which we allow running Node to be unresponsive before marking it unhealthy. Must be N times more than kubelet's nodeStatusUpdateFrequency, where N means number of retries allowed for kubelet to post node status.",
  },
  'node-startup-grace-period': { type: 'string', default: '1m0s', help: 'Amount of time which we allow starting Node to be unresponsive before marking it unhealthy.' },
  'pod-eviction-timeout': {
    type: 'string',
    default: '5m0s',
    help: "The grace period for deleting pods on failed nodes. Kept for compatibility: pods leave a failed node when their not-ready/unreachable tolerations run out, whose tolerationSeconds the API server's --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds set.",
  },
} satisfies Record<string, FlagSpec>;

/** kube-apiserver's DefaultTolerationSeconds admission flags. */
export const defaultTolerationFlags = {
  'default-not-ready-toleration-seconds': {
    type: 'string',
    default: '300',
    help: 'Indicates the tolerationSeconds of the toleration for notReady:NoExecute that is added by default to every pod that does not already have such a toleration.',
  },
  'default-unreachable-toleration-seconds': {
    type: 'string',
    default: '300',
    help: 'Indicates the tolerationSeconds of the toleration for unreachable:NoExecute that is added by default to every pod that does not already have such a toleration.',
  },
} satisfies Record<string, FlagSpec>;

export type NodeLifecycleOptions = Pick<ControllerManagerOptions, 'nodeMonitorPeriodMs' | 'nodeMonitorGracePeriodMs' | 'nodeStartupGracePeriodMs' | 'podEvictionTimeoutMs'>;

/** The controller-manager options from {@link nodeLifecycleFlags}' values; throws pflag's message for a bad duration. */
export function nodeLifecycleOptions(values: FlagValues): NodeLifecycleOptions {
  return {
    nodeMonitorPeriodMs: parseDuration('node-monitor-period', values['node-monitor-period']),
    nodeMonitorGracePeriodMs: parseDuration('node-monitor-grace-period', values['node-monitor-grace-period']),
    nodeStartupGracePeriodMs: parseDuration('node-startup-grace-period', values['node-startup-grace-period']),
    podEvictionTimeoutMs: parseDuration('pod-eviction-timeout', values['pod-eviction-timeout']),
  };
}

export interface DefaultTolerationSeconds {
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
}

/** The API server options from {@link defaultTolerationFlags}' values; throws pflag's message for a bad number. */
export function defaultTolerationSeconds(values: FlagValues): DefaultTolerationSeconds {
  return {
    defaultNotReadyTolerationSeconds: parseSeconds('default-not-ready-toleration-seconds', values['default-not-ready-toleration-seconds']),
    defaultUnreachableTolerationSeconds: parseSeconds('default-unreachable-toleration-seconds', values['default-unreachable-toleration-seconds']),
  };
}
