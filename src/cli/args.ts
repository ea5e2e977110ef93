// Flag parsing shared by the commands: node's parseArgs plus typed, checked numbers.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how the command was called: printed without a stack, exit code 2. */
export class CliError extends Error {}

export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
}

export function numberFlag(
  value: string | undefined,
  name: string,
  opts: { integer?: boolean; min?: number; max?: number } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new CliError(`--${name} must be a number, got '${value}'`);
  if (opts.integer && !Number.isInteger(n)) throw new CliError(`--${name} must be a whole number, got '${value}'`);
  if (opts.min !== undefined && n < opts.min) throw new CliError(`--${name} must be at least ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) throw new CliError(`--${name} must be at most ${opts.max}`);
  return n;
}

export function requiredFlag(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new CliError(`--${name} is required`);
  return value;
}
