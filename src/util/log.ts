/**
 * Structured logging: one JSON object per line on stderr (pino), every line tagged with
 * its component. Level from FLOTILLA_LOG_LEVEL (trace|debug|info|warn|error|silent),
 * default info.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

let root: Logger | undefined;

function rootLogger(): Logger {
  root ??= pino(
    {
      level: process.env.FLOTILLA_LOG_LEVEL ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: true }),
  );
  return root;
}

/** A logger for one component (e.g. "etcdserver", "mvcc"), with optional fixed fields. */
export function newLogger(component: string, fields: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...fields });
}

/** A logger that drops everything; for tests and benchmarks that must stay quiet. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
