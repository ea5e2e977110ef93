// A one-consumer async queue: the producer pushes values and finally ends or fails it; the
// consumer reads them with for-await. Values pushed before anyone reads are kept in order.
export class Channel<T> implements AsyncIterable<T> {
  private readonly buffered: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private failWaiting: ((error: unknown) => void) | undefined;
  private ended = false;
  private error: unknown;
  private onReturn: (() => void) | undefined;

  /** Called once when the consumer stops reading early (break, throw): the producer should stop too. */
  onConsumerGone(fn: () => void): void {
    this.onReturn = fn;
  }

  push(value: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = undefined;
      resolve({ value, done: false });
    } else {
      this.buffered.push(value);
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = this.failWaiting = undefined;
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.error = error;
    this.ended = true;
    this.failWaiting?.(error);
    this.waiting = this.failWaiting = undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.buffered.length > 0) return Promise.resolve({ value: this.buffered.shift()!, done: false });
        if (this.ended) return this.error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.error);
        return new Promise((resolve, reject) => {
          this.waiting = resolve;
          this.failWaiting = reject;
        });
      },
      return: () => {
        this.buffered.length = 0;
        const gone = this.onReturn;
        this.onReturn = undefined;
        this.ended = true;
        gone?.();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
