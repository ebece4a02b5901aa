// Helpers that drive the VS Code workbench (code-server in Chromium) the way a
// user does: read the status bar, hover it, open the LLM Health view, run a
// command from the palette, pick from a quick pick. Every wait polls what is
// on screen until a generous deadline; nothing asserts on timing.
//
// Selectors, as checked against VS Code 1.100 (code-server 4.100.3):
// - status-bar item: `.statusbar-item[id="<publisher>.<name>.<itemId>"]`; its
//   aria-label is the item's accessibilityInformation.label, the visible text
//   is in `a.statusbar-item-label` (a `span.codicon-<icon>` then the words);
//   an error background shows as the class `error-kind`.
// - its tooltip: `.monaco-hover.workbench-hover`, Markdown tables as <table>.
// - activity bar: a role=tab whose accessible name comes from the inner
//   `a.action-label[aria-label]` (the <li> itself has an empty aria-label).
// - tree rows: `.monaco-list-row[role=treeitem]` with aria-level, aria-expanded,
//   `.label-name` and `.label-description`.
// - quick input: `.quick-input-widget`, rows `.monaco-list-row[aria-label]`.
import { setTimeout as delay } from 'node:timers/promises';

export const STATUS_ITEM_ID = 'llm-health.llm-provider-health.llmHealth.status';
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Polls `probe` (returns `{ ok, seen }`) until ok or `timeout`; throws with
 * the last thing seen. `nudge` (optional) runs every `nudgeEveryMs` while
 * waiting, e.g. to ask for a probe instead of waiting for the next interval.
 */
