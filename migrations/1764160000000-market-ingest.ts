import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Market data proper: signed feeds, per-offer sequence numbers, tariffs, FX and quotes.
 *
 * - Ticks move to a table partitioned by month of `valid_from`; partitions are made on demand by
 *   `market.ensure_tick_partition` (no default partition, so a month can always be added later).
 *   Uniqueness of (provider, offer, seq) is kept by `market.offers.last_seq`, under a row lock.
 * - Stale or duplicate sequence numbers are recorded in `tick_rejections`, never applied.
 * - Feed keys: the HMAC secret a provider signs its ticks with, named by a key id.
 */
export class MarketIngest1764160000000 implements MigrationInterface {
  name = 'MarketIngest1764160000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE market.spot_price_ticks`);
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
        CONSTRAINT "PK_market_spot_price_ticks" PRIMARY KEY (provider_id, offer_id, seq, valid_from)
      ) PARTITION BY RANGE (valid_from)`);
    // BRIN, not B-tree: ticks arrive roughly in time order, and a B-tree per row was a third of the
    // cost of storing a tick. History reads scan a month's partition by time range anyway.
    await q.query(`CREATE INDEX spot_price_ticks_valid_from_brin ON market.spot_price_ticks USING brin (valid_from)`);
    await q.query(`
      CREATE FUNCTION market.ensure_tick_partition(month date) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE
        first date := date_trunc('month', month)::date;
        name text := format('spot_price_ticks_%s', to_char(first, 'YYYY_MM'));
        -- Months in UTC, whatever the session's time zone.
        lo timestamptz := first::timestamp AT TIME ZONE 'UTC';
        hi timestamptz := (first + interval '1 month')::timestamp AT TIME ZONE 'UTC';
      BEGIN
        IF to_regclass(format('market.%I', name)) IS NULL THEN
          -- Consumers of different Kafka partitions may meet a new month at once: one creates it.
          PERFORM pg_advisory_xact_lock(hashtext('market.spot_price_ticks.partitions'));
          EXECUTE format('CREATE TABLE IF NOT EXISTS market.%I PARTITION OF market.spot_price_ticks FOR VALUES FROM (%L) TO (%L)',
                         name, lo, hi);
        END IF;
      END $$`);

    await q.query(`
      CREATE TABLE market.offers (
        provider_id text NOT NULL,
        offer_id text NOT NULL,
        last_seq bigint NOT NULL,
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
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_market_offers" PRIMARY KEY (provider_id, offer_id)
      )`);
    await q.query(`CREATE INDEX offers_grid_zone_idx ON market.offers (grid_zone)`);
    await q.query(`CREATE INDEX offers_instrument_region_idx ON market.offers (instrument, region)`);

    await q.query(`
      CREATE TABLE market.tick_rejections (
        id bigserial NOT NULL,
        provider_id text NOT NULL,
        offer_id text NOT NULL,
        seq bigint NOT NULL,
        last_seq bigint NOT NULL,
        reason text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_market_tick_rejections" PRIMARY KEY (id),
        CONSTRAINT tick_rejections_reason_check CHECK (reason IN ('stale-seq', 'duplicate-seq'))
      )`);
    await q.query(`CREATE INDEX tick_rejections_offer_idx ON market.tick_rejections (provider_id, offer_id)`);

    await q.query(`
      CREATE TABLE market.feed_keys (
        key_id text NOT NULL,
        provider_id text NOT NULL,
        secret text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz,
        CONSTRAINT "PK_market_feed_keys" PRIMARY KEY (key_id)
      )`);
    await q.query(`CREATE INDEX feed_keys_provider_idx ON market.feed_keys (provider_id)`);
    await q.query(`
      CREATE FUNCTION market.feed_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('market_feed_keys', '');
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER feed_keys_notify AFTER INSERT OR UPDATE OR DELETE ON market.feed_keys
      FOR EACH STATEMENT EXECUTE FUNCTION market.feed_keys_notify()`);

    await q.query(`
      CREATE TABLE market.tariff_feeds (
        zone text NOT NULL,
        kind text NOT NULL,
        last_seq bigint NOT NULL,
        currency text NOT NULL,
        unit text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_market_tariff_feeds" PRIMARY KEY (zone, kind)
      )`);
    await q.query(`
      CREATE TABLE market.tariff_slots (
        zone text NOT NULL,
        kind text NOT NULL,
        slot_start timestamptz NOT NULL,
        slot_end timestamptz NOT NULL,
        price numeric NOT NULL,
        currency text NOT NULL,
        unit text NOT NULL,
        seq bigint NOT NULL,
        CONSTRAINT "PK_market_tariff_slots" PRIMARY KEY (zone, kind, slot_start),
        CONSTRAINT tariff_slots_window_check CHECK (slot_end > slot_start)
      )`);
    await q.query(`CREATE INDEX tariff_slots_zone_end_idx ON market.tariff_slots (zone, slot_end)`);

    await q.query(`
      CREATE TABLE market.fx_rates (
        base character(3) NOT NULL,
        quote character(3) NOT NULL,
        as_of timestamptz NOT NULL,
        rate numeric NOT NULL,
        CONSTRAINT "PK_market_fx_rates" PRIMARY KEY (base, quote, as_of),
        CONSTRAINT fx_rates_positive_check CHECK (rate > 0)
      )`);

    await q.query(`
      CREATE TABLE market.quotes (
        provider_id text NOT NULL,
        offer_id text NOT NULL,
        instrument text NOT NULL,
        region text NOT NULL,
        grid_zone text NOT NULL,
        compute_nano_usd bigint NOT NULL,
        energy_nano_usd bigint NOT NULL,
        effective_nano_usd bigint NOT NULL,
        capacity numeric NOT NULL,
        valid_until timestamptz NOT NULL,
        as_of timestamptz NOT NULL,
        tick_seq bigint NOT NULL,
        tariff_seq bigint,
        fx_as_of timestamptz,
        CONSTRAINT "PK_market_quotes" PRIMARY KEY (provider_id, offer_id)
      )`);
    await q.query(`CREATE INDEX quotes_instrument_effective_idx ON market.quotes (instrument, effective_nano_usd)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['quotes', 'fx_rates', 'tariff_slots', 'tariff_feeds', 'feed_keys', 'tick_rejections', 'offers', 'spot_price_ticks']) {
      await q.query(`DROP TABLE market.${t}`);
    }
    await q.query(`DROP FUNCTION market.ensure_tick_partition(date)`);
    await q.query(`DROP FUNCTION market.feed_keys_notify()`);
    await new (await import('./1764150001000-market-spot-price-ticks.js')).MarketSpotPriceTicks1764150001000().up(q);
  }
}
