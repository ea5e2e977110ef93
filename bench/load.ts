// npm run bench:load -- --model FILE [--threads 2] [--levels 1,4,16,64] [--tokens 64] [--passes 3]
//                       [--settle 30] [--requests 8] [--connections 1000] [--rival-seconds 15]
//                       [--serve-arg FLAG]... [--json]
// Throughput and latency of the real server under concurrent load, against node-llama-cpp's
// batched decoding on the same file and thread count, plus the server's memory per waiting
// connection.
//
// 1. Starts `omni serve` as a child process on a free port (--max-queue above --connections),
//    waits for GET /health = 200, sends one short request, then leaves the server idle for
//    --settle seconds: here, a server's first ~25 s have stalls that one running for hours
//    does not see (a first pass measured at once put the c=16 ITL p99 at 4.2-5.1x the c=1
//    median, against 3.4-4.3x once settled; two rounds of load instead of the wait did not
//    help). The README's "Under load" has the measurements.
// 2. Per concurrency level c: c clients (sse-client.ts, streamed /v1/completions, a fixed
//    ~30-token prompt, temperature 0, max_tokens --tokens, EOG ids banned with logit_bias so
//    every request makes exactly that many tokens) each send requests back to back,
//    max(4c, --requests) in all. The levels run --passes times in turn (1, 4, 16, 64, 1, 4, ...)
//    and each level's samples are pooled: the machine's speed drifts over seconds (a shared VM
//    has slow stretches of a second or more), and levels measured once each, one after the
//    other, would compare one stretch with another.
//    TTFT: request start → first content chunk. ITL: each gap between successive content chunks
//    (one sample per chunk gap; the tok/chunk column says how many tokens a chunk carries).
//    tok/s: completion tokens (from the usage chunk) / the level's wall time.
// 3. Opens --connections streaming requests at once, reads the server's VmRSS once the server
//    holds them all, aborts them and checks the server still serves; then stops the server.
// 4. node-llama-cpp in this process (the server gone, so they do not share cores): per c, one
//    context with c sequences generating the same prompt ids, at --threads and at 1 thread
//    (the better figure is reported; see ../shared/PEERS.md); each level at most --rival-seconds.
//    Its model, too, is left to settle for --settle seconds once loaded.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LoadedModel } from '../src/engine/loaded-model.js';
import { measureIdleConnections, type IdleConnectionsResult } from './load/idle-connections.js';
import { runRival } from './load/llamacpp.js';
import { poolLevels, runOmniLevel, type LevelResult, type RequestSpec } from './load/omni-level.js';
import { printReport, resultJson } from './load/report.js';
import { startServer, type ServerProcess } from './load/server-process.js';

const USAGE = 'usage: npm run bench:load -- --model FILE [--threads 2] [--levels 1,4,16,64] [--tokens 64] [--passes 3] ' +
  '[--settle 30] [--requests 8] [--connections 1000] [--rival-seconds 15] [--serve-arg FLAG]... [--json]';
const PROMPT = 'The old lighthouse keeper climbed the spiral stairs at dusk, lit the great lamp, ' +
  'and watched the fishing boats come home through the fog.';

