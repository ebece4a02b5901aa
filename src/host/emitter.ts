/** What a subscription returns; vscode.Disposable has this shape. */
export interface Disposable {
  dispose(): void;
}

/** Subscribes to an event; the same shape as vscode.Event, so views and other extensions use it alike. */
export type Event<T> = (listener: (event: T) => unknown, thisArgs?: unknown, disposables?: Disposable[]) => Disposable;

/**
 * vscode.EventEmitter's contract without importing vscode, so the runtime
 * runs in plain Node tests. A listener that throws does not keep the others
 * from hearing the event.
 */
export class Emitter<T> implements Disposable {
  /** One entry per subscription, so the same function subscribed twice is two subscriptions, each disposed on its own. */
  private listeners: Array<{ readonly call: (event: T) => unknown; active: boolean }> | undefined = [];

  constructor(private readonly onListenerError: (error: unknown) => void = () => {}) {}

  readonly event: Event<T> = (listener, thisArgs, disposables) => {
    const entry = { call: thisArgs === undefined ? listener : listener.bind(thisArgs), active: true };
    this.listeners?.push(entry);
    const subscription = {
      dispose: () => {
        if (!entry.active) return;
        entry.active = false;
        const i = this.listeners?.indexOf(entry) ?? -1;
        if (i >= 0) this.listeners!.splice(i, 1);
      },
    };
    disposables?.push(subscription);
    return subscription;
  };

  fire(event: T): void {
    for (const entry of [...(this.listeners ?? [])]) {
      // Disposed by a listener before it in this very delivery: it hears nothing more.
      if (!entry.active) continue;
      try {
        entry.call(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  dispose(): void {
    for (const entry of this.listeners ?? []) entry.active = false;
    this.listeners = undefined;
  }
}
