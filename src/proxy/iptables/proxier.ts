/**
 * The iptables back-end: each sync renders the rules (rules.ts) and applies the changed
 * chains with `iptables-restore --noflush`: one atomic call, or for syncs of more than
 * ~1000 chains a few calls ordered so no rule ever references a missing chain. A full sync first reads the host's tables,
 * so jump rules that went missing are put back and stale per-service chains deleted.
 */
import type { Logger } from '../../util/log.js';
import type { ProxyMetrics } from '../metrics.js';
import type { ProxyBackend } from '../proxier.js';
import type { ProxyState } from '../types.js';
import { chainsInSave, IptablesApplier, jumpRuleLines, type CommandRunner } from './applier.js';
import { generateRules, restorePayloads, type AppliedRules, type GenerateResult, type RuleGeneratorOptions, type Table } from './rules.js';

export interface IptablesProxierOptions extends RuleGeneratorOptions {
  runner: CommandRunner;
  logger: Logger;
  metrics?: ProxyMetrics;
  /** Split larger syncs into restores of about this many chains (default 1000). */
  maxChainsPerRestore?: number;
}

export class IptablesProxier implements ProxyBackend {
  readonly mode = 'iptables' as const;
  readonly applier: IptablesApplier;
  private applied: AppliedRules | undefined;
  /** The last sync's result (tests and the benchmark read its stats). */
  last: GenerateResult | undefined;
  /** The last payload handed to iptables-restore. */
  lastPayload = '';

  constructor(private readonly o: IptablesProxierOptions) {
    this.applier = new IptablesApplier(o.runner);
  }

  /** route_localnet=1 so NodePorts answer on 127.0.0.1; a failure is logged, not fatal. */
  async init(): Promise<void> {
    try {
      await this.applier.enableRouteLocalnet();
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'NodePorts will not answer on localhost');
    }
  }

  async sync(state: ProxyState, changed: ReadonlySet<string> | undefined): Promise<void> {
    const full = changed === undefined || this.applied === undefined;
    let existingNatChains: Set<string> | undefined;
    const jumps: Partial<Record<Table, string[]>> = {};
    if (full) {
      const [f, n] = await Promise.all([this.applier.save('filter'), this.applier.save('nat')]);
      existingNatChains = chainsInSave(n);
      jumps.filter = jumpRuleLines('filter', f);
      jumps.nat = jumpRuleLines('nat', n);
    }
    const result = generateRules({ state, changedServices: full ? undefined : changed, previous: this.applied, existingNatChains }, this.o);
    const payloads = restorePayloads(result, jumps, this.o.maxChainsPerRestore);
    try {
      for (const p of payloads) await this.applier.restore(p);
    } catch (err) {
      this.applied = undefined;
      this.o.metrics?.restoreFailures.inc();
      if (!result.full) this.o.metrics?.partialRestoreFailures.inc();
      throw err;
    }
    this.applied = result.applied;
    this.last = result;
    this.lastPayload = payloads.join('');
    const m = this.o.metrics;
    if (m) {
      m.iptablesTotal.set({ table: 'filter' }, result.stats.rules.filter);
      m.iptablesTotal.set({ table: 'nat' }, result.stats.rules.nat);
      m.noLocalEndpoints.set({ traffic_policy: 'internal' }, result.stats.noLocalEndpointsInternal);
      m.noLocalEndpoints.set({ traffic_policy: 'external' }, result.stats.noLocalEndpointsExternal);
    }
  }

  async stop(): Promise<void> {}
}
