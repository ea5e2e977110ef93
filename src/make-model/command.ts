// `omni make-model`: flags → makeModel, with a one-line progress display on stderr.
import { parseArgs } from 'node:util';
import { FILE_TYPES } from './file-types.js';
import { DEFAULT_SEED, makeModel, type MakeModelProgress } from './make-model.js';
import { SHAPES } from './shapes.js';

const USAGE = `usage: omni make-model --shape SHAPE --type TYPE --out FILE [--seed N] [--tokenizer DIR]

Writes a GGUF model with seeded random weights in a real architecture's shape and the SmolLM2 tokenizer.
  --shape      ${Object.keys(SHAPES).join(', ')}
  --type       ${Object.keys(FILE_TYPES).join(', ')}
  --out        the .gguf file to write
  --seed       an integer 0..4294967295 (default ${DEFAULT_SEED}); the same seed writes the same bytes
  --tokenizer  a folder with tokenizer.json and chat_template.jinja (default: the shared SmolLM2 tokenizer)`;

class UsageError extends Error {}

function parse(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        shape: { type: 'string' }, type: { type: 'string' }, out: { type: 'string' },
        seed: { type: 'string' }, tokenizer: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return { help: true as const };
  const { shape, type, out } = values;
  if (!shape) throw new UsageError('--shape is required');
  if (!SHAPES[shape]) throw new UsageError(`unknown shape "${shape}"; choose one of ${Object.keys(SHAPES).join(', ')}`);
  if (!type) throw new UsageError('--type is required');
  if (!FILE_TYPES[type]) throw new UsageError(`unknown type "${type}"; choose one of ${Object.keys(FILE_TYPES).join(', ')}`);
  if (!out) throw new UsageError('--out is required');
  let seed = DEFAULT_SEED;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!/^\d+$/.test(values.seed) || seed > 0xffffffff) throw new UsageError(`--seed must be an integer 0..4294967295, got "${values.seed}"`);
  }
  return { help: false as const, shape, type, out, seed, tokenizerDir: values.tokenizer };
}

function progressLine(p: MakeModelProgress): string {
  const percent = p.bytesTotal > 0 ? Math.floor((100 * p.bytesWritten) / p.bytesTotal) : 0;
  const width = String(p.tensorCount).length;
  return `[${String(p.tensorIndex + 1).padStart(width)}/${p.tensorCount}] ${String(percent).padStart(3)}%  ${p.name} (${p.type})`;
}

/** Runs the command; returns the exit code (0 done, 1 failed, 2 bad flags) and sets process.exitCode to it. */
export async function runMakeModelCommand(argv: string[]): Promise<number> {
  const code = await run(argv);
  process.exitCode = code;
  return code;
}

async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`make-model: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const tty = process.stderr.isTTY === true;
  let shown = '';
  const show = (p: MakeModelProgress) => {
    const line = progressLine(p);
    if (line !== shown) process.stderr.write(`\r\x1b[K${(shown = line)}`);
  };
  try {
    const result = await makeModel({ ...args, onProgress: tty ? show : undefined });
    if (tty) process.stderr.write('\r\x1b[K');
    const mib = (result.bytes / 2 ** 20).toFixed(1);
    process.stdout.write(`wrote ${result.path}: ${args.shape} ${args.type} seed ${args.seed}, ${result.tensorCount} tensors, ${mib} MiB in ${result.seconds.toFixed(1)}s\n`);
    return 0;
  } catch (err) {
    if (tty) process.stderr.write('\n');
    process.stderr.write(`make-model: ${(err as Error).message}\n`);
    return 1;
  }
}
