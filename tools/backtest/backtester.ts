import { instantMs, MAX_FORECAST_SLOTS, type EnergyTariff, type FxRate } from '#contracts';
import {
  eligibleOffers,
  forecast,
  mergeTariffKinds,
  offerQuoteOfPriced,
  orderSpecOf,
  priceOffer,
  TermsError,
  termsOf,
  unsatisfiable,
  type CurrentSlot,
  type OfferState,
  type PricedOffer,
  type UsdRatesInForce,
  type Snapshot,
  type SlotsInForce,
  type SnapshotOffer,
} from '#market';
import { AskIds, Effects, Market, TimerHeap, type AllocationRecord, type JobStep } from '#order-book';
import { amountNanoUsd, feeNanoUsd, formatQuantity, parseQuantityMicro, usdRatesFrom, type FxInForce, type TariffSlot } from '#pricing';
import { offerTickOf, type BacktestInputs, type BacktestJob, type BacktestSources, type InputTexts, type Located, type OfferTick } from './inputs.js';
import { inputsOf, sourcesOf, type ReadOptions } from './sources.js';

/** How far ahead the gateway reads tariff slots for a forecast (the same horizon). */
const FORECAST_HORIZON_MS = 8 * 86_400_000;
const TARIFF_PRECEDENCE: Readonly<Record<string, number>> = { 'real-time': 0, 'day-ahead': 1, retail: 2 };

interface StoredSlot {
  readonly start: number;
  readonly end: number;
  readonly price: string;
  readonly seq: number;
}

/** One zone's tariff of one kind: its slots by start, as market-data stores them (a newer seq overwrites). */
interface TariffFeed {
  lastSeq: number;
  currency: string;
  unit: 'kWh' | 'MWh';
  readonly slots: Map<number, StoredSlot>;
  sorted: StoredSlot[] | undefined;
  /** The longest slot ever stored: how far back a slot can still overlap one that is ahead. */
  longest: number;
}

interface OfferEntry {
  state: OfferState;
  /** The offer as last quoted, and until when that quote holds. */
  priced: PricedOffer | undefined;
  pricedUntil: number;
}

export interface AllocationReport {
  readonly allocationId: string;
  readonly providerId: string;
  readonly offerId: string;
  readonly region: string;
  readonly gridZone: string;
  readonly start: string;
  readonly end: string;
  readonly quantity: string;
  readonly computeNanoUsd: string;
  readonly energyNanoUsd: string;
  readonly effectiveNanoUsd: string;
  readonly amountNanoUsd: string;
  readonly feeNanoUsd: string;
  readonly totalNanoUsd: string;
}

export interface BaselineReport {
  readonly providerId: string;
  readonly offerId: string;
  readonly computeNanoUsd: string;
  readonly effectiveNanoUsd: string;
  /** What the quantity this job got would have cost there (amount + fee). */
  readonly totalNanoUsd: string;
}

export type JobOutcome = 'filled' | 'partially-filled' | 'expired' | 'refused' | 'open';

export interface JobReport {
  readonly id: string;
  readonly customerId: string;
  readonly instrument: string;
  readonly quantity: string;
  readonly submittedAt: string;
  readonly outcome: JobOutcome;
  readonly reason: string | null;
  readonly filledQuantity: string;
  readonly deferredUntil: string | null;
  readonly allocations: AllocationReport[];
  readonly totalNanoUsd: string;
  readonly baselines: { readonly firstListed: BaselineReport | null; readonly cheapestIgnoringEnergy: BaselineReport | null };
}

export interface Totals {
  readonly jobs: number;
  readonly filled: number;
  readonly partiallyFilled: number;
  readonly expired: number;
  readonly refused: number;
  readonly open: number;
  readonly costNanoUsd: string;
  readonly firstListedNanoUsd: string;
  readonly cheapestIgnoringEnergyNanoUsd: string;
}

