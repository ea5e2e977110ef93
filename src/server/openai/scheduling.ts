// Who a request is and how urgent it is, for the scheduler: its owner (fair sharing), its
// priority (lower runs sooner) and its timeout. With API keys, the key is the owner and sets the
// default priority; a request may ask for a later turn than its key's but not an earlier one.
// Without keys, OpenAI's `user` field names the owner.
import { z } from 'zod';
import { optional } from './schema-helpers.js';

export interface SchedulingPolicy {
  keyPriorities: Record<string, number>;
  /** 0: no server-wide timeout. */
  requestTimeoutSeconds: number;
}

export interface Scheduling {
  priority: number;
  owner: string;
  timeoutMs?: number;
}

export const schedulingFields = {
  priority: optional(z.number().int().min(-1000).max(1000)),
  /** Seconds. */
  timeout: optional(z.number().positive().max(86400)),
  user: optional(z.string()),
};

export function schedulingFor(
  body: { priority?: number; timeout?: number; user?: string },
  apiKey: string | undefined,
  policy: SchedulingPolicy,
): Scheduling {
  const keyPriority = apiKey === undefined ? 0 : (policy.keyPriorities[apiKey] ?? 0);
  const asked = body.priority ?? keyPriority;
  const timeouts = [body.timeout, policy.requestTimeoutSeconds || undefined].filter((t): t is number => t !== undefined);
  return {
    priority: apiKey === undefined ? asked : Math.max(keyPriority, asked),
    owner: apiKey !== undefined ? `key:${apiKey}` : body.user ? `user:${body.user}` : 'default',
    timeoutMs: timeouts.length > 0 ? Math.round(Math.min(...timeouts) * 1000) : undefined,
  };
}
