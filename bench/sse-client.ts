// A lean streaming client for the benchmarks: HTTP/1.1 over a plain TCP socket (kept alive
// between requests), reading the SSE events of one streamed /v1/completions request as they
// arrive. On a 2-core machine the client shares the cores the server computes on, so its CPU
// time per chunk shows up in the server's figures: the official SDK took ~170 µs a chunk and
// node:http's client (its parser and two layers of streams) ~65 µs. This one reads the socket
// with `onread` (no stream machinery) and parses what autocannon would: the status line,
// headers, chunked framing, then the events (sse-response.ts).
import net from 'node:net';
import { ResponseReader } from './sse-response.js';

/** One parsed `data:` event of the stream (a chunk object), in arrival order. */
export type ChunkHandler = (chunk: CompletionChunk) => void;

export interface CompletionChunk {
  choices: { text: string; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
  error?: { message: string };
}

/** A chunk that carries generated text: not the finish chunk, not the usage chunk. */
export function isContentChunk(chunk: CompletionChunk): boolean {
  const choice = chunk.choices[0];
  return choice !== undefined && choice.finish_reason === null && choice.text !== '';
}

/** A kept-alive connection; `exchange` runs one request on it at a time. */
class Connection {
  private readonly socket: net.Socket;
  /** The running exchange's handlers, or undefined while the connection is idle. */
  private receiver: { bytes(text: string): void; closed(err?: Error): void } | undefined;
  private closed = false;

  constructor(url: URL, onClose: (conn: Connection) => void) {
    this.socket = net.connect({
      port: Number(url.port),
      host: url.hostname,
      noDelay: true,
      onread: {
        buffer: Buffer.alloc(64 * 1024),
        // buf is the Buffer above (typed as Uint8Array); returning false would pause the socket.
        callback: (n, buf) => {
          this.receiver?.bytes((buf as Buffer).toString('latin1', 0, n));
          return true;
        },
      },
    });
    this.socket.on('error', (err) => this.receiver?.closed(err));
    this.socket.on('close', () => {
      this.closed = true;
      onClose(this);
      this.receiver?.closed();
    });
  }

  get usable(): boolean {
    return !this.closed;
  }

  /**
   * Sends `request` and reads its response. Rejects with FreshConnectionNeeded when the
   * connection closes before any byte of the response (a kept-alive socket the server closed).
   */
  exchange(request: string, onChunk: ChunkHandler): Promise<{ keepAlive: boolean }> {
    return new Promise((resolve, reject) => {
      let receivedAny = false;
      let done = false;
      const finish = (err?: Error) => {
        this.receiver = undefined;
        if (err) {
          this.socket.destroy();
          reject(err);
        } else resolve({ keepAlive: reader.keepAlive });
      };
      const reader = new ResponseReader({
        event: (data) => {
          if (data === '[DONE]') {
            done = true;
            return;
          }
          const chunk = JSON.parse(data) as CompletionChunk;
          if (chunk.error) throw new Error(`error event: ${chunk.error.message}`);
          onChunk(chunk);
        },
        end: (status, errorBody) => {
          if (status !== 200) finish(new Error(`${status} ${errorMessage(errorBody)}`));
          else finish(done ? undefined : new Error('the stream ended before [DONE]'));
        },
      });
      this.receiver = {
        bytes: (text) => {
          receivedAny = true;
          try {
            reader.read(text);
          } catch (err) {
            finish(err as Error);
          }
        },
        closed: (err) => {
          if (!receivedAny) finish(new FreshConnectionNeeded(err?.message ?? 'closed'));
          else finish(err ?? new Error('the connection closed mid-response'));
        },
      };
      this.socket.ref();
      this.socket.write(request);
    });
  }

  /** Back in the pool: an idle connection does not keep the process alive. */
  idle(): void {
    this.socket.unref();
  }

  close(): void {
    this.socket.end();
  }
}

class FreshConnectionNeeded extends Error {}

/** Idle kept-alive connections by host:port. */
const idleConnections = new Map<string, Connection[]>();

function idleList(host: string): Connection[] {
  let list = idleConnections.get(host);
  if (!list) idleConnections.set(host, (list = []));
  return list;
}

/**
 * POSTs `body` (with stream: true) to `${baseUrl}/v1/completions` and calls `onChunk` for every
 * chunk. Resolves at [DONE]; rejects with "STATUS message" on an error status, or with the
 * message of an error event sent after the stream started.
 */
export async function streamCompletion(baseUrl: string, body: object, onChunk: ChunkHandler): Promise<void> {
  const url = new URL(baseUrl);
  const payload = JSON.stringify({ ...body, stream: true });
  const request =
    `POST /v1/completions HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`;
  const pool = idleList(url.host);
  for (;;) {
    const reused = pool.pop();
    const conn = reused?.usable ? reused : new Connection(url, (closed) => removeFrom(pool, closed));
    try {
      const { keepAlive } = await conn.exchange(request, onChunk);
      if (keepAlive) {
        conn.idle();
        pool.push(conn);
      } else conn.close();
      return;
    } catch (err) {
      if (!(err instanceof FreshConnectionNeeded)) throw err;
      // The server may close an idle connection just as it is reused: then try a new one.
      if (conn !== reused) throw new Error(`the connection closed before a response (${err.message})`);
    }
  }
}

function removeFrom<T>(list: T[], item: T): void {
  const at = list.indexOf(item);
  if (at >= 0) list.splice(at, 1);
}

function errorMessage(text: string): string {
  try {
    return (JSON.parse(text) as { error: { message: string } }).error.message;
  } catch {
    return text.slice(0, 160);
  }
}