export interface Report {
  readonly inputs: { readonly ticks: number; readonly tariffs: number; readonly fx: number; readonly jobs: number };
  readonly jobs: JobReport[];
  readonly totals: Totals;
}

interface JobState {
  readonly job: BacktestJob;
  outcome: JobOutcome;
  reason: string | null;
  filledMicro: bigint;
  deferredUntil: number | null;
  readonly allocations: AllocationRecord[];
  /** The quotes of the two naive choices at submission. */
  firstListed: PricedOffer | undefined;
  cheapest: PricedOffer | undefined;
  readonly runtimeMs: number;
  /** The job's deadline: the clock runs at least this far. */
  endsBy: number;
}

/**
 * Replays history through the live engine's own code, on a virtual clock, in one process: quotes
 * from `computeQuotes` (market-data's), jobs read by `termsOf` and forecast by `forecast` (the
 * gateway's), matched by `Market` (the matching engine's). Inputs are applied in time order (FX,
 * then tariffs, then ticks, then jobs at the same instant; file order among equals), and the
 * clock stops at every instant the live services would act on their own: a tariff slot ending,
 * an offer coming into force, a deferred job waking, a job's latest start passing.
 */
export class Backtester {
  private readonly market: Market;
  private readonly fx = new Effects({ records: false });
  /** By key, in listing order (when each offer first appeared: the "first-listed" baseline). */
  private readonly offers = new Map<string, OfferEntry>();
  /** Offer keys, built once per offer (the book's ask ids: the same text). */
  private readonly keys = new AskIds();
  private readonly tariffs = new Map<string, Map<string, TariffFeed>>();
  /** Each zone's slots with the kinds laid over each other, rebuilt only when a tariff arrives. */
  private readonly merged = new Map<string, TariffSlot[]>();
  private readonly rates = new Map<string, FxInForce>();
  /** The USD rates in force, parsed once per FX change (market-data parses them per quote). */
  private usd: UsdRatesInForce = usdRatesFrom([]);
  /** Each zone's slot in force, and the instants between which it stays so (`currentSlot`). */
  private readonly inForce = new Map<string, { readonly from: number; readonly until: number; readonly slot: CurrentSlot | undefined }>();
  /** The slots in force now, as `priceOffer` reads them (one zone per offer, looked up only then). */
  private readonly slotsNow: SlotsInForce = { get: (zone) => this.currentSlot(zone, this.now) };
  /** Offers to re-quote, by instant (an offer coming into force, its tariff slot ending). */
  private readonly requotes = new TimerHeap();
  private readonly requoteAt = new Map<string, number>();
  private readonly jobs = new Map<string, JobState>();
  private now = Number.NEGATIVE_INFINITY;

  constructor(private readonly feeBps: number) {
    this.market = new Market({ amount: amountNanoUsd, fee: (amount) => feeNanoUsd(amount, feeBps) });
  }

  /** Replays inputs already read, in any order: each is put in time order first. */
  run(inputs: BacktestInputs): Report {
    const cursors: Cursors = [
      new SortedCursor(inTimeOrder(inputs.fx, fxTime)),
      new SortedCursor(inTimeOrder(inputs.tariffs, tariffTime)),
      new SortedCursor(inTimeOrder(inputs.ticks.map(({ message, line }) => ({ message: offerTickOf(message), line })), tickTime)),
      new SortedCursor(inTimeOrder(inputs.jobs, jobTime)),
    ];
    this.replay(cursors);
    return this.report(inputs.jobs, { ticks: inputs.ticks.length, tariffs: inputs.tariffs.length, fx: inputs.fx.length, jobs: inputs.jobs.length });
  }

