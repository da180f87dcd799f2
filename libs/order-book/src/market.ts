import { OrderBook } from './order-book.js';
import { planOrder, type ForecastPoint } from './policy.js';
import { TimerHeap } from './timer-heap.js';
import type { Ask, AskAttributes, Bid, Constraints, Fill } from './types.js';

/**
 * The matching engine's functional core: every book, the offers behind their asks and the open
 * jobs behind their bids, with the rules for quotes, submissions, cancels, deferral and expiry.
 * No I/O and no clock: each call takes `now` and writes what changed into an `Effects`, which the
 * shell persists in one transaction (and the backtester just reads).
 */

/** One offer's latest effective quote. Prices nano-USD per unit, capacity micro-units, time epoch ms. */
export interface OfferQuote {
  readonly providerId: string;
  readonly offerId: string;
  readonly instrument: string;
  readonly region: string;
  readonly gridZone: string;
  readonly computeNanoUsd: bigint;
  readonly energyNanoUsd: bigint;
  readonly effectiveNanoUsd: bigint;
  readonly capacityMicro: bigint;
  readonly tickSeq: number;
  readonly asOf: number;
  /** When the price stops holding: the offer's validity, or the end of the tariff slot priced. */
  readonly validUntil: number;
  readonly attributes: AskAttributes;
}

/**
 * An offer as the engine keeps it. `allocatedMicro` is what was matched since the provider's tick
 * `tickSeq`: a re-priced quote of the same tick (a tariff or FX change) offers capacity minus
 * that; a newer tick states the provider's free capacity afresh.
 */
export interface OfferRecord extends OfferQuote {
  allocatedMicro: bigint;
  /** Arrival rank in the book (time priority), kept so a rebuilt book has the same order. */
  priority: number;
}

export interface OrderSpec {
  readonly jobId: string;
  readonly customerId: string;
  readonly instrument: string;
  readonly quantityMicro: bigint;
  readonly limitNanoUsd: bigint;
  readonly allowSplit: boolean;
  readonly constraints: Constraints;
  readonly earliestStart: number;
  readonly latestStart: number;
  readonly deadline: number;
  readonly deferrable: boolean;
  readonly forecast: readonly ForecastPoint[];
  readonly submittedAt: number;
}

export type OrderStatus = 'open' | 'deferred' | 'filled' | 'cancelled' | 'expired';

export interface OrderRecord extends OrderSpec {
  status: OrderStatus;
  filledMicro: bigint;
  /** Allocations made so far: the next allocation's id is derived from it. */
  fillCount: number;
  /** Lifecycle steps published so far: the next step's id is derived from it. */
  stepCount: number;
  priority: number;
  wakeAt: number | null;
  reason: string | null;
  /** Allocations whose unfinished remainder was put back: each is taken back once. */
  requeued: readonly string[];
}

/** The unfinished remainder of one allocation, returned by the dispatcher. */
export interface RequeueSpec {
  readonly jobId: string;
  readonly allocationId: string;
  readonly remainderMicro: bigint;
  /** The provider that did not finish it: the remainder is not placed there again. */
  readonly excludeProvider: string;
  readonly reason: string;
}

export interface AllocationRecord {
  readonly allocationId: string;
  readonly jobId: string;
  readonly customerId: string;
  readonly providerId: string;
  readonly offerId: string;
  readonly instrument: string;
  readonly region: string;
  readonly gridZone: string;
  readonly quantityMicro: bigint;
  readonly computeNanoUsd: bigint;
  readonly energyNanoUsd: bigint;
  readonly effectiveNanoUsd: bigint;
  readonly amountNanoUsd: bigint;
  readonly feeNanoUsd: bigint;
  readonly matchedAt: number;
}

export type StepType = 'queued' | 'deferred' | 'filled' | 'matched' | 'cancelled' | 'expired' | 'requeued';

/** A lifecycle step of a job, as the engine decided it. */
export interface JobStep {
  readonly stepId: string;
  readonly jobId: string;
  readonly customerId: string;
  readonly type: StepType;
  /** The job's status after the step: a job with fills stays `matched` when its rest ends. */
  readonly status: 'queued' | 'deferred' | 'matched' | 'cancelled' | 'expired';
  readonly reason: string | null;
  readonly quantityMicro: bigint;
  readonly filledMicro: bigint;
  readonly allocationIds: readonly string[];
  readonly until: number | null;
  readonly at: number;
}

