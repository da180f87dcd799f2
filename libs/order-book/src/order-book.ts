import { IdIndex } from './id-index.js';
import { Ladder, type Node } from './ladder.js';
import type { Ask, Bid, Constraints, Fill, MatchResult } from './types.js';

/** Whether constraints leave every ask eligible that has not expired (most jobs'). */
function unconstrained(c: Constraints): boolean {
  return c.regions === undefined && c.excludeRegions === undefined && c.providers === undefined && c.excludeProviders === undefined && c.dataPolicies === undefined && c.interruptible !== false;
}

/** Whether an ask may serve a bid: region, provider and attribute constraints, and validity. */
export function eligible(ask: Ask, c: Constraints, now: number): boolean {
  if (ask.validUntil <= now) return false;
  if (c.regions !== undefined && !c.regions.includes(ask.region)) return false;
  if (c.excludeRegions?.includes(ask.region) === true) return false;
  if (c.providers !== undefined && !c.providers.includes(ask.providerId)) return false;
  if (c.excludeProviders?.includes(ask.providerId) === true) return false;
  if (c.dataPolicies !== undefined && !c.dataPolicies.includes(ask.attributes.dataPolicy)) return false;
  if (c.interruptible === false && ask.attributes.interruptible) return false;
  return true;
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** What most operations return: no fills, without allocating an array for it. */
const NO_FILLS: readonly Fill[] = Object.freeze([]);

/**
 * One instrument's book. Asks (offers) rest per region by price then time; bids (jobs) that
 * could not fill rest by limit (highest first) then time, and are matched again whenever an ask
 * arrives or improves. Pay-as-ask; never above a bid's limit; all-or-none unless the bid allows
 * splitting. Deterministic: the same calls in the same order give the same fills.
 */
export class OrderBook {
  private readonly regions = new Map<string, Ladder<Ask>>();
  private readonly asks = new IdIndex<Node<Ask>>();
  private readonly bids = new Ladder<Bid>(-1);
  private readonly restingBids = new IdIndex<Node<Bid>>();
  private seq = 0;
  /**
   * What the last `match` left unfilled. Returned beside the fills rather than summed from them:
   * every bigint subtraction allocates, and a crossing order's fills are its hot path.
   */
  private unfilled = 0n;
  /** Region names in order, kept while no region is added (the common case per operation). */
  private regionOrder: string[] = [];
  /** The ladders in region order (empty ones too: a walk over an empty ladder ends at once). */
  private ladders: Ladder<Ask>[] = [];
  /** The last ask's region and its ladder: a feed's asks tend to come region by region, and a hit skips a hash lookup. */
  private lastRegion: string | undefined;
  private lastLadder: Ladder<Ask> | undefined;

  constructor(readonly instrument: string) {}

  get askCount(): number {
    return this.asks.size;
  }

  get bidCount(): number {
    return this.restingBids.size;
  }

  /**
   * Adds an ask, or replaces the one with its id. A replacement that lowers only the quantity
   * keeps its place in time; any other change (price, more quantity, region) goes to the back.
   * Returns the fills of resting bids that the new or better ask made possible.
   */
  upsertAsk(ask: Ask, now: number): readonly Fill[] {
    const existing = this.asks.get(ask.id);
    if (existing !== undefined) {
      const old = existing.order;
      if (old.price === ask.price && old.region === ask.region && ask.quantity <= existing.remaining && ask.quantity > 0n) {
        // Same place in line: only the quantity (and the details that do not rank) change.
        existing.order = ask;
        existing.owner = ask.providerId;
        existing.until = ask.validUntil;
        existing.remaining = ask.quantity;
        return NO_FILLS;
      }
      this.removeAsk(existing);
    }
    if (ask.quantity <= 0n) return NO_FILLS;
    let ladder = ask.region === this.lastRegion ? this.lastLadder : this.regions.get(ask.region);
    if (ladder === undefined) {
      ladder = new Ladder<Ask>(1, ask.region);
      this.regions.set(ask.region, ladder);
      this.regionOrder = [...this.regions.keys()].sort();
      this.ladders = this.regionOrder.map((r) => this.regions.get(r) as Ladder<Ask>);
    }
    this.lastRegion = ask.region;
    this.lastLadder = ladder;
    this.asks.add(ladder.insert(ask, ask.id, ask.price, ask.quantity, (this.seq += 1), ask.providerId, ask.validUntil));
    return this.rematch(ask.price, now);
  }

  cancelAsk(id: string): boolean {
    // One probe of the index finds and removes it.
    const node = this.asks.delete(id);
    if (node === undefined) return false;
    node.ladder.remove(node);
    return true;
  }

  /**
   * Matches a bid now; what cannot fill rests (when `rest`) until an ask makes it possible or it
   * is cancelled. An all-or-none bid fills completely or not at all.
   */
  submitBid(bid: Bid, now: number, rest = true): MatchResult {
    // Most books have no resting bid: no need to hash the id to find that out.
    if (this.restingBids.size > 0 && this.restingBids.has(bid.id)) throw new Error(`bid ${bid.id} is already resting`);
    const fills = this.match(bid, bid.quantity, now);
    const remaining = this.unfilled;
    if (remaining > 0n && rest) this.restingBids.add(this.bids.insert(bid, bid.id, bid.limit, remaining, (this.seq += 1)));
    return { fills, remaining };
  }

  cancelBid(id: string): boolean {
    const node = this.restingBids.delete(id);
    if (node === undefined) return false;
    this.bids.remove(node);
    return true;
  }

  /** What is left of a resting bid, or undefined when it is not resting. */
  restingQuantity(id: string): bigint | undefined {
    return this.restingBids.get(id)?.remaining;
  }

  /**
   * The arrival rank of a resting ask: it changes exactly when a replacement loses time priority,
   * which is what a caller persisting the book needs to rebuild it in the same order.
   */
  askSeq(id: string): number | undefined {
    return this.asks.get(id)?.seq;
  }

  /** What a resting ask has left, or undefined when it is not in the book. */
  askRemaining(id: string): bigint | undefined {
    return this.asks.get(id)?.remaining;
  }

  /** The price of the best ask this bid could take now (within its limit), without touching the book. */
  bestPriceFor(bid: Bid, now: number): bigint | undefined {
    for (const node of this.eligibleAsks(bid, now)) return node.price;
    return undefined;
  }

  /** The best ask in force in a region (or anywhere). */
  bestAsk(now: number, region?: string): { ask: Ask; remaining: bigint } | undefined {
    let best: Node<Ask> | undefined;
    for (const [name, ladder] of this.regions) {
      if (region !== undefined && name !== region) continue;
      for (const node of ladder.walk()) {
        if (node.order.validUntil <= now) continue;
        if (best === undefined || node.price < best.price || (node.price === best.price && node.seq < best.seq)) best = node;
        break;
      }
    }
    return best === undefined ? undefined : { ask: best.order, remaining: best.remaining };
  }

  /** Removes asks whose validity has ended; returns their ids. */
  expire(now: number): string[] {
    const gone: string[] = [];
    for (const node of this.asks.values()) {
      if (node.order.validUntil <= now) {
        gone.push(node.id);
        this.removeAsk(node);
      }
    }
    return gone;
  }

  /** Out of the index first: the ladder's removal hands the node to its spares for the next insert. */
  private removeAsk(node: Node<Ask>): void {
    this.asks.remove(node);
    node.ladder.remove(node);
  }

  /** Resting bids that a new ask at `price` may serve, best first, matched again. */
  private rematch(price: bigint, now: number): readonly Fill[] {
    if (this.bids.size === 0) return NO_FILLS;
    const best = this.bids.best();
    if (best === undefined || best.price < price) return NO_FILLS;
    const fills: Fill[] = [];
    for (const node of this.bids.walk()) {
      if (node.price < price) break; // limits only fall from here on
      const got = this.match(node.order, node.remaining, now);
      if (got.length === 0) continue;
      node.remaining = this.unfilled;
      fills.push(...got);
      if (node.remaining === 0n) {
        this.restingBids.remove(node);
        this.bids.remove(node);
      }
    }
    return fills;
  }

  /** Regions a bid may use, in a fixed order (determinism does not depend on insertion order). */
  private candidateRegions(c: Constraints): readonly Ladder<Ask>[] {
    // Most bids take any region: every ladder, in region order, without building a list per bid.
    if (c.regions === undefined && c.excludeRegions === undefined) return this.ladders;
    const names = c.regions === undefined ? this.regionOrder : [...new Set(c.regions)].sort();
    const out: Ladder<Ask>[] = [];
    for (const r of names) {
      if (c.excludeRegions?.includes(r) === true) continue;
      const ladder = this.regions.get(r);
      if (ladder !== undefined && ladder.size > 0) out.push(ladder);
    }
    return out;
  }

  /** Eligible asks within the limit, across regions, in price-time order. */
  private *eligibleAsks(bid: Bid, now: number): Generator<Node<Ask>> {
    const walkers = this.candidateRegions(bid.constraints).map((l) => l.walk());
    const heads: (Node<Ask> | undefined)[] = walkers.map((w) => this.nextEligible(w, bid, now));
    for (;;) {
      let pick = -1;
      for (let i = 0; i < heads.length; i += 1) {
        const h = heads[i];
        if (h === undefined) continue;
        const p = pick === -1 ? undefined : heads[pick];
        if (p === undefined || h.price < p.price || (h.price === p.price && h.seq < p.seq)) pick = i;
      }
      if (pick === -1) return;
      const node = heads[pick] as Node<Ask>;
      // Advance before yielding: the caller may remove the node it is given.
      heads[pick] = this.nextEligible(walkers[pick] as Generator<Node<Ask>>, bid, now);
      yield node;
    }
  }

  private nextEligible(walker: Generator<Node<Ask>>, bid: Bid, now: number): Node<Ask> | undefined {
    for (;;) {
      const { value, done } = walker.next();
      if (done === true) return undefined;
      if (value.price > bid.limit) return undefined; // prices only rise from here on
      if (eligible(value.order, bid.constraints, now)) return value;
    }
  }

  private match(bid: Bid, quantity: bigint, now: number): Fill[] {
    const regions = this.candidateRegions(bid.constraints);
    if (bid.allowSplit && regions.length === 1) return this.matchTop(regions[0] as Ladder<Ask>, bid, quantity, now);
    return this.matchWalking(bid, quantity, now);
  }

  /**
   * The common case, without iterators: one region, splitting allowed, take the best ask while it
   * is eligible and within the limit. The first ineligible one hands over to the general walk.
   */
  private matchTop(ladder: Ladder<Ask>, bid: Bid, quantity: bigint, now: number): Fill[] {
    const fills: Fill[] = [];
    // Without constraints, a node's expiry decides and its copied fields make the fill: the order
    // itself is never read (decision 0006, stop 33).
    const open = unconstrained(bid.constraints);
    let remaining = quantity;
    while (remaining > 0n) {
      const node = ladder.best();
      if (node === undefined || node.price > bid.limit) break;
      if (open ? node.until <= now : !eligible(node.order, bid.constraints, now)) {
        for (const f of this.matchWalking(bid, remaining, now)) fills.push(f);
        return fills;
      }
      if (node.remaining <= remaining) {
        // The whole ask: nothing of it is left to compute.
        fills.push({ bidId: bid.id, askId: node.id, providerId: node.owner, region: ladder.name, price: node.price, quantity: node.remaining });
        remaining -= node.remaining;
        this.removeAsk(node);
      } else {
        fills.push({ bidId: bid.id, askId: node.id, providerId: node.owner, region: ladder.name, price: node.price, quantity: remaining });
        node.remaining -= remaining;
        remaining = 0n;
      }
    }
    this.unfilled = remaining;
    return fills;
  }

  private matchWalking(bid: Bid, quantity: bigint, now: number): Fill[] {
    if (!bid.allowSplit) {
      // All-or-none: look first, touch nothing unless the whole quantity is there.
      let available = 0n;
      for (const node of this.eligibleAsks(bid, now)) {
        available += node.remaining;
        if (available >= quantity) break;
      }
      if (available < quantity) {
        this.unfilled = quantity;
        return [];
      }
    }
    const fills: Fill[] = [];
    let remaining = quantity;
    const exhausted: Node<Ask>[] = [];
    for (const node of this.eligibleAsks(bid, now)) {
      const take = min(remaining, node.remaining);
      fills.push({ bidId: bid.id, askId: node.order.id, providerId: node.order.providerId, region: node.order.region, price: node.price, quantity: take });
      node.remaining -= take;
      remaining -= take;
      if (node.remaining === 0n) exhausted.push(node);
      if (remaining === 0n) break;
    }
    // Removed after the walk, which must not see the ladder change under it.
    for (const node of exhausted) this.removeAsk(node);
    this.unfilled = remaining;
    return fills;
  }
}
