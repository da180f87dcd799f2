import { PriceHeap } from './price-heap.js';
import type { Ask } from './types.js';

/** One resting order in a price level's queue. */
export interface Node<T> {
  order: T;
  /** The order's id (the book's index is keyed by it), kept here so that removal never reads the (by then cold) order. */
  id: string;
  /** The id's hash, kept here by the book's index (see `IdIndex`). */
  tag: number;
  /** The ladder it rests on: removal goes straight there, without a lookup by region. */
  readonly ladder: Ladder<T>;
  /**
   * The order's owner (an ask's provider) and the instant it stops matching, copied here with
   * `id`: a crossing order without constraints decides and records each fill from the node alone,
   * never reading the order, which in a large book is one more cold cache line per fill.
   */
  owner: string;
  until: number;
  /** What is left of it. */
  remaining: bigint;
  /** Arrival order: the time in price-time priority. */
  seq: number;
  price: bigint;
  /** The level it rests in; undefined once removed (its slot in the level's queue then holds `DEAD`). */
  level: Level<T> | undefined;
  /** Its slot in the level's queue (`items`), kept so that removal can mark the slot itself. */
  slot: number;
}

/**
 * What a removed order's slot holds: queues skip their dead slots by reading this one hot object,
 * not each removed node (in a large book, a cold cache line each), and a removed node can be reused
 * at once, since no current queue names it (decision 0006, stop 33). Its fields come in a node's
 * order, so that both share a shape and a load of `level` stays monomorphic.
 */
const DEAD: Node<never> = { order: undefined as never, id: '', tag: 0, ladder: undefined as never, owner: '', until: -Infinity, remaining: 0n, seq: 0, price: 0n, level: undefined, slot: -1 };

/**
 * A price level: its orders in time order, in the slots of an array from `head` to `tail`. A
 * removed order only marks its slot dead (the queue skips it later), so a cancel touches the node,
 * its slot and its level and never its neighbours, which in a large book are cold: a linked
 * list's unlink read two of them.
 */
export interface Level<T> {
  /**
   * The queue's slots. Those from `tail` on are unused: they may still name old nodes, never
   * read. They are few, since an array grows only at its tail and compaction (which keeps the
   * slots in use within about twice the live orders) replaces it with a new one.
   */
  items: Node<T>[];
  /** The first slot that may be live: every slot before it is dead. */
  head: number;
  /** One past the last slot in use. */
  tail: number;
  /** Live orders between `head` and `tail` (the others are dead). */
  live: number;
  /** Its price as the ladder's key (see `levelKey`). */
  readonly key: number;
  /** Whether it is on the price heap (an empty level leaves the heap when it surfaces, and stays in the map). */
  queued: boolean;
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
/** Dead heap entries tolerated beyond twice the live levels before a rebuild. */
const COMPACT_SLACK = 64;
/**
 * Dead slots tolerated in a level's queue: beyond twice its live orders, or before the head of an
 * emptied level, before the queue is compacted or reset. Small, because every insert writes at the
 * queue's tail: with 64, a book of a thousand levels kept a thousand queues of up to 64 slots,
 * mostly dead, and each insert wrote to a cold cache line of one of them. With 4, bench:book
 * measured 12–18% more operations a second at 1k and 10k resting orders (decision 0006, stop 32).
 */
const QUEUE_SLACK = 4;
/** Empty levels kept off the heap beyond four times the live ones, at most (about 100 bytes each). */
const SPARE_LEVELS = 256;
/** Removed nodes kept for reuse, at most (a bound, so that a book that shrank gives memory back). */
const SPARE_NODES = 1_024;

/**
 * Price levels, each a FIFO queue (see `Level`), with the best price on a heap. Insert is
 * O(log levels) amortised for a new price and O(1) amortised otherwise; remove is O(1) (an empty
 * level leaves the heap lazily, or in a rebuild); the best order is O(1) amortised. `direction` 1
 * puts the lowest price first (asks), -1 the highest (bids, stored negated on the heap).
 */
export class Ladder<T> {
  /**
   * The levels by price. A level that empties stays here, empty: on the heap until it reaches the
   * top, then off it. A price that comes back (in a book whose prices sit on a grid, most do)
   * finds its level ready, with no allocation, and on the heap still unless it had surfaced: at
   * the front of the book, where crossing orders empty levels and new asks undercut the best,
   * the same few prices leave the heap and come back all the time. A rebuild drops the empty
   * levels once they outnumber the live ones.
   */
  private readonly levels = new Map<number, Level<T>>();
  private readonly heap = new PriceHeap<Level<T>>();
  private live = 0;
  /** Levels with at least one live order. */
  private liveLevels = 0;
  /** Removed nodes that no queue holds any more, reused by the next inserts (see `recycle`). */
  private readonly spare: Node<T>[] = [];

  /** `name`: what the ladder holds (an ask ladder's region), for fills read from its nodes. */
  constructor(
    private readonly direction: 1 | -1,
    readonly name = '',
  ) {}

  get size(): number {
    return this.live;
  }

