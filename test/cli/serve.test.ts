// `omni serve` as a user runs it: a real subprocess that listens, drains on SIGTERM, and fails
// clearly when it cannot get its model.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot, tempDir } from '../helpers/paths.js';
import { generatedModel } from '../helpers/test-models.js';

const CLI = [ '--import', 'tsx', path.join(repoRoot, 'src', 'cli.ts'), 'serve'];

test('SIGTERM lets a running generation finish, refuses new work, then exits 0', async () => {
  const model = await generatedModel('smollm2-135m', 'q8_0');
  const child = spawn(process.execPath, [...CLI, '--model', `m=${model}`, '--port', '0', '--threads', '2'], { cwd: repoRoot, env: { ...process.env, OMNI_LOG_LEVEL: 'info' } });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
      if (m && stdout.includes('"msg":"ready"')) {
        clearInterval(timer);
        resolve(Number(m[1]));
      }
    }, 20);
    void exited.then(() => {
      clearInterval(timer);
      reject(new Error(`serve exited early:\n${stdout}`));
    });
  });

  const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 60, temperature: 0, stream: true });
  const streamed = new Promise<string>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      let signalled = false;
      res.on('data', (d: Buffer) => {
        text += d.toString();
        if (!signalled) {
          signalled = true;
          child.kill('SIGTERM');
        }
      });
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
  const text = await streamed;
  assert.ok(text.endsWith('data: [DONE]\n\n'), `the stream was cut: ${text.slice(-200)}`);
  assert.match(text, /"finish_reason":"length"/);
  assert.equal(await exited, 0, stdout);
  assert.match(stdout, /SIGTERM: no new requests/);
  // Gone: nothing listens any more.
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));
});

test('without network an hf: model fails fast with one clear paragraph naming --model', () => {
  const started = Date.now();
  const r = spawnSync(process.execPath, [...CLI, '--model', 'hf:someone/some-repo/model.gguf', '--hf-endpoint', 'http://127.0.0.1:9', '--data-dir', tempDir(), '--port', '0', '--log-level', 'silent'], {
    cwd: repoRoot, encoding: 'utf8', timeout: 60000,
  });
  assert.equal(r.status, 1, r.stderr);
  assert.ok(Date.now() - started < 30000);
  assert.match(r.stderr, /could not load the model/);
  assert.match(r.stderr, /someone\/some-repo/);
  assert.match(r.stderr, /--model/);
});

test('a bad setting is a usage error (exit 2) naming the flag', () => {
  const r = spawnSync(process.execPath, [...CLI, '--port', 'eighty'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--port/);
  const help = spawnSync(process.execPath, [...CLI, '--help'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--ctx-size.*OMNI_CTX_SIZE/);
});
