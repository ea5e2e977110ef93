// The load benchmark's results: the human table, the targets, the problems seen, and the JSON.
import type { IdleConnectionsResult } from './idle-connections.js';
import type { RivalFigure } from './llamacpp.js';
import type { LevelResult } from './omni-level.js';
import { cell, percentile, round1 } from './stats.js';

export interface Results {
  model: string;
  threads: number;
  tokens: number;
  promptTokens: number;
  /** How long the server (and node-llama-cpp's model) sat idle after loading, before measuring. */
  settleSeconds: number;
  /** Each level with its passes' samples pooled. */
  levels: LevelResult[];
  /** passes[p]: the levels as pass p measured them. */
  passes: LevelResult[][];
  rival: Map<number, RivalFigure>;
  idle: IdleConnectionsResult | undefined;
  serverProblems: string[];
}

interface Target {
  name: string;
  detail: string;
  met: boolean | undefined;
}

const ratio = (a: number, b: number) => a / b;

/** c=16's ITL p99 over c=1's ITL p50 in these levels; NaN when either is missing. */
function itlRatio(levels: readonly LevelResult[]): number {
  const one = levels.find((l) => l.c === 1);
  const sixteen = levels.find((l) => l.c === 16);
  return one && sixteen ? ratio(percentile(sixteen.itlMs, 99), percentile(one.itlMs, 50)) : NaN;
}

export function targets(r: Results): Target[] {
  const at = (c: number) => r.levels.find((l) => l.c === c);
  const one = at(1);
  const sixteen = at(16);
  const rival16 = r.rival.get(16);
  const missing = (what: string): Target => ({ name: what, detail: 'not measured (needs c=1 and c=16)', met: undefined });
  if (!sixteen) return [missing('c=16 tok/s >= 3x c=1'), missing('c=16 tok/s >= 1.2x node-llama-cpp'), missing('c=16 ITL p99 <= 4x c=1 ITL p50')];
  const out: Target[] = [];
  if (one) {
    const x = ratio(sixteen.tps, one.tps);
    out.push({ name: 'c=16 tok/s >= 3x c=1', detail: `${sixteen.tps.toFixed(1)} vs ${one.tps.toFixed(1)} (${x.toFixed(2)}x)`, met: x >= 3 });
  } else out.push(missing('c=16 tok/s >= 3x c=1'));
  if (rival16) {
    const x = ratio(sixteen.tps, rival16.tps);
    out.push({ name: 'c=16 tok/s >= 1.2x node-llama-cpp', detail: `${sixteen.tps.toFixed(1)} vs ${rival16.tps.toFixed(1)} (${x.toFixed(2)}x)`, met: x >= 1.2 });
  } else out.push({ name: 'c=16 tok/s >= 1.2x node-llama-cpp', detail: 'node-llama-cpp not measured', met: undefined });
  if (one) {
    const p99 = percentile(sixteen.itlMs, 99);
    const p50 = percentile(one.itlMs, 50);
    out.push({ name: 'c=16 ITL p99 <= 4x c=1 ITL p50', detail: `${p99.toFixed(1)} ms vs 4 x ${p50.toFixed(1)} ms (${ratio(p99, p50).toFixed(2)}x)`, met: p99 <= 4 * p50 });
  } else out.push(missing('c=16 ITL p99 <= 4x c=1 ITL p50'));
  return out;
}

const COLUMNS: [string, number][] = [
  ['c', 3], ['Omni tok/s', 10], ['llama tok/s (thr)', 18], ['ratio', 6],
  ['TTFT p50 / p99 ms', 18], ['ITL p50 / p99 ms', 16], ['tok/chunk', 9], ['ok/sent', 8],
];

function tableLine(cells: string[]): string {
  return cells.map((text, i) => text.padStart(COLUMNS[i][1])).join(' | ');
}

function levelRow(l: LevelResult, rival: RivalFigure | undefined): string {
  return tableLine([
    String(l.c),
    cell(l.tps, 10),
    rival ? `${cell(rival.tps, 11)} (${rival.threads}t${rival.capped ? '*' : ' '})` : '-',
    cell(rival ? l.tps / rival.tps : NaN, 6, 2),
    `${cell(percentile(l.ttftMs, 50), 8)} /${cell(percentile(l.ttftMs, 99), 8)}`,
    `${cell(percentile(l.itlMs, 50), 7)} /${cell(percentile(l.itlMs, 99), 7)}`,
    cell(l.chunks > 0 ? l.completionTokens / l.chunks : NaN, 9, 2),
    `${l.ok}/${l.requests}`,
  ]);
}

