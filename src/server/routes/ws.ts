// WebSocket /v1/ws: several chat completions multiplexed on one socket. The client sends
// {id, type:"chat.completions", body} or {id, type:"cancel"}; the server answers with the same
// chunk objects as SSE, tagged with the id, then {id, type:"done"} (or {id, type:"error"}).
// Closing the socket cancels everything it started.
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { CancelledError } from '../../scheduler/errors.js';
import { toApiError } from '../errors.js';
import { startChat } from '../openai/chat-run.js';
import { ChatChunker } from '../openai/chat-response.js';
import type { ServedModels } from '../served-models.js';

const clientMessage = z.discriminatedUnion('type', [
  z.object({ id: z.string().min(1), type: z.literal('chat.completions'), body: z.unknown() }),
  z.object({ id: z.string().min(1), type: z.literal('cancel') }),
]);

export function wsRoutes(app: FastifyInstance, models: ServedModels): void {
  app.get('/v1/ws', { websocket: true }, (socket: WebSocket, request) => {
    const running = new Map<string, AbortController>();
    const send = (message: object) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    };
    const sendError = (id: string | null, err: unknown) => {
      const apiError = toApiError(err);
      if (apiError.isServerFault) request.log.error({ err, wsId: id }, 'request failed');
      send({ id, type: 'error', error: apiError.body().error });
    };

    const run = async (id: string, body: unknown) => {
      const controller = new AbortController();
      running.set(id, controller);
      const log = request.log.child({ wsId: id });
      try {
        // Over the socket every request streams, whatever its body says.
        const streamed = body !== null && typeof body === 'object' ? { ...body, stream: true } : body;
        const chat = startChat(models, streamed, { signal: controller.signal, log, apiKey: request.apiKey });
        const chunker = new ChatChunker(chat.meta, chat.body.stream_options?.include_usage ?? false);
        for await (const event of chat.events) for (const data of chunker.chunks(event)) send({ id, type: 'chunk', data });
        send({ id, type: 'done' });
      } catch (err) {
        if (err instanceof CancelledError) send({ id, type: 'done', cancelled: true });
        else sendError(id, err);
      } finally {
        running.delete(id);
      }
    };

    socket.on('message', (raw) => {
      let json: unknown;
      try {
        json = JSON.parse(raw.toString());
      } catch (err) {
        sendError(null, new SyntaxErrorMessage(err as SyntaxError));
        return;
      }
      const result = clientMessage.safeParse(json);
      if (!result.success) {
        const id = (json as { id?: unknown } | null)?.id;
        sendError(typeof id === 'string' ? id : null, result.error);
        return;
      }
      const parsed = result.data;
      if (parsed.type === 'cancel') {
        running.get(parsed.id)?.abort(new CancelledError('cancelled by the client'));
        return;
      }
      if (running.has(parsed.id)) {
        sendError(parsed.id, new DuplicateIdError(parsed.id));
        return;
      }
      void run(parsed.id, parsed.body);
    });

    socket.on('close', () => {
      for (const controller of running.values()) controller.abort(new CancelledError('the socket closed'));
      running.clear();
    });
  });
}

class SyntaxErrorMessage extends Error {
  readonly statusCode = 400;
  constructor(err: SyntaxError) {
    super(`The message is not valid JSON: ${err.message}`);
  }
}

class DuplicateIdError extends Error {
  readonly statusCode = 400;
  constructor(id: string) {
    super(`A request with id '${id}' is already running on this socket.`);
  }
}
