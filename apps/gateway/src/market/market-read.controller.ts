import { Controller, Get, Param, Query } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { bestEffectiveHistory, type OfferState } from '#market';
import { formatAtomic, USD_SCALE } from '#pricing';
import { AppSchema } from '#persistence';
import { Access, Doc, parseRequest } from '#runtime';
import { decodeCursor, encodeCursor } from './cursor.js';
import { depthQuery, effectiveHistoryQuery, forwardQuery, instrumentParam, MAX_DEPTH, intervalSeconds, ohlcQuery, quotesQuery, tariffHistoryQuery, zoneParam } from './market.queries.js';

const V = AppSchema.Gateway;

interface QuoteRow {
  provider_id: string;
  offer_id: string;
  instrument: string;
  region: string;
  grid_zone: string;
  compute_nano_usd: string;
  energy_nano_usd: string;
  effective_nano_usd: string;
  capacity: string;
  valid_until: Date;
  as_of: Date;
}

/** A price as every market answer gives it: the compute/energy split in nano-USD, and the total in USD too. */
export function priceSplitView(r: { compute_nano_usd: string; energy_nano_usd: string; effective_nano_usd: string }) {
  return {
    computeNanoUsd: r.compute_nano_usd,
    energyNanoUsd: r.energy_nano_usd,
    effectiveNanoUsd: r.effective_nano_usd,
    // The same amount as a USD decimal string, for people; the nano fields are for programs.
    effectiveUsd: formatAtomic(BigInt(r.effective_nano_usd), USD_SCALE),
  };
}

export function quoteView(r: QuoteRow) {
  return {
    providerId: r.provider_id,
    offerId: r.offer_id,
    instrument: r.instrument,
    region: r.region,
    gridZone: r.grid_zone,
    ...priceSplitView(r),
    capacity: r.capacity,
    validUntil: r.valid_until.toISOString(),
    asOf: r.as_of.toISOString(),
  };
}

/**
 * Market data, for every principal (the prices are what the market publishes): instruments, live
 * quotes, price and tariff history.
 */
@Controller('v1')
@Access.roles('customer', 'provider', 'finance', 'admin')
export class MarketReadController {
  constructor(private readonly dataSource: DataSource) {}

  /** Instruments with live quotes: where they are offered, how many offers, the best price. */
  @Doc({ tag: 'market', summary: 'Instruments with live quotes', responseExample: { instruments: [{ instrument: 'gpu:h100', regions: ['eu-west-1', 'us-east-1'], offers: 14, bestEffectiveNanoUsd: '2148000000', bestEffectiveUsd: '2.148' }] } })
  @Get('instruments')
  async instruments() {
    const rows: { instrument: string; regions: string[]; offers: number; best: string }[] = await this.dataSource.query(
      `SELECT instrument, array_agg(DISTINCT region ORDER BY region) AS regions, count(*)::int AS offers,
              min(effective_nano_usd)::text AS best
         FROM "${V}".market_quotes WHERE valid_until > now() GROUP BY instrument ORDER BY instrument`,
    );
    return {
      instruments: rows.map((r) => ({ instrument: r.instrument, regions: r.regions, offers: r.offers, bestEffectiveNanoUsd: r.best, bestEffectiveUsd: formatAtomic(BigInt(r.best), USD_SCALE) })),
    };
  }

