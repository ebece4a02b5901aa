import assert from 'node:assert/strict';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import { credentialFor } from '../../../src/core/provider';
import type { PresetId, ProviderDefinition } from '../../../src/core/provider';
import { parseSettings } from '../../../src/core/settings';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import type { ProviderStatus } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import type { Prober, ProbeReport } from '../../../src/net/prober';
import { FakeClock, fixedRandom } from '../fake-clock';

/*
 * A provider probed as the extension probes it, read as its user reads it:
 * the suites that stand up servers answering as real services do
 * (real-services, other-servers) share this.
 */

/** The provider as the settings parser makes it from what the user wrote; the settings must accept it. */
export function providerAs(id: string, preset: PresetId, baseUrl: string, probe?: Record<string, unknown>): ProviderDefinition {
  const parsed = parseSettings({ providers: [{ id, preset, baseUrl, ...(probe && { probe }) }] });
  assert.deepEqual(parsed.diagnostics, []);
  return parsed.providers[0]!;
}

export interface Seen {
  readonly report: Exclude<ProbeReport, { kind: 'canceled' }>;
  readonly status: ProviderStatus;
  readonly lastError: string | undefined;
  readonly rateLimitedUntil: number | undefined;
  readonly clock: FakeClock;
  readonly tracker: HealthTracker;
  /** Probes again `times` times, a minute apart, and says what the user reads then. */
  again(times?: number): Promise<Seen>;
}

/**
 * Probes `definition` with `key` (none when empty) `times` times, a minute
 * apart on the tracker's clock, recording each result as the scheduler does;
 * what the user reads after the last. The tracker opens at 3 calls.
 */
export async function probedAsUser(prober: Prober, definition: ProviderDefinition, key: string, times = 3): Promise<Seen> {
  const clock = new FakeClock();
  const tracker = new HealthTracker({
    clock,
    wall: () => clock.now(),
    random: fixedRandom(0),
    defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 3 }, status: DEFAULT_STATUS_OPTIONS },
  });
  tracker.add('p');
  const credential = credentialFor(definition, key);
  const run = async (n: number): Promise<Seen> => {
    let report: ProbeReport | undefined;
    for (let i = 0; i < n; i++) {
      clock.advance(60_000);
      report = await prober.probe({ spec: definition.probe, ...(credential && { credential }), timeoutMs: 3_000 });
      assert.notEqual(report.kind, 'canceled');
      const admission = tracker.admit('p');
      if (admission.admitted && report.kind !== 'canceled') tracker.record(admission, report);
    }
    assert.ok(report && report.kind !== 'canceled');
    const snapshot = tracker.snapshot('p')!;
    return { report, status: snapshot.status, lastError: snapshot.lastError?.message, rateLimitedUntil: snapshot.rateLimitedUntil, clock, tracker, again: (more = 1) => run(more) };
  };
  return run(times);
}
