import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Offers and quotes are rewritten on every tick, a few thousand rows updated over and over
 * (docs/decisions/0005-market-data.md, "Updates in place"). bench:ingest showed 350 of 117,552
 * offer updates and none of the quote updates done in place (HOT): each update wrote a new entry
 * into every index of its table.
 *
 * - `quotes_instrument_effective_idx` indexed the effective price, which every tick changes, so
 *   no quote update could be HOT. The gateway's quote listings (through `gateway.market_quotes`)
 *   find an instrument's quotes by an index on the instrument alone, which a tick does not change,
 *   and sort the instrument's few rows. No query reads `market.offers` by instrument and region.
 * - Half of each page is left free, so the new version of a row fits beside the old one once
 *   pruning has cleared the version before it. Both tables hold one row per offer: the space is
 *   small.
 */
export class MarketHotUpdates1764310000000 implements MigrationInterface {
  name = 'MarketHotUpdates1764310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX market.quotes_instrument_effective_idx`);
    await q.query(`CREATE INDEX quotes_instrument_idx ON market.quotes (instrument)`);
    await q.query(`DROP INDEX market.offers_instrument_region_idx`);
    await q.query(`ALTER TABLE market.quotes SET (fillfactor = 50)`);
    await q.query(`ALTER TABLE market.offers SET (fillfactor = 50)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE market.offers RESET (fillfactor)`);
    await q.query(`ALTER TABLE market.quotes RESET (fillfactor)`);
    await q.query(`CREATE INDEX offers_instrument_region_idx ON market.offers (instrument, region)`);
    await q.query(`CREATE INDEX quotes_instrument_effective_idx ON market.quotes (instrument, effective_nano_usd)`);
    await q.query(`DROP INDEX market.quotes_instrument_idx`);
  }
}
