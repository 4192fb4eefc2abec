import { parseArgs } from 'node:util';
import { UsageError } from './exit-codes.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  default?: string | boolean;
  short?: string;
  /** Shown in --help. */
  help: string;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** `--http-port` reads TASKINO_HTTP_PORT when not given. */
export function envName(flag: string): string {
  return `TASKINO_${flag.replace(/-/g, '_').toUpperCase()}`;
}

/**
 * Parses flags strictly (an unknown flag is a usage error). A flag not given on the command line
 * falls back to its environment variable (a comma-separated list for repeatable flags), then to
 * its default.
 */
export function parseFlags(argv: string[], specs: Record<string, FlagSpec>, env: NodeJS.ProcessEnv): { values: FlagValues; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) };
    if (spec.type === 'boolean') options[`no-${name}`] = { type: 'boolean' };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
  const values: FlagValues = {};
  for (const [name, spec] of Object.entries(specs)) {
    const given = parsed.values[name] as string | boolean | string[] | undefined;
    const negated = parsed.values[`no-${name}`] === true;
    const fromEnv = env[envName(name)];
    if (negated) values[name] = false;
    else if (given !== undefined) values[name] = given;
    else if (fromEnv !== undefined && fromEnv !== '') {
      if (spec.type === 'boolean') values[name] = !['0', 'false', 'no'].includes(fromEnv.toLowerCase());
      else values[name] = spec.multiple ? fromEnv.split(',').map((s) => s.trim()).filter(Boolean) : fromEnv;
    } else values[name] = spec.default ?? (spec.multiple ? [] : undefined);
  }
  return { values, positionals: parsed.positionals };
}

export function helpFor(usage: string, specs: Record<string, FlagSpec>): string {
  const lines = Object.entries(specs).map(([name, spec]) => {
    const flag = `--${name}${spec.type === 'string' ? ' VALUE' : ''}`;
    const def = spec.default !== undefined ? ` (default ${String(spec.default)})` : '';
    return `  ${flag.padEnd(26)} ${spec.help}${def} [${envName(name)}]`;
  });
  return `usage: ${usage}\n\n${lines.join('\n')}\n`;
}

export function str(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(values: FlagValues, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function oneName(positionals: string[], command: string): string {
  if (positionals.length !== 1) throw new UsageError(`${command} takes exactly one task name, got ${positionals.length}`);
  return positionals[0]!;
}