/** A map that keeps nothing: for callers that only read what happened, never what to write. */
class Discarding<K, V> extends Map<K, V> {
  override set(): this {
    return this;
  }
}

/**
 * What one or more calls changed: the rows to write and the messages to publish. A caller that
 * writes nothing (the backtester) can ask for the allocations and steps only: the offer and order
 * records, rewritten on every quote, are then not kept.
 */
export class Effects {
  readonly offers: Map<string, OfferRecord>;
  readonly orders: Map<string, OrderRecord>;
  readonly allocations: AllocationRecord[] = [];
  readonly steps: JobStep[] = [];

  constructor(options: { readonly records?: boolean } = {}) {
    const records = options.records ?? true;
    this.offers = records ? new Map() : new Discarding();
    this.orders = records ? new Map() : new Discarding();
  }

  get empty(): boolean {
    return this.offers.size === 0 && this.orders.size === 0;
  }
}

export interface AmountRules {
  amount(quantityMicro: bigint, unitNanoUsd: bigint): bigint;
  fee(amountNanoUsd: bigint): bigint;
}

/**
 * A quote made a record. Written out field by field: Node 20's V8 builds `{ ...q, more }` (a
 * spread followed by more properties) on a slow path, ~2 µs each, which made `applyQuote` cost
 * 7.5 µs against 1.1 µs with an empty book: more than the rest of the quote's work together.
 */
function offerRecordOf(q: OfferQuote, allocatedMicro: bigint, priority: number): OfferRecord {
  return {
    providerId: q.providerId,
    offerId: q.offerId,
    instrument: q.instrument,
    region: q.region,
    gridZone: q.gridZone,
    computeNanoUsd: q.computeNanoUsd,
    energyNanoUsd: q.energyNanoUsd,
    effectiveNanoUsd: q.effectiveNanoUsd,
    capacityMicro: q.capacityMicro,
    tickSeq: q.tickSeq,
    asOf: q.asOf,
    validUntil: q.validUntil,
    attributes: q.attributes,
    allocatedMicro,
    priority,
  };
}

/** The id of an offer's ask in a book (provider and offer ids may contain any identifier character). */
export const askIdOf = (providerId: string, offerId: string): string => `${providerId}\u0000${offerId}`;

/**
 * Ask ids by provider and offer, each built once. Building the id of every quote (a cons string,
 * flattened and hashed for its first lookup) cost several times the lookups themselves; the ids
 * from JSON are short, and their hashes are kept. Grows with the offers ever seen, as the book does.
 */
export class AskIds {
  private readonly byProvider = new Map<string, Map<string, string>>();

  of(providerId: string, offerId: string): string {
    let offers = this.byProvider.get(providerId);
    if (offers === undefined) this.byProvider.set(providerId, (offers = new Map()));
    let id = offers.get(offerId);
    if (id === undefined) offers.set(offerId, (id = askIdOf(providerId, offerId)));
    return id;
  }
}

export class Market {
  private readonly books = new Map<string, OrderBook>();
  private readonly offers = new Map<string, OfferRecord>();
  /** Jobs still open or deferred; a finished one leaves. */
  private readonly orders = new Map<string, OrderRecord>();
  private readonly timers = new TimerHeap();
  private readonly ids = new AskIds();
  private priority = 0;

  constructor(private readonly rules: AmountRules) {}

  get openOrders(): number {
    return this.orders.size;
  }

  /** Asks and resting bids per instrument, for the depth gauges. */
  depth(): { instrument: string; asks: number; bids: number }[] {
    return [...this.books].map(([instrument, b]) => ({ instrument, asks: b.askCount, bids: b.bidCount }));
  }

  hasOrder(jobId: string): boolean {
    return this.orders.has(jobId);
  }

  /** The earliest instant `advance` has something to do. */
  nextWakeAt(): number | undefined {
    return this.timers.peek();
  }

