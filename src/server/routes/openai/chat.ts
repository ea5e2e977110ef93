// POST /v1/chat/completions
import type { FastifyInstance } from 'fastify';
import { startChat } from '../../openai/chat-run.js';
import { ChatChunker, collectChat } from '../../openai/chat-response.js';
import type { ServedModels } from '../../served-models.js';
import { abortOnDisconnect, sendSse } from '../../sse.js';

export function chatRoutes(app: FastifyInstance, models: ServedModels): void {
  app.post('/v1/chat/completions', async (request, reply) => {
    const chat = startChat(models, request.body, { signal: abortOnDisconnect(reply), log: request.log, apiKey: request.apiKey });
    if (chat.body.stream) {
      const chunker = new ChatChunker(chat.meta, chat.body.stream_options?.include_usage ?? false);
      return sendSse(request, reply, chat.events, (e) => chunker.chunks(e));
    }
    return collectChat(chat.events, chat.meta, chat.n);
  });
}
