import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppSchema } from '#persistence';

/** Bound on the months remembered as existing (a replay of years of history stays small). */
const MAX_KNOWN_MONTHS = 1_200;

/**
 * Makes sure the monthly partition of every tick's `valid_from` exists before the insert, asking
 * PostgreSQL only for months this process has not seen yet.
 */
@Injectable()
export class TickPartitions {
  private readonly known = new Set<string>();

  async ensureFor(manager: EntityManager, instants: readonly string[]): Promise<void> {
    const months = new Set(instants.map((i) => `${new Date(i).toISOString().slice(0, 7)}-01`));
    const missing = [...months].filter((m) => !this.known.has(m));
    if (missing.length === 0) return;
    await manager.query(`SELECT "${AppSchema.Market}".ensure_tick_partition(m::date) FROM unnest($1::text[]) AS m`, [missing]);
    // Remember only once the transaction that made them has a chance to commit; a rollback merely
    // makes the next chunk ask again (the function is idempotent).
    if (this.known.size + missing.length > MAX_KNOWN_MONTHS) this.known.clear();
    for (const m of missing) this.known.add(m);
  }
}
