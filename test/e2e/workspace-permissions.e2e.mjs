// End-to-end: what a cloned repository may use of the user's environment and
// tokens. The workspace (trusted: code-server runs with trust disabled, as a
// user who clicked "Trust" would) defines two providers: one that names an
// environment variable holding a secret, one whose probe spends tokens. The
// extension must ask in a modal naming exactly what would happen, hold the
// provider until answered, honour each answer, remember it for the workspace,
// and let the user take it back. Run by scripts/test-e2e.mjs, in order.
import { answerDialog, assert, openHealthView, pickQuickPickItem, quickInput, runCommand, treeRow, treeRows, until, waitForDialog } from './workbench.mjs';

const VARIABLE = 'LLM_HEALTH_E2E_SECRET';
const SECRET = 'sk-e2e-secret-from-the-environment-0123';
const CHAT_BODY = '{"model":"gpt-4o-mini","max_tokens":1,"messages":[{"role":"user","content":"ping"}]}';

export const PROVIDERS = [
  { id: 'env-gateway', label: 'Env gateway', preset: 'openai', path: '/env-gateway/v1' },
  { id: 'chat-probe', label: 'Chat probe', preset: 'openai', path: '/chat-probe/v1' },
  { id: 'plain', label: 'Plain', preset: 'openai', path: '/plain/v1' },
];
const [ENV_GATEWAY, CHAT, PLAIN] = PROVIDERS;

export function prepare({ fleet }) {
  fleet.setMode(ENV_GATEWAY.id, { kind: 'require-key', header: 'authorization', value: `Bearer ${SECRET}` });
  return {
    env: { [VARIABLE]: SECRET },
    workspaceSettings: {
      'llmHealth.providers': [
        { id: ENV_GATEWAY.id, label: ENV_GATEWAY.label, preset: 'openai', baseUrl: `${fleet.url}${ENV_GATEWAY.path}`, apiKeyEnv: VARIABLE },
        {
          id: CHAT.id,
          label: CHAT.label,
          preset: 'openai',
          baseUrl: `${fleet.url}${CHAT.path}`,
          // The fleet has no chat endpoint: 404 is this probe's success. What matters is whether it is sent.
          probe: { method: 'POST', path: '/chat/completions', body: CHAT_BODY, expectStatus: [404] },
        },
        { id: PLAIN.id, label: PLAIN.label, preset: 'openai', baseUrl: `${fleet.url}${PLAIN.path}` },
      ],
      'llmHealth.probe.intervalSeconds': 5,
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'extensions.ignoreRecommendations': true,
    },
  };
}

const rowDescription = async (page, label) => (await treeRows(page)).find((r) => r.level === 1 && r.name === label)?.description ?? '';
const authorizations = (fleet, id) => fleet.requests(id).map((r) => r.headers.authorization ?? '(none)');
const posts = (fleet) => fleet.requests(CHAT.id).filter((r) => r.method === 'POST');

async function rowReads(page, label, pattern) {
  await openHealthView(page);
  return until(`the row of ${label} to read ${pattern}`, async () => {
    const d = await rowDescription(page, label);
    return { ok: pattern.test(d), seen: d };
  });
}