  /**
   * Rebuilds everything from stored state (after a restart, or after a failed write): offers and
   * orders enter in their priority order, so time priority is what it was.
   */
  load(offers: readonly OfferRecord[], orders: readonly OrderRecord[], now: number, fx: Effects): void {
    this.books.clear();
    this.offers.clear();
    this.orders.clear();
    this.timers.clear();
    this.priority = 0;
    for (const o of [...offers].sort((a, b) => a.priority - b.priority)) {
      const record = { ...o };
      const id = askIdOf(o.providerId, o.offerId);
      this.offers.set(id, record);
      this.priority = Math.max(this.priority, o.priority);
      const remaining = record.capacityMicro - record.allocatedMicro;
      if (remaining > 0n && record.validUntil > now) this.bookOf(o.instrument).upsertAsk(this.askOf(record, remaining, id), now);
    }
    for (const o of [...orders].sort((a, b) => a.priority - b.priority)) {
      this.priority = Math.max(this.priority, o.priority);
      const record = { ...o };
      this.orders.set(o.jobId, record);
      if (record.status === 'deferred' && record.wakeAt !== null) {
        this.timers.push(record.wakeAt, record.jobId);
        continue;
      }
      this.timers.push(record.latestStart, record.jobId);
      const book = this.bookOf(record.instrument);
      const result = book.submitBid(this.bidOf(record), now);
      this.settle(result.fills, now, fx);
    }
  }

  applyQuote(q: OfferQuote, now: number, fx: Effects): void {
    const id = this.ids.of(q.providerId, q.offerId);
    const existing = this.offers.get(id);
    // Quotes of one offer arrive in order, but a redelivery or a replay must change nothing.
    if (existing !== undefined && (q.tickSeq < existing.tickSeq || (q.tickSeq === existing.tickSeq && q.asOf <= existing.asOf))) return;
    const record = offerRecordOf(q, existing !== undefined && existing.tickSeq === q.tickSeq ? existing.allocatedMicro : 0n, existing?.priority ?? 0);
    if (existing !== undefined && existing.instrument !== q.instrument) this.bookOf(existing.instrument).cancelAsk(id);
    const book = this.bookOf(q.instrument);
    const remaining = record.capacityMicro - record.allocatedMicro;
    const before = book.askSeq(id);
    this.offers.set(id, record);
    fx.offers.set(id, record);
    if (remaining <= 0n || record.validUntil <= now) {
      book.cancelAsk(id);
      return;
    }
    const fills = book.upsertAsk(this.askOf(record, remaining, id), now);
    // A replacement that lost its place in line (or a new ask) ranks behind everything so far.
    if (book.askSeq(id) !== before) record.priority = this.priority += 1;
    this.settle(fills, now, fx);
  }

  /** A new job. Returns false when the job is already known here (a redelivery). */
  submit(spec: OrderSpec, now: number, fx: Effects): boolean {
    if (this.orders.has(spec.jobId)) return false;
    const record = newRecord(spec);
    this.orders.set(spec.jobId, record);
    this.step(record, 'queued', 'queued', null, now, fx);
    this.plan(record, now, fx);
    return true;
  }

  /** Withdraws what of a job is not matched. Returns false when the job is not open here. */
  cancel(jobId: string, reason: string, now: number, fx: Effects): boolean {
    const record = this.orders.get(jobId);
    if (record === undefined) return false;
    this.bookOf(record.instrument).cancelBid(jobId);
    this.finish(record, 'cancelled', reason, now, fx);
    return true;
  }

  /**
   * A cancel that arrived before its job: the job is recorded as cancelled, so that its
   * submission, when it comes, finds it finished.
   */
  cancelUnseen(spec: OrderSpec, reason: string, now: number, fx: Effects): void {
    this.finish(newRecord(spec), 'cancelled', reason, now, fx);
  }

