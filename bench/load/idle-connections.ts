// Memory per waiting connection: open N streaming completions at once (raw node:http, one
// socket each; no max_tokens, so each may run to the end of its context and the one running
// does not let the line drain), wait until the server holds them all (its /metrics queue depth +
// active sequences, else a settle time), read the server's VmRSS, then abort them all and check
// that the server is still healthy and still answers a completion.
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import type { RequestSpec } from './omni-level.js';
import type { ServerProcess } from './server-process.js';

export interface IdleConnectionsResult {
  connections: number;
  rssIdleMb: number;
  rssOpenMb: number;
  perConnectionKb: number;
  /** What /metrics said when RSS was read (undefined when it had no such gauges). */
  held: { queued: number; active: number } | undefined;
  /** HTTP status → count, for answers that came before the abort (a 429 means refused). */
  statuses: Map<number, number>;
  /** Client-side errors other than our own abort. */
  errors: string[];
  /** Responses that ended before the abort (generations that finished). */
  completed: number;
  healthyAfter: boolean;
  servesAfter: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sums a gauge over its label sets in Prometheus text; undefined when absent. */
function gauge(metrics: string, name: string): number | undefined {
  const values = [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => Number(m[1]));
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
}

async function heldByServer(baseUrl: string): Promise<{ queued: number; active: number } | undefined> {
  try {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const queued = gauge(text, 'omni_queue_depth');
    // The one-at-a-time scheduler names it active, the batching one running (its waiting
    // sequences are mostly the queued requests, so they are not added).
    const active = gauge(text, 'omni_active_sequences') ?? gauge(text, 'omni_running_sequences');
    return queued === undefined || active === undefined ? undefined : { queued, active };
  } catch {
    return undefined;
  }
}

/** Starts one streaming request; resolves once its body is written to the socket. */
function openOne(url: URL, body: string, agent: http.Agent, signal: AbortSignal, out: IdleConnectionsResult): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent, signal, headers: { 'content-type': 'application/json' } }, (res) => {
      out.statuses.set(res.statusCode ?? 0, (out.statuses.get(res.statusCode ?? 0) ?? 0) + 1);
      res.on('error', () => {});
      res.on('end', () => out.completed++);
      res.resume();
    });
    req.on('error', (err) => {
      if (!signal.aborted) out.errors.push(err.message);
      resolve();
    });
    req.end(body, () => resolve());
  });
}

interface Sample {
  held: { queued: number; active: number } | undefined;
  rssMb: number;
}

/**
 * Polls /metrics and VmRSS until the server holds every request still open (queued + active;
 * then one more reading 0.5 s later), holds no more than it did 3 s ago, or 60 s pass; returns
 * the sample with the most held.
 */
async function sampleWhileHeld(server: ServerProcess, stillOpen: () => number): Promise<Sample> {
  const deadline = performance.now() + 60_000;
  const heldCount = (s: Sample) => (s.held ? s.held.queued + s.held.active : 0);
  let best: Sample = { held: undefined, rssMb: server.rssMb() };
  let bestAt = performance.now();
  while (performance.now() < deadline) {
    const sample = { held: await heldByServer(server.baseUrl), rssMb: server.rssMb() };
    if (sample.held === undefined) {
      await sleep(2000); // no gauges: give it a fixed settle time
      return { held: undefined, rssMb: server.rssMb() };
    }
    if (heldCount(sample) >= heldCount(best)) {
      if (heldCount(sample) > heldCount(best)) bestAt = performance.now();
      best = sample;
    }
    if (heldCount(best) >= stillOpen()) {
      await sleep(500); // all held: let their buffers settle, then read once more
      const settled = { held: await heldByServer(server.baseUrl), rssMb: server.rssMb() };
      return heldCount(settled) >= heldCount(best) ? settled : best;
    }
    if (performance.now() - bestAt > 3000) break;
    await sleep(250);
  }
  return best;
}

async function waitUntilIdle(baseUrl: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const held = await heldByServer(baseUrl);
    if (held === undefined || held.queued + held.active === 0) return;
    await sleep(250);
  }
}

async function stillServes(baseUrl: string, spec: RequestSpec): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: spec.model, prompt: spec.prompt, max_tokens: 4, temperature: 0 }),
      signal: AbortSignal.timeout(60_000),
    });
    return res.status === 200;
  } catch {
    return false;
  }
}

export async function measureIdleConnections(server: ServerProcess, spec: RequestSpec, connections: number): Promise<IdleConnectionsResult> {
  const out: IdleConnectionsResult = {
    connections, rssIdleMb: server.rssMb(), rssOpenMb: NaN, perConnectionKb: NaN,
    held: undefined, statuses: new Map(), errors: [], completed: 0, healthyAfter: false, servesAfter: false,
  };
  const agent = new http.Agent({ keepAlive: false, maxSockets: connections + 100 });
  const abort = new AbortController();
  setMaxListeners(connections + 10, abort.signal); // one listener per request
  const body = JSON.stringify({
    model: spec.model, prompt: spec.prompt, temperature: 0, logit_bias: spec.logitBias, stream: true,
  });
  const url = new URL('/v1/completions', server.baseUrl);
  try {
    await Promise.all(Array.from({ length: connections }, () => openOne(url, body, agent, abort.signal, out)));
    const refused = () => [...out.statuses].filter(([s]) => s !== 200).reduce((n, [, k]) => n + k, 0);
    const sample = await sampleWhileHeld(server, () => connections - refused() - out.errors.length - out.completed);
    out.held = sample.held;
    out.rssOpenMb = sample.rssMb;
    out.perConnectionKb = ((out.rssOpenMb - out.rssIdleMb) * 1024) / connections;
  } finally {
    abort.abort();
    agent.destroy();
  }
  await waitUntilIdle(server.baseUrl, 60_000);
  out.healthyAfter = !server.exited() && (await fetch(`${server.baseUrl}/health`).then((r) => r.status === 200, () => false));
  out.servesAfter = out.healthyAfter && (await stillServes(server.baseUrl, spec));
  return out;
}
