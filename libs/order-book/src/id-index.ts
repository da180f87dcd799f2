/** An empty slot's tag: every real tag is 1 or more. */
const EMPTY = 0;
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
 * A delete shifts the rest of its run back (no tombstones), so probes stay as short as the load
 * allows however the book churns, and the table is rebuilt only when the book grows or shrinks
 * by a factor, never to sweep tombstones.
 *
 * A value's `id` must not change while it is in the index. The index keeps each value's tag on
 * the value itself, so that `remove` finds a value it is given without reading its id string
 * (cold by then: a fill removes an order that arrived long before).
 */
export class IdIndex<V extends { readonly id: string; tag: number }> {
  /**
   * Slot i is `table[2i]` (its tag, a small integer) and `table[2i + 1]` (its value, or EMPTY): a
   * probe that matches reads the value from the cache line it already has.
   */
  private table: (number | V)[] = emptyTable(MIN_CAPACITY);
  private capacity = MIN_CAPACITY;
  private live = 0;
  /** The last id looked up and its tag: an upsert looks its id up, then adds it. */
  private lastId = '';
  private lastTag = tagOf('');

  get size(): number {
    return this.live;
  }

  get(id: string): V | undefined {
    const tag = tagOf(id);
    this.lastId = id;
    this.lastTag = tag;
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
    const id = value.id;
    const tag = id === this.lastId ? this.lastTag : tagOf(id);
    const table = this.table;
    const mask = this.capacity - 1;
    let i = tag & mask;
    while ((table[2 * i] as number) !== EMPTY) i = (i + 1) & mask;
    table[2 * i] = tag;
    table[2 * i + 1] = value;
    value.tag = tag;
    this.live += 1;
    if (this.live * 2 > this.capacity) this.resize();
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
      this.removeAt(i, mask);
      return v;
    }
  }

  /**
   * Removes `value`, found by its tag and its identity. It must be in the index: a value that is
   * not is a bug in the caller, reported rather than searched for by id.
   */
  remove(value: V): void {
    const table = this.table;
    const mask = this.capacity - 1;
    let i = value.tag & mask;
    while (table[2 * i + 1] !== value) {
      if ((table[2 * i] as number) === EMPTY) throw new Error(`IdIndex.remove: ${value.id} is not in the index`);
      i = (i + 1) & mask;
    }
    this.removeAt(i, mask);
  }

  private removeAt(slot: number, mask: number): void {
    this.live -= 1;
    this.close(slot, mask);
    if (this.live * 16 < this.capacity && this.capacity > MIN_CAPACITY) this.resize();
  }

  /**
   * Empties slot `hole` and keeps every later entry of its run reachable: an entry moves back into
   * the hole unless its home slot lies cyclically after the hole (up to where it stands), since a
   * probe from its home would then never pass the hole.
   */
  private close(hole: number, mask: number): void {
    const table = this.table;
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const t = table[2 * j] as number;
      if (t === EMPTY) break;
      const home = t & mask;
      if (hole <= j ? hole < home && home <= j : hole < home || home <= j) continue;
      table[2 * hole] = t;
      table[2 * hole + 1] = table[2 * j + 1] as V;
      hole = j;
    }
    table[2 * hole] = EMPTY;
    table[2 * hole + 1] = EMPTY;
  }

  /** The live values, in slot order (not insertion order): a copy, so the caller may delete as it goes. */
  values(): V[] {
    const out: V[] = [];
    const table = this.table;
    for (let i = 0; i < table.length; i += 2) if ((table[i] as number) !== EMPTY) out.push(table[i + 1] as V);
    return out;
  }

  /** Rebuilt at four times the live entries: when it fills to half, or (giving memory back) empties to a sixteenth. */
  private resize(): void {
    let capacity = MIN_CAPACITY;
    while (capacity < this.live * 4) capacity *= 2;
    const old = this.table;
    const table = emptyTable<V>(capacity);
    const mask = capacity - 1;
    for (let j = 0; j < old.length; j += 2) {
      const t = old[j] as number;
      if (t === EMPTY) continue;
      let i = t & mask;
      while (table[2 * i] !== EMPTY) i = (i + 1) & mask;
      table[2 * i] = t;
      table[2 * i + 1] = old[j + 1] as V;
    }
    this.table = table;
    this.capacity = capacity;
  }
}

/** Every slot EMPTY, tag and value alike: one `fill`, and one elements kind from the start. */
function emptyTable<V>(capacity: number): (number | V)[] {
  return new Array<number | V>(2 * capacity).fill(EMPTY);
}

/**
 * FNV-1a over the UTF-16 code units, then a final mix: the low bits pick the slot, and ids tend
 * to differ only in their last characters. Remapped off the empty slot's tag.
 */
function tagOf(id: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < id.length; i += 1) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h === EMPTY ? 1 : h;
}
