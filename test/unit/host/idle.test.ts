import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RuntimeHarness, provider } from './runtime-harness';
import { installVscodeStub } from './vscode-stub';

/*
 * A provider probed every 10 minutes with the default 5-minute window: for
 * half of each interval its window is empty. The status bar said
 * "$(sync~spin) LLM checking" and its row spun "checking" all that time,
 * though nothing was being checked.
 */

installVscodeStub();

describe('a provider probed less often than its window is long', () => {
  it('between probes reads idle, not checking, in the status bar and its row; checking only before its first result', async () => {
    const { summarize } = await import('../../../src/host/summary');
    const { ProvidersTree } = await import('../../../src/host/tree');
    const h = new RuntimeHarness();
    h.setProviders(provider('hourly', { intervalSeconds: 600 }));
    await h.runtime.start();
    assert.match(summarize(h.runtime.views(), false).text, /checking/, 'before the first result');
    await h.advance(3_000);
    assert.equal(summarize(h.runtime.views(), false).text, '$(check) LLM 1/1');

    // The window (300 s) has emptied; the next probe is 5 minutes away.
    await h.advance(400_000);
    assert.equal(h.runtime.views()[0]!.snapshot!.status, 'unknown');
    const bar = summarize(h.runtime.views(), false).text;
    assert.doesNotMatch(bar, /checking|sync~spin/);
    assert.equal(bar, '$(check) LLM 0/1 · 1 idle');
    const tree = new ProvidersTree(h.runtime);
    const item = tree.getTreeItem(tree.getChildren()[0]!) as unknown as { description: string; iconPath: { id: string } };
    assert.equal(item.description, 'idle');
    assert.notEqual(item.iconPath.id, 'loading~spin');

    // The next probe brings it back.
    await h.advance(250_000);
    assert.equal(summarize(h.runtime.views(), false).text, '$(check) LLM 1/1');
    tree.dispose();
    await h.runtime.stop();
  });
});