export const tests = [
  {
    name: 'attack: a workspace provider names an environment variable — a modal names the variable and the origin; refused, the value is never sent',
    async run({ page, fleet, screenshot }) {
      const dialog = await waitForDialog(page, 'the question about the environment variable');
      assert(dialog.message.includes(VARIABLE) && dialog.message.includes(fleet.url), `the modal names ${VARIABLE} and ${fleet.url}: ${JSON.stringify(dialog)}`);
      assert(!JSON.stringify(dialog).includes(SECRET), 'the modal never shows the value');
      assert(dialog.buttons.includes('Allow') && dialog.buttons.includes("Don't Allow"), `buttons: ${dialog.buttons}`);
      await screenshot('permission-env-modal.png');
      assert(fleet.requests(ENV_GATEWAY.id).length === 0, 'held: no probe of that provider before the answer');
      await answerDialog(page, "Don't Allow");

      // Refused: probed without the variable, so the fleet asks for a key; the fix offered is Set API Key.
      await until(`${ENV_GATEWAY.label} to be probed without the variable`, async () => ({ ok: fleet.requests(ENV_GATEWAY.id).length >= 1, seen: authorizations(fleet, ENV_GATEWAY.id) }));
      assert(authorizations(fleet, ENV_GATEWAY.id).every((a) => !a.includes(SECRET)), `the value was sent: ${authorizations(fleet, ENV_GATEWAY.id)}`);
      assert(fleet.requests(PLAIN.id).length >= 1, 'a provider that asks nothing was probed meanwhile');
      // The rows are checked once the next question (already on screen) is answered.
    },
  },
  {
    name: 'attack: a workspace probe that spends tokens — a modal names the request; allowed, it runs and its row says "spends tokens"',
    async run({ page, fleet, screenshot }) {
      const dialog = await waitForDialog(page, 'the question about the token-spending probe');
      assert(/spends tokens/.test(dialog.message) && dialog.message.includes(`POST ${fleet.url}${CHAT.path}/chat/completions`), `the modal names the request: ${JSON.stringify(dialog)}`);
      assert(posts(fleet).length === 0, 'held: no token-spending request before the answer');
      await screenshot('permission-spend-modal.png');
      await answerDialog(page, 'Allow');
      await until('the token-spending probe to run', async () => ({ ok: posts(fleet).length >= 1, seen: fleet.requests(CHAT.id).length }));
      await rowReads(page, CHAT.label, /spends tokens/);
      await rowReads(page, ENV_GATEWAY.label, /^misconfigured/);
    },
  },
  {
    name: 'the refusal is reviewed from the palette: allowed now, the variable goes to that origin and the provider is healthy',
    async run({ page, fleet }) {
      await runCommand(page, 'LLM Health: Review Workspace Permissions…');
      await pickQuickPickItem(page, ENV_GATEWAY.label);
      const dialog = await waitForDialog(page, 'the question asked again');
      assert(dialog.message.includes(VARIABLE), JSON.stringify(dialog));
      await answerDialog(page, 'Allow');
      await until(`${ENV_GATEWAY.label} to be probed with the variable`, async () => ({ ok: authorizations(fleet, ENV_GATEWAY.id).includes(`Bearer ${SECRET}`), seen: authorizations(fleet, ENV_GATEWAY.id).slice(-3) }), {
        nudge: () => runCommand(page, 'LLM Health: Probe All'),
      });
      await rowReads(page, ENV_GATEWAY.label, /^healthy/);
      assert(authorizations(fleet, PLAIN.id).every((a) => a === '(none)'), 'no other provider ever got the value');
      assert(authorizations(fleet, CHAT.id).every((a) => a === '(none)'), 'no other provider ever got the value');
    },
  },
  {
    name: 'Revoke Workspace Permissions takes the token-spending probe back: it stops, and the row says why and offers to ask again',
    async run({ page, fleet, screenshot }) {
      await runCommand(page, 'LLM Health: Revoke Workspace Permissions…');
      // A multi-select list: tick the token-spending probe, leave the variable allowed, and accept.
      const item = quickInput(page).locator('.monaco-list-row', { hasText: 'a probe that spends tokens' });
      await item.waitFor({ timeout: 10_000 });
      assert((await quickInput(page).locator('.monaco-list-row').count()) === 2, 'both allowances are listed');
      // The item's own hover can land on the click: tick until the list counts it (its row's state, not the click, is the check).
      const selected = async () => ((await quickInput(page).locator('.quick-input-count').textContent()) ?? '').trim();
      await until('the token-spending probe ticked', async () => {
        await item.locator('input[type=checkbox], .quick-input-list-checkbox, .monaco-checkbox').first().click();
        await page.waitForTimeout(150);
        const count = await selected();
        return { ok: /^1\b/.test(count), seen: count };
      }, { timeout: 10_000 });
      await page.keyboard.press('Enter');
      await quickInput(page).waitFor({ state: 'hidden', timeout: 10_000 });
      await rowReads(page, CHAT.label, /not probed/);
      const stoppedAt = posts(fleet).length;
      await new Promise((r) => setTimeout(r, 7_000)); // longer than the 5 s interval
      assert(posts(fleet).length === stoppedAt, `token-spending probes went on after the revoke: ${posts(fleet).length - stoppedAt} more`);
      const row = treeRow(page, CHAT.label);
      await row.hover();
      const review = row.locator('.actions .action-label[aria-label*="Review Workspace Permissions"]');
      await review.waitFor({ timeout: 10_000 });
      await screenshot('permission-revoked-row.png');
    },
  },
];
