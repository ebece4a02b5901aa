import type { ComponentLog } from '../../../src/host/log';

/** SecretStorage in memory; `failNext` makes the next reads reject, as a locked keychain does. */
export class MemorySecretStorage {
  readonly values = new Map<string, string>();
  private failures = 0;
  private gate: Promise<void> | undefined;
  private slow: Promise<void> | undefined;

  failNext(reads = 1): void {
    this.failures = reads;
  }

  /** Reads wait until the returned function is called, as a slow keychain does. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  /** The next read (only that one) waits for `until`: a keychain slow to answer once. */
  slowNext(until: Promise<void>): void {
    this.slow = until;
  }

  async get(key: string): Promise<string | undefined> {
    const slow = this.slow;
    this.slow = undefined;
    if (slow) await slow;
    if (this.gate) await this.gate;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('SecretStorage: the keychain is locked');
    }
    return this.values.get(key);
  }

  store(key: string, value: string): Promise<void> {
    this.values.set(key, value);
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.values.delete(key);
    return Promise.resolve();
  }
}

/** A ComponentLog that keeps its lines, for assertions. */
export function memoryLog(): ComponentLog & { readonly lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    trace: (m) => lines.push(`trace ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}
