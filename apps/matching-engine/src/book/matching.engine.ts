import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Order, Quote, Requeue } from '#contracts';
import { Backoff, sleep } from '#messaging';
import { Effects, Market } from '#order-book';
import { amountNanoUsd, feeNanoUsd, parseQuantityMicro } from '#pricing';
import { CONFIG, LOGGER, type Config } from '#runtime';
import { Clock } from '../clock.js';
import { matchingMetrics } from '../matching.metrics.js';
import { BookStore, offerQuoteOf, orderSpecOf } from './book.store.js';

/** Most commands applied and written in one transaction (bounds its size and its latency). */
const MAX_COMMANDS_PER_STEP = 1_000;

type Command =
  | { readonly kind: 'quotes'; readonly quotes: readonly Quote[] }
  | { readonly kind: 'submit'; readonly order: Order }
  | { readonly kind: 'cancel'; readonly order: Order; readonly reason: string }
  | { readonly kind: 'requeue'; readonly requeue: Requeue }
  | { readonly kind: 'tick' };

interface Pending {
  readonly command: Command;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * The live engine: the pure `Market` core, fed by one queue of commands (quote batches from
 * Kafka, jobs and cancels from BullMQ, timer ticks). Commands are applied in arrival order, one
 * step at a time; each step's effects are written in ONE transaction (group commit), and only
 * then are the callers told it is done, so BullMQ and Kafka acknowledge nothing that is not
 * durable. If a write fails, the in-memory book no longer matches the database: it is rebuilt
 * from PostgreSQL and the step's commands fail, to be retried by their sources; the core is
 * deterministic, so the retry decides the same way.
 */
@Injectable()
export class MatchingEngine implements OnModuleInit, OnApplicationShutdown {
  private readonly market: Market;
  private readonly queue: Pending[] = [];
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private stopped = false;
  /**
   * Settled once the book is first loaded. BullMQ's worker can hand over jobs before that (it
   * starts with the module); a step on the empty book would rest a job that the load then forgets.
   */
  private readonly loaded: Promise<void>;
  private markLoaded!: () => void;

  constructor(
    private readonly store: BookStore,
    private readonly clock: Clock,
    @Inject(CONFIG) config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const feeBps = config.PLATFORM_FEE_BPS;
    this.market = new Market({ amount: amountNanoUsd, fee: (amount) => feeNanoUsd(amount, feeBps) });
    this.loaded = new Promise<void>((resolve) => (this.markLoaded = resolve));
  }