  /**
   * Takes back the unfinished remainder of an allocation and matches it again, like a job of its
   * own: within the job's limit, never on the provider that did not finish it, deferred or expired
   * by the same policy. `stored` is the job's record as last written, for a job no longer open
   * here (filled, expired, cancelled). The remainder of a job that ended with only part of its
   * quantity matched is all that is sought: what the book never filled stays unfilled. Its latest
   * start moves later in proportion (a quarter of the work needs a quarter of the runtime).
   * Returns false when this remainder was taken back already.
   */
  requeue(stored: OrderRecord | undefined, r: RequeueSpec, now: number, fx: Effects): boolean {
    const open = this.orders.get(r.jobId);
    const record = open ?? stored;
    if (record === undefined) throw new Error(`requeue of ${r.allocationId}: job ${r.jobId} is unknown`);
    if (record.requeued.includes(r.allocationId)) return false;
    const remainder = r.remainderMicro < record.filledMicro ? r.remainderMicro : record.filledMicro;
    const excluded = record.constraints.excludeProviders ?? [];
    const runtime = record.deadline - record.latestStart;
    const quantity = open !== undefined ? record.quantityMicro : record.filledMicro;
    const share = quantity > 0n ? Number((BigInt(runtime) * remainder) / quantity) : runtime;
    const next: OrderRecord = {
      ...record,
      quantityMicro: quantity,
      filledMicro: record.filledMicro - remainder,
      constraints: { ...record.constraints, excludeProviders: excluded.includes(r.excludeProvider) ? excluded : [...excluded, r.excludeProvider] },
      latestStart: Math.max(record.latestStart, record.deadline - share),
      requeued: [...record.requeued, r.allocationId],
    };
    if (record.status === 'cancelled') {
      // The customer withdrew what was not matched: what a provider did not finish goes too.
      const reason = `the job was cancelled; the remainder of ${r.allocationId} is not placed again`;
      this.step(next, 'cancelled', next.filledMicro > 0n ? 'matched' : 'cancelled', reason, now, fx, null, [r.allocationId]);
      return true;
    }
    if (open !== undefined) this.bookOf(record.instrument).cancelBid(record.jobId);
    if (next.status !== 'deferred') next.status = 'open';
    this.orders.set(next.jobId, next);
    this.step(next, 'requeued', next.status === 'deferred' ? 'deferred' : 'queued', r.reason, now, fx, null, [r.allocationId]);
    if (next.status === 'open' || next.wakeAt === null || next.wakeAt <= now) this.plan(next, now, fx);
    else fx.orders.set(next.jobId, next);
    return true;
  }

  /** Wakes deferred jobs and expires those past their latest start, up to `now`. */
  advance(now: number, fx: Effects): void {
    for (let id = this.timers.popDue(now); id !== undefined; id = this.timers.popDue(now)) {
      const record = this.orders.get(id);
      if (record === undefined) continue;
      if (record.status === 'deferred' && record.wakeAt !== null && record.wakeAt <= now) {
        record.wakeAt = null;
        this.plan(record, now, fx);
      } else if (record.status === 'open' && now >= record.latestStart) {
        this.bookOf(record.instrument).cancelBid(id);
        this.finish(record, 'expired', 'no capacity at or below its limit before its latest feasible start', now, fx);
      }
    }
  }

  /** Decides for a job that is not resting: trade now (rest in the book), wait, or expire. */
  private plan(record: OrderRecord, now: number, fx: Effects): void {
    const book = this.bookOf(record.instrument);
    const bid = this.bidOf(record);
    const plan = planOrder(
      { earliestStart: record.earliestStart, latestStart: record.latestStart, limit: record.limitNanoUsd, deferrable: record.deferrable, forecast: record.forecast },
      book.bestPriceFor(bid, now),
      now,
    );
    switch (plan.kind) {
      case 'expire':
        this.finish(record, 'expired', plan.reason, now, fx);
        return;
      case 'wait':
        record.status = 'deferred';
        record.wakeAt = plan.until;
        record.reason = plan.reason;
        this.timers.push(plan.until, record.jobId);
        this.step(record, 'deferred', 'deferred', plan.reason, now, fx, plan.until);
        return;
      case 'trade': {
        if (record.status === 'deferred') this.step(record, 'queued', 'queued', 'its wait is over', now, fx);
        record.status = 'open';
        record.reason = null;
        record.priority = this.priority += 1;
        fx.orders.set(record.jobId, record);
        this.timers.push(record.latestStart, record.jobId);
        this.settle(book.submitBid(bid, now).fills, now, fx);
        return;
      }
    }
  }

