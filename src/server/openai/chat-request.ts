// POST /v1/chat/completions: the request schema and the prompt it becomes.
import { z } from 'zod';
import { chatPromptTokens, type ChatMessage, type ChatTemplate } from '../../engine/chat-template.js';
import type { Tokenizer } from '../../engine/tokenizer/index.js';
import { invalidRequest } from '../errors.js';
import { samplingFields } from './sampling.js';
import { optional } from './schema-helpers.js';

const contentPart = z
  .object({ type: z.string(), text: z.string().optional() })
  .passthrough();

const message = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: optional(z.union([z.string(), z.array(contentPart)])),
    name: optional(z.string()),
  })
  .passthrough();

export const chatRequestSchema = z
  .object({
    ...samplingFields,
    messages: z.array(message).min(1),
    logprobs: optional(z.boolean()),
    top_logprobs: optional(z.number().int().min(0).max(20)),
  })
  .passthrough();

export type ChatRequest = z.infer<typeof chatRequestSchema>;

/** Text parts joined; any other kind of part is refused by name. */
function messageText(m: z.infer<typeof message>, i: number): string {
  if (m.content === undefined) return '';
  if (typeof m.content === 'string') return m.content;
  return m.content
    .map((part, j) => {
      if (part.type !== 'text' || typeof part.text !== 'string') {
        throw invalidRequest(`Content parts of type '${part.type}' are not supported by this model; send text parts.`, `messages[${i}].content[${j}].type`, 'unsupported_content');
      }
      return part.text;
    })
    .join('');
}

export function chatPrompt(body: ChatRequest, template: ChatTemplate, tokenizer: Tokenizer): number[] {
  const messages: ChatMessage[] = body.messages.map((m, i) => ({
    // Templates know "system"; OpenAI's newer "developer" role means the same.
    role: m.role === 'developer' ? 'system' : m.role,
    content: messageText(m, i),
    ...(m.name ? { name: m.name } : {}),
  }));
  return chatPromptTokens(tokenizer, template.render(messages, { addGenerationPrompt: true }));
}

/** top_logprobs without logprobs is an error in the OpenAI API. */
export function chatLogprobs(body: ChatRequest): number | undefined {
  if (body.top_logprobs !== undefined && !body.logprobs) {
    throw invalidRequest("'top_logprobs' requires 'logprobs' to be true.", 'top_logprobs', 'invalid_value');
  }
  return body.logprobs ? (body.top_logprobs ?? 0) : undefined;
}
