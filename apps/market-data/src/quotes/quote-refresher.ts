import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AppSchema } from '#persistence';
import { LOGGER } from '#runtime';
import { Clock } from '../clock.js';
import { QuoteService } from './quote.service.js';

/** Longest sleep between sweeps: also the bound on how stale a quote can be after a missed wake. */
const MAX_SLEEP_MS = 30_000;
/** Shortest sleep, so a burst of boundaries cannot spin the loop. */
const MIN_SLEEP_MS = 50;
/** How soon a sweep follows a consumer that could not price an offer. */
const RETRY_SOON_MS = 250;
/** How soon to try again when another sweep holds the lock. */
const BUSY_RETRY_MS = 100;

/**
 * Prices change without any message arriving: a tariff slot ends, an offer's validity starts.
 * The refresher sleeps until the next such instant (capped) and re-quotes every offer in force.
 * One instance sweeps at a time (an advisory lock held for the duration of the sweep).
 */
@Injectable()
export class QuoteRefresher implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  /** When the pending timer fires (epoch ms). */
  private nextAt = Number.POSITIVE_INFINITY;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly quotes: QuoteService,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  /** Runs one sweep now; returns how many quotes changed, or undefined when another sweep runs. */
  async sweep(): Promise<number | undefined> {
    const now = this.clock.now();
    return this.dataSource.transaction(async (manager) => {
      const [lock] = await manager.query(`SELECT pg_try_advisory_xact_lock(hashtext('market.quote-refresher')) AS ok`);
      if (lock?.ok !== true) return undefined;
      return (await this.quotes.refresh(manager, await this.quotes.offersInForce(manager, now), now)).published;
    });
  }

  /**
   * Called by the consumers with an instant at which a price they just stored changes (a slot
   * boundary, a future tick's start): the refresher wakes then if that is sooner than planned.
   */
  wakeBy(at: number): void {
    this.schedule(Math.max(MIN_SLEEP_MS, at - this.clock.now().getTime() + 1));
  }

  /**
   * Consumers of different partitions commit independently: a tick can be priced while the tariff
   * or FX rate it needs is still uncommitted in another transaction, and that one sees no offer
   * yet. Whoever could not price something asks for a sweep just after, when both have committed.
   */
  retrySoon(): void {
    this.wakeBy(this.clock.now().getTime() + RETRY_SOON_MS);
  }

  /**
   * One pending timer, at the earliest instant anyone asked for. A wake asked for while a sweep
   * runs gets a sweep of its own afterwards: the running one may have read before a commit.
   */
  private schedule(ms: number): void {
    if (this.stopped) return;
    const at = this.clock.now().getTime() + ms;
    if (this.timer !== undefined && this.nextAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.nextAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.nextAt = Number.POSITIVE_INFINITY;
      this.running = this.tick();
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let next: number;
    try {
      const changed = await this.sweep();
      if (changed !== undefined && changed > 0) this.logger.debug({ changed }, 'quotes refreshed');
      // Another sweep held the lock (this instance's or another's): try again shortly, as the
      // wake that brought us here may concern data that sweep did not see.
      next = changed === undefined ? BUSY_RETRY_MS : await this.msToNextChange();
    } catch (error) {
      this.logger.warn({ err: error }, 'quote refresh failed; retrying');
      next = 1_000;
    }
    this.schedule(next);
  }

  private async msToNextChange(): Promise<number> {
    const now = this.clock.now();
    const [row]: { next: Date | null }[] = await this.dataSource.query(
      `SELECT least(
         (SELECT min(slot_start) FROM "${AppSchema.Market}".tariff_slots WHERE slot_start > $1),
         (SELECT min(slot_end) FROM "${AppSchema.Market}".tariff_slots WHERE slot_end > $1 AND slot_start <= $1),
         (SELECT min(valid_from) FROM "${AppSchema.Market}".offers WHERE valid_from > $1)
       ) AS next`,
      [now],
    );
    if (row?.next == null) return MAX_SLEEP_MS;
    return Math.min(MAX_SLEEP_MS, Math.max(MIN_SLEEP_MS, row.next.getTime() - now.getTime() + 1));
  }
}
