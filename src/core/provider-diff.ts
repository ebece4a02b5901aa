import type { ProviderDefinition } from './provider';
import { isRecord } from './settings-ranges';

/*
 * What a configuration change does to each provider's history (design.md,
 * "Settings"): a provider keeps its window, circuit and isolation unless what
 * is probed changed.
 */

export interface ProviderDiff {
  readonly added: string[];
  readonly removed: string[];
  /** What is probed, its auth or its key changed: the old history says nothing about the new target. */
  readonly reset: string[];
  /** Only presentation, timing or plain headers changed: the history stays. */
  readonly updated: string[];
  readonly unchanged: string[];
}

/**
 * Opaque identities of the providers' keys (provider id → e.g. a hash the
 * host computed; never the key), before and after. A provider whose identity
 * differs, a key added or removed included, is reset.
 */
export interface KeyIdentities {
  readonly before: ReadonlyMap<string, string>;
  readonly after: ReadonlyMap<string, string>;
}

export function diffProviders(before: readonly ProviderDefinition[], after: readonly ProviderDefinition[], keys?: KeyIdentities): ProviderDiff {
  const previous = new Map(before.map((d) => [d.id, d]));
  const current = new Set(after.map((d) => d.id));
  const diff: ProviderDiff = { added: [], removed: [], reset: [], updated: [], unchanged: [] };
  for (const definition of after) {
    const id = definition.id;
    const old = previous.get(id);
    if (old === undefined) diff.added.push(id);
    else if (canonicalJson(targetOf(old)) !== canonicalJson(targetOf(definition))) diff.reset.push(id);
    else if (keys !== undefined && keys.before.get(id) !== keys.after.get(id)) diff.reset.push(id);
    else if (canonicalJson(old) !== canonicalJson(definition)) diff.updated.push(id);
    else diff.unchanged.push(id);
  }
  for (const definition of before) if (!current.has(definition.id)) diff.removed.push(definition.id);
  return diff;
}

/**
 * What a provider's history is a history of: change any of it and the old
 * window misleads. Timing, the label and headers that carry no key (settings
 * refuse auth headers) are left out: the same endpoint answers the same way.
 * The variable named by apiKeyEnv stands for the key when the host gives no
 * key identities.
 */
function targetOf(d: ProviderDefinition): unknown {
  return { ...probedOf(d), enabled: d.enabled, valid: d.problems.length === 0 };
}

function probedOf(d: ProviderDefinition): Record<string, unknown> {
  const { method, url, expectStatus, bodyCheck, body } = d.probe;
  return { origin: d.origin, probe: { method, url, expectStatus, bodyCheck: bodyCheck ?? null, body: body ?? null }, auth: d.auth, apiKeyEnv: d.apiKeyEnv ?? null };
}

/**
 * What is probed, as one string (targetOf without whether the provider is
 * enabled and valid): saved state is kept with it, so state saved for one
 * target is never restored for another.
 */
export function probedTarget(d: ProviderDefinition): string {
  return canonicalJson(probedOf(d));
}

/** JSON with sorted keys, so two equal definitions compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isRecord(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v,
  );
}
