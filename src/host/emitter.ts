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
  private listeners: Array<(event: T) => unknown> | undefined = [];

  constructor(private readonly onListenerError: (error: unknown) => void = () => {}) {}

  readonly event: Event<T> = (listener, thisArgs, disposables) => {
    const bound = thisArgs === undefined ? listener : listener.bind(thisArgs);
    this.listeners?.push(bound);
    const subscription = {
      dispose: () => {
        const i = this.listeners?.indexOf(bound) ?? -1;
        if (i >= 0) this.listeners!.splice(i, 1);
      },
    };
    disposables?.push(subscription);
    return subscription;
  };

  fire(event: T): void {
    for (const listener of [...(this.listeners ?? [])]) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  dispose(): void {
    this.listeners = undefined;
  }
}
