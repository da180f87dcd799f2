/** Slot states in a tag position: every real tag is 2 or more. */
const EMPTY = 0;
const DELETED = 1;
const MIN_CAPACITY = 16;

/**
 * Resting orders by id: an open-addressing hash table (linear probing) of the values themselves,
 * keyed by their `id`, each beside its id's 32-bit hash.
 *
 * Why not a `Map<string, V>`: in a book of 10k–100k orders every lookup lands on a cold part of
 * the table. A `Map` probe for an id that is not there (every new order) reads each chained
 * candidate's key string to compare it, and reaches the value through a third place. Here a probe
 * reads the tags, and only a full 32-bit tag match reads a value (the node the caller
 * wanted anyway) to compare its id. Measured in bench:book (decision 0006, later section).
 *
 * A value's `id` must not change while it is in the index. Deleting during `values()` is
 * allowed; adding is not.
 */
export class IdIndex<V extends { readonly id: string }> {
  /**
   * Slot i is `table[2i]` (its tag, a small integer) and `table[2i + 1]` (its value): a probe that
   * matches reads the value from the cache line it already has.
   */
  private table: (number | V | undefined)[] = emptyTable(MIN_CAPACITY);
  private capacity = MIN_CAPACITY;
  private live = 0;
  /** Live and deleted slots: what lengthens probes, kept at most half the capacity. */
  private used = 0;

  get size(): number {
    return this.live;
  }

  get(id: string): V | undefined {
    const tag = tagOf(id);
    const table = this.table;
    const mask = this.capacity - 1;
    for (let i = tag & mask; ; i = (i + 1) & mask) {
      const t = table[2 * i] as number;
      if (t === EMPTY) return undefined;
      if (t === tag) {
        const v = table[2 * i + 1] as V;
        if (v.id === id) return v;
      }
    }
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds `value` under its id, which must not be in the index already. */
  add(value: V): void {
    const tag = tagOf(value.id);
    const table = this.table;
    const mask = this.capacity - 1;
    let i = tag & mask;
    // The first free slot on the probe path: a deleted one is reused, an empty one also ends it.
    let t = table[2 * i] as number;
    while (t !== EMPTY && t !== DELETED) {
      i = (i + 1) & mask;
      t = table[2 * i] as number;
    }
    if (t === EMPTY) this.used += 1;
    table[2 * i] = tag;
    table[2 * i + 1] = value;
    this.live += 1;
    if (this.used * 2 > this.capacity) this.resize();
  }

  /**
   * Removes the value with this id; returns it, or undefined when it was not there. The probe is
   * `get`'s, written out again: sharing it through a helper returning the slot measured 5–9%
   * slower on bench:book's operations (21 and 31 alternating passes, 1k and 100k resting).
   */
  delete(id: string): V | undefined {
    const tag = tagOf(id);
    const table = this.table;
    const mask = this.capacity - 1;
    for (let i = tag & mask; ; i = (i + 1) & mask) {
      const t = table[2 * i] as number;
      if (t === EMPTY) return undefined;
      if (t !== tag) continue;
      const v = table[2 * i + 1] as V;
      if (v.id !== id) continue;
      // A tombstone, not EMPTY: a later id may have probed past this slot.
      table[2 * i] = DELETED;
      table[2 * i + 1] = undefined;
      this.live -= 1;
      return v;
    }
  }

  /** Live values, in slot order (not insertion order). */
  *values(): Generator<V> {
    const table = this.table;
    for (let i = 1; i < table.length; i += 2) {
      const v = table[i];
      if (v !== undefined) yield v as V;
    }
  }

  /** Rebuilt at four times the live entries: tombstones go, and a shrunk book gives memory back. */
  private resize(): void {
    let capacity = MIN_CAPACITY;
    while (capacity < this.live * 4) capacity *= 2;
    const old = this.table;
    const table = emptyTable<V>(capacity);
    const mask = capacity - 1;
    for (let j = 0; j < old.length; j += 2) {
      const t = old[j] as number;
      if (t === EMPTY || t === DELETED) continue;
      let i = t & mask;
      while (table[2 * i] !== EMPTY) i = (i + 1) & mask;
      table[2 * i] = t;
      table[2 * i + 1] = old[j + 1];
    }
    this.table = table;
    this.capacity = capacity;
    this.used = this.live;
  }
}

function emptyTable<V>(capacity: number): (number | V | undefined)[] {
  const table = new Array<number | V | undefined>(2 * capacity);
  for (let i = 0; i < table.length; i += 2) {
    table[i] = EMPTY;
    table[i + 1] = undefined;
  }
  return table;
}

/**
 * FNV-1a over the UTF-16 code units, then a final mix: the low bits pick the slot, and ids tend
 * to differ only in their last characters. Remapped off the two slot states.
 */
function tagOf(id: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < id.length; i += 1) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h === EMPTY || h === DELETED ? h + 2 : h;
}
