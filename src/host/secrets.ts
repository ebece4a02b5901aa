import { createHash } from 'node:crypto';
import type * as vscode from 'vscode';
import { credentialFor, keyPathOf } from '../core/provider';
import type { Credential, KeySource, ProviderDefinition } from '../core/provider';
import { SECRET_PREFIX } from './ids';
import type { ComponentLog } from './log';

interface StoredKey {
  readonly key: string;
  /** The origin the key was entered for: it is sent there and nowhere else. */
  readonly origin: string;
  /** Set when the user bound the key to the base URL's path on that origin. */
  readonly pathPrefix?: string;
}

/** A provider's key as the runtime needs it: never the key by itself. */
export interface ProviderKey {
  /** The headers to probe with, bound to the one origin (or path) they may go to. */
  readonly credential: Credential | undefined;
  /** Where the key comes from, for display. */
  readonly source: KeySource;
  /**
   * Opaque and stable while the key and its origin stay the same; a new key
   * changes it, so the scheduler starts that provider afresh. A hash, never the key.
   */
  readonly identity: string;
}

/** Where a key is bound: the provider's whole origin, or only its base URL's path there. */
export type KeyBinding = 'origin' | 'path';

const NO_KEY: ProviderKey = { credential: undefined, source: { kind: 'none' }, identity: 'none' };

/**
 * API keys in SecretStorage, one per (provider id, origin) and, when the
 * user binds it to a path, per (provider id, origin + path). A workspace
 * that reuses an id with another base URL finds no key, and a key set for
 * it is stored beside the user's, never over it.
 * Imports only types from vscode, so it runs in plain Node with any SecretStorage.
 */
export class Secrets {
  constructor(
    private readonly storage: Pick<vscode.SecretStorage, 'get' | 'store' | 'delete'>,
    private readonly log: ComponentLog,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Stores `key` for this provider's origin, or only for its base URL's path there. */
  async store(definition: ProviderDefinition, key: string, binding: KeyBinding = 'origin'): Promise<void> {
    const pathPrefix = binding === 'path' ? keyPathOf(definition) : undefined;
    const value: StoredKey = { key, origin: definition.origin, ...(pathPrefix !== undefined && { pathPrefix }) };
    await this.storage.store(slot(definition.id, definition.origin, pathPrefix), JSON.stringify(value));
  }

  /** Clears the keys this provider would use (its origin's and its path's); other origins' keys stay. */
  async clear(definition: ProviderDefinition): Promise<void> {
    const pathPrefix = keyPathOf(definition);
    if (pathPrefix !== undefined) await this.storage.delete(slot(definition.id, definition.origin, pathPrefix));
    await this.storage.delete(slot(definition.id, definition.origin));
  }

  /**
   * The key to probe with: the one stored for this provider's path, else for
   * its origin, else the `apiKeyEnv` variable when `envAllowed` (user
   * settings, or a trusted workspace the user allowed that variable for this
   * origin). Rejects when SecretStorage does; the caller decides.
   */
  async credential(definition: ProviderDefinition, envAllowed: boolean): Promise<ProviderKey> {
    const stored = await this.stored(definition);
    if (stored) {
      const source: KeySource = { kind: 'secret', origin: stored.origin, ...(stored.pathPrefix !== undefined && { pathPrefix: stored.pathPrefix }) };
      return keyed(definition, stored.key, source, stored.pathPrefix);
    }
    if (definition.apiKeyEnv) {
      if (!envAllowed) {
        this.log.warn(`${definition.id}: apiKeyEnv ${definition.apiKeyEnv} is not read for this workspace-defined provider (Restricted Mode, or not allowed for ${definition.origin})`);
        return NO_KEY;
      }
      const key = this.env[definition.apiKeyEnv];
      if (key) return keyed(definition, key, { kind: 'env', variable: definition.apiKeyEnv });
      this.log.warn(`${definition.id}: environment variable ${definition.apiKeyEnv} is not set`);
    }
    return NO_KEY;
  }

  private async stored(definition: ProviderDefinition): Promise<StoredKey | undefined> {
    const pathPrefix = keyPathOf(definition);
    if (pathPrefix !== undefined) {
      const forPath = parse(await this.storage.get(slot(definition.id, definition.origin, pathPrefix)));
      if (forPath?.origin === definition.origin && forPath.pathPrefix === pathPrefix) return forPath;
    }
    const forOrigin = parse(await this.storage.get(slot(definition.id, definition.origin)));
    if (forOrigin?.origin === definition.origin && forOrigin.pathPrefix === undefined) return forOrigin;
    return this.migrate(definition);
  }

  /**
   * Keys saved by 0.1 sit under the provider id alone, with the origin they
   * were entered for: move each to its (id, origin) slot, once, and use it
   * only if that origin is this provider's.
   */
  private async migrate(definition: ProviderDefinition): Promise<StoredKey | undefined> {
    const legacySlot = SECRET_PREFIX + definition.id;
    const raw = await this.storage.get(legacySlot);
    if (raw === undefined) return undefined;
    const legacy = parse(raw);
    if (legacy) {
      const target = slot(definition.id, legacy.origin);
      if ((await this.storage.get(target)) === undefined) await this.storage.store(target, JSON.stringify({ key: legacy.key, origin: legacy.origin }));
      this.log.info(`${definition.id}: moved the stored key to its origin ${legacy.origin}`);
    }
    await this.storage.delete(legacySlot);
    return legacy?.origin === definition.origin ? { key: legacy.key, origin: legacy.origin } : undefined;
  }
}

/** The SecretStorage name of a key: provider id, "@", origin, then the bound path if any. */
function slot(id: string, origin: string, pathPrefix?: string): string {
  return `${SECRET_PREFIX}${id}@${origin}${pathPrefix ?? ''}`;
}

function keyed(definition: ProviderDefinition, key: string, source: KeySource, pathPrefix?: string): ProviderKey {
  const credential = credentialFor(definition, key, pathPrefix);
  if (!credential) return NO_KEY;
  return { credential, source, identity: identityOf(`${definition.origin}${pathPrefix ?? ''}`, key) };
}

/** The first 16 hex digits of sha256(origin, key): tells keys apart without revealing one. */
function identityOf(origin: string, key: string): string {
  return createHash('sha256').update(origin).update('\n').update(key).digest('hex').slice(0, 16);
}

function parse(raw: string | undefined): StoredKey | undefined {
  if (raw === undefined) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<StoredKey>;
    if (typeof value.key !== 'string' || typeof value.origin !== 'string') return undefined;
    return { key: value.key, origin: value.origin, ...(typeof value.pathPrefix === 'string' && { pathPrefix: value.pathPrefix }) };
  } catch {
    return undefined;
  }
}
