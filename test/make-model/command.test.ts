import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { runMakeModelCommand } from '../../src/make-model/command.js';

const dir = mkdtempSync(join(tmpdir(), 'omni-make-model-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => { process.exitCode = undefined; }); // the command sets it; the test run must not inherit it

/** Runs the command with stdout and stderr captured. */
async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const { write: writeOut } = process.stdout;
  const { write: writeErr } = process.stderr;
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const code = await runMakeModelCommand(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}

describe('make-model command', () => {
  it('answers a bad flag with a clear message, the usage and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--shape', 'tiny', '--type', 'f16', '--out', 'x', '--bogus'], /Unknown option '--bogus'/],
      [['--type', 'f16', '--out', 'x'], /--shape is required/],
      [['--shape', 'huge', '--type', 'f16', '--out', 'x'], /unknown shape "huge"; choose one of tiny, smollm2-135m/],
      [['--shape', 'tiny', '--type', 'q3_k', '--out', 'x'], /unknown type "q3_k"; choose one of f32, f16/],
      [['--shape', 'tiny', '--type', 'f16'], /--out is required/],
      [['--shape', 'tiny', '--type', 'f16', '--out', 'x', '--seed', '1.5'], /--seed must be an integer/],
      [['--shape', 'tiny', '--type', 'f16', '--out', 'x', 'extra'], /positional argument/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.equal(process.exitCode, 2);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /usage: omni make-model/);
    }
    assert.equal(existsSync('x'), false);
  });

  it('prints the usage for --help', async () => {
    const r = await run('--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--shape .*tiny/);
  });

  it('writes a model and says so', async () => {
    const out = join(dir, 'tiny.gguf');
    const r = await run('--shape', 'tiny', '--type', 'f16', '--out', out, '--seed', '7');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote .*tiny\.gguf: tiny f16 seed 7, 20 tensors/);
    assert.ok(existsSync(out));
  });

  it('reports a failure with exit code 1 and leaves no partial file', async () => {
    const r = await run('--shape', 'tiny', '--type', 'f16', '--out', join(dir, 'missing', 'x.gguf'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the folder .*missing does not exist/);
    const r2 = await run('--shape', 'tiny', '--type', 'f16', '--out', join(dir, 't.gguf'), '--tokenizer', join(dir, 'nowhere'));
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /no tokenizer\.json in .*nowhere/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('partial')), []);
  });
});
