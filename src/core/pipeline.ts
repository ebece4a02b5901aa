/**
 * A serialized, latest-wins pipeline for anything that reconfigures
 * asynchronously (start-up, settings, trust and secret changes).
 *
 * - One run at a time, in the order asked for.
 * - Latest wins: asking again while a run is in flight supersedes it. The
 *   superseded run stops at its next `step` and applies nothing; requests
 *   made meanwhile are served by one new run.
 * - Every error is caught and handed to `onError`; a failed run never keeps
 *   the next one from running.
 * - After `dispose`, the run in flight stops at its next `step` and no new
 *   run starts.
 *
 * A run reaches every await through `run.step(...)`, which re-checks after
 * the await, so a late result never overwrites a newer one. The part of a
 * run after its last step is synchronous: a configuration is applied whole
 * or not at all.
 */
export interface Run {
  /** Awaits `work`, then stops this run if it was superseded or the pipeline disposed. */
  step<T>(work: T | PromiseLike<T>): Promise<T>;
  /** True once a newer run was asked for, or the pipeline disposed. */
  readonly superseded: boolean;
}

/** What `step` throws in a run that was superseded; the pipeline expects it and logs nothing. */
export class Superseded extends Error {
  constructor() {
    super('superseded by a newer run');
    this.name = 'Superseded';
  }
}

class PipelineRun implements Run {
  superseded = false;
  /** Callers waiting for a run that serves their request. */
  readonly waiters: Array<() => void> = [];

  async step<T>(work: T | PromiseLike<T>): Promise<T> {
    if (this.superseded) throw new Superseded();
    const value = await work;
    if (this.superseded) throw new Superseded();
    return value;
  }
}

export class LatestWinsPipeline {
  private running: PipelineRun | undefined;
  private queued: PipelineRun | undefined;
  private idle: Promise<void> = Promise.resolve();
  private disposed = false;

  constructor(
    private readonly body: (run: Run) => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /**
   * Asks for a run. Resolves (never rejects) once a run that started after
   * this request has finished, successfully or not, or the pipeline was disposed.
   */
  request(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    if (this.running) this.running.superseded = true;
    const run = (this.queued ??= new PipelineRun());
    const done = new Promise<void>((resolve) => run.waiters.push(resolve));
    this.next();
    return done;
  }

  /** True while a run is in flight or waiting. */
  get busy(): boolean {
    return this.running !== undefined || this.queued !== undefined;
  }

  /** Stops: the run in flight stops at its next step; resolves once it has. */
  dispose(): Promise<void> {
    // Stryker disable next-line ConditionalExpression: a second dispose finds nothing queued and the run in flight already told to stop: repeating it changes nothing
    if (!this.disposed) {
      this.disposed = true;
      if (this.running) this.running.superseded = true;
      const queued = this.queued;
      this.queued = undefined;
      for (const resolve of queued?.waiters ?? []) resolve();
    }
    return this.idle;
  }

  private next(): void {
    if (this.running || !this.queued || this.disposed) return;
    const run = this.queued;
    this.queued = undefined;
    this.running = run;
    this.idle = this.execute(run);
  }

  private async execute(run: PipelineRun): Promise<void> {
    try {
      await this.body(run);
    } catch (error) {
      if (!(error instanceof Superseded)) this.report(error);
    }
    this.running = undefined;
    // A superseded run's callers are served by the run that superseded it.
    if (run.superseded && this.queued) this.queued.waiters.push(...run.waiters);
    else for (const resolve of run.waiters) resolve();
    this.next();
  }

  private report(error: unknown): void {
    try {
      this.onError(error);
    } catch {
      // A failing logger must not stop the pipeline.
    }
  }
}
