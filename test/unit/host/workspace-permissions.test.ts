import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { permissionKey } from '../../../src/core/workspace-permissions';
import type { Decision, PermissionRequest } from '../../../src/core/workspace-permissions';
import { PERMISSIONS_KEY, WorkspacePermissions } from '../../../src/host/workspace-permissions';
import type { LabelledRequest } from '../../../src/host/workspace-permissions';
import { memoryLog } from './memory-secrets';

const ENV: PermissionRequest = { kind: 'env', variable: 'OPENAI_API_KEY', origin: 'https://gateway.example' };
const SPEND: PermissionRequest = { kind: 'spend', method: 'POST', url: 'https://gateway.example/v1/chat/completions', bodyDigest: 'abc', headersDigest: 'def', intervalMs: 60_000 };
const ask = (request: PermissionRequest): LabelledRequest => ({ request, providerLabel: 'Gateway' });

class MemoryMemento {
  readonly values = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.values.get(key) as T | undefined;
  }
  update(key: string, value: unknown): Promise<void> {
    this.values.set(key, JSON.parse(JSON.stringify(value)));
    return Promise.resolve();
  }
}

/** A user who answers from a script, one answer per question, and keeps what was asked. */
function setup(answers: (Decision | undefined)[]) {
  const memento = new MemoryMemento();
  const asked: LabelledRequest[] = [];
  let reloads = 0;
  const permissions = new WorkspacePermissions(
    memento,
    (q) => {
      asked.push(q);
      return Promise.resolve(answers.shift());
    },
    () => reloads++,
    memoryLog(),
  );
  return { memento, asked, permissions, reloads: () => reloads };
}

describe('workspace permissions: asking the user', () => {
  it('asks each request once, in turn, remembers the answer for the workspace and reloads after each', async () => {
    const { permissions, asked, reloads, memento } = setup(['allowed', 'denied']);
    await permissions.request([ask(ENV), ask(SPEND), ask(ENV)]);
    assert.deepEqual(asked.map((q) => q.request.kind), ['env', 'spend']);
    assert.equal(permissions.decisions()[permissionKey(ENV)]?.decision, 'allowed');
    assert.equal(permissions.decisions()[permissionKey(SPEND)]?.decision, 'denied');
    assert.equal(reloads(), 2);
    assert.ok(memento.values.has(PERMISSIONS_KEY), 'kept in workspace state');
    await permissions.request([ask(ENV), ask(SPEND)]);
    assert.equal(asked.length, 2, 'answered questions are not asked again');
  });

  it('a dismissed dialog is no answer: not asked again in this window, asked again from the row', async () => {
    const { permissions, asked, reloads } = setup([undefined, 'allowed']);
    await permissions.request([ask(ENV)]);
    assert.equal(permissions.decisions()[permissionKey(ENV)], undefined);
    assert.equal(reloads(), 0);
    await permissions.request([ask(ENV)]);
    assert.equal(asked.length, 1, 'not asked at every reload');
    await permissions.review([ask(ENV)]);
    assert.equal(asked.length, 2);
    assert.equal(permissions.decisions()[permissionKey(ENV)]?.decision, 'allowed');
  });

  it('a reload while the question is on screen does not ask it again (a second answer would overrule the first)', async () => {
    let answer!: (d: Decision) => void;
    const asked: string[] = [];
    const permissions = new WorkspacePermissions(
      new MemoryMemento(),
      (q) => {
        asked.push(q.request.kind);
        return new Promise((r) => (answer = r));
      },
      () => undefined,
      memoryLog(),
    );
    const first = permissions.request([ask(ENV)]);
    await new Promise((r) => setImmediate(r));
    const again = permissions.request([ask(ENV)]);
    answer('allowed');
    await Promise.all([first, again]);
    assert.deepEqual(asked, ['env']);
    assert.equal(permissions.decisions()[permissionKey(ENV)]?.decision, 'allowed');
  });

  it('reviewing forgets the old answer at once: the provider waits for the new one instead of running on the old', async () => {
    const { permissions, reloads } = setup(['allowed', undefined]);
    await permissions.request([ask(SPEND)]);
    const before = reloads();
    await permissions.review([ask(SPEND)]);
    assert.equal(permissions.decisions()[permissionKey(SPEND)], undefined, 'dismissed: no answer stored, so the probe does not run');
    assert.ok(reloads() > before, 'the settings were read again after forgetting');
  });

  it('questions arriving while one is open wait their turn: one dialog at a time', async () => {
    const memento = new MemoryMemento();
    let open = 0;
    let most = 0;
    const permissions = new WorkspacePermissions(
      memento,
      async () => {
        most = Math.max(most, ++open);
        await new Promise((r) => setTimeout(r, 5));
        open--;
        return 'allowed';
      },
      () => undefined,
      memoryLog(),
    );
    const first = permissions.request([ask(ENV)]);
    const second = permissions.request([ask(SPEND)]);
    await Promise.all([first, second]);
    assert.equal(most, 1);
    assert.equal(Object.keys(permissions.decisions()).length, 2);
  });

  it('revoking turns an allowance into a refusal, which stays after a reload', async () => {
    const { permissions, memento } = setup(['allowed', 'allowed']);
    await permissions.request([ask(ENV), ask(SPEND)]);
    assert.equal(permissions.allowed().length, 2);
    await permissions.revoke([ENV]);
    assert.deepEqual(permissions.allowed(), [SPEND]);
    const reloaded = new WorkspacePermissions(memento, () => Promise.resolve('allowed'), () => undefined, memoryLog());
    assert.equal(reloaded.decisions()[permissionKey(ENV)]?.decision, 'denied');
  });

  it('a prompt that throws is logged and asks nothing more of that request in this window', async () => {
    const log = memoryLog();
    const permissions = new WorkspacePermissions(new MemoryMemento(), () => Promise.reject(new Error('no UI')), () => undefined, log);
    await permissions.request([ask(ENV)]);
    assert.ok(log.lines.some((l) => /could not ask about sending the environment variable OPENAI_API_KEY to https:\/\/gateway\.example: no UI/.test(l)));
    assert.equal(permissions.decisions()[permissionKey(ENV)], undefined);
  });

  it('after dispose, an answer still open changes nothing', async () => {
    let answer!: (d: Decision) => void;
    let reloads = 0;
    const permissions = new WorkspacePermissions(new MemoryMemento(), () => new Promise((r) => (answer = r)), () => reloads++, memoryLog());
    const pending = permissions.request([ask(ENV), ask(SPEND)]);
    await new Promise((r) => setImmediate(r));
    permissions.dispose();
    answer('allowed');
    await pending;
    assert.equal(reloads, 0);
    assert.deepEqual(permissions.decisions(), {});
  });
});
