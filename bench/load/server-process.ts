// The real `omni serve` as a child process of the benchmark: started on a free port, awaited
// until GET /health says 200, watched (its warnings and errors are kept), measured (VmRSS from
// /proc), and always stopped, also when the benchmark fails or is interrupted.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KEPT_LINES = 200;

export interface ServerOptions {
  modelPath: string;
  threads: number;
  maxQueue: number;
  /** More `omni serve` flags, passed as they are (e.g. settings a newer scheduler has). */
  extraArgs: string[];
}

export interface ServerProcess {
  readonly baseUrl: string;
  readonly pid: number;
  /** The resident set size of the server process now, in MB (VmRSS). */
  rssMb(): number;
  /** Whether the process has exited (it should not have, before stop()). */
  exited(): boolean;
  /** The last lines it printed, and its pino lines at level warn or above. */
  recentOutput(): string[];
  problems(): string[];
  /** SIGTERM, then SIGKILL if it has not exited within a few seconds. */
  stop(): Promise<void>;
}

/** A port nobody listens on now: listen on port 0, note the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export function readRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** Keeps the last lines of the child's output, and every pino line at level ≥ 40 (warn). */
function watchOutput(child: ChildProcess): { recent: string[]; problems: string[] } {
  const recent: string[] = [];
  const problems: string[] = [];
  const onText = (stream: NodeJS.ReadableStream) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        recent.push(line);
        if (recent.length > KEPT_LINES) recent.shift();
        if (isProblem(line)) problems.push(line);
      }
    });
  };
  onText(child.stdout!);
  onText(child.stderr!);
  return { recent, problems };
}

function isProblem(line: string): boolean {
  if (!line.startsWith('{')) return /error|warn/i.test(line);
  try {
    return (JSON.parse(line) as { level?: number }).level! >= 40;
  } catch {
    return false;
  }
}

async function waitForHealth(baseUrl: string, child: ChildProcess, timeoutMs: number, output: () => string[]): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = 'no answer yet';
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) before it was healthy:\n${output().slice(-20).join('\n')}`);
    }
    try {
      const res = await fetch(`${baseUrl}/health`);
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the server was not healthy within ${timeoutMs / 1000}s (last: ${last})`);
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts `node --import tsx src/cli.ts serve ...` (the node process is the server: its pid is the one measured). */
export async function startServer(options: ServerOptions): Promise<ServerProcess> {
  const port = await freePort();
  const args = [
    '--import', 'tsx', 'src/cli.ts', 'serve',
    '--model', options.modelPath,
    '--threads', String(options.threads),
    '--host', '127.0.0.1',
    '--port', String(port),
    '--max-queue', String(options.maxQueue),
    '--log-level', 'warn',
    '--drain-timeout', '2',
    ...options.extraArgs,
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  // No orphan: whatever way the benchmark ends, the server ends with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const output = watchOutput(child);
  const baseUrl = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    baseUrl,
    pid: child.pid!,
    rssMb: () => readRssMb(child.pid!),
    exited: () => child.exitCode !== null || child.signalCode !== null,
    recentOutput: () => [...output.recent],
    problems: () => [...output.problems],
    stop: async () => {
      await stopChild(child, 5000);
      process.removeListener('exit', killOnExit);
    },
  };
  try {
    await waitForHealth(baseUrl, child, 180_000, server.recentOutput);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}