function problemLines(r: Results): string[] {
  const lines: string[] = [];
  for (const l of r.levels) {
    for (const [what, n] of l.errors) lines.push(`c=${l.c}: ${n} request(s) failed: ${what}`);
    if (l.short > 0) lines.push(`c=${l.c}: ${l.short} request(s) made fewer than ${r.tokens} tokens`);
  }
  if (r.idle) {
    for (const [status, n] of r.idle.statuses) if (status !== 200) lines.push(`idle test: ${n} connection(s) answered HTTP ${status}`);
    if (r.idle.errors.length > 0) lines.push(`idle test: ${r.idle.errors.length} client error(s), first: ${r.idle.errors[0]}`);
    if (!r.idle.healthyAfter) lines.push('idle test: /health was not 200 after the abort');
    else if (!r.idle.servesAfter) lines.push('idle test: a completion after the abort failed');
  }
  if (r.serverProblems.length > 0) {
    lines.push(`the server logged ${r.serverProblems.length} warning/error line(s):`);
    for (const [what, n] of countBy(r.serverProblems.map(summarizeLogLine))) lines.push(`  ${n} x ${what}`);
  }
  return lines;
}

/** A pino line as 'level N: msg: err.message', else the line itself (cut short). */
function summarizeLogLine(line: string): string {
  try {
    const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
    return [`level ${entry.level}`, entry.msg, entry.err?.message].filter(Boolean).join(': ');
  } catch {
    return line.slice(0, 200);
  }
}

function countBy(items: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

export function printReport(r: Results): void {
  console.log(`\n${r.model}, ${r.threads} thread(s), prompt ${r.promptTokens} tokens, ${r.tokens} tokens per request, greedy, EOG banned, ` +
    (r.settleSeconds > 0 ? `measured after ${r.settleSeconds} s of settling` : 'measured at once after loading'));
  console.log(tableLine(COLUMNS.map(([name]) => name)));
  for (const l of r.levels) console.log(levelRow(l, r.rival.get(l.c)));
  console.log('(tok/s: all completion tokens of the level / its wall time; ITL: gaps between SSE content chunks, ' +
    'so a chunk carrying several tokens is one sample; llama: node-llama-cpp, its better thread count, ' +
    '* = stopped at --rival-seconds before all its rounds)');
  if (r.idle) {
    const i = r.idle;
    const finished = i.completed > 0 ? `; ${i.completed} finished before the abort` : '';
    const held = i.held ? ` (server held ${i.held.queued} queued + ${i.held.active} active${finished})` : '';
    console.log(`\nRSS: ${i.rssIdleMb.toFixed(1)} MB idle, ${i.rssOpenMb.toFixed(1)} MB with ${i.connections} streaming requests open${held}: ` +
      `${i.perConnectionKb.toFixed(1)} KB per connection; after aborting them: ${i.servesAfter ? 'healthy and serving' : 'NOT healthy'}`);
  }
  console.log('\ntargets');
  for (const t of targets(r)) {
    const verdict = t.met === undefined ? 'n/a' : t.met ? 'met' : 'NOT met';
    console.log(`  ${t.name.padEnd(36)} ${t.detail.padEnd(40)} ${verdict}`);
  }
  if (r.passes.length > 1) {
    const byPass = r.passes.map((pass) => `${itlRatio(pass).toFixed(2)}x`).join(', ');
    console.log(`  (levels pooled over ${r.passes.length} passes; the ITL ratio pass by pass: ${byPass})`);
  }
  const problems = problemLines(r);
  if (problems.length > 0) {
    console.log('\nproblems');
    for (const p of problems) console.log(`  ${p}`);
  }
}

export function resultJson(r: Results): object {
  return {
    model: r.model,
    threads: r.threads,
    tokens: r.tokens,
    prompt_tokens: r.promptTokens,
    settle_s: r.settleSeconds,
    levels: r.levels.map((l) => ({
      c: l.c,
      omni_tps: round1(l.tps),
      llamacpp_tps: round1(r.rival.get(l.c)?.tps ?? NaN),
      llamacpp_threads: r.rival.get(l.c)?.threads ?? null,
      llamacpp_capped: r.rival.get(l.c)?.capped ?? null,
      ttft_p50_ms: round1(percentile(l.ttftMs, 50)),
      ttft_p99_ms: round1(percentile(l.ttftMs, 99)),
      itl_p50_ms: round1(percentile(l.itlMs, 50)),
      itl_p99_ms: round1(percentile(l.itlMs, 99)),
      requests: l.requests,
      failed: l.requests - l.ok,
    })),
    connections: r.idle?.connections ?? null,
    rss_idle_mb: round1(r.idle?.rssIdleMb ?? NaN),
    rss_1000_mb: round1(r.idle?.rssOpenMb ?? NaN),
    rss_per_connection_kb: round1(r.idle?.perConnectionKb ?? NaN),
    targets: Object.fromEntries(targets(r).map((t) => [t.name, t.met ?? null])),
    passes: r.passes.length,
    itl_ratio_by_pass: r.passes.map((pass) => {
      const x = itlRatio(pass);
      return Number.isFinite(x) ? Math.round(x * 100) / 100 : null;
    }),
  };
}
