import { randomBytes } from 'node:crypto';

export const SYSTEM_FINGERPRINT = 'fp_omni';

/** `chatcmpl-…` / `cmpl-…` ids like OpenAI's. */
export function responseId(prefix: 'chatcmpl' | 'cmpl'): string {
  return `${prefix}-${randomBytes(12).toString('base64url')}`;
}

export const unixSeconds = () => Math.floor(Date.now() / 1000);
