import type { Timers } from '../../src/core/scheduler';
import type { FakeClock } from './fake-clock';

/** Timers driven by a FakeClock: `advance` runs what falls due, in order. */
export class FakeTimers implements Timers {
  private next = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  constructor(private readonly clock: FakeClock) {}

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.clock.t + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  get count(): number {
    return this.pending.size;
  }

  /** Moves time forward by `ms`, running each timer at its time and letting promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.clock.t + ms;
    for (;;) {
      await settle();
      let first: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.pending) if (entry[1].at <= end && (!first || entry[1].at < first[1].at)) first = entry;
      if (!first) break;
      this.pending.delete(first[0]);
      this.clock.t = Math.max(this.clock.t, first[1].at);
      first[1].callback();
    }
    this.clock.t = end;
    await settle();
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
