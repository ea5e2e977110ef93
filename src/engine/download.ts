// Fetches a .gguf file from a Hugging Face repository into a local cache, the way the hub serves
// it: a redirect that announces the LFS size and sha256, then the bytes from a CDN. Transfers
// resume from a `.part` file, are verified, and only then renamed into place.
import { createHash, type Hash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describeModelRef, type HfRef } from './model-ref.js';

export interface DownloadProgress {
  received: number;
  total?: number;
  /** Set once, on the last call, after the file was verified and moved into place. */
  done?: boolean;
}

export interface DownloadOptions {
  cacheDir: string;
  /** Default https://huggingface.co */
  endpoint?: string;
  /** Sent as a Bearer token to the endpoint (never to the CDN it redirects to). */
  token?: string;
  progress?: (p: DownloadProgress) => void;
  /** Default 15000: how long to wait for each response's headers. */
  connectTimeoutMs?: number;
  /** Default 30000: a transfer with no bytes for this long is aborted (and resumed). */
  stallTimeoutMs?: number;
  signal?: AbortSignal;
}

export class DownloadError extends Error {
  /** The host could not be reached at all: no network, DNS failure, refused, timed out. */
  readonly offline: boolean;
  readonly status?: number;
  constructor(message: string, options: { offline?: boolean; status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DownloadError';
    this.offline = options.offline ?? false;
    this.status = options.status;
  }
}

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
const MAX_ATTEMPTS = 3;
const MAX_REDIRECTS = 5;

// Errors worth another attempt inside the same call (the transfer broke, the server hiccuped).
const retryable = new WeakSet<Error>();
function retry(error: DownloadError): DownloadError {
  retryable.add(error);
  return error;
}

/** Where `ref` lives in the cache: `${cacheDir}/${owner}/${repo}/${revision}/${file}`. */
export function modelCachePath(ref: HfRef, cacheDir: string): string {
  const root = path.resolve(cacheDir);
  const full = path.resolve(root, ref.owner, ref.repo, ...ref.revision.split('/'), ...ref.file.split('/'));
  const rel = path.relative(root, full);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new DownloadError(`Refusing to download ${describeModelRef(ref)}: its path would leave the cache folder ${root}.`);
  }
  return full;
}

export function resolveUrl(ref: HfRef, endpoint = DEFAULT_ENDPOINT): string {
  const segments = (p: string) => p.split('/').map(encodeURIComponent).join('/');
  // Like huggingface_hub, a revision such as refs/pr/1 travels as one escaped segment.
  return `${endpoint.replace(/\/+$/, '')}/${segments(ref.owner)}/${segments(ref.repo)}/resolve/${encodeURIComponent(ref.revision)}/${segments(ref.file)}`;
}

export async function downloadModel(ref: HfRef, options: DownloadOptions): Promise<string> {
  const finalPath = modelCachePath(ref, options.cacheDir);
  if (await isFile(finalPath)) return finalPath;
  await ensureWritableFolder(path.dirname(finalPath), ref);
  for (let attempt = 1; ; attempt++) {
    try {
      await attemptDownload(ref, finalPath, options);
      return finalPath;
    } catch (err) {
      if (!(err instanceof DownloadError) || !retryable.has(err) || options.signal?.aborted) throw err;
      if (attempt >= MAX_ATTEMPTS) {
        throw new DownloadError(
          `${err.message} Gave up after ${MAX_ATTEMPTS} attempts; the partial file ${finalPath}.part is kept and the next try resumes from it.`,
          { status: err.status, cause: err },
        );
      }
      await delay(250 * attempt, undefined, { signal: options.signal });
    }
  }
}

