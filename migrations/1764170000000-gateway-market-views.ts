import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The gateway reads market data through views in its own schema: it never touches market's
 * tables, and the views are the whole surface it depends on (market can change its tables behind
 * them). Feed keys are visible so the HTTP feed can verify signatures before publishing.
 */
export class GatewayMarketViews1764170000000 implements MigrationInterface {
  name = 'GatewayMarketViews1764170000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE VIEW gateway.market_quotes AS
      SELECT provider_id, offer_id, instrument, region, grid_zone, compute_nano_usd, energy_nano_usd, effective_nano_usd,
             capacity, valid_until, as_of, tick_seq, tariff_seq, fx_as_of
        FROM market.quotes`);
    await q.query(`CREATE VIEW gateway.market_offers AS
      SELECT provider_id, offer_id, last_seq, instrument, region, grid_zone, price, currency, energy_kwh_per_unit,
             energy_included, capacity, valid_from, valid_until, attributes, updated_at
        FROM market.offers`);
    await q.query(`CREATE VIEW gateway.market_ticks AS
      SELECT provider_id, offer_id, seq, instrument, region, grid_zone, price, currency, energy_kwh_per_unit,
             energy_included, capacity, valid_from, valid_until, published_at, received_at
        FROM market.spot_price_ticks`);
    await q.query(`CREATE VIEW gateway.market_tariff_slots AS
      SELECT zone, kind, slot_start, slot_end, price, currency, unit, seq FROM market.tariff_slots`);
    await q.query(`CREATE VIEW gateway.market_feed_keys AS
      SELECT key_id, provider_id, secret, revoked_at IS NOT NULL AS revoked FROM market.feed_keys`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const v of ['market_feed_keys', 'market_tariff_slots', 'market_ticks', 'market_offers', 'market_quotes']) {
      await q.query(`DROP VIEW gateway.${v}`);
    }
  }
}
