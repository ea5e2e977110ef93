// Server-sent events in OpenAI's framing: `data: {json}\n\n` per chunk, then `data: [DONE]`.
// An error after the stream started goes out as a `data: {"error":...}` event instead.
//
// The events are written straight to the socket (the reply is hijacked) rather than through a
// Readable piped by Fastify: with one write per token, the stream machinery between the two
// (its buffers, ticks and promises) cost more main-thread time than the token's own work, and
// on a small machine that time is taken from the engine's compute threads (chunked-body.ts goes
// one layer further down for the same reason).
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CancelledError } from '../scheduler/errors.js';
import { ChunkedBody } from './chunked-body.js';
import { toApiError } from './errors.js';

/** Streams the chunks each event maps to (an event's chunks go out in one write). */
export function sendSse<E>(request: FastifyRequest, reply: FastifyReply, events: AsyncIterable<E>, toChunks: (e: E) => object[]): FastifyReply {
  reply.hijack();
  const res = reply.raw;
  const body = new ChunkedBody(res);
  // Hooks have set headers on the reply (request id, CORS): they go out with the stream's own.
  res.writeHead(200, {
    ...(reply.getHeaders() as OutgoingHttpHeaders),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  pump().catch((err: unknown) => {
    // Only a bug gets here (pump handles the stream's own errors): never an unhandled rejection.
    request.log.error({ err }, 'writing the event stream failed');
    res.destroy();
  });
  return reply;

  async function pump(): Promise<void> {
    try {
      for await (const event of events) {
        const text = toChunks(event).map(frame).join('');
        if (text && !body.write(text)) await body.drained();
        if (res.destroyed) return; // the client left: leaving the loop stops the generation
      }
      res.end('data: [DONE]\n\n');
    } catch (err) {
      if (!(err instanceof CancelledError)) {
        const apiError = toApiError(err);
        if (apiError.isServerFault) request.log.error({ err }, 'generation failed after the stream started');
        body.write(frame(apiError.body()));
      }
      res.end();
    }
  }
}

function frame(chunk: object): string {
  return `data: ${JSON.stringify(chunk)}\n\n`;
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