  async onModuleInit(): Promise<void> {
    await this.rebuild();
    this.markLoaded();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  applyQuotes(quotes: readonly Quote[]): Promise<void> {
    return this.enqueue({ kind: 'quotes', quotes });
  }

  submit(order: Order): Promise<void> {
    return this.enqueue({ kind: 'submit', order });
  }

  cancel(order: Order, reason: string): Promise<void> {
    return this.enqueue({ kind: 'cancel', order, reason });
  }

  /** The unfinished remainder of an allocation, back to the book (see `Market.requeue`). */
  requeue(requeue: Requeue): Promise<void> {
    return this.enqueue({ kind: 'requeue', requeue });
  }

  private enqueue(command: Command): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      this.running ??= this.drain().finally(() => {
        this.running = undefined;
        // A command may have arrived while the last step was finishing.
        if (this.queue.length > 0 && !this.stopped) void this.enqueue({ kind: 'tick' });
      });
    });
  }

  private async drain(): Promise<void> {
    await this.loaded;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_COMMANDS_PER_STEP);
      const started = performance.now();
      try {
        await this.step(batch.map((p) => p.command));
        for (const p of batch) p.resolve();
      } catch (error) {
        this.logger.error({ err: error, commands: batch.length }, 'matching step failed; rebuilding the book from PostgreSQL');
        for (const p of batch) p.reject(error);
        await this.rebuild();
      }
      matchingMetrics.stepSeconds.observe((performance.now() - started) / 1_000);
      matchingMetrics.stepCommands.observe(batch.length);
    }
    this.armTimer();
  }

  private async step(commands: readonly Command[]): Promise<void> {
    // Jobs not open in memory may be finished ones being redelivered: ask the database once.
    const unseen = new Set<string>();
    for (const c of commands) {
      if ((c.kind === 'submit' || c.kind === 'cancel') && !this.market.hasOrder(c.order.jobId)) unseen.add(c.order.jobId);
    }
    // A remainder usually comes back for a job that is finished here: its stored record is needed.
    const stored = await this.store.orderRecords([
      ...new Set(commands.flatMap((c) => (c.kind === 'requeue' && !this.market.hasOrder(c.requeue.jobId) ? [c.requeue.jobId] : []))),
    ]);
    const known = await this.store.knownJobs([...unseen]);
    const now = this.clock.now();
    const fx = new Effects();
    for (const c of commands) {
      switch (c.kind) {
        case 'quotes':
          for (const q of c.quotes) this.market.applyQuote(offerQuoteOf(q), now, fx);
          break;
        case 'submit':
          if (known.has(c.order.jobId)) break;
          this.market.submit(orderSpecOf(c.order), now, fx);
          known.add(c.order.jobId);
          break;
        case 'cancel':
          if (this.market.cancel(c.order.jobId, c.reason, now, fx)) break;
          if (known.has(c.order.jobId)) break; // finished already: nothing left to cancel
          this.market.cancelUnseen(orderSpecOf(c.order), c.reason, now, fx);
          known.add(c.order.jobId);
          break;
        case 'requeue': {
          const r = c.requeue;
          // A job this engine never saw cannot have had an allocation: nothing to put back.
          if (!this.market.hasOrder(r.jobId) && !stored.has(r.jobId)) break;
          this.market.requeue(
            stored.get(r.jobId),
            { jobId: r.jobId, allocationId: r.allocationId, remainderMicro: parseQuantityMicro(r.remainder), excludeProvider: r.excludeProvider, reason: r.reason },
            now,
            fx,
          );
          // Two remainders of one job in a step: the second must see the first's record.
          const after = fx.orders.get(r.jobId);
          if (!this.market.hasOrder(r.jobId) && after !== undefined) stored.set(r.jobId, after);
          break;
        }
        case 'tick':
          break;
      }
    }
    this.market.advance(now, fx);
    if (fx.empty) return;
    await this.store.persist(fx);
    this.observe(fx, now);
  }

  private observe(fx: Effects, now: number): void {
    matchingMetrics.allocations.inc(fx.allocations.length);
    for (const s of fx.steps) {
      if (s.type !== 'matched') continue;
      const order = fx.orders.get(s.jobId);
      if (order !== undefined && order.wakeAt === null && order.earliestStart <= order.submittedAt) {
        matchingMetrics.matchLatency.observe(Math.max(0, now - order.submittedAt) / 1_000);
      }
    }
    for (const d of this.market.depth()) {
      matchingMetrics.bookDepth.set({ instrument: d.instrument, side: 'ask' }, d.asks);
      matchingMetrics.bookDepth.set({ instrument: d.instrument, side: 'bid' }, d.bids);
    }
  }

  /** Loads the book from PostgreSQL, waiting out an outage: nothing is matched until it is back. */
  private async rebuild(): Promise<void> {
    const backoff = new Backoff(100, 5_000);
    for (;;) {
      try {
        const now = this.clock.now();
        const { offers, orders } = await this.store.load(new Date(now));
        const fx = new Effects();
        this.market.load(offers, orders, now, fx);
        // Loading re-rests open jobs; any fill that makes is a new match, and is written as one.
        if (!fx.empty) await this.store.persist(fx);
        matchingMetrics.rebuilds.inc();
        this.logger.info({ offers: offers.length, orders: orders.length }, 'book loaded from PostgreSQL');
        return;
      } catch (error) {
        if (this.stopped) return;
        this.logger.warn({ err: error }, 'cannot load the book yet; retrying');
        await sleep(backoff.next());
      }
    }
  }

  /** One timer, at the earliest wake or expiry the core has asked for. */
  private armTimer(): void {
    const at = this.market.nextWakeAt();
    if (this.stopped || at === undefined || at === this.timerAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    // setTimeout caps at 2^31-1 ms; a later wake re-arms when this one fires.
    const delay = Math.min(Math.max(0, at - this.clock.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.enqueue({ kind: 'tick' }).catch(() => undefined);
    }, delay);
    this.timer.unref();
  }
}
