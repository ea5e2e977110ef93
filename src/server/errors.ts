// Every error the API returns has OpenAI's shape {"error":{"message","type","param","code"}}, and
// every failure, from malformed JSON to a scheduler refusal, is turned into one here.
import type { FastifyError } from 'fastify';
import { ZodError } from 'zod';
import { ChatTemplateError } from '../engine/chat-template.js';
import { CancelledError, ContextLengthError, QueueFullError, RequestTimeoutError, ShuttingDownError } from '../scheduler/errors.js';

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type: string = typeForStatus(status),
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  /** A failure of the server itself, worth an error log; a 503 (loading, shutting down) is a state it reports. */
  get isServerFault(): boolean {
    return this.status === 500;
  }
}

function typeForStatus(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 503) return 'service_unavailable_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new ApiError(400, message, param, code);

/** Zod's first issue, phrased for a client, with `param` naming the field (e.g. `messages[0].content`). */
function fromZod(error: ZodError): ApiError {
  const issue = error.issues[0];
  const param = issue.path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
    '',
  );
  const where = param ? `'${param}'` : 'the request body';
  const code = issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_value';
  const missing = issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
  const detail = missing ? 'this field is required' : issue.message.replace(/^Invalid input: /, '');
  return new ApiError(400, `Invalid value for ${where}: ${detail}.`, param || null, code);
}

function fromFastify(error: FastifyError): ApiError {
  const status = error.statusCode ?? 500;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'The request body is too large.', null, 'request_too_large');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, `We could not parse the JSON body of your request: ${error.message}`, null, 'invalid_json');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'Send the request body as application/json.', null, 'unsupported_media_type');
  }
  if (error instanceof SyntaxError && status === 400) {
    return new ApiError(400, `We could not parse the JSON body of your request: ${error.message}`, null, 'invalid_json');
  }
  if (status >= 400 && status < 500) return new ApiError(status, error.message);
  return new ApiError(500, 'The server had an error while processing your request.', null, 'internal_error');
}

/** Any thrown value → the ApiError to send. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ZodError) return fromZod(error);
  if (error instanceof ContextLengthError) return new ApiError(400, error.message, error.param, 'context_length_exceeded');
  if (error instanceof QueueFullError) {
    return new ApiError(429, error.message, null, 'queue_full', 'rate_limit_error', { 'retry-after': String(error.retryAfterSeconds) });
  }
  if (error instanceof ShuttingDownError) return new ApiError(503, error.message, null, 'shutting_down');
  if (error instanceof RequestTimeoutError) return new ApiError(408, error.message, 'timeout', 'timeout', 'timeout_error');
  if (error instanceof CancelledError) return new ApiError(499, error.message, null, 'cancelled');
  if (error instanceof ChatTemplateError) return new ApiError(400, error.message, 'messages', 'chat_template_error');
  if (error && typeof error === 'object' && 'statusCode' in error) return fromFastify(error as FastifyError);
  return new ApiError(500, 'The server had an error while processing your request.', null, 'internal_error');
}