  /** Records fills: offers' capacity, jobs' quantities, one allocation per fill, one step per job. */
  private settle(fills: readonly Fill[], now: number, fx: Effects): void {
    if (fills.length === 0) return;
    const byJob = new Map<string, string[]>();
    for (const f of fills) {
      const order = this.orders.get(f.bidId);
      const offer = this.offers.get(f.askId);
      if (order === undefined || offer === undefined) throw new Error(`fill ${f.bidId}/${f.askId} refers to an unknown order or offer`);
      offer.allocatedMicro += f.quantity;
      fx.offers.set(f.askId, offer);
      order.filledMicro += f.quantity;
      order.fillCount += 1;
      fx.orders.set(order.jobId, order);
      const amount = this.rules.amount(f.quantity, f.price);
      const allocation: AllocationRecord = {
        allocationId: `${order.jobId}.${order.fillCount}`,
        jobId: order.jobId,
        customerId: order.customerId,
        providerId: offer.providerId,
        offerId: offer.offerId,
        instrument: order.instrument,
        region: offer.region,
        gridZone: offer.gridZone,
        quantityMicro: f.quantity,
        computeNanoUsd: offer.computeNanoUsd,
        energyNanoUsd: offer.energyNanoUsd,
        effectiveNanoUsd: f.price,
        amountNanoUsd: amount,
        feeNanoUsd: this.rules.fee(amount),
        matchedAt: now,
      };
      fx.allocations.push(allocation);
      const ids = byJob.get(order.jobId);
      if (ids === undefined) byJob.set(order.jobId, [allocation.allocationId]);
      else ids.push(allocation.allocationId);
    }
    for (const [jobId, ids] of byJob) {
      const order = this.orders.get(jobId) as OrderRecord;
      if (order.filledMicro >= order.quantityMicro) {
        order.status = 'filled';
        this.orders.delete(jobId);
        this.step(order, 'matched', 'matched', null, now, fx, null, ids);
      } else {
        this.step(order, 'filled', 'queued', null, now, fx, null, ids);
      }
    }
  }

  private finish(record: OrderRecord, outcome: 'cancelled' | 'expired', reason: string, now: number, fx: Effects): void {
    record.status = outcome;
    record.reason = reason;
    record.wakeAt = null;
    this.orders.delete(record.jobId);
    this.step(record, outcome, record.filledMicro > 0n ? 'matched' : outcome, reason, now, fx);
  }

  private step(
    record: OrderRecord,
    type: StepType,
    status: JobStep['status'],
    reason: string | null,
    now: number,
    fx: Effects,
    until: number | null = null,
    allocationIds: readonly string[] = [],
  ): void {
    record.stepCount += 1;
    fx.orders.set(record.jobId, record);
    fx.steps.push({
      stepId: `${record.jobId}.${record.stepCount}`,
      jobId: record.jobId,
      customerId: record.customerId,
      type,
      status,
      reason,
      quantityMicro: record.quantityMicro,
      filledMicro: record.filledMicro,
      allocationIds,
      until,
      at: now,
    });
  }

  private bookOf(instrument: string): OrderBook {
    let book = this.books.get(instrument);
    if (book === undefined) {
      book = new OrderBook(instrument);
      this.books.set(instrument, book);
    }
    return book;
  }

  /** `id` is the caller's askIdOf: the same string object, hashed once for every map it keys. */
  private askOf(o: OfferRecord, remaining: bigint, id: string): Ask {
    return {
      id,
      providerId: o.providerId,
      region: o.region,
      price: o.effectiveNanoUsd,
      quantity: remaining,
      validUntil: o.validUntil,
      attributes: o.attributes,
    };
  }

  private bidOf(o: OrderRecord): Bid {
    return { id: o.jobId, quantity: o.quantityMicro - o.filledMicro, limit: o.limitNanoUsd, constraints: o.constraints, allowSplit: o.allowSplit };
  }
}

/** Field by field, like `offerRecordOf`, and for the same reason. */
function newRecord(spec: OrderSpec): OrderRecord {
  return {
    jobId: spec.jobId,
    customerId: spec.customerId,
    instrument: spec.instrument,
    quantityMicro: spec.quantityMicro,
    limitNanoUsd: spec.limitNanoUsd,
    allowSplit: spec.allowSplit,
    constraints: spec.constraints,
    earliestStart: spec.earliestStart,
    latestStart: spec.latestStart,
    deadline: spec.deadline,
    deferrable: spec.deferrable,
    forecast: spec.forecast,
    submittedAt: spec.submittedAt,
    status: 'open',
    filledMicro: 0n,
    fillCount: 0,
    stepCount: 0,
    priority: 0,
    wakeAt: null,
    reason: null,
    requeued: [],
  };
}
