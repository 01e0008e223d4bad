/**
 * What every `flotilla` subcommand provides. Flags are parsed with node's util.parseArgs,
 * which accepts both `--flag value` and `--flag=value`, as Kubernetes components do.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface FlagSpec {
  type: 'string' | 'boolean';
  default?: string | boolean;
  multiple?: boolean;
  short?: string;
  /** One line for --help. */
  help: string;
}

export interface Command {
  name: string;
  /** One line: what it does. */
  summary: string;
  /** Usage line after the command name, e.g. "[flags]" or "snapshot save FILE". */
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

export function commandHelp(c: Command): string {
  const lines = [c.summary, '', `Usage: flotilla ${c.name} ${c.usage}`, '', 'Flags:'];
  for (const [name, f] of Object.entries(c.flags)) {
    const def = f.default === undefined || f.default === '' ? '' : ` (default ${JSON.stringify(f.default)})`;
    const short = f.short ? `-${f.short}, ` : '';
    const repeat = f.multiple ? ' (repeatable)' : '';
    lines.push(`  ${short}--${name}${f.type === 'string' ? ' string' : ''}\n        ${f.help}${def}${repeat}`);
  }
  return lines.join('\n');
}

/** Parses argv against the command's flags; unknown flags are an error, as with Cobra. */
export function parseFlags(c: Command, argv: string[]): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, f] of Object.entries(c.flags)) {
    // parseArgs rejects keys present with an undefined value, so only set what is given.
    options[name] = {
      type: f.type,
      ...(f.multiple ? { multiple: true } : {}),
      ...(f.short ? { short: f.short } : {}),
      ...(f.default === undefined ? {} : { default: f.default as never }),
    };
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (err) {
    throw new Error(`${(err as Error).message}\nRun 'flotilla ${c.name} --help' for usage.`);
  }
}

/** A comma-separated flag value as a list ("a, b" → ["a", "b"]); anything else → []. */
export function list(v: unknown): string[] {
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];
}
