import type * as vscode from 'vscode';
import { checkListener, checkOutcome, checkPermit, checkProviderId, describeThrown } from '../core/api-input';
import type { Outcome, TimedOutcome } from '../core/outcome';
import type { Admission, Permit, ProviderSnapshot, TransitionEvent } from '../core/tracker';
import type { Runtime } from './runtime';

/**
 * What `activate` returns to other extensions:
 *   const api = vscode.extensions.getExtension('llm-health.llm-provider-health')?.exports as LlmHealthApi;
 * Versioned: fields are only ever added within a version.
 */
export interface LlmHealthApi {
  readonly version: 1;
  /** Every probed provider's state now. Holds no secret. */
  snapshots(): ProviderSnapshot[];
  /** @throws TypeError when providerId is not a string of 1 to 64 characters. */
  snapshot(providerId: string): ProviderSnapshot | undefined;
  /** True while the machine's network looks down. */
  readonly offline: boolean;
  /** Fires when a provider's circuit state or status changes. */
  readonly onDidChange: vscode.Event<TransitionEvent>;
  /**
   * May a call go to this provider now? Synchronous; route elsewhere when refused.
   * @throws TypeError when providerId is not a string of 1 to 64 characters.
   */
  admit(providerId: string): Admission;
  /**
   * The extension's clock, in milliseconds (monotonic: a wall-clock step does
   * not move it). Take a reading when a call begins and give it as the
   * outcome's `startedAt` instead of `latencyMs`: the call is timed for you.
   */
  now(): number;
  /**
   * Feeds the outcome of an admitted call into the provider's window and breaker.
   * `latencyMs` is finite, 0 to 3,600,000 (or give `startedAt`, a reading of
   * now() when the call began); `retryAfterMs`, when given, finite, 0 to
   * 86,400,000; `message` is shown sanitized (no key-like strings, nor the provider's own key) and cut to 200 characters.
   * Each permit is recorded once.
   * @throws TypeError naming the field, when the permit is not one admit() returned, was recorded already, or the outcome is invalid.
   */
  record(permit: Permit, outcome: Outcome | TimedOutcome): void;
  /**
   * Gives a permit back without an outcome: the call was not made, or was
   * canceled. A half-open circuit's trial is freed at once; one neither
   * recorded nor released counts as a timeout when its time is up. Releasing
   * a permit already recorded or released does nothing.
   * @throws TypeError when the permit is not one admit() returned.
   */
  release(permit: Permit): void;
  /**
   * Feeds a call made without asking (counted only while the circuit is closed).
   * The outcome is checked as for record().
   * @throws TypeError naming the field, when providerId or the outcome is invalid.
   */
  report(providerId: string, outcome: Outcome | TimedOutcome): void;
}

export function createApi(runtime: Runtime): LlmHealthApi {
  const tracker = runtime.tracker;
  /*
   * The tracker's permit behind each one handed out. The tracker shares one
   * permit per closed generation with the probes and the gateway, so the
   * caller gets a frozen copy of its own: writing `admitted` or `generation`
   * into it cannot stop the probes or turn their outcomes stale. Only copies
   * this API handed out are taken back, each once (recorded or released); a
   * look-alike gets a clear TypeError here, not deep in the tracker.
   */
  const issued = new WeakMap<object, Permit | 'spent'>();
  const now = () => tracker.now();
  return {
    version: 1,
    now,
    snapshots: () => tracker.snapshots(),
    snapshot: (id) => tracker.snapshot(checkProviderId(id)),
    get offline() {
      return tracker.offline;
    },
    onDidChange: (listener, thisArgs?: unknown, disposables?) => {
      const call = checkListener<(event: TransitionEvent) => unknown>(listener);
      // A function of its own per subscription: disposing one twice cannot take away another that shares the listener.
      const subscription = runtime.onDidTransition((event) => {
        try {
          // A copy of its own per listener: one that writes into the event changes nothing the extension or other listeners read after it.
          call.call(thisArgs, copyOf(event));
        } catch (error) {
          // Logged by the runtime; what was thrown is another extension's text, and may be a key or not even printable.
          throw new Error(`another extension's onDidChange listener threw: ${describeThrown(error)}`);
        }
      });
      disposables?.push(subscription);
      return subscription;
    },
    admit: (id) => {
      const admission = tracker.admit(checkProviderId(id));
      if (!admission.admitted) return admission;
      const permit: Permit = Object.freeze({ admitted: true, provider: admission.provider, generation: admission.generation, halfOpen: admission.halfOpen });
      issued.set(permit, admission);
      return permit;
    },
    record: (permit, outcome) => {
      const checked = checkPermit<Permit>(
        permit,
        (p) => issued.has(p),
        (p) => issued.get(p) === 'spent',
      );
      const checkedOutcome = checkOutcome(outcome, now);
      // Spent only once the outcome passed: a caller who fixes a refused outcome records the same permit.
      const own = issued.get(checked) as Permit;
      const recorded = runtime.withoutKey(own.provider, checkedOutcome);
      issued.set(checked, 'spent');
      tracker.record(own, recorded);
      runtime.recordedOutside(own.provider, recorded);
    },
    release: (permit) => {
      if (issued.get(permit) === 'spent') return;
      const checked = checkPermit<Permit>(permit, (p) => issued.has(p), undefined, 'release()');
      const own = issued.get(checked) as Permit;
      issued.set(checked, 'spent');
      tracker.release(own);
    },
    report: (id, outcome) => {
      const provider = checkProviderId(id);
      const reported = runtime.withoutKey(provider, checkOutcome(outcome, now));
      tracker.report(provider, reported);
      runtime.recordedOutside(provider, reported);
    },
  };
}

function copyOf(event: TransitionEvent): TransitionEvent {
  return { provider: event.provider, at: event.at, from: { ...event.from }, to: { ...event.to } };
}
