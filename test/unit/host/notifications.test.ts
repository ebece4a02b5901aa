import assert from 'node:assert/strict';
import Module from 'node:module';
import { describe, it } from 'node:test';
import type { TransitionEvent } from '../../../src/core/tracker';

/*
 * The notification a new user meets first: a provider added without a key,
 * refused with a 401. It said "the server refused its API key" when there
 * was none.
 */

const shown: string[] = [];
const vscodeStub = {
  l10n: { t: (message: string, ...args: unknown[]) => message.replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)])) },
  window: {
    showWarningMessage: (message: string) => {
      shown.push(message);
      return Promise.resolve(undefined);
    },
    showInformationMessage: (message: string) => {
      shown.push(message);
      return Promise.resolve(undefined);
    },
  },
  commands: { executeCommand: () => Promise.resolve(undefined) },
};

const load = (Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown })._load;
(Module as unknown as { _load: typeof load })._load = (request, ...rest) => (request === 'vscode' ? vscodeStub : load(request, ...rest));

const misconfigured = (provider: string) =>
  ({ provider, from: { state: 'closed', status: 'unknown' }, to: { state: 'closed', status: 'misconfigured' } }) as unknown as TransitionEvent;

describe('notifications: misconfigured', () => {
  it('a provider refused without any key is told it needs one; one whose key was refused, that its key or URL is wrong', async () => {
    const { Notifications } = await import('../../../src/host/notifications');
    const n = new Notifications({ level: () => 'open', label: (id) => id, now: () => 0, refusedWithoutKey: (id) => id === 'new' });
    n.onTransition(misconfigured('new'));
    n.onTransition(misconfigured('old'));
    assert.deepEqual(shown, [
      'new needs an API key: the server refused a call without one.',
      'old is misconfigured: the server refused its API key or does not know its URL.',
    ]);
  });
});