  /**
   * Replays the market inputs as they are read, each in file order, never holding more than one
   * message of each: a month of ticks is parsed, checked and applied line by line, and the collector never
   * copies it (holding every parsed tick until the replay began cost a quarter of the whole run,
   * and heap in proportion to the files). Throws `OutOfTimeOrder` when a source goes back in time;
   * this Backtester is then spent, and `backtest` replays the inputs sorted on a new one.
   */
  stream(sources: BacktestSources): Report {
    const open: StreamCursor<unknown>[] = [];
    const cursor = <T>(source: Iterable<Located<T>>, timeOf: (message: T) => number) => {
      const c = new StreamCursor(source, timeOf);
      open.push(c as StreamCursor<unknown>);
      return c;
    };
    try {
      // The ticks first: a reader thread, if the file has one, reads on while the rest is read.
      const ticks = cursor(sources.ticks, tickTime);
      const fx = cursor(sources.fx, fxTime);
      const tariffs = cursor(sources.tariffs, tariffTime);
      // Jobs are few (a job set, often written by hand and in no particular order) and the report
      // lists them all: they are read whole and sorted, like `run`'s.
      const jobs = [...sources.jobs];
      this.replay([fx, tariffs, ticks, new SortedCursor(inTimeOrder(jobs, jobTime))]);
      return this.report(jobs, { ticks: ticks.taken, tariffs: tariffs.taken, fx: fx.taken, jobs: jobs.length });
    } finally {
      // A source left unfinished (a file out of order, a bad line in another) is closed: the
      // ticks' reader thread, if there is one, stops.
      for (const c of open) c.close();
    }
  }

  /** Inputs merged in time order: at one instant FX, then tariffs, ticks and jobs; file order among equals. */
  private replay(cursors: Cursors): void {
    const [fx, tariffs, ticks, jobs] = cursors;
    for (;;) {
      let stream = -1;
      let at = Number.POSITIVE_INFINITY;
      for (let s = 0; s < 4; s += 1) {
        const t = (cursors[s] as Cursor<unknown>).time;
        if (t < at) {
          stream = s;
          at = t;
        }
      }
      if (stream === -1) break;
      this.advanceTo(at);
      this.now = Math.max(this.now, at);
      if (stream === 0) this.applyFx(fx.take());
      else if (stream === 1) this.applyTariff(tariffs.take());
      else if (stream === 2) this.applyTick(ticks.take());
      else this.submit(jobs.take());
      this.drain();
    }
    // After the last input, the clock runs on until every job has ended (its latest start at most).
    let end = Number.NEGATIVE_INFINITY;
    for (const s of this.jobs.values()) if (s.outcome === 'open') end = Math.max(end, s.endsBy + 1);
    this.advanceTo(end);
  }

  // ---- inputs, as market-data applies them ---------------------------------------------------

  private applyFx(f: FxRate): void {
    const at = instantMs(f.asOf);
    const key = `${f.base}:${f.quote}`;
    const current = this.rates.get(key);
    if (current !== undefined && current.asOf.getTime() > at) return;
    this.rates.set(key, { base: f.base, quote: f.quote, rate: f.rate, asOf: new Date(at) });
    this.usd = usdRatesFrom([...this.rates.values()]);
    // A rate moves the prices quoted in another currency than USD, or with a tariff (in any currency).
    for (const [offer, o] of this.offers) if (o.state.currency !== 'USD' || !o.state.energyIncluded) this.requote(offer, o);
  }

  private applyTariff(t: EnergyTariff): void {
    let zone = this.tariffs.get(t.zone);
    if (zone === undefined) this.tariffs.set(t.zone, (zone = new Map()));
    let feed = zone.get(t.kind);
    if (feed !== undefined && t.seq <= feed.lastSeq) return; // stale or duplicate: recorded and ignored live
    if (feed === undefined) zone.set(t.kind, (feed = { lastSeq: t.seq, currency: t.currency, unit: t.unit, slots: new Map(), sorted: undefined, longest: 0 }));
    feed.lastSeq = t.seq;
    feed.currency = t.currency;
    feed.unit = t.unit;
    for (const s of t.slots) {
      const start = instantMs(s.start);
      const end = instantMs(s.end);
      feed.slots.set(start, { start, end, price: s.price, seq: t.seq });
      feed.longest = Math.max(feed.longest, end - start);
    }
    feed.sorted = undefined;
    this.merged.delete(t.zone);
    this.inForce.delete(t.zone);
    for (const [key, o] of this.offers) if (o.state.gridZone === t.zone && !o.state.energyIncluded) this.requote(key, o);
  }

