/**
 * Shared benchmark helpers: latency recording, percentiles, and a plain table printer.
 * Benchmarks print figures next to an anchor measured in the same run, as ratios.
 */

/** Collects latencies in milliseconds. */
export class Latencies {
  private samples: number[] = [];
  record(ms: number): void {
    this.samples.push(ms);
  }
  get count(): number {
    return this.samples.length;
  }
  percentile(p: number): number {
    if (this.samples.length === 0) return NaN;
    const s = [...this.samples].sort((a, b) => a - b);
    const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
    return s[i];
  }
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export interface Result {
  name: string;
  ops: number;
  seconds: number;
  lat: Latencies;
}

export function rate(r: Result): number {
  return r.ops / r.seconds;
}

/** Runs `op` `total` times with at most `inFlight` outstanding; records each latency. */
export async function runConcurrent(name: string, total: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<Result> {
  const lat = new Latencies();
  let next = 0;
  const start = nowMs();
  async function worker() {
    while (next < total) {
      const i = next++;
      const t0 = nowMs();
      await op(i);
      lat.record(nowMs() - t0);
    }
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
  return { name, ops: total, seconds: (nowMs() - start) / 1000, lat };
}

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Prints rows as an aligned text table. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

export function rssMiB(): number {
  return process.memoryUsage().rss / 1024 / 1024;
}

/** Progress for long runs, on stderr so stdout stays a clean report. */
export function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}