async function attemptDownload(ref: HfRef, finalPath: string, o: DownloadOptions): Promise<void> {
  const partPath = `${finalPath}.part`;
  const stallMs = o.stallTimeoutMs ?? 30_000;
  let offset = await fileSize(partPath);
  let hash = createHash('sha256');
  if (offset > 0) await hashFile(partPath, hash);

  const watchdog = new Watchdog(o.signal);
  try {
    const { res, url, linkedSize, linkedSha } = await follow(ref, o, offset, watchdog);
    checkStatus(ref, res, url);
    const commit = async (size: number) => {
      const expectedSize = linkedSize ?? size;
      if (size !== expectedSize) await mismatch(ref, partPath, `${expectedSize} bytes`, `${size} bytes`);
      const sha = hash.digest('hex');
      if (linkedSha !== undefined && sha !== linkedSha) await mismatch(ref, partPath, `sha256 ${linkedSha}`, `sha256 ${sha}`);
      await rename(partPath, finalPath);
      o.progress?.({ received: size, total: size, done: true });
    };

    if (res.status === 416) {
      // We asked for bytes past the end: the part is complete if it is exactly the file's size.
      const total = linkedSize ?? parseContentRange(res.headers.get('content-range'))?.total;
      if (offset > 0 && total === offset) return await commit(offset);
      await rm(partPath, { force: true });
      throw retry(new DownloadError(`The server refused to resume ${describeModelRef(ref)} at byte ${offset}.`, { status: 416 }));
    }

    let fullSize = numberHeader(res.headers.get('content-length'));
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get('content-range'));
      if (range?.start !== offset) {
        await rm(partPath, { force: true });
        throw retry(new DownloadError(`The server resumed ${describeModelRef(ref)} at the wrong offset.`));
      }
      fullSize = range.total;
    } else if (offset > 0) {
      // 200 to a Range request: the server ignored it and sends the whole file, so start over.
      offset = 0;
      hash = createHash('sha256');
    }
    if (linkedSize !== undefined && fullSize !== undefined && linkedSize !== fullSize) {
      await mismatch(ref, partPath, `${linkedSize} bytes`, `a file of ${fullSize} bytes`);
    }
    const total = linkedSize ?? fullSize;

    const received = await receive(res, partPath, offset, hash, watchdog, stallMs, (n) => o.progress?.({ received: n, total }));
    if (total !== undefined && received < total) {
      throw retry(new DownloadError(`The connection closed after ${received} of ${total} bytes of ${describeModelRef(ref)}.`));
    }
    await commit(received);
  } finally {
    watchdog.stop();
  }
}

/** Requests `url`, following redirects by hand so the hub's x-linked-* headers can be read. */
async function follow(ref: HfRef, o: DownloadOptions, offset: number, watchdog: Watchdog) {
  const connectMs = o.connectTimeoutMs ?? 15_000;
  let url = resolveUrl(ref, o.endpoint);
  const origin = new URL(url).origin;
  let linkedSize: number | undefined;
  let linkedSha: string | undefined;
  for (let redirects = 0; ; redirects++) {
    const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'omni' };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    if (o.token && new URL(url).origin === origin) headers.authorization = `Bearer ${o.token}`;
    watchdog.arm(connectMs, 'connect');
    let res: Response;
    try {
      res = await fetch(url, { headers, redirect: 'manual', signal: watchdog.signal });
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason;
      const why = watchdog.expired === 'connect' ? `no answer within ${connectMs / 1000}s` : networkReason(err);
      throw new DownloadError(
        `Could not reach ${new URL(url).host} (${why}) to download ${describeModelRef(ref)}. ` +
          'If this machine has no network access, download the .gguf file yourself and pass it with --model /path/to/file.gguf.',
        { offline: true, cause: err },
      );
    }
    linkedSize ??= numberHeader(res.headers.get('x-linked-size'));
    linkedSha ??= sha256Header(res.headers.get('x-linked-etag'));
    const location = res.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(res.status) || !location) return { res, url, linkedSize, linkedSha };
    await res.body?.cancel();
    if (redirects >= MAX_REDIRECTS) throw new DownloadError(`Too many redirects while downloading ${describeModelRef(ref)} (last: ${url}).`);
    url = new URL(location, url).href;
  }
}

function checkStatus(ref: HfRef, res: Response, url: string): void {
  const status = res.status;
  if (status === 200 || status === 206 || status === 416) return;
  const serverSays = res.headers.get('x-error-message');
  const detail = serverSays ? ` The server said: ${serverSays}` : '';
  if (status === 401 || status === 403) {
    const repoPage = `${new URL(url).origin}/${ref.owner}/${ref.repo}`;
    throw new DownloadError(
      `Access to ${ref.owner}/${ref.repo} was refused (HTTP ${status}). The repository may be gated or private ` +
        `(accept its terms at ${repoPage} and provide a Hugging Face access token with --hf-token or HF_TOKEN), or it may not exist.${detail}`,
      { status },
    );
  }
  if (status === 404) {
    throw new DownloadError(`The file or repository does not exist: ${describeModelRef(ref)} (HTTP 404 from ${url}).${detail}`, { status });
  }
  const error = new DownloadError(`Downloading ${describeModelRef(ref)} failed with HTTP ${status} from ${url}.${detail}`, { status });
  throw status >= 500 || status === 429 ? retry(error) : error;
}