  private applyTick({ state }: OfferTick): void {
    const key = this.keys.of(state.providerId, state.offerId);
    const existing = this.offers.get(key);
    if (existing !== undefined && state.lastSeq <= existing.state.lastSeq) return; // stale or duplicate
    let entry = existing;
    if (entry === undefined) this.offers.set(key, (entry = { state, priced: undefined, pricedUntil: 0 }));
    else entry.state = state;
    this.requote(key, entry);
  }

  /** Quotes one offer now (market-data's arithmetic) and hands it to the book, or waits until it can. */
  private requote(key: string, entry = this.offers.get(key) as OfferEntry): void {
    const now = this.now;
    const state = entry.state;
    const outcome = priceOffer(state, this.slotsNow, this.usd, now);
    if (!outcome.ok) {
      if (outcome.missing === 'not-in-force' && state.validFrom > now) this.scheduleRequote(key, state.validFrom);
      return;
    }
    const quote = offerQuoteOfPriced(outcome.priced, now);
    entry.priced = outcome.priced;
    entry.pricedUntil = quote.validUntil;
    if (outcome.priced.slot !== undefined) this.scheduleRequote(key, outcome.priced.slot.end.getTime());
    this.market.applyQuote(quote, now, this.fx);
  }

  private scheduleRequote(key: string, at: number): void {
    if (this.requoteAt.get(key) === at) return;
    this.requoteAt.set(key, at);
    this.requotes.push(at, key);
  }

  /**
   * The slot in force for a zone at `at`: real-time over day-ahead over retail, the latest start
   * among equals. Kept per zone until the next slot boundary of any of its feeds (or a new tariff):
   * every offer of the zone re-quoted in between gets the same answer, and the same object.
   */
  private currentSlot(zone: string, at: number): CurrentSlot | undefined {
    const known = this.inForce.get(zone);
    if (known !== undefined && known.from <= at && at < known.until) return known.slot;
    const feeds = this.tariffs.get(zone);
    if (feeds === undefined) return undefined;
    let best: CurrentSlot | undefined;
    let bestRank = Number.POSITIVE_INFINITY;
    let until = Number.POSITIVE_INFINITY;
    for (const [kind, feed] of feeds) {
      const slots = sortedSlots(feed);
      until = Math.min(until, nextBoundary(slots, at));
      const rank = TARIFF_PRECEDENCE[kind] ?? 3;
      if (rank >= bestRank) continue;
      const slot = slotAt(slots, at);
      if (slot === undefined) continue;
      best = { zone, kind, price: slot.price, currency: feed.currency, unit: feed.unit, seq: slot.seq, end: new Date(slot.end) };
      bestRank = rank;
    }
    this.inForce.set(zone, { from: at, until, slot: best });
    return best;
  }

  // ---- jobs, as the gateway takes them ----------------------------------------------------------