export async function until(what, probe, { timeout = DEFAULT_TIMEOUT_MS, nudge, nudgeEveryMs = 4000 } = {}) {
  const deadline = Date.now() + timeout;
  let lastNudge = Date.now();
  let seen;
  for (;;) {
    try {
      const r = await probe();
      seen = r.seen;
      if (r.ok) return seen;
    } catch (err) {
      seen = `(error: ${err instanceof Error ? err.message.split('\n')[0] : err})`;
    }
    if (Date.now() >= deadline) break;
    if (nudge && Date.now() - lastNudge >= nudgeEveryMs) {
      // A nudge that fails (say, the palette was slow) is no failure of its own.
      await nudge().catch((err) => (seen = { seen, nudgeFailed: err instanceof Error ? err.message.split('\n')[0] : String(err) }));
      lastNudge = Date.now();
    }
    await delay(250);
  }
  throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}; last seen: ${JSON.stringify(seen)}`);
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

// ------------------------------------------------------------------ status bar

export function statusItem(page) {
  return page.locator(`.statusbar-item[id="${STATUS_ITEM_ID}"]`);
}

/** What the status bar item shows: `{ text, icon, ariaLabel, error, warning }`. */
export async function readStatus(page) {
  return statusItem(page).evaluate((el) => {
    const label = el.querySelector('a.statusbar-item-label');
    const icon = label?.querySelector('.codicon');
    const iconName = icon ? [...icon.classList].find((c) => c.startsWith('codicon-') && c !== 'codicon-modifier-spin')?.slice('codicon-'.length) : undefined;
    return {
      text: (label?.textContent ?? '').trim(),
      icon: iconName,
      ariaLabel: el.getAttribute('aria-label'),
      error: el.classList.contains('error-kind'),
      warning: el.classList.contains('warning-kind'),
    };
  });
}

/** Waits until the item shows `text` with `icon` (and, if given, `ariaLabel`). */
export function waitForStatus(page, { text, icon, ariaLabel }, options) {
  return until(
    `the status bar item to show $(${icon}) ${text}`,
    async () => {
      const s = await readStatus(page);
      return { ok: s.text === text && s.icon === icon && (ariaLabel === undefined || s.ariaLabel === ariaLabel), seen: s };
    },
    options,
  );
}

/** Hovers the status bar item and returns the hover widget once it shows `mustContain`. */
export async function hoverStatus(page, mustContain) {
  const hover = page.locator('.monaco-hover.workbench-hover');
  await page.mouse.move(700, 300); // away first, so the hover opens afresh
  await hover.waitFor({ state: 'hidden', timeout: DEFAULT_TIMEOUT_MS }).catch(() => {});
  await statusItem(page).hover();
  await until(`the status bar tooltip to show ${mustContain.join(', ')}`, async () => {
    const visible = await hover.isVisible();
    // Table cells keep their words together with no-break spaces.
    const text = visible ? (await hover.innerText()).replace(/\u00a0/g, ' ') : '';
    return { ok: mustContain.every((t) => text.includes(t)), seen: text || '(no hover)' };
  });
  // It fades in: wait until it is opaque, or a screenshot shows the view behind it.
  await until('the tooltip to finish fading in', async () => {
    const opacity = await hover.evaluate((el) => globalThis.getComputedStyle(el).opacity);
    return { ok: opacity === '1', seen: { opacity } };
  });
  return hover;
}

/**
 * Saves a picture of an open hover and the status bar under it, with a
 * margin, then moves the mouse away so the hover closes.
 */
export async function screenshotHover(page, hover, screenshot, file) {
  const h = await hover.boundingBox();
  const viewport = page.viewportSize();
  const x = Math.max(0, h.x - 24);
  const y = Math.max(0, h.y - 24);
  await screenshot(file, { clip: { x, y, width: Math.min(viewport.width - x, h.width + 260), height: viewport.height - y } });
  await page.mouse.move(Math.round(viewport.width / 2), 300);
}

// ------------------------------------------------------------------ notifications

/** Closes notification toasts that would cover the status bar or a screenshot. */
export async function dismissNotifications(page) {
  const toasts = page.locator('.notification-toast');
  if ((await toasts.count()) === 0) return;
  await runCommand(page, 'Notifications: Clear All Notifications');
  await toasts.first().waitFor({ state: 'detached', timeout: DEFAULT_TIMEOUT_MS }).catch(() => {});
}

// ------------------------------------------------------------------ dialogs

/** The modal dialog on screen: its message, detail and buttons, once one shows. */
export async function waitForDialog(page, what, { timeout = DEFAULT_TIMEOUT_MS } = {}) {
  const box = page.locator('.monaco-dialog-box');
  return until(what, async () => {
    if (!(await box.isVisible())) return { ok: false, seen: '(no dialog)' };
    const message = ((await box.locator('.dialog-message-text').textContent()) ?? '').trim();
    const detail = ((await box.locator('.dialog-message-detail').textContent().catch(() => '')) ?? '').trim();
    const buttons = (await box.locator('.dialog-buttons .monaco-button').allInnerTexts()).map((t) => t.trim());
    return { ok: true, seen: { message, detail, buttons } };
  }, { timeout });
}

/** Presses the dialog's button with exactly this text and waits for that dialog to go (the next may follow at once). */
export async function answerDialog(page, button) {
  const box = page.locator('.monaco-dialog-box');
  const messageOf = async () => ((await box.locator('.dialog-message-text').textContent({ timeout: 1000 }).catch(() => '')) ?? '').trim();
  const before = await messageOf();
  await box.locator('.dialog-buttons .monaco-button').filter({ hasText: button }).filter({ has: page.locator(`text="${button}"`) }).first().click();
  await until(`the dialog "${before.slice(0, 60)}" to close`, async () => {
    const shown = await box.isVisible();
    const message = shown ? await messageOf() : '';
    return { ok: !shown || message !== before, seen: message };
  });
}

// ------------------------------------------------------------------ command palette

export function quickInput(page) {
  return page.locator('.quick-input-widget');
}

async function closeQuickInput(page) {
  if (await quickInput(page).isVisible()) {
    await page.keyboard.press('Escape');
    await quickInput(page).waitFor({ state: 'hidden', timeout: DEFAULT_TIMEOUT_MS });
  }
}

/**
 * Runs a command by its palette title ("Category: Title"): F1, type, then
 * choose the row with exactly that title. (Enter alone would run the first
 * row, which is not always the one typed: the palette lists matches
 * alphabetically, so "LLM Health: Reset Circuit" puts "Reset All Circuits"
 * first.)
 */
export async function runCommand(page, title) {
  await closeQuickInput(page);
  await page.keyboard.press('F1');
  const input = quickInput(page).locator('input.input');
  await input.waitFor({ state: 'visible', timeout: DEFAULT_TIMEOUT_MS });
  await page.keyboard.type(title);
  // A row's aria-label is its title, plus ", recently used" once it was run.
  // The row is found by its label when clicked, not by an index: the palette
  // re-sorts while it filters, and a stale index runs a neighbour
  // ("Reset All Circuits" for "Reset Circuit").
  const rows = quickInput(page).locator('.monaco-list-row');
  await until(`"${title}" in the command palette`, async () => {
    const labels = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    const found = labels.some((l) => l === title || l.startsWith(`${title}, `));
    return { ok: found, seen: found ? title : labels };
  });
  const quoted = JSON.stringify(title);
  const row = quickInput(page).locator(`.monaco-list-row[aria-label=${quoted}], .monaco-list-row[aria-label^=${JSON.stringify(`${title}, `)}]`).first();
  await row.click();
  // The click ran the command once the palette no longer shows its title.
  await until(`the palette to run "${title}"`, async () => {
    const open = await input.isVisible();
    const value = open ? await input.inputValue().catch(() => '') : '';
    return { ok: !open || value !== title, seen: open ? value : '(closed)' };
  });
}

/**
 * In an open quick pick: types `label`, waits for the row that starts with it
 * to be the focused one, and accepts it with Enter. `next`: the command asks
 * another question right after, so the widget stays.
 */
export async function pickQuickPickItem(page, label, { next = false } = {}) {
  const input = quickInput(page).locator('input.input');
  await until('a quick pick (not the command palette)', async () => {
    const shown = await input.isVisible();
    const state = shown ? await input.evaluate((e) => ({ value: e.value, placeholder: e.placeholder })) : undefined;
    return { ok: !!state && state.value === '' && !/name of a command/.test(state.placeholder), seen: state ?? '(hidden)' };
  });
  await page.keyboard.type(label);
  await until(`the quick pick to focus "${label}"`, async () => {
    const rows = await quickInput(page).locator('.monaco-list-row').evaluateAll((els) => els.map((e) => ({ label: e.getAttribute('aria-label'), focused: e.classList.contains('focused') })));
    const focused = rows.find((r) => r.focused);
    return { ok: !!focused?.label?.startsWith(label), seen: rows };
  });
  const titleOf = async () => ((await quickInput(page).locator('.quick-input-title').textContent().catch(() => '')) ?? '').trim();
  const title = await titleOf();
  await page.keyboard.press('Enter');
  if (!next) {
    await quickInput(page).waitFor({ state: 'hidden', timeout: DEFAULT_TIMEOUT_MS });
    return;
  }
  // The command asks its next question in the same widget: wait for the question to change.
  await until(`the next question after "${title}"`, async () => {
    const now = await titleOf();
    return { ok: now !== title, seen: now };
  });
}

// ------------------------------------------------------------------ LLM Health view

export async function openHealthView(page) {
  const tab = page.getByRole('tab', { name: 'LLM Health' });
  await tab.waitFor({ timeout: DEFAULT_TIMEOUT_MS });
  if ((await tab.getAttribute('aria-selected')) !== 'true') await tab.click();
  await page.locator('.part.sidebar [id="workbench.view.extension.llmHealth"]').waitFor({ timeout: DEFAULT_TIMEOUT_MS });
}

/** The rows of the Providers tree as shown: `{ level, name, description, ariaLabel, expanded }`. */
export async function treeRows(page) {
  return page.locator('.part.sidebar .monaco-list-row[role=treeitem]').evaluateAll((els) =>
    els.map((e) => ({
      level: Number(e.getAttribute('aria-level')),
      name: e.querySelector('.label-name')?.textContent?.trim() ?? '',
      description: e.querySelector('.label-description')?.textContent?.trim() ?? '',
      ariaLabel: e.getAttribute('aria-label'),
      expanded: e.getAttribute('aria-expanded'),
    })),
  );
}

export function treeRow(page, name) {
  return page.locator('.part.sidebar .monaco-list-row[role=treeitem][aria-level="1"]').filter({ has: page.locator('.label-name', { hasText: name }) });
}

/** Drags the sash right of the side bar so it is `width` pixels wide. */
export async function setSidebarWidth(page, width) {
  const box = await page.locator('.part.sidebar').boundingBox();
  if (!box || Math.abs(box.width - width) < 4) return;
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width, y);
  await page.mouse.down();
  await page.mouse.move(box.x + width, y, { steps: 8 });
  await page.mouse.up();
}

/** Runs `fn` with the window `height` pixels tall (the workbench re-lays out), then restores it. */
export async function withViewportHeight(page, height, fn) {
  const original = page.viewportSize();
  await page.setViewportSize({ width: original.width, height });
  try {
    await until(`the workbench to lay out at ${height} px`, async () => {
      const box = await page.locator('.part.statusbar').boundingBox();
      return { ok: !!box && Math.round(box.y + box.height) === height, seen: box };
    });
    return await fn();
  } finally {
    await page.setViewportSize(original);
  }
}
