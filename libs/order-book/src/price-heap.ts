/**
 * A binary min-heap of numeric keys (prices as doubles: exact below 2^53; see Ladder), each with
 * a value: the ladder keeps its price levels themselves here, so that finding the best level is
 * a read of the top, not a map lookup by its key. Keys and values sit in two parallel arrays: a
 * sift compares plain doubles and never reads a value. Removal is lazy: a level that emptied
 * stays until it reaches the top, so cancelling an order never touches the heap (O(1) cancel).
 */
export class PriceHeap<V> {
  private readonly keys: number[] = [];
  private readonly values: V[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** The value with the smallest key. */
  peek(): V | undefined {
    return this.values[0];
  }

  push(key: number, value: V): void {
    const keys = this.keys;
    const values = this.values;
    let i = keys.length;
    keys.push(key);
    values.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = keys[parent] as number;
      if (p <= key) break;
      keys[i] = p;
      values[i] = values[parent] as V;
      i = parent;
    }
    keys[i] = key;
    values[i] = value;
  }

  /** Replaces the entries with `entries`, heapified in O(n) (Floyd). */
  reset(entries: Iterable<readonly [number, V]>): void {
    const keys = this.keys;
    const values = this.values;
    keys.length = 0;
    values.length = 0;
    for (const [k, v] of entries) {
      keys.push(k);
      values.push(v);
    }
    for (let i = (keys.length >> 1) - 1; i >= 0; i -= 1) siftDown(keys, values, i, keys[i] as number, values[i] as V);
  }

  /** Takes the value with the smallest key off the heap. */
  pop(): V | undefined {
    const keys = this.keys;
    const values = this.values;
    const top = values[0];
    const lastKey = keys.pop();
    const lastValue = values.pop() as V;
    if (keys.length === 0 || lastKey === undefined) return top;
    siftDown(keys, values, 0, lastKey, lastValue);
    return top;
  }

  /**
   * Values in ascending order of their keys, lazily: a second small heap holds the frontier of the binary heap
   * (a node's children become candidates when it is taken), so the k smallest cost O(k log k),
   * not a sort of the whole heap. The heap must not change during the walk.
   */
  *ascending(): Generator<V> {
    const items = this.keys;
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
      yield this.values[top] as V;
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

/** Puts `key` and its value at index `i` and moves them down past smaller children until the heap holds again. */
function siftDown<V>(keys: number[], values: V[], i: number, key: number, value: V): void {
  const n = keys.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && (keys[r] as number) < (keys[l] as number) ? r : l;
    if ((keys[c] as number) >= key) break;
    keys[i] = keys[c] as number;
    values[i] = values[c] as V;
    i = c;
  }
  keys[i] = key;
  values[i] = value;
}