  private submit(job: BacktestJob): void {
    const now = this.now;
    const req = job.request;
    const state: JobState = {
      job,
      outcome: 'open',
      reason: null,
      filledMicro: 0n,
      deferredUntil: null,
      allocations: [],
      firstListed: undefined,
      cheapest: undefined,
      runtimeMs: req.runtimeSeconds * 1_000,
      endsBy: now,
    };
    this.jobs.set(job.id, state);
    let terms;
    try {
      terms = termsOf(req, now);
    } catch (error) {
      if (!(error instanceof TermsError)) throw error;
      state.outcome = 'refused';
      state.reason = `${error.title}: ${error.detail}`;
      return;
    }
    state.endsBy = terms.deadline;
    const snapshot = this.snapshot(now);
    const why = unsatisfiable(snapshot, req.instrument, req.constraints, now);
    if (why !== undefined) {
      state.outcome = 'refused';
      state.reason = `constraints cannot be met: ${why}`;
      return;
    }
    const eligible = eligibleOffers(snapshot, req.instrument, req.constraints, now);
    this.baselines(state, eligible);
    const slots = req.deferrable ? forecast(snapshot, eligible, now, terms.latestStart).slice(0, MAX_FORECAST_SLOTS) : [];
    const spec = orderSpecOf({
      jobId: job.id,
      customerId: job.customerId,
      instrument: req.instrument,
      quantity: req.quantity,
      limitNanoUsd: terms.limitNanoUsd.toString(),
      allowSplit: req.allowSplit,
      constraints: req.constraints,
      earliestStart: new Date(terms.earliestStart).toISOString(),
      latestStart: new Date(terms.latestStart).toISOString(),
      deadline: new Date(terms.deadline).toISOString(),
      deferrable: req.deferrable,
      forecast: slots,
      submittedAt: new Date(now).toISOString(),
    });
    this.market.submit(spec, now, this.fx);
  }

  /** The market as the gateway's snapshot shows it at `now`. */
  private snapshot(now: number): Snapshot {
    const offers: SnapshotOffer[] = [];
    // In listing order: a Map iterates in insertion order, and an offer is inserted once, when listed.
    for (const { state: o } of this.offers.values()) {
      if (!(o.validFrom <= now && now < o.validUntil)) continue;
      offers.push({
        providerId: o.providerId,
        offerId: o.offerId,
        instrument: o.instrument,
        region: o.region,
        gridZone: o.gridZone,
        validUntil: o.validUntil,
        attributes: o.attributes,
        price: o.price,
        currency: o.currency,
        energyKwhPerUnit: o.energyKwhPerUnit,
        energyIncluded: o.energyIncluded,
        ask: undefined,
      });
    }
    // The gateway merges the slots it reads for the horizon; merging everything once and taking the
    // horizon's part gives the same slots (a merge never moves a slot's bounds outside its own).
    const slots = new Map<string, TariffSlot[]>();
    for (const [zone, feeds] of this.tariffs) {
      let all = this.merged.get(zone);
      if (all === undefined) {
        // Slots that ended before any slot still ahead of the clock began cannot shape one: only
        // overlapping slots do, and the clock never goes back. Leaving them out keeps each merge
        // to the days ahead, not the whole history of the zone (a month's merges were a twentieth
        // of the replay).
        let longest = 0;
        for (const feed of feeds.values()) longest = Math.max(longest, feed.longest);
        const past = now - longest;
        const rows = [];
        for (const [kind, feed] of feeds) {
          for (const s of sortedSlots(feed)) if (s.end > past) rows.push({ kind, start: s.start, end: s.end, price: s.price, currency: feed.currency, unit: feed.unit });
        }
        all = mergeTariffKinds(rows);
        this.merged.set(zone, all);
      }
      slots.set(zone, all.slice(firstEndingAfter(all, now), firstStartingFrom(all, now + FORECAST_HORIZON_MS)));
    }
    return { at: now, offers, slots, rates: this.usd.rates };
  }

  /** The two naive choices at submission: the first-listed eligible offer, and the cheapest on compute alone. */
  private baselines(state: JobState, eligible: readonly SnapshotOffer[]): void {
    for (const o of eligible) {
      const entry = this.offers.get(this.keys.of(o.providerId, o.offerId));
      const priced = entry?.priced;
      if (entry === undefined || priced === undefined || entry.pricedUntil <= this.now) continue;
      state.firstListed ??= priced;
      if (state.cheapest === undefined || priced.computeNanoUsd < state.cheapest.computeNanoUsd) state.cheapest = priced;
    }
  }

  // ---- the clock ------------------------------------------------------------------------------

