import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource, EntityManager } from 'typeorm';
import { createDataSource } from '#persistence';
import { loadConfig } from '#platform';
import { isMissingPartition, TickPartitions } from './tick-partitions.js';

// A month no other test writes ticks in, its partition dropped before and after.
const INSTANT = '2091-07-15T12:00:00.000Z';
const PARTITION = 'market.spot_price_ticks_2091_07';

function insertTick(m: EntityManager, seq: number): Promise<unknown> {
  return m.query(
    `INSERT INTO market.spot_price_ticks (provider_id, offer_id, seq, instrument, region, grid_zone, price, currency,
       energy_kwh_per_unit, energy_included, capacity, valid_from, valid_until, attributes, published_at)
     VALUES ('partition-probe', 'o1', $1, 'gpu:h100', 'r', 'z', 1, 'USD', 0.7, true, 1, $2, $2::timestamptz + interval '1 hour', '{}', $2)`,
    [seq, INSTANT],
  );
}

describe('TickPartitions on the real database', () => {
  let db: DataSource;

  beforeAll(async () => {
    db = await createDataSource(loadConfig(), { applicationName: 'tick-partitions-int-spec', entities: [] }).initialize();
    await db.query(`DROP TABLE IF EXISTS ${PARTITION}`);
  });

  afterAll(async () => {
    await db.query(`DROP TABLE IF EXISTS ${PARTITION}`);
    await db.destroy();
  });

  it('recovers a month whose partition was made in a transaction that rolled back', async () => {
    const partitions = new TickPartitions();
    await expect(
      db.transaction(async (m) => {
        await partitions.ensureFor(m, [INSTANT]);
        throw new Error('the connection was lost');
      }),
    ).rejects.toThrow('the connection was lost');

    // Remembered, so not asked for again: the insert finds no partition, and says so.
    const failure = await db.transaction((m) => partitions.ensureFor(m, [INSTANT]).then(() => insertTick(m, 1))).catch((e: unknown) => e);
    expect(isMissingPartition(failure)).toBe(true);

    expect(partitions.forget([INSTANT])).toBe(true);
    expect(partitions.forget([INSTANT])).toBe(false);
    await db.transaction(async (m) => {
      await partitions.ensureFor(m, [INSTANT]);
      await insertTick(m, 2);
    });
    const rows: { n: number }[] = await db.query(`SELECT count(*)::int AS n FROM ${PARTITION}`);
    expect(rows[0]?.n).toBe(1);
  });

  it('tells a missing partition from other failures', async () => {
    expect(isMissingPartition(new Error('no partition of relation'))).toBe(false);
    expect(isMissingPartition({ code: '23514', message: 'new row violates check constraint' })).toBe(false);
    const failure = await db.query(`INSERT INTO market.spot_price_ticks (provider_id, offer_id, seq, instrument, region, grid_zone, price, currency,
       energy_kwh_per_unit, energy_included, capacity, valid_from, valid_until, attributes, published_at)
       VALUES ('p', 'o', 1, 'i', 'r', 'z', 1, 'USD', 1, true, 1, '2092-01-01', '2092-01-02', '{}', now())`).catch((e: unknown) => e);
    expect(isMissingPartition(failure)).toBe(true);
  });
});