  /** Live quotes of one instrument, best (lowest effective price) first, with the compute/energy split. */
  @Doc({ tag: 'market', summary: 'Live quotes of an instrument, cheapest first', query: quotesQuery, responseExample: { items: [{ providerId: 'gpu-east', offerId: 'h100-use1', instrument: 'gpu:h100', region: 'us-east-1', gridZone: 'PJM', computeNanoUsd: '2100000000', energyNanoUsd: '48000000', effectiveNanoUsd: '2148000000', effectiveUsd: '2.148', capacity: '64', validUntil: '2026-11-27T10:00:00.000Z', asOf: '2026-11-27T09:30:00.000Z' }], nextCursor: null } })
  @Get('quotes')
  async quotes(@Query() raw: unknown) {
    const q = parseRequest(quotesQuery, raw, 'query');
    const after = decodeCursor(q.cursor, 3);
    const rows: QuoteRow[] = await this.dataSource.query(
      `SELECT * FROM "${V}".market_quotes
        WHERE instrument = $1 AND valid_until > now() AND ($2::text IS NULL OR region = $2)
          AND ($3::bigint IS NULL OR (effective_nano_usd, provider_id, offer_id) > ($3::bigint, $4::text, $5::text))
        ORDER BY effective_nano_usd, provider_id, offer_id LIMIT $6`,
      [q.instrument, q.region ?? null, after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, q.limit + 1],
    );
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      items: page.map(quoteView),
      nextCursor: rows.length > q.limit && last !== undefined ? encodeCursor([last.effective_nano_usd, last.provider_id, last.offer_id]) : null,
    };
  }

  /**
   * The book's ask ladder for an instrument (and a region): each live ask, cheapest effective
   * price first, with its compute/energy split, what is left of it, and the running total; and the
   * depth per region. What the matching engine would fill a bid from, as of now.
   */
  @Get('depth')
  @Doc({
    tag: 'market',
    summary: 'Order-book depth: the ask ladder with its compute/energy split',
    query: depthQuery,
    responseExample: {
      instrument: 'gpu:h100',
      region: null,
      asOf: '2026-11-27T09:30:00.000Z',
      asks: [
        { providerId: 'gpu-east', offerId: 'h100-use1', region: 'us-east-1', gridZone: 'PJM', computeNanoUsd: '2100000000', energyNanoUsd: '48000000', effectiveNanoUsd: '2148000000', effectiveUsd: '2.148', available: '64', cumulative: '64', validUntil: '2026-11-27T10:00:00.000Z' },
      ],
      regions: [{ region: 'us-east-1', asks: 3, available: '96', bestEffectiveNanoUsd: '2148000000' }],
    },
  })
  async depth(@Query() raw: unknown) {
    const q = parseRequest(depthQuery, raw, 'query');
    const rows: { provider_id: string; offer_id: string; region: string; grid_zone: string; compute_nano_usd: string; energy_nano_usd: string; effective_nano_usd: string; available_micro: string; valid_until: Date }[] =
      await this.dataSource.query(
        `SELECT provider_id, offer_id, region, grid_zone, compute_nano_usd::text AS compute_nano_usd, energy_nano_usd::text AS energy_nano_usd,
                effective_nano_usd::text AS effective_nano_usd, available_micro::text AS available_micro, valid_until
           FROM "${V}".matching_asks
          WHERE instrument = $1 AND ($2::text IS NULL OR region = $2) AND available_micro > 0 AND valid_until > now()
          ORDER BY matching_asks.effective_nano_usd, matching_asks.priority LIMIT 5000`,
        [q.instrument, q.region ?? null],
      );
    let cumulative = 0n;
    const regions = new Map<string, { asks: number; available: bigint; best: string }>();
    for (const r of rows) {
      const g = regions.get(r.region) ?? { asks: 0, available: 0n, best: r.effective_nano_usd };
      g.asks += 1;
      g.available += BigInt(r.available_micro);
      regions.set(r.region, g);
    }
    return {
      instrument: q.instrument,
      region: q.region ?? null,
      asOf: new Date().toISOString(),
      asks: rows.slice(0, MAX_DEPTH).map((r) => {
        cumulative += BigInt(r.available_micro);
        return {
          providerId: r.provider_id,
          offerId: r.offer_id,
          region: r.region,
          gridZone: r.grid_zone,
          ...priceSplitView(r),
          available: formatAtomic(BigInt(r.available_micro), 6),
          cumulative: formatAtomic(cumulative, 6),
          validUntil: r.valid_until.toISOString(),
        };
      }),
      regions: [...regions.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([region, g]) => ({ region, asks: g.asks, available: formatAtomic(g.available, 6), bestEffectiveNanoUsd: g.best })),
    };
  }

  /** OHLC of the published compute price per interval, per region and currency, from the ticks. */
  @Doc({ tag: 'market', summary: 'OHLC of the published compute price', params: { instrument: instrumentParam }, query: ohlcQuery, responseExample: { instrument: 'gpu:h100', interval: '1h', from: '2026-11-26T00:00:00.000Z', to: '2026-11-27T00:00:00.000Z', series: [{ region: 'us-east-1', currency: 'USD', start: '2026-11-26T00:00:00.000Z', open: '2.10', high: '2.31', low: '2.02', close: '2.19', ticks: 58 }] } })
  @Get('instruments/:instrument/ohlc')
  async ohlc(@Param('instrument') instrumentRaw: string, @Query() raw: unknown) {
    const instrument = parseRequest(instrumentParam, instrumentRaw, 'path');
    const q = parseRequest(ohlcQuery, raw, 'query');
    const rows: { region: string; currency: string; bucket: Date; open: string; high: string; low: string; close: string; ticks: number }[] = await this.dataSource.query(
      `SELECT region, currency, bucket,
              (array_agg(price ORDER BY valid_from, seq))[1]::text AS open, max(price)::text AS high, min(price)::text AS low,
              (array_agg(price ORDER BY valid_from DESC, seq DESC))[1]::text AS close, count(*)::int AS ticks
         FROM (SELECT region, currency, price, valid_from, seq,
                      date_bin(make_interval(secs => $4), valid_from, TIMESTAMPTZ 'epoch') AS bucket
                 FROM "${V}".market_ticks
                WHERE instrument = $1 AND valid_from >= $2 AND valid_from < $3 AND ($5::text IS NULL OR region = $5)) t
        GROUP BY region, currency, bucket ORDER BY region, currency, bucket`,
      [instrument, q.from, q.to, intervalSeconds(q.interval), q.region ?? null],
    );
    return {
      instrument,
      interval: q.interval,
      from: q.from.toISOString(),
      to: q.to.toISOString(),
      series: rows.map((r) => ({ region: r.region, currency: r.currency.trim(), start: r.bucket.toISOString(), open: r.open, high: r.high, low: r.low, close: r.close, ticks: r.ticks })),
    };
  }

  /**
   * The best effective price over time, recomputed from the stored ticks, tariffs and FX rates
   * by the live quoting rule (quotes themselves are kept current only, not as history).
   */
  @Get('instruments/:instrument/effective')
  @Doc({
    tag: 'market',
    summary: 'The best effective price over time, with its compute/energy split',
    params: { instrument: instrumentParam },
    query: effectiveHistoryQuery,
    responseExample: {
      instrument: 'gpu:h100',
      interval: '5m',
      points: [{ at: '2026-11-27T09:00:00.000Z', providerId: 'gpu-east', offerId: 'h100-use1', region: 'us-east-1', computeNanoUsd: '2100000000', energyNanoUsd: '48000000', effectiveNanoUsd: '2148000000', effectiveUsd: '2.148' }],
    },
  })
  async effective(@Param('instrument') instrumentRaw: string, @Query() raw: unknown) {
    const instrument = parseRequest(instrumentParam, instrumentRaw, 'path');
    const q = parseRequest(effectiveHistoryQuery, raw, 'query');
    const step = intervalSeconds(q.interval) * 1_000;
    const ticks: { provider_id: string; offer_id: string; seq: string; region: string; grid_zone: string; price: string; currency: string; energy_kwh_per_unit: string; energy_included: boolean; capacity: string; valid_from: Date; valid_until: Date }[] =
      await this.dataSource.query(
        `SELECT provider_id, offer_id, seq, region, grid_zone, price::text AS price, currency, energy_kwh_per_unit::text AS energy_kwh_per_unit, energy_included,
                capacity::text AS capacity, valid_from, valid_until
           FROM "${V}".market_ticks
          WHERE instrument = $1 AND valid_from < $3 AND valid_until > $2 AND ($4::text IS NULL OR region = $4)
          ORDER BY valid_from LIMIT 20000`,
        [instrument, q.from, q.to, q.region ?? null],
      );
    const zones = [...new Set(ticks.filter((t) => !t.energy_included).map((t) => t.grid_zone))];
    const [slots, fx]: [{ zone: string; kind: string; slot_start: Date; slot_end: Date; price: string; currency: string; unit: 'kWh' | 'MWh'; seq: string }[], { base: string; quote: string; rate: string; as_of: Date }[]] =
      await Promise.all([
        zones.length === 0
          ? []
          : this.dataSource.query(
              `SELECT zone, kind, slot_start, slot_end, price::text AS price, currency, unit, seq FROM "${V}".market_tariff_slots
                WHERE zone = ANY($1) AND slot_end > $2 AND slot_start < $3 LIMIT 50000`,
              [zones, q.from, q.to],
            ),
        // The rate in force when the window opens, and every one published during it.
        this.dataSource.query(
          `(SELECT DISTINCT ON (base, quote) base, quote, rate::text AS rate, as_of FROM "${V}".market_fx_rates WHERE as_of <= $1 ORDER BY base, quote, as_of DESC)
           UNION ALL
           (SELECT base, quote, rate::text AS rate, as_of FROM "${V}".market_fx_rates WHERE as_of > $1 AND as_of < $2 ORDER BY as_of LIMIT 10000)`,
          [q.from, q.to],
        ),
      ]);
    const offers: OfferState[] = ticks.map((t) => ({
      providerId: t.provider_id,
      offerId: t.offer_id,
      lastSeq: Number(t.seq),
      instrument,
      region: t.region,
      gridZone: t.grid_zone,
      price: t.price,
      currency: t.currency.trim(),
      energyKwhPerUnit: t.energy_kwh_per_unit,
      energyIncluded: t.energy_included,
      capacity: t.capacity,
      validFrom: t.valid_from.getTime(),
      validUntil: t.valid_until.getTime(),
      // Pricing never reads the attributes; the tick history does not keep them.
      attributes: { tier: 'spot', interruptible: false, dataPolicy: 'no-retention', hardware: 'n/a' },
    }));
    const at: number[] = [];
    for (let t = Math.ceil(q.from.getTime() / step) * step; t < q.to.getTime(); t += step) at.push(t);
    const points = bestEffectiveHistory(
      offers,
      slots.map((s) => ({ zone: s.zone, kind: s.kind, start: s.slot_start.getTime(), end: s.slot_end.getTime(), price: s.price, currency: s.currency.trim(), unit: s.unit, seq: Number(s.seq) })),
      fx.map((r) => ({ base: r.base.trim(), quote: r.quote.trim(), rate: r.rate, asOf: r.as_of })),
      at,
    );
    return {
      instrument,
      interval: q.interval,
      points: points.flatMap((p) =>
        p === undefined
          ? []
          : [
              {
                at: new Date(p.at).toISOString(),
                providerId: p.providerId,
                offerId: p.offerId,
                region: p.region,
                computeNanoUsd: p.computeNanoUsd.toString(),
                energyNanoUsd: p.energyNanoUsd.toString(),
                effectiveNanoUsd: p.effectiveNanoUsd.toString(),
                effectiveUsd: formatAtomic(p.effectiveNanoUsd, USD_SCALE),
              },
            ],
      ),
    };
  }

  /** A zone's tariff slots in a time range, oldest first, paged. */
  @Doc({ tag: 'market', summary: "A grid zone's tariff slots in a range", params: { zone: zoneParam }, query: tariffHistoryQuery, responseExample: { zone: 'DE', items: [{ kind: 'day-ahead', start: '2026-11-27T09:00:00.000Z', end: '2026-11-27T09:30:00.000Z', price: '84.20', currency: 'EUR', unit: 'MWh', seq: 311 }], nextCursor: null } })
  @Get('zones/:zone/tariffs')
  async tariffs(@Param('zone') zoneRaw: string, @Query() raw: unknown) {
    const zone = parseRequest(zoneParam, zoneRaw, 'path');
    const q = parseRequest(tariffHistoryQuery, raw, 'query');
    const after = decodeCursor(q.cursor, 2);
    const rows: SlotRow[] = await this.dataSource.query(
      `SELECT kind, slot_start, slot_end, price::text AS price, currency, unit, seq FROM "${V}".market_tariff_slots
        WHERE zone = $1 AND slot_start >= $2 AND slot_start < $3
          AND ($4::timestamptz IS NULL OR (slot_start, kind) > ($4::timestamptz, $5::text))
        ORDER BY slot_start, kind LIMIT $6`,
      [zone, q.from, q.to, after?.[0] ?? null, after?.[1] ?? null, q.limit + 1],
    );
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      zone,
      items: page.map(slotView),
      nextCursor: rows.length > q.limit && last !== undefined ? encodeCursor([last.slot_start.toISOString(), last.kind]) : null,
    };
  }

  /** The forward curve: the slot in force now and those published for the next hours. */
  @Doc({ tag: 'market', summary: "A grid zone's forward tariff curve", params: { zone: zoneParam }, query: forwardQuery, responseExample: { zone: 'DE', hours: 48, slots: [{ kind: 'day-ahead', start: '2026-11-27T09:00:00.000Z', end: '2026-11-27T09:30:00.000Z', price: '84.20', currency: 'EUR', unit: 'MWh', seq: 311 }] } })
  @Get('zones/:zone/forward')
  async forward(@Param('zone') zoneRaw: string, @Query() raw: unknown) {
    const zone = parseRequest(zoneParam, zoneRaw, 'path');
    const q = parseRequest(forwardQuery, raw, 'query');
    const rows: SlotRow[] = await this.dataSource.query(
      `SELECT kind, slot_start, slot_end, price::text AS price, currency, unit, seq FROM "${V}".market_tariff_slots
        WHERE zone = $1 AND slot_end > now() AND slot_start < now() + make_interval(hours => $2)
        ORDER BY slot_start, kind LIMIT 2000`,
      [zone, q.hours],
    );
    return { zone, hours: q.hours, slots: rows.map(slotView) };
  }
}

interface SlotRow {
  kind: string;
  slot_start: Date;
  slot_end: Date;
  price: string;
  currency: string;
  unit: string;
  seq: string;
}

function slotView(r: SlotRow) {
  return { kind: r.kind, start: r.slot_start.toISOString(), end: r.slot_end.toISOString(), price: r.price, currency: r.currency, unit: r.unit, seq: Number(r.seq) };
}
