import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { instantMs } from '#contracts';
import { AppSchema } from '#persistence';

/** Bound on the months remembered as existing (a replay of years of history stays small). */
const MAX_KNOWN_MONTHS = 1_200;

/**
 * The first day of an instant's month (UTC), as PostgreSQL's `date` reads it. A chunk's ticks fall
 * in one month or two, so the last month's bounds are kept: a `Date` and its ISO string per tick
 * were 2% of market-data's time while draining.
 */
export function monthOf(instant: string): string {
  const ms = instantMs(instant);
  if (ms >= lastMonth.from && ms < lastMonth.until) return lastMonth.name;
  const d = new Date(ms);
  const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  lastMonth = { from, until: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1), name: `${d.toISOString().slice(0, 7)}-01` };
  return lastMonth.name;
}
let lastMonth = { from: 0, until: 0, name: '' };

/** Whether an insert failed because no partition takes a row's `valid_from`. */
export function isMissingPartition(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; driverError?: unknown } | null;
  if (typeof e !== 'object' || e === null) return false;
  if (e.code === '23514' && typeof e.message === 'string' && e.message.startsWith('no partition of relation')) return true;
  return isMissingPartition(e.driverError);
}

/**
 * Makes sure the monthly partition of every tick's `valid_from` exists before the insert, asking
 * PostgreSQL only for months this process has not seen yet.
 *
 * A month is remembered as soon as it was asked for, inside the chunk's transaction. If that
 * transaction rolls back (a lost connection after the ask), the partition it made is gone while
 * the month is still remembered, and every later tick of the month would fail to insert. So the
 * caller hands such a failure to `forget`, and retries the chunk, which asks again.
 */
@Injectable()
export class TickPartitions {
  private readonly known = new Set<string>();

  async ensureFor(manager: EntityManager, instants: readonly string[]): Promise<void> {
    const months = new Set(instants.map(monthOf));
    const missing = [...months].filter((m) => !this.known.has(m));
    if (missing.length === 0) return;
    await manager.query(`SELECT "${AppSchema.Market}".ensure_tick_partition(m::date) FROM unnest($1::text[]) AS m`, [missing]);
    if (this.known.size + missing.length > MAX_KNOWN_MONTHS) this.known.clear();
    for (const m of missing) this.known.add(m);
  }

  /**
   * Forgets the months of these instants. True when any was remembered: then the insert trusted
   * the memory, and a retry that asks again can succeed. False means it asked and still failed.
   */
  forget(instants: readonly string[]): boolean {
    let remembered = false;
    for (const m of new Set(instants.map(monthOf))) remembered = this.known.delete(m) || remembered;
    return remembered;
  }
}
