// Server-sent events in OpenAI's framing: `data: {json}\n\n` per chunk, then `data: [DONE]`.
// An error after the stream started goes out as a `data: {"error":...}` event instead.
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CancelledError } from '../scheduler/errors.js';
import { toApiError } from './errors.js';

/** Streams the chunks each event maps to (an event's chunks go out in one write). */
export function sendSse<E>(request: FastifyRequest, reply: FastifyReply, events: AsyncIterable<E>, toChunks: (e: E) => object[]): FastifyReply {
  async function* frames(): AsyncGenerator<string> {
    try {
      for await (const event of events) {
        const text = toChunks(event).map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('');
        if (text) yield text;
      }
      yield 'data: [DONE]\n\n';
    } catch (err) {
      if (err instanceof CancelledError) return;
      const apiError = toApiError(err);
      if (apiError.status >= 500) request.log.error({ err }, 'generation failed after the stream started');
      yield `data: ${JSON.stringify(apiError.body())}\n\n`;
    }
  }
  return reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no')
    .send(Readable.from(frames(), { objectMode: false }));
}

/** An AbortSignal that fires when the client goes away before the response is complete. */
export function abortOnDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  // The response closes when it is sent or when the connection drops; only the second means the client left.
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new CancelledError('the client disconnected'));
  });
  return controller.signal;
}
