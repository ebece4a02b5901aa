import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DueHeap } from '../../../src/core/due-heap';

interface Entry {
  name: string;
  dueAt: number;
  order: number;
  heapIndex: number;
}

const entry = (name: string, dueAt: number, order: number): Entry => ({ name, dueAt, order, heapIndex: -1 });

function drain(heap: DueHeap<Entry>): string[] {
  const names: string[] = [];
  for (let e = heap.pop(); e !== undefined; e = heap.pop()) names.push(e.name);
  return names;
}

describe('due heap', () => {
  it('gives the entry due first, and the older one of two due at the same time', () => {
    const heap = new DueHeap<Entry>();
    for (const e of [entry('c', 30, 1), entry('a', 10, 4), entry('b2', 20, 3), entry('b1', 20, 2)]) heap.push(e);
    assert.equal(heap.size, 4);
    assert.equal(heap.peek()?.name, 'a');
    assert.deepEqual(drain(heap), ['a', 'b1', 'b2', 'c']);
    assert.equal(heap.size, 0);
    assert.equal(heap.pop(), undefined);
  });

  it('moves an entry whose time changed, either way, and takes any entry out', () => {
    const heap = new DueHeap<Entry>();
    const [a, b, c, d] = [entry('a', 10, 1), entry('b', 20, 2), entry('c', 30, 3), entry('d', 40, 4)];
    for (const e of [a, b, c, d]) heap.push(e);
    d.dueAt = 5;
    heap.update(d);
    a.dueAt = 35;
    heap.update(a);
    assert.equal(heap.remove(b), true);
    assert.equal(heap.remove(b), false, 'not here any more');
    assert.equal(heap.has(b), false);
    assert.equal(b.heapIndex, -1);
    assert.deepEqual(drain(heap), ['d', 'c', 'a']);
  });

  it('knows which heap holds an entry', () => {
    const first = new DueHeap<Entry>();
    const second = new DueHeap<Entry>();
    const [a, b] = [entry('a', 1, 1), entry('b', 2, 2)];
    first.push(a);
    second.push(b);
    assert.deepEqual([first.has(a), first.has(b), second.has(a), second.has(b)], [true, false, false, true]);
    first.update(b); // not its heap: nothing happens
    assert.equal(first.peek(), a);
  });

  it('orders like a sort by (time, order) through any pushes, updates, removals and pops', () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant('push' as const), dueAt: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ op: fc.constant('update' as const), pick: fc.nat(), dueAt: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('pop' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const heap = new DueHeap<Entry>();
        let model: Entry[] = [];
        let created = 0;
        const sorted = () => [...model].sort((x, y) => x.dueAt - y.dueAt || x.order - y.order);
        for (const o of ops) {
          if (o.op === 'push') {
            const e = entry(`e${created}`, o.dueAt, created++);
            heap.push(e);
            model.push(e);
          } else if (o.op === 'update' && model.length > 0) {
            const e = model[o.pick % model.length]!;
            e.dueAt = o.dueAt;
            heap.update(e);
          } else if (o.op === 'remove' && model.length > 0) {
            const e = model[o.pick % model.length]!;
            assert.equal(heap.remove(e), true);
            model = model.filter((m) => m !== e);
          } else if (o.op === 'pop') {
            const expected = sorted()[0];
            assert.equal(heap.pop(), expected);
            model = model.filter((m) => m !== expected);
          }
          assert.equal(heap.size, model.length);
          assert.equal(heap.peek(), sorted()[0]);
          for (const e of model) assert.ok(heap.has(e));
        }
        assert.deepEqual(drain(heap), sorted().map((e) => e.name));
      }),
      { numRuns: 500 },
    );
  });
});