  /**
   * Runs every timer due by `until`: re-quotes first, then the book's wakes and expiries. Timers
   * due at an input's instant run before it, so a job submitted on a slot boundary sees the
   * boundary's prices (live, the refresher and the request race; here the market is current).
   */
  private advanceTo(until: number): void {
    for (;;) {
      const requote = this.requotes.peek();
      const wake = this.market.nextWakeAt();
      const next = Math.min(requote ?? Number.POSITIVE_INFINITY, wake ?? Number.POSITIVE_INFINITY);
      if (!(next <= until) || next === Number.POSITIVE_INFINITY) return;
      this.now = Math.max(this.now, next);
      for (let key = this.requotes.popDue(this.now); key !== undefined; key = this.requotes.popDue(this.now)) {
        const scheduled = this.requoteAt.get(key);
        if (scheduled === undefined || scheduled > this.now) continue; // superseded by a later schedule
        this.requoteAt.delete(key);
        this.requote(key);
      }
      this.market.advance(this.now, this.fx);
      this.drain();
    }
  }

  /** Takes what the last calls changed: allocations and lifecycle steps, into each job's record. */
  private drain(): void {
    const fx = this.fx;
    if (fx.allocations.length > 0) {
      for (const a of fx.allocations) this.jobs.get(a.jobId)?.allocations.push(a);
      fx.allocations.length = 0;
    }
    if (fx.steps.length > 0) {
      for (const s of fx.steps) this.step(s);
      fx.steps.length = 0;
    }
  }

  private step(s: JobStep): void {
    const state = this.jobs.get(s.jobId);
    if (state === undefined) return;
    state.filledMicro = s.filledMicro;
    switch (s.type) {
      case 'deferred':
        state.deferredUntil ??= s.until;
        state.reason = s.reason;
        break;
      case 'matched':
        state.outcome = 'filled';
        break;
      case 'expired':
      case 'cancelled':
        state.outcome = s.filledMicro > 0n ? 'partially-filled' : 'expired';
        state.reason = s.reason;
        break;
      default:
        break;
    }
  }

  // ---- the report ------------------------------------------------------------------------------

  private report(inputJobs: readonly Located<BacktestJob>[], counts: Report['inputs']): Report {
    const jobs: JobReport[] = [];
    let cost = 0n;
    let first = 0n;
    let cheapest = 0n;
    const count = { filled: 0, partiallyFilled: 0, expired: 0, refused: 0, open: 0 };
    for (const { message: j } of inputJobs) {
      const s = this.jobs.get(j.id) as JobState;
      const allocations = s.allocations.map((a): AllocationReport => {
        const total = a.amountNanoUsd + a.feeNanoUsd;
        return {
          allocationId: a.allocationId,
          providerId: a.providerId,
          offerId: a.offerId,
          region: a.region,
          gridZone: a.gridZone,
          start: new Date(a.matchedAt).toISOString(),
          end: new Date(a.matchedAt + s.runtimeMs).toISOString(),
          quantity: formatQuantity(a.quantityMicro),
          computeNanoUsd: a.computeNanoUsd.toString(),
          energyNanoUsd: a.energyNanoUsd.toString(),
          effectiveNanoUsd: a.effectiveNanoUsd.toString(),
          amountNanoUsd: a.amountNanoUsd.toString(),
          feeNanoUsd: a.feeNanoUsd.toString(),
          totalNanoUsd: total.toString(),
        };
      });
      const filled = s.allocations.reduce((q, a) => q + a.quantityMicro, 0n);
      const total = s.allocations.reduce((t, a) => t + a.amountNanoUsd + a.feeNanoUsd, 0n);
      const baseline = (priced: PricedOffer | undefined): BaselineReport | null => {
        if (priced === undefined) return null;
        const amount = amountNanoUsd(filled, priced.effectiveNanoUsd);
        return {
          providerId: priced.offer.providerId,
          offerId: priced.offer.offerId,
          computeNanoUsd: priced.computeNanoUsd.toString(),
          effectiveNanoUsd: priced.effectiveNanoUsd.toString(),
          totalNanoUsd: (amount + feeNanoUsd(amount, this.feeBps)).toString(),
        };
      };
      const baselines = { firstListed: baseline(s.firstListed), cheapestIgnoringEnergy: baseline(s.cheapest) };
      if (s.outcome === 'filled') count.filled += 1;
      else if (s.outcome === 'partially-filled') count.partiallyFilled += 1;
      else if (s.outcome === 'expired') count.expired += 1;
      else if (s.outcome === 'refused') count.refused += 1;
      else count.open += 1;
      if (filled > 0n) {
        cost += total;
        first += BigInt(baselines.firstListed?.totalNanoUsd ?? total.toString());
        cheapest += BigInt(baselines.cheapestIgnoringEnergy?.totalNanoUsd ?? total.toString());
      }
      jobs.push({
        id: j.id,
        customerId: j.customerId,
        instrument: j.request.instrument,
        quantity: formatQuantity(parseQuantityMicro(j.request.quantity)),
        submittedAt: new Date(j.submittedAt).toISOString(),
        outcome: s.outcome,
        reason: s.reason,
        filledQuantity: formatQuantity(filled),
        deferredUntil: s.deferredUntil === null ? null : new Date(s.deferredUntil).toISOString(),
        allocations,
        totalNanoUsd: total.toString(),
        baselines,
      });
    }
    return {
      inputs: counts,
      jobs,
      totals: {
        jobs: jobs.length,
        ...count,
        costNanoUsd: cost.toString(),
        firstListedNanoUsd: first.toString(),
        cheapestIgnoringEnergyNanoUsd: cheapest.toString(),
      },
    };
  }
}

