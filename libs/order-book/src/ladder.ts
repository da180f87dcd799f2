import { PriceHeap } from './price-heap.js';
import type { Ask } from './types.js';

/** One resting order in a price level's FIFO. */
export interface Node<T> {
  order: T;
  /** The order's id, kept here so that removing it never reads the (by then cold) order again. */
  id: string;
  /** The ladder it rests on: removal goes straight there, without a lookup by region. */
  readonly ladder: Ladder<T>;
  /** What is left of it. */
  remaining: bigint;
  /** Arrival order: the time in price-time priority. */
  seq: number;
  price: bigint;
  /** The price as the level's key (see `levelKey`). */
  key: number;
  prev: Node<T> | undefined;
  next: Node<T> | undefined;
  level: Level<T> | undefined;
}

export interface Level<T> {
  head: Node<T> | undefined;
  tail: Node<T> | undefined;
  count: number;
}

/**
 * A price as a level key: a double, exact for prices below 2^53 nano-USD ($9M per unit). Above
 * that (a bid "without limit"), every price shares the top level: time priority among them.
 * Doubles hash and compare several times faster than bigints, on the path of every order.
 */
export function levelKey(price: bigint): number {
  // One conversion, then double compares: Number() is exact below 2^53 and monotone, so any price
  // past the safe range lands at 2^53 or beyond and is clamped (cheaper than two bigint compares).
  const key = Number(price);
  return key > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : key < -Number.MAX_SAFE_INTEGER ? -Number.MAX_SAFE_INTEGER : key;
}
/** Dead heap entries tolerated beyond the live levels' count before a rebuild. */
const COMPACT_SLACK = 64;
/** Removed nodes kept for reuse, at most (a bound, so that a book that shrank gives memory back). */
const SPARE_NODES = 1_024;

/**
 * Price levels, each a FIFO linked list, with the best price on a heap. Insert is O(log levels)
 * amortised for a new price and O(1) otherwise; remove is O(1) (an empty level leaves the heap
 * lazily, or in a rebuild); the best order is O(1) amortised. `direction` 1 puts the lowest price first (asks), -1 the
 * highest (bids, stored negated on the heap).
 */
export class Ladder<T> {
  private readonly levels = new Map<number, Level<T>>();
  /**
   * The levels by price. A level that empties leaves `levels` at once and the heap when it reaches
   * the top; it is never filled again (the price's next order makes a new level), so an empty
   * level on the heap is simply a dead entry.
   */
  private readonly heap = new PriceHeap<Level<T>>();
  private live = 0;
  /**
   * Removed nodes, reused by the next inserts. A book churns (every quote replaces an offer, every
   * fill removes one) and a node lives just long enough to be copied by the young-generation
   * collector before it dies: reusing it keeps that copying off the path of every order.
   */
  private readonly spare: Node<T>[] = [];

  constructor(private readonly direction: 1 | -1) {}

  get size(): number {
    return this.live;
  }

  insert(order: T, id: string, price: bigint, quantity: bigint, seq: number): Node<T> {
    const key = levelKey(price);
    let level = this.levels.get(key);
    if (level === undefined) {
      level = { head: undefined, tail: undefined, count: 0 };
      this.levels.set(key, level);
      // Emptied levels leave the heap only when they reach its top, and a book whose prices keep
      // moving (every quote a new price) would grow it without end, and every walk past the best
      // level with it. Rebuilt from the live levels when the dead outnumber them: O(1) amortised.
      // Here, not in `remove`, because a walk may remove the order it was given, never insert.
      if (this.heap.size > 2 * this.levels.size + COMPACT_SLACK) this.heap.reset(this.liveLevels());
      else this.heap.push(this.direction === 1 ? key : -key, level);
    }
    let node = this.spare.pop();
    if (node === undefined) node = { order, id, ladder: this, remaining: quantity, seq, price, key, prev: level.tail, next: undefined, level };
    else {
      node.order = order;
      node.id = id;
      node.remaining = quantity;
      node.seq = seq;
      node.price = price;
      node.key = key;
      node.prev = level.tail;
      node.level = level;
    }
    if (level.tail === undefined) level.head = node;
    else level.tail.next = node;
    level.tail = node;
    level.count += 1;
    this.live += 1;
    return node;
  }

  remove(node: Node<T>): void {
    const level = node.level;
    if (level === undefined) return;
    if (node.prev === undefined) level.head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) level.tail = node.prev;
    else node.next.prev = node.prev;
    node.level = undefined;
    node.prev = undefined;
    node.next = undefined;
    level.count -= 1;
    this.live -= 1;
    if (this.spare.length < SPARE_NODES) this.spare.push(node);
    if (level.count === 0) this.levels.delete(node.key); // the heap forgets it when it surfaces
  }

  /** Entries on the price heap, live or not (bounded by about twice the levels). */
  get heapSize(): number {
    return this.heap.size;
  }

  private *liveLevels(): Generator<readonly [number, Level<T>]> {
    for (const [key, level] of this.levels) yield [this.direction === 1 ? key : -key, level];
  }

  /** The first order in priority, or undefined. */
  best(): Node<T> | undefined {
    for (;;) {
      const level = this.heap.peek();
      if (level === undefined) return undefined;
      if (level.head !== undefined) return level.head;
      this.heap.pop();
    }
  }

  /**
   * Orders in priority order. The order just yielded may be removed by the caller; anything else
   * must not change during the walk.
   */
  *walk(): Generator<Node<T>> {
    const first = this.best();
    if (first === undefined) return;
    const firstLevel = first.level as Level<T>;
    yield* this.walkLevel(firstLevel);
    // Past the best level (a constraint or a large order): the other levels, in order. Every
    // level is on the heap once; the dead ones (emptied, perhaps by this walk) have no head.
    for (const level of this.heap.ascending()) {
      if (level === firstLevel) continue;
      yield* this.walkLevel(level);
    }
  }

  private *walkLevel(level: Level<T>): Generator<Node<T>> {
    let node = level.head;
    while (node !== undefined) {
      const next = node.next;
      yield node;
      node = next;
    }
  }
}

export type AskNode = Node<Ask>;
