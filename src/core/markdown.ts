/*
 * Strings from settings and from servers on their way to a person: one line
 * of plain text for tree rows, quick picks and notifications, and the same
 * made inert for the trusted Markdown of the status bar tooltip (design.md,
 * "Secrets and trust": every such string is escaped before it reaches
 * Markdown).
 */

/** Line breaks and tabs (CR alone makes a Markdown heading of what follows): they become spaces. */
export const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]/g;

/**
 * Other control characters, zero-width and bidirectional formatting marks:
 * invisible, or able to make a label read differently from what it holds.
 */
// eslint-disable-next-line no-control-regex
export const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff0-\ufffb]/g;

/**
 * Every ASCII punctuation character. CommonMark lets a backslash escape each
 * of them and renders it as itself, so escaping them all leaves no emphasis,
 * code, link, image, HTML, entity, table cell break, heading or `$(icon)`,
 * and (with `:`, `.` and `@` escaped) nothing a GFM autolinker links:
 * `https\://…`, `www\.…` and `a\@b\.c` are text to marked and markdown-it.
 */
const PUNCTUATION = /[!-/:-@[-`{-~]/g;

/** Input longer than this is cut before any work, so 10 MB costs no more than 64 kB. */
const MAX_INPUT = 64 * 1024;

/**
 * One line of plain text: breaks become spaces, control, zero-width and
 * bidi characters go, runs of spaces shrink to one, and at most `max`
 * characters (code points) are left, an ellipsis marking a cut.
 */
export function displayText(text: string, max: number): string {
  let s = String(text);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: cutting a string no longer than MAX_INPUT to MAX_INPUT changes nothing
  if (s.length > MAX_INPUT) s = s.slice(0, MAX_INPUT);
  s = s.replace(BREAKS, ' ').replace(INVISIBLE, '').replace(/\s+/g, ' ').trim();
  return truncate(s, max);
}

/** `displayText`, then made inert inside Markdown and a table cell. */
export function markdownText(text: string, max: number): string {
  return escapeMarkdown(displayText(text, max));
}

/**
 * Text made inert inside Markdown: one line (breaks become spaces, invisible
 * characters go) with every ASCII punctuation character backslash-escaped.
 * Does not shorten: use `markdownText` for strings from outside.
 */
export function escapeMarkdown(text: string): string {
  return String(text)
    .replace(BREAKS, ' ')
    .replace(INVISIBLE, '')
    .replace(PUNCTUATION, (c) => `\\${c}`);
}

/**
 * VS Code's theme-icon syntax, `$(name)` or `$(name~modifier)`. Quick pick
 * labels and Markdown with `supportThemeIcons` draw it as an icon, the
 * Markdown's only after rendering it, so a Markdown escape does not keep it
 * text; a backslash just before it does, and is not shown.
 */
const THEME_ICON = /\$\([A-Za-z0-9-]+(?:~[A-Za-z]+)?\)/g;

/** Text whose `$(name)` shows as typed where VS Code draws theme icons (quick pick labels, descriptions and details). */
export function themeIconText(text: string): string {
  return String(text).replace(THEME_ICON, (icon) => `\\${icon}`);
}

/**
 * `markdownText` for Markdown that draws theme icons (the status bar
 * tooltip): a label or message holding `$(error)` reads `$(error)`, not an
 * icon that passes for one of ours.
 */
export function iconMarkdownText(text: string, max: number): string {
  return escapeMarkdown(themeIconText(displayText(text, max)));
}

/**
 * One line of text for a notification's message. VS Code makes a link of
 * `[text](https://…)`, `[text](command:…)` or `[text](file:…)` anywhere in
 * a notification, and runs a command link's command with its arguments on a
 * click, whatever extension wrote it. A space between `]` and `(` leaves
 * the text as typed, one space apart, and no link.
 */
export function notificationText(text: string, max: number): string {
  return displayText(text, max).replace(/\](?=\()/g, '] ');
}

/** At most `max` code points, an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a fast path: for text no longer than max the code-point count below returns it whole as well
  if (text.length <= max) return text;
  // Stryker disable next-line MethodExpression: the slice only bounds the work: 2·max + 2 UTF-16 units hold max + 1 code points whenever the text has them
  const chars = [...text.slice(0, 2 * max + 2)];
  if (chars.length <= max) return text;
  return max < 1 ? '' : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}
