import type * as vscode from 'vscode';
import type { Outcome } from '../core/outcome';
import { isOutcomeKind } from '../core/outcome';
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
  snapshot(providerId: string): ProviderSnapshot | undefined;
  /** True while the machine's network looks down. */
  readonly offline: boolean;
  /** Fires when a provider's circuit state or status changes. */
  readonly onDidChange: vscode.Event<TransitionEvent>;
  /** May a call go to this provider now? Synchronous; route elsewhere when refused. */
  admit(providerId: string): Admission;
  /** Feeds the outcome of an admitted call into the provider's window and breaker. */
  record(permit: Permit, outcome: Outcome): void;
  /** Feeds a call made without asking (counted only while the circuit is closed). */
  report(providerId: string, outcome: Outcome): void;
}

export function createApi(runtime: Runtime): LlmHealthApi {
  const tracker = runtime.tracker;
  return {
    version: 1,
    snapshots: () => tracker.snapshots(),
    snapshot: (id) => tracker.snapshot(id),
    get offline() {
      return tracker.offline;
    },
    onDidChange: runtime.onDidTransition,
    admit: (id) => tracker.admit(id),
    record: (permit, outcome) => tracker.record(permit, checked(outcome)),
    report: (id, outcome) => tracker.report(id, checked(outcome)),
  };
}

/** Outcomes come from other extensions: refuse what would corrupt a window, with a clear message. */
function checked(outcome: Outcome): Outcome {
  if (typeof outcome !== 'object' || outcome === null || !isOutcomeKind(outcome.kind)) {
    throw new TypeError(`LLM Health: outcome.kind must be one of success, timeout, network, tls, server, overloaded, rate_limited, auth, not_found, bad_response`);
  }
  if (typeof outcome.latencyMs !== 'number' || !(outcome.latencyMs >= 0)) {
    throw new TypeError('LLM Health: outcome.latencyMs must be a number of milliseconds ≥ 0');
  }
  return outcome;
}
