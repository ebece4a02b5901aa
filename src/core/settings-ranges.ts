import { REDACTED, sanitizeMessage } from './sanitize';

/*
 * The vocabulary every settings reader shares: diagnostics and the Report
 * that collects them, numbers with ranges, sections of global settings, and
 * guards for plain values. Diagnostics name paths and never echo values,
 * since a mistyped field may hold a key.
 */

export interface Diagnostic {
  readonly path: string;
  readonly message: string;
  readonly providerId?: string;
  /** Absent means error. Only errors disable a provider; a warning is a setting that was ignored. */
  readonly severity?: 'error' | 'warning';
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.path}: ${d.message}`;
}

/**
 * As a notification or the log puts it: a provider named by its id, not only
 * by its place in the list. An entry whose id could not be used has its place
 * as id (`providers[N]`, brackets no valid id has): its path says it already.
 */
export function describeDiagnostic(d: Diagnostic): string {
  return d.providerId === undefined || d.providerId.includes('[') ? formatDiagnostic(d) : `${d.path} (provider "${d.providerId}"): ${d.message}`;
}

export class Report {
  readonly diagnostics: Diagnostic[] = [];

  error(path: string, message: string, providerId?: string): void {
    this.diagnostics.push(providerId === undefined ? { path, message, severity: 'error' } : { path, message, providerId, severity: 'error' });
  }

  warning(path: string, message: string, providerId?: string): void {
    this.diagnostics.push(providerId === undefined ? { path, message, severity: 'warning' } : { path, message, providerId, severity: 'warning' });
  }
}

/**
 * The readers check every value they touch, so this only catches what a plain
 * JSON value cannot produce (a proxy whose traps throw) from a caller that
 * builds RawSettings itself; the promise never to throw holds for those too.
 */
export function guarded<T>(report: Report, path: string, fallback: T, read: () => T): T {
  try {
    return read();
  } catch {
    report.error(path, 'could not be read; using the defaults');
    return fallback;
  }
}

// ---------------------------------------------------------------------------
// Numbers with ranges

export interface Range {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
  /** The minimum itself is not allowed (a threshold of 0 would always trip). */
  readonly aboveMin?: boolean;
}

export function inRange(value: unknown, range: Range): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (range.integer && !Number.isInteger(value)) return false;
  return (range.aboveMin ? value > range.min : value >= range.min) && value <= range.max;
}

export function rangeText(range: Range): string {
  if (range.aboveMin) return `must be a number above ${range.min} and at most ${range.max}`;
  return `must be ${range.integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}`;
}

/** A section of global settings: its own reads, with an absent or invalid field falling back. */
export class Section {
  constructor(
    private readonly values: Record<string, unknown>,
    private readonly path: string,
    private readonly report: Report,
  ) {}

  number(key: string, range: Range, fallback: number): number {
    const value = own(this.values, key);
    if (value === undefined) return fallback;
    if (inRange(value, range)) return value;
    this.report.error(`${this.path}.${key}`, rangeText(range));
    return fallback;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = own(this.values, key);
    if (value === undefined) return fallback;
    if (typeof value === 'boolean') return value;
    this.report.error(`${this.path}.${key}`, 'must be true or false');
    return fallback;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const value = own(this.values, key);
    if (value === undefined) return fallback;
    if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
    this.report.error(`${this.path}.${key}`, `must be one of ${choices.map((c) => `"${c}"`).join(', ')}`);
    return fallback;
  }

  /**
   * A value that must also respect another setting, e.g. max cooldown ≥
   * cooldown. Its default depends on that setting, so package.json declares
   * it `null` (VS Code hands every default over as if set): null is unset.
   */
  related(key: string, range: Range, fallback: number, ok: (value: number) => boolean, message: string): number {
    if (own(this.values, key) === null) return fallback;
    const value = this.number(key, range, fallback);
    if (value === fallback || ok(value)) return value;
    this.report.error(`${this.path}.${key}`, message);
    return fallback;
  }
}

export function readSection(raw: unknown, name: string, known: readonly string[], report: Report): Section {
  const path = `llmHealth.${name}`;
  if (raw === undefined) return new Section({}, path, report);
  if (!isRecord(raw)) {
    report.error(path, 'must be an object; using the defaults');
    return new Section({}, path, report);
  }
  for (const key of Object.keys(raw)) {
    if (known.includes(key)) continue;
    if (looksLikeKey(key)) report.warning(path, UNKNOWN_KEY_LIKE);
    else report.warning(`${path}${segment(key)}`, 'unknown setting, ignored');
  }
  return new Section(raw, path, report);
}

// ---------------------------------------------------------------------------
// Plain values

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Own properties only: a key named `constructor` or `__proto__` must not reach
 * the prototype. A getter that throws reads as unset.
 */
export function own(record: Record<string, unknown>, key: string): unknown {
  try {
    return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
  } catch {
    return undefined;
  }
}

/** `.name` when it reads plainly, `["odd name"]` otherwise. */
export function segment(key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** What a diagnostic says instead of a property name that may be a key pasted where a name belongs. */
export const UNKNOWN_KEY_LIKE = 'an unknown property (not shown: it looks like a key), ignored';

/** Prefixes of well-known keys and tokens (OpenAI, Groq, xAI, Hugging Face, GitHub, GitLab, Slack, AWS, Google, JWT). */
const KEY_PREFIX = /^(?:sk|pk|rk|gsk|xai|hf|gh[pousr]|github_pat|glpat|xox[abpr])[-_]|^(?:AKIA|ASIA)[A-Z0-9]{8}|^AIza|^eyJ/;

/**
 * Whether a property name may be a key typed where a name belongs: such a
 * name is never echoed in a diagnostic. Long names, names that start like a
 * known key, token-like names (16+ characters with 3+ digits) and anything
 * the log sanitizer would redact count; ordinary setting names do not.
 */
export function looksLikeKey(name: string): boolean {
  if (name.length > 40 || KEY_PREFIX.test(name)) return true;
  if (name.length >= 16 && (name.match(/\d/g)?.length ?? 0) >= 3) return true;
  return sanitizeMessage(name, 1000).includes(REDACTED);
}

/**
 * Whether a value given as an environment variable's name is rather a key:
 * the name is logged and shown, so such a value never is. Names are read
 * more leniently than property names: `AZURE_KEY_2025_PROD_1` and
 * `my_openai_key_2024_prod` are fine variables. A known key prefix counts,
 * and among names of 20+ characters with digits, a run of 16+ characters
 * between underscores that mixes letters and digits (a token, not words) or
 * letters whose case flips again and again (`aB3xQ…`, not `OpenAi`).
 */
export function looksLikeKeyNotVariable(name: string): boolean {
  if (KEY_PREFIX.test(name)) return true;
  if (name.length < 20 || !/\d/.test(name)) return false;
  if (name.split('_').some((run) => run.length >= 16 && /\d/.test(run) && /[A-Za-z]/.test(run))) return true;
  return caseFlips(name) >= 8 && (name.match(/\d/g)?.length ?? 0) >= 4;
}

/** How often the case changes between neighbouring letters. */
function caseFlips(name: string): number {
  let flips = 0;
  for (let i = 1; i < name.length; i++) {
    const a = name[i - 1]!;
    const b = name[i]!;
    if ((/[a-z]/.test(a) && /[A-Z]/.test(b)) || (/[A-Z]/.test(a) && /[a-z]/.test(b))) flips++;
  }
  return flips;
}