interface TimeOrder<T> {
  readonly items: readonly Located<T>[];
  readonly times: Float64Array;
}

/**
 * One input's messages by time, file order among equal instants. History files are nearly always
 * in order already, and then nothing is sorted.
 */
function inTimeOrder<T>(items: readonly Located<T>[], timeOf: (message: T) => number): TimeOrder<T> {
  const times = new Float64Array(items.length);
  let sorted = true;
  for (let i = 0; i < items.length; i += 1) {
    const t = timeOf((items[i] as Located<T>).message);
    times[i] = t;
    if (i > 0 && (t < (times[i - 1] as number) || (items[i] as Located<T>).line < (items[i - 1] as Located<T>).line)) sorted = false;
  }
  if (sorted) return { items, times };
  const order = items.map((_, i) => i).sort((a, b) => (times[a] as number) - (times[b] as number) || (items[a] as Located<T>).line - (items[b] as Located<T>).line);
  return { items: order.map((i) => items[i] as Located<T>), times: Float64Array.from(order, (i) => times[i] as number) };
}

/** The index of the first slot (sorted, without overlaps) that ends after `at`. */
function firstEndingAfter(slots: readonly TariffSlot[], at: number): number {
  let lo = 0;
  let hi = slots.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((slots[mid] as TariffSlot).end > at) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The index of the first slot (sorted, without overlaps) that starts at or after `at`. */
function firstStartingFrom(slots: readonly TariffSlot[], at: number): number {
  let lo = 0;
  let hi = slots.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((slots[mid] as TariffSlot).start >= at) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function sortedSlots(feed: TariffFeed): StoredSlot[] {
  feed.sorted ??= [...feed.slots.values()].sort((a, b) => a.start - b.start);
  return feed.sorted;
}

/** The first slot start or end after `at`: until then, which slot is in force cannot change. */
function nextBoundary(slots: readonly StoredSlot[], at: number): number {
  // `slotAt` decides among the last four slots starting at or before `at`: its answer changes
  // only when another slot starts, or when one of those four ends.
  let lo = 0;
  let hi = slots.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((slots[mid] as StoredSlot).start <= at) lo = mid + 1;
    else hi = mid;
  }
  let next = lo < slots.length ? (slots[lo] as StoredSlot).start : Number.POSITIVE_INFINITY;
  for (let i = lo - 1; i >= 0 && i >= lo - 4; i -= 1) {
    const end = (slots[i] as StoredSlot).end;
    if (end > at) next = Math.min(next, end);
  }
  return next;
}

/** The slot containing `at` (the latest start among overlapping ones), by binary search. */
function slotAt(slots: readonly StoredSlot[], at: number): StoredSlot | undefined {
  let lo = 0;
  let hi = slots.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((slots[mid] as StoredSlot).start <= at) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  for (let i = found; i >= 0 && i > found - 4; i -= 1) {
    const s = slots[i] as StoredSlot;
    if (s.start <= at && at < s.end) return s;
  }
  return undefined;
}

const fxTime = (f: FxRate) => instantMs(f.asOf);
const tariffTime = (t: EnergyTariff) => instantMs(t.publishedAt);
const tickTime = (t: OfferTick) => t.at;
const jobTime = (j: BacktestJob) => j.submittedAt;

/** One input's messages in replay order: the instant of the next (+∞ when none is left), and taking it. */
interface Cursor<T> {
  readonly time: number;
  /** Messages taken so far. */
  readonly taken: number;
  take(): T;
}

type Cursors = readonly [Cursor<FxRate>, Cursor<EnergyTariff>, Cursor<OfferTick>, Cursor<BacktestJob>];

class SortedCursor<T> implements Cursor<T> {
  time: number;
  taken = 0;

  constructor(private readonly order: TimeOrder<T>) {
    this.time = order.times.length > 0 ? (order.times[0] as number) : Number.POSITIVE_INFINITY;
  }

  take(): T {
    const { items, times } = this.order;
    const i = this.taken;
    this.taken = i + 1;
    this.time = i + 1 < times.length ? (times[i + 1] as number) : Number.POSITIVE_INFINITY;
    return (items[i] as Located<T>).message;
  }
}

/** A source went back in time: streaming cannot replay it, sorting can (`backtest` does). */
export class OutOfTimeOrder extends Error {
  constructor(readonly line: number) {
    super(`line ${line} is earlier than the line before it`);
    this.name = 'OutOfTimeOrder';
  }
}

class StreamCursor<T> implements Cursor<T> {
  time = Number.POSITIVE_INFINITY;
  taken = 0;
  private readonly source: Iterator<Located<T>>;
  private head: T | undefined;

  constructor(
    source: Iterable<Located<T>>,
    private readonly timeOf: (message: T) => number,
  ) {
    this.source = source[Symbol.iterator]();
    this.pull();
  }

  take(): T {
    const message = this.head as T;
    this.taken += 1;
    this.pull();
    return message;
  }

  close(): void {
    this.source.return?.();
  }

  /** Reads (parses and checks) the next message, so that its instant is known before it is due. */
  private pull(): void {
    const next = this.source.next();
    if (next.done === true) {
      this.head = undefined;
      this.time = Number.POSITIVE_INFINITY;
      return;
    }
    const t = this.timeOf(next.value.message);
    if (t < this.time && this.taken > 0) throw new OutOfTimeOrder(next.value.line);
    this.head = next.value.message;
    this.time = t;
  }
}

/**
 * A backtest of the input files. Ticks, tariffs and FX are replayed as they are read when each
 * file is in time order (history files nearly always are: the feed tool writes them so). A ticks
 * file given as shared bytes (as `readTexts` reads a file) is read by a second thread as well,
 * with the same report (`tick-reader.ts`). A file out of order is found while streaming; the run
 * then starts again on a new Backtester with every input read first and sorted, and gives the
 * same report a sorted file would.
 */
export function backtest(feeBps: number, texts: InputTexts, options: ReadOptions = {}): Report {
  try {
    return new Backtester(feeBps).stream(sourcesOf(texts, options));
  } catch (error) {
    if (!(error instanceof OutOfTimeOrder)) throw error;
  }
  return new Backtester(feeBps).run(inputsOf(texts));
}

