import type { Timers } from '../core/scheduler';

/** Where state is kept: ExtensionContext.workspaceState has this shape. */
export interface StateMemento {
  get(key: string): unknown;
  update(key: string, value: unknown): PromiseLike<void>;
}

/** A change is on disk at most this long after it happened. */
export const SAVE_WITHIN_MS = 1_000;

export interface StateStoreOptions {
  readonly memento: StateMemento;
  readonly key: string;
  /** The state to save, read at the moment of saving. */
  readonly state: () => unknown;
  readonly timers: Timers;
  readonly onError: (error: unknown) => void;
  readonly saveWithinMs?: number;
}

/**
 * Saves state within a second of any change and once more when flushed, so a
 * window reload finds what the views showed just before it. Changes in
 * between are saved together: however often `changed()` is called, there is
 * at most one write per second. Writes are queued, so an older state never
 * lands after a newer one.
 */
export class StateStore {
  private timer: unknown;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: StateStoreOptions) {}

  /** What was saved last, as stored: the reader validates it. */
  load(): unknown {
    return this.options.memento.get(this.options.key);
  }

  /** Something worth keeping changed: it is saved within a second. */
  changed(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = undefined;
      void this.save();
    }, this.options.saveWithinMs ?? SAVE_WITHIN_MS);
  }

  /** Saves now, and resolves once this and every earlier write is done. */
  flush(): Promise<void> {
    this.cancel();
    return this.save();
  }

  /** Saves now and stops: later changes are not saved. Resolves when written. */
  close(): Promise<void> {
    const last = this.closed ? this.writing : this.flush();
    this.closed = true;
    return last;
  }

  private save(): Promise<void> {
    if (this.closed) return this.writing;
    let value: unknown;
    try {
      value = this.options.state();
    } catch (error) {
      this.options.onError(error);
      return this.writing;
    }
    this.writing = this.writing.then(() => this.options.memento.update(this.options.key, value)).then(undefined, (error: unknown) => {
      this.options.onError(error);
    });
    return this.writing;
  }

  private cancel(): void {
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
