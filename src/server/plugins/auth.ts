// API keys: when any are configured, every route but the open ones needs
// `Authorization: Bearer KEY` or `X-Api-Key: KEY`. CORS preflights never need one.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key the request presented, once it was checked (undefined when auth is off). */
    apiKey?: string;
  }
}

const OPEN_ROUTES = new Set(['/health', '/v1/models', '/v1/models/:model']);

function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1];
  }
  const key = headers['x-api-key'];
  return typeof key === 'string' && key !== '' ? key : undefined;
}

function matches(key: string, keys: Buffer[]): boolean {
  const candidate = Buffer.from(key);
  return keys.some((k) => k.length === candidate.length && timingSafeEqual(k, candidate));
}

export function registerAuth(app: FastifyInstance, apiKeys: string[]): void {
  if (apiKeys.length === 0) return;
  const keys = apiKeys.map((k) => Buffer.from(k));
  app.decorateRequest('apiKey', undefined);
  app.addHook('onRequest', async (request) => {
    if (request.method === 'OPTIONS' || OPEN_ROUTES.has(request.routeOptions.url ?? '')) return;
    const key = presentedKey(request.headers);
    if (key === undefined) {
      throw new ApiError(401, "You didn't provide an API key. Send it as 'Authorization: Bearer KEY' or 'X-Api-Key: KEY'.", null, 'missing_api_key', 'invalid_request_error');
    }
    if (!matches(key, keys)) throw new ApiError(401, 'Incorrect API key provided.', null, 'invalid_api_key', 'invalid_request_error');
    request.apiKey = key;
  });
}
