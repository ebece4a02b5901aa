import type { Timers } from '../core/scheduler';

export interface DueTimerOptions {
  /** Monotonic time now, the clock `nextDueAt` is read on. */
  readonly now: () => number;
  /** When something is next due (the tracker's next time-driven transition), if anything is. */
  readonly nextDueAt: () => number | undefined;
  /** Applies what is due (tracker.poll(), which fires the transition events). */
  readonly onDue: () => void;
  readonly timers: Timers;
  readonly onError: (error: unknown) => void;
}

/** Never sooner than this: a due time that stays in the past cannot spin the host. */
const MIN_DELAY_MS = 20;
/** setTimeout's limit; a later due time is reached by re-arming. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * The host's one timer for time-driven transitions: armed at the tracker's
 * next due time, it applies what is due and re-arms. Without it, an open
 * circuit would turn half-open (and its row change) only when something else
 * happened to look. Call `arm()` after anything that may move the due time
 * earlier: a transition, a probe, a configuration, a command.
 */
export class DueTimer {
  private timer: unknown;
  private armedAt: number | undefined;
  private disposed = false;

  constructor(private readonly options: DueTimerOptions) {}

  arm(): void {
    if (this.disposed) return;
    const due = this.options.nextDueAt();
    if (due === this.armedAt) return;
    this.disarm();
    if (due === undefined) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(MIN_DELAY_MS, due - this.options.now()));
    this.armedAt = due;
    this.timer = this.options.timers.setTimeout(() => this.fire(), delay);
  }

  dispose(): void {
    this.disposed = true;
    this.disarm();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = undefined;
    try {
      this.options.onDue();
    } catch (error) {
      this.options.onError(error);
    }
    this.arm();
  }

  private disarm(): void {
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = undefined;
  }
}