  insert(order: T, id: string, price: bigint, quantity: bigint, seq: number, owner = '', until = Infinity): Node<T> {
    const key = levelKey(price);
    let level = this.levels.get(key);
    if (level === undefined) {
      level = { items: [], head: 0, tail: 0, live: 0, key, queued: false };
      // A book whose prices keep moving (every quote a new price) leaves empty levels behind: every
      // walk past the best level has to pass those on the heap, and those off it only take memory.
      // Rebuilt from the live levels when the empty outnumber them (by more on the map, where
      // they cost less): O(1) amortised. Here, not in `remove`, because a walk may remove the
      // order it was given, never insert.
      if (this.heap.size > 2 * this.liveLevels + COMPACT_SLACK || this.levels.size > 4 * this.liveLevels + SPARE_LEVELS) this.rebuild();
      this.levels.set(key, level);
    }
    if (!level.queued) {
      level.queued = true;
      this.heap.push(this.direction === 1 ? key : -key, level);
    }
    if (level.live === 0) {
      this.liveLevels += 1;
      // Every slot is dead (see `vacate`), and no walk runs during an insert: the queue starts again
      // at slot 0 of the same array. Its first slots are the ones this level wrote last (likely
      // still cached), and the array keeps its size (emptying it would free its store, and the next
      // insert would allocate one elsewhere in the heap).
      level.head = 0;
      level.tail = 0;
    }
    let node = this.spare.pop();
    if (node === undefined) node = { order, id, tag: 0, ladder: this, owner, until, remaining: quantity, seq, price, level, slot: level.tail };
    else {
      node.slot = level.tail;
      node.order = order;
      node.id = id;
      node.owner = owner;
      node.until = until;
      node.remaining = quantity;
      node.seq = seq;
      node.price = price;
      node.level = level;
    }
    if (level.tail < level.items.length) level.items[level.tail] = node;
    else level.items.push(node);
    level.tail += 1;
    level.live += 1;
    this.live += 1;
    return node;
  }

  /**
   * O(1): the node's slot is marked dead, and the node kept for reuse by the next insert. So the
   * caller lets go of it first (the book takes it out of its id index before calling this).
   */
  remove(node: Node<T>): void {
    const level = node.level;
    if (level === undefined) return;
    node.level = undefined;
    level.items[node.slot] = DEAD;
    this.recycle(node);
    level.live -= 1;
    this.live -= 1;
    if (level.live === 0) this.vacate(level);
    else if (level.tail - level.head > 2 * level.live + QUEUE_SLACK) this.compact(level);
  }

  /**
   * A level's last order left: every slot is dead, and the head moves past them all (no slot
   * before the head is read again; a walk in progress over this level reads on, past dead slots
   * only). The queue restarts at slot 0 when the level is next used.
   */
  private vacate(level: Level<T>): void {
    this.liveLevels -= 1;
    level.head = level.tail;
  }

  /**
   * Drops a level's dead slots, keeping the live in order, in a new array: a walk in progress keeps
   * the array it holds (where it tells the removed by their `level`), so a removal during a walk
   * may compact too.
   */
  private compact(level: Level<T>): void {
    const items = level.items;
    const kept: Node<T>[] = [];
    for (let i = level.head; i < level.tail; i += 1) {
      const node = items[i] as Node<T>;
      if (node === DEAD) continue;
      node.slot = kept.length;
      kept.push(node);
    }
    level.items = kept;
    level.head = 0;
    level.tail = kept.length;
  }

  /**
   * A removed node (no current queue holds it) is kept for the next insert. A book churns
   * (every quote replaces an offer, every fill removes one) and a node lives just long enough to
   * be copied by the young-generation collector before it dies: reusing it keeps that copying
   * off the path of every order.
   */
  private recycle(node: Node<T>): void {
    if (this.spare.length < SPARE_NODES) this.spare.push(node);
  }

  /** Queue slots of the live levels, live or dead (bounded by about twice the orders). */
  get queueSlots(): number {
    let n = 0;
    for (const level of this.levels.values()) n += level.tail - level.head;
    return n;
  }

  /** Levels kept, live or empty, on the heap or off it (bounded by about four times the live levels). */
  get levelCount(): number {
    return this.levels.size;
  }

  /** Entries on the price heap, live or not (bounded by about twice the live levels). */
  get heapSize(): number {
    return this.heap.size;
  }

  /** The heap again, from the levels with live orders only; the empty ones are forgotten. */
  private rebuild(): void {
    const entries: [number, Level<T>][] = [];
    for (const [key, level] of this.levels) {
      if (level.live > 0) entries.push([this.direction === 1 ? key : -key, level]);
      else {
        level.queued = false;
        this.levels.delete(key);
      }
    }
    this.heap.reset(entries);
  }

  /** The first order in priority, or undefined. */
  best(): Node<T> | undefined {
    for (;;) {
      const level = this.heap.peek();
      if (level === undefined) return undefined;
      if (level.live === 0) {
        // An empty level surfaced: it leaves the heap (and stays in the map, ready for its price).
        this.heap.pop();
        level.queued = false;
        continue;
      }
      return this.first(level);
    }
  }

  /** A live level's first live order, moving its head past the dead slots. */
  private first(level: Level<T>): Node<T> {
    const items = level.items;
    let head = level.head;
    let node = items[head] as Node<T>;
    while (node === DEAD) {
      head += 1;
      node = items[head] as Node<T>;
    }
    if (head !== level.head) {
      level.head = head;
      // Slots before the head are never read again; once they are most of the array, drop them.
      if (head > QUEUE_SLACK && head * 2 > level.tail) this.compact(level);
    }
    return node;
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
    // level is on the heap once; the dead ones (emptied, perhaps by this walk) have no live order.
    for (const level of this.heap.ascending()) {
      if (level === firstLevel) continue;
      yield* this.walkLevel(level);
    }
  }

  private *walkLevel(level: Level<T>): Generator<Node<T>> {
    // A removal during the walk only marks a node dead, or compacts into a new array: this array
    // and its slots up to this tail stay put (no insert runs during a walk).
    const items = level.items;
    const tail = level.tail;
    for (let i = level.head; i < tail; i += 1) {
      const node = items[i] as Node<T>;
      if (node.level === level) yield node;
    }
  }
}

export type AskNode = Node<Ask>;