/** Streams the body into the part file, hashing as it goes; returns the part's size after. */
async function receive(
  res: Response,
  partPath: string,
  offset: number,
  hash: Hash,
  watchdog: Watchdog,
  stallMs: number,
  progress: (received: number) => void,
): Promise<number> {
  const file = await open(partPath, offset > 0 ? 'a' : 'w');
  let received = offset;
  try {
    progress(received);
    const reader = res.body?.getReader();
    for (;;) {
      if (!reader) break;
      watchdog.arm(stallMs, 'stall');
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (watchdog.userSignal?.aborted) throw watchdog.userSignal.reason;
        const why = watchdog.expired === 'stall' ? `no data for ${stallMs / 1000}s` : networkReason(err);
        throw retry(new DownloadError(`The transfer broke off after ${received} bytes (${why}).`, { cause: err }));
      }
      if (chunk.done) break;
      hash.update(chunk.value);
      await file.write(chunk.value);
      received += chunk.value.byteLength;
      progress(received);
    }
  } finally {
    await file.close();
  }
  return received;
}

async function mismatch(ref: HfRef, partPath: string, expected: string, got: string): Promise<never> {
  await rm(partPath, { force: true });
  throw new DownloadError(
    `The download of ${describeModelRef(ref)} is corrupt: expected ${expected}, got ${got}. The partial file was deleted; try again.`,
  );
}

/** One abort controller per attempt, with the connect/stall timer that fires it. */
class Watchdog {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  readonly signal: AbortSignal;
  expired: 'connect' | 'stall' | undefined;
  constructor(readonly userSignal?: AbortSignal) {
    this.signal = userSignal ? AbortSignal.any([userSignal, this.controller.signal]) : this.controller.signal;
  }
  arm(ms: number, what: 'connect' | 'stall'): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.expired = what;
      this.controller.abort();
    }, ms);
  }
  /** Also releases a response body nobody will read. */
  stop(): void {
    clearTimeout(this.timer);
    this.controller.abort();
  }
}

/** Makes the cache folder; a folder this user may not write (a root-owned volume, say) gets a clear error. */
async function ensureWritableFolder(dir: string, ref: HfRef): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
    throw new DownloadError(
      `Cannot write to the model cache folder ${dir} (${code}), where ${describeModelRef(ref)} would be downloaded. ` +
        'Give this user write access to the data directory (--data-dir), or download the .gguf file yourself and pass it with --model /path/to/file.gguf.',
      { cause: err },
    );
  }
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'DNS lookup failed';
  if (code === 'ECONNREFUSED') return 'connection refused';
  return code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

function numberHeader(value: string | null): number | undefined {
  return value !== null && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
}

/** The hub's x-linked-etag is the LFS sha256, quoted; anything else is not a sha256. */
function sha256Header(value: string | null): string | undefined {
  const v = value?.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return v && /^[0-9a-f]{64}$/i.test(v) ? v.toLowerCase() : undefined;
}

function parseContentRange(value: string | null): { start?: number; total?: number } | undefined {
  const m = value?.match(/^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/);
  if (!m) return undefined;
  return { start: m[1] === undefined ? undefined : Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function hashFile(file: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** A progress callback drawing one redrawn line on a terminal; elsewhere a start and an end line. */
export function terminalProgress(label: string, stream: ProgressStream = process.stderr): (p: DownloadProgress) => void {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  let start = 0;
  let startBytes = 0;
  let lastDraw = 0;
  return (p) => {
    const now = Date.now();
    if (start === 0) {
      start = now;
      startBytes = p.received;
      if (!stream.isTTY) stream.write(`Downloading ${label}${p.total === undefined ? '' : ` (${mb(p.total)} MB)`}\n`);
    }
    const seconds = Math.max((now - start) / 1000, 0.001);
    if (!stream.isTTY) {
      if (p.done) stream.write(`Downloaded ${label}: ${mb(p.received)} MB in ${seconds.toFixed(1)}s\n`);
      return;
    }
    if (!p.done && now - lastDraw < 100) return;
    lastDraw = now;
    const percent = p.total ? `${Math.floor((100 * p.received) / p.total)}%`.padStart(4) + ' ' : '';
    const amount = p.total === undefined ? mb(p.received) : `${mb(p.received)}/${mb(p.total)}`;
    const rate = mb((p.received - startBytes) / seconds);
    stream.write(`\r${label} ${percent}${amount} MB ${rate} MB/s\x1b[K${p.done ? '\n' : ''}`);
  };
}
