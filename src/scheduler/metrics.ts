/**
 * The scheduler's Prometheus metrics, named as upstream's (pkg/scheduler/metrics).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface SchedulerMetrics {
  /** scheduler_schedule_attempts_total{result="scheduled|unschedulable|error",profile}. */
  scheduleAttempts: Counter<'result' | 'profile'>;
  /** scheduler_scheduling_attempt_duration_seconds{result,profile}: one scheduling cycle. */
  attemptDuration: Histogram<'result' | 'profile'>;
  /** scheduler_pending_pods{queue="active|backoff|unschedulable|gated"}. */
  pendingPods: Gauge<'queue'>;
  /** scheduler_pod_scheduling_attempts: attempts until a pod was scheduled. */
  podSchedulingAttempts: Histogram;
  /** scheduler_scheduling_algorithm_duration_seconds: filter + score of one attempt. */
  algorithmDuration: Histogram;
}

/** Registers the metrics on registry (each registry may hold one scheduler's set). */
export function newSchedulerMetrics(registry: Registry): SchedulerMetrics {
  return {
    scheduleAttempts: new Counter({
      name: 'scheduler_schedule_attempts_total',
      help: 'Number of attempts to schedule pods, by the result. \'unschedulable\' means a pod could not be scheduled, while \'error\' means an internal scheduler problem.',
      labelNames: ['result', 'profile'],
      registers: [registry],
    }),
    attemptDuration: new Histogram({
      name: 'scheduler_scheduling_attempt_duration_seconds',
      help: 'Scheduling attempt latency in seconds (scheduling algorithm + binding)',
      labelNames: ['result', 'profile'],
      buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384],
      registers: [registry],
    }),
    pendingPods: new Gauge({
      name: 'scheduler_pending_pods',
      help: 'Number of pending pods, by the queue type. \'active\' means number of pods in activeQ; \'backoff\' means number of pods in backoffQ; \'unschedulable\' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; \'gated\' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.',
      labelNames: ['queue'],
      registers: [registry],
    }),
    algorithmDuration: new Histogram({
      name: 'scheduler_scheduling_algorithm_duration_seconds',
      help: 'Scheduling algorithm latency in seconds',
      buckets: [0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.0032, 0.0064, 0.0128, 0.0256, 0.0512, 0.1024, 0.2048, 0.4096, 0.8192, 1.6384],
      registers: [registry],
    }),
    podSchedulingAttempts: new Histogram({
      name: 'scheduler_pod_scheduling_attempts',
      help: 'Number of attempts to successfully schedule a pod.',
      buckets: [1, 2, 4, 8, 16],
      registers: [registry],
    }),
  };
}
