/**
 * The timers usage recording runs on, injectable so tests fire them by hand instead of sleeping.
 * The real ones never keep the process alive (`unref`).
 */
export interface Timers {
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
  /** Resolves after `ms`. Keeps the process alive meanwhile (a flush at shutdown waits on it). */
  sleep(ms: number): Promise<void>;
}

export const realTimers: Timers = {
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  },
  sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  },
};

/** Timers that only fire when told to: `tick()` runs every registered callback once. */
export class ManualTimers implements Timers {
  private readonly callbacks = new Set<() => void>();
  /** Every `sleep` requested, in ms, for assertions. */
  readonly slept: number[] = [];

  every(_ms: number, fn: () => void): () => void {
    const entry = () => fn();
    this.callbacks.add(entry);
    return () => this.callbacks.delete(entry);
  }

  async sleep(ms: number): Promise<void> {
    this.slept.push(ms);
  }

  tick(): void {
    for (const fn of [...this.callbacks]) fn();
  }

  get active(): number {
    return this.callbacks.size;
  }
}