/** The flags, or the parser's complaint and the usage (exit 2). */
function parseFlags() {
  try {
    return parseArgs({
      options: {
        model: { type: 'string' },
        threads: { type: 'string', default: '2' },
        levels: { type: 'string', default: '1,4,16,64' },
        tokens: { type: 'string', default: '64' },
        passes: { type: 'string', default: '3' },
        settle: { type: 'string', default: '30' },
        requests: { type: 'string', default: '8' },
        connections: { type: 'string', default: '1000' },
        'rival-seconds': { type: 'string', default: '15' },
        'serve-arg': { type: 'string', multiple: true, default: [] },
        json: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}
const { values } = parseFlags();
const integer = (text: string, name: string, min: number): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got '${text}'\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const positive = (text: string, name: string) => integer(text, name, 1);
if (!values.model) {
  console.error(USAGE);
  process.exit(2);
}
const modelPath = path.resolve(values.model);
const threads = positive(values.threads, 'threads');
const levels = values.levels.split(',').map((s) => positive(s.trim(), 'levels'));
const tokens = positive(values.tokens, 'tokens');
const passes = positive(values.passes, 'passes');
const settleSeconds = integer(values.settle, 'settle', 0);
const minRequests = positive(values.requests, 'requests');
const connections = positive(values.connections, 'connections');
const rivalSeconds = positive(values['rival-seconds'], 'rival-seconds');
/**
 * Requests each client sends back to back at level c: max(4c, --requests) in all. All c clients
 * start at once, so a level's first round takes c prompts in together, a burst a sustained load
 * does not see; with two rounds those steps made the c=16 ITL p99, with four they weigh less.
 */
const rounds = (c: number) => Math.max(4, Math.ceil(minRequests / c));
const progress = (line: string) => process.stderr.write(`${line}\n`);

// Ctrl-C or a kill: exit through process.exit, so the server child is killed on the way out.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

/** Waits --settle seconds (step 1 of the header says why). */
const settle = () => new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));

/** The prompt's token ids and the end-of-generation ids, from the model's tokenizer alone. */
async function readTokenizer(): Promise<{ promptTokens: number[]; eogIds: readonly number[] }> {
  const vocab = await LoadedModel.load(modelPath, { vocabOnly: true });
  try {
    const promptTokens = vocab.tokenizer.tokenize(PROMPT, { addSpecial: true, parseSpecial: true });
    return { promptTokens, eogIds: vocab.tokenizer.endOfGenerationIds };
  } finally {
    vocab.dispose();
  }
}

async function firstModelId(server: ServerProcess): Promise<string> {
  const list = (await (await fetch(`${server.baseUrl}/v1/models`)).json()) as { data: { id: string }[] };
  if (list.data.length === 0) throw new Error('the server lists no models');
  return list.data[0].id;
}

/**
 * Every level --passes times (levels in turn), then the idle-connection memory test, against
 * one server process. `passes[p][i]` is level i in pass p; `levels[i]` pools them.
 */
async function measureOmni(eogIds: readonly number[]): Promise<{
  levels: LevelResult[]; passes: LevelResult[][]; idle: IdleConnectionsResult; problems: string[];
}> {
  const server = await startServer({ modelPath, threads, maxQueue: connections + 100, extraArgs: values['serve-arg'] });
  try {
    progress(`server pid ${server.pid} at ${server.baseUrl}, RSS ${server.rssMb().toFixed(1)} MB after start`);
    const spec: RequestSpec = {
      model: await firstModelId(server),
      prompt: PROMPT,
      maxTokens: tokens,
      logitBias: Object.fromEntries(eogIds.map((id) => [String(id), -100])),
    };
    await runOmniLevel(server.baseUrl, { ...spec, maxTokens: 8 }, 1, 1); // warm-up
    if (settleSeconds > 0) progress(`letting the server settle for ${settleSeconds} s`);
    await settle();
    const byPass: LevelResult[][] = [];
    for (let p = 1; p <= passes; p++) {
      const pass: LevelResult[] = [];
      for (const c of levels) {
        const level = await runOmniLevel(server.baseUrl, spec, c, rounds(c));
        progress(`pass ${p}/${passes}, Omni c=${c}: ${level.tps.toFixed(1)} tok/s, ${level.ok}/${level.requests} requests, ${(level.wallMs / 1000).toFixed(1)} s`);
        pass.push(level);
        if (server.exited()) throw new Error(`the server exited during c=${c}:\n${server.recentOutput().slice(-20).join('\n')}`);
      }
      byPass.push(pass);
    }
    const pooled = levels.map((_, i) => poolLevels(byPass.map((pass) => pass[i])));
    const idle = await measureIdleConnections(server, spec, connections);
    progress(`RSS ${idle.rssIdleMb.toFixed(1)} MB idle, ${idle.rssOpenMb.toFixed(1)} MB with ${connections} connections`);
    return { levels: pooled, passes: byPass, idle, problems: server.problems() };
  } finally {
    await server.stop();
  }
}

const { promptTokens, eogIds } = await readTokenizer();
const omni = await measureOmni(eogIds);
await new Promise((r) => setTimeout(r, 1000)); // let the stopped server's memory and threads go
const rival = await runRival({
  modelPath, promptTokens, tokens, levels, rounds,
  threadCounts: threads === 1 ? [1] : [threads, 1], maxSeconds: rivalSeconds, settle,
}, progress);
const results = {
  model: path.basename(modelPath), threads, tokens, promptTokens: promptTokens.length, settleSeconds,
  levels: omni.levels, passes: omni.passes, rival, idle: omni.idle, serverProblems: omni.problems,
};
printReport(results);
if (values.json) console.log(JSON.stringify(resultJson(results)));
process.exit(0);
