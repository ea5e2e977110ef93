// Reads one HTTP/1.1 response from the bytes a socket delivers: the status line and headers,
// then a body framed by chunked transfer coding or by content-length. A 200 body is split into
// server-sent events as they complete (their `data:` text goes to `event`); any other status's
// body is collected whole for the error message. `end` is called once, when the body is complete.
//
// The bytes are handled as latin1 text (one character per byte), so that byte counts (chunk
// sizes) are string lengths and the scanning is plain string work; an event's text is decoded
// as UTF-8 when it has non-ASCII bytes (0x0a never occurs inside a UTF-8 sequence, so splitting
// events at blank lines is safe).
export interface ResponseHandlers {
  event(data: string): void;
  end(status: number, errorBody: string): void;
}

export class ResponseReader {
  status = 0;
  /** Whether the connection may carry another request after this response. */
  keepAlive = true;
  private pending = '';
  private chunked = false;
  /** Body bytes still expected: of the current chunk (chunked) or of the whole body. */
  private remaining = -1;
  private headDone = false;
  private ended = false;
  private body = '';

  constructor(private readonly handlers: ResponseHandlers) {}

  /** Takes the next bytes of the response, as latin1 text. */
  read(bytes: string): void {
    this.pending += bytes;
    if (!this.headDone && !this.readHead()) return;
    if (this.chunked) this.readChunks();
    else this.readFixed();
  }

  private readHead(): boolean {
    const end = this.pending.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const lines = this.pending.slice(0, end).split('\r\n');
    this.pending = this.pending.slice(end + 4);
    this.status = Number(lines[0].split(' ')[1]);
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim().toLowerCase();
      if (name === 'transfer-encoding') this.chunked = value.includes('chunked');
      else if (name === 'content-length') this.remaining = Number(value);
      else if (name === 'connection') this.keepAlive = value !== 'close';
    }
    if (!this.chunked && this.remaining < 0) throw new Error('a response with neither chunked framing nor content-length');
    this.headDone = true;
    return true;
  }

  private readChunks(): void {
    while (!this.ended) {
      if (this.remaining < 0) {
        const lineEnd = this.pending.indexOf('\r\n');
        if (lineEnd < 0) return;
        this.remaining = parseInt(this.pending.slice(0, lineEnd), 16);
        if (Number.isNaN(this.remaining)) throw new Error('a malformed chunk size');
        this.pending = this.pending.slice(lineEnd + 2);
      }
      // The chunk's data and its CRLF; for the last (empty) chunk, the CRLF that ends the trailers.
      if (this.pending.length < this.remaining + 2) return;
      if (this.remaining === 0) {
        this.finish();
        return;
      }
      this.take(this.pending.slice(0, this.remaining));
      this.pending = this.pending.slice(this.remaining + 2);
      this.remaining = -1;
    }
  }

  private readFixed(): void {
    const part = this.pending.slice(0, this.remaining);
    this.pending = this.pending.slice(part.length);
    this.remaining -= part.length;
    this.take(part);
    if (this.remaining === 0) this.finish();
  }

  private take(part: string): void {
    this.body += part;
    if (this.status !== 200) return;
    let end: number;
    while ((end = this.body.indexOf('\n\n')) >= 0) {
      const event = this.body.slice(0, end);
      this.body = this.body.slice(end + 2);
      if (event.startsWith('data: ')) this.handlers.event(utf8(event.slice(6)));
    }
  }

  private finish(): void {
    this.ended = true;
    this.handlers.end(this.status, utf8(this.body));
  }
}

function utf8(latin1: string): string {
  return /[\x80-\xff]/.test(latin1) ? Buffer.from(latin1, 'latin1').toString('utf8') : latin1;
}
