// What the scheduler refuses, as values the server turns into HTTP errors.

/** The waiting queue is full: try again later (HTTP 429). */
export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('The server is busy: too many requests are waiting. Retry later.');
  }
}

/** The prompt plus the tokens asked for do not fit the model's context (HTTP 400). */
export class ContextLengthError extends Error {
  constructor(
    readonly promptTokens: number,
    readonly requestedTokens: number,
    readonly contextSize: number,
    readonly param: string,
  ) {
    super(
      `This model's maximum context length is ${contextSize} tokens. However, you requested ` +
        `${promptTokens + requestedTokens} tokens (${promptTokens} in the messages, ${requestedTokens} in the completion). ` +
        'Please reduce the length of the messages or completion.',
    );
  }
}

/** The request was cancelled (client gone, shutdown) before it finished. */
export class CancelledError extends Error {
  constructor(reason = 'the request was cancelled') {
    super(reason);
  }
}

/** The scheduler is shutting down and takes no new work (HTTP 503). */
export class ShuttingDownError extends Error {
  constructor() {
    super('The server is shutting down and accepts no new requests.');
  }
}

/** The request carried a timeout and did not finish within it (HTTP 408). */
export class RequestTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`The request did not finish within its timeout of ${timeoutMs / 1000} s.`);
  }
}
