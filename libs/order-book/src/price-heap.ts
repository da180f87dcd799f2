/**
 * A binary min-heap of distinct numeric keys (prices as doubles: exact below 2^53; see Ladder). Removal is lazy: a key whose level emptied stays
 * until it reaches the top, so cancelling an order never touches the heap (O(1) cancel).
 */
export class PriceHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): number | undefined {
    return this.items[0];
  }

  push(key: number): void {
    const items = this.items;
    let i = items.length;
    items.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as number;
      if (p <= key) break;
      items[i] = p;
      i = parent;
    }
    items[i] = key;
  }

  /** Replaces the keys with `keys`, heapified in O(n) (Floyd). */
  reset(keys: Iterable<number>): void {
    const items = this.items;
    items.length = 0;
    for (const k of keys) items.push(k);
    for (let i = (items.length >> 1) - 1; i >= 0; i -= 1) siftDown(items, i, items[i] as number);
  }

  pop(): number | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    siftDown(items, 0, last);
    return top;
  }

  /**
   * Keys in ascending order, lazily: a second small heap holds the frontier of the binary heap
   * (a node's children become candidates when it is taken), so the k smallest cost O(k log k),
   * not a sort of the whole heap. The heap must not change during the walk.
   */
  *ascending(): Generator<number> {
    const items = this.items;
    if (items.length === 0) return;
    const frontier: number[] = [0];
    const key = (i: number) => items[i] as number;
    while (frontier.length > 0) {
      // Pop the frontier's smallest index (a tiny heap of indices ordered by their keys).
      const top = frontier[0] as number;
      const last = frontier.pop() as number;
      if (frontier.length > 0) {
        let i = 0;
        const n = frontier.length;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= n) break;
          const r = l + 1;
          const c = r < n && key(frontier[r] as number) < key(frontier[l] as number) ? r : l;
          if (key(frontier[c] as number) >= key(last)) break;
          frontier[i] = frontier[c] as number;
          i = c;
        }
        frontier[i] = last;
      }
      yield key(top);
      for (const child of [2 * top + 1, 2 * top + 2]) {
        if (child >= items.length) continue;
        let i = frontier.length;
        frontier.push(child);
        while (i > 0) {
          const parent = (i - 1) >> 1;
          if (key(frontier[parent] as number) <= key(child)) break;
          frontier[i] = frontier[parent] as number;
          i = parent;
        }
        frontier[i] = child;
      }
    }
  }
}

/** Puts `key` at index `i` and moves it down past smaller children until the heap holds again. */
function siftDown(items: number[], i: number, key: number): void {
  const n = items.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && (items[r] as number) < (items[l] as number) ? r : l;
    if ((items[c] as number) >= key) break;
    items[i] = items[c] as number;
    i = c;
  }
  items[i] = key;
}
