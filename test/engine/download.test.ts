import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DownloadError, downloadModel, terminalProgress, type DownloadProgress } from '../../src/engine/download.js';
import { describeModelRef, ModelRefError, parseModelRef, type HfRef } from '../../src/engine/model-ref.js';
import { repoRoot, tempDir } from '../helpers/paths.js';

const run = promisify(execFile);

const data = randomBytes(300_000);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ref = parseModelRef('hf:owner/repo/model.gguf') as HfRef;
const finalIn = (cacheDir: string) => path.join(cacheDir, 'owner', 'repo', 'main', 'model.gguf');

interface Seen {
  url: string;
  range?: string;
  auth?: string;
}
type Handler = (req: http.IncomingMessage, res: http.ServerResponse, index: number) => void;

const closers: Array<() => void> = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

/** A local HTTP server recording every request it sees. */
async function serve(handler: Handler): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', range: req.headers.range, auth: req.headers.authorization });
    handler(req, res, seen.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

interface CdnBehaviour {
  ignoreRange?: boolean;
  /** For request `index`, send only this many body bytes, then close the socket (or hang). */
  cutAfter?: (index: number) => number | undefined;
  hang?: boolean;
}

/** Serves `body` like a CDN: honours `Range: bytes=N-` with 206, or 416 past the end. */
function cdnHandler(body: Buffer, behaviour: CdnBehaviour = {}): Handler {
  return (req, res, index) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (range && !behaviour.ignoreRange) {
      start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else {
      res.writeHead(200, { 'content-length': body.length });
    }
    const rest = body.subarray(start);
    const cut = behaviour.cutAfter?.(index);
    if (cut === undefined) return void res.end(rest);
    // Give the client time to take in the bytes before the connection drops.
    res.write(rest.subarray(0, cut), () => setTimeout(() => behaviour.hang || res.socket?.destroy(), 50));
  };
}

/** The hub: a 302 to the CDN announcing the LFS size and sha256, like huggingface.co. */
async function hubAndCdn(behaviour: CdnBehaviour = {}, linked = { size: data.length, sha: sha256(data) }) {
  const cdn = await serve(cdnHandler(data, behaviour));
  const hub = await serve((req, res) => {
    if (req.url !== '/owner/repo/resolve/main/model.gguf') return void res.writeHead(404).end();
    res.writeHead(302, { location: `${cdn.url}/blobs/abc`, 'x-linked-size': String(linked.size), 'x-linked-etag': `"${linked.sha}"` }).end();
  });
  return { hub, cdn };
}

async function rejection(promise: Promise<unknown>): Promise<DownloadError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof DownloadError, `expected a DownloadError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the download to fail');
}

describe('downloadModel', { timeout: 10_000 }, () => {
  it('follows the hub redirect to the CDN, verifies, and stores the file in the cache layout', async () => {
    const { hub, cdn } = await hubAndCdn();
    const cacheDir = tempDir();
    const progress: DownloadProgress[] = [];
    const file = await downloadModel(ref, { cacheDir, endpoint: hub.url, token: 'secret', progress: (p) => progress.push(p) });
    assert.equal(file, finalIn(cacheDir));
    assert.ok(readFileSync(file).equals(data));
    assert.ok(!existsSync(`${file}.part`));
    assert.equal(hub.seen.length, 1);
    assert.equal(hub.seen[0]?.range, undefined);
    assert.equal(hub.seen[0]?.auth, 'Bearer secret');
    assert.equal(cdn.seen[0]?.auth, undefined, 'the token must not leak to another origin');
    assert.deepEqual(progress.at(-1), { received: data.length, total: data.length, done: true });
    assert.ok(progress.every((p) => p.total === data.length));
  });

  it('follows a relative redirect, takes a revision and nested file, and accepts a direct 200', async () => {
    const hub = await serve((req, res) => {
      if (req.url === '/owner/repo/resolve/v1/sub/dir/model.gguf') {
        return void res.writeHead(307, { location: '/owner/repo/resolve/c0ffee/sub/dir/model.gguf' }).end();
      }
      if (req.url === '/owner/repo/resolve/c0ffee/sub/dir/model.gguf') {
        return void res.writeHead(200, { etag: '"0123456789abcdef0123456789abcdef01234567"', 'content-length': data.length }).end(data);
      }
      res.writeHead(404).end();
    });
    const cacheDir = tempDir();
    const nested = parseModelRef('hf:owner/repo/sub/dir/model.gguf#v1') as HfRef;
    const file = await downloadModel(nested, { cacheDir, endpoint: hub.url });
    assert.equal(file, path.join(cacheDir, 'owner', 'repo', 'v1', 'sub', 'dir', 'model.gguf'));
    assert.ok(readFileSync(file).equals(data));
    assert.equal(hub.seen.length, 2);
  });

  it('a cache folder this user may not write is a clear error, before any request', async () => {
    const hub = await serve(cdnHandler(data));
    const cacheDir = tempDir();
    chmodSync(cacheDir, 0o555);
    // Root writes anywhere: as root, the download runs in a child process as user nobody.
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const script = `import { downloadModel } from ${JSON.stringify(path.join(repoRoot, 'src', 'engine', 'download.ts'))};
      await downloadModel(${JSON.stringify(ref)}, { cacheDir: ${JSON.stringify(cacheDir)}, endpoint: ${JSON.stringify(hub.url)} })
        .then(() => console.log('downloaded'), (err) => console.log(err.name, err.message));`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, ...asNobody });
    assert.match(stdout, /^DownloadError Cannot write to the model cache folder .* \(EACCES\)/);
    assert.match(stdout, /--data-dir/);
    assert.equal(hub.seen.length, 0);
  });

  it('returns a cached file without any request', async () => {
    const { hub, cdn } = await hubAndCdn();
    const cacheDir = tempDir();
    mkdirSync(path.dirname(finalIn(cacheDir)), { recursive: true });
    writeFileSync(finalIn(cacheDir), 'cached');
    const file = await downloadModel(ref, { cacheDir, endpoint: hub.url });
    assert.equal(file, finalIn(cacheDir));
    assert.equal(readFileSync(file, 'utf8'), 'cached');
    assert.equal(hub.seen.length + cdn.seen.length, 0);
  });

  it('resumes a transfer cut off midway with a Range request', async () => {
    const { hub, cdn } = await hubAndCdn({ cutAfter: (i) => (i === 0 ? 100_000 : undefined) });
    const file = await downloadModel(ref, { cacheDir: tempDir(), endpoint: hub.url });
    assert.ok(readFileSync(file).equals(data));
    assert.deepEqual(cdn.seen.map((s) => s.range), [undefined, 'bytes=100000-']);
  });

  it('aborts a stalled transfer after stallTimeoutMs and resumes it', async () => {
    const { hub, cdn } = await hubAndCdn({ cutAfter: (i) => (i === 0 ? 70_000 : undefined), hang: true });
    const started = Date.now();
    const file = await downloadModel(ref, { cacheDir: tempDir(), endpoint: hub.url, stallTimeoutMs: 300 });
    assert.ok(Date.now() - started < 5000);
    assert.ok(readFileSync(file).equals(data));
    assert.deepEqual(cdn.seen.map((s) => s.range), [undefined, 'bytes=70000-']);
  });

  it('gives up after 3 attempts keeping the .part, and a later call resumes from it', async () => {
    const { hub, cdn } = await hubAndCdn({ cutAfter: (i) => (i < 3 ? 50_000 : undefined) });
    const cacheDir = tempDir();
    const error = await rejection(downloadModel(ref, { cacheDir, endpoint: hub.url }));
    assert.match(error.message, /after 3 attempts/);
    assert.equal(error.offline, false);
    assert.deepEqual(cdn.seen.map((s) => s.range), [undefined, 'bytes=50000-', 'bytes=100000-']);
    assert.ok(!existsSync(finalIn(cacheDir)));
    assert.equal(statSync(`${finalIn(cacheDir)}.part`).size, 150_000);

    const file = await downloadModel(ref, { cacheDir, endpoint: hub.url });
    assert.equal(cdn.seen.at(-1)?.range, 'bytes=150000-');
    assert.ok(readFileSync(file).equals(data));
  });

  it('starts over when the server ignores Range and answers 200', async () => {
    const { hub, cdn } = await hubAndCdn({ ignoreRange: true });
    const cacheDir = tempDir();
    mkdirSync(path.dirname(finalIn(cacheDir)), { recursive: true });
    writeFileSync(`${finalIn(cacheDir)}.part`, Buffer.alloc(1000, 0xff));
    const file = await downloadModel(ref, { cacheDir, endpoint: hub.url });
    assert.deepEqual(cdn.seen.map((s) => s.range), ['bytes=1000-']);
    assert.ok(readFileSync(file).equals(data));
  });

  it('treats 416 with a complete .part as done, after verifying it', async () => {
    const { hub, cdn } = await hubAndCdn();
    const cacheDir = tempDir();
    mkdirSync(path.dirname(finalIn(cacheDir)), { recursive: true });
    writeFileSync(`${finalIn(cacheDir)}.part`, data);
    const file = await downloadModel(ref, { cacheDir, endpoint: hub.url });
    assert.deepEqual(cdn.seen.map((s) => s.range), [`bytes=${data.length}-`]);
    assert.ok(readFileSync(file).equals(data));
    assert.ok(!existsSync(`${file}.part`));
  });

  it('rejects a wrong sha256 and leaves neither the file nor the .part', async () => {
    const wrong = sha256(Buffer.from('something else'));
    const { hub } = await hubAndCdn({}, { size: data.length, sha: wrong });
    const cacheDir = tempDir();
    const error = await rejection(downloadModel(ref, { cacheDir, endpoint: hub.url }));
    assert.match(error.message, new RegExp(`expected sha256 ${wrong}, got sha256 ${sha256(data)}`));
    assert.ok(!existsSync(finalIn(cacheDir)));
    assert.ok(!existsSync(`${finalIn(cacheDir)}.part`));
  });

  it('rejects a size that does not match x-linked-size', async () => {
    const { hub } = await hubAndCdn({}, { size: data.length + 1, sha: sha256(data) });
    const cacheDir = tempDir();
    const error = await rejection(downloadModel(ref, { cacheDir, endpoint: hub.url }));
    assert.match(error.message, new RegExp(`expected ${data.length + 1} bytes`));
    assert.match(error.message, new RegExp(`${data.length} bytes`));
    assert.ok(!existsSync(finalIn(cacheDir)));
  });

  it('explains a 404 with the URL', async () => {
    const { hub } = await hubAndCdn();
    const missing = parseModelRef('hf:owner/repo/missing.gguf') as HfRef;
    const error = await rejection(downloadModel(missing, { cacheDir: tempDir(), endpoint: hub.url }));
    assert.equal(error.status, 404);
    assert.match(error.message, /does not exist/);
    assert.ok(error.message.includes(`${hub.url}/owner/repo/resolve/main/missing.gguf`));
  });

  it('explains a 401 as a gated repository needing a token', async () => {
    const hub = await serve((_req, res) => res.writeHead(401, { 'x-error-message': 'Access to model owner/repo is restricted.' }).end());
    const error = await rejection(downloadModel(ref, { cacheDir: tempDir(), endpoint: hub.url }));
    assert.equal(error.status, 401);
    assert.equal(error.offline, false);
    assert.match(error.message, /gated/);
    assert.match(error.message, /token/);
    assert.match(error.message, /restricted/);
    assert.equal(hub.seen.length, 1, 'a 401 is not retried');
  });

  it('retries a 503 from the hub', async () => {
    const cdn = await serve(cdnHandler(data));
    const hub = await serve((_req, res, index) => {
      if (index === 0) return void res.writeHead(503).end();
      res.writeHead(302, { location: `${cdn.url}/blob`, 'x-linked-size': String(data.length) }).end();
    });
    const file = await downloadModel(ref, { cacheDir: tempDir(), endpoint: hub.url });
    assert.ok(readFileSync(file).equals(data));
    assert.equal(hub.seen.length, 2);
  });

  it('stops after 5 redirects', async () => {
    const hub = await serve((_req, res) => res.writeHead(302, { location: '/owner/repo/resolve/main/model.gguf' }).end());
    const error = await rejection(downloadModel(ref, { cacheDir: tempDir(), endpoint: hub.url }));
    assert.match(error.message, /Too many redirects/);
    assert.equal(hub.seen.length, 6);
  });

  it('reports offline quickly when the connection is refused', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));

    const started = Date.now();
    const error = await rejection(downloadModel(ref, { cacheDir: tempDir(), endpoint: `http://127.0.0.1:${port}` }));
    assert.ok(Date.now() - started < 3000, 'a refused connection must not wait for a timeout');
    assert.equal(error.offline, true);
    assert.match(error.message, /Could not reach 127\.0\.0\.1/);
    assert.match(error.message, /connection refused/);
    assert.ok(error.message.includes(describeModelRef(ref)));
    assert.match(error.message, /--model \/path\/to\/file\.gguf/);
    assert.ok(!error.message.includes('\n'), 'one paragraph');
  });

  it('times out on a server that accepts but never answers', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      sockets.forEach((s) => s.destroy());
      silent.close();
    });
    const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const started = Date.now();
    const error = await rejection(downloadModel(ref, { cacheDir: tempDir(), endpoint, connectTimeoutMs: 300 }));
    assert.ok(Date.now() - started < 3000);
    assert.equal(error.offline, true);
    assert.match(error.message, /no answer within 0\.3s/);
  });

  it('stops when the caller aborts, keeping the .part', async () => {
    const { hub } = await hubAndCdn({ cutAfter: () => 40_000, hang: true });
    const cacheDir = tempDir();
    const controller = new AbortController();
    const download = downloadModel(ref, { cacheDir, endpoint: hub.url, signal: controller.signal, progress: (p) => p.received >= 40_000 && controller.abort() });
    await assert.rejects(download, (err: Error) => err.name === 'AbortError');
    assert.equal(statSync(`${finalIn(cacheDir)}.part`).size, 40_000);
  });
});

