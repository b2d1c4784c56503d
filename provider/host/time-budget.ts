/**
 * The time one command may spend waiting. Only the waits passed to
 * {@link TimeBudget.wait} spend it, so a step with its own bound (connecting,
 * say) can be left out of the count by not passing it.
 */
export class TimeBudget {
  #leftMs: number;

  /** @param totalMs the whole budget, in milliseconds */
  constructor(readonly totalMs: number) {
    this.#leftMs = totalMs;
  }

  /**
   * Waits for `promise`, spending the time it takes. When the budget runs out
   * first, rejects with the error `onExpiry` returns; `onExpiry` is also where
   * the caller releases whatever `promise` may still deliver later.
   */
  async wait<T>(promise: Promise<T>, onExpiry: () => Error): Promise<T> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onExpiry()), Math.max(0, this.#leftMs));
    });
    try {
      return await Promise.race([promise, expired]);
    } finally {
      clearTimeout(timer);
      this.#leftMs -= performance.now() - started;
    }
  }
}
