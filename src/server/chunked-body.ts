// The body of a chunked HTTP response written one piece at a time, for event streams.
//
// node's res.write frames every chunk as three buffers (size line, data, CRLF) under a cork it
// releases on the next tick. With one write per generated token that machinery cost ~30-50 µs
// of main-thread time a token, and on a small machine that time is taken from the engine's
// compute threads. So after the first write (which sends the headers through node, as usual)
// the chunks go to the socket directly, already framed, in one write each; res.end() still
// writes the terminating chunk. Only when node frames the body with chunked coding and the
// response already owns its socket (not queued behind a pipelined one) at the first write:
// otherwise every write goes through node.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export class ChunkedBody {
  private started = false;
  private direct: Socket | undefined;

  constructor(private readonly res: ServerResponse) {}

  /** Writes `text` as one chunk; false when the socket's buffer is full (wait for drained()). */
  write(text: string): boolean {
    if (this.direct) return this.direct.write(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`);
    const ok = this.res.write(text);
    if (!this.started && this.res.chunkedEncoding && this.res.socket) this.direct = this.res.socket;
    this.started = true;
    return ok;
  }

  /** Resolves when the socket takes more, or when the response closes (then `res.destroyed` is set). */
  drained(): Promise<void> {
    const source = this.direct ?? this.res;
    return new Promise((resolve) => {
      const done = () => {
        source.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      source.on('drain', done);
      this.res.on('close', done);
    });
  }
}