describe('terminalProgress', () => {
  const capture = (isTTY: boolean) => {
    const writes: string[] = [];
    return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } };
  };

  it('prints only a start and an end line when not a terminal', () => {
    const { writes, stream } = capture(false);
    const progress = terminalProgress('model.gguf', stream);
    for (let i = 0; i <= 100; i++) progress({ received: i * 10_000, total: 1_000_000 });
    progress({ received: 1_000_000, total: 1_000_000, done: true });
    assert.equal(writes.length, 2);
    assert.match(writes[0] ?? '', /^Downloading model\.gguf \(1\.0 MB\)\n$/);
    assert.match(writes[1] ?? '', /^Downloaded model\.gguf: 1\.0 MB in [\d.]+s\n$/);
  });

  it('redraws one throttled line on a terminal', () => {
    const { writes, stream } = capture(true);
    const progress = terminalProgress('model.gguf', stream);
    for (let i = 0; i <= 100; i++) progress({ received: i * 5_000, total: 1_000_000 });
    progress({ received: 1_000_000, total: 1_000_000, done: true });
    assert.ok(writes.length <= 3, `throttled, got ${writes.length} writes`);
    assert.ok(writes.every((w) => w.startsWith('\r')));
    assert.match(writes[0] ?? '', /0% 0\.0\/1\.0 MB/);
    assert.match(writes.at(-1) ?? '', /100% 1\.0\/1\.0 MB [\d.]+ MB\/s.*\n$/);
  });
});

