import { BREAKS, INVISIBLE } from './markdown';

/** What stands where a key-like string was. */
export const REDACTED = '[redacted]';

/** Longer input is cut before any work, so a huge message costs no more than a long one. */
const MAX_INPUT = 16 * 1024;

/** What is dropped of one word longer than MAX_INPUT: more than a key's length, so a key cut there is gone whole. */
const CUT_WORD_TAIL = 1024;

/** `https://user:password@host`: credentials in a URL. */
const URL_USERINFO = /(\/\/)[^/\s:@]+:[^/\s@]+@/g;

/**
 * A header, query or JSON field whose name says it holds a secret, with its
 * value: `api-key: …`, `x-api-key=…`, `"access_token": "…"`, `Authorization:
 * Bearer …`, `?key=…`. The name stays, so the reader still learns what was sent.
 */
const NAMED_SECRET =
  /((?:api[-_]?key|(?:private|access|secret)[-_]?key(?:[-_]?id)?|token|secret|passw(?:or)?d|pwd|authorization|credentials?|session[-_]?id|cookie)|(?<=[?&;])(?:key|sig|signature|code))(["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|token)\s+)?[^\s&"',;{}[\]]+/gi;

/** `Bearer <token>`, `Basic <token>` on their own. */
const AUTH_SCHEME = /\b(Bearer|Basic)(\s+)([A-Za-z0-9._~+/=-]+)/gi;

/**
 * OpenAI and Anthropic keys: `sk-…`, `sk-proj-…`, `sk-ant-…`. A long one is a
 * key even glued to a word; a short one only at a word's start, so
 * `disk-partition` stays.
 */
const SK_KEY = /sk-[A-Za-z0-9_-]{17,}|\bsk-[A-Za-z0-9_-]{8,}/g;

/** Google API keys. */
const GOOGLE_KEY = /AIza[A-Za-z0-9_-]{20,}/g;

/** A JWT: three base64url parts, the first a JSON object (`eyJ`). */
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;

/** Any long run of token characters; `looksLikeToken` decides. */
const LONG_RUN = /[A-Za-z0-9_-]{32,}/g;

/**
 * Makes a message from a server or another extension fit to show and log:
 * one line with no control or invisible characters, key-like strings
 * replaced by `[redacted]`, at most `max` characters (an ellipsis marks a
 * cut). Applying it twice changes nothing more.
 */
export function sanitizeMessage(text: string, max = 200): string {
  let s = String(text);
  if (s.length > MAX_INPUT) {
    const read = s.slice(0, MAX_INPUT);
    // A key cut in half by this is no longer whole for the rules below: drop the cut word.
    s = read.replace(/\S*$/, '');
    // Unless it is all there is (a blob, text with no space in 16 kB): its start then, not nothing; its end, where a key could be cut, still goes.
    if (s.trim() === '') s = read.slice(0, MAX_INPUT - CUT_WORD_TAIL);
  }
  s = s.replace(BREAKS, ' ').replace(INVISIBLE, '').replace(/\s+/g, ' ').trim();
  // One rule's redaction can expose another's match ("sk-…-Bearer Bearer 1"): repeat until nothing changes.
  for (let i = 0; i < 4; i++) {
    const next = redact(s);
    // Stryker disable next-line ConditionalExpression: stopping early only saves work: redact changes nothing in a string it left unchanged once
    if (next === s) break;
    s = next;
  }
  return truncate(s, max);
}

/**
 * `text` with each of `values` (a key as a request carried it, with or
 * without its `Bearer`/`Basic` scheme) taken out, whatever its case, where
 * a server could have quoted it: whole, percent-encoded (a Location path that
 * does not decode stays so), split by white space or line breaks, in base64
 * or base64url (alone or inside a longer encoded string), or cut off by a
 * length limit at the end of the text. A server that has a key can quote it,
 * and a key need not look like one to `sanitizeMessage`.
 */
export function withoutValues(text: string, values: Iterable<string>): string {
  let s = text;
  for (const value of values) {
    const bare = value.replace(/^\s*(bearer|basic)\s+/i, '');
    for (const secret of bare === value ? [value] : [value, bare]) {
      if (secret.trim().length < MIN_SECRET) continue;
      s = s.replace(spelledAnyWay(secret), REDACTED);
      if (secret.length >= MIN_ENCODED_SECRET) for (const core of base64Cores(secret)) s = s.split(core).join(REDACTED);
    }
    s = withoutCutTail(s, bare.trim());
  }
  return s;
}

/** Shorter values are not taken out: they would take ordinary words with them. */
const MIN_SECRET = 4;
/** Base64 of a shorter value is a few characters that ordinary text holds by chance. */
const MIN_ENCODED_SECRET = 8;
/** What must be left of a key cut off at the end of a text for it to be taken out. */
const MIN_CUT = 6;

const UTF8 = new TextEncoder();

/** Each character as itself (any case) or percent-encoded, with white space (or `%20`) allowed between characters. */
function spelledAnyWay(secret: string): RegExp {
  const chars = [...secret].filter((c) => !/\s/.test(c));
  const pattern = chars.map((c) => `(?:${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}|${percentEncoded(c)})`).join('(?:\\s|%20)*');
  return new RegExp(pattern, 'gi');
}

/** `%HH` for each UTF-8 byte of `c` (either case of hex digit, by the caller's `i` flag). */
function percentEncoded(c: string): string {
  return [...UTF8.encode(c)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
}

/**
 * The base64 and base64url characters that encode only the secret's bytes,
 * at each of the three alignments it can have inside a longer encoded text
 * (`Basic` credentials, a JSON body echoed in base64).
 */
function base64Cores(secret: string): string[] {
  const bytes = UTF8.encode(secret);
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = btoa('\0'.repeat(offset) + String.fromCharCode(...bytes));
    // Character i holds bits 6i..6i+5: only those wholly inside the secret's bits are the secret's alone.
    const first = Math.ceil((8 * offset) / 6);
    const end = Math.floor((8 * (offset + bytes.length)) / 6);
    const core = encoded.slice(first, end);
    cores.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...new Set(cores)].filter((core) => core.length >= MIN_ENCODED_SECRET);
}

/** A text cut short in the middle of the secret ends with its beginning (and perhaps an ellipsis): that goes too. */
function withoutCutTail(text: string, secret: string): string {
  const trimmed = text.trimEnd();
  const body = trimmed.endsWith('…') ? trimmed.slice(0, -1) : trimmed.endsWith('...') ? trimmed.slice(0, -3) : trimmed;
  const lower = body.toLowerCase();
  for (let length = Math.min(secret.length - 1, body.length); length >= MIN_CUT; length--) {
    if (lower.endsWith(secret.slice(0, length).toLowerCase())) return `${body.slice(0, body.length - length)}${REDACTED}${text.slice(body.length)}`;
  }
  return text;
}

function redact(s: string): string {
  return s
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(NAMED_SECRET, `$1$2${REDACTED}`)
    .replace(AUTH_SCHEME, (whole: string, scheme: string, space: string, token: string) => (looksLikeSecret(token) ? `${scheme}${space}${REDACTED}` : whole))
    .replace(SK_KEY, REDACTED)
    .replace(GOOGLE_KEY, REDACTED)
    .replace(JWT, REDACTED)
    .replace(LONG_RUN, (run) => (looksLikeToken(run) ? REDACTED : run));
}

/** After `Bearer`/`Basic`: "Bearer token expired" is prose, "Bearer 4f9aK…" is not. */
function looksLikeSecret(word: string): boolean {
  return word.length >= 20 || /\d/.test(word) || /[._~+/=-]/.test(word) || (/[a-z]/.test(word) && /[A-Z]/.test(word.slice(1)));
}

/** A long run is a token when it has digits or mixes cases; `a_very_long_snake_case_identifier_name` is not. */
function looksLikeToken(run: string): boolean {
  return /\d/.test(run) || (/[a-z]/.test(run) && /[A-Z]/.test(run));
}

function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max < 1) return '';
  let cut = s.slice(0, max - 1);
  // Never leave half of a surrogate pair in front of the ellipsis.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}…`;
}
