import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DueHeap } from '../../../src/core/due-heap';

// The heap's promise that update() only touches entries it holds, at the edge `npm run mutate` found untested.

interface Entry {
  name: string;
  dueAt: number;
  order: number;
  heapIndex: number;
}

const entry = (name: string, dueAt: number, order: number): Entry => ({ name, dueAt, order, heapIndex: -1 });

describe('due heap: update', () => {
  it('ignores an entry that was taken out or never put in', () => {
    const heap = new DueHeap<Entry>();
    const [a, b, c] = [entry('a', 10, 1), entry('b', 20, 2), entry('c', 30, 3)];
    heap.push(a);
    heap.push(b);
    heap.remove(b);
    b.dueAt = 5;
    heap.update(b);
    c.dueAt = 1;
    heap.update(c);
    assert.equal(heap.size, 1);
    assert.equal(heap.peek(), a);
    assert.deepEqual([heap.has(b), heap.has(c)], [false, false]);
  });
});
