/** Slot states in `tags`: every real tag is 2 or more. */
const EMPTY = 0;
const DELETED = 1;
const MIN_CAPACITY = 16;

/**
 * Resting orders by id: an open-addressing hash table (linear probing) of the values themselves,
 * keyed by their `id`, with each id's 32-bit hash in a typed array beside them.
 *
 * Why not a `Map<string, V>`: in a book of 10k–100k orders every lookup lands on a cold part of
 * the table. A `Map` probe for an id that is not there (every new order) reads each chained
 * candidate's key string to compare it, and reaches the value through a third place. Here a probe
 * reads the packed tags, and only a full 32-bit tag match reads a value (the node the caller
 * wanted anyway) to compare its id. Measured in bench:book (decision 0006, later section).
 *
 * A value's `id` must not change while it is in the index. Deleting during `values()` is
 * allowed; adding is not.
 */
export class IdIndex<V extends { readonly id: string }> {
  private tags = new Int32Array(MIN_CAPACITY);
  private slots: (V | undefined)[] = new Array<V | undefined>(MIN_CAPACITY).fill(undefined);
  private live = 0;
  /** Live and deleted slots: what lengthens probes, kept at most half the capacity. */
  private used = 0;

  get size(): number {
    return this.live;
  }

  get(id: string): V | undefined {
    const tag = tagOf(id);
    const tags = this.tags;
    const mask = tags.length - 1;
    for (let i = tag & mask; ; i = (i + 1) & mask) {
      const t = tags[i] as number;
      if (t === EMPTY) return undefined;
      if (t === tag) {
        const v = this.slots[i] as V;
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
    const tags = this.tags;
    const mask = tags.length - 1;
    let i = tag & mask;
    // The first free slot on the probe path: a deleted one is reused, an empty one also ends it.
    while (tags[i] !== EMPTY && tags[i] !== DELETED) i = (i + 1) & mask;
    if (tags[i] === EMPTY) this.used += 1;
    tags[i] = tag;
    this.slots[i] = value;
    this.live += 1;
    if (this.used * 2 > tags.length) this.resize();
  }

  /** Removes the value with this id; returns it, or undefined when it was not there. */
  delete(id: string): V | undefined {
    const tag = tagOf(id);
    const tags = this.tags;
    const mask = tags.length - 1;
    for (let i = tag & mask; ; i = (i + 1) & mask) {
      const t = tags[i] as number;
      if (t === EMPTY) return undefined;
      if (t !== tag) continue;
      const v = this.slots[i] as V;
      if (v.id !== id) continue;
      // A tombstone, not EMPTY: a later id may have probed past this slot.
      tags[i] = DELETED;
      this.slots[i] = undefined;
      this.live -= 1;
      return v;
    }
  }

  /** Live values, in slot order (not insertion order). */
  *values(): Generator<V> {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i += 1) {
      const v = slots[i];
      if (v !== undefined) yield v;
    }
  }

  /** Rebuilt at four times the live entries: tombstones go, and a shrunk book gives memory back. */
  private resize(): void {
    let capacity = MIN_CAPACITY;
    while (capacity < this.live * 4) capacity *= 2;
    const { tags: oldTags, slots: oldSlots } = this;
    const tags = new Int32Array(capacity);
    const slots = new Array<V | undefined>(capacity).fill(undefined);
    const mask = capacity - 1;
    for (let j = 0; j < oldTags.length; j += 1) {
      const t = oldTags[j] as number;
      if (t === EMPTY || t === DELETED) continue;
      let i = t & mask;
      while (tags[i] !== EMPTY) i = (i + 1) & mask;
      tags[i] = t;
      slots[i] = oldSlots[j];
    }
    this.tags = tags;
    this.slots = slots;
    this.used = this.live;
  }
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
