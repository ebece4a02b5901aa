import { createHash } from 'node:crypto';
import type * as vscode from 'vscode';
import { credentialFor } from '../core/provider';
import type { Credential, KeySource, ProviderDefinition } from '../core/provider';
import { SECRET_PREFIX } from './ids';
import type { ComponentLog } from './log';

interface StoredKey {
  readonly key: string;
  /** The origin the key was entered for: it is sent there and nowhere else. */
  readonly origin: string;
}

/** A provider's key as the runtime needs it: never the key by itself. */
export interface ProviderKey {
  /** The headers to probe with, bound to the one origin they may go to. */
  readonly credential: Credential | undefined;
  /** Where the key comes from, for display. */
  readonly source: KeySource;
  /**
   * Opaque and stable while the key and its origin stay the same; a new key
   * changes it, so the scheduler starts that provider afresh. A hash, never the key.
   */
  readonly identity: string;
}

const NO_KEY: ProviderKey = { credential: undefined, source: { kind: 'none' }, identity: 'none' };

/**
 * API keys in SecretStorage, each stored with the origin it was entered for.
 * A workspace that points a provider's base URL elsewhere gets no key.
 * Imports only types from vscode, so it runs in plain Node with any SecretStorage.
 */
export class Secrets {
  constructor(
    private readonly storage: Pick<vscode.SecretStorage, 'get' | 'store' | 'delete'>,
    private readonly log: ComponentLog,
    private readonly env: NodeJS.ProcessEnv = process.env,
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
   * The key to probe with: the stored one when its origin matches, else the
   * `apiKeyEnv` variable when `envAllowed` (user settings or a trusted
   * workspace). Rejects when SecretStorage does; the caller decides.
   */
  async credential(definition: ProviderDefinition, envAllowed: boolean): Promise<ProviderKey> {
    const raw = await this.storage.get(SECRET_PREFIX + definition.id);
    if (raw !== undefined) {
      const stored = parse(raw);
      if (stored && stored.origin === definition.origin) return keyed(definition, stored.key, { kind: 'secret', origin: stored.origin });
      if (stored) {
        this.log.warn(`${definition.id}: the stored key was entered for ${stored.origin}, not ${definition.origin}; it is not sent`);
      }
    }
    if (definition.apiKeyEnv) {
      if (!envAllowed) {
        this.log.warn(`${definition.id}: apiKeyEnv is ignored in Restricted Mode for a workspace-defined provider`);
        return NO_KEY;
      }
      const key = this.env[definition.apiKeyEnv];
      if (key) return keyed(definition, key, { kind: 'env', variable: definition.apiKeyEnv });
      this.log.warn(`${definition.id}: environment variable ${definition.apiKeyEnv} is not set`);
    }
    return NO_KEY;
  }
}

function keyed(definition: ProviderDefinition, key: string, source: KeySource): ProviderKey {
  const credential = credentialFor(definition, key);
  if (!credential) return NO_KEY;
  return { credential, source, identity: identityOf(definition.origin, key) };
}

/** The first 16 hex digits of sha256(origin, key): tells keys apart without revealing one. */
function identityOf(origin: string, key: string): string {
  return createHash('sha256').update(origin).update('\n').update(key).digest('hex').slice(0, 16);
}

function parse(raw: string): StoredKey | undefined {
  try {
    const value = JSON.parse(raw) as Partial<StoredKey>;
    return typeof value.key === 'string' && typeof value.origin === 'string' ? { key: value.key, origin: value.origin } : undefined;
  } catch {
    return undefined;
  }
}
