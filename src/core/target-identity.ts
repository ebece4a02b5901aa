import type { KeySource, ProviderDefinition } from './provider';

/**
 * What makes two windows' providers the same probe target (design.md,
 * "Several windows"): what is probed — method, URL, the non-secret headers,
 * the body, what counts as success — and where the key comes from: its
 * SecretStorage entry (which all windows of a machine share) or the name of
 * its environment variable. Never the key itself, nor anything derived from
 * it. The provider's id and label do not count, except that a stored key's
 * entry is named after the id.
 *
 * The host hashes this string; only the hash travels between windows.
 */
export function targetIdentity(definition: ProviderDefinition, key: KeySource): string {
  const { probe } = definition;
  const headers = Object.keys(probe.headers)
    .map((name) => [name.toLowerCase(), probe.headers[name]!] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([
    probe.method,
    probe.url,
    headers,
    probe.body ?? null,
    [...probe.expectStatus].sort((a, b) => a - b),
    probe.bodyCheck ?? null,
    definition.auth,
    keyIdentity(definition, key),
  ]);
}

function keyIdentity(definition: ProviderDefinition, key: KeySource): string {
  switch (key.kind) {
    case 'secret':
      return `secret:${definition.id}@${key.origin}${key.pathPrefix ?? ''}`;
    case 'env':
      return `env:${key.variable}`;
    case 'none':
      return 'none';
  }
}
