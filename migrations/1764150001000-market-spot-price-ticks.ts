import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Provider ticks as published: prices, energy and capacity exact (`numeric`), never floats. */
export class MarketSpotPriceTicks1764150001000 implements MigrationInterface {
  name = 'MarketSpotPriceTicks1764150001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE market.spot_price_ticks (
        provider_id text NOT NULL,
        offer_id text NOT NULL,
        seq bigint NOT NULL,
        instrument text NOT NULL,
        region text NOT NULL,
        grid_zone text NOT NULL,
        price numeric NOT NULL,
        currency character(3) NOT NULL,
        energy_kwh_per_unit numeric NOT NULL,
        energy_included boolean NOT NULL,
        capacity numeric NOT NULL,
        valid_from timestamptz NOT NULL,
        valid_until timestamptz NOT NULL,
        attributes jsonb NOT NULL,
        published_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_market_spot_price_ticks" PRIMARY KEY (provider_id, offer_id, seq)
      )`);
    await q.query(`CREATE INDEX spot_price_ticks_instrument_valid_from_idx ON market.spot_price_ticks (instrument, valid_from)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE market.spot_price_ticks`);
  }
}
