// A lean streaming client for the benchmarks: node:http with keep-alive, reading the SSE
// events of one streamed /v1/completions request as they arrive. On a 2-core machine the
// client shares the cores the server computes on: the official SDK took ~170 µs of CPU per
// chunk (13% of a core at c=16 in bench:load), this client ~65 µs, so the figures describe the
// server rather than its client, as autocannon's would.
import http from 'node:http';

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

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/**
 * POSTs `body` (with stream: true) to `${baseUrl}/v1/completions` and calls `onChunk` for every
 * chunk. Resolves at [DONE]; rejects with "STATUS message" on an error status, or with the
 * message of an error event sent after the stream started.
 */
export function streamCompletion(baseUrl: string, body: object, onChunk: ChunkHandler): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}/v1/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.setEncoding('utf8');
      let buffered = '';
      if (res.statusCode !== 200) {
        res.on('data', (text: string) => (buffered += text));
        res.on('end', () => reject(new Error(`${res.statusCode} ${errorMessage(buffered)}`)));
        return;
      }
      let done = false;
      res.on('data', (text: string) => {
        buffered += text;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const data = buffered.slice('data: '.length, end);
          buffered = buffered.slice(end + 2);
          if (data === '[DONE]') {
            done = true;
            continue;
          }
          const chunk = JSON.parse(data) as CompletionChunk;
          if (chunk.error) {
            res.destroy();
            reject(new Error(`error event: ${chunk.error.message}`));
            return;
          }
          onChunk(chunk);
        }
      });
      res.on('end', () => (done ? resolve() : reject(new Error('the stream ended before [DONE]'))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ ...body, stream: true }));
  });
}

function errorMessage(text: string): string {
  try {
    return (JSON.parse(text) as { error: { message: string } }).error.message;
  } catch {
    return text.slice(0, 160);
  }
}
