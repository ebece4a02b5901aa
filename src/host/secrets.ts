import type * as vscode from 'vscode';
import { credentialFor } from '../core/provider';
import type { Credential, ProviderDefinition } from '../core/provider';
import { SECRET_PREFIX } from './ids';
import type { ComponentLog } from './log';

interface StoredKey {
  readonly key: string;
  /** The origin the key was entered for: it is sent there and nowhere else. */
  readonly origin: string;
}

/**
 * API keys in SecretStorage, each stored with the origin it was entered for.
 * A workspace that points a provider's base URL elsewhere gets no key.
 */
export class Secrets {
  constructor(
    private readonly storage: vscode.SecretStorage,
    private readonly log: ComponentLog,
  ) {}

  async store(definition: ProviderDefinition, key: string): Promise<void> {
    const value: StoredKey = { key, origin: definition.origin };
    await this.storage.store(SECRET_PREFIX + definition.id, JSON.stringify(value));
  }

  async clear(id: string): Promise<void> {
    await this.storage.delete(SECRET_PREFIX + id);
  }

  async has(id: string): Promise<boolean> {
    return (await this.storage.get(SECRET_PREFIX + id)) !== undefined;
  }

  /**
   * The credential to probe with: the stored key when its origin matches,
   * else the `apiKeyEnv` variable when `envAllowed` (user settings or a trusted workspace).
   */
  async credential(definition: ProviderDefinition, envAllowed: boolean): Promise<Credential | undefined> {
    const raw = await this.storage.get(SECRET_PREFIX + definition.id);
    if (raw !== undefined) {
      const stored = parse(raw);
      if (stored && stored.origin === definition.origin) return credentialFor(definition, stored.key);
      if (stored) {
        this.log.warn(`${definition.id}: the stored key was entered for ${stored.origin}, not ${definition.origin}; it is not sent`);
      }
    }
    if (definition.apiKeyEnv) {
      if (!envAllowed) {
        this.log.warn(`${definition.id}: apiKeyEnv is ignored in Restricted Mode for a workspace-defined provider`);
        return undefined;
      }
      const key = process.env[definition.apiKeyEnv];
      if (key) return credentialFor(definition, key);
      this.log.warn(`${definition.id}: environment variable ${definition.apiKeyEnv} is not set`);
    }
    return undefined;
  }
}

function parse(raw: string): StoredKey | undefined {
  try {
    const value = JSON.parse(raw) as Partial<StoredKey>;
    return typeof value.key === 'string' && typeof value.origin === 'string' ? { key: value.key, origin: value.origin } : undefined;
  } catch {
    return undefined;
  }
}
