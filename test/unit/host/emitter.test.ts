import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Emitter } from '../../../src/host/emitter';
import type { Disposable } from '../../../src/host/emitter';

// The views, the status bar and other extensions subscribe through this emitter (vscode.Event's shape).

describe('emitter', () => {
  it('the same function subscribed twice is two subscriptions: disposing one twice leaves the other', () => {
    const emitter = new Emitter<number>();
    const heard: number[] = [];
    const listener = (n: number) => heard.push(n);
    const first = emitter.event(listener);
    emitter.event(listener);
    first.dispose();
    first.dispose();
    emitter.fire(1);
    assert.deepEqual(heard, [1], 'the second subscription still hears, once');
  });

  it('a listener disposed by another during a delivery hears nothing more of it', () => {
    const emitter = new Emitter<string>();
    const heard: string[] = [];
    const later: { subscription?: Disposable } = {};
    emitter.event(() => later.subscription?.dispose());
    later.subscription = emitter.event((e) => heard.push(e));
    emitter.fire('a');
    emitter.fire('b');
    assert.deepEqual(heard, []);
  });

  it('one that throws does not keep the others from hearing; what it threw goes to the error handler', () => {
    const errors: unknown[] = [];
    const emitter = new Emitter<number>((e) => errors.push(e));
    const heard: number[] = [];
    emitter.event(() => {
      throw new Error('boom');
    });
    emitter.event((n) => heard.push(n), undefined);
    emitter.fire(7);
    assert.deepEqual(heard, [7]);
    assert.equal((errors[0] as Error).message, 'boom');
  });

  it('thisArgs and disposables as vscode.Event takes them; nothing is heard after dispose()', () => {
    const emitter = new Emitter<number>();
    const owner = { seen: [] as number[], add(n: number) { this.seen.push(n); } };
    const disposables: Disposable[] = [];
    emitter.event(owner.add, owner, disposables);
    emitter.fire(1);
    for (const d of disposables) d.dispose();
    emitter.fire(2);
    emitter.event(owner.add, owner);
    emitter.dispose();
    emitter.fire(3);
    assert.deepEqual(owner.seen, [1]);
  });
});