describe('parseModelRef', () => {
  it('treats anything without hf: as a file path', () => {
    assert.deepEqual(parseModelRef('models/tiny.gguf'), { kind: 'file', path: 'models/tiny.gguf' });
    assert.deepEqual(parseModelRef('/abs/hf:odd.gguf'), { kind: 'file', path: '/abs/hf:odd.gguf' });
  });

  it('parses owner, repo, nested file and revision', () => {
    assert.deepEqual(parseModelRef('hf:unsloth/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q4_K_M.gguf'), {
      kind: 'hf', owner: 'unsloth', repo: 'Qwen3-0.6B-GGUF', file: 'Qwen3-0.6B-Q4_K_M.gguf', revision: 'main',
    });
    assert.deepEqual(parseModelRef('hf:o/r/q4/part/m.gguf#v1.2'), { kind: 'hf', owner: 'o', repo: 'r', file: 'q4/part/m.gguf', revision: 'v1.2' });
    assert.equal(describeModelRef(parseModelRef('hf:o/r/m.gguf#dev')), 'o/r/m.gguf (Hugging Face, revision dev)');
  });

  for (const bad of ['hf:', 'hf:owner/repo', 'hf:owner/repo/', 'hf:/repo/m.gguf', 'hf:owner//m.gguf', 'hf:owner/repo/m.bin', 'hf:owner/repo/m.gguf#', 'hf:owner/repo/../m.gguf', 'hf:o/r/m.gguf#../x']) {
    it(`rejects ${JSON.stringify(bad)} showing the expected syntax`, () => {
      assert.throws(() => parseModelRef(bad), (err: Error) => err instanceof ModelRefError && err.message.includes('hf:OWNER/REPO/PATH/TO/FILE.gguf'));
    });
  }
});
