/** Something that falls due: the heap orders by `dueAt`, then by `order` (lower first). */
export interface DueEntry {
  readonly dueAt: number;
  /** Breaks ties between equal times: entries created earlier go first. */
  readonly order: number;
  /** Where the entry sits in the heap that holds it; kept by the heap. */
  heapIndex: number;
}

/**
 * A binary min-heap of entries by due time, which knows where each entry is,
 * so an entry whose time changed moves in O(log n) and any entry can be
 * taken out in O(log n). An entry is in at most one heap at a time.
 */
export class DueHeap<T extends DueEntry> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The entry due first, left in place. */
  peek(): T | undefined {
    return this.items[0];
  }

  has(entry: T): boolean {
    return this.items[entry.heapIndex] === entry;
  }

  push(entry: T): void {
    entry.heapIndex = this.items.length;
    this.items.push(entry);
    this.up(entry.heapIndex);
  }

  /** Takes out the entry due first. */
  pop(): T | undefined {
    const first = this.items[0];
    if (first !== undefined) this.remove(first);
    return first;
  }

  /** Takes an entry out; false when it was not here. */
  remove(entry: T): boolean {
    if (!this.has(entry)) return false;
    const i = entry.heapIndex;
    const last = this.items.pop()!;
    entry.heapIndex = -1;
    if (last !== entry) {
      this.items[i] = last;
      last.heapIndex = i;
      this.fix(i);
    }
    return true;
  }

  /** Puts an entry whose `dueAt` changed back in its place. */
  update(entry: T): void {
    if (this.has(entry)) this.fix(entry.heapIndex);
  }

  private fix(i: number): void {
    if (!this.up(i)) this.down(i);
  }

  /** Moves the entry at `i` towards the root while it is due before its parent; true if it moved. */
  private up(i: number): boolean {
    const items = this.items;
    const entry = items[i]!;
    const start = i;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!before(entry, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = parentIndex;
    }
    items[i] = entry;
    entry.heapIndex = i;
    return i !== start;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const entry = items[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && before(items[right]!, items[left]!)) child = right;
      const first = items[child]!;
      if (!before(first, entry)) break;
      items[i] = first;
      first.heapIndex = i;
      i = child;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }
}

function before(a: DueEntry, b: DueEntry): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.order < b.order);
}
