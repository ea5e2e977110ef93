// The `omni` command as a user runs it: a real subprocess, its stdout, stderr and exit code.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot, stories260K } from '../helpers/paths.js';
import { generatedModel } from '../helpers/test-models.js';

function omni(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli.ts'), ...args], {
    encoding: 'utf8',
    cwd: repoRoot,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SUMMARY = /\n\n\[(\d+) prompt tokens, (\d+) generated \((length|stop)\); prompt [\d.]+ tok\/s, generation [\d.]+ tok\/s\]\n$/;

test('generate streams the prompt and its continuation, then a summary line', () => {
  const r = omni('generate', '--model', stories260K(), '--prompt', 'Once upon a time', '--max-tokens', '24', '--temperature', '0');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.startsWith('Once upon a time'), r.stdout);
  const m = SUMMARY.exec(r.stdout);
  assert.ok(m, `no summary line in ${JSON.stringify(r.stdout)}`);
  assert.equal(Number(m[1]), 5); // BOS + 4 tokens
  assert.equal(Number(m[2]), 24);
  const story = r.stdout.slice(0, m.index);
  assert.ok(story.length > 'Once upon a time'.length + 40, 'a greedy story continues for a while');
  assert.doesNotMatch(story, /\uFFFD/);
});

test('the same seed gives the same text, another seed other text', () => {
  const run = (seed: string) =>
    omni('generate', '--model', stories260K(), '--prompt', 'One day', '--max-tokens', '40', '--temperature', '1', '--seed', seed).stdout.replace(SUMMARY, '');
  const a = run('7');
  assert.equal(run('7'), a);
  assert.notEqual(run('8'), a);
});

test('models inspect describes architecture, shapes, types, tokenizer and chat template', async () => {
  const r = omni('models', 'inspect', await generatedModel('tiny', 'q4_k_m'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /architecture\s+llama/);
  assert.match(r.stdout, /2 layers, width 256, ffn 512, 4 heads \/ 2 KV heads of 64, vocab 49152/);
  const types = /tensor types\s+(.*)/.exec(r.stdout)![1];
  for (const t of ['f32', 'q4_K', 'q6_K']) assert.match(types, new RegExp(`${t} x\\d+`));
  assert.match(r.stdout, /tokenizer\s+gpt2 \(pre: smollm\), 49152 tokens/);
  assert.match(r.stdout, /chat template \d+ characters:\n\s+.*im_start/);
});

test('mistakes in the call exit with code 2 and say what is wrong', () => {
  const missing = omni('generate', '--prompt', 'x');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--model is required/);
  const bad = omni('generate', '--model', stories260K(), '--prompt', 'x', '--max-tokens', 'many');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--max-tokens must be a number, got 'many'/);
  const unknown = omni('frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});

test('a file that is not a model exits with code 1 and names the file', () => {
  const r = omni('generate', '--model', path.join(repoRoot, 'package.json'), '--prompt', 'x');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /package\.json: not a GGUF file/);
});
